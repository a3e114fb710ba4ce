#include "transport/http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

#include "context/context_access.hpp"
#include "pipeline/call_access.hpp"
#include "pit/asio.hpp"
#include "pit/log.hpp"
#include "transport/http/wire.hpp"

namespace pit::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Host::State& host;
  HttpOptions options;
  Mode mode = Mode::api;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::atomic<std::size_t> connections{0};
  std::atomic<std::size_t> next_thread{0};
  std::atomic<bool> stopping{false};

  Impl(Host::State& h, const HttpOptions& o, Mode m) : host(h), options(o), mode(m) {}

  void accept();
  Task<void> serve(tcp::socket socket);
  // The service and operation a request target names, or {nullptr, nullptr}.
  std::pair<const Host::State::Service*, const OperationInfo*> route(std::string_view target) const;
  const OperationSettings* settings_for(std::string_view target) const {
    auto [service, op] = route(target);
    return op != nullptr ? &service->settings[op->index] : nullptr;
  }
  Task<http::response<http::string_body>> handle(http::request<http::string_body>& req,
                                                 beast::tcp_stream& stream);
  http::response<http::string_body> admin(const http::request<http::string_body>& req) const;
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

// Watches the socket while a call runs: if the caller closes its side, the call is
// cancelled with reason `caller`. Pipelined bytes end the watch (they are not a goodbye).
struct DisconnectWatch : std::enable_shared_from_this<DisconnectWatch> {
  tcp::socket& socket;
  CallRef call;
  bool done = false;
  bool caller_gone = false;

  DisconnectWatch(tcp::socket& s, CallRef c) : socket(s), call(std::move(c)) {}

  void arm() {
    socket.async_wait(tcp::socket::wait_read, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->done) return;
      char byte = 0;
      boost::system::error_code peek_ec;
      const auto n = self->socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, peek_ec);
      if (n == 0 || peek_ec) {
        self->caller_gone = true;
        CallAccess::cancel(*self->call, CancelReason::caller);
      }
    });
  }
  void finish() {
    done = true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
  }
};

}  // namespace

Task<void> HttpServer::Impl::serve(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream stream{std::move(socket)};
  beast::flat_buffer buffer;
  for (;;) {
    // Wait for a request to start (idle timeout), then for all of it (read timeout): a
    // client that trickles its headers is cut off after read_timeout, whatever it sends.
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    boost::system::error_code ec;
    try {
      if (buffer.size() == 0) {
        stream.expires_after(options.idle_timeout);
        const auto n = co_await stream.async_read_some(buffer.prepare(4096), use_task);
        buffer.commit(n);
      }
      stream.expires_after(options.read_timeout);
      co_await http::async_read_header(stream, buffer, parser, use_task);
      // The body limit is the operation's (configuration may raise or lower it per
      // operation); decided from the headers, before any of the body is read.
      if (const auto* settings = settings_for(parser.get().target())) {
        parser.body_limit(settings->max_body_bytes);
      }
      co_await http::async_read(stream, buffer, parser, use_task);
    } catch (const boost::system::system_error& e) {
      ec = e.code();
    }
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        break;  // the peer left, or stayed silent too long: close without an answer
      }
      auto res = problem_for_parse_error(ec);
      try {
        stream.expires_after(options.read_timeout);
        co_await http::async_write(stream, res, use_task);
      } catch (const boost::system::system_error&) {
      }
      break;  // after a framing error the stream cannot be trusted: close it
    }

    Request req = parser.release();
    // (Not a ?: with a co_await in one branch: GCC 12 miscompiles that.)
    Response res;
    if (mode == Mode::admin) {
      res = admin(req);
    } else {
      res = co_await handle(req, stream);
    }
    if (stream.socket().is_open() == false) break;
    const bool keep_alive = res.keep_alive();
    try {
      stream.expires_after(options.read_timeout);
      co_await http::async_write(stream, res, use_task);
    } catch (const boost::system::system_error&) {
      break;
    }
    if (!keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
  connections.fetch_sub(1);
}

