// Blocking work a call must wait for (a token fetch at the issuer), run on threads of its
// own so that neither an I/O thread nor a worker of the pool blocks on the network.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pit::detail {

class Offload {
 public:
  explicit Offload(std::size_t threads);
  ~Offload();  // runs what is queued, then joins
  Offload(const Offload&) = delete;
  Offload& operator=(const Offload&) = delete;
  void post(std::function<void()> job);

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pit::detail
