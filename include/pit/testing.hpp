// pit::testing — the conformance kit (docs/testing.md): one call in a user's test checks
// every guarantee pit makes, for every operation of every contract their host serves, on
// their code and their configuration.
//
//   TEST(MyService, KeepsPitsGuarantees) {
//     pit::Host host{my::config()};
//     my::serve(host);                         // what main() does before host.run()
//     pit::testing::expect_guarantees(host);   // pit/testing/gtest.hpp
//   }
//
// Give it the host before start(): the kit attaches (its own fault injection, a tap on the
// log lines the host writes, loopback listeners), starts it, checks, and leaves it running
// and disarmed, for the test to stop (or the host's destructor). A host started already
// gets the checks that need no attachment; the others fail and say so.
//
// Each check is one named, independent result: passed, failed (with what the service did
// and how to fix it) or skipped (with the reason, printed). The kit runs its calls one at a
// time and expects no other traffic on the host while it runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "pit/host.hpp"
#include "pit/identity.hpp"

namespace pit::testing {

// What the kit cannot guess about the service. Operations are named by their full wire
// name ("shop.v1.Orders/place"); a contract's name ("shop.v1.Orders") stands for all its
// operations.
struct Hints {
  // A valid request per operation, as JSON, where the default-constructed request is not
  // valid input (the implementation would refuse it). The kit's injected faults and delays
  // never run the implementation; the checks that do (bad input, metrics, logs) use this.
  std::map<std::string, std::string, std::less<>> requests;
  // The credential of the kit's calls, over HTTP (the Authorization header's value,
  // "Bearer eyJ...") and in-process (a pit::service_identity(...)). Without them the kit's
  // calls are anonymous, and operations that require a caller are checked for refusal only.
  std::string authorization;
  std::shared_ptr<const Principal> identity;
  // Operations or contracts left out, with the reason the report prints.
  std::map<std::string, std::string, std::less<>> skip;
  // Checks left out by name ("overload"), with the reason the report prints.
  std::map<std::string, std::string, std::less<>> skip_checks;
  // The committed compatibility lock of the served contracts (pit/lock.hpp); empty: the
  // `evolution` check looks for "contracts.lock" in the working directory, and is skipped,
  // saying so, when there is none.
  std::string lock_file;
  // The deadline the kit's callers give for the deadline check, and how long after it the
  // answer may come (scheduling, the sanitizers).
  std::chrono::milliseconds short_deadline{200};
  std::chrono::milliseconds deadline_slack{500};
  // The longest effective timeout an operation may have and still count as bounded.
  std::chrono::milliseconds max_timeout{std::chrono::minutes(5)};
};

enum class Verdict : std::uint8_t { passed, failed, skipped };
std::string_view to_string(Verdict verdict) noexcept;

// One check of one operation (or of the host) over one way in.
struct Result {
  std::string check;      // "fault_masking"
  std::string target;     // "shop.v1.Orders/place", or the host: "host"
  std::string transport;  // "inproc", "http", or "" when the check is about neither
  Verdict verdict = Verdict::passed;
  // failed: what the service did, and how to fix it; skipped: why; passed: what was seen.
  std::string message;
};

class Report {
 public:
  [[nodiscard]] const std::vector<Result>& results() const noexcept { return results_; }
  [[nodiscard]] bool passed() const noexcept;  // no result failed
  [[nodiscard]] std::size_t count(Verdict verdict) const noexcept;
  // The results of one check (and target, when given).
  [[nodiscard]] std::vector<Result> of(std::string_view check, std::string_view target = {}) const;
  void add(Result result) { results_.push_back(std::move(result)); }

 private:
  std::vector<Result> results_;
};

// Every failed and skipped result, one line each, then the counts.
std::ostream& operator<<(std::ostream& out, const Report& report);

// The checks, by name, in the order they run, each with what it proves (docs/testing.md).
struct CheckInfo {
  std::string_view name;
  std::string_view proves;
};
const std::vector<CheckInfo>& checks();

// Runs every check on `host` (see above for what happens to it) and returns the results;
// never throws for what it finds (a host that cannot start is a failed result).
Report check_guarantees(Host& host, const Hints& hints = {});

// For a test that starts its host in a fixture: attaches the kit before start() (what
// check_guarantees does by itself with an unstarted host). Idempotent; std::logic_error
// once the host has started.
void attach(Host& host);

}  // namespace pit::testing
