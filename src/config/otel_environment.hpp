// The standard OpenTelemetry variables, where they apply to pit's tracing (so a user's
// existing setup works): read after the embedded defaults and before the configuration
// file, which wins over them (as do PIT_TRACING_* variables). docs/configuration.md,
// "OpenTelemetry variables", lists them.
#pragma once

#include <map>
#include <string>

#include "pit/host.hpp"

namespace pit::config {

// Throws ConfigError for a value pit cannot honour (a sampler it does not have, a
// malformed number or list).
void apply_otel_environment(const std::map<std::string, std::string>& variables, HostOptions& options);

}  // namespace pit::config
