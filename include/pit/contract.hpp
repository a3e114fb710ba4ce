// Contracts: a C++ interface plus one declaration that names it and its operations.
//
//   class Orders {
//    public:
//     virtual ~Orders() = default;
//    protected:  // callers reach operations only through pit::Ref<Orders>
//     virtual pit::Task<OrderPlaced> place(PlaceOrder) = 0;   // coroutine: I/O threads
//     virtual Order get(GetOrder) = 0;                          // sync: the worker pool
//   };
//   PIT_CONTRACT(Orders, "shop.v1.Orders",
//       (place, pit::OpSpec{}.raises(pit::Code::not_found).timeout(std::chrono::seconds(2))),
//       (get, pit::OpSpec{}.idempotent()));
//
// PIT_CONTRACT goes in the contract's namespace. It builds the operation table and the
// proxy class that callers get through pit::Ref<Orders>. The declaration does not compile
// when an operation is publicly callable on the contract (a call through a Contract&
// would skip the pipeline) or when an operation is left unlisted.
#pragma once

#include <boost/preprocessor/cat.hpp>
#include <boost/preprocessor/punctuation/comma_if.hpp>
#include <boost/preprocessor/seq/for_each.hpp>
#include <boost/preprocessor/seq/for_each_i.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/tuple/elem.hpp>
#include <boost/preprocessor/tuple/rem.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>
#include <concepts>
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
#include "pit/schema.hpp"
#include "pit/task.hpp"

namespace pit::detail {

template <class>
inline constexpr bool always_false = false;

// What a member function pointer says about an operation. The primary template and the
// partial specializations below it catch the signatures users commonly get wrong, each
// with one line saying what to write instead.
template <class M>
struct OperationTraits {
  static_assert(always_false<M>,
                "a pit operation is `virtual Reply op(Request) = 0;` or "
                "`virtual pit::Task<Reply> op(Request) = 0;`: one request struct by value, "
                "a reply struct, not const, not noexcept");
};
template <class C, class R, class... A>
struct OperationTraits<R (C::*)(A...)> {
  static_assert(always_false<C>,
                "a pit operation takes exactly one parameter: put the values in one request "
                "struct (BOOST_DESCRIBE_STRUCT) and write `Reply op(Request)`");
};
template <class C, class A>
struct OperationTraits<void (C::*)(A)> {
  static_assert(always_false<C>,
                "a pit operation returns a reply struct, not void: for no data return an "
                "empty one, `struct Done {}; BOOST_DESCRIBE_STRUCT(Done, (), ())`");
};
template <class C, class A>
struct OperationTraits<Task<void> (C::*)(A)> {
  static_assert(always_false<C>,
                "a pit operation returns a reply struct, not pit::Task<void>: for no data "
                "return an empty one, `struct Done {}; BOOST_DESCRIBE_STRUCT(Done, (), ())`");
};
template <class C, class R, class A>
struct OperationTraits<Task<R> (C::*)(A)> {
  using contract = C;
  using parameter = A;
  using request = std::remove_cvref_t<A>;
  using reply = R;
  using result = Task<R>;
  static constexpr bool coroutine = true;
};
template <class C, class R, class A>
struct OperationTraits<R (C::*)(A)> {
  using contract = C;
  using parameter = A;
  using request = std::remove_cvref_t<A>;
  using reply = R;
  using result = R;
  static constexpr bool coroutine = false;
};

// What a coroutine operation's proxy method takes. A braced list, `ref->op({a, b})`, builds
// the request here, in this constructor, instead of in the caller's co_await expression:
// GCC 12 destroys the class-type members of an aggregate initialized inside a co_await
// full-expression twice (docs/contracts.md, "Known compiler issue"), and a constructor
// call there is compiled correctly. A request object is taken as it is; a nested braced
// list (`ref->op({{...}})`) matches no constructor, so it does not compile instead of
// being built in the caller's coroutine.
template <class Request>
class FlatBracesOrRequest {
 public:
  template <class... A>
    requires(!(sizeof...(A) == 1 && (std::same_as<std::remove_cvref_t<A>, Request> && ...))) &&
            requires(A&&... a) { Request{std::forward<A>(a)...}; }
  FlatBracesOrRequest(A&&... a)  // NOLINT(google-explicit-constructor): `op({a, b})` needs it
      : value_{std::forward<A>(a)...} {}
  template <class R>
    requires std::same_as<std::remove_cvref_t<R>, Request>
  FlatBracesOrRequest(R&& request)  // NOLINT(google-explicit-constructor)
      : value_(std::forward<R>(request)) {}

