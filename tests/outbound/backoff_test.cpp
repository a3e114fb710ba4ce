// Full-jitter backoff: bounds, overflow, the Retry-After floor, and the deadline check.
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <random>

#include "outbound/backoff.hpp"

using namespace std::chrono_literals;
using pit::outbound::Backoff;
using pit::outbound::Fit;
using pit::outbound::fits_before;

TEST(Backoff, ceiling_doubles_from_base_up_to_max) {
  Backoff b(25ms, 1000ms);
  EXPECT_EQ(b.ceiling(1), 25ms);
  EXPECT_EQ(b.ceiling(2), 50ms);
  EXPECT_EQ(b.ceiling(3), 100ms);
  EXPECT_EQ(b.ceiling(6), 800ms);
  EXPECT_EQ(b.ceiling(7), 1000ms);
  EXPECT_EQ(b.ceiling(0), 25ms);
}

TEST(Backoff, huge_retry_numbers_do_not_overflow) {
  Backoff b(25ms, 1000ms);
  for (std::size_t n : {40UL, 62UL, 63UL, 64UL, 65UL, 1000UL, std::numeric_limits<std::size_t>::max()}) {
    EXPECT_EQ(b.ceiling(n), 1000ms) << n;
    EXPECT_LE(b.wait(n, 0.999999), 1000ms) << n;
    EXPECT_GE(b.wait(n, 0.5), 0ms) << n;
  }
  Backoff big(std::chrono::milliseconds{std::numeric_limits<std::int64_t>::max() / 2000},
              std::chrono::milliseconds{std::numeric_limits<std::int64_t>::max() / 1000});
  EXPECT_GT(big.ceiling(2).count(), 0);
  EXPECT_GT(big.ceiling(100).count(), 0);
}

TEST(Backoff, jittered_waits_stay_within_zero_and_the_ceiling_and_spread_out) {
  Backoff b(25ms, 1000ms);
  std::mt19937_64 engine{42};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::size_t retry = 1; retry <= 8; ++retry) {
    const auto top = b.ceiling(retry);
    std::chrono::microseconds low = top;
    std::chrono::microseconds high{0};
    double sum = 0;
    constexpr int kSamples = 10000;
    for (int i = 0; i < kSamples; ++i) {
      const auto w = b.wait(retry, unit(engine));
      ASSERT_GE(w, 0us);
      ASSERT_LE(w, top);
      low = std::min(low, w);
      high = std::max(high, w);
      sum += static_cast<double>(w.count());
    }
    // Uniform: the samples reach both ends and average half the ceiling.
    EXPECT_LT(low.count(), top.count() / 50) << retry;
    EXPECT_GT(high.count(), top.count() * 49 / 50) << retry;
    EXPECT_NEAR(sum / kSamples, static_cast<double>(top.count()) / 2, static_cast<double>(top.count()) * 0.03) << retry;
  }
  // The edges of the unit interval, and the default random source.
  EXPECT_EQ(b.wait(1, 0.0), 0us);
  EXPECT_LE(b.wait(1, 1.0), 25ms);
  for (int i = 0; i < 1000; ++i) {
    const double u = pit::outbound::random_unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(Backoff, retry_after_is_a_floor_even_above_the_maximum) {
  Backoff b(25ms, 1000ms);
  EXPECT_EQ(b.wait(1, 0.0, 300ms), 300ms);
  EXPECT_EQ(b.wait(1, 0.99, 5ms), b.wait(1, 0.99));  // a smaller floor changes nothing
  EXPECT_EQ(b.wait(3, 0.5, 2s), 2s);
}

TEST(Backoff, a_wait_fits_only_with_room_for_a_minimal_attempt_before_the_deadline) {
  const auto now = std::chrono::steady_clock::time_point{} + 100s;
  EXPECT_EQ(fits_before(now, 10ms, now + 100ms), Fit::fits);
  EXPECT_EQ(fits_before(now, 10ms, std::chrono::steady_clock::time_point::max()), Fit::fits);
  EXPECT_EQ(fits_before(now, 10ms, now), Fit::no_deadline_left);
  EXPECT_EQ(fits_before(now, 0ms, now - 1ms), Fit::no_deadline_left);
  EXPECT_EQ(fits_before(now, 100ms, now + 100ms), Fit::wait_past_deadline);
  EXPECT_EQ(fits_before(now, 2s, now + 100ms), Fit::wait_past_deadline);
  EXPECT_EQ(fits_before(now, 96ms, now + 100ms), Fit::no_room_for_attempt);  // 4 ms left < 5 ms
  EXPECT_EQ(fits_before(now, 95ms, now + 100ms), Fit::fits);
  EXPECT_EQ(fits_before(now, 50ms, now + 100ms, 60ms), Fit::no_room_for_attempt);
  EXPECT_EQ(pit::outbound::to_string(Fit::wait_past_deadline), "the backoff ends past the deadline");
  EXPECT_EQ(pit::outbound::to_string(Fit::fits), "fits");
}
