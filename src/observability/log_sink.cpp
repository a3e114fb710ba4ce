#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pit/log.hpp"

namespace pit::log {
namespace {

// Lines go into a bounded buffer; one background thread writes them out in batches.
// write() never blocks on I/O: when the buffer holds `capacity` lines it refuses the line
// (the logger counts it as dropped). Writers wake the background thread only when it is
// idle (the first line of a batch) or when a batch has grown to kBatchBytes; once awake,
// the thread lingers up to kLinger so that one write(2) carries many lines. flush() and
// the destructor cut the linger short.
class FdSink final : public Sink {
 public:
  FdSink(int fd, std::size_t capacity) : fd_(fd), capacity_(capacity) {
    writer_ = std::thread([this] { drain(); });
  }
  ~FdSink() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    writer_.join();
  }

  bool write(std::string_view line) override {
    bool notify = false;
    {
      std::lock_guard lock(mutex_);
      if (pending_lines_ >= capacity_) return false;
      pending_.append(line).push_back('\n');
      ++pending_lines_;
      if (state_ == Writer::idle) {
        state_ = Writer::woken;
        notify = true;
      } else if (state_ == Writer::lingering && pending_.size() >= kBatchBytes) {
        state_ = Writer::woken;
        notify = true;
      }
    }
    if (notify) wake_.notify_one();
    return true;
  }

  void flush() override {
    std::unique_lock lock(mutex_);
    const auto target = accepted_total();
    if (written_total_ >= target || stopping_) return;
    ++flush_waiters_;
    if (state_ == Writer::lingering) {
      state_ = Writer::woken;
      wake_.notify_one();
    }
    flushed_.wait(lock, [&] { return written_total_ >= target || stopping_; });
    --flush_waiters_;
  }

 private:
  static constexpr std::size_t kBatchBytes = 64 * 1024;
  static constexpr std::chrono::microseconds kLinger{500};
  // What the background thread is doing, so that writers know whether to wake it.
  enum class Writer { idle, woken, lingering, writing };

  std::uint64_t accepted_total() const { return written_total_ + in_flight_ + pending_lines_; }

  void drain() {
    std::string batch;
    std::unique_lock lock(mutex_);
    for (;;) {
      state_ = Writer::idle;
      wake_.wait(lock, [&] { return stopping_ || pending_lines_ > 0; });
      if (pending_lines_ == 0 && stopping_) return;
      if (!stopping_ && flush_waiters_ == 0 && pending_.size() < kBatchBytes) {
        state_ = Writer::lingering;
        wake_.wait_for(lock, kLinger, [&] { return state_ != Writer::lingering || stopping_; });
      }
      state_ = Writer::writing;
      batch.clear();
      batch.swap(pending_);
      in_flight_ = pending_lines_;
      pending_lines_ = 0;
      lock.unlock();
      write_all(batch);
      lock.lock();
      written_total_ += in_flight_;
      in_flight_ = 0;
      if (flush_waiters_ > 0) flushed_.notify_all();
    }
  }

  void write_all(const std::string& data) const {
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd_, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // the fd is gone: nothing sensible left to do with log lines
      off += static_cast<std::size_t>(n);
    }
  }

  int fd_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable flushed_;
  std::string pending_;
  std::size_t pending_lines_ = 0;
  std::uint64_t in_flight_ = 0;
  std::uint64_t written_total_ = 0;
  std::size_t flush_waiters_ = 0;
  Writer state_ = Writer::woken;
  bool stopping_ = false;
  std::thread writer_;
};

class DiscardSink final : public Sink {
 public:
  bool write(std::string_view /*line*/) override { return true; }
};

}  // namespace

std::shared_ptr<Sink> stdout_sink(std::size_t capacity_lines) { return fd_sink(STDOUT_FILENO, capacity_lines); }
std::shared_ptr<Sink> fd_sink(int fd, std::size_t capacity_lines) {
  return std::make_shared<FdSink>(fd, capacity_lines);
}
std::shared_ptr<Sink> discard_sink() { return std::make_shared<DiscardSink>(); }

struct MemorySink::State {
  mutable std::mutex mutex;
  std::vector<std::string> lines;
};

std::shared_ptr<MemorySink::State> MemorySink::make_state() { return std::make_shared<State>(); }

bool MemorySink::write(std::string_view line) {
  std::lock_guard lock(state_->mutex);
  state_->lines.emplace_back(line);
  return true;
}

std::vector<std::string> MemorySink::lines() const {
  std::lock_guard lock(state_->mutex);
  return state_->lines;
}

void MemorySink::clear() {
  std::lock_guard lock(state_->mutex);
  state_->lines.clear();
}

}  // namespace pit::log
