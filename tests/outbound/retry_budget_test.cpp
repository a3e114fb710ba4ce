// The retry budget: retries <= percent of the window's requests + per_second * window,
// exact arithmetic, ageing out, and safe under concurrent use.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "outbound/retry_budget.hpp"

using namespace std::chrono_literals;
using pit::outbound::RetryBudget;

namespace {

const RetryBudget::time_point t0 = RetryBudget::time_point{} + 1000s;

int withdraw_all(RetryBudget& budget, RetryBudget::time_point now, int at_most = 100000) {
  int n = 0;
  while (n < at_most && budget.try_withdraw(now)) ++n;
  return n;
}

}  // namespace

TEST(RetryBudget, allows_percent_of_requests_plus_per_second_times_window) {
  RetryBudget budget(20.0, 10.0, 10s);  // reserve: 10/s * 10 s = 100
  for (int i = 0; i < 1000; ++i) budget.on_request(t0);
  EXPECT_DOUBLE_EQ(budget.available(t0), 100.0 + 200.0);
  EXPECT_EQ(withdraw_all(budget, t0), 300);
  EXPECT_DOUBLE_EQ(budget.available(t0), 0.0);
  EXPECT_FALSE(budget.try_withdraw(t0));
}

TEST(RetryBudget, fractions_of_a_retry_are_kept_not_truncated) {
  RetryBudget budget(20.0, 0.0, 10s);
  for (int i = 0; i < 3; ++i) budget.on_request(t0);
  EXPECT_DOUBLE_EQ(budget.available(t0), 0.6);  // not 0
  EXPECT_FALSE(budget.try_withdraw(t0));
  budget.on_request(t0);
  budget.on_request(t0);
  EXPECT_DOUBLE_EQ(budget.available(t0), 1.0);  // 5 * 20% is one whole retry
  EXPECT_TRUE(budget.try_withdraw(t0));
  EXPECT_FALSE(budget.try_withdraw(t0));
  // 7.5%: 40 requests deposit 3 retries exactly.
  RetryBudget odd(7.5, 0.0, 10s);
  for (int i = 0; i < 40; ++i) odd.on_request(t0);
  EXPECT_EQ(withdraw_all(odd, t0), 3);
}

TEST(RetryBudget, fractional_per_second_allowance_counts_over_the_window) {
  RetryBudget budget(0.0, 0.5, 3s);  // 1.5 retries
  EXPECT_DOUBLE_EQ(budget.available(t0), 1.5);
  EXPECT_EQ(withdraw_all(budget, t0), 1);
  EXPECT_DOUBLE_EQ(budget.available(t0), 0.5);
}

TEST(RetryBudget, zero_percent_leaves_only_the_per_second_allowance) {
  RetryBudget budget(0.0, 2.0, 10s);
  for (int i = 0; i < 100000; ++i) budget.on_request(t0);
  EXPECT_EQ(withdraw_all(budget, t0), 20);
  RetryBudget none(0.0, 0.0, 10s);
  for (int i = 0; i < 100000; ++i) none.on_request(t0);
  EXPECT_FALSE(none.try_withdraw(t0));
  EXPECT_DOUBLE_EQ(none.available(t0), 0.0);
}

TEST(RetryBudget, when_every_call_fails_retries_stay_a_fraction_of_calls) {
  // Each call: one request, then retries while the budget allows (max 3 attempts).
  RetryBudget budget(20.0, 1.0, 10s);
  int calls = 0;
  int attempts = 0;
  auto now = t0;
  for (int second = 0; second < 60; ++second) {
    for (int i = 0; i < 100; ++i) {
      budget.on_request(now);
      ++calls;
      ++attempts;
      for (int retry = 0; retry < 2 && budget.try_withdraw(now); ++retry) ++attempts;
      now += 10ms;
    }
  }
  // 20% of calls + 1 per second; a little slack for the edge of the window.
  EXPECT_LE(attempts, calls + calls / 5 + 60 + 12);
  EXPECT_GE(attempts, calls + calls / 5);
}

TEST(RetryBudget, refills_after_an_idle_window) {
  RetryBudget budget(10.0, 1.0, 10s);
  for (int i = 0; i < 100; ++i) budget.on_request(t0);
  EXPECT_EQ(withdraw_all(budget, t0), 20);  // 10 + 10
  EXPECT_FALSE(budget.try_withdraw(t0 + 5s));
  // A window later the retries have aged out, and so have the requests: the reserve is back.
  EXPECT_DOUBLE_EQ(budget.available(t0 + 10s), 10.0);
  EXPECT_EQ(withdraw_all(budget, t0 + 10s), 10);
  // Long idle: the same again, however long it was.
  EXPECT_DOUBLE_EQ(budget.available(t0 + 10h), 10.0);
}

TEST(RetryBudget, old_requests_age_out_of_the_window) {
  RetryBudget budget(50.0, 0.0, 10s);
  for (int i = 0; i < 10; ++i) budget.on_request(t0);
  EXPECT_DOUBLE_EQ(budget.available(t0 + 9s), 5.0);
  EXPECT_DOUBLE_EQ(budget.available(t0 + 10s), 0.0);
  for (int i = 0; i < 4; ++i) budget.on_request(t0 + 10s);
  EXPECT_DOUBLE_EQ(budget.available(t0 + 10s), 2.0);
}

TEST(RetryBudget, refuses_settings_out_of_range) {
  EXPECT_THROW(RetryBudget(-1.0, 0.0, 10s), std::invalid_argument);
  EXPECT_THROW(RetryBudget(100.5, 0.0, 10s), std::invalid_argument);
  EXPECT_THROW(RetryBudget(10.0, -1.0, 10s), std::invalid_argument);
  EXPECT_THROW(RetryBudget(10.0, 1.0, 0ms), std::invalid_argument);
  EXPECT_NO_THROW(RetryBudget(pit::RetryOptions{}));
}

TEST(RetryBudget, concurrent_withdrawals_never_exceed_the_budget) {
  RetryBudget budget(25.0, 0.0, 10s);
  constexpr int kThreads = 4;
  constexpr int kRequests = 2000;
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRequests; ++i) {
        budget.on_request(t0);
        for (int r = 0; r < 3; ++r) {
          if (budget.try_withdraw(t0)) granted.fetch_add(1);
        }
        (void)budget.available(t0);
      }
    });
  }
  for (auto& t : threads) t.join();
  // Every withdrawal was covered when it was made; at the end no more than 25% were taken.
  EXPECT_LE(granted.load(), kThreads * kRequests / 4);
  EXPECT_GE(granted.load(), kThreads * kRequests / 4 - 1);
}
