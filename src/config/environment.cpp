#include "config/environment.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/app_settings.hpp"
#include "config/did_you_mean.hpp"
#include "config/key_table.hpp"
#include "config/value_check.hpp"
#include "pit/config.hpp"

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace pit::config {
namespace {

// The service's own settings ([app]); the other prefixes are the key table's sections.
constexpr std::string_view kAppPrefix = "PIT_APP_";

[[noreturn]] void fail_variable(std::string_view variable, std::string_view reason) {
  throw ConfigError("environment " + std::string{variable} + ": " + std::string{reason});
}

std::int64_t integer_of(std::string_view variable, std::string_view text) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    fail_variable(variable, "expected an integer, got " + quoted(text));
  }
  return n;
}

double number_of(std::string_view variable, std::string_view text) {
  double n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    fail_variable(variable, "expected a number, got " + quoted(text));
  }
  return n;
}

bool boolean_of(std::string_view variable, std::string_view text) {
  if (text != "true" && text != "false")
    fail_variable(variable, "expected true or false, got " + quoted(text));
  return text == "true";
}

// "a, b,c" → {"a", "b", "c"}; "" → {}. An empty element is a mistake ("a,,b", "a,").
std::vector<std::string> strings_of(std::string_view variable, std::string_view text) {
  std::vector<std::string> items;
  if (text.empty()) return items;
  for (std::size_t start = 0;;) {
    const auto comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) {
      fail_variable(variable, "expected comma-separated strings, got an empty one in " + quoted(text));
    }
    items.emplace_back(item);
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

// PIT_APP_<NAME>: one of the keys the service declared.
void apply_app_variable(const std::string& variable, const std::string& text, AppRead* app) {
  if (app == nullptr || app->keys.empty()) {
    fail_variable(variable, "unknown variable (this service declares no application settings)");
  }
  std::optional<std::size_t> index;
  for (std::size_t i = 0; i < app->keys.size() && !index; ++i) {
    if (app_environment_name(app->keys[i]->name) == variable) index = i;
  }
  if (!index) {
    std::vector<std::string> candidates;
    for (const auto* key : app->keys) candidates.push_back(app_environment_name(key->name));
    fail_variable(variable, unknown("variable", variable, candidates));
  }
  const AppSettings::Declared& declared = *app->keys[*index];
  AppValue value;
  switch (declared.kind) {
    case AppKind::integer:
    case AppKind::duration:
      value = integer_of(variable, text);
      break;
    case AppKind::boolean:
      value = boolean_of(variable, text);
      break;
    case AppKind::string:
      value = text;
      break;
    case AppKind::strings:
      value = strings_of(variable, text);
      break;
  }
  if (auto reason = declared.check(value); !reason.empty()) fail_variable(variable, reason);
  app->values[*index] = std::move(value);
}

}  // namespace

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text{*entry};
    const auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    variables.emplace(text.substr(0, equals), text.substr(equals + 1));
  }
  return variables;
}

void apply_environment(const std::map<std::string, std::string>& variables, HostOptions& options,
                       AppRead* app) {
  for (const auto& entry : variables) {
    const std::string& variable = entry.first;  // named, not a structured binding: lambdas capture it
    const std::string& text = entry.second;
    if (variable.starts_with(kAppPrefix)) {
      apply_app_variable(variable, text, app);
      continue;
    }
    const auto prefixes = environment_prefixes();
    const bool ours = std::any_of(prefixes.begin(), prefixes.end(),
                                  [&](std::string_view prefix) { return variable.starts_with(prefix); });
    if (!ours) continue;
    const auto table = settings();
    const auto found = std::find_if(table.begin(), table.end(),
                                    [&](const Setting& s) { return environment_name(s.name) == variable; });
    if (found == table.end()) {
      std::vector<std::string> candidates;
      candidates.reserve(table.size());
      for (const auto& s : table) candidates.push_back(environment_name(s.name));
      fail_variable(variable, unknown("variable", variable, candidates));
    }
    Value value;
    switch (found->kind) {
      case Kind::integer:
        value = integer_of(variable, text);
        break;
      case Kind::boolean:
        value = boolean_of(variable, text);
        break;
      case Kind::level:
      case Kind::listen:
      case Kind::code:
      case Kind::names:
      case Kind::text:
      case Kind::identity:
      case Kind::path:
      case Kind::audit_path:
      case Kind::when_behind:
      case Kind::client_auth:
      case Kind::url:
      case Kind::balancer:
      case Kind::hedge:
      case Kind::pairs:
      case Kind::dedup_store:
        value = text;
        break;
      // Only [clients."<contract>"] keys are numbers or URL lists, and they have no
      // environment form; kept for a future key of a section.
      case Kind::number:
        value = number_of(variable, text);
        break;
      case Kind::urls:
        value = strings_of(variable, text);
        break;
    }
    if (auto reason = check(found->kind, found->min, found->max, value); !reason.empty()) {
      fail_variable(variable, reason);
    }
    found->apply(options, value);
  }
}

}  // namespace pit::config
