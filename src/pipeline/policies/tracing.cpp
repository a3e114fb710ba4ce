#include "pipeline/policies/tracing.hpp"

#include <cstring>

#include "call/call_access.hpp"

namespace pit::policies {

void fill_span(detail::SpanRecord& span, const Context& context, Clock::time_point start, Clock::time_point end,
               const Outcome& outcome) {
  const auto trace = context.trace_id();
  const auto own = context.span_id();
  const auto parent = context.parent_span_id();
  std::memcpy(span.trace_id.data(), trace.data(), std::min(trace.size(), span.trace_id.size()));
  std::memcpy(span.span_id.data(), own.data(), std::min(own.size(), span.span_id.size()));
  span.has_parent = parent.size() == span.parent_span_id.size();
  if (span.has_parent) std::memcpy(span.parent_span_id.data(), parent.data(), parent.size());
  span.contract = context.contract();
  span.operation = context.operation();
  span.start = start;
  span.end = end;
  span.code = outcome.code();
  // The correlation id is copied only when it is not the trace id (a caller's X-Request-Id).
  if (const auto correlation = context.correlation_id(); correlation != trace) span.correlation_id = correlation;
  const CancelReason reason = context.cancel_reason();
  if (reason == CancelReason::deadline || outcome.code() == Code::deadline_exceeded) {
    const auto deadline = context.deadline();
    span.add_event({detail::SpanEvent::Kind::deadline_expired,
                    deadline != Clock::time_point::max() && deadline < end ? deadline : end});
  } else if (reason != CancelReason::none) {
    span.add_event({detail::SpanEvent::Kind::cancelled, end, reason});
  }
  if (!outcome.ok() && outcome.fault().has(Fault::masked)) {
    span.add_event({detail::SpanEvent::Kind::fault_masked, end, CancelReason::none, outcome.code()});
  }
}

Task<Outcome> Tracing::handle(Call& call, Next next) {
  Context& context = detail::CallAccess::context(call);
  bool sampled = context.parent_span_id().empty() ? detail::sampled_by_ratio(context.trace_id(), sample_ratio_)
                                                   : context.sampled();
  if (detail::CallAccess::force_trace(call)) sampled = true;
  detail::ContextAccess::set_sampled(context, sampled);
  // Not sampled: no frame, no clock read, nothing recorded.
  return sampled && tracer_ != nullptr ? traced(call, next) : next(call);
}

Task<Outcome> Tracing::traced(Call& call, Next next) {
  Outcome outcome = co_await next(call);
  const Context& context = call.context();
  detail::SpanRecord span;
  fill_span(span, context, detail::CallAccess::started(call), Clock::now(), outcome);
  span.kind = outbound_                          ? detail::SpanKind::client
              : context.transport() == "inproc" ? detail::SpanKind::internal
                                                 : detail::SpanKind::server;
  span.attempt = detail::CallAccess::attempts(call);
  tracer_->record(std::move(span));
  co_return outcome;
}

}  // namespace pit::policies
