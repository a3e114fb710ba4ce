// DnsWatcher: follows the answer, keeps the last good set on a bad one, retries a name that
// does not resolve at start, limits its rate, and stops without leaving a timer behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "outbound/dns.hpp"
#include "pit/log.hpp"

using namespace std::chrono_literals;
using pit::outbound::DnsWatcher;
using pit::outbound::EndpointSet;
using pit::outbound::parse_url;

namespace {

// Answers with whatever the test set last, counting the questions.
struct FakeDns {
  std::mutex mutex;
  std::vector<std::string> addresses;
  std::string error;
  int questions = 0;
  bool hold = false;  // keep the answer (to give it later)
  DnsWatcher::Answer held;

  void set(std::vector<std::string> a, std::string e = {}) {
    std::lock_guard lock(mutex);
    addresses = std::move(a);
    error = std::move(e);
  }
  int asked() {
    std::lock_guard lock(mutex);
    return questions;
  }
  DnsWatcher::Resolver resolver() {
    return [this](const std::string& host, const std::string& port, DnsWatcher::Answer answer) {
      EXPECT_EQ(host, "inventory.internal");
      EXPECT_EQ(port, "8081");
      std::vector<std::string> a;
      std::string e;
      {
        std::lock_guard lock(mutex);
        ++questions;
        if (hold) {
          held = std::move(answer);
          return;
        }
        a = addresses;
        e = error;
      }
      answer(std::move(a), std::move(e));
    };
  }
};

std::vector<std::string> keys(const EndpointSet& set) {
  std::vector<std::string> out;
  for (const auto& e : set.endpoints()) out.push_back(e->url().key());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs the io_context until `done` or the time is up.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 3s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    io.restart();
    io.run_for(5ms);
  }
  return true;
}

DnsWatcher::Options options(std::chrono::milliseconds interval, std::chrono::milliseconds min_gap = 20ms) {
  DnsWatcher::Options o;
  o.name = parse_url("https://inventory.internal:8081");
  o.interval = interval;
  o.min_gap = min_gap;
  o.contract = "shop.v1.Inventory";
  return o;
}

struct Logs {
  std::shared_ptr<pit::log::MemorySink> sink = std::make_shared<pit::log::MemorySink>();
  Logs() { pit::log::configure(sink, pit::log::Level::info); }
  ~Logs() { pit::log::configure(pit::log::discard_sink(), pit::log::Level::info); }
  int count(std::string_view text) {
    pit::log::flush();
    const auto lines = sink->lines();
    return static_cast<int>(std::count_if(lines.begin(), lines.end(),
                                          [&](const std::string& l) { return l.find(text) != std::string::npos; }));
  }
};

}  // namespace

TEST(DnsWatcher, every_address_becomes_an_endpoint_that_keeps_the_name_for_host_and_tls) {
  const auto name = parse_url("https://inventory.internal:8081");
  const auto eps = DnsWatcher::endpoints_of(name, {"10.0.0.3", "fd00::7"});
  ASSERT_EQ(eps.size(), 2U);
  EXPECT_TRUE(eps[0].tls);
  EXPECT_EQ(eps[0].host, "10.0.0.3");
  EXPECT_EQ(eps[0].port, "8081");
  EXPECT_EQ(eps[0].authority, "inventory.internal:8081");
  EXPECT_EQ(eps[0].server_name, "inventory.internal");
  EXPECT_EQ(eps[0].base, "https://inventory.internal:8081 (10.0.0.3:8081)");
  EXPECT_EQ(eps[1].host, "fd00::7");
  EXPECT_EQ(eps[1].base, "https://inventory.internal:8081 ([fd00::7]:8081)");
  EXPECT_EQ(eps[1].key(), "fd00::7:8081");
}

TEST(DnsWatcher, follows_a_changed_answer_and_keeps_the_endpoints_that_stay) {
  boost::asio::io_context io;
  FakeDns dns;
  dns.set({"10.0.0.1", "10.0.0.2"});
  auto set = std::make_shared<EndpointSet>(pit::Balancer::p2c, pit::OutlierOptions{});
  auto watcher = DnsWatcher::start(io.get_executor(), options(30ms), set, dns.resolver());
  ASSERT_TRUE(run_until(io, [&] { return set->size() == 2; }));
  EXPECT_EQ(keys(*set), (std::vector<std::string>{"10.0.0.1:8081", "10.0.0.2:8081"}));
  std::shared_ptr<pit::outbound::Endpoint> two;
  for (auto& e : set->endpoints()) {
    if (e->url().host == "10.0.0.2") two = e;
  }
  dns.set({"10.0.0.3", "10.0.0.2"});
  ASSERT_TRUE(run_until(io, [&] { return keys(*set) == std::vector<std::string>{"10.0.0.2:8081", "10.0.0.3:8081"}; }));
  for (auto& e : set->endpoints()) {
    if (e->url().host == "10.0.0.2") {
      EXPECT_EQ(e, two) << "an endpoint that stays keeps its state";
    }
  }
  watcher->stop();
}

