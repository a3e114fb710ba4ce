#include "pipeline/policies/metrics.hpp"

#include "settings/operation_settings.hpp"
#include "observability/metrics.hpp"
#include "call/call_access.hpp"

namespace pit::policies {

Task<Outcome> Metrics::handle(Call& call, Next next) {
  Outcome outcome = co_await next(call);
  if (const auto* settings = detail::CallAccess::settings(call); settings != nullptr && settings->metrics != nullptr) {
    // The entry point stamped the start: one clock read here is the whole cost of timing.
    const auto elapsed = Clock::now() - detail::CallAccess::started(call);
    const auto transport = call.context().transport() == "inproc" ? detail::OperationMetrics::inproc
                                                                  : detail::OperationMetrics::http;
    // A sampled call may become its latency bucket's exemplar: its trace can be exported,
    // so the histogram can point at it.
    const Context& context = call.context();
    if (context.sampled()) {
      settings->metrics->record(outcome.code(), transport, elapsed, context.trace_id(), context.span_id());
    } else {
      settings->metrics->record(outcome.code(), transport, elapsed);
    }
  }
  co_return outcome;
}

}  // namespace pit::policies
