// What one operation's calls run with on this host: HostOptions::operations over the
// contract's declaration over the host's defaults, resolved once per contract.
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "pit/host.hpp"

namespace pit::detail {

struct OperationMetrics;
class MetricsRegistry;

struct OperationSettings {
  std::chrono::milliseconds timeout{0};  // zero: none of the operation's own
  bool log_calls = true;
  std::size_t max_body_bytes = 0;
  OperationMetrics* metrics = nullptr;  // this host's counters for the operation and side
};

// One entry per operation of `contract`, in declaration order. kind: "server" for
// operations served here, "client" for operations called on another process.
std::vector<OperationSettings> resolve_settings(const HostOptions& options, const ContractInfo& contract,
                                                MetricsRegistry& metrics, std::string_view kind);

// Every key of options.operations must name an operation of a contract in `known` when
// its contract is there; throws std::invalid_argument naming the key otherwise.
void validate_operation_keys(const HostOptions& options, const std::vector<const ContractInfo*>& known);

}  // namespace pit::detail
