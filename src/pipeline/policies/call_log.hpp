// call_log: one structured line per call, whatever its outcome. It sits outside fault
// shaping, so it logs what the caller got (the cause of a masked fault is logged by
// fault_shaping, under the same correlation id).
#pragma once

#include "pit/pipeline.hpp"

namespace pit::policies {

class CallLog final : public Policy {
 public:
  // kind: "server" for calls served here, "client" for calls made to another process.
  CallLog(bool enabled, std::string_view kind) noexcept : enabled_(enabled), kind_(kind) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "call_log"; }
  Task<Outcome> handle(Call& call, Next next) override;

 private:
  Task<Outcome> logged(Call& call, Next next);
  bool enabled_;
  std::string_view kind_;
};

}  // namespace pit::policies
