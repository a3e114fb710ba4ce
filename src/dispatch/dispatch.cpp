#include "dispatch/dispatch.hpp"

#include "call/call_access.hpp"
#include "observability/metrics.hpp"
#include "pit/json.hpp"
#include "settings/operation_settings.hpp"

namespace pit::detail {
namespace {

void decode_if_json(Call& call) {
  if (const std::string* body = CallAccess::json_request(call)) {
    const std::size_t unknown = call.operation().hooks.decode_request(call, *body);
    if (const OperationSettings* settings = CallAccess::settings(call); settings != nullptr && settings->metrics != nullptr) {
      settings->metrics->count_unknown_fields(unknown);
    }
  }
}

// The reply is encoded under the operation's reply limit: encoding stops at the limit, so
// an oversized reply costs at most the limit in memory, and the caller gets the masked
// `internal` while the log says how large it was.
void encode_if_json(Call& call) {
  if (!CallAccess::wants_json_reply(call)) return;
  const OperationSettings* settings = CallAccess::settings(call);
  const std::size_t limit = settings != nullptr ? settings->max_reply_bytes : 0;
  std::string& out = CallAccess::json_reply(call);
  out.clear();
  try {
    json::Writer writer = limit != 0 ? json::Writer{out, limit} : json::Writer{out};
    call.operation().hooks.encode_reply(call, writer);
  } catch (const json::OutputTooLarge& e) {
    out = std::string{};  // gives the memory back now
    throw Fault::internal("internal error")
        .with(Fault::masked)
        .with_cause("the reply is larger than its limit: at least " + std::to_string(e.at_least()) +
                    " bytes, limit " + std::to_string(e.limit()) +
                    " bytes (http.max_reply_bytes, or the operation's max_reply_bytes)")
        .from(Fault::Origin::runtime);
  }
}

Fault cancelled_fault(const Call& call) { return cancellation_fault(call.context().cancel_reason()); }

Fault not_dispatched(const Call& call) {
  if (call.context().cancel_reason() == CancelReason::deadline) {
    return Fault::deadline_exceeded("deadline exceeded before the call was dispatched")
        .from(Fault::Origin::runtime);
  }
  return Fault::cancelled("the call was cancelled before it was dispatched")
      .from(Fault::Origin::runtime);
}

// Runs a sync operation on a worker thread and resumes the pipeline on the call's home
// I/O thread. The worker holds a reference to the call: if the caller was answered early
// (deadline), the call outlives the abandoned pipeline until the operation returns.
struct OnWorker {
  const Dispatcher& dispatcher;
  Call& call;
  void* implementation;
  std::coroutine_handle<> waiter;
  std::exception_ptr error;
  const Context* saved = nullptr;
  enum class Result : std::uint8_t { ran, rejected, dropped, not_run } result = Result::ran;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) {
    waiter = h;
    saved = current_context();
    // Called by a sync operation that waits for this call on its worker thread: that
    // thread runs this one too (the pool may have no other worker to give).
    if (auto* caller = CallAccess::inline_worker(call); caller != nullptr && caller->post({&run, this})) {
      return true;
    }
    if (!dispatcher.workers().try_post({&run, &drop, this, &call})) {
      result = Result::rejected;
      return false;
    }
    return true;
  }

  static void run(void* self_ptr) {
    auto* self = static_cast<OnWorker*>(self_ptr);
    {
      ContextScope scope(&self->call.context());
      if (self->call.context().cancelled()) {
        self->result = Result::not_run;
      } else {
        self->error = capture([self] {
          decode_if_json(self->call);
          // A sync operation runs to completion inside invoke.
          Task<void> nothing = self->call.operation().hooks.invoke(self->implementation, self->call);
          encode_if_json(self->call);
        });
      }
    }
    CallAccess::home(self->call)->resume(self->waiter);
  }
  static void drop(void* self_ptr) {
    auto* self = static_cast<OnWorker*>(self_ptr);
    self->result = Result::dropped;
    CallAccess::home(self->call)->resume(self->waiter);
  }

  Outcome await_resume() {
    set_current_context(saved);
    switch (result) {
      case Result::rejected:
        return Fault::unavailable("the service is overloaded: every worker is busy")
            .with(Fault::rejected)
            .with(Fault::retryable)
            .from(Fault::Origin::runtime);
      case Result::dropped:
        return Fault::unavailable("the service is shutting down")
            .with(Fault::rejected)
            .with(Fault::retryable)
            .from(Fault::Origin::runtime);
      case Result::not_run:
        return not_dispatched(call);
      case Result::ran:
        break;
    }
    if (error) return call.context().cancelled() ? cancelled_fault(call) : dispatcher.to_fault(error);
    return Outcome::success();
  }
};

}  // namespace

Task<Outcome> Dispatcher::dispatch(Call& call) {
  void* implementation = CallAccess::target(call);
  if (implementation == nullptr) {
    co_return Fault::unimplemented("no service implements " + call.operation().full_name)
        .from(Fault::Origin::runtime);
  }
  if (call.context().cancelled()) co_return not_dispatched(call);
  if (!call.operation().coroutine) {
    co_return co_await OnWorker{*this, call, implementation, {}, {}};
  }
  Task<void> operation;
  std::exception_ptr error = capture([&] {
    decode_if_json(call);
    operation = call.operation().hooks.invoke(implementation, call);
  });
  if (!error) {
    // Exceptions thrown after a co_await inside the operation surface here.
    try {
      co_await std::move(operation);
      encode_if_json(call);
    } catch (...) {
      error = std::current_exception();
    }
  }
  if (error) co_return call.context().cancelled() ? cancelled_fault(call) : to_fault(error);
  co_return Outcome::success();
}

}  // namespace pit::detail
