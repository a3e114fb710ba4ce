// beast_server — the hand-written baseline for pit_server: a bare Boost.Beast HTTP/1.1
// keep-alive server on one thread (no pit), doing the same JSON work.
//
//   beast_server PORT
//
// POST /bench.v1.Echo/echo with {"text": "...", "n": N} → 200 application/json
// {"text": "...", "n": N+1}. Anything else: 404 / 400. Written the way the Beast examples
// (http_server_async) write a server: one io_context run by one thread, a session object
// per connection, tcp_stream with a timeout, a flat_buffer reused across requests,
// string bodies, Boost.JSON parsing into a stack-buffered monotonic resource.
// Listens on 127.0.0.1:PORT until SIGTERM/SIGINT. See bench/README.md ("HTTP load").
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

constexpr std::string_view kTarget = "/bench.v1.Echo/echo";

Response error(const Request& req, http::status status, std::string_view detail) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "text/plain");
  res.keep_alive(req.keep_alive());
  res.body() = detail;
  res.prepare_payload();
  return res;
}

// The same work as pit's echo operation: parse the request, echo the text, n + 1.
Response handle(Request& req) {
  if (req.method() != http::verb::post) return error(req, http::status::method_not_allowed, "POST only");
  if (req.target() != kTarget) return error(req, http::status::not_found, "no such operation");

  unsigned char scratch[4096];
  json::monotonic_resource mr{scratch, sizeof scratch};
  boost::system::error_code ec;
  json::value doc = json::parse(req.body(), ec, &mr);
  const json::object* obj = ec ? nullptr : doc.if_object();
  if (obj == nullptr) return error(req, http::status::bad_request, "body must be a JSON object");
  json::string_view text;
  std::int64_t n = 0;
  if (const auto* t = obj->if_contains("text")) {
    if (!t->is_string()) return error(req, http::status::bad_request, "text must be a string");
    text = t->get_string();
  }
  if (const auto* v = obj->if_contains("n")) {
    if (!v->is_int64()) return error(req, http::status::bad_request, "n must be an integer");
    n = v->get_int64();
  }

  json::object reply{&mr};
  reply.reserve(2);
  reply.emplace("text", text);
  reply.emplace("n", n + 1);

  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  res.body() = json::serialize(reply);
  res.prepare_payload();
  return res;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket&& socket) : stream_(std::move(socket)) {}

  void run() { read(); }

 private:
  void read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, req_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) return close();  // end_of_stream, timeout, reset, framing error: close
    res_ = handle(req_);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code wec, std::size_t) {
      if (wec || !self->res_.keep_alive()) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Request req_;
  Response res_;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& io, const tcp::endpoint& endpoint) : io_(io), acceptor_(io) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  }

  void accept() {
    acceptor_.async_accept(io_, [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
      if (!ec) std::make_shared<Session>(std::move(socket))->run();
      if (ec != asio::error::operation_aborted) self->accept();
    });
  }

  void stop() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

 private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: beast_server PORT\n";
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  asio::io_context io{1};  // run by one thread: concurrency hint 1
  auto listener = std::make_shared<Listener>(io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  listener->accept();
  asio::signal_set signals{io, SIGINT, SIGTERM};
  signals.async_wait([&](beast::error_code, int) {
    listener->stop();
    io.stop();
  });
  io.run();
  return 0;
}
