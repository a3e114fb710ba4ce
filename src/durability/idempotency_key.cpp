#include "durability/idempotency_key.hpp"

#include "pit/fault.hpp"

#include <openssl/rand.h>

#include <array>

namespace pit::detail::durability {

bool valid_key(std::string_view key) noexcept {
  if (key.empty() || key.size() > kMaxKeyLength) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':' || c == '~' || c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string_view> parse_key_header(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (!v.empty() && v.front() == '"') {
    // An sf-string with no escapes (a valid key has nothing to escape) and nothing after
    // it: a parameter (;x=1) or a second member (,"b") is not one key.
    if (v.size() < 2 || v.back() != '"') return std::nullopt;
    v = v.substr(1, v.size() - 2);
  }
  if (!valid_key(v)) return std::nullopt;
  return v;
}

std::string format_key_header(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 2);
  out.push_back('"');
  out.append(key);
  out.push_back('"');
  return out;
}

std::string generate_key() {
  // 128 bits from OpenSSL's CSPRNG: unique across processes and restarts, unguessable.
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw Fault::unavailable("no idempotency key could be made").from(Fault::Origin::runtime).with_cause("RAND_bytes failed");
  }
  constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  key.reserve(32);
  for (unsigned char b : bytes) {
    key.push_back(kHex[b >> 4U]);
    key.push_back(kHex[b & 0xFU]);
  }
  return key;
}

std::string key_for_log(std::string_view key) {
  if (key.size() <= 8) return std::string(key);
  return std::string(key.substr(0, 8)) + "\u2026";
}

}  // namespace pit::detail::durability
