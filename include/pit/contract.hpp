// Contracts: a C++ interface plus one declaration that names it and its operations.
//
//   class Orders {
//    public:
//     virtual ~Orders() = default;
//     virtual pit::Task<OrderPlaced> place(PlaceOrder) = 0;   // coroutine: I/O threads
//     virtual Order get(GetOrder) = 0;                          // sync: the worker pool
//   };
//   PIT_CONTRACT(Orders, "shop.v1.Orders",
//       (place, pit::OpSpec{}.raises(pit::Code::not_found).timeout(std::chrono::seconds(2))),
//       (get, pit::OpSpec{}.idempotent()));
//
// PIT_CONTRACT goes in the contract's namespace. It builds the operation table and the
// proxy class that callers get as pit::Ref<Orders>. Every operation must be listed: an
// unlisted pure virtual leaves the proxy abstract and the declaration does not compile.
#pragma once

#include <boost/preprocessor/punctuation/comma_if.hpp>
#include <boost/preprocessor/seq/for_each_i.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/tuple/elem.hpp>
#include <boost/preprocessor/tuple/rem.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "pit/json.hpp"
#include "pit/operation.hpp"
#include "pit/pipeline.hpp"
#include "pit/task.hpp"

namespace pit::detail {

// What a member function pointer says about an operation.
template <class M>
struct OperationTraits;
template <class C, class R, class A>
struct OperationTraits<Task<R> (C::*)(A)> {
  using contract = C;
  using request = std::remove_cvref_t<A>;
  using reply = R;
  using result = Task<R>;
  static constexpr bool coroutine = true;
};
template <class C, class R, class A>
struct OperationTraits<R (C::*)(A)> {
  using contract = C;
  using request = std::remove_cvref_t<A>;
  using reply = R;
  using result = R;
  static constexpr bool coroutine = false;
};

template <auto M>
using request_t = typename OperationTraits<decltype(M)>::request;
template <auto M>
using result_t = typename OperationTraits<decltype(M)>::result;

// A call of one operation: the request and reply live in the call itself, so an
// in-process call moves its request once and never serializes it.
template <class Request, class Reply>
class TypedCall final : public Call {
 public:
  explicit TypedCall(const OperationInfo& op) noexcept : Call(op) {}
  std::optional<Request> request;
  std::optional<Reply> reply;
};

// Where a proxy sends its calls: in-process to a host's pipeline, later over a transport.
class Channel {
 public:
  virtual ~Channel() = default;
  virtual Task<Outcome> call(CallRef call) = 0;
};
using ChannelPtr = std::shared_ptr<Channel>;

// The fault a proxy raises in the caller's code. It came from the callee, so for the
// caller's own fault contract its origin is "remote": an operation that lets it escape
// without declaring its code gets it masked.
[[noreturn]] void throw_from_callee(Fault&& fault);

template <auto M>
struct OperationGlue {
  using traits = OperationTraits<decltype(M)>;
  using Contract = typename traits::contract;
  using Request = typename traits::request;
  using Reply = typename traits::reply;
  using CallType = TypedCall<Request, Reply>;

  static CallType& typed(Call& c) noexcept { return static_cast<CallType&>(c); }
  static const CallType& typed(const Call& c) noexcept { return static_cast<const CallType&>(c); }

  static Call* make_call(const OperationInfo& op) { return new CallType(op); }
  static void decode_request(Call& c, std::string_view text) {
    json::decode_into(text, typed(c).request.emplace());
  }
  static std::string encode_request(const Call& c) { return json::encode(*typed(c).request); }
  static void decode_reply(Call& c, std::string_view text) {
    json::decode_into(text, typed(c).reply.emplace());
  }
  static void encode_reply(const Call& c, json::Writer& w) { json::encode(w, *typed(c).reply); }

  static Task<void> run_coroutine(Contract* self, CallType& c) {
    c.reply.emplace(co_await (self->*M)(std::move(*c.request)));
  }
  static Task<void> invoke(void* implementation, Call& c) {
    auto* self = static_cast<Contract*>(implementation);
    if constexpr (traits::coroutine) {
      return run_coroutine(self, typed(c));
    } else {
      typed(c).reply.emplace((self->*M)(std::move(*typed(c).request)));
      return {};
    }
  }

