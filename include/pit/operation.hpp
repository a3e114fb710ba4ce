// The facts of a contract and its operations, as the runtime sees them: names, declared
// faults, idempotency, timeouts, and the type-erased hooks that let transports and the
// dispatch boundary work on any message type. Built once per contract by PIT_CONTRACT.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "pit/access.hpp"
#include "pit/fault.hpp"
#include "pit/task.hpp"

namespace pit {

class Call;
struct ContractInfo;
struct OperationInfo;

// Per-operation facts, written in the contract declaration:
//   (place, pit::OpSpec{}.raises(pit::Code::not_found).timeout(std::chrono::seconds(2)))
class OpSpec {
 public:
  // The codes an implementation may raise; any other code it raises is masked to internal.
  // deadline_exceeded and cancelled are part of every operation and need no declaration.
  template <class... Codes>
  constexpr OpSpec raises(Codes... codes) const {
    OpSpec copy = *this;
    ((copy.declared_ |= bit(codes)), ...);
    return copy;
  }
  // Safe to retry: calling twice has the same effect as calling once.
  [[nodiscard]] constexpr OpSpec idempotent(bool yes = true) const {
    OpSpec copy = *this;
    copy.idempotent_ = yes;
    return copy;
  }
  // Safe to retry although not naturally idempotent (docs/durability.md): each logical
  // call carries an idempotency key (the Idempotency-Key header; pit's client sends one
  // by itself and keeps it across retries), and the first settled outcome under a key is
  // kept for `retention` (zero: DurabilityOptions::retention) and replayed to every later
  // call with the same key and request, without running the implementation again.
  // `key` says whether a call without a key is refused (invalid_argument) or runs
  // undeduplicated.
  enum class Key : std::uint8_t { required, optional };
  [[nodiscard]] constexpr OpSpec deduplicated(std::chrono::milliseconds retention = std::chrono::milliseconds{0},
                                              Key key = Key::required) const {
    OpSpec copy = *this;
    copy.deduplicated_ = true;
    copy.dedup_retention_ = retention;
    copy.dedup_key_ = key;
    return copy;
  }
  // With deduplicated(): the implementation's own writes go through the call's
  // pit::durable::Transaction (pit/durable.hpp) and commit in one transaction with the
  // stored reply; an exception rolls both back, and a retry runs again cleanly.
  [[nodiscard]] constexpr OpSpec transactional(bool yes = true) const {
    OpSpec copy = *this;
    copy.transactional_ = yes;
    return copy;
  }
  // The operation's default timeout; the effective deadline is the earliest of the
  // caller's, this, and the host default.
  [[nodiscard]] constexpr OpSpec timeout(std::chrono::milliseconds t) const {
    OpSpec copy = *this;
    copy.timeout_ = t;
    return copy;
  }

  // Who may call it (docs/security.md). Declaring nothing closes the operation to every
  // caller. Each require() adds a condition the caller must also meet:
  //   .require(pit::scope("orders.write"))
  //   .require(pit::any_of(pit::scope("orders.read"), pit::role("support")))
  [[nodiscard]] constexpr OpSpec require(const Requirement& requirement) const {
    OpSpec copy = *this;
    copy.requirement_ = access_ == Access::required ? requirement_.and_(requirement) : requirement;
    copy.access_ = Access::required;
    return copy;
  }
  // Open to anyone, authenticated or not: the rare operation a stranger must reach (a
  // health-like read). `why` is printed at start and in every audit record of it.
  [[nodiscard]] constexpr OpSpec anonymous(std::string_view why) const {
    OpSpec copy = *this;
    copy.access_ = Access::anonymous;
    copy.anonymous_reason_ = why;
    return copy;
  }

  [[nodiscard]] constexpr bool declares(Code code) const noexcept {
    constexpr std::uint32_t always = (1U << static_cast<unsigned>(Code::deadline_exceeded)) |
                                     (1U << static_cast<unsigned>(Code::cancelled));
    return ((declared_ | always) & bit(code)) != 0;
  }
  [[nodiscard]] constexpr std::uint32_t declared_mask() const noexcept { return declared_; }
  [[nodiscard]] constexpr bool is_idempotent() const noexcept { return idempotent_; }
  [[nodiscard]] constexpr bool is_deduplicated() const noexcept { return deduplicated_; }
  [[nodiscard]] constexpr std::chrono::milliseconds dedup_retention() const noexcept { return dedup_retention_; }
  [[nodiscard]] constexpr Key dedup_key() const noexcept { return dedup_key_; }
  [[nodiscard]] constexpr bool is_transactional() const noexcept { return transactional_; }
  // Zero: no operation-specific timeout (the host default applies).
  [[nodiscard]] constexpr std::chrono::milliseconds timeout() const noexcept { return timeout_; }
  [[nodiscard]] constexpr Access access() const noexcept { return access_; }
  [[nodiscard]] constexpr const Requirement& requirement() const noexcept { return requirement_; }
  [[nodiscard]] constexpr std::string_view anonymous_reason() const noexcept { return anonymous_reason_; }

 private:
  static constexpr std::uint32_t bit(Code c) { return 1U << static_cast<unsigned>(c); }
  std::uint32_t declared_ = 0;
  bool idempotent_ = false;
  bool deduplicated_ = false;
  bool transactional_ = false;
  Key dedup_key_ = Key::required;
  std::chrono::milliseconds dedup_retention_{0};
  std::chrono::milliseconds timeout_{0};
  Access access_ = Access::undeclared;
  Requirement requirement_{};
  std::string_view anonymous_reason_{};
};

namespace json {
class Writer;
}  // namespace json

namespace schema {
struct Type;  // pit/schema.hpp: the message model
}  // namespace schema

namespace detail {
// How one operation is carried out on a type-erased call; generated per operation.
struct OperationHooks {
  Call* (*make_call)(const OperationInfo&);              // a call with empty request/reply
  // The decodes throw pit::Fault (invalid_argument) and return the number of unknown
  // fields the body held (json::DecodeStats), for pit_unknown_fields_total.
  std::size_t (*decode_request)(Call&, std::string_view json);
  std::string (*encode_request)(const Call&);
  std::size_t (*decode_reply)(Call&, std::string_view json);
  // Appends the reply; throws pit::Fault (internal), or json::OutputTooLarge when the
  // writer's limit is passed.
  void (*encode_reply)(const Call&, json::Writer&);
  // Invokes the implementation. Coroutine operations return the task to await; sync
  // operations run to completion inside (on a worker thread) and return an empty task.
  Task<void> (*invoke)(void* implementation, Call&);
  // The models of the request and reply messages (pit/schema.hpp): what the OpenAPI
  // document and the compatibility lock are derived from.
  const schema::Type& (*request_type)();
  const schema::Type& (*reply_type)();
};
}  // namespace detail

struct OperationInfo {
  std::string_view name;       // "place"
  std::string full_name;       // "shop.v1.Orders/place"
  OpSpec spec;
  bool coroutine = false;      // Task<R> operation (I/O threads) or sync (worker pool)
  std::size_t index = 0;       // position in the contract
  std::string_view contract;   // "shop.v1.Orders"
  detail::OperationHooks hooks{};
};

struct ContractInfo {
  std::string_view name;  // "shop.v1.Orders"
  std::vector<OperationInfo> operations;
  [[nodiscard]] const OperationInfo* find(std::string_view operation) const noexcept {
    for (const auto& op : operations) {
      if (op.name == operation) return &op;
    }
    return nullptr;
  }
};

}  // namespace pit
