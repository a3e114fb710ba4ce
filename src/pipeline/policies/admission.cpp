#include "pipeline/policies/admission.hpp"

#include <array>
#include <utility>

#include "context/context_access.hpp"
#include "fault/exception_mappers.hpp"
#include "executors/executors.hpp"
#include "settings/operation_settings.hpp"
#include "observability/metrics.hpp"
#include "call/call_access.hpp"

namespace pit::detail {

Limiter::Result Limiter::acquire_or_wait(Waiter& waiter) {
  std::lock_guard lock(mutex_);
  // Announce the wait before trying once more: a release() that frees a slot after this
  // sees waiting_ != 0 and hands the slot over under the lock, so no wake-up is lost.
  waiting_.fetch_add(1, std::memory_order_seq_cst);
  if (head_ == nullptr && take()) {
    waiting_.fetch_sub(1, std::memory_order_seq_cst);
    return Result::admitted;
  }
  if (size_ >= max_queue_) {
    waiting_.fetch_sub(1, std::memory_order_seq_cst);
    return Result::rejected;
  }
  waiter.prev = tail_;
  waiter.next = nullptr;
  if (tail_ != nullptr) tail_->next = &waiter;
  else head_ = &waiter;
  tail_ = &waiter;
  ++size_;
  waiter.state = Waiter::State::queued;
  return Result::queued;
}

bool Limiter::withdraw(Waiter& waiter) noexcept {
  std::lock_guard lock(mutex_);
  if (waiter.state != Waiter::State::queued) return false;
  if (waiter.prev != nullptr) waiter.prev->next = waiter.next;
  else head_ = waiter.next;
  if (waiter.next != nullptr) waiter.next->prev = waiter.prev;
  else tail_ = waiter.prev;
  --size_;
  waiting_.fetch_sub(1, std::memory_order_seq_cst);
  waiter.state = Waiter::State::withdrawn;
  return true;
}

void Limiter::release() noexcept {
  in_flight_.fetch_sub(1, std::memory_order_seq_cst);
  if (waiting_.load(std::memory_order_seq_cst) != 0) hand_over();
}

void Limiter::hand_over() {
  std::lock_guard lock(mutex_);
  while (head_ != nullptr && take()) {
    Waiter* w = head_;
    head_ = w->next;
    if (head_ != nullptr) head_->prev = nullptr;
    else tail_ = nullptr;
    --size_;
    waiting_.fetch_sub(1, std::memory_order_seq_cst);
    w->state = Waiter::State::granted;
    w->home->resume(w->handle);  // the waiter runs on its own thread, with its slot
  }
}

Limiters::Limiters(const AdmissionOptions& host)
    : host_(host.max_in_flight != 0 ? std::make_unique<Limiter>(host.max_in_flight, host.max_queue) : nullptr) {}

Limiter& Limiters::operation(std::string_view full_name, std::size_t max_in_flight, std::size_t max_queue) {
  std::lock_guard lock(mutex_);
  auto it = operations_.find(full_name);
  if (it == operations_.end()) {
    it = operations_.emplace(std::string{full_name}, std::make_unique<Limiter>(max_in_flight, max_queue)).first;
  }
  return *it->second;
}

}  // namespace pit::detail

namespace pit::policies {
namespace {

using detail::CallAccess;
using detail::Limiter;

enum class Verdict : std::uint8_t { admitted, rejected, cancelled };

// co_await Acquire: a slot of `limiter` for `call`, waiting in its queue if there is room.
// A queued call that is cancelled (deadline, caller gone, shutdown) leaves the queue at
// once; its caller has already been answered by the deadline policy.
struct Acquire {
  Limiter& limiter;
  Call& call;
  Limiter::Waiter waiter{};
  bool rejected = false;
  const Context* saved = nullptr;

  bool await_ready() noexcept { return limiter.try_acquire(); }
  bool await_suspend(std::coroutine_handle<> h) {
    saved = detail::current_context();
    waiter.handle = h;
    waiter.home = CallAccess::home(call);
    switch (limiter.acquire_or_wait(waiter)) {
      case Limiter::Result::admitted:
        return false;
      case Limiter::Result::rejected:
        rejected = true;
        return false;
      case Limiter::Result::queued:
        break;
    }
    if (call.context().cancelled() && limiter.withdraw(waiter)) return false;
    detail::ContextAccess::set_cancel_hook(call.context(), {[](void* self) {
                                                              auto* a = static_cast<Acquire*>(self);
                                                              if (a->limiter.withdraw(a->waiter)) {
                                                                a->waiter.home->resume(a->waiter.handle);
                                                              }
                                                            },
                                                            this});
    return true;
  }
  Verdict await_resume() noexcept {
    if (saved != nullptr) detail::set_current_context(saved);
    if (waiter.state == Limiter::Waiter::State::queued || waiter.state == Limiter::Waiter::State::granted) {
      detail::ContextAccess::set_cancel_hook(call.context(), {});
    }
    if (rejected) return Verdict::rejected;
    if (waiter.state == Limiter::Waiter::State::withdrawn) return Verdict::cancelled;
    return Verdict::admitted;
  }
};

// Holds a slot until the rest of the pipeline is done with the call (an abandoned call
// keeps its slot: its implementation is still running).
struct Slot {
  Limiter* limiter = nullptr;
  Slot() = default;
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;
  ~Slot() {
    if (limiter != nullptr) limiter->release();
  }
};

Outcome refusal(const Call& call, Verdict verdict, detail::OperationMetrics::Limit which) {
  if (verdict == Verdict::cancelled) return detail::cancellation_fault(call.context().cancel_reason());
  if (const auto* settings = CallAccess::settings(call); settings != nullptr && settings->metrics != nullptr) {
    settings->metrics->rejected[which].fetch_add(1, std::memory_order_relaxed);
  }
  return Fault::unavailable("the service is overloaded; retry later")
      .with(Fault::rejected)
      .with(Fault::retryable)
      .from(Fault::Origin::runtime);
}

}  // namespace

Task<Outcome> Admission::handle(Call& call, Next next) {
  const auto* settings = CallAccess::settings(call);
  // The operation's own limit first: a call waiting for its operation must not hold a
  // host-wide slot that other operations could use.
  const std::array<std::pair<Limiter*, detail::OperationMetrics::Limit>, 2> limits{{
      {settings != nullptr ? settings->limiter : nullptr, detail::OperationMetrics::operation_limit},
      {CallAccess::nested(call) ? nullptr : host_, detail::OperationMetrics::host_limit},
  }};
  std::array<Slot, 2> slots;
  for (std::size_t i = 0; i < limits.size(); ++i) {
    Limiter* limiter = limits[i].first;
    if (limiter == nullptr) continue;
    Acquire acquire{*limiter, call};
    const Verdict verdict = co_await acquire;
    if (verdict != Verdict::admitted) co_return refusal(call, verdict, limits[i].second);
    slots[i].limiter = limiter;
  }
  // Cancelled after its slot was handed over, before it ran: not dispatched.
  if (call.context().cancelled()) co_return detail::cancellation_fault(call.context().cancel_reason());
  co_return co_await next(call);
}

}  // namespace pit::policies
