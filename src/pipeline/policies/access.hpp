// authentication and authorization: who is calling, and whether they may.
//
// authentication turns what the entry point saw (the Authorization header, the verified
// client certificate) into the call's principal; a call without a credential keeps the
// principal it inherited (its caller's, or a CallerScope's identity), else is anonymous.
// authorization checks the principal against the operation's declared access plus what
// configuration adds, and writes one audit record per decision. Both sit after admission
// (floods are refused before credentials cost CPU) and before the user's policies.
#pragma once

#include <string_view>

#include "pit/audit.hpp"
#include "pit/pipeline.hpp"

namespace pit::detail {
class Authenticator;
class AuditLog;
}  // namespace pit::detail

namespace pit::policies {

class Authentication final : public Policy {
 public:
  // authenticator: null when no issuer is configured (every presented token is refused).
  Authentication(detail::Authenticator* authenticator, detail::AuditLog* audit, bool plaintext_bearer) noexcept
      : authenticator_(authenticator), audit_(audit), plaintext_bearer_(plaintext_bearer) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "authentication"; }
  Task<Outcome> handle(Call& call, Next next) override;

 private:
  detail::Authenticator* authenticator_;
  detail::AuditLog* audit_;
  bool plaintext_bearer_;
};

class Authorization final : public Policy {
 public:
  explicit Authorization(detail::AuditLog* audit) noexcept : audit_(audit) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "authorization"; }
  Task<Outcome> handle(Call& call, Next next) override;

 private:
  detail::AuditLog* audit_;
};

}  // namespace pit::policies

namespace pit::detail {
// The audit log pit::authorize() writes to: the one of the host serving the call.
// (Set by the host for the calls it serves; read through the call's context.)
AuditLog* audit_log_of(const Context& context) noexcept;
}  // namespace pit::detail
