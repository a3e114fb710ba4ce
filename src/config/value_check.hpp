// Whether a value is acceptable for a key, and the words errors use for types, ranges
// and values. Shared by the file and the environment, so both refuse the same values
// with the same reasons.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/key_table.hpp"

namespace pit::config {

// "integer", "boolean" or "string": the type Config::keys() shows.
std::string type_name(Kind kind);
// "an integer", "a boolean", "a string": as in "expected an integer".
std::string with_article(Kind kind);
// "1..4096", "true, false", the levels...: the range Config::keys() shows.
std::string range_text(Kind kind, std::int64_t min, std::int64_t max);
// `s` in double quotes, `"` and `\` escaped: as TOML writes it.
std::string quoted(std::string_view s);
// The value as TOML writes it: `8`, `true`, `"info"`.
std::string show(const Value& v);
// Empty when `url` is a client base URL; else why not ("client base URL '...': has no host").
std::string url_problem(const std::string& url);
// Empty when `value` is acceptable for a key of this kind and range; else the reason.
std::string check(Kind kind, std::int64_t min, std::int64_t max, const Value& value);

}  // namespace pit::config
