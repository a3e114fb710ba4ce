#include "executors/executors.hpp"

#include <stdexcept>
#include <utility>

#include "context/context_access.hpp"
#include "pit/asio.hpp"

#include <chrono>
#include <mutex>

#include "pit/context.hpp"
#include "pit/fault.hpp"

namespace pit::detail {
namespace {
thread_local IoThread* tls_io_thread = nullptr;
thread_local bool tls_worker_thread = false;
thread_local std::shared_ptr<InlineWorker>* tls_inline_worker = nullptr;
}

IoThread::IoThread() : work_(boost::asio::make_work_guard(io_)) {}

IoThread::~IoThread() { stop(); }

void IoThread::start() {
  if (thread_.joinable()) return;
  last_beat_.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
  thread_ = std::thread([this] {
    tls_io_thread = this;
    publish_current_context(&running_);
    beat();
    io_.run();
    publish_current_context(nullptr);
    tls_io_thread = nullptr;
  });
}

// On this thread: records that the loop is free, and comes back after kHeartbeat.
void IoThread::beat() {
  last_beat_.store(Clock::now().time_since_epoch().count(), std::memory_order_release);
  if (stopping_) return;
  if (!heartbeat_) heartbeat_.emplace(io_);
  heartbeat_->expires_after(kHeartbeat);
  heartbeat_->async_wait([this](const boost::system::error_code& ec) {
    if (!ec) beat();
  });
}

void IoThread::stop(bool keep_frames) {
  // Let the loop deliver what is already posted (answers to waiting callers, the ends of
  // closed connections and of cancelled operations) for a short while; timers still
  // pending after that are dropped with the loop.
  if (thread_.joinable() && !io_.stopped()) {
    // The heartbeat would keep the loop busy for ever: it stops first.
    boost::asio::post(io_, [this] {
      stopping_ = true;
      if (heartbeat_) heartbeat_->cancel();
    });
  }
  work_.reset();
  for (int i = 0; i < 200 && thread_.joinable() && !io_.stopped(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  io_.stop();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
    thread_.join();
    if (!keep_frames) destroy_roots();
  }
}

void IoThread::add_root(DetachedRoot& root) noexcept {
  if (root.listed) return;
  roots_.push_front(root);
  root.listed = true;
}

void IoThread::remove_root(DetachedRoot& root) noexcept {
  if (!root.listed) return;
  roots_.erase(root);
  root.listed = false;
}

// The loop has stopped for good and its thread is joined: a frame still listed waits for
// a handler that will never run. Destroying it destroys the frames it awaits (each pit::Task
// owns its callee's frame); their sockets and timers go back to the io_context, which is
// still alive, and the dropped handlers never touch them.
void IoThread::destroy_roots() noexcept {
  ContextScope clean(nullptr);
  while (roots_.front() != nullptr) {
    DetachedRoot& root = *roots_.front();
    remove_root(root);  // before the frame goes: the node may live in it
    if (const auto frame = std::exchange(root.frame, {})) frame.destroy();
  }
}

IoThread* IoThread::current() noexcept { return tls_io_thread; }

bool on_io_thread() noexcept { return tls_io_thread != nullptr; }

WorkerPool::WorkerPool(std::size_t threads, std::size_t queue_capacity)
    : running_(threads), capacity_(queue_capacity) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this, i] { loop(i); });
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::try_post(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    // A job may queue only if a worker is idle to take it or the queue has room.
    if (queue_.size() >= idle_ + capacity_) return false;
    queue_.push_back(job);
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::loop(std::size_t index) {
  tls_worker_thread = true;
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (stopping_) break;
    Job job = queue_.front();
    queue_.pop_front();
    ++busy_;
    running_[index] = {job.call, Clock::now(), true, false};
    lock.unlock();
    job.run(job.arg);
    lock.lock();
    --busy_;
    running_[index].busy = false;
    running_[index].call = nullptr;
    idle_cv_.notify_all();
  }
  running_[index].exited = true;
  idle_cv_.notify_all();
}

