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
// Which attempt of the caller's call this request is, 1-based (retries and hedges > 1).
inline constexpr std::string_view kAttemptHeader = "Pit-Attempt";
inline constexpr std::string_view kJson = "application/json";
inline constexpr std::string_view kProblemJson = "application/problem+json";

// X-Request-Id: 1..128 characters of [A-Za-z0-9._:-]. Anything else is not used (and never
// echoed): the call gets a generated id instead.
[[nodiscard]] bool valid_request_id(std::string_view id) noexcept;

// W3C traceparent "00-<32 hex>-<16 hex>-<2 hex>": version 00 (or a later version, of which
// the first four fields are read), lowercase hex, trace id and parent id not all zero.
struct Traceparent {
  std::string_view trace_id;
  std::string_view parent_span_id;
  bool sampled = false;
};
[[nodiscard]] std::optional<Traceparent> parse_traceparent(std::string_view value) noexcept;
[[nodiscard]] std::string format_traceparent(std::string_view trace_id, std::string_view span_id,
                                             bool sampled);

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
