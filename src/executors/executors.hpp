// The two executors of a host: I/O threads (coroutines and the pipeline) and the bounded
// worker pool (sync operations).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "executors/intrusive_list.hpp"
#include "call/call_access.hpp"
#include "pit/task.hpp"

namespace pit::detail {

// A detached coroutine frame that nobody awaits (an HTTP connection; the rest of a call
// whose caller was answered early), listed on the I/O thread it runs on while it runs. It
// normally ends on its own and leaves the list; one still listed once that thread has
// stopped can never resume, and IoThread::stop() destroys it, and with it every frame it
// awaits. Touched only on that thread (or after it stopped).
struct DetachedRoot : ListNode<DetachedRoot> {
  std::coroutine_handle<> frame;
  bool listed = false;
};

// One thread running one io_context. Everything of a call that runs on I/O threads runs
// on its home thread, so a call's coroutines, timers and cancellation never race.
class IoThread {
 public:
  IoThread();
  ~IoThread();
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  void start();
  // Lets the loop run until it has nothing left to do (bounded), stops it and joins; then
  // destroys the detached frames still listed (they could never resume) — unless
  // `keep_frames`: a worker abandoned at shutdown may still return into one of them (its
  // call's pipeline), so they are left allocated. Handlers still pending are dropped with
  // the io_context.
  void stop(bool keep_frames = false);
  boost::asio::io_context& io() noexcept { return io_; }

  // Resumes h on this thread with no call context installed around it; the awaiter that
  // suspended h re-installs its own.
  void resume(std::coroutine_handle<> h) {
    boost::asio::post(io_, [h] {
      ContextScope clean(nullptr);
      h.resume();
    });
  }
  // The I/O thread the caller runs on, or nullptr.
  static IoThread* current() noexcept;
  // The calls in flight whose home this is; touched only on this thread.
  ActiveCalls& active() noexcept { return active_; }
  // This thread's position among its host's I/O threads (set once, before it runs calls):
  // what per-thread storage, such as CallHistory's, is indexed by.
  [[nodiscard]] std::size_t index() const noexcept { return index_; }
  void set_index(std::size_t index) noexcept { index_ = index; }
  // The detached frames that run here (see DetachedRoot); on this thread only.
  void add_root(DetachedRoot& root) noexcept;
  void remove_root(DetachedRoot& root) noexcept;

  // Liveness, read from any thread (the host's StallWatch): the loop beats every
  // kHeartbeat while it is free to run handlers, so a beat older than that means the
  // thread is stuck in one piece of code; running() is the context installed on it now.
  static constexpr auto kHeartbeat = std::chrono::milliseconds(50);
  [[nodiscard]] Clock::time_point last_beat() const noexcept {
    return Clock::time_point{Clock::duration{last_beat_.load(std::memory_order_acquire)}};
  }
  [[nodiscard]] const Context* running() const noexcept { return running_.load(std::memory_order_acquire); }

 private:
  void destroy_roots() noexcept;
  void beat();

  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  ActiveCalls active_;
  std::size_t index_ = 0;
  IntrusiveList<DetachedRoot> roots_;
  std::optional<boost::asio::steady_timer> heartbeat_;
  bool stopping_ = false;  // on this thread: the heartbeat stops re-arming
  std::atomic<Clock::rep> last_beat_{0};
  std::atomic<const Context*> running_{nullptr};
};

// co_await ThisFrame{}: the calling coroutine's own handle (it does not suspend).
struct ThisFrame {
  std::coroutine_handle<> frame;
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    frame = h;
    return false;
  }
  std::coroutine_handle<> await_resume() const noexcept { return frame; }
};

// Lists a detached coroutine (its own frame) on its I/O thread for as long as it lives.
class ListedRoot {
 public:
  ListedRoot(IoThread& thread, std::coroutine_handle<> frame) noexcept : thread_(thread) {
    root_.frame = frame;
    thread_.add_root(root_);
  }
  ~ListedRoot() { thread_.remove_root(root_); }
  ListedRoot(const ListedRoot&) = delete;
  ListedRoot& operator=(const ListedRoot&) = delete;

 private:
  IoThread& thread_;
  DetachedRoot root_;
};

// co_await schedule_on(t): continue on t (at once if already there).
struct ScheduleOn {
  IoThread& target;
  const Context* saved = nullptr;
  bool await_ready() const noexcept { return IoThread::current() == &target; }
  void await_suspend(std::coroutine_handle<> h) {
    saved = current_context();
    target.resume(h);
  }
  void await_resume() const noexcept {
    if (saved != nullptr) set_current_context(saved);
  }
};

// A worker thread that waits in block_on for a call it made (a sync operation calling
// another operation of its host). Sync operations that call needs are handed to this
// thread to run, instead of the pool's queue: with every worker taken — one of them by
// this waiting caller — queueing them would wait for the caller itself, until the deadline.
class InlineWorker {
 public:
  struct Job {
    void (*run)(void*) = nullptr;
    void* arg = nullptr;
  };
  // False once the waiting caller has returned (the job must go elsewhere).
  bool post(Job job);

 private:
  friend void block_on_impl(Task<void> task);
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool done_ = false;   // the awaited task finished
  bool closed_ = false; // the caller returned: post() refuses
  std::exception_ptr error_;
};

// The InlineWorker of the innermost block_on this worker thread waits in, or null (not a
// worker thread, or not waiting).
std::shared_ptr<InlineWorker> current_inline_worker() noexcept;

// A fixed set of threads with a bounded queue. try_post never blocks: when every worker
// is busy and the queue is full it refuses, and the caller answers with a fault.
class WorkerPool {
 public:
  struct Job {
    void (*run)(void*) = nullptr;   // on a worker thread
    void (*drop)(void*) = nullptr;  // instead of run, when the pool stops first
    void* arg = nullptr;
    const Call* call = nullptr;     // the call it runs, alive while it runs: for stop()'s report
  };
  // A job still running when stop() gave up waiting for it.
  struct Stuck {
    std::string operation;       // "shop.v1.Inventory/stock"
    std::string correlation_id;
    std::chrono::milliseconds age{0};
  };

  WorkerPool(std::size_t threads, std::size_t queue_capacity);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  [[nodiscard]] bool try_post(Job job);
  // Drops the queued jobs (each told through Job::drop) and lets the running ones finish
  // for at most `wait`; joins the workers that are done. A job still running then is
  // abandoned — its thread detached, the pool left alive for it (the owner must not destroy
  // it: see stuck()) — and reported.
  std::vector<Stuck> stop(std::chrono::milliseconds wait = std::chrono::milliseconds::max());
  // Workers abandoned by stop() while running a job.
  [[nodiscard]] std::size_t stuck() const;

  [[nodiscard]] std::size_t busy() const;
  [[nodiscard]] std::size_t queued() const;
  [[nodiscard]] std::size_t threads() const noexcept { return threads_.size(); }

 private:
  struct Running {
    const Call* call = nullptr;
    Clock::time_point since{};
    bool busy = false;
    bool exited = false;
  };
  void loop(std::size_t index);
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_cv_;  // a worker finished a job or exited (for stop())
  std::vector<Running> running_;     // by worker index
  std::size_t stuck_ = 0;
  std::deque<Job> queue_;
  std::size_t capacity_;
  std::size_t idle_ = 0;
  std::size_t busy_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pit::detail
