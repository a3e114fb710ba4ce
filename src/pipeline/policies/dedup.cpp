#include "pipeline/policies/dedup.hpp"

#include <optional>

#include "call/call_access.hpp"
#include "durability/fingerprint.hpp"
#include "durability/idempotency_key.hpp"
#include "durability/stored_outcome.hpp"
#include "fault/exception_mappers.hpp"
#include "observability/metrics.hpp"
#include "pit/identity.hpp"
#include "pit/json.hpp"
#include "pit/log.hpp"
#include "settings/operation_settings.hpp"

namespace pit::policies {
namespace {

namespace dur = detail::durability;
using Result = detail::OperationMetrics::Dedup;

// A claim's lease when the call has no deadline: a dead owner's key is free again after it.
constexpr auto kUnboundedLease = std::chrono::minutes(5);

void count(const Call& call, Result result) {
  if (const auto* s = detail::CallAccess::settings(call); s != nullptr && s->metrics != nullptr) {
    s->metrics->dedup[result].fetch_add(1, std::memory_order_relaxed);
  }
}

// "<principal>|<contract>/<operation>": a principal as a digest of issuer and subject (so
// the store holds no names, and no subject can forge another scope), "-" when anonymous.
std::string scope_of(const Call& call) {
  const Principal& who = call.context().principal();
  std::string scope = who.authenticated() ? dur::sha256_hex(who.issuer + '\n' + who.subject).substr(0, 32) : "-";
  scope.append("|").append(call.operation().full_name);
  return scope;
}

dur::WallClock::time_point lease_end(const Call& call, dur::WallClock::time_point now) {
  const auto deadline = call.context().deadline();
  const auto steady_now = Clock::now();
  if (deadline == Clock::time_point::max() || deadline - steady_now > kUnboundedLease) return now + kUnboundedLease;
  return now + std::chrono::duration_cast<dur::WallClock::duration>(std::max(deadline - steady_now, Clock::duration::zero()));
}

// A retry could change these, or they never ran to the end: the claim is released.
bool releases(const Outcome& outcome) {
  if (outcome.ok()) return false;
  const Fault& f = outcome.fault();
  return f.has(Fault::retryable) || f.has(Fault::rejected) || f.has(Fault::deadline) ||
         f.code() == Code::cancelled || f.code() == Code::deadline_exceeded;
}

// The request decoded (once: dispatch does not decode it again) and encoded again by the
// operation's hooks: its canonical text, and the fingerprint of that.
std::optional<Fault> fingerprint(Call& call, std::string& out) {
  const OperationInfo& op = call.operation();
  std::exception_ptr error = detail::capture([&] {
    if (const std::string* body = detail::CallAccess::json_request(call)) {
      const std::size_t unknown = op.hooks.decode_request(call, *body);
      if (const auto* s = detail::CallAccess::settings(call); s != nullptr && s->metrics != nullptr) {
        s->metrics->count_unknown_fields(unknown);
      }
      detail::CallAccess::mark_request_decoded(call);
    }
    out = dur::sha256_hex(op.hooks.encode_request(call));
  });
  if (!error) return std::nullopt;
  Fault f = detail::to_fault(error, {});
  if (f.code() == Code::invalid_argument) return f.from(Fault::Origin::runtime);
  return Fault::internal("the request could not be fingerprinted").with_cause(f.cause()).from(Fault::Origin::runtime);
}

// The reply as stored: the bytes an HTTP caller got, or the canonical encoding of an
// in-process call's reply.
std::string reply_bytes(Call& call) {
  if (detail::CallAccess::wants_json_reply(call)) return detail::CallAccess::json_reply(call);
  std::string out;
  json::Writer writer{out};
  call.operation().hooks.encode_reply(call, writer);
  return out;
}

// The stored outcome, as this call's own.
Outcome replay(Call& call, const dur::Settled& settled) {
  detail::CallAccess::set_replayed(call, true);
  if (settled.code != Code::ok) return dur::decode_fault(settled.code, settled.payload);
  if (detail::CallAccess::wants_json_reply(call)) {
    detail::CallAccess::json_reply(call) = settled.payload;  // byte for byte
    return Outcome::success();
  }
  if (auto error = detail::capture([&] { (void)call.operation().hooks.decode_reply(call, settled.payload); })) {
    return Fault::internal("internal error")
        .with_cause("the stored reply could not be decoded: " + detail::to_fault(error, {}).message())
        .from(Fault::Origin::runtime);
  }
  return Outcome::success();
}

// rejected: the call never ran (the claim could not be made).
Fault store_unavailable(const Fault& why, bool rejected) {
  Fault f = Fault::unavailable("the deduplication store is unavailable").with(Fault::retryable).from(Fault::Origin::runtime);
  if (rejected) f.with(Fault::rejected);
  f.with_cause(why.cause());
  return f;
}

// Clears the call's transaction slot however the frame ends.
struct TransactionSlot {
  Context& context;
  TransactionSlot(Context& c, durable::Transaction* t) noexcept : context(c) {
    detail::ContextAccess::set_transaction(context, t);
  }
  ~TransactionSlot() { detail::ContextAccess::set_transaction(context, nullptr); }
  TransactionSlot(const TransactionSlot&) = delete;
  TransactionSlot& operator=(const TransactionSlot&) = delete;
};

}  // namespace

Task<Outcome> Deduplication::deduplicate(Call& call, Next next) {
  const OperationInfo& op = call.operation();
  const std::string& sent = detail::CallAccess::idempotency_key(call);
  if (sent.empty()) {
    if (op.spec.dedup_key() == OpSpec::Key::optional) co_return co_await next(call);
    co_return Fault::invalid_argument("this operation needs an Idempotency-Key header (docs/durability.md)")
        .from(Fault::Origin::runtime);
  }
  const auto key = dur::parse_key_header(sent);
  if (!key) {
    co_return Fault::invalid_argument("the Idempotency-Key must be 1 to 255 characters of A-Z a-z 0-9 - _ . : ~ + / =")
        .from(Fault::Origin::runtime);
  }
  std::string request_fingerprint;
  if (auto bad = fingerprint(call, request_fingerprint)) co_return std::move(*bad);

  dur::ClaimRequest claim;
  claim.key = {scope_of(call), dur::sha256_hex(*key)};
  claim.fingerprint = std::move(request_fingerprint);
  claim.owner = dur::generate_key();
  claim.now = dur::WallClock::now();
  claim.lease_until = lease_end(call, claim.now);
  const dur::KeyRef key_ref = claim.key;
  const std::string owner = claim.owner;

  std::optional<dur::ClaimResult> claimed;
  std::optional<Fault> failure;
  try {
    Task<dur::ClaimResult> claiming = store_->claim(std::move(claim));  // named: GCC 12 (docs/contracts.md)
    claimed.emplace(co_await std::move(claiming));
  } catch (const Fault& f) {
    failure.emplace(f);
  }
  if (failure) {
    count(call, Result::store_unavailable);
    log::warn("deduplication store unavailable: call refused",
              {{"store", store_->name()}, {"idempotency_key", dur::key_for_log(*key)}, {"cause", failure->cause()}});
    co_return store_unavailable(*failure, true);
  }
  switch (claimed->status) {
    case dur::ClaimStatus::replay:
      count(call, Result::replay);
      co_return replay(call, claimed->settled);
    case dur::ClaimStatus::mismatch:
      count(call, Result::mismatch);
      co_return Fault::failed_precondition("the Idempotency-Key was already used with another request")
          .with_detail("reason", "idempotency_key_reused")
          .from(Fault::Origin::runtime);
    case dur::ClaimStatus::running:
      count(call, Result::running);
      co_return Fault::aborted("a call with this Idempotency-Key is still running: retry later")
          .with(Fault::retryable)
          .from(Fault::Origin::runtime);
    case dur::ClaimStatus::claimed:
      break;
  }
  count(call, claimed->taken_over ? Result::takeover : Result::first);
  if (claimed->taken_over) {
    log::info("deduplication: a claim past its lease taken over", {{"idempotency_key", dur::key_for_log(*key)}});
  }
  const auto retention = op.spec.dedup_retention().count() > 0 ? op.spec.dedup_retention() : default_retention_;

  if (!op.spec.is_transactional()) {
    Outcome outcome = co_await next(call);
    std::optional<Fault> store_error;
    try {
      if (releases(outcome)) {
        Task<void> releasing = store_->release(key_ref, owner);
        co_await std::move(releasing);
      } else {
        dur::Settled settled{outcome.code(), outcome.ok() ? reply_bytes(call) : dur::encode_fault(outcome.fault())};
        const auto expires = dur::WallClock::now() + retention;
        Task<bool> settling = store_->settle(key_ref, owner, std::move(settled), expires);
        if (!co_await std::move(settling)) {
          log::warn("deduplication: the outcome was not stored, the claim had been taken over",
                    {{"idempotency_key", dur::key_for_log(*key)}});
        }
      }
    } catch (const Fault& f) {
      store_error.emplace(f);
    }
    // Written once, never retried here: a write that failed is not made into a permanent
    // 409 — the claim's lease ends at the deadline, and then the key is free again.
    if (store_error) {
      log::warn("deduplication: the outcome could not be stored; the key is free again when its lease ends",
                {{"store", store_->name()}, {"idempotency_key", dur::key_for_log(*key)}, {"cause", store_error->cause()}});
    }
    co_return outcome;
  }

  // Transactional: the operation's writes and the settle commit in one transaction.
  std::unique_ptr<dur::Store::Unit> unit;
  try {
    Task<std::unique_ptr<dur::Store::Unit>> beginning = store_->begin(key_ref, owner);
    unit = co_await std::move(beginning);
  } catch (const Fault& f) {
    failure.emplace(f);
  }
  if (failure) {
    count(call, Result::store_unavailable);
    try {
      Task<void> releasing = store_->release(key_ref, owner);
      co_await std::move(releasing);
    } catch (const Fault&) {
      // The lease covers it.
    }
    co_return store_unavailable(*failure, true);
  }
  std::optional<Outcome> outcome;
  {
    TransactionSlot slot{detail::CallAccess::context(call), unit.get()};
    outcome.emplace(co_await next(call));
  }
  if (!outcome->ok()) {
    // An exception, or any fault: nothing the call wrote stays, and the claim is released,
    // so a retry with the key runs the operation again on clean data.
    bool undone = false;
    try {
      co_await unit->rollback();
      Task<void> releasing = store_->release(key_ref, owner);
      co_await std::move(releasing);
      undone = true;
    } catch (const Fault& f) {
      failure.emplace(f);
    }
    if (!undone) {
      log::warn("deduplication: the claim of a failed transactional call was not released; free again when its lease ends",
                {{"store", store_->name()}, {"idempotency_key", dur::key_for_log(*key)}, {"cause", failure->cause()}});
    }
    co_return std::move(*outcome);
  }
  bool committed = false;
  try {
    dur::Settled settled{Code::ok, reply_bytes(call)};
    Task<bool> committing = unit->settle_and_commit(std::move(settled), dur::WallClock::now() + retention);
    committed = co_await std::move(committing);
  } catch (const Fault& f) {
    failure.emplace(f);
  }
  if (failure) {
    log::warn("deduplication: the call's transaction did not commit",
              {{"store", store_->name()}, {"idempotency_key", dur::key_for_log(*key)}, {"cause", failure->cause()}});
    co_return store_unavailable(*failure, false);  // it ran, but nothing of it was kept: a retry is safe
  }
  if (!committed) {
    // Its lease passed and another call took the key: nothing of this one was committed.
    co_return Fault::aborted("the call lost its Idempotency-Key to a retry: nothing was written")
        .with(Fault::retryable)
        .from(Fault::Origin::runtime);
  }
  co_return std::move(*outcome);
}

}  // namespace pit::policies
