// Number rules: exact integers written as numbers ("2.0", "3e1"), doubles read correctly
// rounded, and the range of each integer type, float and double.
#include "contract/json_numbers.hpp"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "contract/json_errors.hpp"
#include "pit/json.hpp"

namespace pit::json::detail {
namespace {

// Scientific notation, so that a rounded huge value (a 20-digit integer beyond 64 bits is a
// double) never reads like an exact integer.
std::string format_double(double d) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d, std::chars_format::scientific);
  return {buffer, result.ptr};
}

[[noreturn]] void throw_out_of_range(const Path& path, std::string_view number,
                                     std::string_view type_name) {
  std::string what{number};
  what.append(" is out of range for ").append(type_name);
  throw bad_request(field_message(render(path), what));
}

// An integer field was given a number the parser kept as a double: every exact integer
// that fits 64 bits but -0 was already turned into an integer (see exact_integer), so this
// is either a fraction or an integer beyond 64 bits.
[[noreturn]] void throw_not_an_integer(const Path& path, Node got, std::string_view type_name) {
  const double d = got.as_double();
  if (std::trunc(d) == d && std::fabs(d) >= 0x1p63) throw_out_of_range(path, format_double(d), type_name);
  throw_type_error(path, Expected::integer, got);
}

// A 64-bit integer sent as a JSON string ("9007199254740993"), by a client whose numbers
// are doubles. Only the canonical decimal form is taken, so that each value has exactly one
// string: an optional '-', then "0" or digits not starting with 0. Nothing else: no '+',
// no leading zeros, no "-0", no fraction or exponent, no spaces.
struct DecimalString {
  bool valid = false;
  bool negative = false;
  bool fits = false;  // the magnitude fits 64 bits
  std::uint64_t magnitude = 0;
};

DecimalString parse_decimal_string(std::string_view s) noexcept {
  DecimalString result;
  std::size_t i = 0;
  if (i < s.size() && s[i] == '-') {
    result.negative = true;
    ++i;
  }
  const std::string_view digits = s.substr(i);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return result;
  }
  if (digits.front() == '0' && (digits.size() > 1 || result.negative)) return result;
  result.valid = true;
  result.fits = true;
  for (const char c : digits) {
    if (__builtin_mul_overflow(result.magnitude, 10U, &result.magnitude) ||
        __builtin_add_overflow(result.magnitude, static_cast<unsigned>(c - '0'), &result.magnitude)) {
      result.fits = false;
      break;
    }
  }
  return result;
}

// The text an out-of-range decimal string is named by: itself when it is no longer than
// the longest 64-bit value ("-" and 20 digits), else its length, as a message never echoes
// long input.
std::string out_of_range_text(std::string_view s) {
  if (s.size() <= 21) return std::string{s};
  return "a decimal string of " + std::to_string(s.size()) + " characters";
}

[[noreturn]] void throw_not_a_decimal_string(const Path& path) {
  throw bad_request(field_message(render(path), "expected an integer, got a string that is not a decimal integer"));
}

DecimalString checked_decimal_string(Node node, const Path& path) {
  const DecimalString d = parse_decimal_string(node.as_string());
  if (!d.valid) throw_not_a_decimal_string(path);
  return d;
}

}  // namespace

ExactInteger exact_integer(std::string_view text) noexcept {
  ExactInteger result;
  std::size_t i = 0;
  if (i < text.size() && text[i] == '-') {
    result.negative = true;
    ++i;
  }
  const std::size_t int_begin = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  const std::string_view int_part = text.substr(int_begin, i - int_begin);
  std::string_view frac_part;
  if (i < text.size() && text[i] == '.') {
    const std::size_t frac_begin = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_part = text.substr(frac_begin, i - frac_begin);
  }
  std::int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative_exponent = text[i++] == '-';
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      exponent = std::min<std::int64_t>(exponent * 10 + (text[i] - '0'), 1'000'000'000'000);
    }
    if (negative_exponent) exponent = -exponent;
  }
  // The digits int_part + frac_part, scaled by 10^(exponent - frac_part.size()).
  const std::size_t total = int_part.size() + frac_part.size();
  const auto digit = [&](std::size_t k) {
    return k < int_part.size() ? int_part[k] - '0' : frac_part[k - int_part.size()] - '0';
  };
  std::size_t first = 0;
  while (first < total && digit(first) == 0) ++first;
  if (first == total) {  // zero, whatever the exponent
    result.exact = true;
    return result;
  }
  std::size_t last = total - 1;
  while (digit(last) == 0) --last;
  const std::int64_t scale = exponent - static_cast<std::int64_t>(frac_part.size()) +
                             static_cast<std::int64_t>(total - 1 - last);
  const auto significant = static_cast<std::int64_t>(last - first + 1);
  if (scale < 0 || significant + scale > 20) return result;  // a fraction, or >= 10^20
  std::uint64_t magnitude = 0;
  for (std::size_t k = first; k <= last; ++k) {
    if (__builtin_mul_overflow(magnitude, 10U, &magnitude) ||
        __builtin_add_overflow(magnitude, static_cast<unsigned>(digit(k)), &magnitude)) {
      return result;
    }
  }
  for (std::int64_t k = 0; k < scale; ++k) {
    if (__builtin_mul_overflow(magnitude, 10U, &magnitude)) return result;
  }
  result.exact = true;
  result.magnitude = magnitude;
  return result;
}

