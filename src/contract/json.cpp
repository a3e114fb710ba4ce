// The JSON codec: escaping, the Writer, and the strict parser behind pit::json::decode.
//
// This is the only file that includes Boost.JSON. The header's templates walk the parsed
// document through pit::json::Node, a handle to a boost::json::value.
#include "pit/json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <array>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <utility>

#include "pit/fault.hpp"

namespace pit::json {
namespace {

namespace bj = boost::json;

// ---------------------------------------------------------------------------------------
// UTF-8 and escaping

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

// ---------------------------------------------------------------------------------------
// Messages

Fault bad_request(std::string message) {
  return Fault::invalid_argument(std::move(message)).from(Fault::Origin::runtime);
}

// Keys longer than this are cut in paths: a public message never echoes long input.
constexpr std::size_t kMaxKeyInPath = 32;

bool is_identifier(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxKeyInPath) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

// Path syntax, the same for struct members and map keys: `.name` when the name is a plain
// identifier (at most 32 bytes), `["name"]` otherwise, JSON-escaped and cut to 32 bytes
// followed by "..."; array elements are `[i]`.
void append_name(std::string& out, std::string_view name, bool first) {
  if (is_identifier(name)) {
    if (!first) out.push_back('.');
    out.append(name);
    return;
  }
  out.append("[\"");
  if (name.size() <= kMaxKeyInPath) {
    escape_into(out, name);
  } else {
    std::size_t cut = kMaxKeyInPath;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0U) == 0x80U) --cut;  // whole characters
    escape_into(out, name.substr(0, cut));
    out.append("...");
  }
  out.append("\"]");
}

void append_index(std::string& out, std::size_t index) {
  out.push_back('[');
  out.append(std::to_string(index));
  out.push_back(']');
}

constexpr std::string_view kRootPath = "(root)";

std::string render(const detail::Path& path) {
  std::vector<const detail::Path*> chain;
  for (const detail::Path* p = &path; p != nullptr; p = p->parent) {
    if (p->step != detail::Path::Step::root) chain.push_back(p);
  }
  if (chain.empty()) return std::string{kRootPath};
  std::string out;
  bool first = true;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->step == detail::Path::Step::index) {
      append_index(out, (*it)->index);
    } else {
      append_name(out, (*it)->name, first);
    }
    first = false;
  }
  return out;
}

std::string field_message(std::string_view path, std::string_view what) {
  std::string message;
  message.reserve(path.size() + what.size() + 12);
  message.append("field '").append(path).append("': ").append(what);
  return message;
}

// Scientific notation, so that a rounded huge value (a 20-digit integer beyond 64 bits is a
// double) never reads like an exact integer.
std::string format_double(double d) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d, std::chars_format::scientific);
  return {buffer, result.ptr};
}

[[noreturn]] void throw_out_of_range(const detail::Path& path, std::string_view number,
                                     std::string_view type_name) {
  std::string what{number};
  what.append(" is out of range for ").append(type_name);
  throw bad_request(field_message(render(path), what));
}

std::string_view expected_text(detail::Expected expected) noexcept {
  switch (expected) {
    case detail::Expected::object: return "an object";
    case detail::Expected::array: return "an array";
    case detail::Expected::string: return "a string";
    case detail::Expected::boolean: return "a boolean";
    case detail::Expected::integer: return "an integer";
    case detail::Expected::number: return "a number";
  }
  return "a value";
}

std::string_view got_text(Node got, detail::Expected expected) noexcept {
  switch (got.kind()) {
    case Node::Kind::null: return "null";
    case Node::Kind::boolean: return "a boolean";
    case Node::Kind::int64:
    case Node::Kind::uint64: return "an integer";
    case Node::Kind::number:
      return expected == detail::Expected::integer ? "a number with a fraction" : "a number";
    case Node::Kind::string: return "a string";
    case Node::Kind::array: return "an array";
    case Node::Kind::object: return "an object";
  }
  return "a value";
}

// An integer field was given a number the parser kept as a double: every exact integer
// that fits 64 bits but -0 was already turned into an integer (see exact_integer), so this
// is either a fraction or an integer beyond 64 bits.
[[noreturn]] void throw_not_an_integer(const detail::Path& path, Node got, std::string_view type_name) {
  const double d = got.as_double();
  if (std::trunc(d) == d && std::fabs(d) >= 0x1p63) throw_out_of_range(path, format_double(d), type_name);
  detail::throw_type_error(path, detail::Expected::integer, got);
}

