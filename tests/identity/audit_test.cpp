// The audit log (identity/audit_log): every record accepted is written once, in sequence
// order, with every field and never the token; a sink that falls behind makes calls wait
// and then refuses them (wait mode) or drops records behind a gap record (drop mode); a
// rotated file is opened again; a sink that cannot write keeps the records, turns the log
// (and /readyz) unhealthy, and recovers without losing one.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fuzz/host_access.hpp"
#include "identity/audit_log.hpp"
#include "identity/principal_access.hpp"
#include "pit/config.hpp"
#include "pit/identity.hpp"
#include "support/admin_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using pit::detail::AuditLog;
namespace fs = std::filesystem;
namespace json = boost::json;

AuditLog::Clock::time_point in(std::chrono::milliseconds ms) { return AuditLog::Clock::now() + ms; }

pit::AuditRecord decision(bool allowed = true, std::string_view reason = "allowed") {
  pit::AuditRecord r;
  r.time = std::chrono::system_clock::now();
  r.allowed = allowed;
  r.reason = reason;
  r.contract = "shop.v1.Orders";
  r.operation = "place";
  r.rule = "scope:orders.write";
  r.correlation_id = "c-1";
  return r;
}

// A sink of the test's own: keeps the lines; can be made to fail (returning false or
// throwing) or to block until released.
class TestSink final : public pit::AuditSink {
 public:
  bool write(const std::vector<std::string>& lines) override {
    std::unique_lock lock(mutex_);
    ++attempts_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return !blocked_; });
    if (fail_) {
      if (throw_) throw std::runtime_error("disk on fire");
      return false;
    }
    lines_.insert(lines_.end(), lines.begin(), lines.end());
    return true;
  }
  void block(bool on) {
    std::lock_guard lock(mutex_);
    blocked_ = on;
    changed_.notify_all();
  }
  void fail(bool on, bool by_throwing = false) {
    std::lock_guard lock(mutex_);
    fail_ = on;
    throw_ = by_throwing;
  }
  // Waits until write() was entered at least `n` times.
  bool attempted(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 5s, [&] { return attempts_ >= n; });
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool blocked_ = false;
  bool fail_ = false;
  bool throw_ = false;
  int attempts_ = 0;
  std::vector<std::string> lines_;
};

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::uint64_t seq_of(const std::string& line) { return json::parse(line).as_object().at("seq").as_int64(); }

class AuditFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("pit_audit_test_" + std::to_string(::getpid()) + "_" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    path = dir / "audit.jsonl";
  }
  void TearDown() override { fs::remove_all(dir); }
  pit::AuditOptions file_options() const {
    pit::AuditOptions o;
    o.path = path.string();
    return o;
  }
  fs::path dir;
  fs::path path;
};

