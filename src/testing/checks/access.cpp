// Identity and evolution (docs/testing.md): who may call each operation, as its contract
// declares and the configuration narrows it, and whether the served contracts still
// honour their committed lock.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "pit/lock.hpp"
#include "testing/checks.hpp"

namespace pit::testing::detail {
namespace {

constexpr std::string_view kIdentity = "identity";
constexpr std::string_view kEvolution = "evolution";

bool refused(const Answer& answer) {
  return answer.code == Code::unauthenticated || answer.code == Code::permission_denied;
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

// What configuration adds to the declared access (require_scopes / require_roles), for
// messages; empty when it adds nothing.
std::string configured_narrowing(const Target& target) {
  std::string out;
  for (const auto& s : target.settings->require_scopes) out += (out.empty() ? "" : ", ") + ("scope " + s);
  for (const auto& r : target.settings->require_roles) out += (out.empty() ? "" : ", ") + ("role " + r);
  return out;
}

// The credential the kit's calls carry on that way, as a reader of the report knows it;
// empty when the hints give none for it.
std::string credential_name(const Kit& kit, Via via) {
  if (via == Via::http) return kit.hints().authorization.empty() ? std::string{} : "Hints::authorization";
  const auto& id = kit.hints().identity;
  if (!id) return {};
  std::string scopes;
  for (const auto& s : id->scopes) scopes += (scopes.empty() ? "" : " ") + s;
  std::string roles;
  for (const auto& r : id->roles) roles += (roles.empty() ? "" : " ") + r;
  return "Hints::identity (" + id->subject + ", scopes [" + scopes + "], roles [" + roles + "])";
}

// A call without a credential must be refused the way docs/security.md says: in-process
// `unauthenticated`; over HTTP 401 with `WWW-Authenticate: Bearer`, so a client knows
// which credential to bring. Empty when it was; else what was wrong.
std::string unauthenticated_refusal_problem(const Answer& answer, Via via) {
  if (!answer.transport_error.empty()) return "got no answer (" + answer.transport_error + ")";
  if (answer.code != Code::unauthenticated) return "was answered " + answer.summary() + ", not unauthenticated";
  if (via == Via::http) {
    if (answer.status != 401) return "was answered HTTP " + std::to_string(answer.status) + ", not 401";
    if (answer.header("WWW-Authenticate").rfind("Bearer", 0) != 0) {
      return "was answered 401 without `WWW-Authenticate: Bearer` (got " +
             in_quotes(answer.header("WWW-Authenticate")) + ")";
    }
  }
  return {};
}

// Calls `target` with (credential) or without the hints' credential (in-process:
// `identity` instead, when given). When the kit is attached, a drill answers in place of
// the implementation: a call the access policies let through meets the drill
// (`internal`), one they refuse never gets there, and the user's implementation never runs
// for the kit's made-up callers.
Answer probe(Kit& kit, const Target& target, Via via, bool credential,
             std::shared_ptr<const Principal> identity = {}) {
  std::optional<Kit::Armed> armed;
  if (kit.attached()) armed.emplace(kit.arm(target, {.code = Code::internal}));
  CallSpec spec;
  spec.credential = credential;
  spec.identity = std::move(identity);
  return kit.call(target, via, spec);
}

void check_target(Kit& kit, const Target& target, Via via) {
  const OpSpec& spec = target.operation->spec;
  const std::string rule = target.settings->rule;
  const std::string narrowing = configured_narrowing(target);
  const std::string credential = credential_name(kit, via);
  const bool has_credential = !credential.empty();

  const Answer anonymous = probe(kit, target, via, false);
  if (!anonymous.transport_error.empty()) {
    kit.fail(kIdentity, &target, via,
             "a call without a credential got no answer (" + anonymous.transport_error +
                 "), so who may call the operation could not be checked");
    return;
  }

  if (spec.access() == Access::anonymous) {
    const std::string why{spec.anonymous_reason()};
    if (why.empty()) {
      kit.fail(kIdentity, &target, via,
               "the operation is declared .anonymous(\"\") with no reason: anyone, without a credential, may call "
               "it, and nothing tells a reviewer why. Say why a stranger must reach it, "
               ".anonymous(\"load balancer probe\"), or declare .require(...) if it is not meant to be open");
      return;
    }
    if (refused(anonymous)) {
      kit.fail(kIdentity, &target, via,
               "the contract declares the operation anonymous (" + in_quotes(why) +
                   ") but a caller without a credential was refused (" + anonymous.summary() +
                   "): configuration narrows it to authenticated callers (" +
                   (narrowing.empty() ? rule : narrowing) +
                   ", from require_scopes/require_roles on it or on its contract). If it must stay open to the "
                   "callers its reason names, remove those keys for it; if not, declare .require(...) in the "
                   "contract instead of .anonymous, so the code says who may call it");
      return;
    }
    kit.pass(kIdentity, &target, via,
             "open to callers without a credential, as declared: anonymous because " + in_quotes(why) +
                 " (a reviewer should agree that strangers may call it)");
    return;
  }

  if (auto problem = unauthenticated_refusal_problem(anonymous, via); !problem.empty()) {
    kit.fail(kIdentity, &target, via,
             "a call without a credential " + problem + "; pit refuses every operation not declared anonymous to such "
             "a caller (unauthenticated, HTTP 401 with WWW-Authenticate: Bearer; docs/security.md). Something "
             "between the caller and the operation let it through or changed the refusal");
    return;
  }

  if (spec.access() == Access::undeclared) {
    // Closed to everyone: the refusal of an authenticated caller is permission_denied.
    // In-process without the hints' identity: the kit's own, with no scopes or roles.
    static const auto kit_identity = service_identity("pit-kit");
    const bool own = via == Via::inproc && !kit.hints().identity;
    std::string verified = "a call without a credential is refused";
    if (has_credential || own) {
      const Answer with = probe(kit, target, via, true, own ? kit_identity : nullptr);
      const std::string who = own ? "the kit's own service identity" : credential;
      // permission_denied (403) for a caller pit knows; a token meant for another audience
      // is not one (401 invalid_token): refused either way.
      if (!refused(with)) {
        kit.fail(kIdentity, &target, via,
                 "the operation declares no access, so pit must refuse it to every caller, but a call with " + who +
                     " was answered " + with.summary() + " instead of permission_denied (403)");
        return;
      }
      verified += ", and so is one with " + who + " (" + std::string(pit::to_string(with.code)) + ")";
    }
    kit.fail(kIdentity, &target, via,
             "the operation declares no access, so pit refuses it to every caller (" + verified +
                 "): no client can use it. Declare who may call it in the contract's OpSpec, "
                 ".require(pit::scope(\"...\")) or .anonymous(\"why\") (docs/security.md); if it is closed on "
                 "purpose, leave it out of the kit with Hints::skip and the reason");
    return;
  }

  // Required: the hints' credential stands for the service's intended caller, so a refusal
  // is a configuration that closes the operation to it (or hints that name the wrong
  // caller) — either way the checks that need the operation to run cannot, so it fails.
  if (!has_credential) {
    kit.pass(kIdentity, &target, via,
             "a call without a credential is refused (unauthenticated); not checked with a credential: the hints give "
             "none for " +
                 std::string(to_string(via)) + " (Hints::" + (via == Via::http ? "authorization" : "identity") + ")");
    return;
  }
  const Answer with = probe(kit, target, via, true);
  if (refused(with)) {
    kit.fail(kIdentity, &target, via,
             "a call with " + credential + " was refused (" + with.summary() + "); the operation requires " + rule +
                 (narrowing.empty() ? std::string{} : " (configuration adds " + narrowing + ")") +
                 (kit.attached() ? std::string{} : ", or the implementation refused it itself") +
                 ". If that credential is the service's intended caller, the configuration (require_scopes/"
                 "require_roles, the audience, auth.plaintext_bearer) shuts it out: fix it; otherwise give the kit a "
                 "credential that meets the requirement, so its other checks can call the operation");
    return;
  }
  kit.pass(kIdentity, &target, via,
           "a call without a credential is refused (unauthenticated); one with " + credential + " gets in (" + rule +
               ")");
}

}  // namespace

void check_identity(Kit& kit) {
  for (const Target& target : kit.targets()) {
    for (Via via : kit.ways()) check_target(kit, target, via);
  }
}

void check_evolution(Kit& kit) {
  std::string path = kit.hints().lock_file;
  if (path.empty()) {
    std::error_code ec;
    const auto cwd = std::filesystem::current_path(ec);
    if (!std::filesystem::exists("contracts.lock", ec)) {
      kit.skip(kEvolution, nullptr, std::nullopt,
               "no compatibility lock: Hints::lock_file is empty and there is no contracts.lock in " +
                   (cwd.empty() ? std::string("the working directory") : cwd.string()) +
                   ". Write one, pit::lock::write(host, \"contracts.lock\") or ./service --contract-lock write "
                   "contracts.lock, commit it, and give its path in Hints::lock_file (docs/evolution.md)");
      return;
    }
    path = "contracts.lock";
  }
  const lock::Report report = lock::check(kit.host(), path);
  if (!report.lock_error().empty()) {
    kit.fail(kEvolution, nullptr, std::nullopt,
             "the compatibility lock could not be used: " + report.text() +
                 "Fix the file (or write it again from contracts that honour it: ./service --contract-lock write " +
                 path + ")");
    return;
  }
  if (!report.ok()) {
    kit.fail(kEvolution, nullptr, std::nullopt,
             "the served contracts break their committed lock, so callers built against it would fail:\n" +
                 report.text() + "Review each change (docs/evolution.md): fix the code, acknowledge an intended "
                 "break in the lock, or serve it under a new contract version; then check again with ./service "
                 "--contract-lock check " + path + " and, once it passes, update the lock with ./service "
                 "--contract-lock write " + path + " and commit it");
    return;
  }
  std::string passed = "the served contracts honour " + path;
  std::size_t warnings = 0;
  for (const auto& f : report.findings()) warnings += f.severity == lock::Severity::warning ? 1 : 0;
  if (warnings > 0) passed += " (" + std::to_string(warnings) + " warning(s): " + report.text() + ")";
  kit.pass(kEvolution, nullptr, std::nullopt, std::move(passed));
}

}  // namespace pit::testing::detail
