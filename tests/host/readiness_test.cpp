// Readiness checks (Host::readiness_check): /readyz, asked over the admin listener by a real
// HTTP client, sees the service's dependencies, names the check that fails and why, stays
// bounded in time, and does not hammer the dependencies under a flood of probes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/admin_fixture.hpp"
#include "support/host_fixture.hpp"
#include "support/raw_http.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;

class Readiness : public HostWithAdminTest {
 protected:
  // GET /readyz on a fresh connection: {status, body}.
  std::pair<int, std::string> readyz() {
    rawhttp::Connection c{host->admin_port()};
    c.send("GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto all = c.read_until_closed();
    const auto status = all.size() > 12 ? std::stoi(all.substr(9, 3)) : 0;
    const auto body_at = all.find("\r\n\r\n");
    return {status, body_at == std::string::npos ? std::string{} : all.substr(body_at + 4)};
  }
  // /readyz until it answers `status` (the first run of the checks may not be over), at most 3 s.
  std::pair<int, std::string> readyz_until(int status) {
    const auto until = std::chrono::steady_clock::now() + 3s;
    auto r = readyz();
    while (r.first != status && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
      r = readyz();
    }
    return r;
  }
};

TEST_F(Readiness, readyz_is_200_and_lists_the_checks_when_every_check_passes) {
  host->readiness_check("database", [] { return true; });
  host->readiness_check("inventory", []() -> pit::Task<bool> { co_return true; });
  host->start();
  const auto [status, body] = readyz_until(200);
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body, "ready\ndatabase: ok\ninventory: ok\n");
}

TEST_F(Readiness, a_check_that_fails_throws_or_times_out_makes_readyz_503_naming_it_and_why) {
  std::atomic<bool> release{false};
  host->readiness_check("up", [] { return true; }, 100ms);
  host->readiness_check("database", [] { return false; }, 100ms);
  host->readiness_check("cache", []() -> bool { throw std::runtime_error("connection refused\nby 10.0.0.7"); }, 100ms);
  host->readiness_check("queue", []() -> pit::Task<bool> {
    throw std::runtime_error("broker gone");
    co_return true;
  }, 100ms);
  // Hangs (a sync check stuck in a blocking call) until the test lets it go.
  host->readiness_check("search", [&release] {
    for (int i = 0; i < 500 && !release.load(); ++i) std::this_thread::sleep_for(10ms);
    return true;
  }, 100ms);
  host->start();
  std::this_thread::sleep_for(200ms);  // the first run reaches the stuck check
  const auto asked = std::chrono::steady_clock::now();
  const auto [status, body] = readyz();
  const auto took = std::chrono::steady_clock::now() - asked;
  release = true;
  EXPECT_EQ(status, 503) << body;
  EXPECT_EQ(body,
            "not ready\n"
            "up: ok\n"
            "database: not ready\n"
            "cache: threw: connection refused by 10.0.0.7\n"
            "queue: threw: broker gone\n"
            "search: timed out after 100 ms\n");
  // Bounded by the longest check timeout, whatever a check does.
  EXPECT_LT(took, 1s);
  EXPECT_FALSE(lines_with({"readiness check failed", "database"}).empty());
  host->stop();  // before `release` goes: a check may be running again
}

TEST_F(Readiness, a_coroutine_check_calls_a_downstream_contract_through_a_proxy) {
  auto inventory_ref = host->client<Inventory>();
  host->readiness_check("inventory", [inventory_ref]() -> pit::Task<bool> {
    Reserve probe_call{"apple", 1};
    const Reserved r = co_await inventory_ref->reserve(probe_call);
    co_return r.remaining > 0;
  });
  host->readiness_check("missing", [inventory_ref]() -> pit::Task<bool> {
    Reserve probe_call{"missing", 1};  // the downstream answers not_found
    (void)co_await inventory_ref->reserve(probe_call);
    co_return true;
  });
  host->start();
  const auto [status, body] = readyz_until(503);
  EXPECT_EQ(status, 503) << body;
  EXPECT_NE(body.find("inventory: ok\n"), std::string::npos) << "[" << body << "]";
  EXPECT_NE(body.find("missing: threw: not_found: no such sku\n"), std::string::npos) << body;
}

TEST_F(Readiness, a_coroutine_check_slower_than_its_timeout_is_not_ready_and_readyz_answers_in_time) {
  auto inventory_ref = host->client<Inventory>();
  host->readiness_check("inventory", [inventory_ref]() -> pit::Task<bool> {
    Reserve slow{"slow", 400};  // answers after 400 ms
    (void)co_await inventory_ref->reserve(slow);
    co_return true;
  }, 100ms);
  host->start();
  const auto asked = std::chrono::steady_clock::now();
  const auto [status, body] = readyz();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 400ms);
  EXPECT_EQ(status, 503) << body;
  EXPECT_EQ(body, "not ready\ninventory: timed out after 100 ms\n");
  std::this_thread::sleep_for(400ms);  // the late call ends before the host stops
}

TEST_F(Readiness, a_flood_of_probes_runs_each_check_at_most_once_a_second) {
  std::atomic<int> runs{0};
  host->readiness_check("database", [&runs] {
    runs.fetch_add(1);
    return true;
  });
  host->start();
  (void)readyz_until(200);
  const int before = runs.load();
  const auto until = std::chrono::steady_clock::now() + 500ms;
  int probes = 0;
  while (std::chrono::steady_clock::now() < until) {
    EXPECT_EQ(readyz().first, 200);
    ++probes;
  }
  EXPECT_GT(probes, 20);
  EXPECT_LE(runs.load() - before, 1) << probes << " probes";
  host->stop();  // the checks use `runs`
}

TEST_F(Readiness, a_failed_check_that_recovers_makes_readyz_200_again) {
  std::atomic<bool> up{false};
  host->readiness_check("database", [&up] { return up.load(); });
  host->start();
  EXPECT_EQ(readyz_until(503).first, 503);
  up = true;
  const auto [status, body] = readyz_until(200);  // once the cached result is older than 1 s
  EXPECT_EQ(status, 200) << body;
  EXPECT_FALSE(lines_with({"readiness check ok again", "database"}).empty());
  host->stop();  // the check uses `up`
}

TEST_F(Readiness, without_checks_readyz_is_as_before) {
  host->start();
  EXPECT_EQ(readyz(), (std::pair<int, std::string>{200, "ready\n"}));
}

TEST_F(Readiness, a_bad_registration_fails_the_start_and_a_late_one_throws) {
  host->readiness_check("database", [] { return true; });
  host->readiness_check("database", [] { return true; });  // kept: start() throws it
  EXPECT_THROW(host->start(), std::invalid_argument);
  pit::Host other;
  other.readiness_check("zero", [] { return true; }, 0ms);
  EXPECT_THROW(other.start(), std::invalid_argument);
  pit::Host started;
  started.start();
  EXPECT_THROW(started.readiness_check("late", [] { return true; }), std::logic_error);
}

}  // namespace
}  // namespace shop
