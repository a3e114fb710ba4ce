// tracing: the call's sampling decision, and one span per sampled call, whatever its
// outcome, handed to the tracer (observability/tracer.hpp) when the call ends.
//
// Sampling is parent-based: a call with a parent (the caller's traceparent, or the call of
// this host that made it) keeps the parent's decision; a root call is sampled by its trace
// id against `sample_ratio` (OpenTelemetry's TraceIdRatioBased); a call a trusted caller
// forced (Call's force flag, set by the HTTP entry point) is sampled. An unsampled call
// records nothing and its outbound calls carry flag 00.
#pragma once

#include "observability/tracer.hpp"
#include "pit/pipeline.hpp"

namespace pit::policies {

class Tracing final : public Policy {
 public:
  // side: "inbound" (calls served here: SERVER over HTTP, INTERNAL in-process) or
  // "outbound" (calls to other processes: the logical CLIENT span). tracer: null records
  // nothing (describe_pipeline()).
  Tracing(detail::Tracer* tracer, double sample_ratio, bool outbound) noexcept
      : tracer_(tracer), sample_ratio_(sample_ratio), outbound_(outbound) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "tracing"; }
  Task<Outcome> handle(Call& call, Next next) override;

 private:
  Task<Outcome> traced(Call& call, Next next);
  detail::Tracer* tracer_;
  double sample_ratio_;
  bool outbound_;
};

// The span of a call that ended with `outcome` at `end` (kind, ids, events). Shared with
// the outbound terminal, whose attempts are spans of their own.
void fill_span(detail::SpanRecord& span, const Context& context, Clock::time_point start, Clock::time_point end,
               const Outcome& outcome);

}  // namespace pit::policies
