// Spans as an OTLP/HTTP JSON export request (ExportTraceServiceRequest), exactly as the
// OTLP JSON mapping says: lowerCamelCase field names, trace and span ids as lowercase hex
// (not base64), enums as integers, 64-bit integers (times, intValue) as decimal strings.
//
// Attributes follow the OpenTelemetry RPC semantic conventions v1.38.0 (the stable set:
// rpc.system.name, rpc.method = "{contract}/{operation}", rpc.response.status_code,
// error.type; server.address/server.port on attempts), plus pit's own: pit.correlation_id,
// pit.attempt, pit.attempt_kind, pit.attempts. docs/observability.md lists them.
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "observability/tracer.hpp"

namespace pit::detail {

using ResourceAttributes = std::vector<std::pair<std::string, std::string>>;

// Appends one request holding `spans` to `out`. steady_to_unix: what to add to a steady
// clock time to get nanoseconds since the Unix epoch (measured by the caller, per batch).
void append_otlp_json(std::string& out, const ResourceAttributes& resource, std::span<const SpanRecord> spans,
                      std::chrono::nanoseconds steady_to_unix);

// "deadline_exceeded" → "DEADLINE_EXCEEDED": rpc.response.status_code's form (gRPC's).
std::string status_code_name(Code code);

}  // namespace pit::detail
