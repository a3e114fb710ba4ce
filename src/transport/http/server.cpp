#include "transport/http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <cerrno>
#include <chrono>
#include <stdexcept>

#include "context/context_access.hpp"
#include "call/call_access.hpp"
#include "durability/idempotency_key.hpp"
#include "pit/asio.hpp"
#include "observability/metrics.hpp"
#include "pit/log.hpp"
#include "transport/http/admin.hpp"
#include "observability/tracer.hpp"
#include "transport/http/openapi.hpp"
#include "transport/http/wire.hpp"
#include "transport/tls/certificate_reload.hpp"
#include "transport/tls/peer_identity.hpp"

namespace pit::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
// TLS over the connection's tcp_stream, which keeps the timeouts and which
// close_connections() closes: the handshake and every record are bounded like plaintext.
using TlsStream = asio::ssl::stream<beast::tcp_stream&>;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Host::State& host;
  HttpOptions options;
  Mode mode = Mode::api;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> next_thread{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> closing{false};  // close_connections() ran: a connection starting now ends at once
  // Out of file descriptors (EMFILE/ENFILE), an accept fails at once, forever, while the
  // pending connection stays in the backlog: retrying at once spins a core and serves
  // nobody. The loop pauses instead, for a delay that doubles per failure up to
  // kMaxAcceptPause; the episode is logged and counted once, and ends at the next accept.
  // Touched only on the acceptor's thread.
  std::unique_ptr<asio::steady_timer> accept_pause;
  std::chrono::milliseconds pause{0};
  Clock::time_point paused_since{};
  static constexpr std::chrono::milliseconds kFirstAcceptPause{10};
  static constexpr std::chrono::milliseconds kMaxAcceptPause{500};

  // The open connections of one I/O thread: an intrusive list of nodes in serve()'s frames,
  // touched only on that thread. close_connections() closes them so that every connection
  // coroutine ends (its pending wait completes with operation_aborted) before the threads stop.
  struct Open : ListNode<Open> {
    beast::tcp_stream* stream = nullptr;
  };
  struct ThreadConnections {
    IoThread* thread = nullptr;
    IntrusiveList<Open> list;
  };
  std::vector<ThreadConnections> open;  // one per I/O thread of the host, fixed at construction
  class Registration;

  // TLS (api listener only; null: plaintext). The timer re-checks the certificate files
  // every tls_reload_interval, on the acceptor's thread, which alone calls check().
  // The diagnostics pages (admin listener only; made by start(), which knows whether the
  // listener is on loopback).
  std::unique_ptr<AdminPages> pages;
  std::unique_ptr<tls::ServerCertificates> certificates;
  std::unique_ptr<asio::steady_timer> reload_timer;
  // Failed handshakes are counted each, logged at most once a second (a scanner's flood
  // is one line and the metric): the next time a line may be written, and the failures
  // since the last line.
  std::atomic<Clock::rep> next_handshake_log{0};
  std::atomic<std::uint64_t> handshake_failures_unlogged{0};
  void watch_certificates();
  void handshake_failed(const boost::system::error_code& ec, const tcp::socket& socket);

  // What the connection tells the calls it carries about their caller.
  struct Peer {
    bool secure = false;         // TLS
    std::string_view identity;   // the verified client certificate's (mutual TLS), or empty
  };

  Impl(Host::State& h, const HttpOptions& o, Mode m) : host(h), options(o), mode(m) {
    for (const auto& t : host.io_threads) open.push_back({t.get(), {}});
  }

  void accept();
  void adopt(tcp::socket::native_handle_type fd, const tcp& protocol);
  Task<void> serve(tcp::socket socket);
  // The service and operation a request target names, or {nullptr, nullptr}.
  std::pair<const Host::State::Service*, const OperationInfo*> route(std::string_view target) const;
  const OperationSettings* settings_for(std::string_view target) const {
    auto [service, op] = route(target);
    return op != nullptr ? &service->settings[op->index] : nullptr;
  }
  struct DisconnectWatch;
  Task<http::response<http::string_body>> handle(http::request<http::string_body>& req, DisconnectWatch& watch,
                                                 const Peer& peer);
  Task<http::response<http::string_body>> admin(const http::request<http::string_body>& req);
  Task<http::response<http::string_body>> diagnostics(const http::request<http::string_body>& req,
                                                      std::string_view path);
  Task<std::string> readiness_report(bool& ready) const;
};

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

std::pair<std::string, std::uint16_t> split_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("pit: http.listen must be address:port, got '" + listen + "'");
  std::string address = listen.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  const std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535) {
    throw std::invalid_argument("pit: http.listen has an invalid port: '" + listen + "'");
  }
  return {address, static_cast<std::uint16_t>(std::stoul(port))};
}

