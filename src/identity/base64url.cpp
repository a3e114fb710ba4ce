// Base64url: a table decoder that refuses every non-canonical form (jwt.cpp relies on it:
// a token has one spelling, so its hash and its cache entry are those of its content).
#include "identity/base64url.hpp"

#include <array>
#include <cstdint>

namespace pit::detail::identity {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

constexpr std::array<std::uint8_t, 256> make_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  return table;
}
constexpr std::array<std::uint8_t, 256> kTable = make_table();

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = byte(i) << 16U | byte(i + 1) << 8U | byte(i + 2);
    out.push_back(kAlphabet[v >> 18U & 63U]);
    out.push_back(kAlphabet[v >> 12U & 63U]);
    out.push_back(kAlphabet[v >> 6U & 63U]);
    out.push_back(kAlphabet[v & 63U]);
  }
  if (bytes.size() - i == 1) {
    const std::uint32_t v = byte(i) << 16U;
    out.push_back(kAlphabet[v >> 18U & 63U]);
    out.push_back(kAlphabet[v >> 12U & 63U]);
  } else if (bytes.size() - i == 2) {
    const std::uint32_t v = byte(i) << 16U | byte(i + 1) << 8U;
    out.push_back(kAlphabet[v >> 18U & 63U]);
    out.push_back(kAlphabet[v >> 12U & 63U]);
    out.push_back(kAlphabet[v >> 6U & 63U]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  const std::size_t tail = text.size() % 4;
  if (tail == 1) return std::nullopt;  // 6 bits cannot end a byte
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::size_t i = 0;
  const auto sextet = [&](std::size_t k) { return kTable[static_cast<unsigned char>(text[k])]; };
  for (; i + 4 <= text.size(); i += 4) {
    const std::uint8_t a = sextet(i), b = sextet(i + 1), c = sextet(i + 2), d = sextet(i + 3);
    if (((a | b | c | d) & 0xc0U) != 0) return std::nullopt;  // valid sextets are below 64
    const std::uint32_t v = std::uint32_t{a} << 18U | std::uint32_t{b} << 12U | std::uint32_t{c} << 6U | d;
    out.push_back(static_cast<char>(v >> 16U & 0xffU));
    out.push_back(static_cast<char>(v >> 8U & 0xffU));
    out.push_back(static_cast<char>(v & 0xffU));
  }
  if (tail == 2) {
    const std::uint8_t a = sextet(i), b = sextet(i + 1);
    // The last character carries 2 bits of data; its other 4 must be zero (canonical).
    if (a == kInvalid || b == kInvalid || (b & 0x0fU) != 0) return std::nullopt;
    out.push_back(static_cast<char>((std::uint32_t{a} << 2U | std::uint32_t{b} >> 4U) & 0xffU));
  } else if (tail == 3) {
    const std::uint8_t a = sextet(i), b = sextet(i + 1), c = sextet(i + 2);
    if (a == kInvalid || b == kInvalid || c == kInvalid || (c & 0x03U) != 0) return std::nullopt;
    const std::uint32_t v = std::uint32_t{a} << 10U | std::uint32_t{b} << 4U | std::uint32_t{c} >> 2U;
    out.push_back(static_cast<char>(v >> 8U & 0xffU));
    out.push_back(static_cast<char>(v & 0xffU));
  }
  return out;
}

}  // namespace pit::detail::identity
