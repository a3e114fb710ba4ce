// Waiting, inside a call, for something another thread finishes: the coroutine suspends,
// the other thread calls the callback it was given, and the coroutine resumes on its home
// I/O thread with its context installed again.
#pragma once

#include <coroutine>
#include <functional>
#include <utility>

#include "executors/executors.hpp"
#include "pit/task.hpp"

namespace pit::detail {

// co_await ResumeOn{home, [](std::function<void()> done) { ... done() once, any thread ... }};
// `start` is called in await_suspend; it must call `done` exactly once (it may do so at
// once, on this thread: the resumption is posted either way, so it never recurses).
struct ResumeOn {
  IoThread* home;
  std::function<void(std::function<void()>)> start;
  const Context* saved = nullptr;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    saved = current_context();
    IoThread* target = home;
    start([target, h] { target->resume(h); });
  }
  void await_resume() const noexcept { set_current_context(saved); }
};

}  // namespace pit::detail
