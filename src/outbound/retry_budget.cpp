#include "outbound/retry_budget.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace pit::outbound {

RetryBudget::RetryBudget(const RetryOptions& options)
    : RetryBudget(options.budget_percent, options.budget_per_second, options.budget_window) {}

RetryBudget::RetryBudget(double percent, double per_second, std::chrono::milliseconds window)
    : percent_(percent), slots_(static_cast<std::size_t>(kSlots)) {
  if (!(percent >= 0 && percent <= 100)) {
    throw std::invalid_argument("pit: retry budget percent must be within 0..100, not " + std::to_string(percent));
  }
  if (!(per_second >= 0) || !std::isfinite(per_second)) {
    throw std::invalid_argument("pit: retry budget per second must be 0 or more, not " + std::to_string(per_second));
  }
  if (window.count() <= 0) throw std::invalid_argument("pit: retry budget window must be positive");
  reserve_ = per_second * std::chrono::duration<double>(window).count();
  slot_width_ = std::max<std::chrono::steady_clock::duration>(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(window) / kSlots,
      std::chrono::steady_clock::duration{1});
}

std::int64_t RetryBudget::slot_index(time_point now) const {
  // Floor division: a fake clock may start before the epoch.
  const auto ticks = now.time_since_epoch().count();
  const auto width = slot_width_.count();
  auto q = ticks / width;
  if (ticks % width != 0 && ticks < 0) --q;
  return q;
}

RetryBudget::Slot& RetryBudget::slot_at(std::int64_t index) {
  const auto position = static_cast<std::size_t>(((index % kSlots) + kSlots) % kSlots);
  Slot& slot = slots_[position];
  if (slot.index != index) slot = Slot{index, 0, 0};  // what it held has aged out
  return slot;
}

double RetryBudget::available_locked(std::int64_t index) const {
  std::uint64_t requests = 0;
  std::uint64_t retries = 0;
  for (const Slot& slot : slots_) {
    // Only the last kSlots slots count; a slot from the future (a clock that went back in
    // a test) counts too rather than being lost.
    if (slot.index > index - kSlots) {
      requests += slot.requests;
      retries += slot.retries;
    }
  }
  // percent * requests / 100, in this order: exact for whole percents (20% of 5 is 1, not
  // 0.99999...).
  const double deposits = percent_ * static_cast<double>(requests) / 100.0;
  return reserve_ + deposits - static_cast<double>(retries);
}

void RetryBudget::on_request(time_point now) {
  const auto index = slot_index(now);
  std::lock_guard lock(mutex_);
  ++slot_at(index).requests;
}

bool RetryBudget::try_withdraw(time_point now) {
  const auto index = slot_index(now);
  std::lock_guard lock(mutex_);
  // A tiny tolerance for sums of fractional percents (0.1 * 10 requests).
  if (available_locked(index) < 1.0 - 1e-9) return false;
  ++slot_at(index).retries;
  return true;
}

double RetryBudget::available(time_point now) const {
  const auto index = slot_index(now);
  std::lock_guard lock(mutex_);
  return std::max(0.0, available_locked(index));
}

}  // namespace pit::outbound