std::vector<WorkerPool::Stuck> WorkerPool::stop(std::chrono::milliseconds wait) {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return {};
    stopping_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  for (const Job& job : dropped) job.drop(job.arg);
  std::vector<Stuck> stuck;
  {
    std::unique_lock lock(mutex_);
    const auto all_exited = [this] {
      for (const auto& r : running_) {
        if (!r.exited) return false;
      }
      return true;
    };
    if (wait == std::chrono::milliseconds::max()) {
      idle_cv_.wait(lock, all_exited);
    } else {
      idle_cv_.wait_for(lock, wait, all_exited);
    }
    const auto now = Clock::now();
    for (std::size_t i = 0; i < running_.size(); ++i) {
      if (running_[i].exited) continue;
      // Still in a job: the call is alive for as long as its job runs (the job holds it).
      Stuck s;
      if (const Call* c = running_[i].call; c != nullptr) {
        s.operation = c->operation().full_name;
        s.correlation_id = std::string(c->context().correlation_id());
      }
      s.age = std::chrono::duration_cast<std::chrono::milliseconds>(now - running_[i].since);
      stuck.push_back(std::move(s));
    }
    stuck_ = stuck.size();
  }
  for (std::size_t i = 0; i < threads_.size(); ++i) {
    if (!threads_[i].joinable()) continue;
    bool exited = false;
    {
      std::lock_guard lock(mutex_);
      exited = running_[i].exited;
    }
    if (exited) {
      threads_[i].join();
    } else {
      threads_[i].detach();  // abandoned in its job; it still needs this pool when it returns
    }
  }
  return stuck;
}

std::size_t WorkerPool::stuck() const {
  std::lock_guard lock(mutex_);
  return stuck_;
}

std::size_t WorkerPool::busy() const {
  std::lock_guard lock(mutex_);
  return busy_;
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool InlineWorker::post(Job job) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    jobs_.push_back(job);
  }
  wake_.notify_one();
  return true;
}

std::shared_ptr<InlineWorker> current_inline_worker() noexcept {
  return tls_inline_worker != nullptr ? *tls_inline_worker : nullptr;
}

void block_on_impl(Task<void> task) {
  if (on_io_thread()) {
    throw Fault::failed_precondition(
        "a blocking wait on a pit I/O thread would stall every call on it; co_await instead");
  }
  auto waiter = std::make_shared<InlineWorker>();
  // On a worker thread, the calls this task makes hand their sync operations to this
  // thread (see InlineWorker); nested block_ons stack, the innermost one serves.
  std::shared_ptr<InlineWorker>* const outer = tls_inline_worker;
  if (tls_worker_thread) tls_inline_worker = &waiter;
  // The runner returns here when it first suspends; this thread keeps its own context.
  ContextScope keep(current_context());
  // The runner refers to the waiter without owning it: this thread keeps it alive until
  // done, so nothing of it (the exception, above all) is released on an I/O thread.
  [](Task<void> t, InlineWorker& w) -> Detached {
    std::exception_ptr error;
    try {
      co_await std::move(t);
    } catch (...) {
      error = std::current_exception();
    }
    // The task's frames go now, on this thread, before the waiter can return: nothing of
    // the call (its frames, the references they hold to it and to the exception) is torn
    // down on an I/O thread while the caller already uses the result or destroys the host.
    t = Task<void>{};
    std::lock_guard lock(w.mutex_);
    w.error_ = std::move(error);
    w.done_ = true;
    w.wake_.notify_one();  // under the lock: the waiter may return as soon as it sees done
  }(std::move(task), *waiter);
  std::unique_lock lock(waiter->mutex_);
  for (;;) {
    waiter->wake_.wait(lock, [&] { return waiter->done_ || !waiter->jobs_.empty(); });
    if (waiter->jobs_.empty()) break;
    const InlineWorker::Job job = waiter->jobs_.front();
    waiter->jobs_.pop_front();
    lock.unlock();
    job.run(job.arg);
    lock.lock();
  }
  // Done. A job posted between the answer and now belongs to a call that was answered
  // early (so it is cancelled): it still runs, here — it only reports "not run" — so that
  // nothing waits for it in vain. Later posts are refused and go to the pool.
  waiter->closed_ = true;
  while (!waiter->jobs_.empty()) {
    const InlineWorker::Job job = waiter->jobs_.front();
    waiter->jobs_.pop_front();
    lock.unlock();
    job.run(job.arg);
    lock.lock();
  }
  tls_inline_worker = outer;
  // Taken out: the InlineWorker may live on in a call that still refers to it.
  const std::exception_ptr error = std::exchange(waiter->error_, nullptr);
  lock.unlock();
  if (error) std::rethrow_exception(error);
}

}  // namespace pit::detail

namespace pit {

boost::asio::io_context::executor_type io_executor() {
  auto* here = detail::IoThread::current();
  if (here == nullptr) {
    throw std::logic_error("pit::io_executor() called outside a pit I/O thread");
  }
  return here->io().get_executor();
}

namespace detail {
void set_current_cancel_hook(const Context* context, CancelHook hook) noexcept {
  ContextAccess::set_cancel_hook(*context, hook);
}
}  // namespace detail

}  // namespace pit