// A refusal before the pipeline: a problem+json answer with a fresh correlation id, and a
// log line under that id.
Response refusal(const Request& req, http::status status, const Fault& fault) {
  log::warn("http request refused", {{"correlation_id", fault.correlation_id()},
                                     {"status", static_cast<unsigned>(status)},
                                     {"code", to_string(fault.code())},
                                     {"detail", fault.message()}});
  Response res{status, req.version()};
  res.set(http::field::content_type, http_wire::kProblemJson);
  res.set(http_wire::kRequestIdHeader, fault.correlation_id());
  res.body() = http_wire::problem_json(fault, {}, static_cast<unsigned>(status));
  if (fault.code() == Code::unavailable && fault.has(Fault::retryable)) res.set(http::field::retry_after, "1");
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

Fault transport_fault(Code code, std::string message) {
  std::string id(32, '0');
  random_hex(id.data(), id.size());
  Fault f{code, std::move(message)};
  f.from(Fault::Origin::runtime);
  f.set_correlation_id(std::move(id));
  return f;
}

Response problem_for_parse_error(const boost::system::error_code& ec) {
  Request dummy;
  dummy.version(11);
  dummy.keep_alive(false);
  if (ec == http::error::body_limit) {
    return refusal(dummy, http::status::payload_too_large,
                   transport_fault(Code::resource_exhausted, "request body is larger than the limit"));
  }
  if (ec == http::error::header_limit) {
    return refusal(dummy, http::status::request_header_fields_too_large,
                   transport_fault(Code::resource_exhausted, "request header section is larger than the limit"));
  }
  return refusal(dummy, http::status::bad_request,
                 transport_fault(Code::invalid_argument, "malformed HTTP request"));
}

// The response as one contiguous buffer (status line, fields, blank line, body): one
// write of one buffer, instead of Beast's serializer walking a view of many buffers.
void serialize(const Response& res, std::string& out) {
  out.clear();
  const auto code = static_cast<unsigned>(res.result_int());
  const auto reason = res.reason();
  std::size_t size = 17 + reason.size() + res.body().size();
  for (const auto& f : res) size += f.name_string().size() + f.value().size() + 4;
  out.reserve(size);
  out.append(res.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  const char digits[3] = {static_cast<char>('0' + code / 100 % 10), static_cast<char>('0' + code / 10 % 10),
                          static_cast<char>('0' + code % 10)};
  out.append(digits, 3).push_back(' ');
  out.append(reason.data(), reason.size()).append("\r\n");
  for (const auto& f : res) {
    out.append(f.name_string().data(), f.name_string().size()).append(": ");
    out.append(f.value().data(), f.value().size()).append("\r\n");
  }
  out.append("\r\n").append(res.body());
}

bool is_json_content_type(std::string_view v) {
  const auto semi = v.find(';');
  auto type = v.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (type.size() != http_wire::kJson.size()) return false;
  for (std::size_t i = 0; i < type.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != http_wire::kJson[i]) return false;
  }
  return true;
}

}  // namespace

// Watches the socket while a call runs: if the caller closes its side, the call is
// cancelled with reason `caller`. Pipelined bytes end the watch (they are not a goodbye).
// One per connection, reused by its requests. A call that completes without suspending
// never arms the socket wait: arming is posted, and by the time the posted handler runs
// the call is over (generation changed). Only calls that suspend pay for the wait.
// Everything here runs on the connection's home I/O thread.
struct HttpServer::Impl::DisconnectWatch : std::enable_shared_from_this<DisconnectWatch> {
  tcp::socket& socket;
  // TLS: a client that leaves politely sends close_notify before its FIN, so bytes to read
  // are no sign of life there; the FIN behind them is (the peer shut its side down).
  bool tls = false;
  Call* call = nullptr;
  std::uint64_t generation = 0;
  bool active = false;
  bool armed = false;
  bool caller_gone = false;

  DisconnectWatch(tcp::socket& s, bool over_tls) : socket(s), tls(over_tls) {}

  bool peer_shut_down() const {
    pollfd p{socket.native_handle(), POLLRDHUP, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
  }

  void start(Call& c) {
    call = &c;
    ++generation;
    active = true;
    armed = false;
    caller_gone = false;
    asio::post(socket.get_executor(), [self = shared_from_this(), g = generation] {
      if (self->active && self->generation == g) self->arm(g);
    });
  }
  void arm(std::uint64_t g) {
    armed = true;
    socket.async_wait(tcp::socket::wait_read, [self = shared_from_this(), g](const boost::system::error_code& ec) {
      if (ec || !self->active || self->generation != g) return;
      char byte = 0;
      boost::system::error_code peek_ec;
      const auto n = self->socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, peek_ec);
      if (n == 0 || peek_ec || (self->tls && self->peer_shut_down())) {
        self->caller_gone = true;
        CallAccess::cancel(*self->call, CancelReason::caller);
      }
    });
  }
  void finish() {
    active = false;
    call = nullptr;
    if (armed) {
      armed = false;
      boost::system::error_code ignored;
      socket.cancel(ignored);
    }
  }
};