double correctly_rounded(std::string_view text, double parsed) noexcept {
  double d = parsed;
  const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (err == std::errc::result_out_of_range) {
    return std::abs(parsed) < 1.0 ? parsed : HUGE_VAL;  // underflow keeps Boost's 0; overflow fails
  }
  if (err != std::errc{} || end != text.data() + text.size()) {
    return parsed;  // not a form from_chars reads (JSON's grammar is narrower): keep Boost's
  }
  return d;
}

std::int64_t decode_signed(Node node, const Path& path, std::int64_t min, std::int64_t max,
                           std::string_view type_name, bool decimal_string) {
  switch (node.kind()) {
    case Node::Kind::string: {
      if (!decimal_string) throw_type_error(path, Expected::integer, node);
      const DecimalString d = checked_decimal_string(node, path);
      // |min| = max + 1 for the two's complement types.
      const std::uint64_t limit = d.negative ? static_cast<std::uint64_t>(max) + 1 : static_cast<std::uint64_t>(max);
      if (!d.fits || d.magnitude > limit) throw_out_of_range(path, out_of_range_text(node.as_string()), type_name);
      const auto value = d.negative ? static_cast<std::int64_t>(0U - d.magnitude) : static_cast<std::int64_t>(d.magnitude);
      if (value < min) throw_out_of_range(path, out_of_range_text(node.as_string()), type_name);
      return value;
    }
    case Node::Kind::int64: {
      const std::int64_t i = node.as_int64();
      if (i < min || i > max) throw_out_of_range(path, std::to_string(i), type_name);
      return i;
    }
    case Node::Kind::uint64: {
      const std::uint64_t u = node.as_uint64();
      if (u > static_cast<std::uint64_t>(max)) throw_out_of_range(path, std::to_string(u), type_name);
      return static_cast<std::int64_t>(u);
    }
    case Node::Kind::number:
      if (node.as_double() == 0.0) return 0;  // -0: the one exact integer kept as a double
      throw_not_an_integer(path, node, type_name);
    default: throw_type_error(path, Expected::integer, node);
  }
}

std::uint64_t decode_unsigned(Node node, const Path& path, std::uint64_t max, std::string_view type_name,
                              bool decimal_string) {
  switch (node.kind()) {
    case Node::Kind::string: {
      if (!decimal_string) throw_type_error(path, Expected::integer, node);
      const DecimalString d = checked_decimal_string(node, path);
      if (d.negative || !d.fits || d.magnitude > max) {
        throw_out_of_range(path, out_of_range_text(node.as_string()), type_name);
      }
      return d.magnitude;
    }
    case Node::Kind::int64: {
      const std::int64_t i = node.as_int64();
      if (i < 0 || static_cast<std::uint64_t>(i) > max) throw_out_of_range(path, std::to_string(i), type_name);
      return static_cast<std::uint64_t>(i);
    }
    case Node::Kind::uint64: {
      const std::uint64_t u = node.as_uint64();
      if (u > max) throw_out_of_range(path, std::to_string(u), type_name);
      return u;
    }
    case Node::Kind::number:
      if (node.as_double() == 0.0) return 0;  // -0: the one exact integer kept as a double
      throw_not_an_integer(path, node, type_name);
    default: throw_type_error(path, Expected::integer, node);
  }
}

double decode_double(Node node, const Path& path) {
  switch (node.kind()) {
    case Node::Kind::int64:
    case Node::Kind::uint64:
    case Node::Kind::number: return node.as_double();  // finite: the parser rejects the rest
    default: throw_type_error(path, Expected::number, node);
  }
}

float decode_float(Node node, const Path& path) {
  const double d = decode_double(node, path);
  // In range iff the double rounds (to nearest, ties to even) to a finite float. Above
  // FLT_MAX = 2^128 - 2^104 that holds up to, not including, the midpoint 2^128 - 2^103
  // between FLT_MAX and 2^128: the tie goes to the even neighbour, 2^128 (infinity).
  // Comparing with FLT_MAX itself refused 3.4028235e+38, the text of FLT_MAX.
  static_assert(static_cast<double>(FLT_MAX) == 0x1p128 - 0x1p104);
  constexpr double kFloatOverflow = 0x1p128 - 0x1p103;
  if (std::fabs(d) >= kFloatOverflow) throw_out_of_range(path, format_double(d), "float");
  return static_cast<float>(d);
}

}  // namespace pit::json::detail
