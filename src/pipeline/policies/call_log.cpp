#include "pipeline/policies/call_log.hpp"

#include "settings/operation_settings.hpp"
#include "observability/log_format.hpp"
#include "call/call_access.hpp"

namespace pit::policies {

// Switched off, the policy costs nothing: no frame, no clock reads.
Task<Outcome> CallLog::handle(Call& call, Next next) {
  const auto* settings = detail::CallAccess::settings(call);
  const bool on = settings != nullptr ? settings->log_calls : enabled_;
  return on ? logged(call, next) : next(call);
}

Task<Outcome> CallLog::logged(Call& call, Next next) {
  const auto start = Clock::now();
  // The time the caller gave this call (inherited or from the wire), before this host's
  // own timeouts apply: across hops it shows a deadline shrinking.
  const auto caller_deadline = call.context().deadline();
  const std::int64_t budget_ms =
      caller_deadline == Clock::time_point::max()
          ? -1
          : std::chrono::duration_cast<std::chrono::milliseconds>(caller_deadline - start).count();
  Outcome outcome = co_await next(call);
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  detail::write_call_line(call.context(), kind_, elapsed, budget_ms, outcome, detail::CallAccess::attempts(call));
  co_return outcome;
}

}  // namespace pit::policies
