#pragma once

#include <memory>
#include <vector>

#include "fault/exception_mappers.hpp"
#include "pit/host.hpp"

namespace pit::detail {

// The inbound pipeline: the standard policies in their fixed order, then the user's.
// host_limiter: the host-wide admission limiter (null: none).
class Limiter;
class Authenticator;
class AuditLog;
class Tracer;
namespace identity {
class TokenClient;
}
namespace durability {
class Store;
}
class DrillBoard;
// authenticator: null when no issuer is configured; audit: null only in describe_pipeline().
// deduplicates: some served operation is deduplicated; dedup_store is where their claims
// go (null only in describe_pipeline()).
// drills: the conformance kit's, when one is attached (fault_injection is then in the
// order whatever the options say); mappers: the host's exception mappers, which map a
// drill's exception.
std::vector<std::unique_ptr<Policy>> standard_inbound(const HostOptions& options, Limiter* host_limiter,
                                                      Authenticator* authenticator, AuditLog* audit,
                                                      std::vector<std::unique_ptr<Policy>> user,
                                                      Tracer* tracer = nullptr, bool deduplicates = false,
                                                      durability::Store* dedup_store = nullptr,
                                                      const DrillBoard* drills = nullptr,
                                                      const std::vector<ExceptionMapper>* mappers = nullptr);
// The outbound pipeline of calls this host makes to other processes. tokens: this
// service's client at the issuer (null: none configured).
// tracer: where sampled calls' spans go (null: nowhere, as in describe_pipeline()).
std::vector<std::unique_ptr<Policy>> standard_outbound(const HostOptions& options, identity::TokenClient* tokens,
                                                       Tracer* tracer = nullptr);
// Whether spans are exported (tracing.endpoint set): the tracing policy is in both orders.
[[nodiscard]] bool tracing_on(const HostOptions& options) noexcept;

}  // namespace pit::detail
