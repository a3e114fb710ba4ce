// Spans: what a finished call leaves for the trace exporter, and the bounded queue that
// holds them until it takes them (docs/observability.md, "Traces").
//
// The call path only fills a SpanRecord (fixed-size ids, names that point into the
// contracts, times of the steady clock) and hands it to record(), which never waits for
// the exporter: the exporter holds the lock only to swap the queue out, and a full queue
// drops the span and counts it. Formatting (OTLP JSON, wall-clock times) happens on the
// exporter's thread.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pit/context.hpp"
#include "pit/fault.hpp"

namespace pit::detail {

// OTLP's SpanKind numbers.
enum class SpanKind : std::uint8_t { internal = 1, server = 2, client = 3 };

// A notable moment of a call. Nothing of a fault's message or cause is kept: a masked
// fault is recorded as "one happened" and the public code it became.
struct SpanEvent {
  enum class Kind : std::uint8_t { deadline_expired, cancelled, fault_masked };
  Kind kind = Kind::cancelled;
  Clock::time_point at{};
  CancelReason reason = CancelReason::none;  // cancelled
  Code code = Code::ok;                      // fault_masked: the public code
};

struct SpanRecord {
  std::array<char, 32> trace_id{};
  std::array<char, 16> span_id{};
  std::array<char, 16> parent_span_id{};
  bool has_parent = false;
  SpanKind kind = SpanKind::internal;
  Code code = Code::ok;
  // Static for the process: they point into the contracts' descriptions.
  std::string_view contract;
  std::string_view operation;
  Clock::time_point start{};
  Clock::time_point end{};
  // Empty: the correlation id is the trace id (nothing copied).
  std::string correlation_id;
  // An attempt of an outbound call: its 1-based number and kind ("first", "retry",
  // "requeue", "hedge"; static); the endpoint it went to. A served call: the caller's
  // Pit-Attempt number, when it sent one (0: none).
  std::uint32_t attempt = 0;
  std::string_view attempt_kind;
  std::string peer_host;
  std::uint16_t peer_port = 0;
  std::uint8_t event_count = 0;
  std::array<SpanEvent, 3> events{};

  void add_event(const SpanEvent& e) noexcept {
    if (event_count < events.size()) events[event_count++] = e;
  }
};

// Whether a span of `kind` ending with `code` is an error (OTLP status ERROR): a served
// call only for the codes that say the server failed (unknown, deadline_exceeded,
// unimplemented, internal, unavailable, data_loss), a client span for every code but ok.
[[nodiscard]] bool span_is_error(SpanKind kind, Code code) noexcept;

// The sampling decision of a call with no sampled parent (OpenTelemetry's
// TraceIdRatioBased): the last 16 hex digits of the trace id, read as a 64-bit number and
// shifted right once, against ratio * 2^63. The same trace id gets the same answer in
// every process with the same ratio.
[[nodiscard]] bool sampled_by_ratio(std::string_view trace_id, double ratio) noexcept;

// Whether `presented` (a request's force-sampling header) proves the configured token,
// compared in constant time; an empty configured token trusts nobody.
[[nodiscard]] bool trusted_force_token(std::string_view presented, std::string_view configured) noexcept;

// Why a span never reached the receiver (pit_trace_spans_dropped_total{reason}).
enum class DropReason : std::uint8_t { queue_full = 0, export_failed, rejected, shutdown };
inline constexpr std::size_t kDropReasons = 4;
std::string_view to_string(DropReason reason) noexcept;

class Tracer {
 public:
  Tracer(std::size_t max_queue, std::size_t max_batch);
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Queues a finished span, or drops and counts it when the queue is full. Never waits for
  // the exporter; wakes it when a batch is ready.
  void record(SpanRecord&& span);

  // The exporter's side. Waits until a batch is queued, `until` passes, or wake(); then
  // swaps the whole queue (oldest first) with `out`, which must be empty: the queue gets
  // its buffer back, so nothing is allocated once both have grown.
  void take(std::vector<SpanRecord>& out, Clock::time_point until);
  void wake();
  [[nodiscard]] std::size_t queued() const;

  void count_dropped(DropReason reason, std::size_t n) noexcept {
    dropped_[static_cast<std::size_t>(reason)].fetch_add(n, std::memory_order_relaxed);
  }
  void count_exported(std::size_t n) noexcept { exported_.fetch_add(n, std::memory_order_relaxed); }
  void count_export_failure() noexcept { export_failures_.fetch_add(1, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t dropped(DropReason reason) const noexcept {
    return dropped_[static_cast<std::size_t>(reason)].load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint64_t exported() const noexcept { return exported_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t export_failures() const noexcept {
    return export_failures_.load(std::memory_order_relaxed);
  }
  // The Prometheus text of the counters above and the queue's depth.
  void render(std::string& out) const;

 private:
  const std::size_t max_queue_;
  const std::size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  // Oldest first; the exporter swaps it out whole.
  std::vector<SpanRecord> queue_;
  bool woken_ = false;
  std::array<std::atomic<std::uint64_t>, kDropReasons> dropped_{};
  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> export_failures_{0};
};

}  // namespace pit::detail
