// UTF-8 validation and JSON string escaping, shared by the Writer, the public
// append_escaped and the field paths of error messages.
#pragma once

#include <string>
#include <string_view>

namespace pit::json::detail {

// Appends `s` as the body of a JSON string, exactly as pit::json::append_escaped documents,
// and returns whether `s` was well-formed UTF-8.
bool escape_into(std::string& out, std::string_view s);

}  // namespace pit::json::detail
