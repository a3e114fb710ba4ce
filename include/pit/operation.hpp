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
  // The operation's default timeout; the effective deadline is the earliest of the
  // caller's, this, and the host default.
  [[nodiscard]] constexpr OpSpec timeout(std::chrono::milliseconds t) const {
    OpSpec copy = *this;
    copy.timeout_ = t;
    return copy;
  }

  [[nodiscard]] constexpr bool declares(Code code) const noexcept {
    constexpr std::uint32_t always = (1U << static_cast<unsigned>(Code::deadline_exceeded)) |
                                     (1U << static_cast<unsigned>(Code::cancelled));
    return ((declared_ | always) & bit(code)) != 0;
  }
  [[nodiscard]] constexpr std::uint32_t declared_mask() const noexcept { return declared_; }
  [[nodiscard]] constexpr bool is_idempotent() const noexcept { return idempotent_; }
  // Zero: no operation-specific timeout (the host default applies).
  [[nodiscard]] constexpr std::chrono::milliseconds timeout() const noexcept { return timeout_; }

 private:
  static constexpr std::uint32_t bit(Code c) { return 1U << static_cast<unsigned>(c); }
  std::uint32_t declared_ = 0;
  bool idempotent_ = false;
  std::chrono::milliseconds timeout_{0};
};

namespace json {
class Writer;
}  // namespace json

namespace detail {
// How one operation is carried out on a type-erased call; generated per operation.
struct OperationHooks {
  Call* (*make_call)(const OperationInfo&);              // a call with empty request/reply
  void (*decode_request)(Call&, std::string_view json);  // throws pit::Fault (invalid_argument)
  std::string (*encode_request)(const Call&);
  void (*decode_reply)(Call&, std::string_view json);
  // Appends the reply; throws pit::Fault (internal), or json::OutputTooLarge when the
  // writer's limit is passed.
  void (*encode_reply)(const Call&, json::Writer&);
  // Invokes the implementation. Coroutine operations return the task to await; sync
  // operations run to completion inside (on a worker thread) and return an empty task.
  Task<void> (*invoke)(void* implementation, Call&);
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
