#include "config/environment.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/did_you_mean.hpp"
#include "config/key_table.hpp"
#include "config/value_check.hpp"
#include "pit/config.hpp"

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace pit::config {
namespace {

[[noreturn]] void fail_variable(std::string_view variable, std::string_view reason) {
  throw ConfigError("environment " + std::string{variable} + ": " + std::string{reason});
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

void apply_environment(const std::map<std::string, std::string>& variables, HostOptions& options) {
  for (const auto& entry : variables) {
    const std::string& variable = entry.first;  // named, not a structured binding: lambdas capture it
    const std::string& text = entry.second;
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
      case Kind::integer: {
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
          fail_variable(variable, "expected an integer, got " + quoted(text));
        }
        value = n;
        break;
      }
      case Kind::boolean:
        if (text != "true" && text != "false") {
          fail_variable(variable, "expected true or false, got " + quoted(text));
        }
        value = text == "true";
        break;
      case Kind::level:
      case Kind::listen:
      case Kind::code:
        value = text;
        break;
    }
    if (auto reason = check(found->kind, found->min, found->max, value); !reason.empty()) {
      fail_variable(variable, reason);
    }
    found->apply(options, value);
  }
}

}  // namespace pit::config
