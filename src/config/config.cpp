// pit::Config: HostOptions from embedded defaults, one TOML file (toml_file.cpp) and
// PIT_<SECTION>_<KEY> variables (environment.cpp), all driven by one table of keys
// (key_table.cpp); Config::keys() lists that table, and docs/configuration.md is tested
// against it.
#include "pit/config.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/environment.hpp"
#include "config/key_table.hpp"
#include "config/toml_file.hpp"
#include "config/value_check.hpp"

namespace pit {
namespace {

using namespace std::string_view_literals;

std::string read_whole_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in) throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read the configuration file");
  return text.str();
}

HostOptions load(const std::optional<std::string>& path,
                 const std::map<std::string, std::string>& environment) {
  HostOptions options = Config::defaults();
  if (path) {
    const std::string text = read_whole_file(*path);
    config::apply_file(text, *path, options);
  }
  config::apply_environment(environment, options);
  return options;
}

}  // namespace

HostOptions Config::defaults() {
  HostOptions options;
  options.http.listen = "127.0.0.1:8080";
  options.admin.listen = "127.0.0.1:9901";
  return options;
}

HostOptions Config::from_toml(std::string_view text, std::string_view source_name,
                              const std::map<std::string, std::string>* environment) {
  HostOptions options = defaults();
  config::apply_file(text, source_name, options);
  config::apply_environment(environment != nullptr ? *environment : config::process_environment(), options);
  return options;
}

HostOptions Config::from_file(const std::string& path) { return load(path, config::process_environment()); }

HostOptions Config::from_args(int argc, char** argv) {
  const auto environment = config::process_environment();
  std::optional<std::string> path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config") {
      if (i + 1 >= argc) throw ConfigError("--config: expects a file name");
      path = argv[++i];
    } else if (arg.starts_with("--config=")) {
      path = std::string{arg.substr("--config="sv.size())};
    }
  }
  if (!path) {
    if (const auto it = environment.find("PIT_CONFIG"); it != environment.end() && !it->second.empty()) {
      path = it->second;
    }
  }
  if (path && path->empty()) throw ConfigError("--config: expects a file name");
  return load(path, environment);
}

const std::vector<Config::Key>& Config::keys() {
  static const std::vector<Key> all = [] {
    std::vector<Key> keys;
    keys.reserve(config::settings().size() + 2 * config::operation_settings().size());
    const HostOptions defaults = Config::defaults();
    for (const auto& s : config::settings()) {
      keys.push_back({std::string{s.name}, config::type_name(s.kind), config::show(s.read(defaults)),
                      config::range_text(s.kind, s.min, s.max), config::environment_name(s.name),
                      std::string{s.description}});
    }
    const std::array<std::pair<std::string_view, std::string_view>, 2> scopes{{
        {"contracts.<contract>.", "Every operation of the contract: "},
        {"contracts.<contract>.operations.<operation>.", "This operation: "},
    }};
    for (const auto& [prefix, scope] : scopes) {
      for (const auto& s : config::operation_settings()) {
        keys.push_back({std::string{prefix} + std::string{s.name}, config::type_name(s.kind), "(unset)",
                        config::range_text(s.kind, s.min, s.max), "",
                        std::string{scope} + std::string{s.description}});
      }
    }
    return keys;
  }();
  return all;
}

}  // namespace pit
