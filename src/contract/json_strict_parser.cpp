// The strict parser behind pit::json::decode: Boost.JSON's basic_parser with a handler that
// enforces RFC 8259 and pit's limits, naming the field path of what it refuses.
//
// With json_node.cpp and json_node_access.hpp, the only code that includes Boost.JSON.
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "contract/json_errors.hpp"
#include "contract/json_node_access.hpp"
#include "contract/json_numbers.hpp"
#include "pit/json.hpp"

namespace pit::json::detail {
namespace {

namespace bj = boost::json;

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
    d = correctly_rounded(text, d);  // Boost.JSON 1.81 can be off by an ulp near the range ends
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

}  // namespace pit::json::detail