const bj::value& value_of(const void* p) noexcept { return *static_cast<const bj::value*>(p); }

}  // namespace

namespace detail {
// The one way to make a Node: the header does not know the document type.
struct NodeAccess {
  static Node wrap(const bj::value& value) noexcept { return Node{&value}; }
};
}  // namespace detail

namespace {

// ---------------------------------------------------------------------------------------
// Parsing

// Boost.JSON reports every number written with a fraction or an exponent as a double, and
// so is an integer literal too large for 64 bits. "1.0" or "2e3" is still an exact
// integer; this recovers it from the text without rounding, so that integer fields accept
// it while 1.5 or 1.00000000000000000001 stay doubles (and are type errors for them).
struct ExactInteger {
  bool exact = false;  // an integer whose magnitude fits 64 bits
  bool negative = false;
  std::uint64_t magnitude = 0;
};

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

// A boost::json::basic_parser handler that builds a boost::json::value exactly like
// boost::json::parser does (through a value_stack), and on top of it enforces what
// Boost.JSON 1.81 does not: unique keys, finite numbers, and the string and value-count
// limits, naming the field path when it can.
//
// Duplicate keys: boost::json::object keeps one of the duplicates silently when the
// value_stack builds it, so they must be caught before that, while the keys of each open
// object are still known. Each key is copied into one arena string (no allocation per
// key) and recorded as (offset, length); when the object closes, its keys are compared —
// pairwise up to 8 keys, by sorting string_views above that (O(n log n) for big maps) —
// and then dropped from the arena. Memory stays bounded by the keys of the open objects.
class StrictHandler {
 public:
  static constexpr std::size_t max_object_size = bj::object::max_size();
  static constexpr std::size_t max_array_size = bj::array::max_size();
  static constexpr std::size_t max_key_size = bj::string::max_size();
  static constexpr std::size_t max_string_size = bj::string::max_size();

  StrictHandler(const Limits& limits, bj::storage_ptr document_storage, unsigned char* temp,
                std::size_t temp_size)
      : limits_(limits), stack_({}, temp, temp_size) {
    stack_.reset(std::move(document_storage));
  }

  bj::value release() { return stack_.release(); }
  [[nodiscard]] const std::string& failure() const noexcept { return failure_; }
  [[nodiscard]] bool failure_at_offset() const noexcept { return failure_at_offset_; }

  bool on_document_begin(bj::error_code&) { return true; }
  bool on_document_end(bj::error_code&) { return true; }

  bool on_object_begin(bj::error_code& ec) {
    if (!begin_value(ec)) return false;
    frames_.push_back({false, 0, keys_.size(), 0});
    return true;
  }

  bool on_object_end(std::size_t n, bj::error_code& ec) {
    const Frame frame = frames_.back();
    if (!keys_unique(frame, ec)) return false;
    if (frame.first_key < keys_.size()) key_text_.resize(keys_[frame.first_key].offset);
    keys_.resize(frame.first_key);
    frames_.pop_back();
    stack_.push_object(n);
    return true;
  }

  bool on_array_begin(bj::error_code& ec) {
    if (!begin_value(ec)) return false;
    frames_.push_back({true, 0, 0, 0});
    return true;
  }

  bool on_array_end(std::size_t n, bj::error_code&) {
    frames_.pop_back();
    stack_.push_array(n);
    return true;
  }

  bool on_key_part(bj::string_view s, std::size_t n, bj::error_code& ec) {
    if (!key_fits(n, ec)) return false;
    if (!in_key_) key_begin_ = key_text_.size();
    in_key_ = true;
    key_text_.append(s.data(), s.size());
    stack_.push_chars(s);
    return true;
  }

  bool on_key(bj::string_view s, std::size_t n, bj::error_code& ec) {
    if (!key_fits(n, ec)) return false;
    if (!in_key_) key_begin_ = key_text_.size();
    in_key_ = false;
    key_text_.append(s.data(), s.size());
    keys_.push_back({key_begin_, key_text_.size() - key_begin_});
    frames_.back().current_key = keys_.size() - 1;
    stack_.push_key(s);
    return true;
  }

  bool on_string_part(bj::string_view s, std::size_t n, bj::error_code& ec) {
    if (!in_string_ && !begin_value(ec)) return false;
    in_string_ = true;
    if (!string_fits(n, ec)) return false;
    stack_.push_chars(s);
    return true;
  }

