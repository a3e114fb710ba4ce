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
//
// A service's own settings live in the same file, in [app], declared before the file is
// read (AppSettings below) and checked as strictly as pit's own.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pit/host.hpp"

namespace pit {

// what(): "<file>:<line>:<column>: <key>: <reason>" for the file,
//         "environment PIT_<NAME>: <reason>" for a variable.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class AppSettings;

class Config {
 public:
  // The file named by `--config FILE` or `--config=FILE` in argv, else by the PIT_CONFIG
  // environment variable, else none (the embedded defaults); then the environment
  // overrides. `--contract-lock check|write FILE` and `--openapi` set HostOptions::command
  // (Host::run carries it out instead of serving). Other arguments are left for the program.
  static HostOptions from_args(int argc, char** argv);
  // The file at `path`, then the process environment.
  static HostOptions from_file(const std::string& path);
  // TOML text as if read from `source_name`, then `environment` (nullptr: the process
  // environment; pass an empty map for none).
  static HostOptions from_toml(std::string_view text, std::string_view source_name = "<string>",
                               const std::map<std::string, std::string>* environment = nullptr);

  // The same, and the service's [app] settings declared in `app`, which they fill in
  // (only when everything is valid; on a ConfigError `app` is left unread). Without an
  // AppSettings, an [app] section or a PIT_APP_* variable is an error.
  static HostOptions from_args(int argc, char** argv, AppSettings& app);
  static HostOptions from_file(const std::string& path, AppSettings& app);
  static HostOptions from_toml(std::string_view text, std::string_view source_name,
                               const std::map<std::string, std::string>* environment, AppSettings& app);
  // What a service runs with when nothing is configured: HostOptions{} plus an HTTP
  // listener on 127.0.0.1:8080 and the admin listener on 127.0.0.1:9901. (A HostOptions{}
  // built in code opens no listener.)
  static HostOptions defaults();

  // One key the parser accepts. Contract and operation keys are patterns:
  // contracts.<contract>.timeout_ms, contracts.<contract>.operations.<operation>.timeout_ms.
  struct Key {
    std::string name;           // "http.listen"
    std::string type;           // "integer", "boolean" or "string"; [app]: also "array of strings"
    std::string default_value;  // as TOML: `8`, `true`, `"info"`; "(unset)" for patterns
    std::string range;          // "1..4096", `"debug" | "info" | ...`, ...
    std::string environment;    // "PIT_HTTP_LISTEN"; empty: no environment form
    std::string description;
  };
  static const std::vector<Key>& keys();
};

// One application setting, declared by AppSettings. Not copyable: hold it by reference
// (`const auto& pool = app.integer(...)`); it lives as long as its AppSettings.
template <class T>
class AppSetting {
 public:
  AppSetting(const AppSetting&) = delete;
  AppSetting& operator=(const AppSetting&) = delete;
  ~AppSetting() = default;

  // The value of the environment variable, else of the file, else the default. Throws
  // std::logic_error before a Config function has read the settings: a value read too
  // early would silently be the default.
  const T& get() const;
  const T& operator*() const { return get(); }
  const T* operator->() const { return &get(); }
  const std::string& name() const { return name_; }  // "app.pool_size"

 private:
  friend class AppSettings;
  AppSetting(std::string name, T value, const bool& read)
      : name_(std::move(name)), value_(std::move(value)), read_(&read) {}

  std::string name_;
  T value_;
  const bool* read_;  // the owner's "read" flag
};

// The [app] section: a service's own settings, declared with their type, default, range
// and meaning before the configuration is read, then read typed.
//
//   pit::AppSettings app;
//   const auto& pool = app.integer("pool_size", 8, 1, 64, "Database connections.");
//   pit::Host host{pit::Config::from_args(argc, argv, app)};   // [app] pool_size = 16
//   ... *pool ...                                              // PIT_APP_POOL_SIZE=32 wins
//
// The file's [app] keys and the PIT_APP_<KEY> variables are checked like pit's own: an
// undeclared key is an error (with "did you mean"), a wrong type or a value out of range
// names the file, line, column and key. Declaring is a programmer's act: a bad name, a
// duplicate, a default outside its range or a declaration after the settings were read
// throws std::invalid_argument or std::logic_error at once. The settings are read once;
// afterwards they do not change, so any thread may read them.
class AppSettings {
 public:
  AppSettings();
  ~AppSettings();
  AppSettings(const AppSettings&) = delete;  // the settings point into it
  AppSettings& operator=(const AppSettings&) = delete;

  // `name`: lower-case letters, digits and '_', starting with a letter ("pool_size"); the
  // file's key is app.<name>, the variable PIT_APP_<NAME>.
  const AppSetting<std::int64_t>& integer(std::string_view name, std::int64_t default_value, std::int64_t min,
                                          std::int64_t max, std::string_view description);
  const AppSetting<bool>& boolean(std::string_view name, bool default_value, std::string_view description);
  const AppSetting<std::string>& string(std::string_view name, std::string_view default_value,
                                        std::string_view description);
  // Whole milliseconds, like pit's own durations: `name` must end in "_ms".
  const AppSetting<std::chrono::milliseconds>& duration(std::string_view name,
                                                        std::chrono::milliseconds default_value,
                                                        std::chrono::milliseconds min,
                                                        std::chrono::milliseconds max,
                                                        std::string_view description);
  // A TOML array of strings; in the environment, comma-separated ("a,b"; "": none).
  const AppSetting<std::vector<std::string>>& strings(std::string_view name,
                                                      std::vector<std::string> default_value,
                                                      std::string_view description);

  // The declared keys in declaration order, as Config::keys() lists pit's: a service can
  // print its own reference.
  std::vector<Config::Key> keys() const;

  struct Declared;  // one declared key (src/config/app_settings.hpp)

 private:
  friend class Config;
  template <class T>
  const AppSetting<T>& declare(std::unique_ptr<Declared> key, T default_value);

  std::vector<std::unique_ptr<Declared>> declared_;
  bool read_ = false;
};

template <class T>
const T& AppSetting<T>::get() const {
  if (!*read_) {
    throw std::logic_error(name_ +
                           " was read before Config read the settings (pass the pit::AppSettings to "
                           "Config::from_args, from_file or from_toml first)");
  }
  return value_;
}

}  // namespace pit
