#include "pipeline/policies/fault_injection.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>
#include <random>

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

}  // namespace pit::policies
