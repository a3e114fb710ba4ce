// deduplication: the calls of an operation declared deduplicated run once per idempotency
// key (docs/durability.md). The key (scoped by principal, contract and operation) is
// claimed in the store with a lease that ends at the call's deadline; the call runs; its
// settled outcome is stored with the reply and replayed to every later call with the same
// key and request, the implementation not run again. Still running: aborted (409,
// retryable). The key used for another request: failed_precondition with the detail
// reason=idempotency_key_reused (422). The store unavailable: unavailable (503), never run
// undeduplicated. Retryable and rejected outcomes release the claim. Transactional
// operations write through the call's pit::durable::Transaction, committed with the
// settle. In the pipeline only when a served operation is deduplicated; calls of other
// operations go straight through (no frame of its own).
#pragma once

#include <chrono>

#include "durability/store.hpp"
#include "pit/pipeline.hpp"

namespace pit::policies {

class Deduplication final : public Policy {
 public:
  // default_retention: how long settled outcomes are kept when the operation does not say.
  // store: null only in a pipeline built to be described, never run.
  Deduplication(detail::durability::Store* store, std::chrono::milliseconds default_retention) noexcept
      : store_(store), default_retention_(default_retention) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "deduplication"; }
  Task<Outcome> handle(Call& call, Next next) override {
    if (!call.operation().spec.is_deduplicated()) return next(call);
    return deduplicate(call, next);
  }

 private:
  Task<Outcome> deduplicate(Call& call, Next next);
  detail::durability::Store* store_;
  std::chrono::milliseconds default_retention_;
};

}  // namespace pit::policies
