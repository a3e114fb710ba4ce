#include "observability/tracer.hpp"

#include <algorithm>
#include <cmath>

namespace pit::detail {

bool span_is_error(SpanKind kind, Code code) noexcept {
  if (code == Code::ok) return false;
  if (kind == SpanKind::client) return true;
  switch (code) {
    case Code::unknown:
    case Code::deadline_exceeded:
    case Code::unimplemented:
    case Code::internal:
    case Code::unavailable:
    case Code::data_loss:
      return true;
    default:
      return false;
  }
}

bool sampled_by_ratio(std::string_view trace_id, double ratio) noexcept {
  if (!(ratio > 0.0)) return false;  // NaN too
  if (ratio >= 1.0) return true;
  if (trace_id.size() != 32) return false;
  std::uint64_t low = 0;
  for (const char c : trace_id.substr(16)) {
    const auto digit = static_cast<std::uint64_t>(c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0');
    low = (low << 4U) | (digit & 0xFU);
  }
  const auto bound = static_cast<std::uint64_t>(ratio * 9223372036854775808.0);  // ratio * 2^63
  return (low >> 1U) < bound;
}

bool trusted_force_token(std::string_view presented, std::string_view configured) noexcept {
  if (configured.empty() || presented.size() != configured.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < configured.size(); ++i) {
    diff |= static_cast<unsigned char>(presented[i] ^ configured[i]);
  }
  return diff == 0;
}

std::string_view to_string(DropReason reason) noexcept {
  switch (reason) {
    case DropReason::queue_full: return "queue_full";
    case DropReason::export_failed: return "export_failed";
    case DropReason::rejected: return "rejected";
    case DropReason::shutdown: return "shutdown";
  }
  return "queue_full";
}

Tracer::Tracer(std::size_t max_queue, std::size_t max_batch)
    : max_queue_(std::max<std::size_t>(1, max_queue)), max_batch_(std::clamp<std::size_t>(max_batch, 1, max_queue_)) {
  queue_.reserve(max_queue_);
}

void Tracer::record(SpanRecord&& span) {
  bool batch_ready = false;
  {
    const std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queue_) {
      dropped_[static_cast<std::size_t>(DropReason::queue_full)].fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(span));
    // Once per batch: the exporter is woken when the queue reaches a batch, not per span.
    batch_ready = queue_.size() == max_batch_;
  }
  if (batch_ready) ready_.notify_one();
}

void Tracer::take(std::vector<SpanRecord>& out, Clock::time_point until) {
  out.clear();
  // The buffer the queue gets back is as large as the queue may grow (allocated once).
  if (out.capacity() < max_queue_) out.reserve(max_queue_);
  std::unique_lock lock(mutex_);
  ready_.wait_until(lock, until, [this] { return woken_ || queue_.size() >= max_batch_; });
  woken_ = false;
  queue_.swap(out);
}

void Tracer::wake() {
  {
    const std::lock_guard lock(mutex_);
    woken_ = true;
  }
  ready_.notify_one();
}

std::size_t Tracer::queued() const {
  const std::lock_guard lock(mutex_);
  return queue_.size();
}

void Tracer::render(std::string& out) const {
  out.append("# HELP pit_trace_spans_exported_total Spans the trace receiver accepted.\n"
             "# TYPE pit_trace_spans_exported_total counter\npit_trace_spans_exported_total ")
      .append(std::to_string(exported()))
      .append("\n# HELP pit_trace_spans_dropped_total Spans that never reached the receiver, by reason: "
              "queue_full (the call did not wait), export_failed (retries exhausted or refused), "
              "rejected (the receiver's partial success), shutdown (left when the grace ran out).\n"
              "# TYPE pit_trace_spans_dropped_total counter\n");
  for (std::size_t i = 0; i < kDropReasons; ++i) {
    out.append("pit_trace_spans_dropped_total{reason=\"")
        .append(to_string(static_cast<DropReason>(i)))
        .append("\"} ")
        .append(std::to_string(dropped_[i].load(std::memory_order_relaxed)))
        .append("\n");
  }
  out.append("# HELP pit_trace_export_failures_total Export requests that failed (no answer, or not 2xx), retries included.\n"
             "# TYPE pit_trace_export_failures_total counter\npit_trace_export_failures_total ")
      .append(std::to_string(export_failures()))
      .append("\n# HELP pit_trace_queue_spans Spans waiting for export.\n# TYPE pit_trace_queue_spans gauge\npit_trace_queue_spans ")
      .append(std::to_string(queued()))
      .append("\n");
}

}  // namespace pit::detail
