#include "transport/http/wire.hpp"

#include <algorithm>
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>

#include "pit/json.hpp"

namespace pit::http_wire {
namespace {

bool is_lower_hex(std::string_view s) noexcept {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) noexcept { return s.find_first_not_of('0') == std::string_view::npos; }

// RFC 9110 OWS: spaces and horizontal tabs.
std::string_view trim_ows(std::string_view s) noexcept {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// key = (lcalpha / DIGIT) 0*255(lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@")
// value = 0*255(%x20 / nblk-chr) nblk-chr, nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
// `member` is already trimmed, so a value never ends in a space here (a trailing space is
// OWS, not part of the value).
bool valid_tracestate_member(std::string_view member) noexcept {
  const auto eq = member.find('=');
  if (eq == std::string_view::npos) return false;
  const auto key = member.substr(0, eq);
  const auto value = member.substr(eq + 1);
  if (key.empty() || key.size() > 256 || value.empty() || value.size() > 256) return false;
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(key[0])) return false;
  for (char c : key) {
    if (!lower_or_digit(c) && c != '_' && c != '-' && c != '*' && c != '/' && c != '@') return false;
  }
  for (char c : value) {
    if (c < 0x20 || c > 0x7E || c == ',' || c == '=') return false;
  }
  return value.back() != ' ';
}

struct StatusOf {
  Code code;
  unsigned status;
  std::string_view title;
};
// https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto ("HTTP Mapping")
constexpr std::array<StatusOf, code_count> kTable{{
    {Code::ok, 200, "OK"},
    {Code::cancelled, 499, "Cancelled"},
    {Code::unknown, 500, "Unknown error"},
    {Code::invalid_argument, 400, "Invalid argument"},
    {Code::deadline_exceeded, 504, "Deadline exceeded"},
    {Code::not_found, 404, "Not found"},
    {Code::already_exists, 409, "Already exists"},
    {Code::permission_denied, 403, "Permission denied"},
    {Code::resource_exhausted, 429, "Resource exhausted"},
    {Code::failed_precondition, 400, "Failed precondition"},
    {Code::aborted, 409, "Aborted"},
    {Code::out_of_range, 400, "Out of range"},
    {Code::unimplemented, 501, "Unimplemented"},
    {Code::internal, 500, "Internal error"},
    {Code::unavailable, 503, "Unavailable"},
    {Code::data_loss, 500, "Data loss"},
    {Code::unauthenticated, 401, "Unauthenticated"},
}};

void append_string_member(std::string& out, std::string_view key, std::string_view value) {
  out.append(",\"").append(key).append("\":\"");
  json::append_escaped(out, value);
  out.push_back('"');
}

}  // namespace

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<Traceparent> parse_traceparent(std::string_view v) noexcept {
  v = trim_ows(v);
  // version "-" trace-id "-" parent-id "-" flags; later versions may append "-..." fields.
  if (v.size() < 55) return std::nullopt;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  const auto version = v.substr(0, 2);
  const auto trace = v.substr(3, 32);
  const auto parent = v.substr(36, 16);
  const auto flags = v.substr(53, 2);
  if (!is_lower_hex(version) || version == "ff") return std::nullopt;
  if (version == "00" && v.size() != 55) return std::nullopt;
  if (version != "00" && v.size() > 55 && v[55] != '-') return std::nullopt;
  if (!is_lower_hex(trace) || !is_lower_hex(parent) || !is_lower_hex(flags)) return std::nullopt;
  if (all_zero(trace) || all_zero(parent)) return std::nullopt;
  unsigned f = 0;
  std::from_chars(flags.data(), flags.data() + 2, f, 16);
  return Traceparent{trace, parent, (f & 1U) != 0};
}

std::string format_traceparent(std::string_view trace_id, std::string_view span_id, bool sampled) {
  std::string out;
  out.reserve(55);
  out.append("00-").append(trace_id).append("-").append(span_id).append(sampled ? "-01" : "-00");
  return out;
}

std::optional<std::string> parse_tracestate(std::string_view combined) {
  static constexpr std::size_t kMaxMembers = 32;
  static constexpr std::size_t kLongMember = 128;
  std::array<std::string_view, kMaxMembers> members{};
  std::size_t count = 0;
  while (true) {
    const auto comma = combined.find(',');
    const auto member = trim_ows(combined.substr(0, comma));
    if (!member.empty()) {
      if (!valid_tracestate_member(member)) return std::nullopt;
      const auto key = member.substr(0, member.find('='));
      const bool seen = std::any_of(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(count),
                                    [&](std::string_view m) { return m.substr(0, m.find('=')) == key; });
      if (!seen) {
        if (count == kMaxMembers) return std::nullopt;
        members[count++] = member;
      }
    }
    if (comma == std::string_view::npos) break;
    combined.remove_prefix(comma + 1);
  }
  // Over the limit, whole members go: the long ones first (from the end), then from the end.
  auto length = [&] {
    std::size_t n = count > 0 ? count - 1 : 0;
    for (std::size_t i = 0; i < count; ++i) n += members[i].size();
    return n;
  };
  auto remove = [&](std::size_t i) {
    std::copy(members.begin() + static_cast<std::ptrdiff_t>(i) + 1,
              members.begin() + static_cast<std::ptrdiff_t>(count), members.begin() + static_cast<std::ptrdiff_t>(i));
    --count;
  };
  for (std::size_t i = count; i-- > 0 && length() > kTracestateLimit;) {
    if (members[i].size() > kLongMember) remove(i);
  }
  while (length() > kTracestateLimit) remove(count - 1);
  std::string out;
  out.reserve(length());
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out.push_back(',');
    out.append(members[i]);
  }
  return out;
}

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view v) noexcept {
  if (v.size() < 2 || v.size() > 9) return std::nullopt;
  const auto digits = v.substr(0, v.size() - 1);
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  using namespace std::chrono;
  const auto count = static_cast<std::int64_t>(n);  // at most 99'999'999
  switch (v.back()) {
    case 'H': {
      // 99999999H does not fit in nanoseconds: more hours than fit count as the most that do
      // (2562047H, about 292 years) instead of overflowing.
      constexpr auto kMostHours = duration_cast<hours>(nanoseconds::max()).count();
      return duration_cast<nanoseconds>(hours(std::min<std::int64_t>(count, kMostHours)));
    }
    case 'M': return duration_cast<nanoseconds>(minutes(count));
    case 'S': return duration_cast<nanoseconds>(seconds(count));
    case 'm': return duration_cast<nanoseconds>(milliseconds(count));
    case 'u': return duration_cast<nanoseconds>(microseconds(count));
    case 'n': return nanoseconds(count);
    default: return std::nullopt;
  }
}