  bool on_string(bj::string_view s, std::size_t n, bj::error_code& ec) {
    if (!in_string_ && !begin_value(ec)) return false;
    in_string_ = false;
    if (!string_fits(n, ec)) return false;
    stack_.push_string(s);
    return true;
  }

  bool on_number_part(bj::string_view s, bj::error_code&) {
    number_text_.append(s.data(), s.size());
    return true;
  }

  bool on_int64(std::int64_t i, bj::string_view s, bj::error_code& ec) {
    // -0 is kept as the double -0.0 (see push_exact_zero); the integer fields read it as 0.
    const bool negative = number_text_.empty() ? !s.empty() && s.front() == '-' : number_text_.front() == '-';
    number_text_.clear();
    if (!begin_value(ec)) return false;
    if (i == 0) {
      push_exact_zero(negative);
    } else {
      stack_.push_int64(i);
    }
    return true;
  }

  bool on_uint64(std::uint64_t u, bj::string_view, bj::error_code& ec) {
    number_text_.clear();
    if (!begin_value(ec)) return false;
    stack_.push_uint64(u);
    return true;
  }

  bool on_double(double d, bj::string_view s, bj::error_code& ec) {
    if (!begin_value(ec)) return false;
    std::string_view text{s.data(), s.size()};
    if (!number_text_.empty()) {  // the number arrived in parts
      number_text_.append(s.data(), s.size());
      text = number_text_;
    }
    // The value is read again from its text, correctly rounded: Boost.JSON 1.81's own
    // conversion can be off by an ulp or more near the ends of the range (-1.7973862697246313e308
    // came back as ...311e308), so what a peer encoded exactly would not decode to itself.
    const double parsed = d;
    {
      const auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (err == std::errc::result_out_of_range) {
        d = std::abs(parsed) < 1.0 ? parsed : HUGE_VAL;  // underflow keeps Boost's 0; overflow fails below
      } else if (err != std::errc{} || end != text.data() + text.size()) {
        d = parsed;  // not a form from_chars reads (JSON's grammar is narrower): keep Boost's
      }
    }
    // Boost.JSON 1.81 turns 1e999 (and a 400-digit integer) into an infinity, silently.
    if (!std::isfinite(d)) {
      return fail(ec, field_message(value_path(), text.size() <= 24 ? std::string{text} + " is out of range"
                                                                    : "number is out of range"));
    }
    const ExactInteger exact = exact_integer(text);
    number_text_.clear();
    constexpr std::uint64_t int64_limit = std::uint64_t{1} << 63U;
    if (exact.exact && exact.magnitude == 0) {
      push_exact_zero(exact.negative);
    } else if (exact.exact && !exact.negative && exact.magnitude < int64_limit) {
      stack_.push_int64(static_cast<std::int64_t>(exact.magnitude));
    } else if (exact.exact && !exact.negative) {
      stack_.push_uint64(exact.magnitude);
    } else if (exact.exact && exact.magnitude <= int64_limit) {
      stack_.push_int64(static_cast<std::int64_t>(0 - exact.magnitude));  // two's complement
    } else {
      stack_.push_double(d);
    }
    return true;
  }

  bool on_bool(bool b, bj::error_code& ec) {
    if (!begin_value(ec)) return false;
    stack_.push_bool(b);
    return true;
  }

  bool on_null(bj::error_code& ec) {
    if (!begin_value(ec)) return false;
    stack_.push_null();
    return true;
  }

  // Comments are disabled in the parse options; these are never called.
  bool on_comment_part(bj::string_view, bj::error_code&) { return true; }
  bool on_comment(bj::string_view, bj::error_code&) { return true; }

 private:
  // A zero written with a minus sign ("-0", "-0.0e5") is the double -0.0, so that a double
  // field keeps the sign its encoding ("-0") wrote: read as the integer 0 it came back +0
  // and encode∘decode was not a fixed point (a fuzz finding). decode_signed/unsigned take
  // it as 0, like any other exact integer written as a number.
  void push_exact_zero(bool negative) {
    if (negative) {
      stack_.push_double(-0.0);
    } else {
      stack_.push_int64(0);
    }
  }

  struct Frame {
    bool is_array;
    std::size_t elements;     // arrays: elements begun so far; the current one is elements - 1
    std::size_t first_key;    // objects: index in keys_ of this object's first key
    std::size_t current_key;  // objects: index in keys_ of the member being parsed
  };
  struct KeySpan {
    std::size_t offset;
    std::size_t length;
  };

