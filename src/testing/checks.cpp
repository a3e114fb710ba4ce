// The list of checks and the runner: pit::testing::check_guarantees and attach.
#include "testing/checks.hpp"

#include <stdexcept>

namespace pit::testing::detail {

const std::vector<CheckEntry>& registry() {
  static const std::vector<CheckEntry> entries = {
      {"fault_masking",
       "an undeclared failure inside an operation reaches its caller as `internal` with a correlation id; its cause "
       "(a secret) is in no reply and is logged once under that id",
       &check_fault_masking},
      {"declared_faults", "each code an operation declares it raises reaches the caller as that code",
       &check_declared_faults},
      {"deadlines",
       "a caller's deadline is kept: past it the caller gets `deadline_exceeded` at once, however long the operation "
       "takes; every operation's effective timeout is bounded",
       &check_deadlines},
      {"bad_input",
       "malformed JSON, wrong types, deep nesting and an oversize body get the documented fault; unknown fields are "
       "tolerated",
       &check_bad_input},
      {"codec_round_trip", "random valid requests, generated from the described types, round-trip through the codec",
       &check_codec_round_trip},
      {"call_logs",
       "one call line per call with the correlation and trace ids; the application's lines inside the call carry them "
       "too",
       &check_call_logs},
      {"metrics", "every call is counted under its operation and code", &check_metrics},
      {"identity",
       "a call without a credential is refused by every operation not declared anonymous; an operation without an "
       "access declaration is refused to everyone",
       &check_identity},
      {"evolution", "the served contracts match their committed compatibility lock", &check_evolution},
      {"overload",
       "past the configured admission limits calls are refused `unavailable` with Retry-After, never queued without "
       "bound",
       &check_overload},
  };
  return entries;
}

}  // namespace pit::testing::detail

namespace pit::testing {

using detail::HostAccess;

std::string_view to_string(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::passed:
      return "passed";
    case Verdict::failed:
      return "failed";
    case Verdict::skipped:
      return "skipped";
  }
  return "?";
}

bool Report::passed() const noexcept { return count(Verdict::failed) == 0; }

std::size_t Report::count(Verdict verdict) const noexcept {
  std::size_t n = 0;
  for (const auto& r : results_) n += r.verdict == verdict ? 1 : 0;
  return n;
}

std::vector<Result> Report::of(std::string_view check, std::string_view target) const {
  std::vector<Result> out;
  for (const auto& r : results_) {
    if (r.check == check && (target.empty() || r.target == target)) out.push_back(r);
  }
  return out;
}

std::ostream& operator<<(std::ostream& out, const Report& report) {
  for (const auto& r : report.results()) {
    if (r.verdict == Verdict::passed) continue;
    out << to_string(r.verdict) << ": " << r.check << " " << r.target;
    if (!r.transport.empty()) out << " (" << r.transport << ")";
    out << ": " << r.message << "\n";
  }
  out << report.count(Verdict::passed) << " passed, " << report.count(Verdict::failed) << " failed, "
      << report.count(Verdict::skipped) << " skipped\n";
  return out;
}

const std::vector<CheckInfo>& checks() {
  static const std::vector<CheckInfo> infos = [] {
    std::vector<CheckInfo> v;
    for (const auto& e : detail::registry()) v.push_back({e.name, e.proves});
    return v;
  }();
  return infos;
}

void attach(Host& host) {
  Host::State& s = HostAccess::state(host);
  std::lock_guard lock{s.lifecycle};
  if (s.started) throw std::logic_error("pit::testing::attach: the host has started already; attach before start()");
  if (s.testing_kit) return;
  auto attachment = std::make_shared<detail::Attachment>();
  attachment->tap = std::make_shared<detail::LogTap>(s.options.log_sink ? s.options.log_sink : log::stdout_sink());
  s.options.log_sink = attachment->tap;
  // Listeners on loopback, on ports the kernel picks: a test never collides with another
  // process (or another test) over the configured port, and nothing outside reaches it.
  if (!s.options.http.listen.empty()) s.options.http.listen = "127.0.0.1:0";
  if (!s.options.admin.listen.empty()) s.options.admin.listen = "127.0.0.1:0";
  s.drills = std::make_unique<pit::detail::DrillBoard>();
  s.testing_kit = std::move(attachment);
}

Report check_guarantees(Host& host, const Hints& hints) {
  Report report;
  Host::State& s = HostAccess::state(host);
  bool started = false;
  {
    std::lock_guard lock{s.lifecycle};
    started = s.started;
  }
  if (!started) {
    try {
      attach(host);
      host.start();
    } catch (const std::exception& e) {
      report.add({"start", "host", "", Verdict::failed,
                  std::string("the host did not start, so nothing could be checked: ") + e.what()});
      return report;
    }
  }
  detail::Kit kit{host, hints, report};
  for (const auto& [name, why] : hints.skip) {
    report.add({"*", name, "", Verdict::skipped, why});
  }
  if (host.http_port() != 0 && kit.http_is_tls()) {
    report.add({"*", "host", "http", Verdict::skipped,
                "the HTTP listener speaks TLS and the kit's client plain HTTP: every check ran in-process only; "
                "run the kit on a host configured without http.tls_cert_file/tls_key_file to check the transport"});
  }
  for (const auto& entry : detail::registry()) {
    if (auto it = hints.skip_checks.find(entry.name); it != hints.skip_checks.end()) {
      report.add({std::string(entry.name), "host", "", Verdict::skipped, it->second});
      continue;
    }
    try {
      entry.run(kit);
    } catch (const std::exception& e) {
      report.add({std::string(entry.name), "host", "", Verdict::failed,
                  std::string("the check could not finish: ") + e.what()});
    }
    if (s.drills) s.drills->disarm();
  }
  return report;
}

}  // namespace pit::testing