std::string format_timeout(std::chrono::nanoseconds remaining) {
  std::int64_t n = remaining.count() < 0 ? 0 : remaining.count();
  // Smallest unit whose count fits in 8 digits; rounding down never extends a deadline.
  static constexpr std::array<std::pair<std::int64_t, char>, 6> kUnits{
      {{1, 'n'}, {1'000, 'u'}, {1'000'000, 'm'}, {1'000'000'000, 'S'}, {60'000'000'000, 'M'},
       {3'600'000'000'000, 'H'}}};
  for (auto [scale, unit] : kUnits) {
    if (n / scale < 100'000'000) return std::to_string(n / scale) + unit;
  }
  return "99999999H";
}

unsigned status_of(Code code) noexcept {
  const auto i = static_cast<std::size_t>(code);
  return i < kTable.size() ? kTable[i].status : 500;
}

unsigned status_of(const Fault& fault) noexcept {
  if (fault.code() == Code::failed_precondition) {
    for (const auto& d : fault.details()) {
      if (d.key == "reason" && d.value == kIdempotencyKeyReused) return 422;
    }
  }
  return status_of(fault.code());
}

Code code_of_status(unsigned status) noexcept {
  switch (status) {
    case 200: return Code::ok;
    case 400: return Code::invalid_argument;
    case 401: return Code::unauthenticated;
    case 403: return Code::permission_denied;
    case 404: return Code::not_found;
    case 409: return Code::aborted;
    case 422: return Code::failed_precondition;
    case 429: return Code::resource_exhausted;
    case 499: return Code::cancelled;
    case 501: return Code::unimplemented;
    case 502:
    case 503: return Code::unavailable;
    case 504: return Code::deadline_exceeded;
    default: return status >= 500 ? Code::internal : Code::unknown;
  }
}

std::string problem_json(const Fault& fault, std::string_view trace_id, unsigned status) {
  const auto& row = kTable[static_cast<std::size_t>(fault.code()) % kTable.size()];
  std::string out;
  out.reserve(256 + fault.message().size());
  out.append(R"({"type":"urn:pit:fault:)").append(to_string(fault.code())).append("\"");
  append_string_member(out, "title", row.title);
  out.append(",\"status\":").append(std::to_string(status != 0 ? status : row.status));
  append_string_member(out, "detail", fault.message());
  append_string_member(out, "code", to_string(fault.code()));
  if (!fault.correlation_id().empty()) append_string_member(out, "correlation_id", fault.correlation_id());
  if (!trace_id.empty()) append_string_member(out, "trace_id", trace_id);
  if (fault.has(Fault::retryable)) out.append(",\"retryable\":true");
  if (fault.has(Fault::masked) && fault.code() == Code::internal) out.append(",\"masked\":true");
  if (!fault.details().empty()) {
    out.append(",\"details\":{");
    bool first = true;
    for (const auto& d : fault.details()) {
      if (!first) out.push_back(',');
      first = false;
      out.push_back('"');
      json::append_escaped(out, d.key);
      out.append("\":\"");
      json::append_escaped(out, d.value);
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.push_back('}');
  return out;
}

Fault fault_of_problem(unsigned status, std::string_view body) {
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 8;
  const auto v = boost::json::parse(body, ec, {}, opts);
  const auto* obj = (!ec && v.is_object()) ? &v.as_object() : nullptr;
  auto str = [&](std::string_view key) -> std::string {
    if (obj == nullptr) return {};
    const auto* m = obj->if_contains(key);
    return (m != nullptr && m->is_string()) ? std::string(m->as_string()) : std::string{};
  };
  std::optional<Code> code = code_from_string(str("code"));
  if (!code || *code == Code::ok) code = code_of_status(status);
  std::string message = str("detail");
  if (message.empty()) message = "HTTP " + std::to_string(status);
  Fault fault{*code, std::move(message)};
  fault.from(Fault::Origin::remote);
  if (*code == Code::deadline_exceeded) fault.with(Fault::deadline);
  if (obj != nullptr) {
    if (const auto* r = obj->if_contains("retryable"); r != nullptr && r->is_bool() && r->as_bool()) {
      fault.with(Fault::retryable);
    }
    // Only an internal fault can stand for a failure masked (and logged) by the peer.
    if (const auto* m = obj->if_contains("masked");
        m != nullptr && m->is_bool() && m->as_bool() && *code == Code::internal) {
      fault.with(Fault::masked);
    }
    if (const auto* d = obj->if_contains("details"); d != nullptr && d->is_object()) {
      for (const auto& [k, val] : d->as_object()) {
        if (val.is_string()) fault.with_detail(std::string(k), std::string(val.as_string()));
      }
    }
  }
  // A peer's id is kept only if it is one we would accept on a request: nothing odd from
  // the wire reaches a caller's logs through it.
  if (auto id = str("correlation_id"); valid_request_id(id)) fault.set_correlation_id(std::move(id));
  return fault;
}

}  // namespace pit::http_wire
