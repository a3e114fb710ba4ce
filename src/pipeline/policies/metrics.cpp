#include "pipeline/policies/metrics.hpp"

#include "settings/operation_settings.hpp"
#include "observability/metrics.hpp"
#include "call/call_access.hpp"
#include "call/call_history.hpp"
#include "executors/executors.hpp"

namespace pit::policies {

Task<Outcome> Metrics::handle(Call& call, Next next) {
  Outcome outcome = co_await next(call);
  const auto* settings = detail::CallAccess::settings(call);
  if (settings == nullptr || (settings->metrics == nullptr && settings->history == nullptr)) co_return outcome;
  // The entry point stamped the start: one clock read here is the whole cost of timing.
  const auto started = detail::CallAccess::started(call);
  const auto now = Clock::now();
  if (settings->metrics != nullptr) {
    const auto transport = call.context().transport() == "inproc" ? detail::OperationMetrics::inproc
                                                                  : detail::OperationMetrics::http;
    // A sampled call may become its latency bucket's exemplar: its trace can be exported,
    // so the histogram can point at it.
    const Context& context = call.context();
    if (context.sampled()) {
      settings->metrics->record(outcome.code(), transport, now - started, context.trace_id(), context.span_id());
    } else {
      settings->metrics->record(outcome.code(), transport, now - started);
    }
  }
  // The diagnostics pages' recent and slowest calls: the pipeline resumes on the call's
  // home I/O thread, whose own ring this writes (no lock).
  if (settings->history != nullptr) {
    if (const auto* thread = detail::IoThread::current(); thread != nullptr) {
      settings->history->record(thread->index(), call.context(), started, now, outcome.code());
    }
  }
  co_return outcome;
}

}  // namespace pit::policies
