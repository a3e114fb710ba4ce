#include "outbound/client_options.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "outbound/url.hpp"

namespace pit::outbound {

namespace {

std::string number(double v) {
  std::string s = std::to_string(v);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

void validate(const ClientOptions& o, std::string_view contract) {
  auto bad = [&](const std::string& what) {
    return std::invalid_argument("pit: clients.\"" + std::string(contract) + "\": " + what);
  };
  auto url = [&](std::string_view key, const std::string& value) {
    try {
      (void)parse_url(value);
    } catch (const std::invalid_argument& e) {
      // parse_url's message without its "pit: " prefix.
      std::string why = e.what();
      if (why.rfind("pit: ", 0) == 0) why.erase(0, 5);
      throw bad(std::string(key) + ": " + why);
    }
  };
  if (!o.endpoints.empty() && !o.dns.empty()) throw bad("set endpoints or dns, not both");
  for (const auto& e : o.endpoints) url("endpoints", e);
  if (!o.dns.empty()) url("dns", o.dns);
  if (o.resolve_interval.count() <= 0) throw bad("resolve_interval_ms must be positive");
  if (o.max_in_flight == 0) throw bad("max_in_flight must be at least 1");
  const RetryOptions& r = o.retry;
  if (r.max_attempts == 0) throw bad("retry_max_attempts must be at least 1 (1: no retries)");
  if (r.backoff_base.count() < 0 || r.backoff_max.count() < 0) throw bad("retry backoff must not be negative");
  if (r.backoff_base > r.backoff_max) {
    throw bad("retry_backoff_base_ms (" + std::to_string(r.backoff_base.count()) + ") exceeds retry_backoff_max_ms (" +
              std::to_string(r.backoff_max.count()) + ")");
  }
  if (!(r.budget_percent >= 0 && r.budget_percent <= 100)) {
    throw bad("retry_budget_percent must be within 0..100, not " + number(r.budget_percent));
  }
  if (!(r.budget_per_second >= 0) || !std::isfinite(r.budget_per_second)) {
    throw bad("retry_budget_per_second must be 0 or more, not " + number(r.budget_per_second));
  }
  if (r.budget_window.count() <= 0) throw bad("retry_budget_window_ms must be positive");
  if (o.hedge.delay.count() < 0) throw bad("hedge_delay_ms must not be negative");
  const OutlierOptions& out = o.outlier;
  if (out.base_ejection.count() < 0 || out.max_ejection.count() < 0) throw bad("outlier ejection must not be negative");
  if (out.base_ejection > out.max_ejection) {
    throw bad("outlier_base_ejection_ms (" + std::to_string(out.base_ejection.count()) +
              ") exceeds outlier_max_ejection_ms (" + std::to_string(out.max_ejection.count()) + ")");
  }
  if (out.max_ejected_percent < 0 || out.max_ejected_percent > 100) {
    throw bad("outlier_max_ejected_percent must be within 0..100, not " + std::to_string(out.max_ejected_percent));
  }
  for (const auto& [name, op] : o.operations) {
    if (op.retry_max_attempts && *op.retry_max_attempts == 0) {
      throw bad("operations." + name + ".retry_max_attempts must be at least 1 (1: no retries)");
    }
    if (op.hedge_delay && op.hedge_delay->count() < 0) {
      throw bad("operations." + name + ".hedge_delay_ms must not be negative");
    }
  }
}

OperationRetry for_operation(const ClientOptions& options, std::string_view operation) {
  OperationRetry r;
  r.max_attempts = options.retry.max_attempts;
  r.hedge = options.hedge.mode;
  r.hedge_delay = options.hedge.delay;
  if (const auto it = options.operations.find(operation); it != options.operations.end()) {
    if (it->second.retry_max_attempts) r.max_attempts = *it->second.retry_max_attempts;
    if (it->second.hedge) r.hedge = *it->second.hedge;
    if (it->second.hedge_delay) r.hedge_delay = *it->second.hedge_delay;
  }
  return r;
}

}  // namespace pit::outbound