Task<Response> HttpServer::Impl::handle(Request& req, beast::tcp_stream& stream) {
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
  // Caller-supplied ids are used only when valid; an invalid one is replaced, never echoed.
  const auto request_id = req[http_wire::kRequestIdHeader];
  if (http_wire::valid_request_id({request_id.data(), request_id.size()})) {
    ContextAccess::set_correlation_id(context, std::string(request_id));
  }
  const auto traceparent = req[http_wire::kTraceparentHeader];
  if (auto tp = http_wire::parse_traceparent({traceparent.data(), traceparent.size()})) {
    ContextAccess::set_trace(context, tp->trace_id, tp->parent_span_id, tp->sampled);
  }
  if (auto it = req.find(http_wire::kTimeoutHeader); it != req.end()) {
    auto timeout = http_wire::parse_timeout({it->value().data(), it->value().size()});
    if (!timeout) {
      co_return refusal(req, http::status::bad_request,
                        transport_fault(Code::invalid_argument,
                                        "Pit-Timeout must be 1-8 digits and a unit (H M S m u n)"));
    }
    ContextAccess::set_deadline(context, Clock::now() + *timeout);
  }
  CallAccess::set_target(*call, service->implementation);
  CallAccess::set_settings(*call, &service->settings[op->index]);
  CallAccess::set_json_request(*call, std::move(req.body()));
  CallAccess::want_json_reply(*call);
  CallAccess::set_home(*call, IoThread::current());

  auto watch = std::make_shared<DisconnectWatch>(stream.socket(), call);
  watch->arm();
  CallAccess::set_started(*call, Clock::now());
  std::optional<Outcome> result;
  {
    ActiveCall active{IoThread::current()->active(), *call};
    host.in_flight.fetch_add(1, std::memory_order_relaxed);
    result.emplace(co_await host.pipeline->run(*call));
    host.in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
  Outcome& outcome = *result;
  watch->finish();
  set_current_context(nullptr);

  Response res;
  res.version(req.version());
  if (outcome.ok()) {
    res.result(http::status::ok);
    res.set(http::field::content_type, http_wire::kJson);
    res.body() = std::move(CallAccess::json_reply(*call));
  } else {
    res.result(http_wire::status_of(outcome.code()));
    res.set(http::field::content_type, http_wire::kProblemJson);
    res.body() = http_wire::problem_json(outcome.fault(), context.trace_id());
  }
  res.set(http_wire::kRequestIdHeader, context.correlation_id());
  res.set(http_wire::kTraceparentHeader,
          http_wire::format_traceparent(context.trace_id(), context.span_id(), context.sampled()));
  res.keep_alive(req.keep_alive() && !watch->caller_gone);
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

void HttpServer::Impl::accept() {
  acceptor->async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
    if (self->stopping.load()) return;
    if (!ec) {
      if (self->connections.fetch_add(1) >= self->options.max_connections) {
        self->connections.fetch_sub(1);
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        // Hand the connection to an I/O thread: it lives there, and so do its calls.
        auto& threads = self->host.io_threads;
        auto& home = *threads[self->next_thread.fetch_add(1) % threads.size()];
        boost::system::error_code ep_ec;
        const auto protocol = socket.local_endpoint(ep_ec).protocol();
        auto fd = socket.release();
        asio::post(home.io(), [self, &home, fd, protocol] {
          tcp::socket moved{home.io(), protocol, fd};
          [](std::shared_ptr<Impl> s, tcp::socket sock) -> Detached {
            try {
              co_await s->serve(std::move(sock));
            } catch (const std::exception& e) {
              log::error("http connection failed", {{"cause", e.what()}});
            }
          }(self, std::move(moved));
        });
      }
    }
    if (ec != asio::error::operation_aborted) self->accept();
  });
}

Response HttpServer::Impl::admin(const Request& req) const {
  Response res{http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  std::string_view target{req.target().data(), req.target().size()};
  if (const auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.body() = "method not allowed\n";
  } else if (target == "/metrics") {
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = host.metrics.render();
  } else if (target == "/healthz") {
    res.body() = "ok\n";  // the process is alive and its I/O threads answer
  } else if (target == "/readyz") {
    const bool running = host.running.load(std::memory_order_acquire);
    const bool draining = host.draining.load(std::memory_order_acquire);
    if (running && !draining) {
      res.body() = "ready\n";
    } else {
      res.result(http::status::service_unavailable);
      res.body() = draining ? "draining\n" : "starting\n";
    }
  } else {
    res.result(http::status::not_found);
    res.body() = "not found: /metrics, /healthz, /readyz\n";
  }
  if (req.method() == http::verb::head) {
    res.content_length(res.body().size());
    res.body().clear();
  } else {
    res.prepare_payload();
  }
  return res;
}

HttpServer::HttpServer(Host::State& host, const HttpOptions& options, Mode mode)
    : impl_(std::make_shared<Impl>(host, options, mode)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  auto [address, port] = split_listen(impl_->options.listen);
  auto& io = impl_->host.io_threads.front()->io();
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("pit: cannot listen on " + impl_->options.listen + ": bad address");
  impl_->acceptor = std::make_unique<tcp::acceptor>(io);
  const tcp::endpoint endpoint{ip, port};
  impl_->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(endpoint, ec);
  if (!ec) impl_->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("pit: cannot listen on " + impl_->options.listen + ": " + ec.message());
  port_.store(impl_->acceptor->local_endpoint().port());
  asio::post(io, [impl = impl_] { impl->accept(); });
}

void HttpServer::stop() {
  if (!impl_ || !impl_->acceptor || impl_->stopping.exchange(true)) return;
  asio::post(impl_->acceptor->get_executor(), [impl = impl_] {
    boost::system::error_code ignored;
    impl->acceptor->close(ignored);
  });
}

}  // namespace pit::detail
