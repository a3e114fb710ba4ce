// The standard inbound order, in one place. Each entry says why it sits where it does.
#include "pipeline/standard_order.hpp"

#include <algorithm>

#include "settings/operation_settings.hpp"
#include "pipeline/policies/access.hpp"
#include "pipeline/policies/admission.hpp"
#include "pipeline/policies/call_log.hpp"
#include "pipeline/policies/correlation.hpp"
#include "pipeline/policies/dedup.hpp"
#include "pipeline/policies/deadline.hpp"
#include "pipeline/policies/fault_injection.hpp"
#include "pipeline/policies/fault_shaping.hpp"
#include "pipeline/policies/metrics.hpp"
#include "pipeline/policies/outbound_identity.hpp"
#include "pipeline/policies/tracing.hpp"

namespace pit::detail {

bool tracing_on(const HostOptions& options) noexcept { return !options.tracing.endpoint.empty(); }

std::vector<std::unique_ptr<Policy>> standard_inbound(const HostOptions& options, Limiter* host_limiter,
                                                      Authenticator* authenticator, AuditLog* audit,
                                                      std::vector<std::unique_ptr<Policy>> user, Tracer* tracer,
                                                      bool deduplicates, durability::Store* dedup_store,
                                                      const DrillBoard* drills,
                                                      const std::vector<ExceptionMapper>* mappers) {
  std::vector<std::unique_ptr<Policy>> order;
  // 1. correlation — first, so every later policy and every log line has the call's ids.
  order.push_back(std::make_unique<policies::Correlation>());
  // 1b. tracing — right after the ids exist (the sampling decision reads the trace id) and
  //    outside everything that can fail a call, like call_log: its span ends with the
  //    outcome the caller gets. Left out when spans are not exported.
  if (tracing_on(options)) {
    order.push_back(std::make_unique<policies::Tracing>(tracer, options.tracing.sample_ratio, false));
  }
  // 2. call_log and 3. metrics — outside everything that can fail a call, so they see every
  //    outcome (rejections and deadlines included) exactly as the caller gets it.
  order.push_back(std::make_unique<policies::CallLog>(options.log_calls, "server"));
  order.push_back(std::make_unique<policies::Metrics>());
  // 4. fault_shaping — outside the deadline and everything below it, so no fault reaches
  //    the caller unshaped, whoever raised it.
  order.push_back(std::make_unique<policies::FaultShaping>());
  // 5. deadline — before admission, so time spent queueing counts against the deadline
  //    and an expired call never takes a permit or a worker.
  order.push_back(std::make_unique<policies::Deadline>(options.default_timeout));
  // 6. admission — a slot host-wide and in the operation's own limit, or a bounded wait
  //    for one, or a refusal at once. After the deadline (above) and before everything
  //    that costs work, so an overload is shed cheaply. Left out when nothing is limited.
  const bool operation_limits = std::any_of(options.operations.begin(), options.operations.end(),
                                            [](const auto& entry) { return entry.second.max_in_flight.has_value(); });
  if (host_limiter != nullptr || operation_limits) {
    order.push_back(std::make_unique<policies::Admission>(host_limiter));
  }
  // 7. authentication and 8. authorization — after admission, so a flood is refused
  //    before credentials cost CPU; inside logging, metrics and fault shaping, so refused
  //    calls are logged, counted and shaped like any other; before the user's policies,
  //    so no user code runs for a caller who may not call. Always there: access is closed
  //    by default, and every decision is audited.
  order.push_back(std::make_unique<policies::Authentication>(authenticator, audit, options.auth.plaintext_bearer));
  order.push_back(std::make_unique<policies::Authorization>(audit));
  // 9. user policies, in the order they were added — inside every standard guarantee.
  for (auto& p : user) order.push_back(std::move(p));
  // 10. deduplication — only when a served operation is deduplicated (and then a branch
  //    for the others). After identity, so keys are scoped by principal; after the user's
  //    policies, so only a call that would reach the implementation claims its key (a
  //    user policy's refusal is neither stored nor replayed); inside metrics, logging and
  //    fault shaping, so replays, 409s and 422s are counted, logged and shaped like any
  //    outcome; inside the deadline, so a claim's lease is the call's deadline; and
  //    outside fault injection, so an injected fault or delay is an outcome of the
  //    implementation to it, settled or released as the implementation's own would be.
  if (deduplicates) order.push_back(std::make_unique<policies::Deduplication>(dedup_store, options.durability.retention));
  // 11. fault_injection — only when switched on and configured, or with the conformance
  //    kit's drills; last, so what it injects meets every guarantee exactly as the
  //    implementation's own delays, faults and exceptions do.
  if (injects_faults(options) || drills != nullptr) {
    order.push_back(std::make_unique<policies::FaultInjection>(drills, mappers));
  }
  return order;
}

// The outbound order: what a call to another process goes through before it is sent.
std::vector<std::unique_ptr<Policy>> standard_outbound(const HostOptions& options, identity::TokenClient* tokens,
                                                       Tracer* tracer) {
  std::vector<std::unique_ptr<Policy>> order;
  // 1. correlation — the call gets its logical client span; each attempt gets a span of
  //    its own (the outbound terminal), whose id travels in traceparent.
  order.push_back(std::make_unique<policies::Correlation>());
  // 1b. tracing — the sampling decision the attempts' traceparent carries, and the logical
  //    CLIENT span of the call, whatever its outcome.
  if (tracing_on(options)) {
    order.push_back(std::make_unique<policies::Tracing>(tracer, options.tracing.sample_ratio, true));
  }
  // 2. call_log and metrics — one "client" line and sample per outbound call: what the
  //    remote call cost us, whatever its outcome.
  order.push_back(std::make_unique<policies::CallLog>(options.log_calls, "client"));
  order.push_back(std::make_unique<policies::Metrics>());
  // 3. deadline — the remote call is bounded like any other; at expiry it is abandoned and
  //    its connection is not reused. (Retry budgets and circuit breaking go after it.)
  order.push_back(std::make_unique<policies::Deadline>(options.default_timeout));
  // 4. outbound_identity — inside the deadline, so getting a token (an exchange at the
  //    issuer) is bounded by it too: the call carries its caller's identity onward, as
  //    configured per downstream contract, or fails loudly.
  order.push_back(std::make_unique<policies::OutboundIdentityPolicy>(tokens, options.auth.audiences));
  return order;
}

}  // namespace pit::detail
