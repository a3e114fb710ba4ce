// The I/O threads' watchdog. Code that blocks an I/O thread (a sleep, a blocking read, a
// long computation in a coroutine operation) stalls every other call multiplexed on it,
// and nothing else would say so: StallWatch looks at each thread's heartbeat and, when one
// is older than the threshold, logs the stall once (with the ids of the call running there)
// and counts it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "executors/executors.hpp"

namespace pit::detail {

class StallWatch {
 public:
  // threshold: how long a thread may go without a heartbeat; zero: no watch at all.
  StallWatch(const std::vector<std::unique_ptr<IoThread>>& threads, std::chrono::milliseconds threshold);
  ~StallWatch();
  StallWatch(const StallWatch&) = delete;
  StallWatch& operator=(const StallWatch&) = delete;

  void stop();
  // Stalls seen since start (one per episode: a thread blocked for ten seconds is one).
  [[nodiscard]] std::uint64_t stalls() const noexcept { return stalls_.load(std::memory_order_relaxed); }

 private:
  void run();
  void report(std::size_t index, const IoThread& thread, std::chrono::milliseconds blocked);

  const std::vector<std::unique_ptr<IoThread>>& threads_;
  const std::chrono::milliseconds threshold_;
  std::atomic<std::uint64_t> stalls_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace pit::detail
