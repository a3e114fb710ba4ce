// pit::Context — the ambient context of a call.
//
// Every call carries one: correlation id, W3C trace ids, absolute deadline, cancellation
// state, principal, baggage. Code inside an operation reads it with
// pit::Context::current(); it is right after any co_await and inside sync operations on
// the worker pool, because the runtime installs it around every resume and every job.
// The snapshot is immutable for user code; only cancellation state changes, once.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pit {

using Clock = std::chrono::steady_clock;

// Why a call was cancelled. The first reason wins; it never changes afterwards.
enum class CancelReason : std::uint8_t { none = 0, deadline, caller, shutdown };
std::string_view to_string(CancelReason reason) noexcept;

class Principal;

namespace detail {
struct ContextAccess;
// What to run when the call is cancelled while it waits on something cancellable.
struct CancelHook {
  void (*fn)(void*) = nullptr;
  void* arg = nullptr;
};
}

class Context {
 public:
  // The context of the call this code runs in. Outside any call this is a context whose
  // in_call() is false, with empty ids and no deadline: never garbage from another call.
  static const Context& current() noexcept;

  [[nodiscard]] bool in_call() const noexcept { return in_call_; }
  // The correlation id: the caller's (X-Request-Id, or inherited), else the trace id.
  [[nodiscard]] std::string_view correlation_id() const noexcept {
    return correlation_id_.empty() ? trace_id() : std::string_view{correlation_id_};
  }
  // W3C trace context: 32 and 16 lowercase hex digits; parent_span_id is empty for a root.
  [[nodiscard]] std::string_view trace_id() const noexcept {
    return in_call_ ? std::string_view{trace_id_.data(), trace_id_.size()} : std::string_view{};
  }
  [[nodiscard]] std::string_view span_id() const noexcept {
    return in_call_ ? std::string_view{span_id_.data(), span_id_.size()} : std::string_view{};
  }
  [[nodiscard]] std::string_view parent_span_id() const noexcept {
    return has_parent_ ? std::string_view{parent_span_id_.data(), parent_span_id_.size()}
                       : std::string_view{};
  }
  [[nodiscard]] bool sampled() const noexcept { return sampled_; }
  // The caller's W3C tracestate, as it goes onward ("" when none, or when it was invalid).
  [[nodiscard]] std::string_view tracestate() const noexcept { return tracestate_; }

  // The absolute deadline; Clock::time_point::max() outside a call.
  [[nodiscard]] Clock::time_point deadline() const noexcept { return deadline_; }
  // Time left before the deadline, never negative.
  [[nodiscard]] std::chrono::nanoseconds remaining() const noexcept;

  [[nodiscard]] bool cancelled() const noexcept {
    return cancel_reason_.load(std::memory_order_acquire) != CancelReason::none;
  }
  [[nodiscard]] CancelReason cancel_reason() const noexcept {
    return cancel_reason_.load(std::memory_order_acquire);
  }

  // Who is calling (pit/identity.hpp): set at the boundary from a verified credential,
  // inherited by nested calls; an anonymous principal (method none) when there is none.
  [[nodiscard]] const Principal& principal() const noexcept;
  // Baggage: key/value pairs that flow to every nested call.
  [[nodiscard]] std::optional<std::string_view> baggage(std::string_view key) const noexcept;
  [[nodiscard]] const std::vector<std::pair<std::string, std::string>>& all_baggage() const noexcept {
    return baggage_;
  }

  // What is being called, and how it arrived ("inproc", "http").
  [[nodiscard]] std::string_view contract() const noexcept { return contract_; }
  [[nodiscard]] std::string_view operation() const noexcept { return operation_; }
  [[nodiscard]] std::string_view transport() const noexcept { return transport_; }

  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

 private:
  friend struct detail::ContextAccess;

  bool in_call_ = false;
  bool has_parent_ = false;
  bool sampled_ = true;
  std::atomic<CancelReason> cancel_reason_{CancelReason::none};
  // Set and fired only on the call's home I/O thread.
  mutable detail::CancelHook cancel_hook_{};
  std::array<char, 32> trace_id_{};
  std::array<char, 16> span_id_{};
  std::array<char, 16> parent_span_id_{};
  Clock::time_point deadline_ = Clock::time_point::max();
  std::string correlation_id_;
  std::string tracestate_;
  std::shared_ptr<const Principal> principal_;
  std::vector<std::pair<std::string, std::string>> baggage_;
  std::string_view contract_;
  std::string_view operation_;
  std::string_view transport_ = "inproc";
  // The runtime state of the host serving the call (for pit::spawn); opaque here.
  void* host_ = nullptr;
  // The audit log of the host that authorized the call (for pit::authorize); opaque here.
  void* audit_ = nullptr;
  // The call's pit::durable::Transaction (transactional deduplicated operations only; never
  // inherited by nested calls); opaque here.
  void* transaction_ = nullptr;
  // A CallerScope's idempotency key for the calls made in it (never set on a call's own
  // context, never inherited: each call made by an operation gets its own key).
  std::string idempotency_key_;
};

// Gives code outside any call (a main(), a batch job, a test) the context of the calls it
// makes from this thread, until the scope ends:
//   pit::CallerScope scope{{.correlation_id = "job-42", .timeout = std::chrono::seconds(5),
//                           .identity = pit::service_identity("nightly-job", {"orders.write"})}};
//   pit::block_on(orders->place(request));   // carries job-42, a 5 s deadline, the job's identity
class CallerScope {
 public:
  struct Options {
    std::string correlation_id{};               // empty: each call gets its trace id
    std::chrono::milliseconds timeout{0};       // zero: no deadline of the caller's own
    std::vector<std::pair<std::string, std::string>> baggage{};
    // Who the calls act as (pit::service_identity): calls made with none are anonymous,
    // and refused by every operation that is not declared anonymous.
    std::shared_ptr<const Principal> identity{};
    // The idempotency key of the logical call made in this scope to a deduplicated
    // operation (docs/durability.md): sent with every retry of it, in place of the key pit
    // generates for each call. Empty: pit generates one per call. One scope per logical
    // call: every call to the same operation made in the scope carries this key, and gets
    // the first one's outcome.
    std::string idempotency_key{};
  };
  explicit CallerScope(Options options);
  ~CallerScope();
  CallerScope(const CallerScope&) = delete;
  CallerScope& operator=(const CallerScope&) = delete;

 private:
  Context context_;
  const Context* saved_;
};

// Shorthands for code inside an operation (sync operations poll these).
namespace this_call {
inline bool cancelled() noexcept { return Context::current().cancelled(); }
inline CancelReason cancel_reason() noexcept { return Context::current().cancel_reason(); }
inline std::chrono::nanoseconds remaining() noexcept { return Context::current().remaining(); }
}  // namespace this_call

}  // namespace pit
