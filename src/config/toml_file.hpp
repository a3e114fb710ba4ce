// The TOML file: its tables and keys checked against the key table and applied to
// HostOptions; every mistake a ConfigError naming the file, line, column and key.
#pragma once

#include <string_view>

#include "pit/host.hpp"

namespace pit::config {

// Parses `text` (errors name it `source`) and applies each key it sets to `options`.
void apply_file(std::string_view text, std::string_view source, HostOptions& options);

}  // namespace pit::config
