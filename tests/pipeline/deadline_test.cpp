// Deadlines: every call has one; expired calls are not dispatched; at expiry the caller is
// answered promptly whatever the implementation does, and the call is cancelled.
#include <gtest/gtest.h>

#include "support/host_fixture.hpp"

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
