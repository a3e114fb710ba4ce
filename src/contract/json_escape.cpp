// UTF-8 and escaping: which bytes a JSON string carries as they are, which are escaped, and
// what replaces ill-formed UTF-8.
#include "contract/json_escape.hpp"

#include <array>
#include <cstddef>

#include "pit/json.hpp"

namespace pit::json {
namespace detail {
namespace {

struct Utf8Step {
  std::size_t length;  // bytes consumed: the sequence, or the maximal ill-formed subpart
  bool valid;
  char32_t code_point;
};

// Decodes the sequence at p (p < end). An ill-formed sequence reports the length of its
// maximal subpart (Unicode 15, 3.9 "U+FFFD substitution of maximal subparts"), so that
// one bad lead byte does not swallow the following good characters.
Utf8Step next_utf8(const unsigned char* p, const unsigned char* end) noexcept {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) return {1, true, b0};
  std::size_t continuation = 0;
  char32_t cp = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    continuation = 1;
    cp = b0 & 0x1FU;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    continuation = 2;
    cp = b0 & 0x0FU;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    continuation = 3;
    cp = b0 & 0x07U;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return {1, false, 0};
  }
  for (std::size_t i = 1; i <= continuation; ++i) {
    if (p + i >= end || p[i] < lo || p[i] > hi) return {i, false, 0};
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6U) | (p[i] & 0x3FU);
  }
  return {continuation + 1, true, cp};
}

// Bytes copied as they are: printable ASCII except the quote and the backslash.
constexpr std::array<bool, 256> kPlain = [] {
  std::array<bool, 256> plain{};
  for (int b = 0x20; b < 0x7F; ++b) plain[static_cast<std::size_t>(b)] = b != '"' && b != '\\';
  return plain;
}();

void append_u_escape(std::string& out, char32_t cp) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char escape[6] = {'\\', 'u', kHex[(cp >> 12U) & 0xFU], kHex[(cp >> 8U) & 0xFU],
                          kHex[(cp >> 4U) & 0xFU], kHex[cp & 0xFU]};
  out.append(escape, sizeof escape);
}

}  // namespace

// append_escaped, reporting whether `s` was well-formed UTF-8.
bool escape_into(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  bool well_formed = true;
  while (p < end) {
    const auto* run = p;
    while (p < end && kPlain[*p]) ++p;
    out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    if (p == end) break;
    if (*p < 0x80) {  // C0 control, DEL, quote or backslash
      if (*p == '"') {
        out.append("\\\"");
      } else if (*p == '\\') {
        out.append("\\\\");
      } else {
        append_u_escape(out, *p);
      }
      ++p;
      continue;
    }
    const Utf8Step step = next_utf8(p, end);
    if (!step.valid) {
      out.append("\\ufffd");
      well_formed = false;
    } else if ((step.code_point >= 0x80 && step.code_point <= 0x9F) || step.code_point == 0x2028 ||
               step.code_point == 0x2029) {
      // C1 controls (NEL) and the Unicode line/paragraph separators end a line for some
      // log viewers and JavaScript; keep the output one line for all of them.
      append_u_escape(out, step.code_point);
    } else {
      out.append(reinterpret_cast<const char*>(p), step.length);
    }
    p += step.length;
  }
  return well_formed;
}

}  // namespace detail

void append_escaped(std::string& out, std::string_view s) { detail::escape_into(out, s); }

}  // namespace pit::json
