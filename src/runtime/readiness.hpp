// The readiness checks a service registered (Host::readiness_check): what /readyz asks
// about its dependencies, beyond "started and not draining".
//
// Invariants:
// - Checks never run on the admin request's I/O: sync checks run one after another on one
//   thread of their own, coroutine checks on an I/O thread of the host, started from that
//   thread. /readyz only asks for a run and waits (on timers) for its result.
// - At most one run at a time, and at most one per kFreshFor: a flood of probes costs the
//   dependencies one check per second, not one per probe.
// - A check that returns false, throws, or has not answered within its timeout is "not
//   ready"; the report names it, and why.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pit/context.hpp"
#include "pit/task.hpp"

namespace pit::detail {

class IoThread;

class Readiness : public std::enable_shared_from_this<Readiness> {
 public:
  using SyncCheck = std::function<bool()>;
  using AsyncCheck = std::function<Task<bool>()>;
  // Results this young are reused instead of running the checks again.
  static constexpr std::chrono::milliseconds kFreshFor{1000};

  Readiness() = default;
  ~Readiness();
  Readiness(const Readiness&) = delete;
  Readiness& operator=(const Readiness&) = delete;

  // Before start only. Exactly one of sync, async is set. Throws std::invalid_argument
  // for an empty, duplicate or multi-line name, or a timeout outside 1 ms..60 s.
  void add(std::string name, SyncCheck sync, AsyncCheck async, std::chrono::milliseconds timeout);
  // No checks to run (conditions need no run: report() reads them).
  [[nodiscard]] bool empty() const noexcept { return checks_.empty(); }

  // A condition of the runtime itself, e.g. "the audit log can write": `why_not` returns
  // why it is not ready, empty when it is. Unlike a check it is read at every report(),
  // on the reporting thread (an I/O thread), so it must be cheap and never block; it is
  // listed only while it fails. Before start only; a second one of the same name replaces
  // the first.
  using Condition = std::function<std::string()>;
  void add_condition(std::string name, Condition why_not);

  // Starts the checking thread (if there are checks): `io_thread` picks the I/O thread a
  // coroutine check runs on. The first run starts at once. The thread, and each coroutine
  // check, holds this object (made by std::make_shared) for as long as it runs.
  void start(std::function<IoThread&()> io_thread);
  // Stops the thread: waits for a check running now up to its timeout (plus a little),
  // then leaves it behind (detached; it owns what it touches) rather than hang the stop.
  void stop();

  // For /readyz: asks for a run unless the last one started within kFreshFor; returns the
  // number of the run whose results answer (see completed()) and the time to wait for it.
  struct Wanted {
    std::uint64_t run;
    Clock::time_point until;
  };
  Wanted want_fresh();
  [[nodiscard]] std::uint64_t completed() const;

  struct Report {
    bool ready = true;
    std::string text;  // one line per check: "<name>: ok" or "<name>: <why not>"
  };
  // The latest results; a check running longer than its timeout counts as timed out.
  [[nodiscard]] Report report() const;

 private:
  struct Check {
    std::string name;
    SyncCheck sync;
    AsyncCheck async;
    std::chrono::milliseconds timeout;
    // Guarded by mutex_.
    bool checked = false;
    bool ok = false;
    std::string why;  // when not ok
    bool running = false;
    Clock::time_point started{};
  };
  void loop();
  // Runs one check (on the checking thread, without mutex_): {ok, why not}.
  std::pair<bool, std::string> run(Check& check);

  std::vector<std::unique_ptr<Check>> checks_;  // fixed at start
  std::vector<std::pair<std::string, Condition>> conditions_;  // fixed at start
  std::function<IoThread&()> io_thread_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  bool stopping_ = false;
  bool thread_done_ = false;
  std::uint64_t requested_ = 0;  // runs asked for
  std::uint64_t started_ = 0;    // runs begun
  std::uint64_t completed_ = 0;  // runs finished
  Clock::time_point last_start_{};
  std::thread thread_;
};

}  // namespace pit::detail
