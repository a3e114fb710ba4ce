// Awaiting Boost.Asio operations inside pit coroutines, with the call's cancellation.
//
//   boost::asio::steady_timer timer{pit::io_executor(), 50ms};
//   co_await timer.async_wait(pit::use_task);
//
// An operation awaited with pit::use_task is cancelled (it completes with
// operation_aborted, thrown as boost::system::system_error) when the call is cancelled:
// at its deadline, when the caller goes away, or at shutdown. Include this header only
// where you await Asio operations; the rest of pit's headers do not include Asio.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>
#include <coroutine>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "pit/context.hpp"
#include "pit/task.hpp"

namespace pit {

struct use_task_t {
  constexpr use_task_t() = default;
};
// The completion token for Asio operations awaited in a pit::Task.
inline constexpr use_task_t use_task{};

// The executor of the I/O thread this code runs on: create timers and sockets with it.
// Throws std::logic_error outside an I/O thread (e.g. in a sync operation).
boost::asio::io_context::executor_type io_executor();

namespace detail {

// Arms `hook` to run if the current call is cancelled; disarm with an empty hook.
void set_current_cancel_hook(const Context* context, CancelHook hook) noexcept;

template <class Initiation, class ArgsTuple, class... Results>
class AsioAwaiter {
 public:
  AsioAwaiter(Initiation init, ArgsTuple args) : init_(std::move(init)), args_(std::move(args)) {}

  bool await_ready() const noexcept { return false; }

  void await_suspend(std::coroutine_handle<> waiter) {
    context_ = current_context();
    std::apply(
        [&](auto&&... a) { std::move(init_)(Handler{this, waiter}, std::forward<decltype(a)>(a)...); },
        std::move(args_));
    if (context_ != nullptr) {
      if (context_->cancelled()) {
        signal_.emit(boost::asio::cancellation_type::terminal);
      } else {
        set_current_cancel_hook(context_, {&emit, this});
      }
    }
  }

  auto await_resume() {
    set_current_context(context_);
    auto& r = *results_;
    if constexpr (sizeof...(Results) >= 1) {
      using First = std::tuple_element_t<0, std::tuple<Results...>>;
      if constexpr (std::is_same_v<First, boost::system::error_code>) {
        if (std::get<0>(r)) throw boost::system::system_error(std::get<0>(r));
        if constexpr (sizeof...(Results) == 1) {
          return;
        } else if constexpr (sizeof...(Results) == 2) {
          return std::move(std::get<1>(r));
        } else {
          return std::move(r);
        }
      } else if constexpr (sizeof...(Results) == 1) {
        return std::move(std::get<0>(r));
      } else {
        return std::move(r);
      }
    }
  }

 private:
  struct Handler {
    AsioAwaiter* self;
    std::coroutine_handle<> waiter;

    using cancellation_slot_type = boost::asio::cancellation_slot;
    cancellation_slot_type get_cancellation_slot() const noexcept { return self->signal_.slot(); }

    template <class... Args>
    void operator()(Args&&... args) {
      self->results_.emplace(std::forward<Args>(args)...);
      if (self->context_ != nullptr) set_current_cancel_hook(self->context_, {});
      ContextScope clean(nullptr);
      waiter.resume();
    }
  };

  static void emit(void* self) {
    static_cast<AsioAwaiter*>(self)->signal_.emit(boost::asio::cancellation_type::terminal);
  }

  Initiation init_;
  ArgsTuple args_;
  boost::asio::cancellation_signal signal_;
  const Context* context_ = nullptr;
  std::optional<std::tuple<std::decay_t<Results>...>> results_;
};

}  // namespace detail
}  // namespace pit

template <class... Results>
class boost::asio::async_result<pit::use_task_t, void(Results...)> {
 public:
  template <class Initiation, class... InitArgs>
  static auto initiate(Initiation&& init, pit::use_task_t /*token*/, InitArgs&&... args) {
    return pit::detail::AsioAwaiter<std::decay_t<Initiation>, std::tuple<std::decay_t<InitArgs>...>,
                                    Results...>(std::forward<Initiation>(init),
                                                std::make_tuple(std::forward<InitArgs>(args)...));
  }
};
