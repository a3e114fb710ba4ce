#include "transport/http/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "client/enter.hpp"
#include "fault/exception_mappers.hpp"
#include "call/call_access.hpp"
#include "observability/metrics.hpp"
#include "pit/asio.hpp"
#include "transport/http/wire.hpp"
#include "transport/tls/contexts.hpp"

namespace pit::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// One connection to a target: TCP, and TLS over it for an https:// target. The TCP stream
// keeps the timeouts; the TLS stream, when there is one, carries the requests.
struct HttpConnection {
  explicit HttpConnection(asio::io_context& io) : tcp(io) {}
  beast::tcp_stream tcp;
  std::optional<asio::ssl::stream<beast::tcp_stream&>> tls;
};

// One remote endpoint and its idle keep-alive connections, kept per I/O thread: a
// connection is only ever used by calls whose home is the thread it was made on.
struct HttpTarget : std::enable_shared_from_this<HttpTarget> {
  std::string host;
  std::string port;
  std::string authority;  // Host header
  std::string base;       // for messages
  // https://: the context every connection to this target starts from (servers verified,
  // the name checked); null for http://.
  std::shared_ptr<tls::SslContext> tls;
  std::size_t max_idle = 16;
  std::mutex mutex;
  std::unordered_map<IoThread*, std::vector<std::unique_ptr<HttpConnection>>> idle;

  std::unique_ptr<HttpConnection> take(IoThread* home) {
    std::lock_guard lock(mutex);
    auto& v = idle[home];
    if (v.empty()) return nullptr;
    auto s = std::move(v.back());
    v.pop_back();
    return s;
  }
  void give(IoThread* home, std::unique_ptr<HttpConnection> s) {
    std::lock_guard lock(mutex);
    auto& v = idle[home];
    if (v.size() < max_idle) v.push_back(std::move(s));
  }
  void close_idle() {
    decltype(idle) closing;
    {
      std::lock_guard lock(mutex);
      closing.swap(idle);
    }
    for (auto& [home, streams] : closing) {
      for (auto& s : streams) {
        boost::system::error_code ignored;
        s->tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
        s->tcp.close();
      }
    }
  }
};

namespace {

std::shared_ptr<HttpTarget> parse_base_url(std::string_view url, bool& tls) {
  constexpr std::string_view http_scheme = "http://";
  constexpr std::string_view https_scheme = "https://";
  auto bad = [&](const char* why) {
    return std::invalid_argument("pit: client base URL '" + std::string(url) + "': " + why);
  };
  tls = url.substr(0, https_scheme.size()) == https_scheme;
  if (!tls && url.substr(0, http_scheme.size()) != http_scheme) throw bad("must start with http:// or https://");
  auto rest = url.substr(tls ? https_scheme.size() : http_scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) throw bad("must have no path");
  std::string_view host = rest;
  std::string_view port = tls ? "443" : "80";
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw bad("unterminated IPv6 address");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') throw bad("expected ':' after the IPv6 address");
      port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) throw bad("has no host");
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
    throw bad("has an invalid port");
  }
  auto t = std::make_shared<HttpTarget>();
  t->host = std::string(host);
  t->port = std::string(port);
  t->authority = std::string(rest);
  t->base = std::string(url);
  return t;
}

// A pooled connection the server has closed while it sat idle reads as EOF (or an error)
// without blocking: such a connection is dropped before a request is written to it.
bool closed_by_peer(HttpConnection& connection) {
  auto& socket = connection.tcp.socket();
  char byte = 0;
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  const auto n = socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
  boost::system::error_code ignored;
  socket.non_blocking(false, ignored);
  if (ec == asio::error::would_block) return false;
  return n == 0 || ec;
}

Fault unreachable(const HttpTarget& t, const boost::system::error_code& ec, bool retryable) {
  Fault f = Fault::unavailable("the service is unreachable")
                .with_cause(t.base + ": " + ec.message())
                .from(Fault::Origin::runtime);
  if (retryable) f.with(Fault::retryable);
  return f;
}

