#include "transport/http/attempt.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/span_body.hpp>

#include "durability/idempotency_key.hpp"
#include "pit/asio.hpp"
#include "transport/http/wire.hpp"

namespace pit::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string_view to_string(AttemptKind kind) noexcept {
  switch (kind) {
    case AttemptKind::first: return "first";
    case AttemptKind::retry: return "retry";
    case AttemptKind::requeue: return "requeue";
    case AttemptKind::hedge: return "hedge";
  }
  return "first";
}

void Exchange::wake() noexcept {
  if (auto h = std::exchange(waiter, {})) {
    ContextScope clean(nullptr);
    h.resume();
  } else {
    woken = true;
  }
}

namespace {

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

detail::Detached run_attempt(std::shared_ptr<Attempt> a, std::shared_ptr<const EncodedRequest> r, IoThread& home) {
  const auto frame = co_await ThisFrame{};
  const ListedRoot listed{home, frame};  // the thread destroys it if it stops first
  // Every Asio wait below is cancelled through the attempt's own context.
  set_current_context(&a->cancel);
  EndpointPool& pool = *a->pool;
  const EndpointAddress& address = pool.address();

  http::request<http::span_body<const char>> req{http::verb::post, r->target, 11};
  req.set(http::field::host, address.authority);
  req.set(http::field::content_type, http_wire::kJson);
  if (!r->credential.empty()) req.set(http::field::authorization, r->credential);
  if (!r->request_id.empty()) req.set(http_wire::kRequestIdHeader, r->request_id);
  req.set(http_wire::kTraceparentHeader, a->traceparent.empty() ? r->traceparent : a->traceparent);
  if (!r->tracestate.empty()) req.set(http_wire::kTracestateHeader, r->tracestate);
  if (!r->idempotency_key.empty()) req.set(durability::kIdempotencyKeyHeader, r->idempotency_key);
  if (a->timeout.count() > 0) req.set(http_wire::kTimeoutHeader, http_wire::format_timeout(a->timeout));
  req.set(http_wire::kAttemptHeader, std::to_string(a->number));
  req.body() = {r->body.data(), r->body.size()};
  req.keep_alive(true);
  req.prepare_payload();

  auto stream = pool.take(&home);
  if (stream && closed_by_peer(*stream)) stream.reset();
  a->reused = stream != nullptr;
  bool handshaking = false;
  bool written = false;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(r->reply_limit);
  parser.header_limit(static_cast<std::uint32_t>(r->header_limit));
  try {
    if (!stream) {
      stream = std::make_unique<HttpConnection>(home.io());
      tcp::resolver resolver{home.io()};
      auto endpoints = co_await resolver.async_resolve(address.host, address.port, use_task);
      co_await asio::async_connect(stream->tcp.socket(), endpoints, use_task);
      if (pool.tls() != nullptr) {
        // The server must prove the endpoint's name (SNI sent for a DNS name); the
        // handshake is bounded like a read, and by the call's deadline.
        stream->tls.emplace(stream->tcp, *pool.tls());
        handshaking = true;
        if (!tls::expect_server_name(stream->tls->native_handle(), pool.server_name())) {
          throw boost::system::system_error(asio::error::invalid_argument);
        }
        stream->tcp.expires_after(r->handshake_timeout);
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
    a->status = res.result_int();
    if (auto it = res.find(http::field::retry_after); it != res.end()) a->retry_after = std::string(it->value());
    a->body = std::move(res.body());
    a->ended = Ended::reply;
    // Back to the pool only whole and wanted: a cancelled attempt's connection is closed.
    if (res.keep_alive() && !a->cancel.cancelled()) pool.give(&home, std::move(stream));
  } catch (const boost::system::system_error& e) {
    a->error = e.code();
    if (a->cancel.cancelled()) {
      a->ended = Ended::cancelled;
    } else if (e.code() == http::error::body_limit) {
      if (auto announced = parser.content_length()) a->announced = *announced;
      a->ended = Ended::reply_too_large;
    } else if (handshaking) {
      a->ended = Ended::untrusted;
    } else {
      a->ended = written ? Ended::lost_after_write : Ended::not_written;
    }
  } catch (...) {
    a->error = asio::error::fault;
    a->ended = written ? Ended::lost_after_write : Ended::not_written;
  }
  stream.reset();  // closed now (unless pooled above), before the loop looks
  a->ended_at = Clock::now();
  set_current_context(nullptr);
  const auto exchange = a->exchange;
  exchange->wake();
}

}  // namespace

void start_attempt(std::shared_ptr<Attempt> attempt, std::shared_ptr<const EncodedRequest> request, IoThread& home) {
  attempt->started = Clock::now();
  const Context* caller = current_context();  // the attempt installs its own until it suspends
  run_attempt(std::move(attempt), std::move(request), home);
  set_current_context(caller);
}

}  // namespace pit::detail
