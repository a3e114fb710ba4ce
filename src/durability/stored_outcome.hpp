// How a settled fault is kept in the store: its code beside it (Settled::code), and as the
// payload its public message, origin, flags and details — never its internal cause (which
// went to the log when it happened). A replay is then the same fault, shaped again by the
// pipeline exactly as the first one was.
#pragma once

#include <string>
#include <string_view>

#include "pit/fault.hpp"

namespace pit::detail::durability {

[[nodiscard]] std::string encode_fault(const Fault& fault);
// The fault a stored payload stands for; a payload that does not read (a store written by
// another version) becomes `internal`.
[[nodiscard]] Fault decode_fault(Code code, std::string_view payload);

}  // namespace pit::detail::durability
