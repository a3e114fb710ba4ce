// The HTTP header parsers of src/transport/http/wire.hpp, each on the whole input.
//
// Properties:
//  - valid_request_id accepts exactly 1..128 characters of [A-Za-z0-9._:-];
//  - a parsed traceparent has a 32- and a 16-digit lowercase hex id, not all zero, and
//    format_traceparent of it parses back to the same ids and flag;
//  - a parsed tracestate is at most 512 characters, at most 32 members, no whitespace
//    around them, no key twice, and parses back to itself (normalizing is idempotent);
//  - a parsed Pit-Timeout is non-negative, and format_timeout of it parses back to exactly
//    it (a parsed value is a whole number of its unit, which format_timeout can always
//    write); format_timeout of any duration parses back to at most that duration and
//    less than one unit below it (it never extends a deadline);
//  - fault_of_problem of any body (with a status other than 200, taken from the input)
//    gives a fault that is not ok, has a message, and keeps a correlation id only if it is
//    a valid request id.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "transport/http/wire.hpp"

namespace {

namespace wire = pit::http_wire;

[[noreturn]] void fail(const char* what, std::string_view input, std::string_view detail = {}) {
  std::fprintf(stderr, "http_headers_fuzz: %s\n  input: %.*s\n  %.*s\n", what,
               static_cast<int>(std::min<std::size_t>(input.size(), 512)), input.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

bool lower_hex(std::string_view s, std::size_t size) {
  if (s.size() != size || s.find_first_not_of('0') == std::string_view::npos) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void check_request_id(std::string_view v) {
  bool expected = !v.empty() && v.size() <= 128;
  for (char c : v) expected = expected && id_char(c);
  if (wire::valid_request_id(v) != expected) fail("valid_request_id disagrees with its definition", v);
}

void check_traceparent(std::string_view v) {
  const auto tp = wire::parse_traceparent(v);
  if (!tp) return;
  if (!lower_hex(tp->trace_id, 32) || !lower_hex(tp->parent_span_id, 16)) fail("a traceparent with bad ids", v);
  const std::string formatted = wire::format_traceparent(tp->trace_id, tp->parent_span_id, tp->sampled);
  const auto back = wire::parse_traceparent(formatted);
  if (!back) fail("a formatted traceparent does not parse", v, formatted);
  if (back->trace_id != tp->trace_id || back->parent_span_id != tp->parent_span_id || back->sampled != tp->sampled) {
    fail("a traceparent did not survive format and parse", v, formatted);
  }
}

void check_timeout(std::string_view v) {
  if (const auto t = wire::parse_timeout(v)) {
    if (t->count() < 0) fail("a negative timeout", v);
    const std::string formatted = wire::format_timeout(*t);
    const auto back = wire::parse_timeout(formatted);
    if (!back) fail("a formatted timeout does not parse", v, formatted);
    if (*back != *t) fail("a timeout did not survive format and parse", v, formatted);
  }
  // Any duration (the first 8 bytes as a signed count of nanoseconds).
  if (v.size() >= 8) {
    std::int64_t n = 0;
    std::memcpy(&n, v.data(), sizeof n);
    const std::chrono::nanoseconds d{n};
    const std::string formatted = wire::format_timeout(d);
    const auto back = wire::parse_timeout(formatted);
    if (!back) fail("a formatted duration does not parse", v, formatted);
    const auto given = d.count() < 0 ? std::chrono::nanoseconds{0} : d;
    if (*back > given) fail("format_timeout extended a deadline", formatted);
    // The unit it chose is the smallest that fits in 8 digits: never more than one unit off.
    std::int64_t unit = 1;
    switch (formatted.back()) {
      case 'n': unit = 1; break;
      case 'u': unit = 1'000; break;
      case 'm': unit = 1'000'000; break;
      case 'S': unit = 1'000'000'000; break;
      case 'M': unit = 60'000'000'000; break;
      case 'H': unit = 3'600'000'000'000; break;
      default: fail("format_timeout wrote an unknown unit", formatted);
    }
    if ((given - *back).count() >= unit) fail("format_timeout lost more than one unit", formatted);
  }
}

void check_tracestate(std::string_view v) {
  const auto ts = wire::parse_tracestate(v);
  if (!ts) return;
  if (ts->size() > wire::kTracestateLimit) fail("a tracestate over the limit", v, *ts);
  std::size_t members = 0;
  std::string keys = ",";
  std::string_view rest = *ts;
  while (!rest.empty()) {
    const auto member = rest.substr(0, rest.find(','));
    ++members;
    if (member.empty() || member.front() == ' ' || member.front() == '\t' || member.back() == ' ' ||
        member.back() == '\t') {
      fail("a tracestate member with whitespace around it", v, *ts);
    }
    const std::string key = "," + std::string(member.substr(0, member.find('='))) + "=";
    if (keys.find(key) != std::string::npos) fail("a tracestate key twice", v, *ts);
    keys += key.substr(1) + ",";
    rest.remove_prefix(std::min(rest.size(), member.size() + 1));
  }
  if (members > 32) fail("a tracestate of more than 32 members", v, *ts);
  const auto again = wire::parse_tracestate(*ts);
  if (!again || *again != *ts) fail("a normalized tracestate did not parse back to itself", v, *ts);
}

void check_problem(std::string_view v) {
  // Any status but 200, which the client never hands to fault_of_problem.
  unsigned status = v.empty() ? 500U : 100U + static_cast<unsigned char>(v.front()) * 2U;
  if (status == 200U) status = 299U;
  const pit::Fault f = wire::fault_of_problem(status, v);
  if (f.code() == pit::Code::ok) fail("a problem that is ok", v);
  if (f.message().empty()) fail("a problem without a message", v);
  const auto id = f.correlation_id();
  if (!id.empty() && !wire::valid_request_id(id)) fail("a peer's invalid correlation id was kept", v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view v{reinterpret_cast<const char*>(data), size};
  check_request_id(v);
  check_traceparent(v);
  check_tracestate(v);
  check_timeout(v);
  check_problem(v);
  return 0;
}
