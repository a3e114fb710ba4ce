#include "pipeline/policies/deadline.hpp"

#include <algorithm>
#include <cstdint>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <utility>

#include "fault/exception_mappers.hpp"
#include "executors/executors.hpp"
#include "settings/operation_settings.hpp"
#include "call/call_access.hpp"
#include "pit/log.hpp"

namespace pit::policies {
namespace {

using detail::CallAccess;

Fault expired(std::string message) {
  return Fault::deadline_exceeded(std::move(message)).from(Fault::Origin::runtime);
}

// The rest of the pipeline against the clock. Everything here runs on the call's home
// thread, so the state needs no locks: whichever of "inner finished" and "timer fired"
// comes first answers the waiter, the other finds `answered` set and does nothing.
// Allocated from the thread's frame cache and counted without atomics: it is created,
// shared and released only on the home thread.
struct Race {
  std::uint32_t refs = 0;
  CallRef call;
  std::optional<Outcome> outcome;
  std::coroutine_handle<> waiter;
  std::optional<boost::asio::steady_timer> timer;
  bool answered = false;
  // run_inner's frame once it has suspended. Answered before it ends (deadline,
  // cancellation), it is nobody's any more: listed on the home thread, so that the thread
  // destroys it if it is still there when the thread stops.
  detail::DetachedRoot inner;
  detail::IoThread* home = nullptr;
  bool inner_done = false;
  Clock::time_point deadline = Clock::time_point::max();

  void answer(Outcome result) {
    if (answered) return;  // too late: the deadline already answered the caller
    answered = true;
    if (!inner_done && inner.frame && home != nullptr) home->add_root(inner);
    CallAccess::set_answer_on_cancel(*call, {});
    outcome.emplace(std::move(result));
    if (waiter) {
      if (timer) timer->cancel();
      detail::ContextScope clean(nullptr);
      std::exchange(waiter, {}).resume();
    }
  }

  static void* operator new(std::size_t size) { return detail::frame_alloc(size); }
  static void operator delete(void* p, std::size_t size) noexcept { detail::frame_free(p, size); }
};

class RacePtr {
 public:
  RacePtr() noexcept = default;
  explicit RacePtr(Race* r) noexcept : r_(r) { ++r_->refs; }
  RacePtr(const RacePtr& o) noexcept : r_(o.r_) {
    if (r_ != nullptr) ++r_->refs;
  }
  RacePtr(RacePtr&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  RacePtr& operator=(RacePtr o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  ~RacePtr() {
    if (r_ != nullptr && --r_->refs == 0) delete r_;
  }
  Race* operator->() const noexcept { return r_; }
  Race* get() const noexcept { return r_; }

 private:
  Race* r_ = nullptr;
};

// Runs the rest of the pipeline. A policy that throws (user code) does not escape: a
// pit::Fault it throws is shaped as one it returns (an undeclared code is masked), and any
// other exception becomes an internal fault, masked and logged with its cause by
// fault_shaping. (Stamping them as the runtime's own let a user policy's thrown fault
// through unmasked: the conformance kit's fault_masking check found it.)
detail::Detached run_inner(RacePtr race, Next next) {
  std::optional<Outcome> result;
  std::exception_ptr error;
  try {
    result.emplace(co_await next(*race->call));
  } catch (...) {
    error = std::current_exception();
  }
  if (error) result.emplace(detail::to_fault(error, {}));
  // An outcome that arrives after the deadline is late, whatever it is: the deadline is a
  // promise to the caller, and a reply past it is a deadline_exceeded. (Only an operation
  // that blocked its I/O thread gets here: otherwise the timer answered at the deadline.)
  if (!race->answered && Clock::now() >= race->deadline) {
    if (result->ok() || !result->fault().has(Fault::deadline)) {
      log::warn("call completed after its deadline: its I/O thread was blocked",
                {{"late_us", std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - race->deadline).count()},
                 {"discarded_code", to_string(result->code())}});
    }
    CallAccess::cancel(*race->call, CancelReason::deadline);
    result.emplace(expired("deadline exceeded"));
  }
  race->inner_done = true;
  if (race->home != nullptr) race->home->remove_root(race->inner);
  race->answer(std::move(*result));
}

struct RaceAwaiter {
  Call& call;
  Next next;
  Clock::time_point deadline;
  RacePtr race;
  const Context* saved = nullptr;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    saved = detail::current_context();
    race = RacePtr{new Race};
    call.add_ref();
    race->call = CallRef{&call};
    race->deadline = deadline;
    const auto inner = run_inner(race, next);
    if (race->answered) return false;  // finished without suspending: no timer needed
    race->inner.frame = inner.frame;    // suspended, so its frame is alive
    race->home = CallAccess::home(call);
    if (call.context().cancelled()) {  // cancelled already (e.g. shutdown): answer now
      race->answer(detail::cancellation_fault(call.context().cancel_reason()));
      return false;
    }
    race->waiter = h;
    // Cancelled for any reason (deadline, caller gone, shutdown): the caller is answered
    // now, whatever the operation still does.
    CallAccess::set_answer_on_cancel(call, {[](void* r) {
                                              auto* self = static_cast<Race*>(r);
                                              self->answer(detail::cancellation_fault(
                                                  self->call->context().cancel_reason()));
                                            },
                                            race.get()});
    auto* home = CallAccess::home(call);
    race->timer.emplace(home->io(), deadline);
    race->timer->async_wait([r = race](const boost::system::error_code& ec) {
      if (ec || r->answered) return;
      CallAccess::cancel(*r->call, CancelReason::deadline);  // answers through the hook
      r->answer(expired("deadline exceeded"));
    });
    return true;
  }
  Outcome await_resume() {
    detail::set_current_context(saved);
    return std::move(*race->outcome);
  }
};

}  // namespace

Task<Outcome> Deadline::handle(Call& call, Next next) {
  Context& context = CallAccess::context(call);
  const auto now = Clock::now();
  auto deadline = std::min(context.deadline(), now + host_default_);
  const auto* settings = CallAccess::settings(call);
  const auto own = settings != nullptr ? settings->timeout : call.operation().spec.timeout();
  if (own.count() > 0) {
    deadline = std::min(deadline, now + own);
  }
  detail::ContextAccess::set_deadline(context, deadline);
  if (deadline <= now) {
    CallAccess::cancel(call, CancelReason::deadline);
    co_return expired("deadline exceeded before the call was dispatched");
  }
  co_return co_await RaceAwaiter{call, next, deadline, {}};
}

}  // namespace pit::policies