// A connection's place on its home thread's list of open connections, for as long as its
// coroutine frame lives; the frame's end is also the end of the connection in `connections`.
class HttpServer::Impl::Registration {
 public:
  Registration(Impl& server, beast::tcp_stream& stream) : server_(server) {
    node_.stream = &stream;
    for (auto& t : server_.open) {
      if (t.thread == IoThread::current()) list_ = &t;
    }
    if (list_ != nullptr) list_->list.push_front(node_);
  }
  ~Registration() {
    if (list_ != nullptr) list_->list.erase(node_);
    server_.connections.fetch_sub(1);
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  Impl& server_;
  ThreadConnections* list_ = nullptr;
  Open node_;
};

Task<void> HttpServer::Impl::serve(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream stream{std::move(socket)};
  const Registration registration{*this, stream};
  // Posted here before close_connections() ran on this thread, started after: end now.
  if (closing.load(std::memory_order_acquire)) co_return;
  // TLS: the handshake first, within the read timeout. The connection holds the context
  // it started with, so a certificate reload never pulls it from under an open connection.
  std::shared_ptr<tls::SslContext> tls_context;
  std::optional<TlsStream> tls;
  std::string peer_identity;
  if (certificates) {
    tls_context = certificates->current();
    tls.emplace(stream, *tls_context);
    stream.expires_after(options.read_timeout);
    bool handshake_done = false;
    try {
      co_await tls->async_handshake(asio::ssl::stream_base::server, use_task);
      handshake_done = true;
    } catch (const boost::system::system_error& e) {
      // Aborted: closed by close_connections() at shutdown, not the client's failure.
      if (e.code() != asio::error::operation_aborted) handshake_failed(e.code(), stream.socket());
    }
    if (!handshake_done) {
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
      co_return;
    }
    peer_identity = tls::peer_identity(tls->native_handle());
  }
  const Peer peer{tls.has_value(), peer_identity};
  beast::flat_buffer buffer;
  std::string out;  // the serialized response, reused
  const auto watch = mode == Mode::api ? std::make_shared<DisconnectWatch>(stream.socket(), tls.has_value()) : nullptr;
  for (;;) {
    // Wait for a request to start (idle timeout), then for all of it (read timeout): a
    // client that trickles its headers is cut off after read_timeout, whatever it sends.
    // One read per request in the common case: the parser is fed from our buffer, and the
    // operation's body limit is set between the header and the body.
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    parser.eager(false);
    boost::system::error_code ec;
    bool started = buffer.size() != 0;
    bool header_done = false;
    std::size_t header_bytes = 0;  // what the parser took before the header section was whole
    stream.expires_after(started ? options.read_timeout : options.idle_timeout);
    for (;;) {
      if (buffer.size() != 0) {
        const auto used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (!header_done) header_bytes += used;
        if (ec == http::error::need_more) {
          ec = {};
        } else if (ec) {
          break;
        }
        // Beast checks its header limit against what one put() sees, so a header section
        // that arrives in several reads can pass it: the limit holds for the whole section.
        if (!header_done && parser.is_header_done() && header_bytes > options.max_header_bytes) {
          ec = http::error::header_limit;
          break;
        }
        if (parser.is_done()) break;
        if (!header_done && parser.is_header_done()) {
          header_done = true;
          // The body limit is the operation's (configuration may raise or lower it per
          // operation); decided from the headers, before any of the body is parsed.
          if (const auto* settings = settings_for(parser.get().target())) {
            // Beast checks a Content-Length against the limit only as the header section
            // ends, with the listener's limit: an operation's lower one is checked here,
            // or a body past it would be read and served (the conformance kit found it).
            const auto length = parser.content_length();
            if (length && *length > settings->max_body_bytes) {
              ec = http::error::body_limit;
              break;
            }
            parser.body_limit(settings->max_body_bytes);
          }
          parser.eager(true);
          continue;
        }
        if (used != 0 && buffer.size() != 0) continue;
      }
      if (!started && parser.got_some()) {
        started = true;
        stream.expires_after(options.read_timeout);
      }
      try {
        const std::size_t room = buffer.capacity() - buffer.size();
        const auto space = buffer.prepare(std::min<std::size_t>(std::max<std::size_t>(room, 4096), 65536));
        std::size_t n = 0;
        if (tls) {
          n = co_await tls->async_read_some(space, use_task);
        } else {
          n = co_await stream.async_read_some(space, use_task);
        }
        buffer.commit(n);
      } catch (const boost::system::system_error& e) {
        ec = e.code();
      }
      if (ec == asio::error::eof && parser.got_some()) {
        ec = {};
        parser.put_eof(ec);
        if (!ec && !parser.is_done()) ec = http::error::partial_message;
        if (!ec) break;
      }
      if (ec) break;
    }
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
          ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated) {
        // The peer left, or stayed silent too long, or broke the TLS stream (no answer
        // can be sent on it): close without an answer.
        break;
      }
      auto res = problem_for_parse_error(ec);
      try {
        stream.expires_after(options.read_timeout);
        serialize(res, out);
        if (tls) {
          co_await asio::async_write(*tls, asio::buffer(out), use_task);
        } else {
          co_await asio::async_write(stream, asio::buffer(out), use_task);
        }
      } catch (const boost::system::system_error&) {
      }
      break;  // after a framing error the stream cannot be trusted: close it
    }