  bool fail(bj::error_code& ec, std::string message, bool at_offset = false) {
    failure_ = std::move(message);
    failure_at_offset_ = at_offset;
    ec = bj::error::exception;  // any code: parse() reports failure_ instead
    return false;
  }

  bool begin_value(bj::error_code& ec) {
    if (++values_ > limits_.max_elements) {
      return fail(ec,
                  "request body has more than the limit of " + std::to_string(limits_.max_elements) +
                      " values",
                  true);
    }
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().elements;
    return true;
  }

  bool string_fits(std::size_t n, bj::error_code& ec) {
    if (n <= limits_.max_string_bytes) return true;
    return fail(ec, field_message(value_path(), "string is longer than the limit of " +
                                                    std::to_string(limits_.max_string_bytes) + " bytes"));
  }

  bool key_fits(std::size_t n, bj::error_code& ec) {
    if (n <= limits_.max_string_bytes) return true;
    return fail(ec, field_message(path_of_frames(frames_.size() - 1, nullptr),
                                  "key is longer than the limit of " +
                                      std::to_string(limits_.max_string_bytes) + " bytes"));
  }

  std::string_view key(std::size_t index) const noexcept {
    return std::string_view{key_text_}.substr(keys_[index].offset, keys_[index].length);
  }

  bool keys_unique(const Frame& frame, bj::error_code& ec) {
    const std::size_t n = keys_.size() - frame.first_key;
    if (n < 2) return true;
    std::optional<std::string_view> duplicate;
    if (n <= 8) {
      for (std::size_t i = frame.first_key; i < keys_.size() && !duplicate; ++i) {
        for (std::size_t j = i + 1; j < keys_.size(); ++j) {
          if (key(i) == key(j)) {
            duplicate = key(i);
            break;
          }
        }
      }
    } else {
      sorted_keys_.clear();
      for (std::size_t i = frame.first_key; i < keys_.size(); ++i) sorted_keys_.push_back(key(i));
      std::sort(sorted_keys_.begin(), sorted_keys_.end());
      const auto it = std::adjacent_find(sorted_keys_.begin(), sorted_keys_.end());
      if (it != sorted_keys_.end()) duplicate = *it;
    }
    if (!duplicate) return true;
    // The object is the top frame: its path is that of the frames below, plus the key.
    return fail(ec, field_message(path_of_frames(frames_.size() - 1, &*duplicate), "duplicate key"));
  }

  // The path of the value being parsed: the current member or element of every open frame.
  std::string value_path() const { return path_of_frames(frames_.size(), nullptr); }

  std::string path_of_frames(std::size_t count, const std::string_view* extra_key) const {
    std::string path;
    bool first = true;
    for (std::size_t i = 0; i < count; ++i) {
      const Frame& frame = frames_[i];
      if (frame.is_array) {
        append_index(path, frame.elements - 1);
      } else {
        append_name(path, key(frame.current_key), first);
      }
      first = false;
    }
    if (extra_key != nullptr) append_name(path, *extra_key, first);
    return path.empty() ? std::string{kRootPath} : path;
  }

