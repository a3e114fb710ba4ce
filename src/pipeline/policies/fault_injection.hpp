// fault_injection: delays or fails a configured share of an operation's calls, as if its
// implementation had (docs/reliability.md). Present only when HostOptions::fault_injection
// is on and some operation sets inject_percent: off, it is not in the pipeline at all.
// It sits right before dispatch, inside every guarantee: the deadline bounds an injected
// delay, and fault shaping passes an injected code only if the operation declares it.
#pragma once

#include "pit/pipeline.hpp"

namespace pit::policies {

class FaultInjection final : public Policy {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "fault_injection"; }
  Task<Outcome> handle(Call& call, Next next) override;
};

}  // namespace pit::policies
