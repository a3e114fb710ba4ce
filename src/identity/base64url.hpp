// Base64url without padding (RFC 7515 section 2, RFC 4648 section 5), as JWS and JWK use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pit::detail::identity {

std::string base64url_encode(std::string_view bytes);

// Strict: only the 64 characters of the URL-safe alphabet, no padding, no whitespace, a
// length that a whole number of bytes gives (never 1 mod 4), and zero unused bits in the
// last character, so that every byte string has exactly one accepted encoding. nullopt
// for anything else.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace pit::detail::identity