  const Limits& limits_;
  bj::value_stack stack_;
  std::size_t values_ = 0;
  std::vector<Frame> frames_;
  std::string key_text_;  // keys of the open objects, back to back
  std::vector<KeySpan> keys_;
  std::vector<std::string_view> sorted_keys_;
  std::size_t key_begin_ = 0;
  bool in_key_ = false;
  bool in_string_ = false;
  std::string number_text_;
  std::string failure_;
  bool failure_at_offset_ = false;
};

// Parser depth is bounded because both Boost.JSON's parser and the decode templates
// recurse once per level.
constexpr int kDepthCeiling = 1024;

std::string_view syntax_reason(const bj::error_code& ec, std::string_view text, std::size_t offset) {
  if (ec == bj::error::incomplete) return "unexpected end of input";
  if (ec == bj::error::exponent_overflow) return "number exponent is out of range";
  if (ec == bj::error::expected_hex_digit) return "invalid \\u escape";
  if (ec == bj::error::illegal_leading_surrogate || ec == bj::error::illegal_trailing_surrogate ||
      ec == bj::error::expected_utf16_escape) {
    return "unpaired surrogate in \\u escape";
  }
  if (ec == bj::error::object_too_large || ec == bj::error::array_too_large ||
      ec == bj::error::key_too_large || ec == bj::error::string_too_large) {
    return "value too large";
  }
  // Boost.JSON says only "syntax error"; the byte at the offset tells more.
  if (offset < text.size()) {
    const auto byte = static_cast<unsigned char>(text[offset]);
    if (byte >= 0x80) return "invalid UTF-8";
    if (byte < 0x20) return "unescaped control character";
  }
  return "syntax error";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Public functions

void append_escaped(std::string& out, std::string_view s) { escape_into(out, s); }

void Writer::separate() {
  if (need_comma_) out_->push_back(',');
}

void Writer::begin_object() {
  separate();
  out_->push_back('{');
  need_comma_ = false;
}

void Writer::end_object() {
  out_->push_back('}');
  need_comma_ = true;
}

void Writer::begin_array() {
  separate();
  out_->push_back('[');
  need_comma_ = false;
}

void Writer::end_array() {
  out_->push_back(']');
  need_comma_ = true;
}

bool Writer::key(std::string_view name) {
  separate();
  out_->push_back('"');
  const bool exact = escape_into(*out_, name);
  out_->append("\":");
  need_comma_ = false;
  return exact;
}

void Writer::null() {
  separate();
  out_->append("null");
  need_comma_ = true;
}

void Writer::value(bool b) {
  separate();
  out_->append(b ? "true" : "false");
  need_comma_ = true;
}

void Writer::value(std::int64_t i) {
  separate();
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, i);
  out_->append(buffer, result.ptr);
  need_comma_ = true;
}

void Writer::value(std::uint64_t u) {
  separate();
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, u);
  out_->append(buffer, result.ptr);
  need_comma_ = true;
}