Fault untrusted(const HttpTarget& t, const boost::system::error_code& ec) {
  return Fault::unavailable("the service is unreachable")
      .with_cause(t.base + ": TLS handshake failed: " + ec.message())
      .from(Fault::Origin::runtime);
}

Fault reply_too_large(const HttpTarget& t, boost::optional<std::uint64_t> announced, std::size_t limit) {
  std::string cause = t.base + ": the reply body";
  if (announced) cause += " of " + std::to_string(*announced) + " bytes";
  cause += " is larger than the limit of " + std::to_string(limit) +
           " bytes (http.max_reply_bytes, or the operation's max_reply_bytes)";
  return Fault::internal("the reply is too large").with_cause(std::move(cause)).from(Fault::Origin::runtime);
}

// Time kept back from the deadline sent downstream, so the callee gives up before we do
// and its answer can still travel back.
constexpr auto kDeadlineMargin = std::chrono::milliseconds(5);

}  // namespace

HttpChannel::HttpChannel(std::shared_ptr<Host::State> state, const ContractInfo& contract,
                         std::string_view base_url)
    : state_(std::move(state)), settings_(resolve_settings(state_->options, contract, state_->metrics, "client")) {
  bool tls = false;
  target_ = parse_base_url(base_url, tls);
  // Its files are read now: one that does not load fails the host's start, not a call.
  if (tls) target_->tls = tls::client_context(state_->options.http);
  target_->max_idle = state_->options.http.client_pool_idle;
  std::lock_guard lock(state_->http_targets_mutex);
  auto& targets = state_->http_targets;
  targets.erase(std::remove_if(targets.begin(), targets.end(), [](const auto& t) { return t.expired(); }),
                targets.end());
  targets.push_back(target_);
}

void close_idle_connections(Host::State& state) {
  std::vector<std::shared_ptr<HttpTarget>> targets;
  {
    std::lock_guard lock(state.http_targets_mutex);
    for (const auto& t : state.http_targets) {
      if (auto target = t.lock()) targets.push_back(std::move(target));
    }
  }
  for (const auto& target : targets) target->close_idle();
}

HttpChannel::~HttpChannel() = default;

Task<Outcome> HttpChannel::call(CallRef call) {
  const auto* settings = &settings_[call->operation().index];
  return enter(*state_, &Host::State::outbound, std::move(call), target_.get(), settings, "http");
}