TEST_F(AuditFile, every_record_is_written_once_in_sequence_order) {
  AuditLog log{file_options()};
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(log.record(decision(i % 3 != 0)));
  ASSERT_TRUE(log.flush(in(5000ms)));
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1000U);
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(seq_of(lines[i]), i + 1) << lines[i];
  EXPECT_EQ(fs::status(path).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(AuditFile, no_file_is_made_before_the_first_record) {
  AuditLog log{file_options()};
  EXPECT_TRUE(log.flush(in(1000ms)));
  EXPECT_FALSE(fs::exists(path));
}

TEST(Audit, a_record_has_every_field_and_never_the_token) {
  const std::string token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNlY3JldA";
  pit::Principal who;
  who.issuer = "https://idp.example";
  who.subject = "alice";
  who.client_id = "gateway";
  who.method = pit::AuthMethod::bearer;
  who.token_id = "jti-7";
  who.token_hash = "00112233445566778899aabbccddeeff";
  who.scopes = {"orders.write"};
  who.actors = {{"https://idp.example", "orders-svc", "orders"}, {"spiffe://shop", "gw", ""}};
  pit::detail::PrincipalAccess::set_credential(who, token);
  auto sink = std::make_shared<TestSink>();
  pit::AuditOptions o;
  o.sink = sink;
  AuditLog log{o};
  pit::AuditRecord r = decision(false, "missing_scope");
  r.time = std::chrono::system_clock::time_point{std::chrono::milliseconds{1'764'606'169'123}};
  r.rule = "scope:orders.write | role:\"admin\"";  // quotes must be escaped
  r.resource = "order 42\n";
  r.principal = &who;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  ASSERT_TRUE(log.record(r));
  ASSERT_TRUE(log.flush(in(5000ms)));
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0].find(token), std::string::npos);
  EXPECT_EQ(lines[0].find("c2lnbmF0dXJlLXNlY3JldA"), std::string::npos);  // not even its signature
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  const auto v = json::parse(lines[0]).as_object();
  EXPECT_EQ(v.at("seq").as_int64(), 1);
  EXPECT_EQ(v.at("time").as_string(), "2025-12-01T16:22:49.123Z");
  EXPECT_EQ(v.at("decision").as_string(), "deny");
  EXPECT_EQ(v.at("reason").as_string(), "missing_scope");
  EXPECT_EQ(v.at("contract").as_string(), "shop.v1.Orders");
  EXPECT_EQ(v.at("operation").as_string(), "place");
  EXPECT_EQ(v.at("rule").as_string(), "scope:orders.write | role:\"admin\"");
  EXPECT_EQ(v.at("resource").as_string(), "order 42\n");
  EXPECT_EQ(v.at("issuer").as_string(), "https://idp.example");
  EXPECT_EQ(v.at("subject").as_string(), "alice");
  EXPECT_EQ(v.at("client_id").as_string(), "gateway");
  EXPECT_EQ(v.at("auth").as_string(), "bearer");
  EXPECT_EQ(v.at("token_id").as_string(), "jti-7");
  EXPECT_EQ(v.at("token_hash").as_string(), "00112233445566778899aabbccddeeff");
  EXPECT_EQ(json::serialize(v.at("actors")),
            R"([{"sub":"orders-svc","iss":"https://idp.example","client_id":"orders"},)"
            R"({"sub":"gw","iss":"spiffe://shop","client_id":""}])");
  EXPECT_EQ(v.at("correlation_id").as_string(), "c-1");
  EXPECT_EQ(v.at("trace_id").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(v.size(), 17U) << lines[0];
}

TEST(Audit, a_record_without_a_principal_says_auth_none_with_the_same_fields) {
  auto sink = std::make_shared<TestSink>();
  pit::AuditOptions o;
  o.sink = sink;
  AuditLog log{o};
  ASSERT_TRUE(log.record(decision(false, "no_credential")));
  ASSERT_TRUE(log.flush(in(5000ms)));
  const auto v = json::parse(sink->lines().at(0)).as_object();
  EXPECT_EQ(v.at("auth").as_string(), "none");
  EXPECT_EQ(v.at("subject").as_string(), "");
  EXPECT_TRUE(v.at("actors").as_array().empty());
  EXPECT_EQ(v.size(), 17U);
}

TEST(Audit, a_user_sink_receives_the_records_and_no_file_is_written) {
  const auto cwd_file = fs::current_path() / "audit.jsonl";
  const bool existed = fs::exists(cwd_file);
  auto sink = std::make_shared<TestSink>();
  pit::AuditOptions o;
  o.sink = sink;  // replaces the default path
  AuditLog log{o};
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(log.flush(in(5000ms)));
  ASSERT_EQ(sink->lines().size(), 10U);
  EXPECT_EQ(seq_of(sink->lines()[9]), 10U);
  EXPECT_EQ(fs::exists(cwd_file), existed);
}

TEST(Audit, wait_mode_refuses_a_record_after_max_wait_when_the_sink_falls_behind) {
  auto sink = std::make_shared<TestSink>();
  sink->block(true);
  pit::AuditOptions o;
  o.sink = sink;
  o.queue = 2;
  o.max_wait = 50ms;
  AuditLog log{o};
  ASSERT_TRUE(log.record(decision()));  // taken by the writer, stuck in the sink
  ASSERT_TRUE(sink->attempted(1));
  ASSERT_TRUE(log.record(decision()));  // queued: the queue is full now
  const auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(log.record(decision()));
  const auto waited = std::chrono::steady_clock::now() - before;
  EXPECT_GE(waited, 50ms);  // it waited for room first (no upper bound: machines are slow)
  sink->block(false);
  ASSERT_TRUE(log.flush(in(5000ms)));
  ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(log.flush(in(5000ms)));
  // The refused record took no sequence number: the numbers have no hole.
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 3U);
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(seq_of(lines[i]), i + 1);
}

