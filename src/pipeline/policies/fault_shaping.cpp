#include "pipeline/policies/fault_shaping.hpp"

#include "settings/operation_settings.hpp"
#include "observability/metrics.hpp"
#include "call/call_access.hpp"
#include "pit/log.hpp"

namespace pit::policies {

Fault mask_undeclared(const Call& call, Fault fault) {
  const OperationInfo& op = call.operation();
  const bool raised_by_runtime = fault.origin() == Fault::Origin::runtime;
  if (!raised_by_runtime && !op.spec.declares(fault.code())) {
    log::error("fault masked", {{"reason", "code not declared by the operation"},
                                {"original_code", to_string(fault.code())},
                                {"original_message", fault.message()},
                                {"cause", fault.cause()}});
    if (const auto* settings = detail::CallAccess::settings(call); settings != nullptr && settings->metrics != nullptr) {
      settings->metrics->masked.fetch_add(1, std::memory_order_relaxed);
    }
    Fault masked = Fault::internal("internal error").from(Fault::Origin::runtime);
    masked.set_correlation_id(std::string(call.context().correlation_id()));
    return masked;
  }
  if (!fault.cause().empty()) {
    // The cause is for the log only: it is written here and taken off the fault, so not
    // even an in-process caller can show it to anyone.
    const bool serious = fault.code() == Code::internal || fault.code() == Code::unknown ||
                         fault.code() == Code::data_loss;
    const log::Fields fields = {{"code", to_string(fault.code())}, {"cause", fault.cause()}};
    if (serious) {
      log::error("internal fault", fields);
    } else {
      log::warn("fault cause", fields);
    }
    fault.with_cause({});
  }
  fault.set_correlation_id(std::string(call.context().correlation_id()));
  return fault;
}

Task<Outcome> FaultShaping::handle(Call& call, Next next) {
  Outcome outcome = co_await next(call);
  if (outcome.ok()) co_return outcome;
  co_return Outcome{mask_undeclared(call, std::move(outcome.fault()))};
}

}  // namespace pit::policies
