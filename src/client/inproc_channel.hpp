#pragma once

#include <memory>

#include "runtime/host_state.hpp"
#include "settings/operation_settings.hpp"
#include "pit/contract.hpp"

namespace pit::detail {

class InprocChannel final : public Channel {
 public:
  InprocChannel(std::shared_ptr<Host::State> state, const ContractInfo& contract);
  Task<Outcome> call(CallRef call) override;

 private:
  std::shared_ptr<Host::State> state_;
  const ContractInfo* contract_;
  std::vector<OperationSettings> settings_;
};

}  // namespace pit::detail
