#include "observability/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "pit/log.hpp"

namespace pit::detail {
namespace {

struct ProcessStats {
  double cpu_seconds = 0;
  double start_time_seconds = 0;
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;
};

ProcessStats read_process() {
  ProcessStats p;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const auto close = content.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(content.substr(close + 2));
    std::string field;
    std::uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0, rss = 0;
    for (int i = 3; in >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
      if (i == 22) starttime = std::stoull(field);
      if (i == 23) vsize = std::stoull(field);
      if (i == 24) {
        rss = std::stoull(field);
        break;
      }
    }
    p.cpu_seconds = static_cast<double>(utime + stime) / ticks;
    p.virtual_bytes = vsize;
    p.resident_bytes = rss * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    std::ifstream boot("/proc/stat");
    std::string key;
    while (boot >> key) {
      if (key == "btime") {
        double btime = 0;
        boot >> btime;
        p.start_time_seconds = btime + static_cast<double>(starttime) / ticks;
        break;
      }
    }
  }
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++p.open_fds;
    ::closedir(d);
    p.open_fds = p.open_fds >= 3 ? p.open_fds - 3 : 0;  // ".", ".." and the dir's own fd
  }
  p.max_fds = static_cast<std::uint64_t>(::sysconf(_SC_OPEN_MAX));
  return p;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// The shortest text that reads back as the same double: le="0.0005", not 0.00050000000000000001.
std::string number(double v, std::chars_format format = std::chars_format::general) {
  char buf[400];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, format);
  return std::string(buf, r.ptr);
}

}  // namespace

