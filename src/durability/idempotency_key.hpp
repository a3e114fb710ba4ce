// The Idempotency-Key header (IETF draft-ietf-httpapi-idempotency-key-header): its value is
// a Structured Field string ("..."), and is accepted unquoted too, as Stripe's clients send
// it. What a key may be is pit's rule, the same for every transport.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pit::detail::durability {

inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";
inline constexpr std::string_view kReplayedHeader = "Idempotent-Replayed";
inline constexpr std::size_t kMaxKeyLength = 255;

// 1..255 characters of [A-Za-z0-9] and - _ . : ~ + / = (UUIDs, ULIDs, base64 and
// "order-42:retry" all fit; nothing that needs escaping anywhere).
[[nodiscard]] bool valid_key(std::string_view key) noexcept;

// The key a header value carries: the sf-string's content, or the bare value; surrounding
// spaces and tabs ignored. nullopt: malformed (an unterminated or escaped string, a
// parameter after it) or not a valid key.
[[nodiscard]] std::optional<std::string_view> parse_key_header(std::string_view value) noexcept;

// The header value pit sends: the key as an sf-string.
[[nodiscard]] std::string format_key_header(std::string_view key);

// A new random key: 32 lowercase hex digits.
[[nodiscard]] std::string generate_key();

// What a key may appear as in a log line: at most its first 8 characters and "…".
[[nodiscard]] std::string key_for_log(std::string_view key);

}  // namespace pit::detail::durability
