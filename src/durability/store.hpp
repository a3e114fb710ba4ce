// The store of deduplicated operations (docs/durability.md): claims with a lease, settled
// outcomes with their replies. One interface, two stores: SQLite (embedded, the default)
// and PostgreSQL (shared by replicas). The deduplication policy is their only user.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pit/durable.hpp"
#include "pit/fault.hpp"
#include "pit/task.hpp"

namespace pit::detail::durability {

using WallClock = std::chrono::system_clock;

// Where a key lives: keys are scoped by principal, contract and operation, so one caller's
// key never meets another's, nor another operation's.
struct KeyRef {
  std::string scope;  // "<principal>|<contract>/<operation>" (principal "-" when anonymous)
  // The caller's key in its bounded, stored form: the policy hands the store the SHA-256
  // (hex) of the validated key, never the key itself.
  std::string key;
};

// A settled outcome: a success and its reply, or a fault that a retry would not change.
struct Settled {
  Code code = Code::ok;
  std::string payload;  // ok: the reply's JSON; a fault: the stored fault (its shape is the policy's)
};

struct ClaimRequest {
  KeyRef key;
  std::string fingerprint;   // of the request's canonical encoding
  std::string owner;         // unique per claim attempt: only the owner settles or releases
  WallClock::time_point now;
  WallClock::time_point lease_until;  // the call's deadline: past it, the claim may be taken over
};

enum class ClaimStatus : std::uint8_t {
  claimed,     // new key (or an expired record, or a lease past its end): the caller runs the call
  replay,      // settled with the same fingerprint: `settled` is the answer
  running,     // claimed by a call still within its lease: `retry_after` says when to come back
  mismatch,    // the key is known with another fingerprint (checked before `running`)
};

struct ClaimResult {
  ClaimStatus status = ClaimStatus::claimed;
  bool taken_over = false;  // claimed: a previous owner's lease had passed
  Settled settled;          // replay
  std::chrono::milliseconds retry_after{0};  // running
};

// Every member resumes its caller on the I/O thread it was called from, and never blocks an
// I/O thread on a disk or a socket. A store that cannot answer throws pit::Fault
// `unavailable` (the call is refused, never run undeduplicated).
class Store {
 public:
  virtual ~Store() = default;
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;  // "sqlite", "postgres"

  virtual Task<ClaimResult> claim(ClaimRequest request) = 0;
  // Stores the outcome under the owner's claim, kept until `expires`. False: the claim is
  // no longer the owner's (its lease passed and another call took it over).
  virtual Task<bool> settle(KeyRef key, std::string owner, Settled outcome, WallClock::time_point expires) = 0;
  // Forgets the owner's claim (a retryable or rejected outcome): the next call runs.
  virtual Task<void> release(KeyRef key, std::string owner) = 0;
  // Deletes settled records past their expiry; returns how many.
  virtual Task<std::size_t> purge(WallClock::time_point now) = 0;

  // Transactional mode: a transaction in which the operation's writes and the settle of
  // the owner's claim commit together. settle_and_commit() false: the claim was lost, and
  // nothing was committed.
  class Unit : public pit::durable::Transaction {
   public:
    virtual Task<bool> settle_and_commit(Settled outcome, WallClock::time_point expires) = 0;
    virtual Task<void> rollback() = 0;
    ~Unit() override = default;
  };
  virtual Task<std::unique_ptr<Unit>> begin(KeyRef key, std::string owner) = 0;
};

}  // namespace pit::detail::durability
