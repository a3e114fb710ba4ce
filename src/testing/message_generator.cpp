#include "testing/message_generator.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value_stack.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

namespace pit::testing::detail {
namespace {

namespace bj = boost::json;
using schema::Kind;

// Past this depth a generated value stops growing: arrays and maps are empty, optionals
// absent. A recursive message ends there; pit's nesting limit (64) is far away.
constexpr int kMaxDepth = 5;

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Decodes one UTF-8 sequence of valid text (what the generator made) at `i`.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto b = static_cast<unsigned char>(s[i]);
  const int extra = b < 0x80 ? 0 : b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
  char32_t c = extra == 0 ? b : extra == 1 ? (b & 0x1FU) : extra == 2 ? (b & 0x0FU) : (b & 0x07U);
  for (int k = 0; k < extra && i + 1 < s.size(); ++k) c = (c << 6) | (static_cast<unsigned char>(s[++i]) & 0x3FU);
  ++i;
  return c;
}

void append_u_escape(std::string& out, unsigned unit) {
  static constexpr char hex[] = "0123456789abcdef";
  out.append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(hex[(unit >> shift) & 0xFU]);
}

std::string compact(const bj::value& v) { return bj::serialize(v); }

bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  return alpha(s.front()) && std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::string member_path(const std::string& parent, std::string_view name) {
  if (is_identifier(name)) return parent.empty() ? std::string(name) : parent + "." + std::string(name);
  return parent + "[" + compact(bj::value(bj::string(name.substr(0, 32)))) + "]";
}

// Numbers by value, whatever JSON type the parser gave them (3, 3.0 and 3e0 are equal).
bool same_integer(const bj::value& a, const bj::value& b) {
  const auto split = [](const bj::value& v, bool& negative, std::uint64_t& magnitude) {
    if (v.is_int64()) {
      const std::int64_t i = v.get_int64();
      negative = i < 0;
      magnitude = negative ? static_cast<std::uint64_t>(-(i + 1)) + 1 : static_cast<std::uint64_t>(i);
      return true;
    }
    if (v.is_uint64()) {
      negative = false;
      magnitude = v.get_uint64();
      return true;
    }
    if (v.is_double()) {
      const double d = v.get_double();
      if (d != std::trunc(d) || std::fabs(d) >= 18446744073709551616.0) return false;
      negative = d < 0;
      magnitude = static_cast<std::uint64_t>(std::fabs(d));
      return true;
    }
    return false;
  };
  bool na = false;
  bool nb = false;
  std::uint64_t ma = 0;
  std::uint64_t mb = 0;
  if (!split(a, na, ma) || !split(b, nb, mb)) return false;
  return ma == mb && (na == nb || ma == 0);
}

std::optional<double> as_double(const bj::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

std::optional<Difference> differ(const std::string& path, const bj::value* expected, const bj::value* got,
                                 Kind kind = Kind::message) {
  return Difference{path.empty() ? "(root)" : path, kind, expected != nullptr ? compact(*expected) : "(absent)",
                    got != nullptr ? compact(*got) : "(absent)"};
}

std::optional<Difference> compare_at(const schema::Type& type, const bj::value& expected, const bj::value& got,
                                     const std::string& path) {
  switch (type.kind) {
    case Kind::boolean:
    case Kind::string:
    case Kind::enumeration:
      if (expected != got) return differ(path, &expected, &got, type.kind);
      return std::nullopt;
    case Kind::integer:
      if (!same_integer(expected, got)) return differ(path, &expected, &got, type.kind);
      return std::nullopt;
    case Kind::number: {
      const auto e = as_double(expected);
      const auto g = as_double(got);
      const bool same = e && g &&
                        (type.bits == 32 ? static_cast<float>(*e) == static_cast<float>(*g) : *e == *g);
      if (!same) return differ(path, &expected, &got, type.kind);
      return std::nullopt;
    }
    case Kind::optional:
      if (expected.is_null() || got.is_null()) {
        if (expected.is_null() != got.is_null()) return differ(path, &expected, &got);
        return std::nullopt;
      }
      return compare_at(*type.element, expected, got, path);
    case Kind::array: {
      if (!got.is_array() || got.as_array().size() != expected.as_array().size()) return differ(path, &expected, &got);
      for (std::size_t i = 0; i < expected.as_array().size(); ++i) {
        if (auto d = compare_at(*type.element, expected.as_array()[i], got.as_array()[i],
                                path + "[" + std::to_string(i) + "]")) {
          return d;
        }
      }
      return std::nullopt;
    }
    case Kind::map: {
      if (!got.is_object() || got.as_object().size() != expected.as_object().size()) {
        return differ(path, &expected, &got);
      }
      for (const auto& [key, value] : expected.as_object()) {
        const bj::value* other = got.as_object().if_contains(key);
        const std::string sub = member_path(path, key);
        if (other == nullptr) return differ(sub, &value, nullptr);
        if (auto d = compare_at(*type.element, value, *other, sub)) return d;
      }
      return std::nullopt;
    }
    case Kind::message: {
      if (!got.is_object()) return differ(path, &expected, &got);
      const bj::object& e = expected.as_object();
      const bj::object& g = got.as_object();
      for (const auto& f : type.fields) {
        const bj::value* ev = e.if_contains(f.name);
        const bj::value* gv = g.if_contains(f.name);
        // A member sent null is absent (docs/contracts-json.md): alike on both sides.
        if (ev != nullptr && ev->is_null()) ev = nullptr;
        if (gv != nullptr && gv->is_null()) gv = nullptr;
        const std::string sub = member_path(path, f.name);
        if (ev == nullptr || gv == nullptr) {
          if (ev != gv) return differ(sub, ev, gv);
          continue;
        }
        const schema::Type& ft = f.type->kind == Kind::optional ? *f.type->element : *f.type;
        if (auto d = compare_at(ft, *ev, *gv, sub)) return d;
      }
      for (const auto& member : g) {
        const std::string_view key = member.key();
        const bool described = std::any_of(type.fields.begin(), type.fields.end(),
                                           [key](const schema::Field& f) { return f.name == key; });
        if (!described) return differ(member_path(path, key), nullptr, &member.value());
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Builds a value like boost::json::parse, but reads every double correctly rounded
// (std::from_chars): Boost.JSON 1.81 can be an ulp off, and the round trip compares what
// the codec wrote to the exact value generated.
class ExactHandler {
 public:
  static constexpr std::size_t max_object_size = bj::object::max_size();
  static constexpr std::size_t max_array_size = bj::array::max_size();
  static constexpr std::size_t max_key_size = bj::string::max_size();
  static constexpr std::size_t max_string_size = bj::string::max_size();

  ExactHandler() { stack_.reset(); }
  bj::value release() { return stack_.release(); }

  bool on_document_begin(bj::error_code&) { return true; }
  bool on_document_end(bj::error_code&) { return true; }
  bool on_object_begin(bj::error_code&) { return true; }
  bool on_object_end(std::size_t n, bj::error_code&) {
    stack_.push_object(n);
    return true;
  }
  bool on_array_begin(bj::error_code&) { return true; }
  bool on_array_end(std::size_t n, bj::error_code&) {
    stack_.push_array(n);
    return true;
  }
  bool on_key_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_key(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_key(s);
    return true;
  }
  bool on_string_part(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(bj::string_view s, std::size_t, bj::error_code&) {
    stack_.push_string(s);
    return true;
  }
  bool on_number_part(bj::string_view s, bj::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, bj::string_view, bj::error_code&) {
    number_.clear();
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code&) {
    number_.clear();
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, bj::string_view s, bj::error_code&) {
    number_.append(s.data(), s.size());
    double exact = d;
    const auto r = std::from_chars(number_.data(), number_.data() + number_.size(), exact);
    stack_.push_double(r.ec == std::errc{} ? exact : d);
    number_.clear();
    return true;
  }
  bool on_bool(bool b, bj::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(bj::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }

 private:
  bj::value_stack stack_;
  std::string number_;
};

}  // namespace

bj::value parse_exact(std::string_view text, boost::system::error_code& ec) {
  bj::basic_parser<ExactHandler> parser{bj::parse_options{}};
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used != text.size()) ec = bj::error::extra_data;
  if (ec) return nullptr;
  return parser.handler().release();
}

std::string path_step(std::string_view name) { return member_path({}, name); }

std::optional<Difference> compare(const schema::Type& type, const bj::value& expected, const bj::value& got) {
  return compare_at(type, expected, got, {});
}

bj::value wrong_type(const schema::Type& type) {
  switch (type.kind) {
    case Kind::boolean:
      return bj::string("true");
    case Kind::integer:
    case Kind::number:
      return bj::string("seven");  // not a decimal integer either: refused for 64-bit integers too
    case Kind::string:
    case Kind::enumeration:
      return 42;
    case Kind::optional:
      return wrong_type(*type.element);
    case Kind::array:
      return bj::string("not a list");
    case Kind::map:
      return bj::array{1, 2};
    case Kind::message:
      return bj::array{bj::string("not an object")};
  }
  return nullptr;
}

std::string_view describe_json(const bj::value& value) {
  switch (value.kind()) {
    case bj::kind::null: return "null";
    case bj::kind::bool_: return "a boolean";
    case bj::kind::int64:
    case bj::kind::uint64: return "an integer";
    case bj::kind::double_: return "a number";
    case bj::kind::string: return "a string";
    case bj::kind::array: return "an array";
    case bj::kind::object: return "an object";
  }
  return "a value";
}

GeneratedMessage MessageGenerator::message(const schema::Type& type) {
  Pair p = value(type, 0);
  GeneratedMessage out;
  out.sent = p.sent ? std::move(*p.sent) : bj::value(bj::object{});
  out.expected = std::move(p.expected);
  out.text = write(out.sent);
  return out;
}

MessageGenerator::Pair MessageGenerator::field(const schema::Field& f, int depth) {
  const schema::Type& t = *f.type;
  if (t.kind == Kind::optional) {
    // Absent, null (the same as absent) or present.
    switch (std::uniform_int_distribution<int>(0, 3)(engine_)) {
      case 0:
        return {std::nullopt, nullptr};
      case 1:
        if (!f.required) return {bj::value(nullptr), nullptr};
        break;
      default:
        break;
    }
    if (depth >= kMaxDepth) return {std::nullopt, nullptr};
    return value(*t.element, depth + 1);
  }
  if (!f.required && coin(8)) {
    // Left out: the codec fills in the member's default.
    boost::system::error_code ec;
    bj::value def = parse_exact(f.default_json, ec);
    return {std::nullopt, std::move(def)};
  }
  return value(t, depth + 1);
}

MessageGenerator::Pair MessageGenerator::value(const schema::Type& type, int depth) {
  switch (type.kind) {
    case Kind::boolean: {
      const bool b = coin(2);
      return {bj::value(b), bj::value(b)};
    }
    case Kind::integer: {
      bj::value v = integer(type);
      if (type.bits == 64 && coin(4)) {
        // 64-bit integers may come as canonical decimal strings; the codec writes numbers.
        const std::string s = v.is_int64() ? std::to_string(v.get_int64()) : std::to_string(v.get_uint64());
        return {bj::value(bj::string(s)), std::move(v)};
      }
      return {v, v};
    }
    case Kind::number: {
      const double d = number(type);
      return {bj::value(d), bj::value(d)};
    }
    case Kind::string: {
      bj::value s = bj::string(text());
      return {s, s};
    }
    case Kind::enumeration: {
      if (type.enumerators.empty()) return {bj::value(bj::string("")), bj::value(bj::string(""))};
      const auto i = std::uniform_int_distribution<std::size_t>(0, type.enumerators.size() - 1)(engine_);
      bj::value s = bj::string(type.enumerators[i]);
      return {s, s};
    }
    case Kind::optional: {
      // Inside arrays and maps: null or a value.
      if (depth >= kMaxDepth || coin(3)) return {bj::value(nullptr), bj::value(nullptr)};
      return value(*type.element, depth + 1);
    }
    case Kind::array: {
      bj::array sent;
      bj::array expected;
      const std::size_t n = depth >= kMaxDepth ? 0 : std::uniform_int_distribution<std::size_t>(0, 3)(engine_);
      for (std::size_t i = 0; i < n; ++i) {
        Pair p = value(*type.element, depth + 1);
        sent.push_back(p.sent ? std::move(*p.sent) : bj::value(nullptr));
        expected.push_back(std::move(p.expected));
      }
      return {bj::value(std::move(sent)), bj::value(std::move(expected))};
    }
    case Kind::map: {
      bj::object sent;
      bj::object expected;
      const std::size_t n = depth >= kMaxDepth ? 0 : std::uniform_int_distribution<std::size_t>(0, 3)(engine_);
      for (std::size_t i = 0; i < n; ++i) {
        std::string key = text();
        if (sent.contains(key)) continue;
        Pair p = value(*type.element, depth + 1);
        sent[key] = p.sent ? std::move(*p.sent) : bj::value(nullptr);
        expected[key] = std::move(p.expected);
      }
      return {bj::value(std::move(sent)), bj::value(std::move(expected))};
    }
    case Kind::message: {
      bj::object sent;
      bj::object expected;
      for (const auto& f : type.fields) {
        Pair p = field(f, depth);
        if (p.sent) sent[f.name] = std::move(*p.sent);
        if (!p.expected.is_null()) expected[f.name] = std::move(p.expected);
      }
      return {bj::value(std::move(sent)), bj::value(std::move(expected))};
    }
  }
  return {bj::value(nullptr), bj::value(nullptr)};
}

bj::value MessageGenerator::integer(const schema::Type& type) {
  const std::int64_t min = type.min;
  const std::uint64_t max = type.max;
  const auto from_signed = [&](std::int64_t v) { return bj::value(v); };
  const auto from_unsigned = [&](std::uint64_t v) {
    return v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ? bj::value(v)
                                                                                    : bj::value(static_cast<std::int64_t>(v));
  };
  switch (std::uniform_int_distribution<int>(0, 6)(engine_)) {
    case 0: return type.is_signed ? from_signed(min) : from_unsigned(0);
    case 1: return from_unsigned(max);
    case 2: return type.is_signed ? from_signed(min + 1) : from_unsigned(1);
    case 3: return from_unsigned(max - 1);
    case 4: return from_signed(0);
    default: break;
  }
  if (type.is_signed) {
    const auto hi = static_cast<std::int64_t>(std::min<std::uint64_t>(max, std::numeric_limits<std::int64_t>::max()));
    return from_signed(std::uniform_int_distribution<std::int64_t>(min, hi)(engine_));
  }
  return from_unsigned(std::uniform_int_distribution<std::uint64_t>(0, max)(engine_));
}

double MessageGenerator::number(const schema::Type& type) {
  // Values exact in the member's type, so that the codec has one right answer.
  if (type.bits == 32) {
    static constexpr std::array<float, 8> edges = {0.0F, -0.0F, 0.1F, -1.5F, 3.0F, std::numeric_limits<float>::max(),
                                                   std::numeric_limits<float>::min(),
                                                   std::numeric_limits<float>::denorm_min()};
    if (coin(2)) return edges[std::uniform_int_distribution<std::size_t>(0, edges.size() - 1)(engine_)];
    for (;;) {
      const auto f = std::bit_cast<float>(static_cast<std::uint32_t>(engine_()));
      if (std::isfinite(f)) return f;
    }
  }
  static constexpr std::array<double, 9> edges = {0.0, -0.0, 0.1, -2.5, 1e21, 9007199254740993.0,
                                                  std::numeric_limits<double>::max(),
                                                  std::numeric_limits<double>::min(),
                                                  std::numeric_limits<double>::denorm_min()};
  if (coin(2)) return edges[std::uniform_int_distribution<std::size_t>(0, edges.size() - 1)(engine_)];
  for (;;) {
    const auto d = std::bit_cast<double>(static_cast<std::uint64_t>(engine_()));
    if (std::isfinite(d)) return d;
  }
}

std::string MessageGenerator::text() {
  // Characters that each take another path through a JSON codec: plain ASCII, what must
  // be escaped (quote, backslash, controls, NUL), DEL, two-, three- and four-byte UTF-8,
  // the line separators JavaScript chokes on, the last code point and the replacement
  // character.
  static constexpr std::array<char32_t, 22> special = {
      U'"', U'\\', U'/', U'\n', U'\r', U'\t', U'\b', U'\f', U'\0', U'\x1f', U'\x7f', U'\u00e9', U'\u0080',
      U'\u20ac', U'\u2028', U'\u2029', U'\ufffd', U'\ue000', U'\U0001F600', U'\U0010FFFF', U'\u4e2d', U' '};
  std::string out;
  const auto n = std::uniform_int_distribution<int>(0, 12)(engine_);
  for (int i = 0; i < n; ++i) {
    if (coin(3)) {
      append_utf8(out, special[std::uniform_int_distribution<std::size_t>(0, special.size() - 1)(engine_)]);
    } else {
      out.push_back(static_cast<char>(std::uniform_int_distribution<int>('a', 'z')(engine_)));
    }
  }
  return out;
}

std::string MessageGenerator::write(const bj::value& value) {
  std::string out;
  write(value, out);
  return out;
}

// JSON text of `value`, its strings escaped in every way JSON allows (picked at random per
// character: as is, \uXXXX, surrogate pairs for characters past the BMP), with whitespace
// between tokens now and then.
void MessageGenerator::write(const bj::value& value, std::string& out) {
  const auto space = [&] {
    if (coin(6)) out.append(coin(2) ? " " : "\n\t ");
  };
  switch (value.kind()) {
    case bj::kind::string:
      write_string(value.get_string(), out);
      return;
    case bj::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& v : value.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        space();
        write(v, out);
      }
      space();
      out.push_back(']');
      return;
    }
    case bj::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, v] : value.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        space();
        write_string(k, out);
        space();
        out.push_back(':');
        space();
        write(v, out);
      }
      space();
      out.push_back('}');
      return;
    }
    default:
      out.append(compact(value));
      return;
  }
}

void MessageGenerator::write_string(std::string_view s, std::string& out) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size();) {
    const char32_t c = next_code_point(s, i);
    const bool escape = coin(4);
    if (c == U'"' || c == U'\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || (escape && c < 0x10000)) {
      if (!escape && (c == U'\n' || c == U'\t' || c == U'\r' || c == U'\b' || c == U'\f')) {
        out.push_back('\\');
        out.push_back(c == U'\n' ? 'n' : c == U'\t' ? 't' : c == U'\r' ? 'r' : c == U'\b' ? 'b' : 'f');
      } else {
        append_u_escape(out, static_cast<unsigned>(c));
      }
    } else if (escape) {
      const char32_t v = c - 0x10000;
      append_u_escape(out, 0xD800U + static_cast<unsigned>(v >> 10));
      append_u_escape(out, 0xDC00U + static_cast<unsigned>(v & 0x3FFU));
    } else if (c == U'/' && coin(2)) {
      out.append("\\/");
    } else {
      append_utf8(out, c);
    }
  }
  out.push_back('"');
}

}  // namespace pit::testing::detail
