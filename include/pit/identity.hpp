// Who is calling: the principal of a call, and the explicit identities of work that runs
// outside any call.
//
//   const pit::Principal& who = pit::caller();            // inside an operation
//   if (order.owner != who.subject) pit::authorize(pit::role("support"), "order " + id);
//
//   pit::CallerScope as_job{{.identity = pit::service_identity("nightly-report", {"orders.read"})}};
//   pit::block_on(orders->list(request));                  // checked like any caller
//
// The runtime fills the principal in at the boundary (a verified bearer token, a client
// certificate) and carries it to every nested call; user code only reads it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pit/access.hpp"

namespace pit {

namespace detail {
struct PrincipalAccess;
}

// How the caller proved who it is.
enum class AuthMethod : std::uint8_t {
  none,     // anonymous: no credential
  bearer,   // a verified JWT access token
  mtls,     // a client certificate (its SPIFFE id or subject)
  service,  // an explicit in-process identity (pit::service_identity)
};
std::string_view to_string(AuthMethod method) noexcept;

// One party in a delegation chain (RFC 8693 `act`): it acts on behalf of the subject.
struct Actor {
  std::string issuer;
  std::string subject;
  std::string client_id;
};

class Principal {
 public:
  std::string issuer;     // the token's `iss`; "pit:service" for a service identity
  std::string subject;    // `sub`
  std::string client_id;  // `client_id` (RFC 9068), else `azp`
  std::vector<std::string> scopes;
  std::vector<std::string> roles;
  // The claims the configuration asked to keep (auth.keep_claims), as JSON text values.
  std::vector<std::pair<std::string, std::string>> claims;
  AuthMethod method = AuthMethod::none;
  // Who acts on the subject's behalf, nearest first (the token's `act` chain, or the
  // client certificate's identity when a token came with one).
  std::vector<Actor> actors;
  std::string token_id;    // `jti`
  std::string token_hash;  // the first 16 bytes of the token's SHA-256, hex: never the token
  std::chrono::system_clock::time_point expires_at{};  // max() when it does not expire
  std::vector<std::string> audiences;  // the token's `aud`: the services it is meant for

  [[nodiscard]] bool authenticated() const noexcept { return method != AuthMethod::none; }
  [[nodiscard]] bool has_scope(std::string_view s) const noexcept;
  [[nodiscard]] bool has_role(std::string_view r) const noexcept;
  [[nodiscard]] bool satisfies(const Requirement& requirement) const;
  // The credential it was authenticated with, for delegation; empty for other methods.
  [[nodiscard]] bool has_credential() const noexcept { return credential_ && !credential_->empty(); }

 private:
  friend struct detail::PrincipalAccess;
  std::shared_ptr<const std::string> credential_;  // the bearer token (never logged)
};

// The principal of the call this code runs in (or of the enclosing CallerScope); an
// anonymous principal (method none) when there is none.
const Principal& caller() noexcept;

// An identity for work that is not a call: a job, start-up code, a test. Its scopes and
// roles are what the code grants itself; calls made under it are checked like any other.
std::shared_ptr<const Principal> service_identity(std::string name, std::vector<std::string> scopes = {},
                                                  std::vector<std::string> roles = {});

// A per-resource check inside an operation, audited like the declared ones. Throws
// pit::Fault permission_denied (or unauthenticated for an anonymous caller) when the
// caller does not satisfy `requirement`; `resource` names what was checked in the audit
// record ("order 42").
void authorize(const Requirement& requirement, std::string_view resource = {});

}  // namespace pit
