// call_path_bench — what one call through a pit::Ref proxy and the default pipeline costs,
// against a direct virtual call of the same no-op on the implementation object.
//
// Two ways of calling, measured separately (bench/README.md explains the figures):
//
//  * in_runtime: the caller is itself a pit coroutine operation (Driver::loop) running on
//    the I/O thread. It awaits the no-op `n` times and times the loop itself, so the figure
//    is the per-call cost of proxy + pipeline + dispatch, without any thread hop. The one
//    block_on per batch that starts the loop is outside the timed region (manual time).
//  * block_on: the caller is the benchmark thread (not a pit thread). Each call hops to
//    the I/O thread and back (a sync operation also hops to the worker pool and back), so
//    the figure is dominated by cross-thread wake-ups; it is what a main() or a test pays.
//
// Every proxied benchmark runs its own host with the default pipeline (correlation,
// call_log, fault_shaping, deadline, dispatch) and a discarding log sink; log_on formats
// the per-call line, log_off switches per-call lines off.
//
// Note for GCC 12: requests are named before they are moved into a call awaited with
// co_await (a braced temporary inside a co_await expression is miscompiled).
#include <benchmark/benchmark.h>

#include <boost/describe.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "pit/pit.hpp"

namespace bench {

struct Ping {
  std::int64_t seq = 0;
};
BOOST_DESCRIBE_STRUCT(Ping, (), (seq))

struct Pong {
  std::int64_t seq = 0;
};
BOOST_DESCRIBE_STRUCT(Pong, (), (seq))

// Call Target's coroutine no-op `calls` times, through the proxy or directly.
struct Loop {
  std::int64_t calls = 0;
  bool direct = false;
};
BOOST_DESCRIBE_STRUCT(Loop, (), (calls, direct))

struct Looped {
  std::int64_t calls = 0;
  std::int64_t checksum = 0;
  std::int64_t elapsed_ns = 0;
};
BOOST_DESCRIBE_STRUCT(Looped, (), (calls, checksum, elapsed_ns))

// The operations under measurement: no-ops.
class Target {
 public:
  virtual ~Target() = default;
 protected:
  virtual pit::Task<Pong> ping(Ping) = 0;  // coroutine operation (I/O thread)
  virtual Pong ping_sync(Ping) = 0;        // sync operation (worker pool)
};
PIT_CONTRACT(Target, "bench.v1.Target", (ping, pit::OpSpec{}.anonymous("bench")), (ping_sync, pit::OpSpec{}.anonymous("bench")));

// The in-runtime caller.
class Driver {
 public:
  virtual ~Driver() = default;
 protected:
  virtual pit::Task<Looped> loop(Loop) = 0;
};
PIT_CONTRACT(Driver, "bench.v1.Driver", (loop, pit::OpSpec{}.anonymous("bench")));

// The direct baseline calls the implementation the way the dispatch boundary does: a
// virtual call through the contract's member pointer, which (the operations being
// protected) only a class derived from the contract can name.
struct TargetOperations : Target {
  static constexpr auto ping_op = &TargetOperations::ping;
  static constexpr auto ping_sync_op = &TargetOperations::ping_sync;
};

class TargetService final : public Target {
 public:
  pit::Task<Pong> ping(Ping p) override { co_return Pong{p.seq}; }
  Pong ping_sync(Ping p) override { return Pong{p.seq}; }
};

class DriverService final : public Driver {
 public:
  DriverService(pit::Ref<Target> proxy, Target* direct) : proxy_(std::move(proxy)), direct_(direct) {}

