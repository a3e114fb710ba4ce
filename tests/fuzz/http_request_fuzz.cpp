// Raw bytes into a real HTTP server session: one host, one HttpServer over its state, and
// for each input one end of a socketpair adopted as if the listener had accepted it. The
// input is written, the write side shut, and everything the server answers is read until
// it closes the connection.
//
// Properties, beyond "no crash, no sanitizer report":
//  - the server closes the connection within kDeadline (no hang);
//  - what it wrote is a sequence of complete HTTP/1.x responses, each with Content-Length,
//    and nothing after the last one; an answer to HEAD has no content;
//  - no response contains kSecret, which an operation puts in an exception message and
//    fault shaping must keep from the caller.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http.hpp>
#include <boost/describe.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host_access.hpp"
#include "pit/asio.hpp"
#include "pit/pit.hpp"
#include "transport/http/server.hpp"

namespace fuzzshop {

enum class Color { red, green, blue };
BOOST_DESCRIBE_ENUM(Color, red, green, blue)

struct Line {
  std::string sku;
  std::int32_t quantity = 1;
  std::optional<double> price;
};
BOOST_DESCRIBE_STRUCT(Line, (), (sku, quantity, price))

struct Order {
  std::vector<Line> lines;
  std::string note;
  Color color = Color::red;
  bool gift = false;
  std::map<std::string, std::string> labels;
};
BOOST_DESCRIBE_STRUCT(Order, (), (lines, note, color, gift, labels))

struct Placed {
  std::string id;
  std::int64_t units = 0;
};
BOOST_DESCRIBE_STRUCT(Placed, (), (id, units))

struct Lookup {
  std::string sku;
  std::uint16_t shelf = 0;
};
BOOST_DESCRIBE_STRUCT(Lookup, (), (sku, shelf))

struct Stock {
  std::int32_t quantity = 0;
};
BOOST_DESCRIBE_STRUCT(Stock, (), (quantity))

inline constexpr std::string_view kSecret = "FUZZ-SECRET-5b1e";

class Store {
 public:
  virtual ~Store() = default;
 protected:
  virtual pit::Task<Placed> place(Order) = 0;  // coroutine: I/O thread
  virtual Stock count(Lookup) = 0;             // sync: worker pool
};
PIT_CONTRACT(Store, "fuzz.v1.Store",
             (place, pit::OpSpec{}.anonymous("test").raises(pit::Code::invalid_argument, pit::Code::not_found)
                         .timeout(std::chrono::milliseconds(500))),
             (count, pit::OpSpec{}.anonymous("test").idempotent()));

class StoreService final : public Store {
  pit::Task<Placed> place(Order order) override {
    if (order.lines.empty()) throw pit::Fault::invalid_argument("an order needs lines");  // declared
    std::int64_t units = 0;
    for (const auto& line : order.lines) {
      if (line.sku == "missing") throw pit::Fault::not_found("no such sku");                  // declared
      if (line.sku == "denied") throw pit::Fault::permission_denied(std::string(kSecret));  // undeclared
      if (line.sku == "boom") throw std::runtime_error(std::string(kSecret));               // not a fault
      units += line.quantity;
    }
    if (order.note == "wait") {
      // Suspends: the disconnect watch arms, and the caller's half-close cancels the call.
      boost::asio::steady_timer timer{pit::io_executor(), std::chrono::milliseconds(2)};
      co_await timer.async_wait(pit::use_task);
    }
    co_return Placed{"o-" + std::to_string(order.lines.size()), units};
  }

  Stock count(Lookup lookup) override {
    if (lookup.sku == "boom") throw std::logic_error(std::string(kSecret));
    if (lookup.sku == "gone") throw pit::Fault::not_found("gone");  // undeclared for count
    return Stock{static_cast<std::int32_t>(lookup.shelf) * 2};
  }
};

}  // namespace fuzzshop

namespace {

constexpr auto kDeadline = std::chrono::seconds(4);

[[noreturn]] void fail(const char* what, std::string_view output) {
  std::fprintf(stderr, "http_request_fuzz: %s\n--- server output (%zu bytes) ---\n%.*s\n---\n", what,
               output.size(), static_cast<int>(std::min<std::size_t>(output.size(), 4096)), output.data());
  std::abort();
}

struct Fixture {
  pit::Host host;
  std::unique_ptr<pit::detail::HttpServer> server;

