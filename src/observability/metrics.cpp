#include "observability/metrics.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>

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

// The text format written above, made OpenMetrics 1.0.0: a counter's family (its HELP and
// TYPE lines) is named without the _total its samples keep, and "# EOF" ends the page.
// Done on the whole page, so the sections other parts append follow the same rule. A
// counter whose name lacks _total (none today) is declared unknown, which OpenMetrics
// allows under any name.
void to_openmetrics(std::string& page) {
  std::unordered_set<std::string> counters;
  for (std::size_t at = page.find("# TYPE "); at != std::string::npos; at = page.find("# TYPE ", at + 1)) {
    const auto end = page.find('\n', at);
    const std::string_view line{page.data() + at + 7, end - at - 7};
    const auto space = line.find(' ');
    if (line.substr(space + 1) == "counter") counters.emplace(line.substr(0, space));
  }
  std::string out;
  out.reserve(page.size() + 16);
  std::size_t at = 0;
  while (at < page.size()) {
    const auto end = page.find('\n', at);
    std::string_view line{page.data() + at, (end == std::string::npos ? page.size() : end) - at};
    at = end == std::string::npos ? page.size() : end + 1;
    const bool help = line.rfind("# HELP ", 0) == 0;
    if (help || line.rfind("# TYPE ", 0) == 0) {
      const auto rest = line.substr(7);
      const auto name = rest.substr(0, rest.find(' '));
      if (counters.count(std::string(name)) != 0) {
        const bool suffixed = name.size() > 6 && name.substr(name.size() - 6) == "_total";
        out.append(line.substr(0, 7));
        out.append(suffixed ? name.substr(0, name.size() - 6) : name);
        out.append(help || suffixed ? rest.substr(name.size()) : " unknown");
        out.push_back('\n');
        continue;
      }
    }
    out.append(line).push_back('\n');
  }
  out.append("# EOF\n");
  page = std::move(out);
}

}  // namespace

void Exemplar::offer(std::string_view trace_id, std::string_view span_id, std::uint64_t elapsed_ns,
                     std::int64_t unix_ms) noexcept {
  if (trace_id.size() != 32 || span_id.size() != 16) return;
  std::uint32_t seq = sequence_.load(std::memory_order_relaxed);
  if ((seq & 1U) != 0 || !sequence_.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire)) return;
  // Release stores (plain moves on x86): a reader that sees any new field also sees the odd
  // sequence when it checks again. No fence: GCC's TSan does not support one.
  std::array<std::uint64_t, 6> words{};
  std::memcpy(words.data(), trace_id.data(), 32);
  std::memcpy(words.data() + 4, span_id.data(), 16);
  for (std::size_t i = 0; i < words.size(); ++i) ids_[i].store(words[i], std::memory_order_release);
  elapsed_ns_.store(elapsed_ns, std::memory_order_release);
  unix_ms_.store(unix_ms, std::memory_order_release);
  sequence_.store(seq + 2, std::memory_order_release);
}

std::optional<Exemplar::Value> Exemplar::read() const noexcept {
  for (int attempt = 0; attempt < 16; ++attempt) {
    const std::uint32_t before = sequence_.load(std::memory_order_acquire);
    if (before == 0) return std::nullopt;
    if ((before & 1U) != 0) continue;
    std::array<std::uint64_t, 6> words{};
    // Acquire loads: the second look at the sequence cannot move above them.
    for (std::size_t i = 0; i < words.size(); ++i) words[i] = ids_[i].load(std::memory_order_acquire);
    Value v;
    v.elapsed_ns = elapsed_ns_.load(std::memory_order_acquire);
    v.unix_ms = unix_ms_.load(std::memory_order_acquire);
    if (sequence_.load(std::memory_order_relaxed) != before) continue;
    std::memcpy(v.trace_id.data(), words.data(), 32);
    std::memcpy(v.span_id.data(), words.data() + 4, 16);
    return v;
  }
  return std::nullopt;  // written all along: the next scrape shows one
}

void OperationMetrics::record(Code code, Transport transport, std::chrono::nanoseconds elapsed,
                              std::string_view trace_id, std::string_view span_id) noexcept {
  calls[static_cast<std::size_t>(code)][transport].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(elapsed).count();
  std::size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  latency[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns.fetch_add(static_cast<std::uint64_t>(elapsed.count()), std::memory_order_relaxed);
  if (!trace_id.empty()) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    exemplars[bucket].offer(trace_id, span_id, static_cast<std::uint64_t>(elapsed.count()),
                            std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
  }
}

Exposition exposition_for(std::string_view accept) noexcept {
  auto trim = [](std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  };
  auto iequals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
      if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
  };
  double openmetrics_q = 0;
  double text_q = 0;
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    const auto semi = range.find(';');
    const auto type = trim(range.substr(0, semi));
    std::string_view version;
    double q = 1;
    std::string_view params = semi == std::string_view::npos ? std::string_view{} : range.substr(semi + 1);
    while (!params.empty()) {
      const auto next = params.find(';');
      const auto param = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      const auto eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      const auto name = trim(param.substr(0, eq));
      const auto value = trim(param.substr(eq + 1));
      if (iequals(name, "version")) version = value;
      if (iequals(name, "q")) {
        double parsed = 0;
        const auto r = std::from_chars(value.data(), value.data() + value.size(), parsed);
        q = r.ec == std::errc{} && r.ptr == value.data() + value.size() && parsed >= 0 && parsed <= 1 ? parsed : 0;
      }
    }
    if (iequals(type, "application/openmetrics-text") && (version.empty() || version == "1.0.0")) {
      openmetrics_q = std::max(openmetrics_q, q);
    } else if ((iequals(type, "text/plain") && (version.empty() || version == "0.0.4")) || iequals(type, "text/*") ||
               type == "*/*") {
      text_q = std::max(text_q, q);
    }
  }
  return openmetrics_q > 0 && openmetrics_q >= text_q ? Exposition::openmetrics : Exposition::prometheus_text;
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

std::string MetricsRegistry::render(Exposition format) const {
  const bool openmetrics = format == Exposition::openmetrics;
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
      out.append(std::to_string(cumulative));
      // OpenMetrics only (the text format has no exemplars): 63 characters of labels,
      // within the 128 allowed.
      if (const auto e = openmetrics ? m.exemplars[b].read() : std::nullopt) {
        out.append(" # {trace_id=\"").append(e->trace_id.data(), e->trace_id.size());
        out.append("\",span_id=\"").append(e->span_id.data(), e->span_id.size()).append("\"} ");
        out.append(number(static_cast<double>(e->elapsed_ns) / 1e9)).append(" ");
        out.append(std::to_string(e->unix_ms / 1000)).append(".");
        const auto ms = std::to_string(e->unix_ms % 1000);
        out.append(3 - ms.size(), '0').append(ms);
      }
      out.append("\n");
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
  if (openmetrics) to_openmetrics(out);
  return out;
}

}  // namespace pit::detail
