// The decode and encode errors of the codec: the Fault they raise, and the field paths and
// messages they name ("field 'items[2].quantity': ...").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "pit/fault.hpp"
#include "pit/json.hpp"

namespace pit::json::detail {

// A decode error: invalid_argument, raised by the runtime.
Fault bad_request(std::string message);

// Path syntax, the same for struct members and map keys: `.name` when the name is a plain
// identifier (at most 32 bytes), `["name"]` otherwise, JSON-escaped and cut to 32 bytes
// followed by "..."; array elements are `[i]`. `first`: the name starts the path (no dot).
void append_name(std::string& out, std::string_view name, bool first);
void append_index(std::string& out, std::size_t index);

// The path of the message itself.
inline constexpr std::string_view kRootPath = "(root)";

std::string render(const Path& path);

// "field '<path>': <what>"
std::string field_message(std::string_view path, std::string_view what);

}  // namespace pit::json::detail