TEST(DnsWatcher, an_empty_or_failed_answer_keeps_the_last_good_set_and_warns_once) {
  Logs logs;
  boost::asio::io_context io;
  FakeDns dns;
  dns.set({"10.0.0.1"});
  auto set = std::make_shared<EndpointSet>(pit::Balancer::p2c, pit::OutlierOptions{});
  auto watcher = DnsWatcher::start(io.get_executor(), options(10ms, 5ms), set, dns.resolver());
  ASSERT_TRUE(run_until(io, [&] { return set->size() == 1; }));
  dns.set({});
  auto answers = watcher->answers();
  ASSERT_TRUE(run_until(io, [&] { return watcher->answers() >= answers + 5; }));
  EXPECT_EQ(keys(*set), std::vector<std::string>{"10.0.0.1:8081"});
  dns.set({}, "Host not found (authoritative)");
  answers = watcher->answers();
  ASSERT_TRUE(run_until(io, [&] { return watcher->answers() >= answers + 5; }));
  EXPECT_EQ(keys(*set), std::vector<std::string>{"10.0.0.1:8081"});
  // One warning per change of the problem, not one per answer.
  EXPECT_EQ(logs.count("the last good endpoints stay"), 2);
  EXPECT_EQ(logs.count("no address"), 1);
  EXPECT_EQ(logs.count("Host not found"), 1);
  watcher->stop();
}

TEST(DnsWatcher, a_name_that_does_not_resolve_at_start_is_retried_until_it_does) {
  Logs logs;
  boost::asio::io_context io;
  FakeDns dns;
  dns.set({}, "Name or service not known");
  auto set = std::make_shared<EndpointSet>(pit::Balancer::p2c, pit::OutlierOptions{});
  // A long interval: the retries come from the empty set, every min_gap.
  auto watcher = DnsWatcher::start(io.get_executor(), options(60s, 20ms), set, dns.resolver());
  ASSERT_TRUE(run_until(io, [&] { return dns.asked() >= 3; }));
  EXPECT_TRUE(set->empty());
  EXPECT_EQ(set->pick(std::chrono::steady_clock::now()), nullptr);  // callers fail unavailable
  EXPECT_EQ(logs.count("does not resolve"), 1);
  dns.set({"10.0.0.9"});
  ASSERT_TRUE(run_until(io, [&] { return set->size() == 1; }));
  // Resolved: back to the interval, no more questions for now.
  const int asked = dns.asked();
  io.restart();
  io.run_for(100ms);
  EXPECT_EQ(dns.asked(), asked);
  watcher->stop();
}

TEST(DnsWatcher, resolve_soon_is_rate_limited) {
  boost::asio::io_context io;
  FakeDns dns;
  dns.set({"10.0.0.1"});
  auto set = std::make_shared<EndpointSet>(pit::Balancer::p2c, pit::OutlierOptions{});
  auto watcher = DnsWatcher::start(io.get_executor(), options(60s, 100ms), set, dns.resolver());
  ASSERT_TRUE(run_until(io, [&] { return set->size() == 1; }));
  EXPECT_EQ(dns.asked(), 1);
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < 450ms) {
    for (int i = 0; i < 10; ++i) watcher->resolve_soon();
    io.restart();
    io.run_for(5ms);
  }
  // At most one per 100 ms however often asked (~4 in 450 ms), and asking does help.
  EXPECT_GE(dns.asked(), 2);
  EXPECT_LE(dns.asked(), 6);
  watcher->stop();
}

TEST(DnsWatcher, stop_leaves_no_timer_and_ignores_a_late_answer) {
  boost::asio::io_context io;
  FakeDns dns;
  dns.set({"10.0.0.1"});
  auto set = std::make_shared<EndpointSet>(pit::Balancer::p2c, pit::OutlierOptions{});
  auto watcher = DnsWatcher::start(io.get_executor(), options(10ms), set, dns.resolver());
  ASSERT_TRUE(run_until(io, [&] { return dns.asked() >= 2; }));
  {
    std::lock_guard lock(dns.mutex);
    dns.hold = true;
  }
  ASSERT_TRUE(run_until(io, [&] {
    std::lock_guard lock(dns.mutex);
    return static_cast<bool>(dns.held);
  }));
  watcher->stop();
  watcher->stop();  // idempotent
  // Nothing is left to run: run() returns at once instead of waiting on a timer.
  io.restart();
  const auto before = std::chrono::steady_clock::now();
  io.run();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
  DnsWatcher::Answer late;
  {
    std::lock_guard lock(dns.mutex);
    late = std::move(dns.held);
  }
  late({"10.0.0.2"}, {});
  EXPECT_EQ(keys(*set), std::vector<std::string>{"10.0.0.1:8081"});
  watcher->resolve_soon();  // after stop: nothing
  io.restart();
  io.run();
  EXPECT_EQ(keys(*set), std::vector<std::string>{"10.0.0.1:8081"});
}

TEST(DnsWatcher, the_default_resolver_resolves_localhost) {
  boost::asio::io_context io;
  auto set = std::make_shared<EndpointSet>(pit::Balancer::p2c, pit::OutlierOptions{});
  auto o = options(60s);
  o.name = parse_url("http://localhost:8081");
  auto watcher = DnsWatcher::start(io.get_executor(), o, set);
  ASSERT_TRUE(run_until(io, [&] { return !set->empty(); }, 10s));
  for (const auto& e : set->endpoints()) {
    EXPECT_TRUE(e->url().host == "127.0.0.1" || e->url().host == "::1") << e->url().host;
    EXPECT_EQ(e->url().authority, "localhost:8081");
  }
  watcher->stop();
  io.restart();
  io.run();  // returns: the watcher left nothing behind
}
