// What Host::stop() leaves behind: nothing. Open connections are closed and their
// coroutines end; a call abandoned at its deadline whose operation can never resume is
// destroyed with its thread; the connections its clients pooled are closed. (Under
// LeakSanitizer, scripts/test's asan stage, a frame left behind is also a leak report.)
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <coroutine>
#include <string>
#include <thread>

#include "support/host_fixture.hpp"
#include "support/raw_http.hpp"

namespace parking {

struct Ticket {
  int number = 0;
};
BOOST_DESCRIBE_STRUCT(Ticket, (), (number))

// An operation that waits for something that never happens.
class Lot {
 public:
  virtual ~Lot() = default;
 protected:
  virtual pit::Task<Ticket> park(Ticket) = 0;
};
PIT_CONTRACT(Lot, "test.v1.Lot", (park, pit::OpSpec{}.anonymous("test")));

}  // namespace parking

namespace shop {
namespace {

using namespace std::chrono_literals;

// Suspends and never asks to be resumed: nothing but destroying the frame ends it.
struct Never {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> /*unused*/) const noexcept {}
  void await_resume() const noexcept {}
};

struct Witness {
  std::atomic<bool>* destroyed;
  ~Witness() { destroyed->store(true); }
};

class StuckLot final : public parking::Lot {
 public:
  StuckLot(std::atomic<bool>& started, std::atomic<bool>& destroyed) : started_(started), destroyed_(destroyed) {}

 private:
  pit::Task<parking::Ticket> park(parking::Ticket t) override {
    const Witness witness{&destroyed_};
    started_ = true;
    co_await Never{};
    co_return t;
  }
  std::atomic<bool>& started_;
  std::atomic<bool>& destroyed_;
};

TEST(Shutdown, an_abandoned_call_that_can_never_resume_is_destroyed_when_the_host_stops) {
  std::atomic<bool> started{false};
  std::atomic<bool> destroyed{false};
  pit::HostOptions o;
  o.log_sink = std::make_shared<pit::log::MemorySink>();
  o.io_threads = 1;
  pit::Host host{o};
  host.serve<parking::Lot, StuckLot>(started, destroyed);
  auto lot = host.client<parking::Lot>();
  host.start();
  {
    pit::CallerScope scope{{.timeout = 50ms}};
    try {
      (void)pit::block_on(lot->park({7}));
      ADD_FAILURE() << "a call that never finishes returned";
    } catch (const pit::Fault& f) {
      EXPECT_EQ(f.code(), pit::Code::deadline_exceeded);
    }
  }
  EXPECT_TRUE(started);
  EXPECT_FALSE(destroyed) << "answered at its deadline, the operation itself still waits";
  host.stop();
  EXPECT_TRUE(destroyed) << "the operation's frame (and the pipeline's around it) outlived the host";
}

class ShutdownHttp : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.http.listen = "127.0.0.1:0";
    o.io_threads = 2;
    return o;
  }
};

TEST_F(ShutdownHttp, stop_closes_idle_keep_alive_connections_at_once) {
  host->start();
  rawhttp::Connection idle{host->http_port()};
  idle.send(rawhttp::post("/shop.v1.Inventory/reserve", R"({"sku":"apple","quantity":1})"));
  ASSERT_EQ(rawhttp::status_of(idle.read_response()), 200);
  rawhttp::Connection silent{host->http_port()};  // connected, never says anything
  // Both connections are far from their idle timeout (60 s): stop() closes them itself.
  const auto start = std::chrono::steady_clock::now();
  host->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_TRUE(idle.closed_by_server(1000ms));
  EXPECT_TRUE(silent.closed_by_server(1000ms));
}

TEST_F(ShutdownHttp, stop_closes_the_connections_its_clients_pooled) {
  // A plain HTTP server on a thread of its own: one keep-alive exchange, then it waits
  // for the client to close the connection.
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  asio::io_context io;
  tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  const auto port = acceptor.local_endpoint().port();
  std::atomic<int> answered{0};
  std::atomic<bool> saw_close{false};
  std::thread server([&] {
    tcp::socket socket{io};
    acceptor.accept(socket);
    timeval tv{5, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    asio::streambuf in;
    boost::system::error_code ec;
    const auto header_end = asio::read_until(socket, in, "\r\n\r\n", ec);
    if (ec) return;
    std::string head{asio::buffers_begin(in.data()), asio::buffers_begin(in.data()) + static_cast<long>(header_end)};
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto cl = head.find("content-length:");
    const std::size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15));
    in.consume(header_end);
    if (in.size() < length) asio::read(socket, in, asio::transfer_exactly(length - in.size()), ec);
    in.consume(in.size());
    const std::string body = R"({"remaining":7})";
    answered = 1;  // before the reply: the client may check it as soon as the reply arrives
    asio::write(socket,
                asio::buffer("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body),
                ec);
    char byte = 0;
    socket.read_some(asio::buffer(&byte, 1), ec);  // EOF when the client closes; else 5 s
    saw_close = ec == asio::error::eof || ec == asio::error::connection_reset;
  });
  pit::HostOptions o;
  o.log_sink = logs;
  o.io_threads = 1;
  pit::Host caller{o};
  auto remote = caller.client<Inventory>("http://127.0.0.1:" + std::to_string(port));
  caller.start();
  EXPECT_EQ(pit::block_on(remote->reserve({"apple", 1})).remaining, 7);
  EXPECT_EQ(answered, 1);
  caller.stop();  // the proxy (and its pool) lives on: stop() closes the pooled connection
  server.join();
  EXPECT_TRUE(saw_close) << "the pooled connection stayed open after the host stopped";
}

}  // namespace
}  // namespace shop
