// pit::Config: HostOptions from embedded defaults, one TOML file (toml_file.cpp) and
// PIT_<SECTION>_<KEY> variables (environment.cpp), all driven by one table of keys
// (key_table.cpp); Config::keys() lists that table, and docs/configuration.md is tested
// against it.
#include "pit/config.hpp"

#include <cstdlib>

#include <cstdio>

#include <algorithm>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/app_settings.hpp"
#include "config/environment.hpp"
#include "config/key_table.hpp"
#include "config/otel_environment.hpp"
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

using Environment = std::map<std::string, std::string>;

HostOptions read_toml(std::string_view text, std::string_view source, const Environment& environment,
                      config::AppRead* app) {
  HostOptions options = Config::defaults();
  // OTEL_* first, so the file and PIT_* variables win over them.
  config::apply_otel_environment(environment, options);
  config::apply_file(text, source, options, app);
  config::apply_environment(environment, options, app);
  return options;
}

HostOptions load(const std::optional<std::string>& path, const Environment& environment,
                 config::AppRead* app) {
  if (!path) return read_toml("", "<none>", environment, app);
  return read_toml(read_whole_file(*path), *path, environment, app);
}

// The file named by `--config FILE` or `--config=FILE`, else by PIT_CONFIG, else none.
std::optional<std::string> config_path(int argc, char** argv, const Environment& environment) {
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
  return path;
}

// A tool command that Host::run() carries out instead of serving (HostOptions::command):
// the flag and the arguments it takes.
std::vector<std::string> command_of(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--openapi") return {std::string{arg}};
    if (arg != "--contract-lock") continue;
    const std::string_view action = i + 2 < argc ? std::string_view{argv[i + 1]} : std::string_view{};
    if ((action != "check" && action != "write") || std::string_view{argv[i + 2]}.empty()) {
      throw ConfigError("--contract-lock: expects `check FILE` or `write FILE`");
    }
    return {std::string{arg}, std::string{action}, argv[i + 2]};
  }
  return {};
}

// The settings are read once: a second reading would change values other threads may be
// reading, and a service that reads twice has two sources of truth.
config::AppRead start_reading(bool read_already,
                              const std::vector<std::unique_ptr<AppSettings::Declared>>& keys) {
  if (read_already)
    throw std::logic_error("pit::AppSettings: the settings were read already; read them once");
  return config::AppRead{keys};
}

// Only after the file and the environment were both valid: a ConfigError leaves the
// settings unread, never half read.
void store(const config::AppRead& read) {
  for (std::size_t i = 0; i < read.keys.size(); ++i) read.keys[i]->store(read.values[i]);
}

}  // namespace

HostOptions Config::defaults() {
  HostOptions options;
  options.http.listen = "127.0.0.1:8080";
  options.admin.listen = "127.0.0.1:9901";
  return options;
}

HostOptions Config::from_toml(std::string_view text, std::string_view source_name,
                              const Environment* environment) {
  return read_toml(text, source_name, environment != nullptr ? *environment : config::process_environment(),
                   nullptr);
}

HostOptions Config::from_file(const std::string& path) {
  return load(path, config::process_environment(), nullptr);
}

namespace {

// from_args is main's first line, where an exception has no one to catch it and would end
// in std::terminate (an abort, a core dump, a line nobody reads). A configuration error is
// the operator's to fix, not the program's: one line on stderr and exit code 2 (a usage
// error), before any thread or listener exists. Programs that want to handle it call
// from_file or from_toml, which throw ConfigError.
template <class F>
HostOptions or_exit(F&& read) {
  try {
    return std::forward<F>(read)();
  } catch (const ConfigError& e) {
    std::string line = "pit: configuration: ";
    line.append(e.what());
    std::replace(line.begin(), line.end(), '\n', ' ');
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    std::exit(2);
  }
}

}  // namespace

HostOptions Config::from_args(int argc, char** argv) {
  return or_exit([&] {
    const auto environment = config::process_environment();
    HostOptions options = load(config_path(argc, argv, environment), environment, nullptr);
    options.command = command_of(argc, argv);
    return options;
  });
}

HostOptions Config::from_toml(std::string_view text, std::string_view source_name,
                              const Environment* environment, AppSettings& app) {
  config::AppRead read = start_reading(app.read_, app.declared_);
  HostOptions options = read_toml(
      text, source_name, environment != nullptr ? *environment : config::process_environment(), &read);
  store(read);
  app.read_ = true;
  return options;
}

HostOptions Config::from_file(const std::string& path, AppSettings& app) {
  config::AppRead read = start_reading(app.read_, app.declared_);
  HostOptions options = load(path, config::process_environment(), &read);
  store(read);
  app.read_ = true;
  return options;
}

HostOptions Config::from_args(int argc, char** argv, AppSettings& app) {
  return or_exit([&] {
    config::AppRead read = start_reading(app.read_, app.declared_);
    const auto environment = config::process_environment();
    HostOptions options = load(config_path(argc, argv, environment), environment, &read);
    options.command = command_of(argc, argv);
    store(read);
    app.read_ = true;
    return options;
  });
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
    // [clients."<contract>"]: defaults are ClientOptions{}'s; per operation, unset keys
    // fall through to the client's.
    const ClientOptions client_defaults;
    for (const auto& s : config::client_settings()) {
      keys.push_back({"clients.<contract>." + std::string{s.name}, config::type_name(s.kind),
                      config::show(s.read(client_defaults)), config::range_text(s.kind, s.min, s.max), "",
                      std::string{s.description}});
    }
    for (const auto& s : config::client_operation_settings()) {
      keys.push_back({"clients.<contract>.operations.<operation>." + std::string{s.name}, config::type_name(s.kind),
                      "(unset)", config::range_text(s.kind, s.min, s.max), "",
                      "This operation: " + std::string{s.description}});
    }
    return keys;
  }();
  return all;
}

}  // namespace pit
