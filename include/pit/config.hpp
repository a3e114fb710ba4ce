// pit::Config — HostOptions from one TOML file over embedded defaults, then the environment.
//
//   int main(int argc, char** argv) {
//     pit::Host host{pit::Config::from_args(argc, argv)};   // --config FILE, or PIT_CONFIG
//     ...
//   }
//
// Precedence, lowest first: the embedded defaults (Config::defaults()), the file, the
// PIT_<SECTION>_<KEY> environment variables. Everything is validated before the host is
// built: an unknown key, a wrong type or an out-of-range value throws ConfigError naming
// the file, line, column and key. The keys and the rules: docs/configuration.md.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pit/host.hpp"

namespace pit {

// what(): "<file>:<line>:<column>: <key>: <reason>" for the file,
//         "environment PIT_<NAME>: <reason>" for a variable.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Config {
 public:
  // The file named by `--config FILE` or `--config=FILE` in argv, else by the PIT_CONFIG
  // environment variable, else none (the embedded defaults); then the environment
  // overrides. Other arguments are left for the program.
  static HostOptions from_args(int argc, char** argv);
  // The file at `path`, then the process environment.
  static HostOptions from_file(const std::string& path);
  // TOML text as if read from `source_name`, then `environment` (nullptr: the process
  // environment; pass an empty map for none).
  static HostOptions from_toml(std::string_view text, std::string_view source_name = "<string>",
                               const std::map<std::string, std::string>* environment = nullptr);
  // What a service runs with when nothing is configured: HostOptions{} plus an HTTP
  // listener on 127.0.0.1:8080 and the admin listener on 127.0.0.1:9901. (A HostOptions{}
  // built in code opens no listener.)
  static HostOptions defaults();

  // One key the parser accepts. Contract and operation keys are patterns:
  // contracts.<contract>.timeout_ms, contracts.<contract>.operations.<operation>.timeout_ms.
  struct Key {
    std::string name;           // "http.listen"
    std::string type;           // "integer", "boolean" or "string"
    std::string default_value;  // as TOML: `8`, `true`, `"info"`; "(unset)" for patterns
    std::string range;          // "1..4096", `"debug" | "info" | ...`, ...
    std::string environment;    // "PIT_HTTP_LISTEN"; empty: no environment form
    std::string description;
  };
  static const std::vector<Key>& keys();
};

}  // namespace pit
