#include "pipeline/policies/fault_injection.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>
#include <random>
#include <stdexcept>

#include "fault/exception_mappers.hpp"
#include "executors/executors.hpp"
#include "settings/operation_settings.hpp"
#include "observability/metrics.hpp"
#include "call/call_access.hpp"
#include "pit/asio.hpp"
#include "pit/log.hpp"

namespace pit::policies {
namespace {

bool roll(int percent) {
  if (percent >= 100) return true;
  thread_local std::minstd_rand engine{std::random_device{}()};
  return static_cast<int>(engine() % 100U) < percent;
}

}  // namespace

Task<Outcome> FaultInjection::handle(Call& call, Next next) {
  if (drills_ != nullptr) {
    if (auto armed = drills_->find(call.operation())) co_return co_await drill(call, next, *armed);
  }
  const auto* settings = detail::CallAccess::settings(call);
  if (settings == nullptr || settings->inject.percent == 0 || !roll(settings->inject.percent)) {
    co_return co_await next(call);
  }
  const detail::Injection& inject = settings->inject;
  if (settings->metrics != nullptr) settings->metrics->injected.fetch_add(1, std::memory_order_relaxed);
  log::debug("fault injected", {{"delay_ms", static_cast<std::int64_t>(inject.delay.count())},
                                {"injected_code", inject.code ? to_string(*inject.code) : "none"}});
  if (inject.delay.count() > 0) {
    // Cancellable like any wait in an operation: the deadline (or the caller leaving, or
    // shutdown) ends it.
    boost::asio::steady_timer timer{detail::CallAccess::home(call)->io(), inject.delay};
    try {
      co_await timer.async_wait(use_task);
    } catch (const boost::system::system_error&) {
    }
    if (call.context().cancelled()) co_return detail::cancellation_fault(call.context().cancel_reason());
  }
  if (inject.code) {
    // Raised as the implementation would: fault shaping passes it only if declared.
    co_return Fault{*inject.code, "injected fault"}.from(Fault::Origin::implementation);
  }
  co_return co_await next(call);
}

Task<Outcome> FaultInjection::drill(Call& call, Next next, const detail::Drill& drill) const {
  auto& io = detail::CallAccess::home(call)->io();
  if (!drill.log_line.empty()) {
    log::info(drill.log_line, {{"drill", "before a suspension"}});
    // A hop through the I/O thread's queue: the line after it is written by a resumed
    // coroutine, where only the ambient context (not the stack) can carry the call's ids.
    boost::asio::steady_timer hop{io, std::chrono::milliseconds(0)};
    try {
      co_await hop.async_wait(use_task);
    } catch (const boost::system::system_error&) {
    }
    log::info(drill.log_line, {{"drill", "after a suspension"}});
  }
  if (drill.delay.count() > 0) {
    boost::asio::steady_timer timer{io, drill.delay};
    try {
      co_await timer.async_wait(use_task);
    } catch (const boost::system::system_error&) {
    }
    if (call.context().cancelled()) co_return detail::cancellation_fault(call.context().cancel_reason());
  }
  if (!drill.exception.empty()) {
    // Thrown and mapped as the dispatch boundary maps the implementation's exceptions: the
    // host's mappers first, then `internal` with the text as the cause.
    std::exception_ptr error;
    try {
      throw std::runtime_error(drill.exception);
    } catch (...) {
      error = std::current_exception();
    }
    static const std::vector<detail::ExceptionMapper> none;
    co_return detail::to_fault(error, mappers_ != nullptr ? *mappers_ : none);
  }
  if (drill.code) co_return Fault{*drill.code, "injected fault"}.from(Fault::Origin::implementation);
  co_return co_await next(call);
}

}  // namespace pit::policies

namespace pit::detail {

void DrillBoard::arm(const OperationInfo& operation, Drill drill) {
  std::lock_guard lock{mutex_};
  operation_ = &operation;
  drill_ = std::make_shared<const Drill>(std::move(drill));
  armed_.store(true, std::memory_order_release);
}

void DrillBoard::disarm() {
  std::lock_guard lock{mutex_};
  armed_.store(false, std::memory_order_release);
  operation_ = nullptr;
  drill_.reset();
}

std::shared_ptr<const Drill> DrillBoard::find(const OperationInfo& operation) const {
  if (!armed_.load(std::memory_order_acquire)) return nullptr;
  std::lock_guard lock{mutex_};
  // By name, not address: the kit's calls and a proxy's may hold different copies of the
  // contract's operation table.
  if (operation_ == nullptr || operation_->full_name != operation.full_name) return nullptr;
  return drill_;
}

}  // namespace pit::detail
