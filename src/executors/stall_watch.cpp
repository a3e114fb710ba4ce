#include "executors/stall_watch.hpp"

#include <string>

#include "pit/context.hpp"
#include "pit/log.hpp"

namespace pit::detail {

StallWatch::StallWatch(const std::vector<std::unique_ptr<IoThread>>& threads, std::chrono::milliseconds threshold)
    : threads_(threads), threshold_(threshold) {
  if (threshold_.count() > 0) watcher_ = std::thread([this] { run(); });
}

StallWatch::~StallWatch() { stop(); }

void StallWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

void StallWatch::run() {
  // Looks a few times per threshold, so a stall is reported within about 1.25 thresholds.
  const auto period = std::max<std::chrono::milliseconds>(threshold_ / 4, std::chrono::milliseconds(10));
  std::vector<bool> stalled(threads_.size(), false);
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period, [this] { return stopping_; })) {
    const auto now = Clock::now();
    for (std::size_t i = 0; i < threads_.size(); ++i) {
      const auto blocked = std::chrono::duration_cast<std::chrono::milliseconds>(now - threads_[i]->last_beat());
      // A beat is due every kHeartbeat: only what is late beyond that counts.
      const bool late = blocked > threshold_ + IoThread::kHeartbeat;
      if (late && !stalled[i]) {
        stalled[i] = true;
        stalls_.fetch_add(1, std::memory_order_relaxed);
        report(i, *threads_[i], blocked);
      } else if (!late && stalled[i]) {
        stalled[i] = false;
        log::info("I/O thread unblocked", {{"io_thread", i}});
      }
    }
  }
}

// The ids of the call that blocks the thread are read from its context while the thread is
// stuck in it: the copy is kept only if the thread showed no sign of life (no heartbeat,
// the same context installed) before and after it, so what is logged is that call's.
void StallWatch::report(std::size_t index, const IoThread& thread, std::chrono::milliseconds blocked) {
  const auto beat = thread.last_beat();
  const Context* running = thread.running();
  std::string correlation_id;
  std::string trace_id;
  std::string operation;
  if (running != nullptr && running->in_call()) {
    correlation_id = running->correlation_id();
    trace_id = running->trace_id();
    operation = std::string(running->contract()) + "/" + std::string(running->operation());
    if (thread.running() != running || thread.last_beat() != beat) {
      correlation_id.clear();
      trace_id.clear();
      operation.clear();
    }
  }
  log::warn("I/O thread blocked: every call on it waits",
            {{"io_thread", index},
             {"blocked_ms", static_cast<std::int64_t>(blocked.count())},
             {"operation", operation},
             {"correlation_id", correlation_id},
             {"trace_id", trace_id}});
}

}  // namespace pit::detail
