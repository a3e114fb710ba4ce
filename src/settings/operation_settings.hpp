// What one operation's calls run with on this host: HostOptions::operations over the
// contract's declaration over the host's defaults, resolved once per contract.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pit/host.hpp"

namespace pit::detail {

struct OperationMetrics;
class MetricsRegistry;
class CallHistory;
class CallHistories;
class Limiter;

// Finds or makes the admission limiter of an operation that configures a limit of its own
// (full name, max_in_flight, max_queue). Provided by the admission policy's layer (see
// detail::operation_limiters); empty: the operations get no limiter.
using LimiterSource = std::function<Limiter*(std::string_view, std::size_t, std::size_t)>;

// What fault injection does to the operation's calls (percent 0: nothing).
struct Injection {
  int percent = 0;
  std::chrono::milliseconds delay{0};
  std::optional<Code> code;
};

struct OperationSettings {
  std::chrono::milliseconds timeout{0};  // zero: none of the operation's own
  bool log_calls = true;
  std::size_t max_body_bytes = 0;
  std::size_t max_reply_bytes = 0;
  OperationMetrics* metrics = nullptr;  // this host's counters for the operation and side
  Limiter* limiter = nullptr;           // the operation's own admission limit, if any
  std::size_t max_in_flight = 0;        // that limit as configured (0: none), for diagnostics
  std::size_t max_queue = 0;
  // The operation's recent and slowest calls (served operations, when admin.recent_calls
  // is not 0): one per operation host-wide (CallHistories), fed by the metrics policy.
  std::shared_ptr<CallHistory> history;
  Injection inject;                     // only while HostOptions::fault_injection is on
  // Access: what configuration adds to the declared requirement (contract's and
  // operation's together), and the whole rule as text for audit records and the log:
  // "scope:orders.write & role:clerk | ...", "anonymous", "undeclared".
  std::vector<std::string> require_scopes;
  std::vector<std::string> require_roles;
  std::string rule;
  // As a client: how calls to the operation carry the identity of the call that makes them.
  OutboundIdentity outbound_identity = OutboundIdentity::forward;
};

// The access rule of an operation as text (see OperationSettings::rule).
std::string rule_text(const OpSpec& spec, const std::vector<std::string>& scopes, const std::vector<std::string>& roles);

// One entry per operation of `contract`, in declaration order. kind: "server" for
// operations served here, "client" for operations called on another process.
// limiters: where served operations get their admission limiters (empty for "client").
// histories: where served operations get their CallHistory (null: none kept).
std::vector<OperationSettings> resolve_settings(const HostOptions& options, const ContractInfo& contract,
                                                MetricsRegistry& metrics, std::string_view kind,
                                                const LimiterSource& limiters = {}, CallHistories* histories = nullptr);

// Whether any operation has fault injection configured and the host's switch is on.
bool injects_faults(const HostOptions& options);

// Every key of options.operations must name an operation of a contract in `known` when
// its contract is there; throws std::invalid_argument naming the key otherwise.
void validate_operation_keys(const HostOptions& options, const std::vector<const ContractInfo*>& known);

}  // namespace pit::detail