TEST(Audit, wait_mode_accepts_a_record_when_room_comes_within_max_wait) {
  auto sink = std::make_shared<TestSink>();
  sink->block(true);
  pit::AuditOptions o;
  o.sink = sink;
  o.queue = 1;
  o.max_wait = 10'000ms;
  AuditLog log{o};
  ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(sink->attempted(1));
  std::thread release([&] {
    std::this_thread::sleep_for(50ms);
    sink->block(false);
  });
  EXPECT_TRUE(log.record(decision()));
  release.join();
  ASSERT_TRUE(log.flush(in(5000ms)));
  EXPECT_EQ(sink->lines().size(), 2U);
}

TEST(Audit, drop_mode_drops_counts_and_writes_a_gap_record_with_the_dropped_numbers) {
  auto sink = std::make_shared<TestSink>();
  sink->block(true);
  pit::AuditOptions o;
  o.sink = sink;
  o.queue = 2;
  o.when_behind = pit::AuditOptions::WhenBehind::drop;
  pit::detail::AuditCounters counters;
  AuditLog log{o, &counters};
  ASSERT_TRUE(log.record(decision()));  // seq 1, in the sink
  ASSERT_TRUE(sink->attempted(1));
  ASSERT_TRUE(log.record(decision()));  // seq 2, queued
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(log.record(decision()));  // 3..7: dropped, not refused
  EXPECT_EQ(counters.dropped.load(), 5U);
  sink->block(false);
  ASSERT_TRUE(log.flush(in(5000ms)));
  ASSERT_TRUE(log.record(decision()));  // seq 8
  ASSERT_TRUE(log.flush(in(5000ms)));
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 4U);
  EXPECT_EQ(seq_of(lines[0]), 1U);
  EXPECT_EQ(seq_of(lines[1]), 2U);
  const auto gap = json::parse(lines[2]).as_object();
  EXPECT_EQ(gap.at("gap").as_int64(), 5);
  EXPECT_EQ(gap.at("from_seq").as_int64(), 3);
  EXPECT_EQ(gap.at("to_seq").as_int64(), 7);
  EXPECT_EQ(seq_of(lines[3]), 8U);
  EXPECT_EQ(counters.records[1].load(), 3U);  // allowed records written: gaps are not records
  EXPECT_EQ(counters.queue_depth.load(), 0);
}

TEST(Audit, a_gap_is_written_even_when_no_record_follows_it) {
  auto sink = std::make_shared<TestSink>();
  sink->block(true);
  pit::AuditOptions o;
  o.sink = sink;
  o.queue = 1;
  o.when_behind = pit::AuditOptions::WhenBehind::drop;
  AuditLog log{o};
  ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(sink->attempted(1));
  EXPECT_TRUE(log.record(decision()));  // dropped
  sink->block(false);
  ASSERT_TRUE(log.flush(in(5000ms)));
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(json::parse(lines[1]).as_object().at("from_seq").as_int64(), 2);
}

TEST_F(AuditFile, a_deleted_or_renamed_file_is_opened_again_and_later_records_land_in_the_new_one) {
  AuditLog log{file_options()};
  ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(log.flush(in(5000ms)));
  fs::remove(path);  // deleted under the writer
  ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(log.flush(in(5000ms)));
  auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1U) << "the record went to the deleted file";
  EXPECT_EQ(seq_of(lines[0]), 2U);
  fs::rename(path, dir / "audit.jsonl.1");  // logrotate
  ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(log.flush(in(5000ms)));
  lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(seq_of(lines[0]), 3U);
  ASSERT_EQ(read_lines(dir / "audit.jsonl.1").size(), 1U);
  // Renamed and a new file made in its place (logrotate's create): the new one is used.
  fs::rename(path, dir / "audit.jsonl.2");
  std::ofstream{path} << "";
  ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(log.flush(in(5000ms)));
  lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(seq_of(lines[0]), 4U);
}