void OperationMetrics::record(Code code, Transport transport, std::chrono::nanoseconds elapsed) noexcept {
  calls[static_cast<std::size_t>(code)][transport].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  latency[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns.fetch_add(static_cast<std::uint64_t>(elapsed.count()), std::memory_order_relaxed);
}

OperationMetrics& MetricsRegistry::operation(std::string_view contract, std::string_view operation,
                                             std::string_view kind) {
  std::lock_guard lock(mutex_);
  for (auto& m : operations_) {
    if (m.contract == contract && m.operation == operation && m.kind == kind) return m;
  }
  auto& m = operations_.emplace_back();
  m.contract = contract;
  m.operation = operation;
  m.kind = kind;
  return m;
}

void MetricsRegistry::set_gauges(Gauges gauges) {
  std::lock_guard lock(mutex_);
  gauges_ = std::move(gauges);
}

void MetricsRegistry::add_section(std::function<void(std::string&)> render_section) {
  std::lock_guard lock(mutex_);
  sections_.push_back(std::move(render_section));
}

void MetricsRegistry::count_accept_paused(std::string_view listener) noexcept {
  accept_paused_[listener == "admin" ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  out.reserve(4096 + operations_.size() * 2048);
  static constexpr std::array<std::string_view, 2> kTransport = {"inproc", "http"};

  header(out, "pit_calls_total", "counter", "Calls finished, by operation, outcome code, transport and side.");
  for (const auto& m : operations_) {
    for (std::size_t c = 0; c < m.calls.size(); ++c) {
      for (std::size_t t = 0; t < OperationMetrics::transports; ++t) {
        const auto n = m.calls[c][t].load(std::memory_order_relaxed);
        if (n == 0) continue;
        out.append("pit_calls_total{contract=\"").append(m.contract).append("\",operation=\"").append(m.operation);
        out.append("\",code=\"").append(to_string(static_cast<Code>(c))).append("\",transport=\"");
        out.append(kTransport[t]).append("\",kind=\"").append(m.kind).append("\"} ");
        out.append(std::to_string(n)).append("\n");
      }
    }
  }
  header(out, "pit_call_duration_seconds", "histogram", "Call latency as the pipeline saw it, by operation and side.");
  for (const auto& m : operations_) {
    const std::string labels = "contract=\"" + m.contract + "\",operation=\"" + m.operation + "\",kind=\"" + m.kind + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
      cumulative += m.latency[b].load(std::memory_order_relaxed);
      const std::string le =
          b < kLatencyBuckets.size() ? number(kLatencyBuckets[b], std::chars_format::fixed) : "+Inf";
      out.append("pit_call_duration_seconds_bucket{").append(labels).append(",le=\"").append(le).append("\"} ");
      out.append(std::to_string(cumulative)).append("\n");
    }
    out.append("pit_call_duration_seconds_sum{").append(labels).append("} ");
    out.append(number(static_cast<double>(m.latency_sum_ns.load(std::memory_order_relaxed)) / 1e9)).append("\n");
    out.append("pit_call_duration_seconds_count{").append(labels).append("} ").append(std::to_string(cumulative)).append("\n");
  }
  header(out, "pit_faults_masked_total", "counter", "Faults masked to internal because the operation did not declare their code.");
  for (const auto& m : operations_) {
    if (m.kind != "server") continue;
    out.append("pit_faults_masked_total{contract=\"").append(m.contract).append("\",operation=\"").append(m.operation);
    out.append("\"} ").append(std::to_string(m.masked.load(std::memory_order_relaxed))).append("\n");
  }
  header(out, "pit_unknown_fields_total", "counter",
         "Fields of JSON bodies that matched no member of the message (ignored), by operation and direction: "
         "requests served here, replies to calls made from here.");
  for (const auto& m : operations_) {
    out.append("pit_unknown_fields_total{contract=\"").append(m.contract).append("\",operation=\"").append(m.operation);
    out.append("\",direction=\"").append(m.kind == "server" ? "request" : "reply").append("\"} ");
    out.append(std::to_string(m.unknown_fields.load(std::memory_order_relaxed))).append("\n");
  }
  header(out, "pit_admission_rejected_total", "counter", "Calls refused by admission control, by operation and by the limit (operation or host) that was full.");
  static constexpr std::array<std::string_view, OperationMetrics::limits> kLimit = {"operation", "host"};
  for (const auto& m : operations_) {
    if (m.kind != "server") continue;
    for (std::size_t l = 0; l < OperationMetrics::limits; ++l) {
      const auto n = m.rejected[l].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out.append("pit_admission_rejected_total{contract=\"").append(m.contract).append("\",operation=\"").append(m.operation);
      out.append("\",limit=\"").append(kLimit[l]).append("\"} ").append(std::to_string(n)).append("\n");
    }
  }
  header(out, "pit_faults_injected_total", "counter", "Calls that fault injection delayed or failed (tests and drills only).");
  for (const auto& m : operations_) {
    const auto n = m.injected.load(std::memory_order_relaxed);
    if (m.kind != "server" || n == 0) continue;
    out.append("pit_faults_injected_total{contract=\"").append(m.contract).append("\",operation=\"").append(m.operation);
    out.append("\"} ").append(std::to_string(n)).append("\n");
  }
  header(out, "pit_dedup_calls_total", "counter",
         "Calls of deduplicated operations by result: first (ran), replay (the stored outcome), running (409), "
         "mismatch (422: the key was used for another request), takeover (ran after a dead claim's lease), "
         "store_unavailable (503).");
  static constexpr std::array<std::string_view, OperationMetrics::dedup_results> kDedup = {
      "first", "replay", "running", "mismatch", "takeover", "store_unavailable"};
  for (const auto& m : operations_) {
    if (m.kind != "server") continue;
    for (std::size_t r = 0; r < OperationMetrics::dedup_results; ++r) {
      const auto n = m.dedup[r].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out.append("pit_dedup_calls_total{contract=\"").append(m.contract).append("\",operation=\"").append(m.operation);
      out.append("\",result=\"").append(kDedup[r]).append("\"} ").append(std::to_string(n)).append("\n");
    }
  }
  header(out, "pit_accept_paused_total", "counter",
         "Times a listener paused accepting because the process was out of file descriptors (EMFILE/ENFILE).");
  out.append("pit_accept_paused_total{listener=\"http\"} ").append(std::to_string(accept_paused_[0].load(std::memory_order_relaxed))).append("\n");
  out.append("pit_accept_paused_total{listener=\"admin\"} ").append(std::to_string(accept_paused_[1].load(std::memory_order_relaxed))).append("\n");
  if (tls_.load(std::memory_order_relaxed)) {
    header(out, "pit_tls_handshake_failures_total", "counter",
           "TLS handshakes on the HTTP listener that failed or timed out (the connection was closed).");
    out.append("pit_tls_handshake_failures_total ").append(std::to_string(tls_handshake_failures_.load(std::memory_order_relaxed))).append("\n");
    header(out, "pit_tls_reloads_total", "counter",
           "Certificate reloads of the HTTP listener after its files changed, by result (failed: the previous certificate stays).");
    out.append("pit_tls_reloads_total{result=\"ok\"} ").append(std::to_string(tls_reloads_[0].load(std::memory_order_relaxed))).append("\n");
    out.append("pit_tls_reloads_total{result=\"failed\"} ").append(std::to_string(tls_reloads_[1].load(std::memory_order_relaxed))).append("\n");
    header(out, "pit_tls_certificate_expiry_seconds", "gauge",
           "When the HTTP listener's certificate in use expires, in seconds since the Unix epoch.");
    out.append("pit_tls_certificate_expiry_seconds ").append(std::to_string(tls_expiry_.load(std::memory_order_relaxed))).append("\n");
  }
  auto gauge = [&](std::string_view name, std::string_view type, std::string_view help, const std::string& value) {
    header(out, name, type, help);
    out.append(name).append(" ").append(value).append("\n");
  };
  if (gauges_.in_flight) gauge("pit_calls_in_flight", "gauge", "Calls in the pipeline now.", std::to_string(gauges_.in_flight()));
  if (gauges_.workers_busy) gauge("pit_worker_threads_busy", "gauge", "Worker threads running a sync operation.", std::to_string(gauges_.workers_busy()));
  if (gauges_.workers_queued) gauge("pit_worker_queue_length", "gauge", "Sync operations waiting for a worker.", std::to_string(gauges_.workers_queued()));
  if (gauges_.workers_total) gauge("pit_worker_threads", "gauge", "Worker threads in the pool.", std::to_string(gauges_.workers_total()));
  if (gauges_.io_stalls) gauge("pit_io_thread_stalls_total", "counter", "Times an I/O thread ran one piece of code past host.io_stall_ms (every call on it waited).", std::to_string(gauges_.io_stalls()));
  if (gauges_.admission_in_flight) {
    gauge("pit_admission_in_flight", "gauge", "Calls holding a slot of the host-wide admission limit.", std::to_string(gauges_.admission_in_flight()));
    gauge("pit_admission_queue_length", "gauge", "Calls waiting for a slot of the host-wide admission limit.", std::to_string(gauges_.admission_queued()));
    gauge("pit_admission_limit", "gauge", "The host-wide limit on calls in flight.", std::to_string(gauges_.admission_limit));
  }
  for (const auto& section : sections_) section(out);
  header(out, "pit_audit_records_total", "counter", "Audit records written, by decision.");
  out.append("pit_audit_records_total{decision=\"allow\"} ").append(std::to_string(audit.records[1].load(std::memory_order_relaxed))).append("\n");
  out.append("pit_audit_records_total{decision=\"deny\"} ").append(std::to_string(audit.records[0].load(std::memory_order_relaxed))).append("\n");
  gauge("pit_audit_dropped_total", "counter", "Audit records dropped because the audit queue was full (audit.when_behind = drop); a gap record marks each run.", std::to_string(audit.dropped.load(std::memory_order_relaxed)));
  gauge("pit_audit_write_failures_total", "counter", "Writes of the audit sink that failed (each is retried; /readyz is 503 meanwhile).", std::to_string(audit.write_failures.load(std::memory_order_relaxed)));
  gauge("pit_audit_queue_depth", "gauge", "Audit records formatted and not yet written.", std::to_string(audit.queue_depth.load(std::memory_order_relaxed)));
  gauge("pit_log_lines_dropped_total", "counter", "Log lines dropped because the log sink was full.", std::to_string(log::dropped()));
  const ProcessStats p = read_process();
  gauge("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", number(p.cpu_seconds));
  gauge("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", std::to_string(p.resident_bytes));
  gauge("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", std::to_string(p.virtual_bytes));
  gauge("process_open_fds", "gauge", "Open file descriptors.", std::to_string(p.open_fds));
  gauge("process_max_fds", "gauge", "The limit of open file descriptors.", std::to_string(p.max_fds));
  gauge("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.", number(p.start_time_seconds));
  return out;
}

}  // namespace pit::detail
