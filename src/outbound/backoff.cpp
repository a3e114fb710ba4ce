#include "outbound/backoff.hpp"

#include <algorithm>
#include <random>

namespace pit::outbound {

using std::chrono::microseconds;

Backoff::Backoff(const RetryOptions& options) : Backoff(options.backoff_base, options.backoff_max) {}

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds max)
    : base_(std::max(base, std::chrono::milliseconds{0})), max_(std::max(max, std::chrono::milliseconds{0})) {}

microseconds Backoff::ceiling(std::size_t retry) const noexcept {
  const std::size_t doublings = retry <= 1 ? 0 : retry - 1;
  if (base_.count() == 0) return microseconds{0};
  if (base_ >= max_) return max_;
  // base * 2^doublings > max  <=>  base > max >> doublings: never shifts past the width,
  // never multiplies into an overflow.
  const auto base = static_cast<std::uint64_t>(base_.count());
  const auto max = static_cast<std::uint64_t>(max_.count());
  if (doublings >= 63 || base > (max >> doublings)) return max_;
  return microseconds{static_cast<microseconds::rep>(base << doublings)};
}

microseconds Backoff::wait(std::size_t retry, double unit, microseconds retry_after) const noexcept {
  unit = std::clamp(unit, 0.0, 1.0);
  const auto top = static_cast<double>(ceiling(retry).count());
  auto jittered = microseconds{static_cast<microseconds::rep>(top * unit)};
  jittered = std::min(jittered, ceiling(retry));  // unit == 1.0 stays within the bound
  return std::max(jittered, retry_after);
}

double random_unit() noexcept {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

Fit fits_before(std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration wait,
                std::chrono::steady_clock::time_point deadline,
                std::chrono::steady_clock::duration minimal_attempt) noexcept {
  if (deadline == std::chrono::steady_clock::time_point::max()) return Fit::fits;
  if (now >= deadline) return Fit::no_deadline_left;
  const auto left = deadline - now;  // positive
  if (wait >= left) return Fit::wait_past_deadline;
  if (left - wait < minimal_attempt) return Fit::no_room_for_attempt;
  return Fit::fits;
}

std::string_view to_string(Fit fit) noexcept {
  switch (fit) {
    case Fit::fits: return "fits";
    case Fit::no_deadline_left: return "no deadline left";
    case Fit::wait_past_deadline: return "the backoff ends past the deadline";
    case Fit::no_room_for_attempt: return "no room for an attempt after the backoff";
  }
  return "unknown";
}

}  // namespace pit::outbound