TEST(Audit, a_file_that_cannot_be_written_makes_the_log_unhealthy_and_keeps_the_records) {
  pit::AuditOptions o;
  o.path = "/dev/full";  // every write: ENOSPC (root or not)
  o.queue = 3;
  o.max_wait = 20ms;
  pit::detail::AuditCounters counters;
  AuditLog log{o, &counters};
  EXPECT_TRUE(log.healthy());
  EXPECT_EQ(log.why_unhealthy(), "");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log.record(decision()));
  EXPECT_FALSE(log.flush(in(300ms)));
  EXPECT_FALSE(log.healthy());
  EXPECT_NE(log.why_unhealthy().find("cannot write /dev/full"), std::string::npos) << log.why_unhealthy();
  EXPECT_GE(counters.write_failures.load(), 2U) << "the write is retried";
  EXPECT_EQ(counters.queue_depth.load(), 3);
  EXPECT_FALSE(log.record(decision())) << "the queue is full: wait mode refuses";
  log.stop(in(0ms));  // one more try, then the records are reported lost (not silently)
}

TEST(Audit, a_sink_that_fails_then_recovers_gets_every_record_once) {
  auto sink = std::make_shared<TestSink>();
  sink->fail(true);
  pit::AuditOptions o;
  o.sink = sink;
  AuditLog log{o};
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(sink->attempted(2));
  EXPECT_FALSE(log.healthy());
  EXPECT_EQ(log.why_unhealthy(), "cannot write: the audit sink could not write");
  sink->fail(true, /*by_throwing=*/true);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log.record(decision()));
  ASSERT_TRUE(sink->attempted(4));
  EXPECT_EQ(log.why_unhealthy(), "cannot write: disk on fire");
  sink->fail(false);
  ASSERT_TRUE(log.flush(in(5000ms)));
  EXPECT_TRUE(log.healthy());
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 10U);
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(seq_of(lines[i]), i + 1);
}

