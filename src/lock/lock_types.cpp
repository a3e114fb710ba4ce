#include "lock/lock_types.hpp"

#include <charconv>
#include <limits>
#include <stdexcept>

namespace pit::lock::types {
namespace {

using namespace std::string_view_literals;

std::int64_t natural_min(bool is_signed, int bits) {
  return is_signed ? -static_cast<std::int64_t>((std::uint64_t{1} << (bits - 1)) - 1) - 1 : 0;
}
std::uint64_t natural_max(bool is_signed, int bits) {
  if (bits == 64) return is_signed ? static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                                   : std::numeric_limits<std::uint64_t>::max();
  return is_signed ? (std::uint64_t{1} << (bits - 1)) - 1 : (std::uint64_t{1} << bits) - 1;
}

template <class T>
bool read_number(std::string_view text, T& out) {
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

[[noreturn]] void bad(std::string_view text, std::string_view why) {
  throw std::invalid_argument("type \"" + std::string{text} + "\": " + std::string{why});
}

// "int32", "uint8[0..9]"
bool parse_integer(std::string_view text, Expr& out) {
  std::string_view rest = text;
  if (rest.starts_with("uint"sv)) {
    out.is_signed = false;
    rest.remove_prefix(4);
  } else if (rest.starts_with("int"sv)) {
    out.is_signed = true;
    rest.remove_prefix(3);
  } else {
    return false;
  }
  const auto bracket = rest.find('[');
  const std::string_view width = rest.substr(0, bracket);
  if (width != "8" && width != "16" && width != "32" && width != "64") return false;
  out.kind = schema::Kind::integer;
  (void)read_number(width, out.bits);
  out.min = natural_min(out.is_signed, out.bits);
  out.max = natural_max(out.is_signed, out.bits);
  if (bracket == std::string_view::npos) return true;
  std::string_view bounds = rest.substr(bracket);
  const auto dots = bounds.find("..");
  if (!bounds.ends_with(']') || dots == std::string_view::npos) bad(text, "bounds are written [min..max]");
  std::int64_t min = 0;
  std::uint64_t max = 0;
  if (!read_number(bounds.substr(1, dots - 1), min) ||
      !read_number(bounds.substr(dots + 2, bounds.size() - dots - 3), max)) {
    bad(text, "bounds are written [min..max], two integers");
  }
  if (min < out.min || max > out.max || (min >= 0 && static_cast<std::uint64_t>(min) > max)) {
    bad(text, "the bounds do not fit the integer's width, or min > max");
  }
  out.min = min;
  out.max = max;
  return true;
}

}  // namespace

std::string render(const Expr& type) {
  using schema::Kind;
  switch (type.kind) {
    case Kind::optional: return "optional<" + render(*type.element) + ">";
    case Kind::array: return "array<" + render(*type.element) + ">";
    case Kind::map: return "map<" + render(*type.element) + ">";
    case Kind::enumeration:
    case Kind::message: return type.name;
    default: break;
  }
  schema::Type plain;
  plain.kind = type.kind;
  plain.is_signed = type.is_signed;
  plain.bits = type.bits;
  plain.min = type.min;
  plain.max = type.max;
  return render(plain);
}

std::string render(const schema::Type& type) {
  using schema::Kind;
  const auto wrap = [&](std::string_view w) {
    if (type.element == nullptr) throw std::logic_error("pit::lock: a " + std::string{w} + " type without element");
    return std::string{w} + "<" + render(*type.element) + ">";
  };
  switch (type.kind) {
    case Kind::boolean: return "bool";
    case Kind::string: return "string";
    case Kind::number: return type.bits == 32 ? "float32" : "float64";
    case Kind::integer: {
      std::string out = (type.is_signed ? "int" : "uint") + std::to_string(type.bits);
      if (type.min != natural_min(type.is_signed, type.bits) || type.max != natural_max(type.is_signed, type.bits)) {
        // Appended piece by piece: GCC 12's -Wrestrict misfires on `"[" + std::to_string(...)` at -O3.
        out.append("[").append(std::to_string(type.min)).append("..").append(std::to_string(type.max)).append("]");
      }
      return out;
    }
    case Kind::optional: return wrap("optional");
    case Kind::array: return wrap("array");
    case Kind::map: return wrap("map");
    case Kind::enumeration:
    case Kind::message: return type.name;
  }
  throw std::logic_error("pit::lock: a type of unknown kind");
}

Expr parse(std::string_view text) {
  Expr out;
  if (text.empty()) bad(text, "empty");
  for (const auto& [prefix, kind] : {std::pair{"optional<"sv, schema::Kind::optional},
                                     std::pair{"array<"sv, schema::Kind::array},
                                     std::pair{"map<"sv, schema::Kind::map}}) {
    if (!text.starts_with(prefix)) continue;
    if (!text.ends_with('>')) bad(text, "no closing >");
    out.kind = kind;
    // Wrappers take one type, so the wrapper's > is the last character.
    out.element = std::make_unique<Expr>(parse(text.substr(prefix.size(), text.size() - prefix.size() - 1)));
    return out;
  }
  if (text == "bool") {
    out.kind = schema::Kind::boolean;
  } else if (text == "string") {
    out.kind = schema::Kind::string;
  } else if (text == "float32" || text == "float64") {
    out.kind = schema::Kind::number;
    out.bits = text == "float32" ? 32 : 64;
  } else if (!parse_integer(text, out)) {
    // A name: letters, digits, _, :, and the <>, of a template's name.
    for (const char c : text) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == ':' || c == '<' || c == '>' || c == ',' || c == ' ' || c == '.' || c == '(' || c == ')';
      if (!ok) bad(text, "not a type: a name of the lock's messages or enums, or a built-in type");
    }
    out.kind = schema::Kind::message;
    out.name = std::string{text};
  }
  return out;
}

}  // namespace pit::lock::types
