// Formatting of structured log lines (one JSON object per line).
#pragma once

#include <chrono>
#include <string>

#include "pit/log.hpp"
#include "pit/pipeline.hpp"

namespace pit::detail {

// Appends {"ts":...,"level":...,"msg":... and, inside a call, its ids. No closing brace.
void begin_line(std::string& out, log::Level level, std::string_view message, const Context& context);
void append_field(std::string& out, const log::Field& field);
// Hands a finished line to the configured sink (counts it if dropped).
void emit(std::string& line);

// The per-call line of the call_log policy.
// budget_ms: the caller's remaining time when the call arrived; negative: none given.
// attempts (0: not written): a client call's attempts ("attempts"), a served call's
// Pit-Attempt ("attempt").
void write_call_line(const Context& context, std::string_view kind, std::chrono::microseconds elapsed,
                     std::int64_t budget_ms, const Outcome& outcome, std::uint32_t attempts = 0);

}  // namespace pit::detail
