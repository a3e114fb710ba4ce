// Deadlines: every call has one; expired calls are not dispatched; at expiry the caller is
// answered promptly whatever the implementation does, and the call is cancelled.
#include <gtest/gtest.h>

#include "support/admin_fixture.hpp"
#include "support/host_fixture.hpp"
#include "support/raw_http.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;
using pit::block_on;
using pit::Code;

class Deadlines : public HostTest {
 protected:
  template <class F>
  static std::chrono::milliseconds time_of(F&& f) {
    const auto start = pit::Clock::now();
    f();
    return std::chrono::duration_cast<std::chrono::milliseconds>(pit::Clock::now() - start);
  }
  void wait_for(const std::atomic<bool>& flag) {
    for (int i = 0; i < 2000 && !flag.load(); ++i) std::this_thread::sleep_for(1ms);
  }
};

TEST_F(Deadlines, expired_call_is_not_dispatched) {
  host->start();
  pit::CallerScope scope{{.timeout = 1ms}};
  std::this_thread::sleep_for(5ms);
  auto fault = fault_of([&] { block_on(inventory->reserve({"apple", 1})); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_TRUE(fault.has(pit::Fault::deadline));
  EXPECT_EQ(probe.dispatched, 0);
  auto sync_fault = fault_of([&] { (void)inventory->count({"apple"}); });
  EXPECT_EQ(sync_fault.code(), Code::deadline_exceeded);
  EXPECT_EQ(probe.dispatched, 0);
}

TEST_F(Deadlines, caller_gets_deadline_exceeded_promptly_and_the_pending_timer_is_cancelled) {
  host->start();
  pit::CallerScope scope{{.timeout = 100ms}};
  pit::Fault fault = pit::Fault::unknown("none");
  auto took = time_of([&] { fault = fault_of([&] { block_on(inventory->reserve({"slow", 5000})); }); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_GE(took, 95ms);
  EXPECT_LT(took, 400ms) << "answered at the deadline, not when the operation ends";
  wait_for(probe.timer_cancelled);
  EXPECT_TRUE(probe.timer_cancelled) << "the operation's Asio timer wait was cancelled";
  EXPECT_EQ(probe.cancel_reason, static_cast<int>(pit::CancelReason::deadline));
}

TEST_F(Deadlines, sync_operation_that_ignores_cancellation_still_answers_at_the_deadline) {
  host->start();
  pit::CallerScope scope{{.timeout = 50ms}};
  pit::Fault fault = pit::Fault::unknown("none");
  auto took = time_of([&] { fault = fault_of([&] { (void)inventory->count({"stubborn"}); }); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_LT(took, 250ms) << "the operation sleeps 300 ms; the caller must not wait for it";
  wait_for(probe.saw_cancel);
  EXPECT_TRUE(probe.saw_cancel) << "pit::this_call::cancelled() turned true on the worker";
  EXPECT_EQ(probe.cancel_reason, static_cast<int>(pit::CancelReason::deadline));
}

TEST_F(Deadlines, sync_operation_polling_cancellation_stops_at_the_deadline) {
  host->start();
  pit::CallerScope scope{{.timeout = 30ms}};
  auto fault = fault_of([&] { (void)inventory->count({"polite"}); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  wait_for(probe.saw_cancel);
  EXPECT_TRUE(probe.saw_cancel);
}

TEST_F(Deadlines, a_reply_that_completes_after_the_deadline_is_deadline_exceeded) {
  host->start();
  pit::CallerScope scope{{.correlation_id = "late-1", .timeout = 50ms}};
  // The operation blocks its I/O thread for 200 ms, so the deadline's timer cannot fire;
  // its success arrives 150 ms late and must not reach the caller as a success.
  auto fault = fault_of([&] { block_on(inventory->reserve({"blocker", 200})); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_TRUE(fault.has(pit::Fault::deadline));
  EXPECT_EQ(lines_with({"completed after its deadline", "late-1", R"("discarded_code":"ok")"}).size(), 1U);
  EXPECT_EQ(lines_with({R"("msg":"call")", "late-1", R"("code":"deadline_exceeded")", R"("kind":"server")"}).size(), 1U)
      << "the call line says what the caller got";
}

TEST_F(Deadlines, a_late_fault_is_deadline_exceeded_too) {
  host->start();
  pit::CallerScope scope{{.timeout = 30ms}};
  // Blocks its thread past the deadline, then fails: what the caller sees is the deadline.
  auto fault = fault_of([&] { block_on(orders->place(shop::PlaceOrder{{{"blocker", 120}, {"missing", 1}}, ""})); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
}

TEST_F(Deadlines, operation_timeout_bounds_a_call_whose_caller_set_none) {
  host->start();
  // place declares a 2 s timeout; the reserve inside it would take 5 s.
  pit::Fault fault = pit::Fault::unknown("none");
  auto took = time_of([&] { fault = fault_of([&] { block_on(orders->place(shop::PlaceOrder{{{"slow", 5000}}, ""})); }); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_GE(took, 1900ms);
  EXPECT_LT(took, 2500ms);
}

class ShortDefault : public Deadlines {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.default_timeout = 80ms;
    return o;
  }
};

TEST_F(ShortDefault, host_default_bounds_every_call) {
  host->start();
  pit::Fault fault = pit::Fault::unknown("none");
  auto took = time_of([&] { fault = fault_of([&] { block_on(inventory->reserve({"slow", 5000})); }); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_LT(took, 400ms);
}

TEST_F(Deadlines, deadline_fault_of_a_nested_call_passes_through_undeclared) {
  host->start();
  pit::CallerScope scope{{.timeout = 60ms}};
  auto fault = fault_of([&] { block_on(orders->place(shop::PlaceOrder{{{"slow", 5000}}, ""})); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_EQ(lines_with({"fault masked"}).size(), 0U);
}

}  // namespace
}  // namespace shop

namespace shop {
namespace {

TEST_F(Deadlines, what_an_operation_throws_after_its_cancellation_is_not_masked_as_internal) {
  host->start();
  pit::CallerScope scope{{.timeout = std::chrono::milliseconds(50)}};
  (void)fault_of([&] { pit::block_on(inventory->reserve({"slow", 5000})); });
  wait_for(probe.timer_cancelled);
  pit::log::flush();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(lines_with({"fault masked"}).empty()) << "the aborted timer wait is the cancellation";
}

}  // namespace
}  // namespace shop

namespace shop {
namespace {

class StallWatch : public HostWithAdminTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostWithAdminTest::options();
    o.io_threads = 1;
    o.io_stall_threshold = 100ms;
    return o;
  }
};

TEST_F(StallWatch, a_blocked_io_thread_is_logged_once_with_the_blocking_calls_ids_and_counted) {
  host->start();
  {
    pit::CallerScope scope{{.correlation_id = "blocks-the-loop", .timeout = 5s}};
    block_on(inventory->reserve({"blocker", 600}));  // within its deadline: a success
  }
  std::vector<std::string> stalls;
  for (int i = 0; i < 100 && stalls.empty(); ++i) {
    stalls = lines_with({"I/O thread blocked"});
    if (stalls.empty()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(stalls.size(), 1U) << "one episode, one line";
  EXPECT_NE(stalls[0].find(R"("correlation_id":"blocks-the-loop")"), std::string::npos) << stalls[0];
  EXPECT_NE(stalls[0].find(R"("operation":"shop.v1.Inventory/reserve")"), std::string::npos) << stalls[0];
  EXPECT_EQ(metric("pit_io_thread_stalls_total"), 1);
}

TEST_F(StallWatch, a_thread_that_yields_is_never_reported) {
  host->start();
  pit::CallerScope scope{{.timeout = 5s}};
  block_on(inventory->reserve({"slow", 400}));  // waits on a timer: the loop stays free
  EXPECT_TRUE(lines_with({"I/O thread blocked"}).empty());
}

}  // namespace
}  // namespace shop
