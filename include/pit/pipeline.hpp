// The policy pipeline: one ordered list of policies that every call goes through,
// whichever entry point it came from.
//
// A policy sees the call and the rest of the pipeline (Next), and returns an Outcome.
// Results travel as values: a policy never has to catch anything, because the dispatch
// boundary at the end of the pipeline turns every exception into a fault.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "pit/context.hpp"
#include "pit/fault.hpp"
#include "pit/operation.hpp"
#include "pit/task.hpp"

namespace pit {

// The result of a call inside the pipeline: success (the reply is in the call) or a fault.
class [[nodiscard]] Outcome {
 public:
  Outcome() = default;  // success
  Outcome(Fault fault) : fault_(std::move(fault)) {}  // NOLINT: a fault is an outcome
  static Outcome success() { return {}; }

  [[nodiscard]] bool ok() const noexcept { return !fault_.has_value(); }
  [[nodiscard]] const Fault& fault() const& { return *fault_; }
  [[nodiscard]] Fault& fault() & { return *fault_; }
  [[nodiscard]] Code code() const noexcept { return fault_ ? fault_->code() : Code::ok; }

 private:
  std::optional<Fault> fault_;
};

namespace detail {
struct CallAccess;
class IoThread;
class InlineWorker;
struct OperationSettings;
}  // namespace detail

// One call in flight. Reference-counted: an abandoned implementation (deadline passed,
// still running) keeps its call alive until it finishes.
class Call {
 public:
  [[nodiscard]] const OperationInfo& operation() const noexcept { return *operation_; }
  [[nodiscard]] const Context& context() const noexcept { return context_; }

  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

 protected:
  explicit Call(const OperationInfo& op) noexcept : operation_(&op) {}
  virtual ~Call() = default;

 private:
  friend struct detail::CallAccess;
  std::atomic<int> refs_{1};
  const OperationInfo* operation_;
  Context context_;
  detail::IoThread* home_ = nullptr;
  // What the pipeline's terminal delivers the call to, resolved by the entry point: the
  // implementation (inbound) or the remote endpoint (outbound).
  void* target_ = nullptr;
  // This host's settings for the operation (configuration over the declaration).
  const detail::OperationSettings* settings_ = nullptr;
  // What answers the caller at once when the call is cancelled (the deadline policy's
  // race); home thread only.
  detail::CancelHook answer_on_cancel_{};
  // The home I/O thread's list of calls in flight (for cancellation at shutdown).
  Call* active_prev_ = nullptr;
  Call* active_next_ = nullptr;
  Clock::time_point started_{};
  // Attempts: a client call's count of attempts made; a served call's Pit-Attempt number.
  std::uint32_t attempts_ = 0;
  // Transports that carry JSON set the request text; dispatch decodes it, and encodes the
  // reply when asked, so bad input and unencodable replies are faults inside the pipeline.
  std::string request_json_;
  std::string reply_json_;
  bool request_is_json_ = false;
  bool reply_as_json_ = false;
  // Made in-process by a call of this host: already admitted as part of its caller.
  bool nested_ = false;
  // A trusted caller asked for this call to be traced whatever the sampling says (the
  // HTTP entry point checked its token; docs/observability.md).
  bool force_trace_ = false;
  // What the entry point saw of the caller's credentials, for the authentication policy:
  // the Authorization header's value, the verified client certificate's identity (SPIFFE
  // URI SAN, else subject), and whether the connection was TLS.
  bool secure_transport_ = false;
  std::string credential_;
  std::string peer_identity_;
  // Made by a sync operation, from its worker thread, which now waits for it: a sync
  // operation this call runs is run by that worker (never queued behind it).
  std::shared_ptr<detail::InlineWorker> inline_worker_;
  // A call of a deduplicated operation: its idempotency key (served: the Idempotency-Key
  // header as sent, validated by the deduplication policy; made: the caller's or a
  // generated one, the same for every attempt), and whether its outcome is a replay of
  // the stored one.
  std::string idempotency_key_;
  bool replayed_ = false;
};

// An owning handle to a call.
class CallRef {
 public:
  CallRef() = default;
  explicit CallRef(Call* adopted) noexcept : call_(adopted) {}
  CallRef(const CallRef& o) noexcept : call_(o.call_) {
    if (call_) call_->add_ref();
  }
  CallRef(CallRef&& o) noexcept : call_(std::exchange(o.call_, nullptr)) {}
  CallRef& operator=(CallRef o) noexcept {
    std::swap(call_, o.call_);
    return *this;
  }
  ~CallRef() {
    if (call_) call_->release();
  }
  Call* get() const noexcept { return call_; }
  Call& operator*() const noexcept { return *call_; }
  Call* operator->() const noexcept { return call_; }

 private:
  Call* call_ = nullptr;
};

class Pipeline;

// The rest of the pipeline after the current policy. Cheap to copy.
class Next {
 public:
  Task<Outcome> operator()(Call& call) const;

 private:
  friend class Pipeline;
  Next(const Pipeline* p, std::size_t i) noexcept : pipeline_(p), index_(i) {}
  const Pipeline* pipeline_;
  std::size_t index_;
};

// A rule every call goes through. A policy's logic does not parse configuration or know
// its position: the pipeline builder owns both.
class Policy {
 public:
  virtual ~Policy() = default;
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  virtual Task<Outcome> handle(Call& call, Next next) = 0;
};

// A user policy from a callable: host.use("audit", [](pit::Call& c, pit::Next next) ...).
using PolicyFunction = std::function<Task<Outcome>(Call&, Next)>;

}  // namespace pit
