// The in-process channel: what a proxy's call goes through when the service lives in the
// same host. It prepares the call's context (inherited from the caller's call, if any),
// picks the call's home I/O thread, and runs the host's one pipeline.
#include <stdexcept>

#include "client/enter.hpp"
#include "client/inproc_channel.hpp"
#include "call/call_access.hpp"
#include "durability/idempotency_key.hpp"

namespace pit::detail {

void throw_from_callee(Fault&& fault) {
  fault.from(Fault::Origin::remote);
  throw std::move(fault);
}

ContractInfo make_contract(std::string_view name, std::vector<OperationInfo> operations) {
  const bool valid_name = !name.empty() && name.find_first_not_of(
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._") == std::string_view::npos;
  if (!valid_name) {
    throw std::invalid_argument("pit: contract name '" + std::string(name) +
                                "' must be letters, digits, '.' and '_' (e.g. shop.v1.Orders)");
  }
  ContractInfo contract;
  contract.name = name;
  contract.operations = std::move(operations);
  for (auto& op : contract.operations) {
    op.contract = name;
    op.full_name = std::string(name) + "/" + std::string(op.name);
  }
  return contract;
}

InprocChannel::InprocChannel(std::shared_ptr<Host::State> state, const ContractInfo& contract)
    : state_(std::move(state)), contract_(&contract), settings_(resolve_settings(state_->options, contract, state_->metrics, "server", operation_limiters(state_->limiters.get()), state_->histories.get())) {}

Task<Outcome> enter(Host::State& host, std::unique_ptr<Pipeline> Host::State::*which, CallRef call,
                    void* target, const OperationSettings* settings, std::string_view transport) {
  if (!host.running.load(std::memory_order_acquire)) {
    co_return Fault::unavailable("the host is not running").with(Fault::rejected).from(Fault::Origin::runtime);
  }
  Context& context = CallAccess::context(*call);
  if (const Context* parent = current_context(); parent != nullptr) {
    ContextAccess::inherit(context, *parent);
    // A call made in-process by an operation is part of an admitted call: it is not
    // counted again against the host-wide limit (which could otherwise deadlock: callers
    // holding every slot while their callees wait for one).
    CallAccess::set_nested(*call, parent->in_call());
  }
  // A sync operation calling from its worker thread: that thread will run what this call
  // needs of a worker (see InlineWorker).
  if (auto worker = current_inline_worker()) CallAccess::set_inline_worker(*call, std::move(worker));
  const OperationInfo& op = call->operation();
  // A call of a deduplicated operation carries one idempotency key for its whole life (every
  // retry, requeue and attempt): the caller's (CallerScope::Options::idempotency_key) when
  // given, else a new one. Made by an operation, a call never reuses its caller's key.
  if (op.spec.is_deduplicated() && CallAccess::idempotency_key(*call).empty()) {
    const Context* parent = current_context();
    if (parent != nullptr && !ContextAccess::idempotency_key(*parent).empty()) {
      CallAccess::set_idempotency_key(*call, ContextAccess::idempotency_key(*parent));
    } else {
      CallAccess::set_idempotency_key(*call, durability::generate_key());
    }
  }
  ContextAccess::begin(context, op.contract, op.name, transport);
  if (which == &Host::State::pipeline) ContextAccess::set_host(context, &host);
  CallAccess::set_target(*call, target);
  CallAccess::set_settings(*call, settings);
  IoThread& home = host.home_for_new_call();
  CallAccess::set_home(*call, &home);
  co_await ScheduleOn{home};

  CallAccess::set_started(*call, Clock::now());
  ActiveCall active{home.active(), *call};
  host.in_flight.fetch_add(1, std::memory_order_relaxed);
  Outcome outcome = co_await (host.*which)->run(*call);
  host.in_flight.fetch_sub(1, std::memory_order_relaxed);
  co_return outcome;
}

Task<Outcome> InprocChannel::call(CallRef call) {
  void* implementation = state_->implementation_of(*contract_);
  const auto* settings = &settings_[call->operation().index];
  return enter(*state_, &Host::State::pipeline, std::move(call), implementation, settings, "inproc");
}

}  // namespace pit::detail