TEST(Audit, concurrent_records_from_many_threads_are_each_written_once_in_each_threads_order) {
  auto sink = std::make_shared<TestSink>();
  pit::AuditOptions o;
  o.sink = sink;
  o.queue = 64;  // small: the threads also contend for room
  o.max_wait = 10'000ms;
  AuditLog log{o};
  constexpr int kThreads = 8;
  constexpr int kEach = 500;
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  std::vector<std::string> ids(kThreads);
  for (int t = 0; t < kThreads; ++t) ids[t] = "thread-" + std::to_string(t);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = decision();
        r.correlation_id = ids[t];
        if (!log.record(r)) refused.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(refused.load(), 0);
  ASSERT_TRUE(log.flush(in(10'000ms)));
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::uint64_t> seen;
  std::vector<std::uint64_t> last(kThreads, 0);
  for (const auto& line : lines) {
    const auto v = json::parse(line).as_object();
    const auto seq = static_cast<std::uint64_t>(v.at("seq").as_int64());
    EXPECT_TRUE(seen.insert(seq).second) << "seq " << seq << " twice";
    const std::string who{v.at("correlation_id").as_string()};
    const auto t = static_cast<std::size_t>(std::stoi(who.substr(7)));
    EXPECT_GT(seq, last[t]);
    last[t] = seq;
  }
  EXPECT_EQ(*seen.begin(), 1U);
  EXPECT_EQ(*seen.rbegin(), static_cast<std::uint64_t>(kThreads * kEach));
}

TEST(Audit, stop_writes_what_is_queued_and_later_records_are_refused) {
  auto sink = std::make_shared<TestSink>();
  pit::AuditOptions o;
  o.sink = sink;
  AuditLog log{o};
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log.record(decision()));
  log.stop(in(5000ms));
  EXPECT_EQ(sink->lines().size(), 100U);
  EXPECT_FALSE(log.record(decision()));
}

TEST(Audit, stop_is_bounded_by_its_deadline_when_the_sink_hangs) {
  auto sink = std::make_shared<TestSink>();
  sink->block(true);
  pit::AuditOptions o;
  o.sink = sink;
  {
    AuditLog log{o};
    ASSERT_TRUE(log.record(decision()));
    ASSERT_TRUE(sink->attempted(1));
    const auto before = std::chrono::steady_clock::now();
    log.stop(in(100ms));
    EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  }
  sink->block(false);  // the writer left behind ends now; it owns what it touches
}

TEST(Audit, invalid_options_are_refused) {
  pit::AuditOptions o;
  o.path = "";
  EXPECT_THROW(AuditLog::validate(o), std::invalid_argument);
  o.sink = std::make_shared<TestSink>();
  EXPECT_NO_THROW(AuditLog::validate(o));
  o.queue = 0;
  EXPECT_THROW(AuditLog::validate(o), std::invalid_argument);
  o.queue = 1;
  o.max_wait = -1ms;
  EXPECT_THROW(AuditLog::validate(o), std::invalid_argument);
}

TEST(Audit, the_audit_section_of_the_configuration_sets_the_options) {
  const std::map<std::string, std::string> none;
  const auto o = pit::Config::from_toml(
      "[audit]\npath = \"/var/log/shop/audit.jsonl\"\nwhen_behind = \"drop\"\nmax_wait_ms = 250\nqueue = 100\n",
      "app.toml", &none);
  EXPECT_EQ(o.audit.path, "/var/log/shop/audit.jsonl");
  EXPECT_EQ(o.audit.when_behind, pit::AuditOptions::WhenBehind::drop);
  EXPECT_EQ(o.audit.max_wait, 250ms);
  EXPECT_EQ(o.audit.queue, 100U);
  try {
    (void)pit::Config::from_toml("[audit]\nwhen_behind = \"block\"\n", "app.toml", &none);
    ADD_FAILURE() << "accepted";
  } catch (const std::exception& e) {
    EXPECT_STREQ(e.what(), "app.toml:2:15: audit.when_behind: \"block\" is not \"wait\" or \"drop\"");
  }
  EXPECT_THROW((void)pit::Config::from_toml("[audit]\npath = \"\"\n", "app.toml", &none), std::exception);
}

// Through a real host: its audit log is the one the authorization policy records into.
class AuditHost : public shop::HostWithAdminTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostWithAdminTest::options();
    o.audit.sink = sink;
    return o;
  }
  AuditLog& audit() { return *pit_fuzz::state_of(*host).audit; }
  std::pair<int, std::string> readyz() {
    rawhttp::Connection c{host->admin_port()};
    c.send("GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto all = c.read_until_closed();
    const auto status = all.size() > 12 ? std::stoi(all.substr(9, 3)) : 0;
    const auto body_at = all.find("\r\n\r\n");
    return {status, body_at == std::string::npos ? std::string{} : all.substr(body_at + 4)};
  }
  std::pair<int, std::string> readyz_until(int status) {
    const auto until = std::chrono::steady_clock::now() + 5s;
    auto r = readyz();
    while (r.first != status && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
      r = readyz();
    }
    return r;
  }
  std::shared_ptr<TestSink> sink = std::make_shared<TestSink>();
};

TEST_F(AuditHost, readyz_is_503_while_the_audit_sink_cannot_write_and_200_once_it_can) {
  host->start();
  EXPECT_EQ(readyz(), (std::pair<int, std::string>{200, "ready\n"}));
  sink->fail(true);
  ASSERT_TRUE(audit().record(decision()));
  const auto [status, body] = readyz_until(503);
  EXPECT_EQ(status, 503);
  EXPECT_EQ(body, "not ready\naudit log: cannot write: the audit sink could not write\n");
  EXPECT_GE(metric("pit_audit_write_failures_total"), 1);
  EXPECT_EQ(metric("pit_audit_queue_depth"), 1);
  EXPECT_FALSE(lines_with({"audit log cannot write", "the audit sink could not write"}).empty());
  sink->fail(false);
  EXPECT_EQ(readyz_until(200), (std::pair<int, std::string>{200, "ready\n"}));
  EXPECT_EQ(metric("pit_audit_records_total"), 1);
  EXPECT_EQ(metric("pit_audit_queue_depth"), 0);
  EXPECT_EQ(sink->lines().size(), 1U);
}

TEST_F(AuditHost, stop_writes_the_records_still_queued) {
  host->start();
  sink->block(true);
  ASSERT_TRUE(audit().record(decision()));
  ASSERT_TRUE(sink->attempted(1));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(audit().record(decision()));
  std::thread release([&] {
    std::this_thread::sleep_for(100ms);
    sink->block(false);
  });
  host->stop();
  release.join();
  EXPECT_EQ(sink->lines().size(), 21U);
}

TEST_F(AuditHost, records_the_sink_cannot_take_by_the_end_of_the_grace_period_are_logged_as_lost) {
  auto o = options();
  o.admin.listen = "";
  o.shutdown_grace = 200ms;
  pit::Host short_grace{o};
  short_grace.start();
  sink->fail(true);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pit_fuzz::state_of(short_grace).audit->record(decision()));
  ASSERT_TRUE(sink->attempted(1));
  const auto before = std::chrono::steady_clock::now();
  short_grace.stop();
  const auto took = std::chrono::steady_clock::now() - before;
  EXPECT_GE(took, 900ms) << "the audit log gets at least a second";
  EXPECT_LT(took, 10s);
  const auto lost = lines_with({"audit records not written at shutdown", "\"records\":3"});
  EXPECT_EQ(lost.size(), 1U);
}

