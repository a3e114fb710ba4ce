// The outbound client's attempts: a call to several replicas over real loopback HTTP is
// retried only when that is safe, never past its deadline or its retry budget, hedged when
// configured, bounded in flight, and its connections are pooled per endpoint host-wide.
// The replicas are scripted servers (support/fake_replica.hpp) that count what they see;
// one test uses a real pit host as the server.
#include <gtest/gtest.h>

#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_replica.hpp"
#include "support/host_fixture.hpp"
#include "support/raw_http.hpp"
#include "support/shop.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;
using pit::block_on;
using pit::Code;

// A caller host with an admin listener (for /metrics) and one I/O thread (so that its
// calls share one thread's idle connections).
class Attempts : public ::testing::Test {
 protected:
  pit::HostOptions caller_options() {
    pit::HostOptions o;
    o.log_sink = logs;
    o.io_threads = 1;
    o.admin.listen = "127.0.0.1:0";
    return o;
  }
  void make_caller(pit::HostOptions o) { caller = std::make_unique<pit::Host>(std::move(o)); }
  void TearDown() override {
    if (caller) caller->stop();
  }

  // Sum of the samples of `name` whose labels contain every one of `labels`.
  long metric(const std::string& name, std::initializer_list<std::string> labels = {}) const {
    rawhttp::Connection c{caller->admin_port()};
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string page = rawhttp::body_of(c.read_response());
    long sum = 0;
    std::size_t at = 0;
    while (at < page.size()) {
      const auto end = std::min(page.find('\n', at), page.size());
      const std::string line = page.substr(at, end - at);
      at = end + 1;
      if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
      bool all = true;
      for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
      if (all) sum += std::stol(line.substr(line.rfind(' ') + 1));
    }
    return sum;
  }

  template <class F>
  static pit::Fault fault_of(F&& f) {
    try {
      f();
    } catch (const pit::Fault& fault) {
      return fault;
    }
    ADD_FAILURE() << "expected a pit::Fault";
    return pit::Fault::unknown("no fault");
  }

