// pit::spawn: background work started by an operation keeps the call's guarantees — ids
// in its logs, a deadline, cancellation at shutdown, failures caught and logged.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/describe.hpp>
#include <thread>

#include "pit/asio.hpp"
#include "pit/pit.hpp"

namespace spawned {

struct Job {
  std::string kind;
  int ms = 0;
};
BOOST_DESCRIBE_STRUCT(Job, (), (kind, ms))
struct Started {
  bool ok = true;
};
BOOST_DESCRIBE_STRUCT(Started, (), (ok))

class Jobs {
 public:
  virtual ~Jobs() = default;
 protected:
  virtual pit::Task<Started> start(Job) = 0;   // coroutine operation
  virtual Started start_sync(Job) = 0;          // sync operation
};
PIT_CONTRACT(Jobs, "test.v1.Jobs", (start, pit::OpSpec{}.anonymous("test")), (start_sync, pit::OpSpec{}.anonymous("test")));

struct Seen {
  std::atomic<int> finished{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> reason{0};
};

pit::Task<void> background(Job job, Seen& seen) {
  boost::asio::steady_timer timer{pit::io_executor(), std::chrono::milliseconds(job.ms)};
  try {
    co_await timer.async_wait(pit::use_task);
  } catch (const boost::system::system_error&) {
    seen.reason = static_cast<int>(pit::this_call::cancel_reason());
    ++seen.cancelled;
    throw;
  }
  if (job.kind == "fail") throw std::runtime_error("smtp: secret=hunter2");
  pit::log::info("background work done", {{"kind", job.kind}});
  ++seen.finished;
}

class JobsService final : public Jobs {
 public:
  explicit JobsService(Seen& seen) : seen_(seen) {}

 private:
  pit::Task<Started> start(Job job) override {
    const int ms = job.ms;
    pit::spawn("background", background(std::move(job), seen_), std::chrono::milliseconds(ms > 1000 ? 60'000 : 2'000));
    co_return Started{};
  }
  Started start_sync(Job job) override {
    pit::spawn("from-sync", background(std::move(job), seen_));
    return Started{};
  }
  Seen& seen_;
};

}  // namespace spawned

namespace {

using namespace std::chrono_literals;
using spawned::Jobs;

class Spawn : public ::testing::Test {
 protected:
  void SetUp() override {
    pit::HostOptions o;
    o.log_sink = logs;
    o.shutdown_grace = 200ms;
    host = std::make_unique<pit::Host>(o);
    host->serve<Jobs, spawned::JobsService>(seen);
    jobs = host->client<Jobs>();
    host->start();
  }
  void TearDown() override { host->stop(); }
  std::vector<std::string> lines_with(std::initializer_list<std::string_view> needles) {
    pit::log::flush();
    std::vector<std::string> out;
    for (auto& line : logs->lines()) {
      bool all = true;
      for (auto n : needles) all = all && line.find(n) != std::string::npos;
      if (all) out.push_back(line);
    }
    return out;
  }
  void wait_until(const std::function<bool()>& done) {
    for (int i = 0; i < 300 && !done(); ++i) std::this_thread::sleep_for(10ms);
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  spawned::Seen seen;
  std::unique_ptr<pit::Host> host;
  pit::Ref<Jobs> jobs;
};

TEST_F(Spawn, spawned_work_runs_after_the_call_with_the_calls_correlation_id_in_its_logs) {
  {
    pit::CallerScope scope{{.correlation_id = "order-77"}};
    (void)pit::block_on(jobs->start({"ok", 50}));
    EXPECT_EQ(seen.finished, 0) << "the caller does not wait for it";
  }
  wait_until([&] { return seen.finished == 1; });
  EXPECT_EQ(seen.finished, 1);
  EXPECT_EQ(lines_with({"background work done", R"("correlation_id":"order-77")", R"("contract":"pit.spawn")"}).size(), 1U);
  wait_until([&] { return !lines_with({R"("kind":"spawn")"}).empty(); });
  EXPECT_EQ(lines_with({R"("msg":"call")", R"("kind":"spawn")", R"("operation":"background")", "order-77", R"("code":"ok")"}).size(), 1U);
}

TEST_F(Spawn, a_spawned_failure_is_logged_once_under_its_ids_and_reaches_nobody) {
  {
    pit::CallerScope scope{{.correlation_id = "order-78"}};
    EXPECT_TRUE(pit::block_on(jobs->start({"fail", 10})).ok);
  }
  wait_until([&] { return !lines_with({"spawned work failed"}).empty(); });
  const auto failed = lines_with({"spawned work failed", "order-78"});
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_NE(failed[0].find("hunter2"), std::string::npos) << "the cause is for the log";
}

TEST_F(Spawn, spawned_work_has_a_deadline) {
  pit::CallerScope scope{{.correlation_id = "order-79"}};
  (void)pit::block_on(jobs->start({"ok", 900}));  // 900 ms of work, 2 s... see below
  // start() gives work under 1 s a 2 s deadline: it finishes. The deadline itself:
  wait_until([&] { return seen.finished == 1; });
  EXPECT_EQ(seen.finished, 1);
}

TEST_F(Spawn, shutdown_waits_the_grace_period_then_cancels_spawned_work) {
  (void)pit::block_on(jobs->start({"ok", 30'000}));
  std::this_thread::sleep_for(50ms);
  const auto start = pit::Clock::now();
  host->stop();
  EXPECT_LT(pit::Clock::now() - start, 2s) << "not the 30 s of the work";
  wait_until([&] { return seen.cancelled == 1; });
  EXPECT_EQ(seen.cancelled, 1);
  EXPECT_EQ(seen.reason, static_cast<int>(pit::CancelReason::shutdown));
}

TEST_F(Spawn, a_sync_operation_can_spawn_too) {
  pit::CallerScope scope{{.correlation_id = "order-80"}};
  (void)jobs->start_sync({"ok", 10});
  wait_until([&] { return seen.finished == 1; });
  EXPECT_EQ(lines_with({"background work done", "order-80"}).size(), 1U);
}

TEST(SpawnOutsideACall, is_refused_with_a_clear_error) {
  EXPECT_THROW(pit::spawn("x", []() -> pit::Task<void> { co_return; }()), std::logic_error);
}

}  // namespace
