// pit::spawn: background work that keeps a call's guarantees (pit/spawn.hpp).
#include "pit/spawn.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "call/call_access.hpp"
#include "fault/exception_mappers.hpp"
#include "observability/log_format.hpp"
#include "runtime/host_state.hpp"

namespace pit {
namespace {

using detail::CallAccess;
using detail::ContextAccess;

const OperationInfo& spawn_operation() {
  static const OperationInfo op = [] {
    OperationInfo o;
    o.name = "spawn";
    o.full_name = "pit/spawn";
    o.contract = "pit";
    return o;
  }();
  return op;
}

// Spawned work is a call of its own: listed on its thread's calls in flight (so shutdown
// cancels it), counted in the host's in_flight (so the grace period waits for it), with
// a context whose operation is the name it was given.
class SpawnedCall final : public Call {
 public:
  explicit SpawnedCall(std::string_view name) : Call(spawn_operation()), name(name) {}
  std::string name;
};

detail::Detached run_spawned(Host::State& host, CallRef call, Task<void> work, detail::IoThread& home) {
  const auto frame = co_await detail::ThisFrame{};
  const detail::ListedRoot listed{home, frame};  // the thread destroys it if it stops first
  Context& context = CallAccess::context(*call);
  detail::set_current_context(&context);
  const auto start = Clock::now();
  const detail::ActiveCall active{home.active(), *call};
  boost::asio::steady_timer deadline{home.io(), context.deadline()};
  deadline.async_wait([c = call](const boost::system::error_code& ec) {
    if (!ec) CallAccess::cancel(*c, CancelReason::deadline);
  });
  std::exception_ptr error;
  try {
    co_await std::move(work);
  } catch (...) {
    error = std::current_exception();
  }
  deadline.cancel();
  Outcome outcome;
  if (context.cancelled()) {
    outcome = detail::cancellation_fault(context.cancel_reason());
  } else if (error) {
    Fault fault = host.dispatcher->to_fault(error);
    // Nobody awaits spawned work: its failure is reported here, once, under its ids.
    log::error("spawned work failed", {{"code", to_string(fault.code())},
                                       {"message", fault.message()},
                                       {"cause", fault.cause()}});
    outcome = Fault::internal("spawned work failed").from(Fault::Origin::runtime);
  }
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  const auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(context.deadline() - start).count();
  detail::write_call_line(context, "spawn", elapsed, budget, outcome);
  host.in_flight.fetch_sub(1, std::memory_order_acq_rel);
}

}  // namespace

void spawn(std::string_view name, Task<void> work, std::chrono::milliseconds timeout) {
  const Context* parent = detail::current_context();
  void* host_ptr = parent != nullptr ? ContextAccess::host(*parent) : nullptr;
  if (host_ptr == nullptr || !parent->in_call()) {
    throw std::logic_error("pit::spawn: only inside an operation served by a pit::Host (it needs the call's host and ids)");
  }
  if (!work.valid()) throw std::invalid_argument("pit::spawn: an empty task");
  auto& host = *static_cast<Host::State*>(host_ptr);
  if (!host.running.load(std::memory_order_acquire) || host.draining.load(std::memory_order_acquire)) {
    throw Fault::unavailable("the service is shutting down: no new background work").from(Fault::Origin::runtime);
  }
  auto* raw = new SpawnedCall(name);
  CallRef call{raw};
  Context& context = CallAccess::context(*call);
  ContextAccess::inherit(context, *parent);  // correlation id, trace (as parent), baggage
  ContextAccess::begin(context, "pit.spawn", raw->name, "inproc");
  ContextAccess::set_host(context, &host);
  ContextAccess::start_span(context);
  const auto limit = timeout.count() > 0 ? timeout : host.options.default_timeout;
  ContextAccess::set_deadline(context, Clock::now() + limit);
  detail::IoThread& home = host.home_for_new_call();
  CallAccess::set_home(*call, &home);
  host.in_flight.fetch_add(1, std::memory_order_acq_rel);
  // Started from the thread's queue, never inline: the caller's stack and context stay its own.
  boost::asio::post(home.io(), [&host, &home, c = std::move(call), w = std::move(work)]() mutable {
    detail::ContextScope clean(nullptr);
    run_spawned(host, std::move(c), std::move(w), home);
  });
}

}  // namespace pit
