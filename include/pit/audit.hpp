// The audit log: one structured record per authorization decision, allowed or denied,
// written off the call path and never lost silently (docs/configuration.md, [audit]).
//
//   pit::HostOptions o;
//   o.audit.path = "/var/log/shop/audit.jsonl";          // the default sink: a JSON-lines file
//   o.audit.sink = std::make_shared<MySiemForwarder>();  // or a sink of one's own
//
// Each record is one JSON object on one line: seq, time, decision, reason, contract,
// operation, rule, resource, issuer, subject, client_id, auth, token_id, token_hash,
// actors, correlation_id, trace_id. Never the token itself.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pit {

class Principal;

// One authorization decision, as the authorization policy and pit::authorize() see it.
// The views need only live until AuditLog::record returns (it formats the line at once).
struct AuditRecord {
  std::chrono::system_clock::time_point time;
  bool allowed = false;
  // Why: "allowed", "no_credential", "invalid_token:expired", "missing_scope",
  // "undeclared", "anonymous_operation", ...
  std::string_view reason;
  std::string_view contract, operation;  // of the call
  std::string_view rule;                 // the requirement as text: "scope:orders.write | role:admin"
  std::string_view resource;             // pit::authorize(..., resource); empty for the declared check
  const Principal* principal = nullptr;  // null: no principal at all (written as auth "none")
  std::string_view correlation_id, trace_id;
};

// A sink of one's own (a SIEM forwarder, a database): receives batches of records, one JSON
// object a line without the newline, on the audit log's writer thread, never on a call's.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Writes the lines, in order. Returning false or throwing means "could not write": the
  // log turns unhealthy (/readyz 503) and offers the same lines again, first in the next
  // batch, until a write succeeds, so a sink that wrote part of a batch before failing
  // sees that part twice.
  virtual bool write(const std::vector<std::string>& lines) = 0;
};

struct AuditOptions {
  // The JSON-lines file the records are appended to (created 0600 on the first record,
  // reopened when it is renamed or deleted, e.g. by logrotate); "-": standard output.
  // Ignored when `sink` is set; "" without a sink is an invalid option (start() throws):
  // there is no way to switch the audit off.
  std::string path = "audit.jsonl";
  // When records arrive faster than the sink writes them and `queue` is full:
  // wait:  the call waits up to max_wait for room, then is refused `unavailable` (503),
  //        so every decision that let a call through is on record;
  // drop:  the record is dropped at once and counted (pit_audit_dropped_total), and a gap
  //        record {"gap":N,"from_seq":a,"to_seq":b} is written in its place.
  enum class WhenBehind : std::uint8_t { wait, drop };
  WhenBehind when_behind = WhenBehind::wait;
  std::chrono::milliseconds max_wait{100};
  std::size_t queue = 8192;  // records formatted and not yet written, at most
  std::shared_ptr<AuditSink> sink;
};

}  // namespace pit
