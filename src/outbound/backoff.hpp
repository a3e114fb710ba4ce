// How long to wait before retry n of a call, and whether that wait still leaves room for
// an attempt before the call's deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pit/host.hpp"

namespace pit::outbound {

// Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): retry n (1-based)
// waits uniform(0, min(max, base * 2^(n-1))), so retries of many callers spread out
// instead of arriving together.
class Backoff {
 public:
  explicit Backoff(const RetryOptions& options);
  Backoff(std::chrono::milliseconds base, std::chrono::milliseconds max);

  // min(max, base * 2^(retry-1)); retry 0 counts as 1. No overflow for any retry.
  [[nodiscard]] std::chrono::microseconds ceiling(std::size_t retry) const noexcept;
  // unit: a uniform sample in [0, 1) (see random_unit()); a callee's Retry-After is a
  // floor (it may exceed max: the deadline check decides whether it still fits).
  [[nodiscard]] std::chrono::microseconds wait(std::size_t retry, double unit,
                                               std::chrono::microseconds retry_after = {}) const noexcept;

 private:
  std::chrono::microseconds base_;
  std::chrono::microseconds max_;
};

// A uniform sample in [0, 1) from a per-thread generator (the default random source).
double random_unit() noexcept;

// The least time an attempt is worth making with: less than this left, a retry would only
// end in deadline_exceeded after costing the callee work.
inline constexpr std::chrono::milliseconds kMinimalAttempt{5};

enum class Fit : std::uint8_t {
  fits,
  no_deadline_left,     // the deadline has passed already
  wait_past_deadline,   // the wait alone ends after the deadline
  no_room_for_attempt,  // after the wait, less than a minimal attempt is left
};
// Why a retry after `wait` does (not) fit before `deadline` (time_point::max(): none).
[[nodiscard]] Fit fits_before(std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration wait,
                              std::chrono::steady_clock::time_point deadline,
                              std::chrono::steady_clock::duration minimal_attempt = kMinimalAttempt) noexcept;
// "fits", "no deadline left", ...: for logs and the suppressed-retry metric's reason.
[[nodiscard]] std::string_view to_string(Fit fit) noexcept;

}  // namespace pit::outbound
