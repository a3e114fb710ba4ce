// fault_shaping: callers see only the codes an operation declares. Any other fault from
// the implementation (or from a callee it let through) becomes `internal` with a generic
// message; its real code, message and cause go to the log at error level.
#pragma once

#include "pit/pipeline.hpp"

namespace pit::policies {

class FaultShaping final : public Policy {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "fault_shaping"; }
  Task<Outcome> handle(Call& call, Next next) override;
};

// The rule itself, for every transport's use: returns the fault the caller may see.
Fault mask_undeclared(const Call& call, Fault fault);

}  // namespace pit::policies