    Request req = parser.release();
    // (Not a ?: with a co_await in one branch: GCC 12 miscompiles that.)
    Response res;
    if (mode == Mode::admin) {
      res = co_await admin(req);
    } else {
      res = co_await handle(req, *watch, peer);
    }
    if (stream.socket().is_open() == false) break;
    // An answer to HEAD has no content, whatever it says about it (RFC 9110 9.3.2): sent,
    // it would be read as the start of the next response.
    if (req.method() == http::verb::head) res.body().clear();
    const bool keep_alive = res.keep_alive();
    try {
      stream.expires_after(options.read_timeout);
      serialize(res, out);
      if (tls) {
        co_await asio::async_write(*tls, asio::buffer(out), use_task);
      } else {
        co_await asio::async_write(stream, asio::buffer(out), use_task);
      }
    } catch (const boost::system::system_error&) {
      break;
    }
    if (!keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

Task<Response> HttpServer::Impl::handle(Request& req, DisconnectWatch& watch, const Peer& peer) {
  if (host.draining.load(std::memory_order_acquire)) {
    // Stopping: requests already on open connections are refused (retryable) and the
    // connection closes, so clients move to another instance.
    auto res = refusal(req, http::status::service_unavailable,
                       transport_fault(Code::unavailable, "the service is shutting down").with(Fault::retryable));
    res.keep_alive(false);
    co_return res;
  }
  if (req.method() != http::verb::post) {
    auto res = refusal(req, http::status::method_not_allowed,
                       transport_fault(Code::unimplemented, "only POST is served"));
    res.set(http::field::allow, "POST");
    co_return res;
  }
  const auto [service, op] = route({req.target().data(), req.target().size()});
  if (op == nullptr) {
    co_return refusal(req, http::status::not_found,
                      transport_fault(Code::not_found, "no such operation: POST /{contract}/{operation}"));
  }
  const auto content_type = req[http::field::content_type];
  if (!is_json_content_type({content_type.data(), content_type.size()})) {
    co_return refusal(req, http::status::unsupported_media_type,
                      transport_fault(Code::invalid_argument, "the request body must be application/json"));
  }

  CallRef call{op->hooks.make_call(*op)};
  Context& context = CallAccess::context(*call);
  ContextAccess::begin(context, op->contract, op->name, "http");
  ContextAccess::set_host(context, &host);
  // Caller-supplied ids are used only when valid; an invalid one is replaced, never echoed.
  const auto request_id = req[http_wire::kRequestIdHeader];
  if (http_wire::valid_request_id({request_id.data(), request_id.size()})) {
    ContextAccess::set_correlation_id(context, std::string(request_id));
  }
  // W3C Trace Context: two traceparent fields are as invalid as a malformed one (a new
  // trace starts), and the caller's tracestate only goes onward with its traceparent.
  if (req.count(http_wire::kTraceparentHeader) == 1) {
    const auto traceparent = req[http_wire::kTraceparentHeader];
    if (auto tp = http_wire::parse_traceparent({traceparent.data(), traceparent.size()})) {
      ContextAccess::set_trace(context, tp->trace_id, tp->parent_span_id, tp->sampled);
      std::string combined;
      bool first = true;
      for (auto [it, end] = req.equal_range(http_wire::kTracestateHeader); it != end; ++it, first = false) {
        if (!first) combined.push_back(',');
        combined.append(it->value().data(), it->value().size());
      }
      if (auto tracestate = http_wire::parse_tracestate(combined)) {
        ContextAccess::set_tracestate(context, std::move(*tracestate));
      }
    }
  }
  // Forced sampling is for a caller who proves the configured token, nobody else: an
  // untrusted caller cannot make this host record (and export) spans at will.
  if (const auto& token = host.options.tracing.force_token; !token.empty()) {
    if (auto it = req.find(http_wire::kTraceForceHeader); it != req.end()) {
      CallAccess::set_force_trace(*call, trusted_force_token({it->value().data(), it->value().size()}, token));
    }
  }
  if (auto it = req.find(http_wire::kTimeoutHeader); it != req.end()) {
    auto timeout = http_wire::parse_timeout({it->value().data(), it->value().size()});
    if (!timeout) {
      co_return refusal(req, http::status::bad_request,
                        transport_fault(Code::invalid_argument,
                                        "Pit-Timeout must be 1-8 digits and a unit (H M S m u n)"));
    }
    // now + 2562047H overflows the clock: a deadline past its end is its end.
    const auto now = Clock::now();
    ContextAccess::set_deadline(context, *timeout < Clock::time_point::max() - now ? now + *timeout
                                                                                   : Clock::time_point::max());
  }
  // Which attempt of the caller's call this is: informational (the call line says it), so
  // a value that is not a small positive number is ignored, never refused.
  if (auto it = req.find(http_wire::kAttemptHeader); it != req.end()) {
    unsigned n = 0;
    const auto v = it->value();
    const auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec == std::errc{} && r.ptr == v.data() + v.size() && n > 0 && n <= 1000) CallAccess::set_attempts(*call, n);
  }
  // What authentication reads: the credential as sent (the Authorization header, on
  // plaintext too: whether to accept it there is the policy's decision), whether the
  // connection is TLS, and the verified client certificate's identity.
  // Two credentials are one too many: which one a proxy on the way reads is anyone's
  // guess, so neither is.
  if (req.count(http::field::authorization) > 1) {
    co_return refusal(req, http::status::bad_request,
                      transport_fault(Code::invalid_argument, "more than one Authorization header"));
  }
  const auto authorization = req.find(http::field::authorization);
  const bool presented_credential = authorization != req.end();
  // An empty header is a credential that fails, never "no credential" (anonymous).
  if (presented_credential) {
    CallAccess::set_credential(*call, authorization->value().empty() ? std::string{" "}
                                                                     : std::string(authorization->value()));
  }
  // RFC 6750 3.1: "invalid_token" answers a bearer token that failed; another scheme, or
  // none, gets the bare challenge.
  const bool presented_bearer = presented_credential && authorization->value().size() > 7 &&
                                beast::iequals(authorization->value().substr(0, 7), "Bearer ");
  // The Idempotency-Key as sent: the deduplication policy parses and validates it, for
  // deduplicated operations only. Two headers are never one key: joined, they fail its
  // check (a comma is not a key's character).
  if (auto keys = req.equal_range(durability::kIdempotencyKeyHeader); keys.first != keys.second) {
    std::string sent;
    for (auto it = keys.first; it != keys.second; ++it) {
      if (!sent.empty()) sent.push_back(',');
      sent.append(it->value().data(), it->value().size());
    }
    CallAccess::set_idempotency_key(*call, std::move(sent));
  }
  CallAccess::set_secure_transport(*call, peer.secure);
  if (!peer.identity.empty()) CallAccess::set_peer_identity(*call, std::string(peer.identity));
  CallAccess::set_target(*call, service->implementation);
  CallAccess::set_settings(*call, &service->settings[op->index]);
  CallAccess::set_json_request(*call, std::move(req.body()));
  CallAccess::want_json_reply(*call);
  CallAccess::set_home(*call, IoThread::current());

  watch.start(*call);
  struct WatchGuard {  // however this frame ends, the watch stops referring to the call
    DisconnectWatch& w;
    ~WatchGuard() { w.finish(); }
  } watch_guard{watch};
  CallAccess::set_started(*call, Clock::now());
  std::optional<Outcome> result;
  {
    ActiveCall active{IoThread::current()->active(), *call};
    host.in_flight.fetch_add(1, std::memory_order_relaxed);
    result.emplace(co_await host.pipeline->run(*call));
    host.in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
  Outcome& outcome = *result;
  watch.finish();
  set_current_context(nullptr);

  Response res;
  res.version(req.version());
  if (outcome.ok()) {
    res.result(http::status::ok);
    res.set(http::field::content_type, http_wire::kJson);
    res.body() = std::move(CallAccess::json_reply(*call));
  } else {
    const unsigned status = http_wire::status_of(outcome.fault());
    res.result(status);
    res.set(http::field::content_type, http_wire::kProblemJson);
    res.body() = http_wire::problem_json(outcome.fault(), context.trace_id(), status);
    // A refusal that is safe to retry says when (RFC 9110 Retry-After); so does a 409 for
    // a deduplicated call still running under the same key.
    if ((outcome.code() == Code::unavailable || outcome.code() == Code::aborted) && outcome.fault().has(Fault::retryable)) {
      res.set(http::field::retry_after, "1");
    }
    // RFC 6750: how to authenticate; "invalid_token" only when a token was presented.
    if (outcome.code() == Code::unauthenticated) {
      res.set(http::field::www_authenticate, presented_bearer ? R"(Bearer error="invalid_token")" : "Bearer");
    }
  }
  // The stored outcome of an earlier call with the same Idempotency-Key, sent again.
  if (CallAccess::replayed(*call)) res.set(durability::kReplayedHeader, "true");
  res.set(http_wire::kRequestIdHeader, context.correlation_id());
  res.set(http_wire::kTraceparentHeader,
          http_wire::format_traceparent(context.trace_id(), context.span_id(), context.sampled()));
  res.keep_alive(req.keep_alive() && !watch.caller_gone);
  res.prepare_payload();
  co_return res;
}

std::pair<const Host::State::Service*, const OperationInfo*> HttpServer::Impl::route(
    std::string_view target) const {
  // /{contract}/{operation}: the contract name has no '/', the operation neither.
  if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  const auto slash = target.rfind('/');
  if (target.size() <= 1 || target.front() != '/' || slash == 0 || slash == std::string_view::npos) {
    return {nullptr, nullptr};
  }
  const auto contract_name = target.substr(1, slash - 1);
  for (const auto& service : host.services) {
    if (service.contract->name == contract_name) {
      const OperationInfo* op = service.contract->find(target.substr(slash + 1));
      return {op != nullptr ? &service : nullptr, op};
    }
  }
  return {nullptr, nullptr};
}

namespace {

// Named without a virtual call (error_code::message()): out of descriptors, a sanitizer's
// first check of a virtual call needs a descriptor itself, and fails.
const char* accept_exhaustion_cause(int error) noexcept {
  switch (error) {
    case EMFILE: return "EMFILE: the process's file descriptor limit is reached";
    case ENFILE: return "ENFILE: the system's file descriptor limit is reached";
    case ENOBUFS: return "ENOBUFS: out of socket buffers";
    default: return "ENOMEM: out of kernel memory";
  }
}

}  // namespace

void HttpServer::Impl::accept() {
  acceptor->async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
    if (self->stopping.load()) return;
    if (ec == asio::error::operation_aborted) return;
    const char* const listener = self->mode == Mode::admin ? "admin" : "http";
    if (ec == asio::error::no_descriptors || ec == boost::system::error_code(ENFILE, boost::system::system_category()) ||
        ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
      if (self->pause == std::chrono::milliseconds::zero()) {
        self->pause = kFirstAcceptPause;
        self->paused_since = Clock::now();
        self->host.metrics.count_accept_paused(listener);
        log::error("out of file descriptors: accepting paused until one is free",
                   {{"listener", listener},
                    {"cause", accept_exhaustion_cause(ec.value())},
                    {"connections", self->connections.load(std::memory_order_relaxed)},
                    {"max_connections", self->options.max_connections}});
      } else {
        self->pause = std::min(self->pause * 2, kMaxAcceptPause);
      }
      self->accept_pause->expires_after(self->pause);
      self->accept_pause->async_wait([self](const boost::system::error_code& wait_ec) {
        if (!wait_ec && !self->stopping.load()) self->accept();
      });
      return;
    }
    if (!ec) {
      if (self->pause != std::chrono::milliseconds::zero()) {
        self->pause = std::chrono::milliseconds::zero();
        log::info("accepting again", {{"listener", listener},
                                      {"paused_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                        Clock::now() - self->paused_since)
                                                        .count()}});
      }
      boost::system::error_code ep_ec;
      const auto protocol = socket.local_endpoint(ep_ec).protocol();
      self->adopt(socket.release(), protocol);
    }
    self->accept();
  });
}

