// The effective configuration as the admin listener's /config page shows it: every key of
// the host's sections and of each configured client, with the value the host runs with,
// secrets redacted.
#pragma once

#include <string>
#include <string_view>

#include "pit/host.hpp"

namespace pit::config {

struct EffectiveConfiguration {
  std::string json;  // {"host": {...}, "log": {...}, ..., "clients": {"<contract>": {...}}}
  // 16 hex digits (FNV-1a, 64 bits) of `json`: equal on replicas that run with the same
  // configuration. Made from the redacted text, so it says nothing about the secrets (and
  // does not change when only a secret does).
  std::string hash;
};

EffectiveConfiguration effective_configuration(const HostOptions& options);

// `value` with what makes it a secret replaced by "[redacted]": the password of a URL
// ("postgres://app:[redacted]@db/app"), a password=... pair of a connection string or query.
std::string redact_passwords(std::string_view value);

}  // namespace pit::config
