// Metrics: per-operation counters and latency histograms kept with relaxed atomics (the
// call path pays a few uncontended increments), rendered in the Prometheus text format
// by the admin listener's /metrics, or in OpenMetrics 1.0.0 (with exemplars) when the
// scraper asks for it.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "pit/fault.hpp"

namespace pit::detail {

// Upper bounds of the latency buckets, in seconds (then +Inf).
inline constexpr std::array<double, 14> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

// The latest sampled call recorded in one latency bucket, as an OpenMetrics exemplar
// {trace_id, span_id}. Written on the call path without a lock: a writer that finds another
// writing skips (the bucket keeps the other's exemplar); the renderer reads it as a
// sequence lock and drops a read that a write tore. Every field is an atomic, so neither
// side ever reads memory the other is writing.
class Exemplar {
 public:
  struct Value {
    std::array<char, 32> trace_id{};
    std::array<char, 16> span_id{};
    std::uint64_t elapsed_ns = 0;
    std::int64_t unix_ms = 0;  // when the call was recorded
  };
  // trace_id and span_id: 32 and 16 characters (anything else is not offered).
  void offer(std::string_view trace_id, std::string_view span_id, std::uint64_t elapsed_ns,
             std::int64_t unix_ms) noexcept;
  // The exemplar, if one was ever offered and a consistent copy could be read.
  [[nodiscard]] std::optional<Value> read() const noexcept;

 private:
  std::atomic<std::uint32_t> sequence_{0};  // odd while written; 0: never written
  std::array<std::atomic<std::uint64_t>, 6> ids_{};  // trace id (32 characters), span id (16)
  std::atomic<std::uint64_t> elapsed_ns_{0};
  std::atomic<std::int64_t> unix_ms_{0};
};

struct OperationMetrics {
  enum Transport : std::uint8_t { inproc = 0, http = 1, transports = 2 };

  std::string contract;
  std::string operation;
  std::string kind;  // "server" or "client"
  std::array<std::array<std::atomic<std::uint64_t>, transports>, code_count> calls{};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> latency{};
  std::atomic<std::uint64_t> latency_sum_ns{0};
  std::array<Exemplar, kLatencyBuckets.size() + 1> exemplars{};  // one per latency bucket
  std::atomic<std::uint64_t> masked{0};
  // Calls refused by admission control, by the limit that refused them.
  enum Limit : std::uint8_t { operation_limit = 0, host_limit = 1, limits = 2 };
  std::array<std::atomic<std::uint64_t>, limits> rejected{};
  std::atomic<std::uint64_t> injected{0};  // calls that fault injection delayed or failed
  // Fields of JSON bodies this side decoded that matched no member (requests as "server",
  // replies as "client"): a peer newer than this side, or one still sending a removed field.
  std::atomic<std::uint64_t> unknown_fields{0};
  // Calls of a deduplicated operation, by what the deduplication policy made of them.
  enum Dedup : std::uint8_t { first = 0, replay, running, mismatch, takeover, store_unavailable, dedup_results };
  std::array<std::atomic<std::uint64_t>, dedup_results> dedup{};

  void count_unknown_fields(std::size_t n) noexcept {
    if (n != 0) unknown_fields.fetch_add(n, std::memory_order_relaxed);
  }

  // With a trace id and span id (a sampled call), the call also becomes its latency
  // bucket's exemplar.
  void record(Code code, Transport transport, std::chrono::nanoseconds elapsed, std::string_view trace_id = {},
              std::string_view span_id = {}) noexcept;
};

// The exposition formats /metrics speaks.
enum class Exposition : std::uint8_t { prometheus_text, openmetrics };
inline constexpr std::string_view kPrometheusTextType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kOpenMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8";
// What a scraper's Accept header asks for: OpenMetrics when it names
// application/openmetrics-text (version 1.0.0, or no version) with a q above 0 and not
// below that of the text format (text/plain, text/*, */*); else the text format, which is
// also the answer to no Accept at all.
[[nodiscard]] Exposition exposition_for(std::string_view accept) noexcept;
[[nodiscard]] constexpr std::string_view content_type_of(Exposition e) noexcept {
  return e == Exposition::openmetrics ? kOpenMetricsType : kPrometheusTextType;
}

// Numbers the registry reads when it renders, from their owners.
struct Gauges {
  std::function<std::int64_t()> in_flight;
  std::function<std::size_t()> workers_busy;
  std::function<std::size_t()> workers_queued;
  std::function<std::size_t()> workers_total;
  std::function<std::uint64_t()> io_stalls;  // episodes of an I/O thread blocked past the threshold
  // The host-wide admission limit (absent without one).
  std::function<std::size_t()> admission_in_flight;
  std::function<std::size_t()> admission_queued;
  std::size_t admission_limit = 0;
};

// The audit log's numbers (identity/audit_log.hpp counts them; rendered always, so a
// dashboard's query exists before the first decision).
struct AuditCounters {
  std::array<std::atomic<std::uint64_t>, 2> records{};  // written to the sink: deny, allow
  std::atomic<std::uint64_t> dropped{0};                 // when_behind = drop, queue full
  std::atomic<std::uint64_t> write_failures{0};          // sink writes that failed
  std::atomic<std::int64_t> queue_depth{0};              // formatted, not yet written
};

class MetricsRegistry {
 public:
  // Written by the host's audit log.
  AuditCounters audit;

  // The metrics of one operation as served ("server") or called remotely ("client"),
  // created on first use; the reference stays valid for the registry's lifetime.
  OperationMetrics& operation(std::string_view contract, std::string_view operation, std::string_view kind);
  void set_gauges(Gauges gauges);
  // A listener ("http" or "admin") began a pause in accepting because the process was out
  // of file descriptors: one count per episode, not per refused attempt.
  void count_accept_paused(std::string_view listener) noexcept;
  // A part that keeps metrics of its own (authentication, the audit log, TLS) appends
  // their exposition text (HELP/TYPE lines included) to each render.
  void add_section(std::function<void(std::string&)> render_section);
  // TLS on the HTTP listener: its metrics are rendered once it is on. A handshake that
  // failed (no TLS spoken, an old protocol, a refused client certificate, a stall past
  // the read timeout); a certificate reload, by result; when the certificate expires.
  void enable_tls() noexcept { tls_.store(true, std::memory_order_relaxed); }
  void count_tls_handshake_failure() noexcept { tls_handshake_failures_.fetch_add(1, std::memory_order_relaxed); }
  void count_tls_reload(bool ok) noexcept { tls_reloads_[ok ? 0 : 1].fetch_add(1, std::memory_order_relaxed); }
  void set_tls_certificate_expiry(std::int64_t unix_seconds) noexcept {
    tls_expiry_.store(unix_seconds, std::memory_order_relaxed);
  }
  // The Prometheus text exposition format, version 0.0.4 (no exemplars), or OpenMetrics
  // 1.0.0: counter families named without _total, the latency histograms' buckets with
  // their exemplars, "# EOF" at the end.
  [[nodiscard]] std::string render(Exposition format = Exposition::prometheus_text) const;

 private:
  mutable std::mutex mutex_;
  std::deque<OperationMetrics> operations_;
  Gauges gauges_;
  std::vector<std::function<void(std::string&)>> sections_;
  std::array<std::atomic<std::uint64_t>, 2> accept_paused_{};  // http, admin
  std::atomic<bool> tls_{false};
  std::atomic<std::uint64_t> tls_handshake_failures_{0};
  std::array<std::atomic<std::uint64_t>, 2> tls_reloads_{};  // ok, failed
  std::atomic<std::int64_t> tls_expiry_{0};
};

}  // namespace pit::detail