void HttpServer::Impl::watch_certificates() {
  if (!reload_timer) return;  // stopped
  reload_timer->expires_after(options.tls_reload_interval);
  reload_timer->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopping.load()) return;
    switch (self->certificates->check()) {
      case tls::ServerCertificates::Check::reloaded:
        self->host.metrics.count_tls_reload(true);
        self->host.metrics.set_tls_certificate_expiry(self->certificates->expiry());
        break;
      case tls::ServerCertificates::Check::failed:
        self->host.metrics.count_tls_reload(false);
        break;
      case tls::ServerCertificates::Check::unchanged:
        break;
    }
    self->watch_certificates();
  });
}

void HttpServer::Impl::handshake_failed(const boost::system::error_code& ec, const tcp::socket& socket) {
  host.metrics.count_tls_handshake_failure();
  const auto now = Clock::now().time_since_epoch().count();
  auto next = next_handshake_log.load(std::memory_order_relaxed);
  const auto after = now + std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)).count();
  if (now < next || !next_handshake_log.compare_exchange_strong(next, after, std::memory_order_relaxed)) {
    handshake_failures_unlogged.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  boost::system::error_code ep_ec;
  const auto peer = socket.remote_endpoint(ep_ec);
  log::debug("TLS handshake failed", {{"cause", ec.message()},
                                      {"peer", ep_ec ? std::string{} : peer.address().to_string()},
                                      {"not_logged_since_last", handshake_failures_unlogged.exchange(0)}});
}

