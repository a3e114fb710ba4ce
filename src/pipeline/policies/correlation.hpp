// correlation: every call has a correlation id, a trace id and its own span, and its
// context is the ambient one from here on.
#pragma once

#include "pit/pipeline.hpp"

namespace pit::policies {

class Correlation final : public Policy {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "correlation"; }
  Task<Outcome> handle(Call& call, Next next) override;
};

}  // namespace pit::policies
