#include "pipeline/policies/fault_shaping.hpp"

#include "settings/operation_settings.hpp"
#include "observability/metrics.hpp"
#include "call/call_access.hpp"
#include "pit/log.hpp"

namespace pit::policies {

namespace {

// The one fault a caller gets for a failure whose record is in the log: no message of the
// original, no cause, no details, no flags but `masked`.
Fault masked_internal(const Call& call) {
  Fault masked = Fault::internal("internal error").with(Fault::masked).from(Fault::Origin::runtime);
  masked.set_correlation_id(std::string(call.context().correlation_id()));
  return masked;
}

// A callee (in-process or over HTTP) masked this fault and logged it there: passing it on
// adds no second record. Only a fault that came back from a call qualifies, so an
// implementation cannot hide its own fault by setting the flag.
bool masked_downstream(const Fault& fault) noexcept {
  return fault.has(Fault::masked) && fault.code() == Code::internal && fault.origin() == Fault::Origin::remote;
}

}  // namespace

Fault mask_undeclared(const Call& call, Fault fault) {
  if (masked_downstream(fault)) return masked_internal(call);
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
    return masked_internal(call);
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
