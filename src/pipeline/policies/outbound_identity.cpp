#include "pipeline/policies/outbound_identity.hpp"

#include <string>
#include <utility>

#include "call/call_access.hpp"
#include "identity/offload.hpp"
#include "identity/principal_access.hpp"
#include "identity/resume_on.hpp"
#include "identity/token_client.hpp"
#include "pit/identity.hpp"
#include "pit/log.hpp"
#include "settings/operation_settings.hpp"

namespace pit::policies {
namespace {

using detail::CallAccess;

Fault no_identity(std::string why) {
  log::error("identity not carried to the downstream call", {{"reason", why}});
  return Fault{Code::unauthenticated, "no credential for the downstream call"}
      .with_cause(std::move(why))
      .from(Fault::Origin::runtime);
}

std::string audience_of(std::string_view contract) { return "urn:pit:" + std::string{contract}; }

bool meant_for(const Principal& who, std::string_view contract, const std::vector<std::string>& shared) {
  for (const auto& aud : who.audiences) {
    if (aud == contract || aud == audience_of(contract)) return true;
    for (const auto& s : shared) {
      if (aud == s) return true;
    }
  }
  return false;
}

}  // namespace

OutboundIdentityPolicy::OutboundIdentityPolicy(detail::identity::TokenClient* tokens,
                                               std::vector<std::string> shared_audiences)
    : tokens_(tokens), shared_audiences_(std::move(shared_audiences)), offload_(tokens != nullptr ? std::make_unique<detail::Offload>(2) : nullptr) {}

OutboundIdentityPolicy::~OutboundIdentityPolicy() = default;

Task<Outcome> OutboundIdentityPolicy::handle(Call& call, Next next) {
  const Principal& who = call.context().principal();
  const auto* settings = CallAccess::settings(call);
  const OutboundIdentity mode = settings != nullptr ? settings->outbound_identity : OutboundIdentity::forward;
  // An anonymous call stays anonymous onward; `none` sends no credential by choice.
  if (!who.authenticated() || mode == OutboundIdentity::none) co_return co_await next(call);

  const std::string_view contract = call.operation().contract;
  const std::string* token = detail::PrincipalAccess::credential(who);
  const bool has_token = token != nullptr && !token->empty();
  if (mode == OutboundIdentity::forward) {
    if (!has_token) {
      co_return no_identity("outbound_identity = forward, but the caller (" + std::string{to_string(who.method)} +
                            " " + who.subject + ") has no token to forward; use exchange or own");
    }
    if (!meant_for(who, contract, shared_audiences_)) {
      co_return no_identity("outbound_identity = forward, but the caller's token is not meant for " +
                            std::string{contract} + " (its aud); use exchange");
    }
    CallAccess::set_credential(call, "Bearer " + *token);
    co_return co_await next(call);
  }
  if (tokens_ == nullptr) {
    co_return no_identity("outbound_identity needs auth.token_url, auth.client_id and auth.client_secret");
  }
  // exchange: the caller's token for one meant for the downstream, the caller as subject;
  // a caller with no token (a service identity, a client certificate) is this service
  // itself acting, so it gets this service's own token.
  const bool exchange = mode == OutboundIdentity::exchange && has_token;
  // The job owns what it reads and writes: a call abandoned at its deadline (or at
  // shutdown) may be gone when the issuer answers.
  struct Fetch {
    std::string audience;
    std::string subject_token;
    detail::identity::Result got;
  };
  auto fetch = std::make_shared<Fetch>();
  fetch->audience = audience_of(contract);
  if (exchange) fetch->subject_token = *token;
  detail::identity::TokenClient* tokens = tokens_;
  // Named, not a temporary inside the co_await (GCC 12 miscompiles those).
  detail::ResumeOn fetched{CallAccess::home(call), [&](std::function<void()> done) {
                             offload_->post([tokens, exchange, fetch, done = std::move(done)] {
                               fetch->got = exchange ? tokens->exchange(fetch->subject_token, fetch->audience, {})
                                                     : tokens->own_token(fetch->audience, {});
                               done();
                             });
                           }};
  co_await fetched;
  const detail::identity::Result& got = fetch->got;
  if (!got.error.empty()) {
    if (got.retryable) {
      log::warn("token for the downstream call not available", {{"reason", got.error}});
      co_return Fault{Code::unavailable, "the credentials for the downstream call are not available now"}
          .with(Fault::retryable)
          .from(Fault::Origin::runtime);
    }
    co_return no_identity(std::string{exchange ? "token exchange" : "client credentials"} + " failed: " + got.error);
  }
  CallAccess::set_credential(call, "Bearer " + got.access_token);
  co_return co_await next(call);
}

}  // namespace pit::policies
