#include "pipeline/policies/access.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "call/call_access.hpp"
#include "identity/audit_log.hpp"
#include "identity/authenticator.hpp"
#include "identity/jwt.hpp"
#include "pit/identity.hpp"
#include "pit/log.hpp"
#include "settings/operation_settings.hpp"

namespace pit::policies {
namespace {

using detail::CallAccess;
using detail::ContextAccess;

constexpr std::string_view kBearer = "Bearer ";

// The faults say nothing of why: the reason is in the audit record and the log, under the
// call's correlation id, where the caller cannot read it.
Fault unauthenticated() {
  return Fault{Code::unauthenticated, "authentication required"}.from(Fault::Origin::runtime);
}
Fault denied() { return Fault{Code::permission_denied, "permission denied"}.from(Fault::Origin::runtime); }
Fault audit_behind() {
  return Fault{Code::unavailable, "the audit log cannot keep up"}.with(Fault::retryable).from(Fault::Origin::runtime);
}

AuditRecord make_record(const Context& context, bool allowed, std::string_view reason, std::string_view rule,
                        const Principal* who, std::string_view resource = {}) {
  AuditRecord r;
  r.time = std::chrono::system_clock::now();
  r.allowed = allowed;
  r.reason = reason;
  r.contract = context.contract();
  r.operation = context.operation();
  r.rule = rule;
  r.resource = resource;
  r.principal = who;
  r.correlation_id = context.correlation_id();
  r.trace_id = context.trace_id();
  return r;
}

// Records one decision; false when the audit log refused it (wait mode, full for longer
// than its max wait): the call is then refused, never let through unrecorded. On an I/O
// thread the wait suspends the call instead of blocking the thread.
Task<bool> record(detail::AuditLog* audit, const Context& context, bool allowed, std::string_view reason,
                  std::string_view rule, const Principal* who) {
  if (audit == nullptr) co_return true;
  const AuditRecord r = make_record(context, allowed, reason, rule, who);
  co_return co_await audit->record_async(r);
}

// The refusal for `code` (unauthenticated, permission_denied, or unavailable when the
// keys cannot be had). Takes the code, not a Fault: no temporary with a destructor is
// passed into the coroutine from a co_await expression (GCC 12, docs/contracts.md).
Task<Outcome> refuse(detail::AuditLog* audit, const Call& call, Code code, std::string_view reason,
                     std::string_view rule, const Principal* who) {
  log::info("call refused", {{"reason", reason}, {"rule", rule}, {"code", to_string(code)}});
  if (!co_await record(audit, call.context(), false, reason, rule, who)) co_return audit_behind();
  if (code == Code::unavailable) {
    // No key set to be had: never open; the caller may retry once the keys are back.
    Fault later = Fault::unavailable("the credentials cannot be checked now");
    later.with(Fault::retryable).from(Fault::Origin::runtime);
    co_return later;
  }
  co_return code == Code::permission_denied ? denied() : unauthenticated();
}

std::string_view rule_of(const Call& call) {
  const auto* settings = CallAccess::settings(call);
  return settings != nullptr ? std::string_view{settings->rule} : std::string_view{"undeclared"};
}

bool meets_configured(const Principal& who, const detail::OperationSettings* settings) {
  if (settings == nullptr) return true;
  for (const auto& scope : settings->require_scopes) {
    if (!who.has_scope(scope)) return false;
  }
  for (const auto& role : settings->require_roles) {
    if (!who.has_role(role)) return false;
  }
  return true;
}

}  // namespace

Task<Outcome> Authentication::handle(Call& call, Next next) {
  const std::string& credential = CallAccess::credential(call);
  const std::string& peer = CallAccess::peer_identity(call);
  if (credential.empty() && peer.empty()) co_return co_await next(call);  // inherited, or anonymous

  Context& context = CallAccess::context(call);
  std::shared_ptr<const Principal> who;
  if (!credential.empty()) {
    const bool bearer = credential.size() > kBearer.size() &&
                        std::equal(kBearer.begin(), kBearer.end(), credential.begin(), [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                        });
    Principal presented;  // for the audit record of a refusal: the token's hash, never the token
    if (!bearer) {
      co_return co_await refuse(audit_, call, Code::unauthenticated, "unsupported_credential", rule_of(call), &presented);
    }
    // A view into the call's credential, which outlives this handler: the token is copied
    // only when it must be verified (a cache hit, every call after a token's first, copies
    // nothing).
    const std::string_view token = std::string_view{credential}.substr(kBearer.size());
    if (!CallAccess::secure_transport(call) && context.transport() != "inproc" && !plaintext_bearer_) {
      presented.token_hash = detail::identity::token_hash(token);
      co_return co_await refuse(audit_, call, Code::unauthenticated, "bearer_over_plaintext", rule_of(call), &presented);
    }
    if (authenticator_ != nullptr) who = authenticator_->cached(token);
    if (who == nullptr || !authenticator_->audience_accepted(*who, context.contract())) {
      detail::Authenticator::Result result;
      if (authenticator_ == nullptr) {
        result.reason = "invalid_token:no_issuer_configured";
      } else {
        const std::string owned{token};  // named: no temporary inside the co_await (GCC 12)
        result = co_await authenticator_->authenticate(owned, context.contract(), CallAccess::home(call));
      }
      if (result.principal == nullptr) {
        presented.token_hash = detail::identity::token_hash(token);
        if (result.unavailable) {
          co_return co_await refuse(audit_, call, Code::unavailable, result.reason, rule_of(call), &presented);
        }
        co_return co_await refuse(audit_, call, Code::unauthenticated, result.reason, rule_of(call), &presented);
      }
      who = std::move(result.principal);
    }
    if (!peer.empty()) {
      // A token over mutual TLS: the certificate's holder acts for the token's subject.
      auto with_actor = std::make_shared<Principal>(*who);
      with_actor->actors.insert(with_actor->actors.begin(), Actor{"mtls", peer, {}});
      who = std::move(with_actor);
    }
  } else {
    auto from_certificate = std::make_shared<Principal>();
    from_certificate->issuer = "mtls";
    from_certificate->subject = peer;
    from_certificate->method = AuthMethod::mtls;
    from_certificate->expires_at = std::chrono::system_clock::time_point::max();
    who = std::move(from_certificate);
  }
  ContextAccess::set_principal(context, std::move(who));
  co_return co_await next(call);
}

Task<Outcome> Authorization::handle(Call& call, Next next) {
  Context& context = CallAccess::context(call);
  ContextAccess::set_audit(context, audit_);
  const OpSpec& spec = call.operation().spec;
  const Principal& who = context.principal();
  const auto* settings = CallAccess::settings(call);
  const std::string_view rule = rule_of(call);
  switch (spec.access()) {
    case Access::undeclared:
      // Closed by default: no configuration opens it.
      co_return co_await refuse(audit_, call, who.authenticated() ? Code::permission_denied : Code::unauthenticated, "undeclared", rule, &who);
    case Access::anonymous:
      // Configuration may narrow even an open operation (never the other way round).
      if (settings != nullptr && (!settings->require_scopes.empty() || !settings->require_roles.empty())) {
        if (!who.authenticated()) co_return co_await refuse(audit_, call, Code::unauthenticated, "no_credential", rule, &who);
        if (!meets_configured(who, settings)) co_return co_await refuse(audit_, call, Code::permission_denied, "requirement_not_met", rule, &who);
      }
      break;
    case Access::required:
      if (!who.authenticated()) co_return co_await refuse(audit_, call, Code::unauthenticated, "no_credential", rule, &who);
      if (!who.satisfies(spec.requirement()) || !meets_configured(who, settings)) {
        co_return co_await refuse(audit_, call, Code::permission_denied, "requirement_not_met", rule, &who);
      }
      break;
  }
  const bool open = spec.access() == Access::anonymous && !who.authenticated();
  if (!co_await record(audit_, context, true, open ? "anonymous_operation" : "allowed", rule, &who)) {
    co_return audit_behind();
  }
  co_return co_await next(call);
}

}  // namespace pit::policies

namespace pit {

void authorize(const Requirement& requirement, std::string_view resource) {
  const Context& context = Context::current();
  const Principal& who = context.principal();
  auto* audit = static_cast<detail::AuditLog*>(detail::ContextAccess::audit(context));
  const bool allowed = who.satisfies(requirement);
  const std::string rule = detail::rule_text(OpSpec{}.require(requirement), {}, {});
  const std::string_view reason = allowed ? "allowed" : (who.authenticated() ? "requirement_not_met" : "no_credential");
  // In user code, maybe on an I/O thread: a full queue blocks it for at most audit.max_wait_ms.
  const bool recorded = audit == nullptr || audit->record(policies::make_record(context, allowed, reason, rule, &who, resource));
  if (!recorded) throw policies::audit_behind();
  if (!allowed) {
    log::info("access refused", {{"reason", reason}, {"rule", rule}, {"resource", resource}});
    throw who.authenticated() ? policies::denied() : policies::unauthenticated();
  }
}

}  // namespace pit
