// outbound_identity: a call this host makes to another process carries the identity of the
// call that makes it, as configured per downstream contract (OutboundIdentity): a token
// exchanged for the downstream (RFC 8693), the caller's own token when it is meant for the
// downstream, or this service's own token. Never silently dropped: when the configured way
// cannot give a credential for an authenticated caller, the call fails (unauthenticated)
// and the log says why.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pit/pipeline.hpp"

namespace pit::detail {
class Offload;
namespace identity {
class TokenClient;
}
}  // namespace pit::detail

namespace pit::policies {

class OutboundIdentityPolicy final : public Policy {
 public:
  // tokens: this service's client at the issuer; null when auth.token_url is not set.
  // shared_audiences: auth.audiences — audiences of the whole system (an API's URI) that a
  // forwarded token may name instead of the downstream contract.
  OutboundIdentityPolicy(detail::identity::TokenClient* tokens, std::vector<std::string> shared_audiences);
  ~OutboundIdentityPolicy() override;
  [[nodiscard]] std::string_view name() const noexcept override { return "outbound_identity"; }
  Task<Outcome> handle(Call& call, Next next) override;

 private:
  detail::identity::TokenClient* tokens_;
  std::vector<std::string> shared_audiences_;
  std::unique_ptr<detail::Offload> offload_;  // token fetches wait here, not on an I/O thread
};

}  // namespace pit::policies
