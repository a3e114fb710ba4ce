// pit::lock — the compatibility lock: a committed snapshot of every contract a host serves,
// and the check that the code still honours it (docs/evolution.md).
//
//   pit::lock::write(host, "contracts.lock");                     // once, then commit the file
//   EXPECT_EQ(pit::lock::check(host, "contracts.lock").failures(), "");   // in a test: one line
//   ./service --contract-lock check contracts.lock                 // in CI: exit 0, 1 or 2
//
// The lock holds, per operation: idempotency, timeout, declared fault codes, the access
// declaration, and the request and reply messages with every field (JSON name, type,
// required, default), enum (values, fallback) and reserved name reachable from them. The
// check compares the code with it, rule by rule, separately for requests (what old callers
// send must still decode) and replies (what the new code answers must still decode in old
// callers). A breaking finding fails the check unless the lock acknowledges exactly it
// (rule and where, with a reason); a new contract name (shop.v2.Orders) starts fresh.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pit/contract.hpp"

namespace pit {
class Host;
}  // namespace pit

namespace pit::lock {

enum class Severity : std::uint8_t {
  breaking,  // fails the check unless acknowledged
  warning,   // printed, never fails
};

// Where a finding applies: the operation itself (faults, idempotency, timeout, removal),
// or what callers send (request) or receive (reply).
enum class Side : std::uint8_t { operation, request, reply };

struct Finding {
  std::string rule;  // "field_removed": a name of the rule table in docs/evolution.md
  Severity severity = Severity::breaking;
  Side side = Side::operation;
  // Exactly what an acknowledgement names: "shop.v1.Orders/place reply: items[].sku",
  // "shop.v1.Orders/place raises not_found", "shop.v1.Orders".
  std::string where;
  std::string message;  // what changed and why it breaks (or may surprise) callers
  // The reason the lock gives when it acknowledges this finding; then it does not fail.
  std::optional<std::string> acknowledged;
};

// What a check found. A report with a lock_error() is never ok(): a missing, unreadable,
// unknown-version or nonsensical lock is not a pass.
class Report {
 public:
  Report() = default;
  Report(std::string lock_path, std::vector<Finding> findings, std::string lock_error = {});

  // No lock error and no unacknowledged breaking finding.
  [[nodiscard]] bool ok() const noexcept;
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const std::vector<Finding>& findings() const noexcept { return findings_; }
  // "<file>: <problem>" when the lock could not be used; empty otherwise.
  [[nodiscard]] const std::string& lock_error() const noexcept { return lock_error_; }
  // Every finding, one line each (breaking first), and how to acknowledge a break.
  [[nodiscard]] std::string text() const;
  // Empty when ok(), else text(): `EXPECT_EQ(check(...).failures(), "")` prints it.
  [[nodiscard]] std::string failures() const;
  // The command line's: 0 ok, 1 breaking changes, 2 the lock could not be used.
  [[nodiscard]] int exit_code() const noexcept;

 private:
  std::string path_;
  std::vector<Finding> findings_;
  std::string lock_error_;
};

std::ostream& operator<<(std::ostream& out, const Report& report);

using Contracts = std::vector<const ContractInfo*>;

// The contracts C... as a list for the functions below, when no host is at hand.
template <class... C>
  requires(detail::contract<C> && ...)
Contracts contracts() {
  return {&detail::declaration_of<C>::info()...};
}

// The lock text of `contracts`: deterministic (sorted) pretty-printed JSON, so that the
// diff of a contract change is the diff of its lines.
std::string snapshot(const Contracts& contracts);

// Compares `contracts` with the lock at `path`.
Report check(const Host& host, const std::string& path);
Report check(const Contracts& contracts, const std::string& path);
// The same on a lock's text (`source_name` names it in messages).
Report compare(const Contracts& contracts, std::string_view lock_text, std::string_view source_name);

// Writes the snapshot to `path`. When `path` already holds a lock, it is checked first and
// only replaced when that check passes (a break must be acknowledged before it becomes the
// new baseline; the written lock then holds no acknowledgements: they are spent); a lock
// that cannot be read is left alone (exit_code 2), to be fixed or deleted by hand. The
// report also carries a lock_error() when the file cannot be written.
Report write(const Host& host, const std::string& path);
Report write(const Contracts& contracts, const std::string& path);

// The command line: args are {"check", FILE} or {"write", FILE}. Prints the report (or a
// usage line) to `out` and returns the exit code (usage errors: 2).
int run_command(const Contracts& contracts, const std::vector<std::string>& args, std::ostream& out);

}  // namespace pit::lock
