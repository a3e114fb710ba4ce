// The environment: PIT_<SECTION>_<KEY> variables, each one a key of the key table.
#pragma once

#include <map>
#include <string>

#include "pit/host.hpp"

namespace pit::config {

// Every variable of the process, by name.
std::map<std::string, std::string> process_environment();

struct AppRead;

// Applies each configuration variable of `variables` to `options`, and each PIT_APP_*
// variable to `app` (null: any PIT_APP_* variable is an error). Variables whose prefix is
// not a section's (PIT_CONFIG, PATH, ...) are not looked at; one with such a prefix that
// names no key throws ConfigError.
void apply_environment(const std::map<std::string, std::string>& variables, HostOptions& options,
                       AppRead* app = nullptr);

}  // namespace pit::config