// Every connection, accepted or handed in, starts here.
void HttpServer::Impl::adopt(tcp::socket::native_handle_type fd, const tcp& protocol) {
  if (connections.fetch_add(1) >= options.max_connections) {
    connections.fetch_sub(1);
    ::close(fd);
    return;
  }
  // Hand the connection to an I/O thread: it lives there, and so do its calls.
  auto& threads = host.io_threads;
  auto& home = *threads[next_thread.fetch_add(1) % threads.size()];
  asio::post(home.io(), [self = shared_from_this(), &home, fd, protocol] {
    // Registering the descriptor with the thread's reactor can fail (out of memory, out
    // of epoll watches): the connection is dropped, the thread goes on.
    std::optional<tcp::socket> adopted;
    try {
      adopted.emplace(home.io(), protocol, fd);
    } catch (const boost::system::system_error& e) {
      ::close(fd);
      self->connections.fetch_sub(1);
      log::error("http connection dropped", {{"cause", e.what()}});
      return;
    }
    tcp::socket moved{std::move(*adopted)};
    [](std::shared_ptr<Impl> s, tcp::socket sock, IoThread& at) -> Detached {
      // Listed on its thread while it lives: if the thread stops first, it destroys it.
      const auto frame = co_await ThisFrame{};
      const ListedRoot listed{at, frame};
      try {
        co_await s->serve(std::move(sock));
      } catch (const std::exception& e) {
        log::error("http connection failed", {{"cause", e.what()}});
      }
    }(self, std::move(moved), home);
  });
}