  static pit::HostOptions options() {
    pit::HostOptions o;
    o.io_threads = 1;
    o.workers = 2;
    o.worker_queue = 16;
    o.default_timeout = std::chrono::milliseconds(1000);
    o.log_sink = pit::log::discard_sink();
    o.shutdown_grace = std::chrono::milliseconds(100);
    return o;
  }
  static pit::HttpOptions http_options() {
    pit::HttpOptions h;  // no listener: connections are handed in with adopt()
    h.max_body_bytes = 16U << 10U;
    h.max_header_bytes = 4U << 10U;
    h.read_timeout = std::chrono::milliseconds(200);
    h.idle_timeout = std::chrono::milliseconds(200);
    return h;
  }

  Fixture() : host(options()) {
    host.serve<fuzzshop::Store, fuzzshop::StoreService>();
    host.start();
    server = std::make_unique<pit::detail::HttpServer>(pit_fuzz::state_of(host), http_options());
  }
};

// Everything the server writes for `input`, until it closes the connection.
std::string exchange(pit::detail::HttpServer& server, std::string_view input) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    std::perror("socketpair");
    std::abort();
  }
  server.adopt(fds[0]);
  const int fd = fds[1];
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::string output;
  std::size_t written = 0;
  bool write_open = true;
  if (input.empty()) {
    ::shutdown(fd, SHUT_WR);
    write_open = false;
  }
  const auto until = std::chrono::steady_clock::now() + kDeadline;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::close(fd);
      fail("the server did not close the connection in time", output);
    }
    pollfd p{fd, static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0) continue;
    if (write_open && (p.revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const auto n = ::send(fd, input.data() + written, input.size() - written, MSG_NOSIGNAL);
      if (n > 0) written += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) written = input.size();  // server closed
      if (written == input.size()) {
        ::shutdown(fd, SHUT_WR);
        write_open = false;
      }
    }
    if ((p.revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      char buf[8192];
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        output.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        break;  // EOF (or reset): the server is done with this connection
      }
    }
  }
  ::close(fd);
  return output;
}

// For each whole request at the start of the input, in order: is it a HEAD? (Parsed as the
// server parses it; the server answers at most these, plus one refusal.)
std::vector<bool> head_requests(std::string_view input) {
  namespace http = boost::beast::http;
  std::vector<bool> heads;
  while (!input.empty()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(Fixture::http_options().max_header_bytes));
    parser.body_limit(1U << 20U);
    parser.eager(true);
    boost::system::error_code ec;
    const auto used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
    if (ec || !parser.is_done()) break;
    heads.push_back(parser.get().method() == http::verb::head);
    input.remove_prefix(used);
  }
  return heads;
}

// The server's output must be whole responses, back to back; an answer to HEAD has no
// content, whatever its Content-Length says.
void check_responses(std::string_view input, std::string_view output) {
  namespace http = boost::beast::http;
  const std::vector<bool> heads = head_requests(input);
  std::string_view rest = output;
  for (std::size_t i = 0; !rest.empty(); ++i) {
    http::response_parser<http::string_body> parser;
    parser.skip(i < heads.size() && heads[i]);
    parser.eager(true);
    parser.body_limit(1U << 20U);
    boost::system::error_code ec;
    const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (ec || !parser.is_done()) fail("the server wrote something that is not a complete HTTP response", output);
    const auto& res = parser.get();
    if (res.find(http::field::content_length) == res.end()) fail("a response without Content-Length", output);
    if (res.version() != 11 && res.version() != 10) fail("a response that is not HTTP/1.x", output);
    rest.remove_prefix(used);
  }
  if (output.find(fuzzshop::kSecret) != std::string_view::npos) fail("an internal message reached the caller", output);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture* fixture = new Fixture;  // lives until exit: no shutdown between inputs
  const std::string_view input{reinterpret_cast<const char*>(data), size};
  check_responses(input, exchange(*fixture->server, input));
  return 0;
}
