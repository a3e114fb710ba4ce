// The audit log: records authorization decisions off the call path, and never loses one
// silently.
//
// Invariants:
// - record() formats the line on the calling thread and only queues it; one writer thread
//   writes batches to the sink (a JSON-lines file by default, fdatasync'd per batch).
// - Sequence numbers are 1, 2, 3, ... in the order records are accepted. Each number
//   appears in the output once: in its record, or within the range of a gap record
//   (drop mode). A record refused in wait mode gets none.
// - At most options.queue records are held (queued, or being written). A record that
//   does not fit waits up to max_wait and is then refused (wait mode), or is dropped and
//   counted (drop mode), never queued past the bound.
// - A failed write keeps its records and is retried (10 ms, doubling to 1 s); meanwhile
//   healthy() is false and why_unhealthy() says why. A successful write makes it healthy.
// - The file sink appends, and before each batch notices a file that was deleted or
//   renamed (logrotate) and opens the path again: no record goes to an unlinked file.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "observability/metrics.hpp"
#include "pit/audit.hpp"
#include "pit/task.hpp"

namespace pit::detail {

class AuditLog {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::invalid_argument for invalid options (see validate()). `counters`, when
  // given, must outlive this object; they are touched only while it is alive.
  explicit AuditLog(AuditOptions options, AuditCounters* counters = nullptr);
  // Stops with a short deadline if stop() was not called.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Path "" without a sink, a queue of 0 or over 10 000 000, max_wait outside 0..60 s.
  static void validate(const AuditOptions& options);

  // Queues one record. False: not accepted (wait mode and no room within max_wait, or
  // stopped): the caller refuses its call `unavailable`. Drop mode never returns false
  // while running: a record that does not fit is dropped and counted.
  // Blocks the calling thread while it waits for room: for threads that may block (a
  // worker running a sync operation, a test), not for an I/O thread.
  [[nodiscard]] bool record(const AuditRecord& record);
  // The same for a coroutine on an I/O thread (the authorization policy): it waits for
  // room on a timer (polling every kRoomPoll), so the thread goes on serving other calls;
  // a cancelled call stops waiting (false). Off an I/O thread it blocks like record().
  // `record` need only live until the first suspension (the line is formatted before it).
  static constexpr std::chrono::milliseconds kRoomPoll{2};
  [[nodiscard]] Task<bool> record_async(const AuditRecord& record);

  [[nodiscard]] bool healthy() const noexcept;
  // Empty while healthy; else the last write error ("cannot write audit.jsonl: No space
  // left on device"). Cheap and non-blocking: read by /readyz on an I/O thread.
  [[nodiscard]] std::string why_unhealthy() const;

  // Waits until every record accepted before the call (and any gap record owed) has been
  // written, or the deadline passes; true when written.
  bool flush(Clock::time_point deadline);
  // Writes what is queued until `deadline`, then ends the writer thread; records still not
  // written then are counted in an error log line. Later record() calls return false. A
  // writer stuck in a user sink past the deadline is left behind (it owns what it touches).
  void stop(Clock::time_point deadline);

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  std::thread writer_;
};

}  // namespace pit::detail
