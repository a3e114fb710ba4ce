// pit::AppSettings: what a service declares for its [app] section, checked when declared,
// so that a mistake in the declaration is the programmer's error at once, not a strange
// message about the file later.
#include "config/app_settings.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "config/value_check.hpp"

namespace pit {
namespace config {

std::string type_name(AppKind kind) {
  switch (kind) {
    case AppKind::integer:
    case AppKind::duration:
      return "integer";
    case AppKind::boolean:
      return "boolean";
    case AppKind::string:
      return "string";
    case AppKind::strings:
      return "array of strings";
  }
  return "string";
}

std::string with_article(AppKind kind) {
  switch (kind) {
    case AppKind::integer:
    case AppKind::duration:
    case AppKind::strings:
      return "an " + type_name(kind);
    case AppKind::boolean:
    case AppKind::string:
      break;
  }
  return "a " + type_name(kind);
}

std::string show(const AppValue& value) {
  if (const auto* i = std::get_if<std::int64_t>(&value)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  if (const auto* s = std::get_if<std::string>(&value)) return quoted(*s);
  std::string text = "[";
  for (const auto& s : std::get<std::vector<std::string>>(value))
    text += (text.size() > 1 ? ", " : "") + quoted(s);
  return text + "]";
}

AppRead::AppRead(const std::vector<std::unique_ptr<AppSettings::Declared>>& declared) {
  keys.reserve(declared.size());
  values.reserve(declared.size());
  for (const auto& key : declared) {
    keys.push_back(key.get());
    values.push_back(key->default_value);
  }
}

std::optional<std::size_t> AppRead::find(std::string_view name) const {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (keys[i]->name == name) return i;
  }
  return std::nullopt;
}

std::vector<std::string> AppRead::names(std::string_view prefix) const {
  std::vector<std::string> names;
  names.reserve(keys.size());
  for (const auto* key : keys) names.push_back(std::string{prefix} + key->name);
  return names;
}

std::string app_environment_name(std::string_view name) {
  std::string variable = "PIT_APP_";
  for (const char c : name) variable += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return variable;
}

}  // namespace config

std::string AppSettings::Declared::range_text() const {
  switch (kind) {
    case config::AppKind::integer:
    case config::AppKind::duration:
      return std::to_string(min) + ".." + std::to_string(max);
    case config::AppKind::boolean:
      return "true, false";
    case config::AppKind::string:
    case config::AppKind::strings:
      break;
  }
  return "any";
}

std::string AppSettings::Declared::check(const config::AppValue& value) const {
  if (kind != config::AppKind::integer && kind != config::AppKind::duration) return {};
  const auto n = std::get<std::int64_t>(value);
  if (n < min || n > max) return std::to_string(n) + " is out of range (" + range_text() + ")";
  return {};
}

namespace {

// Names become TOML keys and, upper-cased, variable names: lower case keeps the two
// one-to-one (pool_size and POOL_SIZE could not both be declared).
bool valid_name(std::string_view name) {
  return !name.empty() && name.front() >= 'a' && name.front() <= 'z' &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::unique_ptr<AppSettings::Declared> make_key(std::string_view name, config::AppKind kind, std::int64_t min,
                                                std::int64_t max, std::string_view description,
                                                config::AppValue default_value) {
  auto declared = std::make_unique<AppSettings::Declared>();
  declared->name = name;
  declared->kind = kind;
  declared->min = min;
  declared->max = max;
  declared->description = description;
  declared->default_value = std::move(default_value);
  return declared;
}

}  // namespace

AppSettings::AppSettings() = default;
AppSettings::~AppSettings() = default;

template <class T>
const AppSetting<T>& AppSettings::declare(std::unique_ptr<Declared> key, T default_value) {
  const std::string where = "pit::AppSettings: app." + key->name + ": ";
  if (read_) {
    throw std::logic_error(where + "declared after Config read the settings; declare every setting first");
  }
  if (!valid_name(key->name)) {
    throw std::invalid_argument(
        "pit::AppSettings: " + config::quoted(key->name) +
        ": not a setting name (lower-case letters, digits and '_', starting with a letter)");
  }
  const bool duplicate =
      std::any_of(declared_.begin(), declared_.end(), [&](const auto& d) { return d->name == key->name; });
  if (duplicate) throw std::invalid_argument(where + "declared twice");
  if (key->min > key->max) throw std::invalid_argument(where + "min is above max");
  if (key->kind == config::AppKind::duration && !key->name.ends_with("_ms")) {
    throw std::invalid_argument(where + "a duration's name ends in _ms (it is read in whole milliseconds)");
  }
  if (auto reason = key->check(key->default_value); !reason.empty()) {
    throw std::invalid_argument(where + "the default " + reason);
  }
  // Not make_shared: the constructor is private to AppSettings.
  std::shared_ptr<AppSetting<T>> setting{
      new AppSetting<T>{"app." + key->name, std::move(default_value), read_}};
  AppSetting<T>* raw = setting.get();
  key->store = [raw](const config::AppValue& value) {
    if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
      raw->value_ = std::chrono::milliseconds{std::get<std::int64_t>(value)};
    } else {
      raw->value_ = std::get<T>(value);
    }
  };
  key->setting = std::move(setting);
  declared_.push_back(std::move(key));
  return *raw;
}

const AppSetting<std::int64_t>& AppSettings::integer(std::string_view name, std::int64_t default_value,
                                                     std::int64_t min, std::int64_t max,
                                                     std::string_view description) {
  return declare(make_key(name, config::AppKind::integer, min, max, description, default_value),
                 default_value);
}

const AppSetting<bool>& AppSettings::boolean(std::string_view name, bool default_value,
                                             std::string_view description) {
  return declare(make_key(name, config::AppKind::boolean, 0, 0, description, default_value), default_value);
}

const AppSetting<std::string>& AppSettings::string(std::string_view name, std::string_view default_value,
                                                   std::string_view description) {
  return declare(make_key(name, config::AppKind::string, 0, 0, description, std::string{default_value}),
                 std::string{default_value});
}

const AppSetting<std::chrono::milliseconds>& AppSettings::duration(std::string_view name,
                                                                   std::chrono::milliseconds default_value,
                                                                   std::chrono::milliseconds min,
                                                                   std::chrono::milliseconds max,
                                                                   std::string_view description) {
  return declare(make_key(name, config::AppKind::duration, min.count(), max.count(), description,
                          std::int64_t{default_value.count()}),
                 default_value);
}

const AppSetting<std::vector<std::string>>& AppSettings::strings(std::string_view name,
                                                                 std::vector<std::string> default_value,
                                                                 std::string_view description) {
  auto key =
      make_key(name, config::AppKind::strings, 0, 0, description, default_value);  // a copy, before the move
  return declare(std::move(key), std::move(default_value));
}

std::vector<Config::Key> AppSettings::keys() const {
  std::vector<Config::Key> keys;
  keys.reserve(declared_.size());
  for (const auto& d : declared_) {
    keys.push_back({"app." + d->name, config::type_name(d->kind), config::show(d->default_value),
                    d->range_text(), config::app_environment_name(d->name), d->description});
  }
  return keys;
}

}  // namespace pit
