// pit's HTTP wire format, without any HTTP library: header values in and out, the
// code ↔ status table, and the problem+json body. Kept apart from the server so every
// parser here is tested (and fuzzed) on its own. docs/http.md is the prose of this file.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "pit/fault.hpp"

namespace pit::http_wire {

// Headers.
inline constexpr std::string_view kRequestIdHeader = "X-Request-Id";
inline constexpr std::string_view kTimeoutHeader = "Pit-Timeout";  // grpc-timeout's format
inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";
// A trusted caller's request to sample this call (tracing.force_token).
inline constexpr std::string_view kTraceForceHeader = "Pit-Trace-Force";
// Which attempt of the caller's call this request is, 1-based (retries and hedges > 1).
inline constexpr std::string_view kAttemptHeader = "Pit-Attempt";
inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kProblemJson = "application/problem+json";

// X-Request-Id: 1..128 characters of [A-Za-z0-9._:-]. Anything else is not used (and never
// echoed): the call gets a generated id instead.
[[nodiscard]] bool valid_request_id(std::string_view id) noexcept;

// W3C Trace Context Level 1 (docs/http.md "Trace context"; the official test suite,
// github.com/w3c/trace-context test/, is the yardstick).
//
// traceparent "00-<32 hex>-<16 hex>-<2 hex>", spaces and tabs around it ignored: version 00
// is exactly that; a later version (not ff) is read by version 00's rules from its first
// 55 characters, and may go on only after a '-'; version ff, uppercase hex, an all-zero
// trace id or parent id are invalid. Of the flags only `sampled` (bit 0) is read.
struct Traceparent {
  std::string_view trace_id;
  std::string_view parent_span_id;
  bool sampled = false;
};
[[nodiscard]] std::optional<Traceparent> parse_traceparent(std::string_view value) noexcept;
// Always version 00, with only the `sampled` flag (the other bits are not propagated).
[[nodiscard]] std::string format_traceparent(std::string_view trace_id, std::string_view span_id,
                                             bool sampled);

// tracestate: the field values of every tracestate header, in order, joined with ','
// (RFC 9110 5.3). A list member is key=value with spaces and tabs around it ignored; empty
// members are ignored. A key is 1..256 of [a-z0-9_*/@-] starting with [a-z0-9] (covers
// the multi-tenant "tenant@system"); a value is 1..256 of 0x20-0x7E except ',' and '=',
// not ending in a space. An invalid member or more than 32 members: nullopt (the whole
// list is dropped). A key seen again keeps its first member (the spec lets a vendor
// discard duplicates; the official suite expects the list kept). The result is what goes
// onward: members joined with ',' without whitespace, at most kTracestateLimit characters
// (over it, members longer than 128 characters go first, then members from the end).
inline constexpr std::size_t kTracestateLimit = 512;
[[nodiscard]] std::optional<std::string> parse_tracestate(std::string_view combined);

// Pit-Timeout: 1 to 8 ASCII digits and a unit — H (hours), M (minutes), S (seconds),
// m (milliseconds), u (microseconds), n (nanoseconds) — as gRPC's grpc-timeout. More
// than 2562047H (what nanoseconds hold, about 292 years) counts as 2562047H.
[[nodiscard]] std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) noexcept;
// In the smallest unit that fits in 8 digits, rounded down: never longer than `remaining`
// (negative: "0n").
[[nodiscard]] std::string format_timeout(std::chrono::nanoseconds remaining);

// The gRPC ↔ HTTP mapping (docs/http.md has the table).
[[nodiscard]] unsigned status_of(Code code) noexcept;
// The status a fault is sent with: its code's, except failed_precondition with the detail
// reason=idempotency_key_reused (an Idempotency-Key used with another request), which is
// 422 Unprocessable Content, as the Idempotency-Key draft asks.
[[nodiscard]] unsigned status_of(const Fault& fault) noexcept;
inline constexpr std::string_view kIdempotencyKeyReused = "idempotency_key_reused";
[[nodiscard]] Code code_of_status(unsigned status) noexcept;

// RFC 9457 problem details for a fault: type, title, status, detail, code, correlation_id,
// trace_id, retryable only when a retry is safe, and masked (an internal fault the server
// masked and logged, which the hops above pass on without a record of their own).
// `status` is the HTTP status sent with it; 0 means the code's own (status_of).
[[nodiscard]] std::string problem_json(const Fault& fault, std::string_view trace_id, unsigned status = 0);
// The fault a problem+json body (or a bare status) stands for, as the client sees it.
[[nodiscard]] Fault fault_of_problem(unsigned status, std::string_view body);

}  // namespace pit::http_wire
