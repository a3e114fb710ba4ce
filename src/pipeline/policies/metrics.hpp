// metrics: counts every call by operation, outcome code and transport, and records its
// latency, with relaxed atomics on per-operation counters (no lock, no allocation).
#pragma once

#include "pit/pipeline.hpp"

namespace pit::policies {

class Metrics final : public Policy {
 public:
  [[nodiscard]] std::string_view name() const noexcept override { return "metrics"; }
  Task<Outcome> handle(Call& call, Next next) override;
};

}  // namespace pit::policies
