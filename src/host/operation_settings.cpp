#include "host/operation_settings.hpp"

#include <stdexcept>
#include <string>

#include "observability/metrics.hpp"

namespace pit::detail {
namespace {

void apply(OperationSettings& s, const OperationOptions& o) {
  if (o.timeout) s.timeout = *o.timeout;
  if (o.log_calls) s.log_calls = *o.log_calls;
  if (o.max_body_bytes) s.max_body_bytes = *o.max_body_bytes;
}

}  // namespace

std::vector<OperationSettings> resolve_settings(const HostOptions& options, const ContractInfo& contract,
                                                MetricsRegistry& metrics, std::string_view kind) {
  std::vector<OperationSettings> out;
  out.reserve(contract.operations.size());
  const auto by_contract = options.operations.find(contract.name);
  for (const auto& op : contract.operations) {
    OperationSettings s;
    s.metrics = &metrics.operation(contract.name, op.name, kind);
    s.timeout = op.spec.timeout();
    s.log_calls = options.log_calls;
    s.max_body_bytes = options.http.max_body_bytes;
    if (by_contract != options.operations.end()) apply(s, by_contract->second);
    if (auto by_op = options.operations.find(op.full_name); by_op != options.operations.end()) {
      apply(s, by_op->second);
    }
    out.push_back(s);
  }
  return out;
}

void validate_operation_keys(const HostOptions& options, const std::vector<const ContractInfo*>& known) {
  for (const auto& [key, value] : options.operations) {
    const auto slash = key.find('/');
    const std::string_view contract_name = std::string_view{key}.substr(0, slash);
    for (const ContractInfo* c : known) {
      if (c->name != contract_name) continue;
      if (slash != std::string::npos && c->find(std::string_view{key}.substr(slash + 1)) == nullptr) {
        throw std::invalid_argument("pit: settings for '" + key + "': " + std::string(c->name) +
                                    " has no such operation");
      }
    }
    if (value.timeout && value.timeout->count() <= 0) {
      throw std::invalid_argument("pit: settings for '" + key + "': timeout must be positive");
    }
  }
}

}  // namespace pit::detail
