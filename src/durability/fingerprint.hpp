// What identifies a request and a key in the store: SHA-256 (OpenSSL), as 64 hex digits.
// The request's fingerprint is taken over its canonical encoding (decoded, then encoded
// again by the operation's hooks), so field order and whitespace do not change it.
#pragma once

#include <string>
#include <string_view>

namespace pit::detail::durability {

[[nodiscard]] std::string sha256_hex(std::string_view bytes);

}  // namespace pit::detail::durability
