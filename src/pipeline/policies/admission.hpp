// admission: a bounded number of calls in flight, host-wide and per operation, each with a
// bounded FIFO of waiting calls. Past both, a call is refused at once (unavailable,
// rejected, retryable): overload sheds the excess instead of slowing every call down.
// It sits after the deadline policy, so waiting counts against the call's deadline and an
// expired call never takes a slot.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "pit/host.hpp"
#include "settings/operation_settings.hpp"
#include "pit/pipeline.hpp"

namespace pit::detail {

class IoThread;

// Calls in flight against a limit, and a FIFO of calls waiting for a slot. Any thread may
// acquire and release; a waiter is resumed on its own home I/O thread. The fast path
// (a slot free, nobody waiting) is one compare-and-swap; the lock is taken only to wait
// or to hand a slot to a waiter.
class Limiter {
 public:
  Limiter(std::size_t max_in_flight, std::size_t max_queue) noexcept
      : limit_(max_in_flight), max_queue_(max_queue) {}
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  struct Waiter {
    std::coroutine_handle<> handle;
    IoThread* home = nullptr;
    Waiter* next = nullptr;
    Waiter* prev = nullptr;
    enum class State : std::uint8_t { idle, queued, granted, withdrawn } state = State::idle;
  };
  enum class Result : std::uint8_t { admitted, queued, rejected };

  // A slot at once if one is free and nobody waits.
  bool try_acquire() noexcept {
    return waiting_.load(std::memory_order_seq_cst) == 0 && take();
  }
  // A slot, or a place in the queue (the waiter is resumed on `home` with a slot), or
  // neither.
  Result acquire_or_wait(Waiter& waiter);
  // Takes a queued waiter out of the queue (its call was cancelled); false if it was
  // already handed a slot.
  bool withdraw(Waiter& waiter) noexcept;
  void release() noexcept;

  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t queued() const noexcept { return waiting_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

 private:
  bool take() noexcept {
    std::size_t n = in_flight_.load(std::memory_order_seq_cst);
    while (n < limit_) {
      if (in_flight_.compare_exchange_weak(n, n + 1, std::memory_order_seq_cst)) return true;
    }
    return false;
  }
  void hand_over();

  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> waiting_{0};  // queued waiters; read without the lock by release()
  std::mutex mutex_;
  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
  std::size_t size_ = 0;  // waiters linked in the queue
  const std::size_t limit_;
  const std::size_t max_queue_;
};

// The host's limiters: one host-wide (absent when its limit is 0) and one per operation
// that configures one, created when the host resolves its operations' settings.
class Limiters {
 public:
  explicit Limiters(const AdmissionOptions& host);
  [[nodiscard]] Limiter* host() noexcept { return host_.get(); }
  // The limiter of operation `full_name` ("shop.v1.Orders/place"), made on first use.
  Limiter& operation(std::string_view full_name, std::size_t max_in_flight, std::size_t max_queue);

 private:
  std::unique_ptr<Limiter> host_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Limiter>, std::less<>> operations_;
};

// The source of per-operation limiters that resolve_settings takes: limiters->operation().
inline LimiterSource operation_limiters(Limiters* limiters) {
  if (limiters == nullptr) return {};
  return [limiters](std::string_view full_name, std::size_t max_in_flight, std::size_t max_queue) {
    return &limiters->operation(full_name, max_in_flight, max_queue);
  };
}

}  // namespace pit::detail

namespace pit::policies {

class Admission final : public Policy {
 public:
  explicit Admission(detail::Limiter* host) noexcept : host_(host) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "admission"; }
  Task<Outcome> handle(Call& call, Next next) override;

 private:
  detail::Limiter* host_;
};

}  // namespace pit::policies