  // The proxy side: one call through the channel, the fault (if any) raised in the caller.
  static Task<Reply> call_async(ChannelPtr channel, const OperationInfo& op, Request request) {
    auto* raw = new CallType(op);
    CallRef call{raw};
    raw->request.emplace(std::move(request));
    Outcome outcome = co_await channel->call(call);
    if (!outcome.ok()) throw_from_callee(std::move(outcome.fault()));
    co_return std::move(*raw->reply);
  }
  static typename traits::result call(const ChannelPtr& channel, const OperationInfo& op,
                                      Request request) {
    if constexpr (traits::coroutine) {
      return call_async(channel, op, std::move(request));
    } else {
      return block_on(call_async(channel, op, std::move(request)));
    }
  }

  static OperationInfo info(std::string_view name, std::size_t index, OpSpec spec) {
    OperationInfo op;
    op.name = name;
    op.spec = spec;
    op.coroutine = traits::coroutine;
    op.index = index;
    op.hooks = {&make_call,   &decode_request, &encode_request,
                &decode_reply, &encode_reply,  &invoke};
    return op;
  }
};

ContractInfo make_contract(std::string_view name, std::vector<OperationInfo> operations);

// The declaration PIT_CONTRACT generates for contract C, found by argument-dependent lookup.
template <class C>
using declaration_of = decltype(pit_contract_of(static_cast<C*>(nullptr)));

// A contract is a type named by its own PIT_CONTRACT declaration (an implementation that
// derives from one is not: lookup would find its base's declaration).
template <class C>
concept contract = requires {
  typename declaration_of<C>;
  { declaration_of<C>::info() } -> std::same_as<const ContractInfo&>;
} && std::same_as<typename declaration_of<C>::contract, C>;

}  // namespace pit::detail

#define PIT_DETAIL_OP_NAME(op) BOOST_PP_TUPLE_ELEM(0, op)
#define PIT_DETAIL_OP_SPEC(op) BOOST_PP_TUPLE_ELEM(1, (BOOST_PP_TUPLE_REM() op, ::pit::OpSpec{}))

#define PIT_DETAIL_OP_INFO(r, Contract, i, op)                                   \
  BOOST_PP_COMMA_IF(i)::pit::detail::OperationGlue<&Contract::PIT_DETAIL_OP_NAME(op)>::info( \
      BOOST_PP_STRINGIZE(PIT_DETAIL_OP_NAME(op)), i, PIT_DETAIL_OP_SPEC(op))

#define PIT_DETAIL_PROXY_METHOD(r, Contract, i, op)                                            \
  auto PIT_DETAIL_OP_NAME(op)(::pit::detail::request_t<&Contract::PIT_DETAIL_OP_NAME(op)> request) \
      -> ::pit::detail::result_t<&Contract::PIT_DETAIL_OP_NAME(op)> override {                 \
    return ::pit::detail::OperationGlue<&Contract::PIT_DETAIL_OP_NAME(op)>::call(               \
        channel_, info().operations[i], std::move(request));                                   \
  }

#define PIT_CONTRACT(Contract, wire_name, ...)                                                \
  struct pit_contract_declaration_##Contract {                                                \
    using contract = Contract;                                                                \
    static const ::pit::ContractInfo& info() {                                                \
      static const ::pit::ContractInfo instance = ::pit::detail::make_contract(               \
          wire_name, {BOOST_PP_SEQ_FOR_EACH_I(PIT_DETAIL_OP_INFO, Contract,                   \
                                              BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))});       \
      return instance;                                                                        \
    }                                                                                         \
    class proxy final : public Contract {                                                     \
     public:                                                                                  \
      explicit proxy(::pit::detail::ChannelPtr channel) : channel_(std::move(channel)) {}     \
      BOOST_PP_SEQ_FOR_EACH_I(PIT_DETAIL_PROXY_METHOD, Contract,                              \
                              BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))                          \
     private:                                                                                 \
      ::pit::detail::ChannelPtr channel_;                                                     \
    };                                                                                        \
  };                                                                                          \
  pit_contract_declaration_##Contract pit_contract_of(Contract*)
