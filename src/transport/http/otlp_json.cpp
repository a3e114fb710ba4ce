#include "transport/http/otlp_json.hpp"

#include <array>
#include <cctype>
#include <charconv>

#include "contract/json_escape.hpp"

namespace pit::detail {
namespace {

void str(std::string& out, std::string_view s) {
  out.push_back('"');
  json::detail::escape_into(out, s);
  out.push_back('"');
}

// Decimal, without a temporary string (this runs several times per span).
void decimal(std::string& out, std::int64_t n) {
  std::array<char, 24> digits{};
  const auto r = std::to_chars(digits.data(), digits.data() + digits.size(), n);
  out.append(digits.data(), static_cast<std::size_t>(r.ptr - digits.data()));
}

void nanos(std::string& out, Clock::time_point t, std::chrono::nanoseconds steady_to_unix) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()) + steady_to_unix;
  out.push_back('"');
  decimal(out, ns.count() < 0 ? 0 : ns.count());
  out.push_back('"');
}

// The start of one KeyValue, up to its value; `first` is false for every one after the
// first of its list. A key of pit's own (a literal: nothing to escape) is appended as it is.
void key(std::string& out, bool& first, std::string_view name, bool escape) {
  if (!first) out.push_back(',');
  first = false;
  out.append("{\"key\":\"");
  if (escape) {
    json::detail::escape_into(out, name);
  } else {
    out.append(name);
  }
  out.append("\",\"value\":{");
}

void attr(std::string& out, bool& first, std::string_view k, std::string_view value, bool escape_key = false) {
  key(out, first, k, escape_key);
  out.append("\"stringValue\":");
  str(out, value);
  out.append("}}");
}

void attr(std::string& out, bool& first, std::string_view k, std::int64_t value) {
  key(out, first, k, false);
  out.append("\"intValue\":\"");
  decimal(out, value);
  out.append("\"}}");
}

// status_code_name of every code, made once: no string per span.
std::string_view code_name(Code code) {
  static const auto names = [] {
    std::array<std::string, code_count> all;
    for (int i = 0; i < code_count; ++i) all[static_cast<std::size_t>(i)] = status_code_name(static_cast<Code>(i));
    return all;
  }();
  const auto i = static_cast<std::size_t>(code);
  return i < names.size() ? std::string_view{names[i]} : std::string_view{"INVALID"};
}

void event(std::string& out, bool& first, const SpanEvent& e, std::chrono::nanoseconds steady_to_unix) {
  if (!first) out.push_back(',');
  first = false;
  out.append("{\"timeUnixNano\":");
  nanos(out, e.at, steady_to_unix);
  out.append(",\"name\":");
  bool first_attr = true;
  switch (e.kind) {
    case SpanEvent::Kind::deadline_expired:
      str(out, "pit.deadline_expired");
      out.append("}");
      return;
    case SpanEvent::Kind::cancelled:
      str(out, "pit.cancelled");
      out.append(",\"attributes\":[");
      attr(out, first_attr, "pit.cancel_reason", to_string(e.reason));
      out.append("]}");
      return;
    case SpanEvent::Kind::fault_masked:
      // That a fault was masked, and the public code it became: never its message or cause.
      str(out, "pit.fault_masked");
      out.append(",\"attributes\":[");
      attr(out, first_attr, "rpc.response.status_code", code_name(e.code));
      out.append("]}");
      return;
  }
  out.append("}");
}

void span_json(std::string& out, const SpanRecord& s, std::chrono::nanoseconds steady_to_unix) {
  out.append("{\"traceId\":\"").append(s.trace_id.data(), s.trace_id.size());
  out.append("\",\"spanId\":\"").append(s.span_id.data(), s.span_id.size()).push_back('"');
  if (s.has_parent) out.append(",\"parentSpanId\":\"").append(s.parent_span_id.data(), s.parent_span_id.size()).push_back('"');
  out.append(",\"name\":\"");
  json::detail::escape_into(out, s.contract);
  out.push_back('/');
  json::detail::escape_into(out, s.operation);
  out.append("\",\"kind\":");
  decimal(out, static_cast<int>(s.kind));
  out.append(",\"startTimeUnixNano\":");
  nanos(out, s.start, steady_to_unix);
  out.append(",\"endTimeUnixNano\":");
  nanos(out, s.end < s.start ? s.start : s.end, steady_to_unix);
  out.append(",\"attributes\":[");
  bool first = true;
  attr(out, first, "rpc.system.name", "pit");
  key(out, first, "rpc.method", false);
  out.append("\"stringValue\":\"");
  json::detail::escape_into(out, s.contract);
  out.push_back('/');
  json::detail::escape_into(out, s.operation);
  out.append("\"}}");
  const std::string_view code = code_name(s.code);
  attr(out, first, "rpc.response.status_code", code);
  const bool error = span_is_error(s.kind, s.code);
  if (error) attr(out, first, "error.type", code);
  attr(out, first, "pit.correlation_id",
       s.correlation_id.empty() ? std::string_view{s.trace_id.data(), s.trace_id.size()} : std::string_view{s.correlation_id});
  if (!s.attempt_kind.empty()) {
    attr(out, first, "pit.attempt", static_cast<std::int64_t>(s.attempt));
    attr(out, first, "pit.attempt_kind", s.attempt_kind);
    if (!s.peer_host.empty()) attr(out, first, "server.address", s.peer_host);
    if (s.peer_port != 0) attr(out, first, "server.port", static_cast<std::int64_t>(s.peer_port));
  } else if (s.attempt != 0) {
    // Served: the caller's attempt number; the logical client call: the attempts it made.
    attr(out, first, s.kind == SpanKind::client ? "pit.attempts" : "pit.attempt", static_cast<std::int64_t>(s.attempt));
  }
  out.push_back(']');
  if (s.event_count > 0) {
    out.append(",\"events\":[");
    bool first_event = true;
    for (std::size_t i = 0; i < s.event_count; ++i) event(out, first_event, s.events[i], steady_to_unix);
    out.push_back(']');
  }
  // Unset for success and for a served call's client-side codes (the caller's fault, not
  // this server's); ERROR with the code's name, never a fault's message.
  if (error) {
    out.append(",\"status\":{\"message\":");
    str(out, code);
    out.append(",\"code\":2}");
  }
  out.push_back('}');
}

}  // namespace

std::string status_code_name(Code code) {
  std::string name{to_string(code)};
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

void append_otlp_json(std::string& out, const ResourceAttributes& resource, std::span<const SpanRecord> spans,
                      std::chrono::nanoseconds steady_to_unix) {
  out.append("{\"resourceSpans\":[{\"resource\":{\"attributes\":[");
  bool first = true;
  for (const auto& [k, value] : resource) attr(out, first, k, value, true);
  out.append("]},\"scopeSpans\":[{\"scope\":{\"name\":\"pit\"},\"spans\":[");
  bool first_span = true;
  for (const auto& s : spans) {
    if (!first_span) out.push_back(',');
    first_span = false;
    span_json(out, s, steady_to_unix);
  }
  out.append("]}]}]}");
}

}  // namespace pit::detail
