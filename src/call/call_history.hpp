// The recent and the slowest calls of one operation, for the admin listener's diagnostics
// pages (/calls/recent, /calls/slowest). Fed once per call at its end, read rarely.
//
// Invariant: each I/O thread has its own ring and its own slowest list, written and read
// only on that thread (the admin pages post to it), so recording takes no lock and no
// atomic, and allocates nothing: the storage is made at the host's start.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pit/context.hpp"
#include "pit/fault.hpp"

namespace pit::detail {

// One finished call. The ids are copied into fixed arrays: recording never allocates.
struct CallRecord {
  static constexpr std::size_t kMaxCorrelation = 64;  // longer correlation ids are cut

  Clock::time_point started{};
  std::chrono::nanoseconds took{0};
  Code code = Code::ok;
  std::uint8_t correlation_size = 0;
  std::array<char, kMaxCorrelation> correlation{};
  std::array<char, 32> trace_id{};

  [[nodiscard]] std::string_view correlation_id() const noexcept { return {correlation.data(), correlation_size}; }
  [[nodiscard]] std::string_view trace() const noexcept { return {trace_id.data(), trace_id.size()}; }
};

class CallHistory {
 public:
  // `capacity`: calls kept in each thread's ring and slowest list (> 0).
  explicit CallHistory(std::size_t capacity) : capacity_(capacity) {}
  CallHistory(const CallHistory&) = delete;
  CallHistory& operator=(const CallHistory&) = delete;

  // Makes the storage of `threads` I/O threads; at start, before any call is recorded.
  void allocate(std::size_t threads);

  // On I/O thread `thread` only. A thread past those allocated records nothing.
  void record(std::size_t thread, const Context& context, Clock::time_point started, Clock::time_point ended,
              Code code) noexcept;

  // On I/O thread `thread` only: appends that thread's recent calls (oldest first) or
  // slowest calls (any order).
  void copy_recent(std::size_t thread, std::vector<CallRecord>& out) const;
  void copy_slowest(std::size_t thread, std::vector<CallRecord>& out) const;

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  // A cache line of its own per thread: two threads recording never share one.
  struct alignas(64) PerThread {
    std::vector<CallRecord> ring;     // capacity_ entries, `next` is the oldest once full
    std::size_t next = 0;
    std::size_t count = 0;
    std::vector<CallRecord> slowest;  // a min-heap on `took`, at most capacity_ entries
  };

  std::size_t capacity_;
  std::size_t threads_ = 0;
  std::unique_ptr<PerThread[]> per_thread_;
};

// The host's histories, one per served operation whichever entry point (HTTP, each
// in-process channel) its calls come through.
class CallHistories {
 public:
  explicit CallHistories(std::size_t capacity) : capacity_(capacity) {}

  // The history of the operation `full_name`, made on first ask (allocated at once when
  // the host already started).
  std::shared_ptr<CallHistory> of(std::string_view full_name);
  // At the host's start, before any call: allocates every history, made or to be made.
  void allocate(std::size_t threads);

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::size_t threads_ = 0;  // 0: not started
  std::map<std::string, std::shared_ptr<CallHistory>, std::less<>> histories_;
};

}  // namespace pit::detail