 private:
  pit::Task<Looped> loop(Loop req) override {
    std::int64_t checksum = 0;
    const auto start = std::chrono::steady_clock::now();
    if (req.direct) {
      for (std::int64_t i = 0; i < req.calls; ++i) {
        Ping ping{i};
        Pong pong = co_await (direct_->*TargetOperations::ping_op)(std::move(ping));
        checksum += pong.seq;
      }
    } else {
      for (std::int64_t i = 0; i < req.calls; ++i) {
        Ping ping{i};
        Pong pong = co_await proxy_->ping(std::move(ping));
        checksum += pong.seq;
      }
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    Looped done{req.calls, checksum,
                std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()};
    co_return done;
  }

  pit::Ref<Target> proxy_;
  Target* direct_;
};

enum class Logging { on, off };

// Hides the dynamic type of the direct target from the optimizer: the baseline is a real
// virtual call, like the one the dispatch boundary makes.
Target* opaque(Target* p) {
  benchmark::DoNotOptimize(p);
  return p;
}

// A started host serving Target and Driver with the default pipeline, plus a separate
// TargetService object for the direct calls (the host never hands out its own).
// Admission control: the default (a host-wide limit; calls the Driver makes in-process are
// nested, so they take no host slot), none at all (the policy is left out of the pipeline),
// or a limit of ping's own that every call takes and releases.
enum class Admission : std::uint8_t { host_default, off, operation_limit };

struct Rig {
  explicit Rig(Logging logging, std::shared_ptr<pit::log::Sink> sink = pit::log::discard_sink(),
               Admission admission = Admission::host_default, std::size_t recent_calls = pit::AdminOptions{}.recent_calls)
      : host(options(logging, std::move(sink), admission, recent_calls)) {
    host.serve<Target, TargetService>();
    host.serve<Driver, DriverService>(host.client<Target>(), direct);
    target = host.client<Target>();
    driver = host.client<Driver>();
    host.start();
  }
  ~Rig() { host.stop(); }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  static pit::HostOptions options(Logging logging, std::shared_ptr<pit::log::Sink> sink, Admission admission,
                                  std::size_t recent_calls) {
    pit::HostOptions o;
    o.admin.recent_calls = recent_calls;  // 0: no call history for the diagnostics pages
    o.log_sink = std::move(sink);
    o.log_calls = logging == Logging::on;
    if (admission == Admission::off) o.admission.max_in_flight = 0;
    if (admission == Admission::operation_limit) o.operations["bench.v1.Target/ping"].max_in_flight = 1000;
    return o;
  }