  Request take() && { return std::move(value_); }

 private:
  Request value_;
};

template <auto M>
using parameter_t = typename OperationTraits<decltype(M)>::parameter;
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
  // What the proxy's method takes (see FlatBracesOrRequest: only coroutine operations need it,
  // a sync proxy call is never inside a co_await expression).
  using argument = std::conditional_t<traits::coroutine, FlatBracesOrRequest<Request>, Request>;
  static typename traits::result call(const ChannelPtr& channel, const OperationInfo& op,
                                      argument request) {
    if constexpr (traits::coroutine) {
      return call_async(channel, op, std::move(request).take());
    } else {
      return block_on(call_async(channel, op, std::move(request)));
    }
  }

  // The awaitable form, for sync operations too (`co_await ref->count_async({"apple"})`):
  // coroutine code awaits a sync operation without blocking its I/O thread; the operation
  // still runs on the worker pool.
  static Task<Reply> call_awaitable(const ChannelPtr& channel, const OperationInfo& op,
                                    FlatBracesOrRequest<Request> request) {
    return call_async(channel, op, std::move(request).take());
  }

  static OperationInfo info(std::string_view name, std::size_t index, OpSpec spec) {
    OperationInfo op;
    op.name = name;
    op.spec = spec;
    op.coroutine = traits::coroutine;
    op.index = index;
    op.hooks = {&make_call,    &decode_request, &encode_request,
                &decode_reply, &encode_reply,   &invoke,
                &schema::type_of<Request>, &schema::type_of<Reply>};
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

// Whether argument-dependent lookup finds C's declaration: only when PIT_CONTRACT is in
// C's own namespace.
template <class C>
concept declaration_found = requires { typename declaration_of<C>; };

// The proxy type a pit::Ref<C> holds.
template <class C>
using proxy_of = typename declaration_of<C>::proxy;

}  // namespace pit::detail

#define PIT_DETAIL_OP_NAME(op) BOOST_PP_TUPLE_ELEM(0, op)
#define PIT_DETAIL_OP_SPEC(op) BOOST_PP_TUPLE_ELEM(1, (BOOST_PP_TUPLE_REM() op, ::pit::OpSpec{}))

// Inside the declaration, operations are named through `access`, a class derived from the
// contract: there a protected operation may be named, and `&access::op` is the contract's
// own member pointer (R (Contract::*)(A)), which dispatch calls on the implementation.
#define PIT_DETAIL_OP_PTR(op) &access::PIT_DETAIL_OP_NAME(op)

#define PIT_DETAIL_OP_INFO(r, Contract, i, op)                                              \
  BOOST_PP_COMMA_IF(i)::pit::detail::OperationGlue<PIT_DETAIL_OP_PTR(op)>::info(             \
      BOOST_PP_STRINGIZE(PIT_DETAIL_OP_NAME(op)), i, PIT_DETAIL_OP_SPEC(op))

// A protected operation cannot be named from outside the contract's class hierarchy; a
// public one can, and then any code could call an implementation around the pipeline.
#define PIT_DETAIL_OP_NOT_PUBLIC(r, Contract, op)                                           \
  static_assert(![]<class C>(C*) { return requires { &C::PIT_DETAIL_OP_NAME(op); }; }(      \
                    static_cast<Contract*>(nullptr)),                                       \
                BOOST_PP_STRINGIZE(Contract) "::" BOOST_PP_STRINGIZE(PIT_DETAIL_OP_NAME(op)) \
                " is public: declare a contract's operations `protected:`, so that only "   \
                "pit::Ref<" BOOST_PP_STRINGIZE(Contract) "> (through the pipeline) can call them");

#define PIT_DETAIL_OP_CHECKER(r, Contract, i, op)                                           \
  ::pit::detail::result_t<PIT_DETAIL_OP_PTR(op)> PIT_DETAIL_OP_NAME(op)(                    \
      ::pit::detail::parameter_t<PIT_DETAIL_OP_PTR(op)>) override;

#define PIT_DETAIL_PROXY_METHOD(r, Contract, i, op)                                         \
  auto PIT_DETAIL_OP_NAME(op)(                                                              \
      typename ::pit::detail::OperationGlue<PIT_DETAIL_OP_PTR(op)>::argument request)       \
      -> ::pit::detail::result_t<PIT_DETAIL_OP_PTR(op)> {                                   \
    return ::pit::detail::OperationGlue<PIT_DETAIL_OP_PTR(op)>::call(                       \
        channel_, info().operations[i], std::move(request));                                \
  }                                                                                         \
  auto BOOST_PP_CAT(PIT_DETAIL_OP_NAME(op), _async)(                                        \
      ::pit::detail::FlatBracesOrRequest<                                                   \
          typename ::pit::detail::OperationGlue<PIT_DETAIL_OP_PTR(op)>::Request> request)   \
      -> ::pit::Task<typename ::pit::detail::OperationGlue<PIT_DETAIL_OP_PTR(op)>::Reply> { \
    return ::pit::detail::OperationGlue<PIT_DETAIL_OP_PTR(op)>::call_awaitable(             \
        channel_, info().operations[i], std::move(request));                                \
  }

#define PIT_CONTRACT(Contract, wire_name, ...)                                              \
  struct pit_contract_declaration_##Contract {                                              \
    using contract = Contract;                                                              \
    BOOST_PP_SEQ_FOR_EACH(PIT_DETAIL_OP_NOT_PUBLIC, Contract,                               \
                          BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))                            \
    class access : public Contract {                                                        \
      friend struct pit_contract_declaration_##Contract;                                    \
    };                                                                                      \
    /* Overrides exactly the listed operations: abstract if one was left out. */            \
    class listed : public Contract {                                                        \
      BOOST_PP_SEQ_FOR_EACH_I(PIT_DETAIL_OP_CHECKER, Contract,                              \
                              BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))                        \
    };                                                                                      \
    static_assert(!std::is_abstract_v<listed>,                                              \
                  "PIT_CONTRACT(" BOOST_PP_STRINGIZE(Contract) ", ...) must list every "    \
                  "operation of " BOOST_PP_STRINGIZE(Contract) " (an unlisted pure virtual "  \
                  "could never be called)");                                                \
    static const ::pit::ContractInfo& info() {                                              \
      static const ::pit::ContractInfo instance = ::pit::detail::make_contract(             \
          wire_name, {BOOST_PP_SEQ_FOR_EACH_I(PIT_DETAIL_OP_INFO, Contract,                 \
                                              BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))});     \
      return instance;                                                                      \
    }                                                                                       \
    /* The public face of the contract: each method sends one call through the channel. */ \
    class proxy final {                                                                     \
     public:                                                                                \
      explicit proxy(::pit::detail::ChannelPtr channel) : channel_(std::move(channel)) {}   \
      BOOST_PP_SEQ_FOR_EACH_I(PIT_DETAIL_PROXY_METHOD, Contract,                            \
                              BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))                        \
     private:                                                                               \
      ::pit::detail::ChannelPtr channel_;                                                   \
    };                                                                                      \
  };                                                                                        \
  pit_contract_declaration_##Contract pit_contract_of(Contract*);                           \
  static_assert(::pit::detail::declaration_found<Contract>,                                 \
                "PIT_CONTRACT(" BOOST_PP_STRINGIZE(Contract) ", ...) must be written in the " \
                "namespace of " BOOST_PP_STRINGIZE(Contract) ", right after the class")