bool Writer::value(double d) {
  separate();
  need_comma_ = true;
  if (!std::isfinite(d)) {
    out_->append("null");
    return false;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
  out_->append(buffer, result.ptr);
  return true;
}

bool Writer::value(float f) {
  separate();
  need_comma_ = true;
  if (!std::isfinite(f)) {
    out_->append("null");
    return false;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, f);  // shortest for float: 0.1f is "0.1"
  out_->append(buffer, result.ptr);
  return true;
}

bool Writer::value(std::string_view s) {
  separate();
  out_->push_back('"');
  const bool exact = escape_into(*out_, s);
  out_->push_back('"');
  need_comma_ = true;
  return exact;
}

Node::Kind Node::kind() const noexcept {
  switch (value_of(value_).kind()) {
    case bj::kind::null: return Kind::null;
    case bj::kind::bool_: return Kind::boolean;
    case bj::kind::int64: return Kind::int64;
    case bj::kind::uint64: return Kind::uint64;
    case bj::kind::double_: return Kind::number;
    case bj::kind::string: return Kind::string;
    case bj::kind::array: return Kind::array;
    case bj::kind::object: return Kind::object;
  }
  return Kind::null;
}

bool Node::as_bool() const noexcept {
  const bool* b = value_of(value_).if_bool();
  return b != nullptr && *b;
}

std::int64_t Node::as_int64() const noexcept {
  const std::int64_t* i = value_of(value_).if_int64();
  return i != nullptr ? *i : 0;
}

std::uint64_t Node::as_uint64() const noexcept {
  const std::uint64_t* u = value_of(value_).if_uint64();
  return u != nullptr ? *u : 0;
}

double Node::as_double() const noexcept {
  const bj::value& v = value_of(value_);
  switch (v.kind()) {
    case bj::kind::int64: return static_cast<double>(v.get_int64());
    case bj::kind::uint64: return static_cast<double>(v.get_uint64());
    case bj::kind::double_: return v.get_double();
    default: return 0.0;
  }
}

std::string_view Node::as_string() const noexcept {
  const bj::string* s = value_of(value_).if_string();
  return s != nullptr ? std::string_view{s->data(), s->size()} : std::string_view{};
}

std::size_t Node::size() const noexcept {
  const bj::value& v = value_of(value_);
  if (const bj::array* a = v.if_array()) return a->size();
  if (const bj::object* o = v.if_object()) return o->size();
  return 0;
}

Node Node::at(std::size_t i) const noexcept {
  const bj::array* a = value_of(value_).if_array();
  return a != nullptr && i < a->size() ? Node{&(*a)[i]} : Node{};
}

std::string_view Node::key_at(std::size_t i) const noexcept {
  const bj::object* o = value_of(value_).if_object();
  if (o == nullptr || i >= o->size()) return {};
  const bj::string_view key = o->begin()[static_cast<std::ptrdiff_t>(i)].key();
  return {key.data(), key.size()};
}

Node Node::value_at(std::size_t i) const noexcept {
  const bj::object* o = value_of(value_).if_object();
  if (o == nullptr || i >= o->size()) return {};
  return Node{&o->begin()[static_cast<std::ptrdiff_t>(i)].value()};
}

Node Node::find(std::string_view key) const noexcept {
  const bj::object* o = value_of(value_).if_object();
  if (o == nullptr) return {};
  const bj::value* member = o->if_contains(bj::string_view{key.data(), key.size()});
  return member != nullptr ? Node{member} : Node{};
}

namespace detail {

void throw_type_error(const Path& path, Expected expected, Node got) {
  std::string what{"expected "};
  what.append(expected_text(expected)).append(", got ").append(got_text(got, expected));
  throw bad_request(field_message(render(path), what));
}

void throw_unknown_enum_name(const Path& path, const std::vector<std::string_view>& names) {
  // The accepted names are part of the contract; the rejected input is not echoed.
  constexpr std::size_t kListed = 10;
  std::string what{"unknown name, expected one of "};
  for (std::size_t i = 0; i < names.size() && i < kListed; ++i) {
    if (i > 0) what.append(", ");
    what.push_back('"');
    escape_into(what, names[i]);
    what.push_back('"');
  }
  if (names.size() > kListed) what.append(", ...");
  throw bad_request(field_message(render(path), what));
}

void throw_required_field(const Path& path, bool present) {
  throw bad_request(field_message(render(path), present ? "required, but null" : "required, but missing"));
}

void throw_encode_error(const Path& path, std::string_view reason) {
  throw Fault::internal("reply could not be encoded")
      .from(Fault::Origin::runtime)
      .with_cause(field_message(render(path), reason));
}

bool decode_bool(Node node, const Path& path) {
  if (node.kind() != Node::Kind::boolean) throw_type_error(path, Expected::boolean, node);
  return node.as_bool();
}

std::int64_t decode_signed(Node node, const Path& path, std::int64_t min, std::int64_t max,
                           std::string_view type_name) {
  switch (node.kind()) {
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

std::uint64_t decode_unsigned(Node node, const Path& path, std::uint64_t max, std::string_view type_name) {
  switch (node.kind()) {
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

std::string_view decode_string(Node node, const Path& path) {
  if (node.kind() != Node::Kind::string) throw_type_error(path, Expected::string, node);
  return node.as_string();  // valid UTF-8: the parser validates it
}

void parse(std::string_view text, const Limits& limits, RootVisitor visit, void* target) {
  if (text.empty()) throw bad_request("request body is empty");

  bj::parse_options options;
  const int depth = std::clamp(limits.max_depth, 1, kDepthCeiling);
  options.max_depth = static_cast<std::size_t>(depth);
  // Strict RFC 8259: these are Boost.JSON's defaults too, spelled out so that they stay.
  options.allow_comments = false;
  options.allow_trailing_commas = false;
  options.allow_invalid_utf8 = false;

  // Small messages are built without touching the heap; the resource frees everything at
  // once when the document goes out of scope (Boost.JSON then skips element destructors).
  alignas(std::max_align_t) unsigned char document_buffer[4096];
  bj::monotonic_resource document_memory(document_buffer, sizeof document_buffer);
  alignas(std::max_align_t) unsigned char stack_buffer[1024];

  bj::basic_parser<StrictHandler> parser(options, limits, bj::storage_ptr(&document_memory), stack_buffer,
                                         sizeof stack_buffer);
  bj::error_code ec;
  // One call with more = false: the whole body is here, and the parser stops at the end
  // of the root value, returning how far it got (or where it failed).
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size()) [[unlikely]] {
    const std::string offset = " at offset " + std::to_string(used);
    const StrictHandler& handler = parser.handler();
    if (!handler.failure().empty()) {
      throw bad_request(handler.failure_at_offset() ? handler.failure() + offset : handler.failure());
    }
    if (ec == bj::error::too_deep) {
      throw bad_request("request body nests deeper than the limit of " + std::to_string(depth) + offset);
    }
    if (ec) {
      throw bad_request("request body is not valid JSON: " + std::string{syntax_reason(ec, text, used)} +
                        offset);
    }
    throw bad_request("request body is not valid JSON: unexpected data after the value" + offset);
  }
  const bj::value root = parser.handler().release();
  visit(NodeAccess::wrap(root), target);
}

}  // namespace detail
}  // namespace pit::json
