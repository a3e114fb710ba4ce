// The TOML file: its tables and keys checked against the key table and applied to
// HostOptions; every mistake a ConfigError naming the file, line, column and key.
#pragma once

#include <string_view>

#include "pit/host.hpp"

namespace pit::config {

struct AppRead;

// Parses `text` (errors name it `source`) and applies each key it sets to `options`, and
// each key of its [app] section to `app` (null: an [app] section is an error).
void apply_file(std::string_view text, std::string_view source, HostOptions& options, AppRead* app = nullptr);

}  // namespace pit::config