  TargetService direct_object;
  Target* direct = opaque(&direct_object);
  pit::Host host;
  pit::Ref<Target> target;
  pit::Ref<Driver> driver;
};

constexpr std::int64_t kBatch = 1000;

// Coroutine operation awaited from inside the runtime; per-call time = loop time / calls.
void coro_in_runtime_with(benchmark::State& state, Logging logging, bool direct, Admission admission,
                          std::size_t recent_calls) {
  Rig rig{logging, pit::log::discard_sink(), admission, recent_calls};
  while (state.KeepRunningBatch(kBatch)) {
    Loop req{kBatch, direct};
    Looped done = pit::block_on(rig.driver->loop(std::move(req)));
    if (done.calls != kBatch || done.checksum != kBatch * (kBatch - 1) / 2) {
      state.SkipWithError("the loop did not make every call");
      break;
    }
    state.SetIterationTime(static_cast<double>(done.elapsed_ns) * 1e-9);
  }
}

void coro_in_runtime(benchmark::State& state, Logging logging, bool direct, Admission admission) {
  coro_in_runtime_with(state, logging, direct, admission, pit::AdminOptions{}.recent_calls);
}

// Coroutine operation awaited with pit::block_on from the benchmark thread.
void coro_block_on(benchmark::State& state, Logging logging, bool direct) {
  Rig rig{logging};
  std::int64_t seq = 0;
  for (auto _ : state) {
    Ping ping{seq++};
    Pong pong = direct ? pit::block_on((rig.direct->*TargetOperations::ping_op)(std::move(ping)))
                       : pit::block_on(rig.target->ping(std::move(ping)));
    benchmark::DoNotOptimize(pong);
  }
}

// Sync operation called from the benchmark thread (the proxy blocks until the answer).
void sync_call(benchmark::State& state, Logging logging, bool direct) {
  Rig rig{logging};
  std::int64_t seq = 0;
  for (auto _ : state) {
    Ping ping{seq++};
    Pong pong = direct ? (rig.direct->*TargetOperations::ping_sync_op)(std::move(ping))
                       : rig.target->ping_sync(std::move(ping));
    benchmark::DoNotOptimize(pong);
  }
}

// One application log line (pit::log::info outside a call, discarding sink), with typical
// fields, redaction on and off: what the key and card checks add to a line that has
// fields. The per-call line has none and never reaches the redactor.
void app_log_line(benchmark::State& state, bool redact, bool with_fields) {
  pit::log::configure(pit::log::discard_sink(), pit::log::Level::info);
  pit::log::configure_redaction({.enabled = redact, .keys = {}});
  const std::string sku = "A-1042";
  const std::string note = "gift wrap, deliver after 18:00";
  for (auto _ : state) {
    if (with_fields) {
      pit::log::info("order placed", {{"sku", sku}, {"quantity", 3}, {"note", note}, {"user_id", "u-88213"}});
    } else {
      pit::log::info("order placed");
    }
  }
  pit::log::configure_redaction({});
}

// Before measuring: the log_on configuration really formats one line per call, and
// log_off none; a benchmark of a pipeline that silently skipped its logging proves nothing.
bool call_lines_as_configured() {
  for (Logging logging : {Logging::on, Logging::off}) {
    auto memory = std::make_shared<pit::log::MemorySink>();
    {
      Rig rig{logging, memory};
      Loop req{3, false};
      (void)pit::block_on(rig.driver->loop(std::move(req)));
    }
    pit::log::flush();
    int lines = 0;
    for (const auto& line : memory->lines()) {
      if (line.find(R"("msg":"call")") != std::string::npos &&
          line.find(R"("operation":"ping")") != std::string::npos) {
        ++lines;
      }
    }
    const int expected = logging == Logging::on ? 3 : 0;
    if (lines != expected) {
      std::fprintf(stderr, "call_path_bench: log_%s wrote %d per-call lines for 3 calls, expected %d\n",
                   logging == Logging::on ? "on" : "off", lines, expected);
      return false;
    }
  }
  return true;
}

void register_all() {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("coro/in_runtime/proxy/log_on", coro_in_runtime, Logging::on, false, Admission::host_default)->UseManualTime();
  RegisterBenchmark("coro/in_runtime/proxy/log_off", coro_in_runtime, Logging::off, false, Admission::host_default)->UseManualTime();
  // The diagnostics pages' call history (admin.recent_calls) off: what recording costs.
  RegisterBenchmark("coro/in_runtime/proxy/log_off/history_off", coro_in_runtime_with, Logging::off, false,
                    Admission::host_default, std::size_t{0})->UseManualTime();
  RegisterBenchmark("coro/in_runtime/direct", coro_in_runtime, Logging::off, true, Admission::host_default)->UseManualTime();
  RegisterBenchmark("coro/in_runtime/proxy/log_off/admission_off", coro_in_runtime, Logging::off, false,
                    Admission::off)->UseManualTime();
  RegisterBenchmark("coro/in_runtime/proxy/log_off/operation_limit", coro_in_runtime, Logging::off, false,
                    Admission::operation_limit)->UseManualTime();
  RegisterBenchmark("coro/block_on/proxy/log_on", coro_block_on, Logging::on, false)->UseRealTime();
  RegisterBenchmark("coro/block_on/proxy/log_off", coro_block_on, Logging::off, false)->UseRealTime();
  RegisterBenchmark("coro/block_on/direct", coro_block_on, Logging::off, true)->UseRealTime();
  RegisterBenchmark("sync/block/proxy/log_on", sync_call, Logging::on, false)->UseRealTime();
  RegisterBenchmark("sync/block/proxy/log_off", sync_call, Logging::off, false)->UseRealTime();
  RegisterBenchmark("sync/block/direct", sync_call, Logging::off, true)->UseRealTime();
  RegisterBenchmark("log/app_line/no_fields", app_log_line, true, false);
  RegisterBenchmark("log/app_line/4_fields/redact_on", app_log_line, true, true);
  RegisterBenchmark("log/app_line/4_fields/redact_off", app_log_line, false, true);
}

}  // namespace bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!bench::call_lines_as_configured()) return 1;
  bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
