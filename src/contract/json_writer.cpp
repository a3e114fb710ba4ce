// The Writer: compact JSON appended to a string, numbers in their shortest exact text.
#include <charconv>
#include <cmath>
#include <string>

#include "contract/json_escape.hpp"
#include "pit/json.hpp"

namespace pit::json {

using detail::escape_into;

// Every write ends with check(): a limited Writer throws as soon as its string passes the
// limit. Strings and keys are also checked before they are escaped (escaping never
// shortens), so a huge one is refused without being copied.
void Writer::too_large(std::size_t more) const { throw OutputTooLarge(out_->size() + more, max_bytes_); }

void Writer::separate() {
  if (need_comma_) out_->push_back(',');
}

void Writer::begin_object() {
  separate();
  out_->push_back('{');
  need_comma_ = false;
  check();
}

void Writer::end_object() {
  out_->push_back('}');
  need_comma_ = true;
  check();
}

void Writer::begin_array() {
  separate();
  out_->push_back('[');
  need_comma_ = false;
  check();
}

void Writer::end_array() {
  out_->push_back(']');
  need_comma_ = true;
  check();
}

bool Writer::key(std::string_view name) {
  check(name.size() + 3);  // "name":
  separate();
  out_->push_back('"');
  const bool exact = escape_into(*out_, name);
  out_->append("\":");
  need_comma_ = false;
  check();
  return exact;
}

void Writer::null() {
  separate();
  out_->append("null");
  need_comma_ = true;
  check();
}

void Writer::value(bool b) {
  separate();
  out_->append(b ? "true" : "false");
  need_comma_ = true;
  check();
}

void Writer::value(std::int64_t i) {
  separate();
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, i);
  out_->append(buffer, result.ptr);
  need_comma_ = true;
  check();
}

void Writer::value(std::uint64_t u) {
  separate();
  char buffer[24];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, u);
  out_->append(buffer, result.ptr);
  need_comma_ = true;
  check();
}

bool Writer::value(double d) {
  separate();
  need_comma_ = true;
  if (!std::isfinite(d)) {
    out_->append("null");
    check();
    return false;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
  out_->append(buffer, result.ptr);
  check();
  return true;
}

bool Writer::value(float f) {
  separate();
  need_comma_ = true;
  if (!std::isfinite(f)) {
    out_->append("null");
    check();
    return false;
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, f);  // shortest for float: 0.1f is "0.1"
  out_->append(buffer, result.ptr);
  check();
  return true;
}

bool Writer::value(std::string_view s) {
  check(s.size() + 2);  // "s"
  separate();
  out_->push_back('"');
  const bool exact = escape_into(*out_, s);
  out_->push_back('"');
  need_comma_ = true;
  check();
  return exact;
}

}  // namespace pit::json