// The readiness checks' report, as fresh as Readiness allows: waits (on this connection's
// thread, on a timer, never running a check here) for the run that answers this probe, at
// most the longest check timeout.
Task<std::string> HttpServer::Impl::readiness_report(bool& ready) const {
  Readiness& readiness = *host.readiness;
  const auto wanted = readiness.want_fresh();
  asio::steady_timer timer{IoThread::current()->io()};
  while (readiness.completed() < wanted.run && Clock::now() < wanted.until) {
    timer.expires_after(std::min<Clock::duration>(std::chrono::milliseconds(5), wanted.until - Clock::now()));
    try {
      co_await timer.async_wait(use_task);
    } catch (const boost::system::system_error&) {
      break;
    }
  }
  auto report = readiness.report();
  ready = report.ready;
  co_return std::move(report.text);
}

// A diagnostics page (admin.cpp), its answer put in HTTP terms.
Task<Response> HttpServer::Impl::diagnostics(const Request& req, std::string_view path) {
  AdminRequest request;
  request.method = {req.method_string().data(), req.method_string().size()};
  request.path = path;
  request.authorizations = req.count(http::field::authorization);
  if (const auto it = req.find(http::field::authorization); it != req.end()) {
    request.authorization = {it->value().data(), it->value().size()};
  }
  if (const auto it = req.find(http::field::content_type); it != req.end()) {
    request.content_type = {it->value().data(), it->value().size()};
  }
  request.body = req.body();
  AdminResponse answer = co_await pages->serve(request);
  Response res{static_cast<http::status>(answer.status), req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::field::content_type, http_wire::kJson);
  res.set(http::field::cache_control, "no-store");
  if (!answer.allow.empty()) res.set(http::field::allow, answer.allow);
  if (!answer.www_authenticate.empty()) res.set(http::field::www_authenticate, answer.www_authenticate);
  res.body() = std::move(answer.body);
  res.prepare_payload();  // for HEAD too: serve() sends the length, never the content
  co_return res;
}

