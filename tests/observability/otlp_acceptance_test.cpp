// pit's OTLP/HTTP JSON export is accepted by the strict test receiver (tests/otlp: the
// official OpenTelemetry JS packages' own OTLP decoding, refusing base64 ids, enum names,
// unknown or snake_case keys and mistyped values with 400). Every shape pit exports is sent
// at least once: SERVER, INTERNAL, the logical CLIENT call and its attempts (a retry with
// server.address/port), error statuses, and the events (deadline expired, cancelled,
// masked fault); the receiver must keep every span and refuse none.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <sys/wait.h>
#include <unistd.h>

#include "support/fake_replica.hpp"
#include "support/raw_http.hpp"
#include "support/shop_services.hpp"
#include "transport/http/fetch.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;

// The receiver as a child process, stopped (SIGTERM) when the test ends.
class NodeReceiver {
 public:
  NodeReceiver() {
    const char* node = std::getenv("PIT_NODE");
    const std::string node_bin = node != nullptr && *node != '\0' ? node : "node";
    const std::string script = std::string(PIT_OTLP_DIR) + "/receiver.mjs";
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execlp(node_bin.c_str(), node_bin.c_str(), script.c_str(), "0", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    // The first line: "listening 127.0.0.1:PORT".
    std::string line;
    char c = 0;
    while (read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(out[0]);
    const std::string prefix = "listening 127.0.0.1:";
    if (line.starts_with(prefix)) port_ = std::stoi(line.substr(prefix.size()));
  }
  ~NodeReceiver() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  NodeReceiver(const NodeReceiver&) = delete;
  NodeReceiver& operator=(const NodeReceiver&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string base() const { return "http://127.0.0.1:" + std::to_string(port_); }
  boost::json::value get(const std::string& path) const {
    pit::detail::FetchRequest r;
    r.url = base() + path;
    const auto result = pit::detail::fetch(r);
    EXPECT_EQ(result.status, 200) << result.error;
    return boost::json::parse(result.body);
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

std::string post(unsigned short port, const std::string& target, const std::string& body) {
  rawhttp::Connection c{port};
  c.send("POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n" +
         "X-Request-Id: accept-1\r\nPit-Timeout: 300m\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  return c.read_response();
}

TEST(OtlpAcceptance, every_span_shape_pit_exports_is_accepted_by_the_strict_receiver) {
  if (!std::filesystem::exists(std::string(PIT_OTLP_DIR) + "/node_modules/@opentelemetry/otlp-transformer")) {
    GTEST_SKIP() << "tests/otlp/node_modules is missing: run tests/otlp/install.sh";
  }
  NodeReceiver receiver;
  ASSERT_NE(receiver.port(), 0) << "the receiver did not start (node missing?)";

  // A replica that refuses the first attempt (retryable) and answers the second.
  std::atomic<int> n{0};
  fake::Replica replica{[&n](const fake::Request& r) {
    return n.fetch_add(1) == 0 ? fake::problem(503, "unavailable", true) : fake::ok_reply(r);
  }};
  pit::HostOptions o;
  o.log_sink = std::make_shared<pit::log::MemorySink>();
  o.http.listen = "127.0.0.1:0";
  o.io_threads = 1;
  o.shutdown_grace = 0ms;
  o.service.name = "acceptance";
  o.service.version = "1.2.3";
  o.tracing.endpoint = receiver.base() + "/v1/traces";
  o.tracing.resource_attributes = {{"deployment.environment", "test"}};
  o.clients["shop.v1.Inventory"].retry.backoff_base = 1ms;
  o.clients["shop.v1.Inventory"].retry.backoff_max = 2ms;
  Probe probe;
  pit::Host host{o};
  host.serve<Inventory, InventoryService>(probe);
  host.serve<Orders, OrdersService>(host.client<Inventory>(), probe);
  auto remote = host.client<Inventory>(replica.url());
  host.start();

  // SERVER + INTERNAL child; an error (masked, with its event); a deadline that expires
  // (the slow reserve against a 300 ms Pit-Timeout: deadline and cancellation events).
  EXPECT_NE(post(host.http_port(), "/shop.v1.Orders/place", R"({"items":[{"sku":"apple","quantity":1}]})").find(" 200 "),
            std::string::npos);
  EXPECT_NE(post(host.http_port(), "/shop.v1.Inventory/reserve", R"({"sku":"secret","quantity":1})").find(" 500 "),
            std::string::npos);
  (void)post(host.http_port(), "/shop.v1.Inventory/reserve", R"({"sku":"slow","quantity":2000})");
  // A caller that hangs up: cancelled, reason caller.
  {
    rawhttp::Connection gone{host.http_port()};
    const std::string body = R"({"sku":"slow","quantity":2000})";
    gone.send("POST /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body);
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(100ms);
  // CLIENT: the logical call and two attempts (a retry).
  {
    pit::CallerScope scope{{.timeout = 5s}};
    EXPECT_EQ(remote->count({"apple"}).quantity, 42);
  }
  host.stop();  // flushes

  const auto stats = receiver.get("/stats").as_object();
  EXPECT_EQ(stats.at("rejected").as_int64(), 0) << boost::json::serialize(stats);
  EXPECT_GE(stats.at("accepted").as_int64(), 1);
  EXPECT_EQ(stats.at("spans").as_int64(), 2 + 1 + 1 + 1 + 3) << boost::json::serialize(stats);
  // What the receiver decoded carries the events and attempt attributes (not dropped on
  // the way as unknown).
  const std::string kept = boost::json::serialize(receiver.get("/spans"));
  for (const char* needle : {"pit.deadline_expired", "pit.cancelled", "pit.fault_masked", "server.port", "pit.attempt_kind",
                             "service.version", "deployment.environment"}) {
    EXPECT_NE(kept.find(needle), std::string::npos) << needle << " in " << kept.substr(0, 2000);
  }
}

}  // namespace
}  // namespace shop
