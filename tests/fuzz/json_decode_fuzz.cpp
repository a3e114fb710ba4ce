// pit::json::decode of a message with every supported shape (nested structs, vectors,
// optionals, maps, enums, integers of each width, float, double, strings, bools, required
// members, an enum with a fallback, reserved names; 64-bit integers may come as strings).
//
// Properties:
//  - decode either succeeds or throws pit::Fault with code invalid_argument and origin
//    runtime; any other exception, or another code, is a finding;
//  - what decoded encodes without a fault, and that text decodes again to a message that
//    encodes to the same text (encode ∘ decode is a fixed point after one step);
//  - tighter Limits never accept what the defaults reject, and agree on what both accept;
//  - counting unknown fields changes nothing about the result, and the encoding of a
//    decoded message has none (encode writes described members only);
//  - Writer::value(string) of the raw input is one line of valid JSON that decodes back to
//    the input exactly when the input was valid UTF-8.
#include <boost/describe.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pit/fault.hpp"
#include "pit/json.hpp"

namespace fuzzmsg {

enum class Kind { plain, gift, rush };
BOOST_DESCRIBE_ENUM(Kind, plain, gift, rush)

// An enum a newer peer may extend: unknown names decode to `other`.
enum class Tone { other, soft, loud };
BOOST_DESCRIBE_ENUM(Tone, other, soft, loud)
PIT_ENUM_FALLBACK(Tone, other)

struct Widths {
  std::int8_t i8 = 0;
  std::uint8_t u8 = 0;
  std::int16_t i16 = 0;
  std::uint16_t u16 = 0;
  std::int32_t i32 = 0;
  std::uint32_t u32 = 0;
  std::int64_t i64 = 0;
  std::uint64_t u64 = 0;
  float f = 0;
  double d = 0;
};
BOOST_DESCRIBE_STRUCT(Widths, (), (i8, u8, i16, u16, i32, u32, i64, u64, f, d))

struct Line {
  std::string sku;
  std::int32_t quantity = 1;
  std::optional<double> price;
  std::vector<std::string> tags;
};
BOOST_DESCRIBE_STRUCT(Line, (), (sku, quantity, price, tags))

struct Base {
  std::string trace;
};
BOOST_DESCRIBE_STRUCT(Base, (), (trace))

// PIT_REQUIRED members: a body without them (or with null) is refused, in a struct that is
// itself optional, and in a vector.
struct Checked {
  std::int64_t id = 0;
  std::string name;
  std::optional<std::int32_t> rank;
};
BOOST_DESCRIBE_STRUCT(Checked, (), (id, name, rank))
PIT_REQUIRED(Checked, id, name)

struct Message : Base {
  std::string id;
  Kind kind = Kind::plain;
  bool urgent = false;
  std::vector<Line> lines;
  std::optional<Line> primary;
  std::optional<std::string> note;
  std::map<std::string, std::int64_t> counts;
  std::map<std::string, Line> by_sku;
  std::vector<std::vector<std::int16_t>> grid;
  std::vector<bool> flags;
  std::vector<std::optional<Kind>> kinds;
  Widths widths;
  std::optional<Checked> checked;
  std::vector<Checked> checks;
  Tone tone = Tone::soft;
  std::vector<Tone> tones;
};
BOOST_DESCRIBE_STRUCT(Message, (Base),
                      (id, kind, urgent, lines, primary, note, counts, by_sku, grid, flags, kinds, widths,
                       checked, checks, tone, tones))
PIT_RESERVED(Message, "old_note", "legacy")

struct Text {
  std::string s;
};
BOOST_DESCRIBE_STRUCT(Text, (), (s))

}  // namespace fuzzmsg

namespace {

[[noreturn]] void fail(const char* what, std::string_view a, std::string_view b = {}) {
  std::fprintf(stderr, "json_decode_fuzz: %s\n  %.*s\n  %.*s\n", what, static_cast<int>(std::min<std::size_t>(a.size(), 2000)),
               a.data(), static_cast<int>(std::min<std::size_t>(b.size(), 2000)), b.data());
  std::abort();
}

// The message, or nullopt for a proper decode fault; aborts on anything else.
template <class T>
std::optional<T> try_decode(std::string_view text, const pit::json::Limits& limits) {
  try {
    return pit::json::decode<T>(text, limits);
  } catch (const pit::Fault& f) {
    if (f.code() != pit::Code::invalid_argument) fail("decode threw a fault that is not invalid_argument", text, f.message());
    if (f.origin() != pit::Fault::Origin::runtime) fail("a decode fault that is not from the runtime", text, f.message());
    if (f.message().empty()) fail("a decode fault without a message", text);
    return std::nullopt;
  } catch (const std::exception& e) {
    fail("decode threw something other than pit::Fault", text, e.what());
  } catch (...) {
    fail("decode threw something other than pit::Fault", text);
  }
}

template <class T>
std::string must_encode(const T& message, std::string_view from) {
  try {
    return pit::json::encode(message);
  } catch (const pit::Fault& f) {
    fail("a decoded message did not encode", from, f.message());
  }
}

void check_message(std::string_view text) {
  const auto decoded = try_decode<fuzzmsg::Message>(text, {});
  pit::json::Limits tight;
  tight.max_depth = 5;
  tight.max_string_bytes = 64;
  tight.max_elements = 64;
  const auto decoded_tight = try_decode<fuzzmsg::Message>(text, tight);
  if (decoded_tight && !decoded) fail("tight limits accepted what the defaults reject", text);
  fuzzmsg::Message counted;
  pit::json::DecodeStats stats;
  bool counted_ok = true;
  try {
    pit::json::decode_into(text, counted, {}, stats);
  } catch (const pit::Fault&) {
    counted_ok = false;
  }
  if (counted_ok != decoded.has_value()) fail("counting unknown fields changed whether the body decodes", text);
  if (stats.unknown_fields > text.size()) fail("more unknown fields than bytes", text);
  if (!decoded) return;
  const std::string once = must_encode(*decoded, text);
  if (must_encode(counted, text) != once) fail("counting unknown fields changed the decoded message", text);
  {
    fuzzmsg::Message clean;
    pit::json::DecodeStats none;
    pit::json::decode_into(once, clean, {}, none);
    if (none.unknown_fields != 0) fail("an encoded message holds unknown fields", once);
  }
  if (decoded_tight && must_encode(*decoded_tight, text) != once) fail("the limits changed the decoded message", text);
  const auto again = try_decode<fuzzmsg::Message>(once, {});
  if (!again) fail("the encoding of a decoded message does not decode", text, once);
  const std::string twice = must_encode(*again, text);
  if (twice != once) fail("encode/decode is not a fixed point", once, twice);
}

void check_string(std::string_view raw) {
  std::string quoted;
  pit::json::Writer writer{quoted};
  const bool valid_utf8 = writer.value(raw);
  for (unsigned char c : quoted) {
    if (c < 0x20 || c == 0x7f) fail("an escaped string holds a control character", raw, quoted);
  }
  const std::string doc = "{\"s\":" + quoted + "}";
  const auto back = try_decode<fuzzmsg::Text>(doc, {});
  if (!back) fail("an escaped string is not valid JSON", raw, doc);
  if (valid_utf8 && back->s != raw) fail("a valid UTF-8 string did not survive escaping", raw, back->s);
  if (!valid_utf8 && back->s == raw) fail("Writer::value called valid UTF-8 invalid", raw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  check_message(text);
  check_string(text);
  return 0;
}
