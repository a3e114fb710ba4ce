// The retry budget of one client (Finagle's RetryBudget): retries (and requeues) may be at
// most budget_percent of the requests of the last budget_window, plus budget_per_second
// for each second of that window. So when everything fails, a call costs about one attempt
// instead of max_attempts, and a quiet client can still retry a little.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include "pit/host.hpp"

namespace pit::outbound {

class RetryBudget {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit RetryBudget(const RetryOptions& options);
  // percent in [0, 100], per_second >= 0, window > 0 (std::invalid_argument otherwise).
  RetryBudget(double percent, double per_second, std::chrono::milliseconds window);

  // A call's first attempt: deposits percent/100 of a retry.
  void on_request(time_point now);
  // A retry, requeue or hedge: true (and counted) when the budget holds at least one whole
  // retry now, false (nothing counted) otherwise.
  bool try_withdraw(time_point now);
  // Retries that may be taken now (fractional; never below zero): for a gauge.
  [[nodiscard]] double available(time_point now) const;

 private:
  // The window is cut in kSlots slots; a request or retry counts while its slot is one of
  // the last kSlots, i.e. for between window*(1-1/kSlots) and window after it happened.
  static constexpr std::int64_t kSlots = 100;
  struct Slot {
    std::int64_t index = -1;  // which slot of time it holds; stale when older than kSlots
    std::uint64_t requests = 0;
    std::uint64_t retries = 0;
  };
  [[nodiscard]] std::int64_t slot_index(time_point now) const;
  Slot& slot_at(std::int64_t index);
  [[nodiscard]] double available_locked(std::int64_t index) const;

  double percent_;
  double reserve_;  // per_second * window in seconds
  std::chrono::steady_clock::duration slot_width_;
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;
};

}  // namespace pit::outbound