Task<Outcome> HttpSend::dispatch(Call& call) {
  auto* raw_target = static_cast<HttpTarget*>(CallAccess::target(call));
  const auto target = raw_target->shared_from_this();  // outlives an abandoned call
  const OperationInfo& op = call.operation();
  const Context& context = call.context();
  IoThread* home = CallAccess::home(call);
  const OperationSettings* settings = CallAccess::settings(call);
  const std::size_t reply_limit = settings != nullptr ? settings->max_reply_bytes : options_.max_reply_bytes;

  std::string body;
  if (auto error = capture([&] { body = op.hooks.encode_request(call); })) {
    Fault f = to_fault(error, {});
    co_return Fault::internal("the request could not be encoded").with_cause(f.cause()).from(Fault::Origin::runtime);
  }
  http::request<http::string_body> req{http::verb::post, "/" + std::string(op.full_name), 11};
  req.set(http::field::host, target->authority);
  req.set(http::field::content_type, http_wire::kJson);
  // Set by the outbound_identity policy: the caller's identity, carried onward.
  if (const std::string& credential = CallAccess::credential(call); !credential.empty()) {
    req.set(http::field::authorization, credential);
  }
  if (http_wire::valid_request_id(context.correlation_id())) {
    req.set(http_wire::kRequestIdHeader, context.correlation_id());
  }
  req.set(http_wire::kTraceparentHeader,
          http_wire::format_traceparent(context.trace_id(), context.span_id(), context.sampled()));
  if (context.deadline() != Clock::time_point::max()) {
    const auto left = context.deadline() - Clock::now() - kDeadlineMargin;
    if (left <= Clock::duration::zero()) {
      co_return Fault::deadline_exceeded("deadline exceeded before the call was sent").from(Fault::Origin::runtime);
    }
    req.set(http_wire::kTimeoutHeader,
            http_wire::format_timeout(std::chrono::duration_cast<std::chrono::nanoseconds>(left)));
  }
  req.body() = std::move(body);
  req.keep_alive(true);
  req.prepare_payload();

  // A pooled connection may have been closed by the server while idle; such a failure is
  // retried once on a fresh connection when retrying is safe.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto stream = target->take(home);
    if (stream && closed_by_peer(*stream)) stream.reset();
    const bool reused = stream != nullptr;
    bool handshaking = false;
    bool written = false;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(reply_limit);
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    try {
      if (!stream) {
        stream = std::make_unique<HttpConnection>(home->io());
        tcp::resolver resolver{home->io()};
        auto endpoints = co_await resolver.async_resolve(target->host, target->port, use_task);
        co_await asio::async_connect(stream->tcp.socket(), endpoints, use_task);
        if (target->tls) {
          // The server must prove the name of the URL (SNI sent for a DNS name); the
          // handshake is bounded like a read, and by the call's deadline.
          stream->tls.emplace(stream->tcp, *target->tls);
          if (!tls::expect_server_name(stream->tls->native_handle(), target->host)) {
            co_return untrusted(*target, asio::error::invalid_argument);
          }
          handshaking = true;
          stream->tcp.expires_after(options_.read_timeout);
          co_await stream->tls->async_handshake(asio::ssl::stream_base::client, use_task);
          stream->tcp.expires_never();
          handshaking = false;
        }
      }
      if (stream->tls) {
        co_await http::async_write(*stream->tls, req, use_task);
        written = true;
        co_await http::async_read(*stream->tls, buffer, parser, use_task);
      } else {
        co_await http::async_write(stream->tcp, req, use_task);
        written = true;
        co_await http::async_read(stream->tcp, buffer, parser, use_task);
      }
      auto res = parser.release();
      if (res.keep_alive() && !context.cancelled()) target->give(home, std::move(stream));
      if (res.result_int() != 200) co_return http_wire::fault_of_problem(res.result_int(), res.body());
      std::size_t unknown_fields = 0;
      if (auto error = capture([&] { unknown_fields = op.hooks.decode_reply(call, res.body()); })) {
        co_return Fault::internal("the reply could not be decoded")
            .with_cause(target->base + ": " + to_fault(error, {}).message())
            .from(Fault::Origin::runtime);
      }
      if (settings != nullptr && settings->metrics != nullptr) settings->metrics->count_unknown_fields(unknown_fields);
      co_return Outcome::success();
    } catch (const boost::system::system_error& e) {
      if (e.code() == http::error::body_limit) {
        // The callee answered; the answer is more than this caller takes. Not retried:
        // the call took effect. The connection, mid-body, is closed.
        co_return reply_too_large(*target, parser.content_length(), reply_limit);
      }
      if (context.cancelled()) {
        co_return Fault::deadline_exceeded("deadline exceeded").from(Fault::Origin::runtime);
      }
      const bool safe_to_retry = !written || op.spec.is_idempotent();
      if (reused && attempt == 0 && safe_to_retry) continue;
      // A server that fails the handshake (its certificate does not verify, or does not
      // name this host) is not one to retry against: the same answer would come back.
      if (handshaking) co_return untrusted(*target, e.code());
      co_return unreachable(*target, e.code(), !written);
    }
  }
  co_return Fault::unavailable("the service is unreachable").from(Fault::Origin::runtime);
}

}  // namespace pit::detail
