#include "settings/operation_settings.hpp"

#include <stdexcept>
#include <string>

#include "call/call_history.hpp"
#include "observability/metrics.hpp"

namespace pit::detail {
namespace {

struct Limit {
  std::size_t max_in_flight = 0;  // 0: none
  std::size_t max_queue = 0;
};

void apply(OperationSettings& s, Limit& limit, const OperationOptions& o) {
  if (o.timeout) s.timeout = *o.timeout;
  if (o.log_calls) s.log_calls = *o.log_calls;
  if (o.max_body_bytes) s.max_body_bytes = *o.max_body_bytes;
  if (o.max_reply_bytes) s.max_reply_bytes = *o.max_reply_bytes;
  if (o.max_in_flight) limit.max_in_flight = *o.max_in_flight;
  if (o.max_queue) limit.max_queue = *o.max_queue;
  for (const auto& scope : o.require_scopes) s.require_scopes.push_back(scope);
  for (const auto& role : o.require_roles) s.require_roles.push_back(role);
  if (o.outbound_identity) s.outbound_identity = *o.outbound_identity;
  if (o.inject_percent) s.inject.percent = *o.inject_percent;
  if (o.inject_delay) s.inject.delay = *o.inject_delay;
  if (o.inject_code) s.inject.code = *o.inject_code;
}

}  // namespace

std::vector<OperationSettings> resolve_settings(const HostOptions& options, const ContractInfo& contract,
                                                MetricsRegistry& metrics, std::string_view kind,
                                                const LimiterSource& limiters, CallHistories* histories) {
  std::vector<OperationSettings> out;
  out.reserve(contract.operations.size());
  const auto by_contract = options.operations.find(contract.name);
  for (const auto& op : contract.operations) {
    OperationSettings s;
    s.metrics = &metrics.operation(contract.name, op.name, kind);
    s.timeout = op.spec.timeout();
    s.log_calls = options.log_calls;
    s.max_body_bytes = options.http.max_body_bytes;
    s.max_reply_bytes = options.http.max_reply_bytes;
    s.outbound_identity = options.auth.token_url.empty() ? OutboundIdentity::forward : OutboundIdentity::exchange;
    Limit limit;
    if (by_contract != options.operations.end()) apply(s, limit, by_contract->second);
    if (auto by_op = options.operations.find(op.full_name); by_op != options.operations.end()) {
      apply(s, limit, by_op->second);
    }
    s.max_in_flight = limit.max_in_flight;
    s.max_queue = limit.max_queue;
    if (kind == "server" && histories != nullptr) s.history = histories->of(op.full_name);
    if (limiters && limit.max_in_flight != 0) {
      s.limiter = limiters(op.full_name, limit.max_in_flight, limit.max_queue);
    }
    if (!options.fault_injection || kind != "server") s.inject = {};
    s.rule = rule_text(op.spec, s.require_scopes, s.require_roles);
    out.push_back(std::move(s));
  }
  return out;
}

std::string rule_text(const OpSpec& spec, const std::vector<std::string>& scopes, const std::vector<std::string>& roles) {
  if (spec.access() == Access::undeclared) return "undeclared";
  std::string extra;  // configuration's additions, in every alternative
  for (const auto& scope : scopes) extra += " & scope:" + scope;
  for (const auto& role : roles) extra += " & role:" + role;
  if (spec.access() == Access::anonymous) return extra.empty() ? "anonymous" : "authenticated" + extra;
  const Requirement& r = spec.requirement();
  if (r.clause_count() == 0) return "authenticated" + extra;
  std::string text;
  for (std::size_t i = 0; i < r.clause_count(); ++i) {
    if (i > 0) text += " | ";
    const auto& clause = r.clause(i);
    for (std::size_t k = 0; k < clause.count; ++k) {
      if (k > 0) text += " & ";
      const auto& term = clause.terms[k];
      switch (term.kind) {
        case Requirement::Kind::authenticated: text += "authenticated"; break;
        case Requirement::Kind::scope: text += "scope:" + std::string{term.name}; break;
        case Requirement::Kind::role: text += "role:" + std::string{term.name}; break;
      }
    }
    text += extra;
  }
  return text;
}

bool injects_faults(const HostOptions& options) {
  if (!options.fault_injection) return false;
  for (const auto& [key, o] : options.operations) {
    if (o.inject_percent.value_or(0) > 0) return true;
  }
  return false;
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
    if (value.max_in_flight && *value.max_in_flight == 0) {
      throw std::invalid_argument("pit: settings for '" + key + "': max_in_flight must be positive");
    }
    if (value.inject_percent && (*value.inject_percent < 0 || *value.inject_percent > 100)) {
      throw std::invalid_argument("pit: settings for '" + key + "': inject_percent must be 0..100");
    }
    if (value.inject_delay && value.inject_delay->count() < 0) {
      throw std::invalid_argument("pit: settings for '" + key + "': inject_delay must not be negative");
    }
  }
}

}  // namespace pit::detail