// One I/O thread, a queue of one, a long max_wait: a call whose decision record waits for
// room (in the authorization policy, which records every call) must leave the thread free.
class AuditHostOneIoThread : public AuditHost {
 protected:
  pit::HostOptions options() override {
    auto o = AuditHost::options();
    o.io_threads = 1;
    o.audit.queue = 1;
    o.audit.max_wait = 5000ms;
    return o;
  }
};

TEST_F(AuditHostOneIoThread, record_async_waits_for_room_without_blocking_its_io_thread) {
  host->start();
  sink->block(true);
  ASSERT_TRUE(audit().record(decision()));  // in the sink, which hangs: the queue is full
  ASSERT_TRUE(sink->attempted(1));
  std::atomic<bool> reserved{false};
  std::thread caller([&] {
    try {
      (void)pit::block_on(inventory->reserve({"apple", 1}));
      reserved = true;
    } catch (const pit::Fault&) {
    }
  });
  // The admin listener is served by the same (only) I/O thread: each /metrics answer while
  // the reserve waits for room shows the thread is not blocked by that wait.
  const auto until = std::chrono::steady_clock::now() + 4s;
  long in_flight = metric("pit_calls_in_flight");
  while (in_flight != 1 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
    in_flight = metric("pit_calls_in_flight");
  }
  ASSERT_EQ(in_flight, 1) << "the reserve never started";
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(readyz().first, 200) << "the I/O thread does not answer while a record waits for room";
  EXPECT_EQ(metric("pit_calls_in_flight"), 1);
  EXPECT_FALSE(reserved.load()) << "the call went on without its audit record";
  EXPECT_EQ(probe.dispatched.load(), 0) << "dispatched before its decision was recorded";
  sink->block(false);
  caller.join();
  EXPECT_TRUE(reserved.load());
  ASSERT_TRUE(audit().flush(in(5000ms)));
  const auto lines = sink->lines();
  ASSERT_EQ(lines.size(), 2U);
  const auto record = json::parse(lines[1]).as_object();
  EXPECT_EQ(record.at("operation").as_string(), "reserve");
  EXPECT_EQ(record.at("decision").as_string(), "allow");
}

class AuditHostShortWait : public AuditHostOneIoThread {
 protected:
  pit::HostOptions options() override {
    auto o = AuditHostOneIoThread::options();
    o.audit.max_wait = 100ms;
    return o;
  }
};

TEST_F(AuditHostShortWait, record_async_refuses_after_max_wait_and_the_call_with_it) {
  host->start();
  sink->block(true);
  ASSERT_TRUE(audit().record(decision()));  // in the sink, which hangs: the queue is full
  ASSERT_TRUE(sink->attempted(1));
  const auto before = std::chrono::steady_clock::now();
  const auto fault = fault_of([&] { (void)inventory->count({"apple"}); });
  EXPECT_EQ(fault.code(), pit::Code::unavailable);
  EXPECT_EQ(fault.message(), "the audit log cannot keep up");  // the authorization policy's refusal
  EXPECT_GE(std::chrono::steady_clock::now() - before, 100ms);  // it waited for room first
  EXPECT_EQ(probe.dispatched.load(), 0);
  sink->block(false);
}

TEST_F(AuditHost, a_host_without_an_audit_path_or_sink_does_not_start) {
  auto o = options();
  o.audit.sink = nullptr;
  o.audit.path = "";
  pit::Host bad{o};
  try {
    bad.start();
    ADD_FAILURE() << "started";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string{e.what()}.find("audit.path"), std::string::npos) << e.what();
  }
}

}  // namespace
