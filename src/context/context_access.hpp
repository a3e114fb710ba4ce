// The runtime's write access to a Context. User code only ever sees it const.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

#include "pit/context.hpp"

namespace pit::detail {

struct ContextAccess {
  // Marks the context as that of a call of contract/operation arriving by transport.
  static void begin(Context& c, std::string_view contract, std::string_view operation,
                    std::string_view transport) noexcept {
    c.in_call_ = true;
    c.contract_ = contract;
    c.operation_ = operation;
    c.transport_ = transport;
  }
  // The host serving the call (opaque at this layer: the runtime's Host::State).
  static void set_host(Context& c, void* host) noexcept { c.host_ = host; }
  [[nodiscard]] static void* host(const Context& c) noexcept { return c.host_; }
  static void set_audit(Context& c, void* audit) noexcept { c.audit_ = audit; }
  static void set_transaction(Context& c, void* transaction) noexcept { c.transaction_ = transaction; }
  [[nodiscard]] static void* transaction(const Context& c) noexcept { return c.transaction_; }
  [[nodiscard]] static const std::string& idempotency_key(const Context& c) noexcept { return c.idempotency_key_; }
  static void set_idempotency_key(Context& c, std::string key) { c.idempotency_key_ = std::move(key); }
  [[nodiscard]] static void* audit(const Context& c) noexcept { return c.audit_; }
  // A nested call: same correlation and trace, parent span = the caller's span, the
  // caller's deadline, principal and baggage.
  static void inherit(Context& child, const Context& parent);

  static void set_correlation_id(Context& c, std::string id) { c.correlation_id_ = std::move(id); }
  static void set_baggage(Context& c, std::vector<std::pair<std::string, std::string>> baggage) {
    c.baggage_ = std::move(baggage);
  }
  static void set_principal(Context& c, std::shared_ptr<const Principal> p) noexcept { c.principal_ = std::move(p); }
  [[nodiscard]] static const std::shared_ptr<const Principal>& principal_ptr(const Context& c) noexcept {
    return c.principal_;
  }
  static void set_deadline(Context& c, Clock::time_point deadline) noexcept { c.deadline_ = deadline; }
  // Trace ids from the caller (already validated lowercase hex of the right length).
  static void set_trace(Context& c, std::string_view trace_id, std::string_view parent_span_id,
                        bool sampled) noexcept;
  // The sampling decision (the tracing policy's): what the call records, and the flag its
  // outbound calls carry.
  static void set_sampled(Context& c, bool sampled) noexcept { c.sampled_ = sampled; }
  // Already validated and normalized (W3C Trace Context: combined, limits applied).
  static void set_tracestate(Context& c, std::string tracestate) { c.tracestate_ = std::move(tracestate); }
  [[nodiscard]] static bool has_trace(const Context& c) noexcept { return c.trace_id_[0] != '\0'; }
  // Gives the call its own span (and a new trace if the caller brought none).
  static void start_span(Context& c) noexcept;

  // Records why the call is cancelled (the first reason wins) and fires the pending
  // cancel hook. Returns whether this was the first reason. Home thread only.
  static bool cancel(Context& c, CancelReason reason) noexcept {
    if (!mark_cancelled(c, reason)) return false;
    fire_cancel_hook(c);
    return true;
  }
  // The two halves of cancel(): recording the reason is an atomic (any thread); firing
  // the hook runs the pending wait's cancellation (home thread only). Shutdown marks every
  // call first and fires after, so no call sees a callee's shutdown fault as its own.
  static bool mark_cancelled(Context& c, CancelReason reason) noexcept {
    CancelReason expected = CancelReason::none;
    return c.cancel_reason_.compare_exchange_strong(expected, reason, std::memory_order_acq_rel);
  }
  static void fire_cancel_hook(Context& c) noexcept {
    const CancelHook hook = std::exchange(c.cancel_hook_, {});
    if (hook.fn != nullptr) hook.fn(hook.arg);
  }
  // What to run if the call is cancelled while it waits (one at a time; home thread only).
  static void set_cancel_hook(const Context& c, CancelHook hook) noexcept { c.cancel_hook_ = hook; }
};

// From now on, this thread stores every context it installs into `slot` as well (release),
// so that another thread can tell which call it is running: the I/O threads' stall watch.
// Null: stop.
void publish_current_context(std::atomic<const Context*>* slot) noexcept;

// Fills `out` with random lowercase hex digits (never all zero, as W3C requires).
void random_hex(char* out, std::size_t digits) noexcept;

}  // namespace pit::detail
