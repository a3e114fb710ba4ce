// The [app] section's keys as declared by a service (pit::AppSettings), and the values
// being read for them: the TOML reader and the environment reader fill an AppRead, and
// Config stores it into the service's settings only when everything was valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "pit/config.hpp"

namespace pit::config {

enum class AppKind : std::uint8_t { integer, boolean, string, duration, strings };

// Durations are whole milliseconds, held as integers until stored.
using AppValue = std::variant<std::int64_t, bool, std::string, std::vector<std::string>>;

// "integer", "boolean", "string", "integer" (milliseconds), "array of strings".
std::string type_name(AppKind kind);
// As in "expected an integer".
std::string with_article(AppKind kind);
// The value as TOML writes it: `8`, `true`, `"x"`, `["a", "b"]`.
std::string show(const AppValue& value);

// The keys a service declared, and their values: the defaults, then what the file and the
// environment set.
struct AppRead {
  std::vector<const AppSettings::Declared*> keys;  // in declaration order
  std::vector<AppValue> values;                    // values[i] is keys[i]'s

  explicit AppRead(const std::vector<std::unique_ptr<AppSettings::Declared>>& declared);
  // The index of the key named `name` ("pool_size"), if declared.
  std::optional<std::size_t> find(std::string_view name) const;
  // Every key's name as `prefix` + name: candidates for "did you mean".
  std::vector<std::string> names(std::string_view prefix) const;
};

// "pool_size" → "PIT_APP_POOL_SIZE".
std::string app_environment_name(std::string_view name);

}  // namespace pit::config

namespace pit {

struct AppSettings::Declared {
  std::string name;  // "pool_size": the file's app.pool_size
  config::AppKind kind;
  std::int64_t min = 0;  // integers and durations
  std::int64_t max = 0;
  std::string description;
  config::AppValue default_value;
  std::function<void(const config::AppValue&)> store;  // into the AppSetting below
  std::shared_ptr<void> setting;                       // the AppSetting<T> handed out

  // "1..64", "true, false", "any string", "strings".
  std::string range_text() const;
  // Empty when `value` (already of the right type) is in range; else the reason.
  std::string check(const config::AppValue& value) const;
};

}  // namespace pit
