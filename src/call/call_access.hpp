// The runtime's access to the private parts of a Call.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "context/context_access.hpp"
#include "pit/pipeline.hpp"

namespace pit::detail {

struct CallAccess {
  static Context& context(Call& c) noexcept { return c.context_; }
  static IoThread* home(const Call& c) noexcept { return c.home_; }
  static void set_home(Call& c, IoThread* home) noexcept { c.home_ = home; }

  static void* target(const Call& c) noexcept { return c.target_; }
  static const OperationSettings* settings(const Call& c) noexcept { return c.settings_; }
  static void set_settings(Call& c, const OperationSettings* s) noexcept { c.settings_ = s; }
  static void set_target(Call& c, void* target) noexcept { c.target_ = target; }

  static void set_json_request(Call& c, std::string body) {
    c.request_json_ = std::move(body);
    c.request_is_json_ = true;
  }
  static const std::string* json_request(const Call& c) noexcept {
    return c.request_is_json_ ? &c.request_json_ : nullptr;
  }
  static void want_json_reply(Call& c) noexcept { c.reply_as_json_ = true; }
  static bool wants_json_reply(const Call& c) noexcept { return c.reply_as_json_; }
  static std::string& json_reply(Call& c) noexcept { return c.reply_json_; }

  // Cancels the call for `reason` (the first reason wins): pending cancellable waits in
  // the operation are cancelled, and the caller is answered at once. Home thread only.
  static bool cancel(Call& c, CancelReason reason) noexcept {
    if (!ContextAccess::mark_cancelled(c.context_, reason)) return false;
    fire_cancellation(c);
    return true;
  }
  // Runs what a cancellation triggers, for a call already marked cancelled. Home thread.
  static void fire_cancellation(Call& c) noexcept {
    ContextAccess::fire_cancel_hook(c.context_);
    const CancelHook answer = std::exchange(c.answer_on_cancel_, {});
    if (answer.fn != nullptr) answer.fn(answer.arg);
  }
  static void set_answer_on_cancel(Call& c, CancelHook hook) noexcept { c.answer_on_cancel_ = hook; }

  static detail::InlineWorker* inline_worker(const Call& c) noexcept { return c.inline_worker_.get(); }
  static void set_inline_worker(Call& c, std::shared_ptr<InlineWorker> w) noexcept { c.inline_worker_ = std::move(w); }

  static bool force_trace(const Call& c) noexcept { return c.force_trace_; }
  static void set_force_trace(Call& c, bool force) noexcept { c.force_trace_ = force; }

  static bool nested(const Call& c) noexcept { return c.nested_; }
  static void set_nested(Call& c, bool nested) noexcept { c.nested_ = nested; }

  static void set_credential(Call& c, std::string value) { c.credential_ = std::move(value); }
  static const std::string& credential(const Call& c) noexcept { return c.credential_; }
  static void set_peer_identity(Call& c, std::string id) { c.peer_identity_ = std::move(id); }
  static const std::string& peer_identity(const Call& c) noexcept { return c.peer_identity_; }
  static void set_secure_transport(Call& c, bool secure) noexcept { c.secure_transport_ = secure; }
  static bool secure_transport(const Call& c) noexcept { return c.secure_transport_; }

  static void set_idempotency_key(Call& c, std::string key) { c.idempotency_key_ = std::move(key); }
  static const std::string& idempotency_key(const Call& c) noexcept { return c.idempotency_key_; }
  static void set_replayed(Call& c, bool replayed) noexcept { c.replayed_ = replayed; }
  static bool replayed(const Call& c) noexcept { return c.replayed_; }
  // The request was decoded by a policy (the deduplication policy, which fingerprints
  // it): dispatch does not decode the JSON text again.
  static void mark_request_decoded(Call& c) noexcept { c.request_is_json_ = false; }

  static Clock::time_point started(const Call& c) noexcept { return c.started_; }
  static void set_started(Call& c, Clock::time_point t) noexcept { c.started_ = t; }

  static std::uint32_t attempts(const Call& c) noexcept { return c.attempts_; }
  static void set_attempts(Call& c, std::uint32_t n) noexcept { c.attempts_ = n; }

  static Call*& active_prev(Call& c) noexcept { return c.active_prev_; }
  static Call*& active_next(Call& c) noexcept { return c.active_next_; }
  static const Call* active_next(const Call& c) noexcept { return c.active_next_; }
};

// The calls in flight whose home is one I/O thread: an intrusive list, touched only on
// that thread, so registering a call costs two pointer writes.
class ActiveCalls {
 public:
  void push(Call& c) noexcept {
    CallAccess::active_prev(c) = nullptr;
    CallAccess::active_next(c) = head_;
    if (head_ != nullptr) CallAccess::active_prev(*head_) = &c;
    head_ = &c;
  }
  void erase(Call& c) noexcept {
    Call* prev = CallAccess::active_prev(c);
    Call* next = CallAccess::active_next(c);
    if (prev != nullptr) CallAccess::active_next(*prev) = next;
    else head_ = next;
    if (next != nullptr) CallAccess::active_prev(*next) = prev;
    CallAccess::active_prev(c) = CallAccess::active_next(c) = nullptr;
  }
  // Calls f(const Call&) for each call on the list (the diagnostics page of calls in flight);
  // f must not end or add calls.
  template <class F>
  void for_each(F&& f) const {
    for (const Call* c = head_; c != nullptr; c = CallAccess::active_next(*c)) f(*c);
  }
  // Records `reason` on every call on the list, firing nothing yet.
  void mark_all(CancelReason reason) noexcept {
    for (Call* c = head_; c != nullptr; c = CallAccess::active_next(*c)) {
      ContextAccess::mark_cancelled(CallAccess::context(*c), reason);
    }
  }
  // Fires the cancellation of every marked call (answers run inline and may end calls,
  // so the list is copied, with references, first).
  void fire_all() {
    std::vector<CallRef> calls;
    for (Call* c = head_; c != nullptr; c = CallAccess::active_next(*c)) {
      c->add_ref();
      calls.emplace_back(c);
    }
    for (auto& c : calls) {
      if (c->context().cancelled()) CallAccess::fire_cancellation(*c);
    }
  }

 private:
  Call* head_ = nullptr;
};

// Keeps a call on its home thread's list while it is in flight.
class ActiveCall {
 public:
  ActiveCall(ActiveCalls& list, Call& call) noexcept : list_(list), call_(call) { list_.push(call_); }
  ~ActiveCall() { list_.erase(call_); }
  ActiveCall(const ActiveCall&) = delete;
  ActiveCall& operator=(const ActiveCall&) = delete;

 private:
  ActiveCalls& list_;
  Call& call_;
};

}  // namespace pit::detail