Task<Response> HttpServer::Impl::admin(const Request& req) {
  std::string_view target{req.target().data(), req.target().size()};
  if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (pages && AdminPages::serves(target)) {
    Response page = co_await diagnostics(req, target);
    co_return page;
  }
  Response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.body() = "method not allowed\n";
  } else if (target == "/metrics") {
    // Prometheus text unless the scraper asks for OpenMetrics (which carries exemplars).
    const auto accept = req[http::field::accept];
    const auto format = exposition_for({accept.data(), accept.size()});
    res.set(http::field::content_type, content_type_of(format));
    res.set(http::field::vary, "Accept");
    res.body() = host.metrics.render(format);
  } else if (target == "/openapi.json") {
    // Made on each request: the document is a pure function of what the host serves.
    std::vector<const ContractInfo*> contracts;
    for (const auto& service : host.services) contracts.push_back(service.contract);
    res.set(http::field::content_type, http_wire::kJson);
    res.body() = openapi_document(host.options, contracts);
  } else if (target == "/healthz") {
    res.body() = "ok\n";  // the process is alive and its I/O threads answer
  } else if (target == "/readyz") {
    const bool running = host.running.load(std::memory_order_acquire);
    const bool draining = host.draining.load(std::memory_order_acquire);
    if (running && !draining) {
      // One line for the verdict, then one per check (and per failing condition of the
      // runtime, such as an audit log that cannot write): what is not ready, and why.
      bool ready = false;
      std::string checks;
      if (host.readiness->empty()) {
        auto report = host.readiness->report();  // conditions only: nothing to run
        ready = report.ready;
        checks = std::move(report.text);
      } else {
        checks = co_await readiness_report(ready);
      }
      if (!ready) res.result(http::status::service_unavailable);
      res.body() = (ready ? "ready\n" : "not ready\n") + checks;
    } else {
      res.result(http::status::service_unavailable);
      res.body() = draining ? "draining\n" : "starting\n";
    }
  } else {
    res.result(http::status::not_found);
    res.body() = "not found: /metrics, /healthz, /readyz, /openapi.json, " + std::string{AdminPages::kPaths} + "\n";
  }
  res.prepare_payload();  // for HEAD too: serve() sends the length, never the content
  co_return res;
}

HttpServer::HttpServer(Host::State& host, const HttpOptions& options, Mode mode)
    : impl_(std::make_shared<Impl>(host, options, mode)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  auto [address, port] = split_listen(impl_->options.listen);
  if (impl_->mode == Mode::api) {
    tls::check_server_options(impl_->options);
    if (!impl_->options.tls_cert_file.empty()) {
      // Loaded before binding: a certificate that does not load fails the start.
      impl_->certificates = std::make_unique<tls::ServerCertificates>(impl_->options);
      impl_->host.metrics.enable_tls();
      impl_->host.metrics.set_tls_certificate_expiry(impl_->certificates->expiry());
    }
  }
  auto& io = impl_->host.io_threads.front()->io();
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("pit: cannot listen on " + impl_->options.listen + ": bad address");
  if (impl_->mode == Mode::admin) impl_->pages = std::make_unique<AdminPages>(impl_->host, ip.is_loopback());
  impl_->acceptor = std::make_unique<tcp::acceptor>(io);
  impl_->accept_pause = std::make_unique<asio::steady_timer>(io);
  const tcp::endpoint endpoint{ip, port};
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("pit: cannot listen on " + impl_->options.listen + ": " + ec.message());
  port_.store(impl_->acceptor->local_endpoint().port());
  asio::post(io, [impl = impl_] { impl->accept(); });
  if (impl_->certificates && impl_->options.tls_reload_interval > std::chrono::milliseconds::zero()) {
    impl_->reload_timer = std::make_unique<asio::steady_timer>(io);
    asio::post(io, [impl = impl_] { impl->watch_certificates(); });
  }
}

void HttpServer::adopt(int fd) { impl_->adopt(fd, tcp::v4()); }

void HttpServer::stop() {
  if (!impl_ || !impl_->acceptor || impl_->stopping.exchange(true)) return;
  if (impl_->pages) impl_->pages->stop();  // a log level set at run time reverts now
  asio::post(impl_->acceptor->get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor->close(ignored);
    // Gone now, on its thread, while its io_context lives: the Impl may outlive both.
    impl->accept_pause.reset();
    impl->reload_timer.reset();
  });
}

void HttpServer::close_connections() {
  if (!impl_ || impl_->closing.exchange(true, std::memory_order_acq_rel)) return;
  for (auto& t : impl_->open) {
    asio::post(t.thread->io(), [impl = impl_, list = &t] {
      // Closing completes the pending operations (with operation_aborted) through the
      // queue, never inline: the list does not change while it is walked.
      for (Impl::Open* o = list->list.front(); o != nullptr; o = o->next) {
        boost::system::error_code ignored;
        o->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
        o->stream->close();
      }
    });
  }
}

std::size_t HttpServer::connections() const noexcept {
  return impl_ ? impl_->connections.load(std::memory_order_acquire) : 0;
}

}  // namespace pit::detail