  std::vector<std::string> lines_with(std::initializer_list<std::string_view> needles) const {
    pit::log::flush();
    std::vector<std::string> out;
    for (auto& line : logs->lines()) {
      bool all = true;
      for (auto n : needles) all = all && line.find(n) != std::string::npos;
      if (all) out.push_back(line);
    }
    return out;
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  std::unique_ptr<pit::Host> caller;
};

TEST_F(Attempts, proxies_of_two_contracts_to_one_endpoint_share_one_connection) {
  fake::Replica replica;
  make_caller(caller_options());
  auto inventory = caller->client<Inventory>(replica.url());
  auto orders = caller->client<Orders>(replica.url());
  caller->start();
  EXPECT_EQ(inventory->count({"apple"}).quantity, 42);
  EXPECT_EQ(block_on(orders->place(PlaceOrder{{{"apple", 1}}, ""})).lines, 1);
  EXPECT_EQ(inventory->count({"pear"}).quantity, 42);
  EXPECT_EQ(replica.requests.load(), 3);
  EXPECT_EQ(replica.accepted.load(), 1) << "one pooled connection for both proxies";
}

TEST_F(Attempts, idempotent_call_is_retried_on_another_endpoint_after_a_retryable_unavailable) {
  fake::Replica failing{[](const fake::Request&) { return fake::problem(503, "unavailable", true); }};
  fake::Replica healthy;
  auto o = caller_options();
  o.clients["shop.v1.Inventory"].retry.backoff_base = 1ms;
  o.clients["shop.v1.Inventory"].outlier.consecutive_failures = 1000;  // keep both in play
  make_caller(o);
  auto inventory = caller->client<Inventory>(std::vector<std::string>{failing.url(), healthy.url()});
  caller->start();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(inventory->count({"apple"}).quantity, 42);
  EXPECT_EQ(healthy.requests.load(), 20);
  ASSERT_GT(failing.requests.load(), 0) << "the balancer never tried the failing replica";
  // The failing replica only ever saw first attempts: each retry went to the other one.
  for (const auto& a : failing.attempts_seen()) EXPECT_EQ(a, "1");
  const auto seen = healthy.attempts_seen();
  EXPECT_EQ(std::count(seen.begin(), seen.end(), "2"), failing.requests.load()) << "Pit-Attempt: 2 on each retry";
  EXPECT_EQ(metric("pit_client_attempts_total", {R"(kind="retry")", R"(code="ok")"}), failing.requests.load());
  EXPECT_EQ(lines_with({R"("msg":"attempt")", R"("attempt_kind":"retry")", R"("kind":"client")"}).size(),
            static_cast<std::size_t>(failing.requests.load()));
  EXPECT_FALSE(lines_with({R"("msg":"call")", R"("kind":"client")", R"("attempts":2)"}).empty());
}

TEST_F(Attempts, non_idempotent_call_is_not_retried_once_its_request_was_written) {
  const auto script = [](const fake::Request&) { return fake::problem(503, "unavailable", true); };
  fake::Replica a{script};
  fake::Replica b{script};
  make_caller(caller_options());
  auto inventory = caller->client<Inventory>(std::vector<std::string>{a.url(), b.url()});
  caller->start();
  auto fault = fault_of([&] { block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(fault.code(), Code::unavailable);
  EXPECT_EQ(a.requests.load() + b.requests.load(), 1) << "reserve is not idempotent: executed at most once";
  EXPECT_EQ(metric("pit_client_retries_suppressed_total", {R"(reason="not_idempotent")"}), 1);
}

TEST_F(Attempts, non_idempotent_call_is_requeued_when_the_connection_was_refused) {
  fake::Replica healthy;
  const auto refused = "http://127.0.0.1:" + std::to_string(fake::refused_port());
  auto o = caller_options();
  o.clients["shop.v1.Inventory"].balancer = pit::Balancer::round_robin;
  o.clients["shop.v1.Inventory"].outlier.consecutive_failures = 1000;
  make_caller(o);
  auto inventory = caller->client<Inventory>(std::vector<std::string>{refused, healthy.url()});
  caller->start();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(block_on(inventory->reserve({"apple", 1})).remaining, 99);
  EXPECT_EQ(healthy.requests.load(), 6) << "each call executed exactly once";
  EXPECT_GE(metric("pit_client_attempts_total", {R"(kind="requeue")", R"(code="ok")"}), 1);
  EXPECT_GE(metric("pit_client_attempts_total", {R"(kind="first")", R"(code="unavailable")"}), 1);
}

TEST_F(Attempts, deadline_exceeded_from_the_callee_is_never_retried) {
  // Even marked retryable: a callee that ran out of time says the caller's time is gone too.
  const auto script = [](const fake::Request&) { return fake::problem(504, "deadline_exceeded", true); };
  fake::Replica a{script};
  fake::Replica b{script};
  make_caller(caller_options());
  auto inventory = caller->client<Inventory>(std::vector<std::string>{a.url(), b.url()});
  caller->start();
  auto fault = fault_of([&] { inventory->count({"apple"}); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_EQ(a.requests.load() + b.requests.load(), 1);
  EXPECT_EQ(metric("pit_client_retries_suppressed_total", {R"(reason="not_retryable")"}), 1);
}

TEST_F(Attempts, retry_after_is_a_floor_for_the_wait_before_a_retry) {
  std::atomic<int> n{0};
  fake::Replica replica{[&n](const fake::Request& r) {
    return n.fetch_add(1) == 0 ? fake::problem(503, "unavailable", true, "1") : fake::ok_reply(r);
  }};
  auto o = caller_options();
  o.clients["shop.v1.Inventory"].retry.backoff_base = 1ms;
  o.clients["shop.v1.Inventory"].retry.backoff_max = 2ms;
  make_caller(o);
  auto inventory = caller->client<Inventory>(replica.url());
  caller->start();
  pit::CallerScope scope{{.timeout = 5s}};
  const auto start = pit::Clock::now();
  EXPECT_EQ(inventory->count({"apple"}).quantity, 42);
  const auto took = pit::Clock::now() - start;
  EXPECT_GE(took, 1s) << "Retry-After: 1 waits at least a second, whatever the backoff says";
  EXPECT_LT(took, 2s);
  EXPECT_EQ(replica.requests.load(), 2);
}

TEST_F(Attempts, a_retry_that_cannot_fit_the_deadline_is_not_made) {
  fake::Replica replica{[](const fake::Request&) { return fake::problem(503, "unavailable", true, "1"); }};
  make_caller(caller_options());
  auto inventory = caller->client<Inventory>(replica.url());
  caller->start();
  pit::CallerScope scope{{.timeout = 300ms}};
  const auto start = pit::Clock::now();
  auto fault = fault_of([&] { inventory->count({"apple"}); });
  EXPECT_LT(pit::Clock::now() - start, 150ms) << "the last fault at once, not a wait to the deadline";
  EXPECT_EQ(fault.code(), Code::unavailable);
  EXPECT_EQ(replica.requests.load(), 1);
  EXPECT_EQ(metric("pit_client_retries_suppressed_total", {R"(reason="deadline")"}), 1);
}

TEST_F(Attempts, the_deadline_bounds_every_attempt_and_cancels_the_one_in_flight) {
  const auto slow = [](const fake::Request& r) {
    auto reply = fake::ok_reply(r);
    reply.delay = 1s;
    return reply;
  };
  fake::Replica a{slow};
  fake::Replica b{slow};
  auto o = caller_options();
  o.clients["shop.v1.Inventory"].hedge.mode = pit::Hedge::fixed;  // two attempts in flight
  o.clients["shop.v1.Inventory"].hedge.delay = 20ms;
  make_caller(o);
  auto inventory = caller->client<Inventory>(std::vector<std::string>{a.url(), b.url()});
  caller->start();
  for (int i = 0; i < 3; ++i) {
    pit::CallerScope scope{{.timeout = 300ms}};
    const auto start = pit::Clock::now();
    auto fault = fault_of([&] { inventory->count({"apple"}); });
    const auto took = pit::Clock::now() - start;
    EXPECT_EQ(fault.code(), Code::deadline_exceeded);
    EXPECT_LT(took, 330ms);
    EXPECT_GE(took, 290ms);
  }
  // Every attempt's connection was closed at the deadline: the replicas saw each go.
  const auto deadline = pit::Clock::now() + 2s;
  while (a.abandoned + b.abandoned < a.requests + b.requests && pit::Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(a.abandoned + b.abandoned, a.requests + b.requests);
  EXPECT_EQ(a.requests + b.requests, 6) << "a first attempt and a hedge per call";
  // The time left travels with each attempt.
  for (const auto& t : a.timeouts_seen()) EXPECT_FALSE(t.empty());
}

TEST_F(Attempts, the_retry_budget_keeps_attempts_per_call_near_one_when_every_endpoint_fails) {
  const auto script = [](const fake::Request&) { return fake::problem(503, "unavailable", true); };
  fake::Replica a{script};
  fake::Replica b{script};
  fake::Replica c{script};
  auto o = caller_options();
  auto& client = o.clients["shop.v1.Inventory"];
  client.retry.max_attempts = 5;
  client.retry.backoff_base = 1ms;
  client.retry.backoff_max = 1ms;
  client.retry.budget_percent = 10.0;
  client.retry.budget_per_second = 0.1;  // one retry of reserve in the 10 s window
  make_caller(o);
  auto inventory = caller->client<Inventory>(std::vector<std::string>{a.url(), b.url(), c.url()});
  caller->start();
  constexpr int kCalls = 200;
  for (int i = 0; i < kCalls; ++i) EXPECT_EQ(fault_of([&] { inventory->count({"apple"}); }).code(), Code::unavailable);
  const int attempts = a.requests + b.requests + c.requests;
  EXPECT_LE(attempts, kCalls * 11 / 10 + 2) << "without the budget it would be " << kCalls * 5;
  EXPECT_GE(metric("pit_client_retries_suppressed_total", {R"(reason="budget")"}), kCalls - 30);
}

TEST_F(Attempts, a_hedge_wins_over_a_slow_endpoint_and_the_loser_connection_is_closed) {
  fake::Replica slow{[](const fake::Request& r) {
    auto reply = fake::ok_reply(r);
    reply.delay = 2s;
    return reply;
  }};
  fake::Replica fast;
  auto o = caller_options();
  auto& client = o.clients["shop.v1.Inventory"];
  client.balancer = pit::Balancer::round_robin;
  client.hedge.mode = pit::Hedge::fixed;
  client.hedge.delay = 30ms;
  make_caller(o);
  auto inventory = caller->client<Inventory>(std::vector<std::string>{slow.url(), fast.url()});
  caller->start();
  for (int i = 0; i < 4; ++i) {
    const auto start = pit::Clock::now();
    EXPECT_EQ(inventory->count({"apple"}).quantity, 42);
    EXPECT_LT(pit::Clock::now() - start, 500ms) << "the hedge answered, not the slow replica";
  }
  ASSERT_GE(slow.requests.load(), 1);
  EXPECT_EQ(metric("pit_client_attempts_total", {R"(kind="hedge")", R"(code="ok")"}), slow.requests.load());
  EXPECT_EQ(metric("pit_client_attempts_total", {R"(code="cancelled")"}), slow.requests.load());
  const auto deadline = pit::Clock::now() + 2s;
  while (slow.abandoned < slow.requests && pit::Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(slow.abandoned.load(), slow.requests.load()) << "each loser's connection was closed, not pooled";
}

TEST_F(Attempts, past_max_in_flight_a_call_fails_at_once_with_resource_exhausted) {
  fake::Replica replica{[](const fake::Request& r) {
    auto reply = fake::ok_reply(r);
    reply.delay = 300ms;
    return reply;
  }};
  auto o = caller_options();
  o.clients["shop.v1.Inventory"].max_in_flight = 1;
  make_caller(o);
  auto inventory = caller->client<Inventory>(replica.url());
  caller->start();
  auto first = std::async(std::launch::async, [&] { return inventory->count({"apple"}).quantity; });
  const auto until = pit::Clock::now() + 2s;
  while (replica.requests == 0 && pit::Clock::now() < until) std::this_thread::sleep_for(1ms);
  const auto start = pit::Clock::now();
  auto fault = fault_of([&] { inventory->count({"pear"}); });
  EXPECT_EQ(fault.code(), Code::resource_exhausted);
  EXPECT_LT(pit::Clock::now() - start, 100ms);
  EXPECT_EQ(first.get(), 42);
  EXPECT_EQ(replica.requests.load(), 1);
}

TEST_F(Attempts, an_ejected_endpoint_gets_no_traffic) {
  fake::Replica failing{[](const fake::Request&) { return fake::problem(503, "unavailable", false); }};
  fake::Replica healthy;
  auto o = caller_options();
  auto& client = o.clients["shop.v1.Inventory"];
  client.balancer = pit::Balancer::round_robin;
  client.outlier.consecutive_failures = 3;
  client.outlier.base_ejection = 30s;
  make_caller(o);
  auto inventory = caller->client<Inventory>(std::vector<std::string>{failing.url(), healthy.url()});
  caller->start();
  for (int i = 0; i < 30; ++i) {
    try {
      inventory->count({"apple"});
    } catch (const pit::Fault&) {
    }
  }
  EXPECT_EQ(failing.requests.load(), 3) << "ejected after three unavailable answers in a row";
  EXPECT_EQ(healthy.requests.load(), 27);
  EXPECT_EQ(metric("pit_client_endpoint_ejections_total"), 1);
}

TEST_F(Attempts, configured_endpoints_make_the_plain_client_remote) {
  fake::Replica replica;
  auto o = caller_options();
  o.clients["shop.v1.Inventory"].endpoints = {replica.url()};
  make_caller(o);
  auto inventory = caller->client<Inventory>();  // no URL: the configuration says where
  auto overridden = caller->client<Inventory>("http://127.0.0.1:1");
  caller->start();
  EXPECT_EQ(inventory->count({"apple"}).quantity, 42);
  EXPECT_EQ(overridden->count({"apple"}).quantity, 42);
  EXPECT_EQ(replica.requests.load(), 2);
}

TEST_F(Attempts, a_dns_name_becomes_the_endpoints_it_resolves_to) {
  fake::Replica replica;
  auto o = caller_options();
  o.clients["shop.v1.Inventory"].dns = "http://localhost:" + std::to_string(replica.port());
  make_caller(o);
  auto inventory = caller->client<Inventory>();
  caller->start();
  // Until the first answer arrives, calls fail `unavailable` (retryable), never hang.
  const auto until = pit::Clock::now() + 3s;
  int answered = 0;
  while (answered == 0 && pit::Clock::now() < until) {
    try {
      answered = inventory->count({"apple"}).quantity;
    } catch (const pit::Fault& f) {
      EXPECT_EQ(f.code(), Code::unavailable);
      std::this_thread::sleep_for(10ms);
    }
  }
  EXPECT_EQ(answered, 42);
  EXPECT_GE(replica.requests.load(), 1);
}

TEST_F(Attempts, invalid_client_options_stop_the_start) {
  auto o = caller_options();
  o.clients["shop.v1.Inventory"].endpoints = {"ftp://nowhere"};
  make_caller(o);
  EXPECT_THROW(caller->start(), std::invalid_argument);
  caller.reset();
  auto p = caller_options();
  p.clients["shop.v1.Inventory"].retry.budget_percent = 500;
  make_caller(p);
  EXPECT_THROW(caller->start(), std::invalid_argument);
}

// A real pit server logs which attempt of its caller's call it served.
class AttemptsToPitServer : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.http.listen = "127.0.0.1:0";
    return o;
  }
};

TEST_F(AttemptsToPitServer, the_server_call_line_names_the_attempt) {
  host->start();
  pit::HostOptions o;
  o.log_sink = logs;
  o.clients["shop.v1.Inventory"].balancer = pit::Balancer::round_robin;
  pit::Host caller{o};
  const auto refused = "http://127.0.0.1:" + std::to_string(fake::refused_port());
  const auto served = "http://127.0.0.1:" + std::to_string(host->http_port());
  auto inventory = caller.client<Inventory>(std::vector<std::string>{refused, served});
  caller.start();
  for (int i = 0; i < 2; ++i) EXPECT_EQ(block_on(inventory->reserve({"apple", 1})).remaining, 99);
  caller.stop();
  EXPECT_EQ(lines_with({R"("msg":"call")", R"("kind":"server")", R"("attempt":2)"}).size(), 1U)
      << "one of the two calls went to the refused endpoint first, then was requeued";
}

}  // namespace
}  // namespace shop
