// pit::Task<T> — the coroutine type of pit operations, policies and proxies.
//
// Lazy (starts when awaited), single-owner, symmetric transfer on completion so deep
// chains of awaits never grow the stack. Every resume goes through an awaiter that
// re-installs the ambient call context it saw at suspension, which is what makes
// pit::Context::current() right after any co_await with thousands of calls interleaved on
// one thread. Frames come from a per-thread recycling allocator: a pipeline of several
// policies costs a few pointer swaps per call, not a malloc each.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace pit {

class Context;

namespace detail {

// Per-thread recycling allocator for coroutine frames (src/context/context.cpp).
void* frame_alloc(std::size_t size);
void frame_free(void* p, std::size_t size) noexcept;

// The ambient context of the code running on this thread, or nullptr outside any call.
const Context* current_context() noexcept;
void set_current_context(const Context* context) noexcept;

// Saves the ambient context on construction and puts it back on destruction: used around
// every resume from an event loop, so nothing of one call stays installed for the next.
class ContextScope {
 public:
  explicit ContextScope(const Context* installed) noexcept : saved_(current_context()) {
    set_current_context(installed);
  }
  ~ContextScope() { set_current_context(saved_); }
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  const Context* saved_;
};

struct PromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      auto next = self.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };

  std::suspend_always initial_suspend() noexcept { return {}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept { error = std::current_exception(); }

  static void* operator new(std::size_t size) { return frame_alloc(size); }
  static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }
};

template <class T>
struct Promise;

}  // namespace detail

template <class T = void>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::Promise<T>;
  using value_type = T;

  Task() noexcept = default;
  explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      std::coroutine_handle<promise_type> handle;
      const Context* saved = nullptr;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        saved = detail::current_context();
        handle.promise().continuation = awaiting;
        return handle;
      }
      T await_resume() {
        detail::set_current_context(saved);
        return handle.promise().take();
      }
    };
    assert(handle_ && "co_await on an empty or moved-from pit::Task");
    return Awaiter{handle_};
  }

  // For the runtime: hands the coroutine over (used to start detached tasks).
  std::coroutine_handle<promise_type> release() noexcept { return std::exchange(handle_, {}); }

 private:
  void reset() noexcept {
    if (handle_) handle_.destroy();
    handle_ = {};
  }
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
struct Promise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object() noexcept {
    return Task<T>{std::coroutine_handle<Promise>::from_promise(*this)};
  }
  template <class U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
  T take() {
    if (error) std::rethrow_exception(error);
    return std::move(*value);
  }
};

template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object() noexcept {
    return Task<void>{std::coroutine_handle<Promise>::from_promise(*this)};
  }
  void return_void() noexcept {}
  void take() {
    if (error) std::rethrow_exception(error);
  }
};

// A fire-and-forget coroutine: starts at once, frees its own frame when it ends.
// Only the runtime uses it (deadline races, worker hops); exceptions cannot escape it.
struct Detached {
  struct promise_type;
  // The coroutine's frame: valid only while the coroutine has not ended (known to the
  // caller, e.g., because it has not yet done what it does last).
  std::coroutine_handle<promise_type> frame;

  struct promise_type {
    Detached get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
    static void* operator new(std::size_t size) { return frame_alloc(size); }
    static void operator delete(void* p, std::size_t size) noexcept { frame_free(p, size); }
  };
};

// Blocks the calling thread until the task completes (src/executors/executors.cpp). Refuses,
// with a failed_precondition fault, to block one of pit's I/O threads: that would stall
// every call multiplexed on it.
void block_on_impl(Task<void> task);
bool on_io_thread() noexcept;

}  // namespace detail

// Runs a task to completion from ordinary (non-coroutine) code and returns its value, or
// throws what it threw (a pit::Fault for a failed call).
template <class T>
T block_on(Task<T> task) {
  if constexpr (std::is_void_v<T>) {
    detail::block_on_impl(std::move(task));
  } else {
    std::optional<T> result;
    detail::block_on_impl([](Task<T> t, std::optional<T>& out) -> Task<void> {
      out.emplace(co_await std::move(t));
    }(std::move(task), result));
    return std::move(*result);
  }
}

}  // namespace pit
