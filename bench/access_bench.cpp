// access_bench — what identity and access add to one in-process call, in one run: an
// operation declared .anonymous (no credential), one declared .require(pit::scope("x"))
// called under a pit::CallerScope with a service_identity, the same called with a bearer
// token found in the token cache, and with an RS256 / ES256 token verified on every call
// (auth.token_cache = 0). Every call, the anonymous one included, writes its audit record
// through the default file sink (a JSON-lines file in a temporary directory, fdatasync'd
// per batch by the audit writer thread). bench/README.md ("Identity") quotes the figures.
//
// Like call_path_bench's in_runtime figures: a coroutine operation (Driver::loop) awaits
// the no-op 1000 times on the I/O thread and times the loop, so no thread hop is measured.
// Besides wall time, the loop reads the I/O thread's CPU time (the call path's own work)
// and the process's (that plus the audit writer and whatever else runs), as counters.
//
// A CallerScope cannot carry a token, so the bearer variants call through a channel of
// their own that sets the call's credential (what the HTTP entry point does with the
// Authorization header) before handing the call to the host's in-process channel.
//
// Note for GCC 12: requests are named before they are moved into a call awaited with
// co_await (a braced temporary inside a co_await expression is miscompiled).
#include <benchmark/benchmark.h>

#include <boost/describe.hpp>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "call/call_access.hpp"
#include "client/inproc_channel.hpp"
#include "identity/dev_signer.hpp"
#include "pit/pit.hpp"
#include "runtime/host_state.hpp"

namespace bench {

// The Host's state without a public accessor, as tests/fuzz/host_access.hpp reaches it:
// an explicit instantiation may name a private member ([temp.spec]).
using StateMember = std::shared_ptr<pit::Host::State> pit::Host::*;
template <StateMember M>
struct StateMemberOf {
  friend StateMember state_member() { return M; }
};
StateMember state_member();
template struct StateMemberOf<&pit::Host::state_>;

struct Ping {
  std::int64_t seq = 0;
};
BOOST_DESCRIBE_STRUCT(Ping, (), (seq))

struct Pong {
  std::int64_t seq = 0;
};
BOOST_DESCRIBE_STRUCT(Pong, (), (seq))

struct Loop {
  std::int64_t calls = 0;
  bool scoped = false;  // ping_scoped (requires scope x) instead of ping (anonymous)
};
BOOST_DESCRIBE_STRUCT(Loop, (), (calls, scoped))

struct Looped {
  std::int64_t calls = 0;
  std::int64_t checksum = 0;
  std::int64_t elapsed_ns = 0;
  std::int64_t thread_cpu_ns = 0;   // the I/O thread running the loop: the call path
  std::int64_t process_cpu_ns = 0;  // every thread: the call path, the audit writer, ...
  std::string failed;               // the fault that ended the loop early ("code: message")
};
BOOST_DESCRIBE_STRUCT(Looped, (), (calls, checksum, elapsed_ns, thread_cpu_ns, process_cpu_ns, failed))

class Target {
 public:
  virtual ~Target() = default;
 protected:
  virtual pit::Task<Pong> ping(Ping) = 0;
  virtual pit::Task<Pong> ping_scoped(Ping) = 0;
};
PIT_CONTRACT(Target, "bench.v1.Target", (ping, pit::OpSpec{}.anonymous("bench")),
             (ping_scoped, pit::OpSpec{}.require(pit::scope("x"))));

class Driver {
 public:
  virtual ~Driver() = default;
 protected:
  virtual pit::Task<Looped> loop(Loop) = 0;
};
PIT_CONTRACT(Driver, "bench.v1.Driver", (loop, pit::OpSpec{}.anonymous("bench")));

using TargetProxy = pit::detail::proxy_of<Target>;

class TargetService final : public Target {
  pit::Task<Pong> ping(Ping p) override { co_return Pong{p.seq}; }
  pit::Task<Pong> ping_scoped(Ping p) override { co_return Pong{p.seq}; }
};

std::int64_t cpu_ns(clockid_t clock) {
  timespec t{};
  ::clock_gettime(clock, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

class DriverService final : public Driver {
 public:
  explicit DriverService(std::shared_ptr<TargetProxy>* target) : target_(target) {}

 private:
  pit::Task<Looped> loop(Loop req) override {
    TargetProxy& target = **target_;
    std::int64_t checksum = 0;
    const auto thread0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    const auto process0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    const auto start = std::chrono::steady_clock::now();
    std::int64_t made = 0;
    std::string failed;
    try {
      for (; made < req.calls; ++made) {
        Ping ping{made};
        Pong pong = req.scoped ? co_await target.ping_scoped(std::move(ping)) : co_await target.ping(std::move(ping));
        checksum += pong.seq;
      }
    } catch (const pit::Fault& fault) {
      failed = std::string{pit::to_string(fault.code())} + ": " + fault.message();
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    Looped done{made, checksum, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count(),
                cpu_ns(CLOCK_THREAD_CPUTIME_ID) - thread0, cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - process0, failed};
    co_return done;
  }

  std::shared_ptr<TargetProxy>* target_;  // set once the host exists (the Rig's)
};

// The credential the HTTP entry point would have taken from the Authorization header, set
// on each call before it enters the host's pipeline (a copy per call, as there).
class BearerChannel final : public pit::detail::Channel {
 public:
  BearerChannel(pit::detail::ChannelPtr inner, std::string token) : inner_(std::move(inner)), credential_("Bearer " + token) {}
  pit::Task<pit::Outcome> call(pit::CallRef call) override {
    pit::detail::CallAccess::set_credential(*call, credential_);
    return inner_->call(std::move(call));
  }

 private:
  pit::detail::ChannelPtr inner_;
  std::string credential_;
};

using pit::detail::identity::DevSigner;

// One issuer with an RSA and a P-256 key, its JWKS in a file; a temporary directory for it
// and the audit file. Made once: RSA key generation is slow.
struct Issuer {
  static constexpr const char* kIssuer = "https://id.example";
  DevSigner rs256{DevSigner::Alg::RS256, "bench-rsa"};
  DevSigner es256{DevSigner::Alg::ES256, "bench-ec"};
  std::filesystem::path dir;
  std::string jwks_file;

  Issuer() {
    dir = std::filesystem::temp_directory_path() / ("pit_access_bench_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    jwks_file = (dir / "jwks.json").string();
    // {"keys":[A]} + {"keys":[B]} → {"keys":[A,B]}
    std::string a = rs256.jwks();
    const std::string b = es256.jwks();
    a.erase(a.rfind(']'));
    a += ',';
    a += b.substr(b.find('[') + 1);
    std::ofstream{jwks_file} << a;
  }
  ~Issuer() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  Issuer(const Issuer&) = delete;
  Issuer& operator=(const Issuer&) = delete;

  // A token of a realistic size (scopes, roles and an actor, as identity_bench's), for the
  // Target contract, granting scope x.
  [[nodiscard]] std::string token(const DevSigner& signer) const {
    return signer.access_token(kIssuer, "bench.v1.Target", "orders-service", "x inventory.read inventory.reserve",
                               std::chrono::hours{1}, R"({"roles":["service"],"act":{"sub":"gateway"}})");
  }
  [[nodiscard]] std::string audit_path() const { return (dir / "audit.jsonl").string(); }
};

Issuer& issuer() {
  static Issuer one;
  return one;
}

enum class Caller : std::uint8_t { anonymous, service_identity, bearer_cached, bearer_rs256_uncached, bearer_es256_uncached };

struct Rig {
  explicit Rig(Caller caller) : caller_(caller), host(options(caller)) {
    host.serve<Target, TargetService>();
    host.serve<Driver, DriverService>(&target);
    auto channel = std::make_shared<pit::detail::InprocChannel>(host.*state_member(), pit::detail::declaration_of<Target>::info());
    switch (caller) {
      case Caller::anonymous:
      case Caller::service_identity:
        target = std::make_shared<TargetProxy>(channel);
        break;
      case Caller::bearer_cached:
      case Caller::bearer_rs256_uncached:
        target = std::make_shared<TargetProxy>(std::make_shared<BearerChannel>(channel, issuer().token(issuer().rs256)));
        break;
      case Caller::bearer_es256_uncached:
        target = std::make_shared<TargetProxy>(std::make_shared<BearerChannel>(channel, issuer().token(issuer().es256)));
        break;
    }
    driver = host.client<Driver>();
    host.start();
  }
  ~Rig() {
    host.stop();
    std::error_code ignored;
    std::filesystem::remove(issuer().audit_path(), ignored);  // the next rig starts an empty file
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  static pit::HostOptions options(Caller caller) {
    pit::HostOptions o;
    o.log_sink = pit::log::discard_sink();
    o.log_calls = false;  // the per-call line is the same in every variant; left out to lower the noise
    o.audit.path = issuer().audit_path();  // the default sink: a JSON-lines file
    o.auth.issuer = Issuer::kIssuer;
    o.auth.jwks_file = issuer().jwks_file;
    if (caller == Caller::bearer_rs256_uncached || caller == Caller::bearer_es256_uncached) o.auth.token_cache = 0;
    return o;
  }

  // Runs the loop as the variant's caller: the service identity through a CallerScope.
  Looped run(std::int64_t calls) {
    Loop req{calls, caller_ != Caller::anonymous};
    if (caller_ == Caller::service_identity) {
      pit::CallerScope as_job{{.identity = pit::service_identity("bench-job", {"x"})}};
      return pit::block_on(driver->loop(std::move(req)));
    }
    return pit::block_on(driver->loop(std::move(req)));
  }

  Caller caller_;
  std::shared_ptr<TargetProxy> target;
  pit::Host host;
  pit::Ref<Driver> driver;
};

constexpr std::int64_t kBatch = 1000;

void per_call(benchmark::State& state, Caller caller) {
  Rig rig{caller};
  double thread_cpu = 0;
  double process_cpu = 0;
  while (state.KeepRunningBatch(kBatch)) {
    Looped done;
    try {
      done = rig.run(kBatch);
    } catch (const pit::Fault& fault) {
      // E.g. unavailable "the audit log cannot keep up": the file sink's fdatasync fell
      // more than audit.max_wait_ms behind a million records a second (a busy disk).
      static std::string why;
      why = "a call failed: " + fault.message() + " (" + fault.cause() + ")";
      state.SkipWithError(why.c_str());
      break;
    }
    if (done.calls != kBatch || done.checksum != kBatch * (kBatch - 1) / 2) {
      static std::string why;
      why = "the loop did not make every call: " + done.failed;
      state.SkipWithError(why.c_str());
      break;
    }
    state.SetIterationTime(static_cast<double>(done.elapsed_ns) * 1e-9);
    thread_cpu += static_cast<double>(done.thread_cpu_ns);
    process_cpu += static_cast<double>(done.process_cpu_ns);
  }
  // ns per call (the iterations are calls).
  state.counters["io_cpu_ns"] = benchmark::Counter(thread_cpu, benchmark::Counter::kAvgIterations);
  state.counters["proc_cpu_ns"] = benchmark::Counter(process_cpu, benchmark::Counter::kAvgIterations);
}

// Before measuring: each variant's calls really take the path it is named after, as the
// audit records show (a benchmark of calls that were refused, or never authenticated,
// proves nothing).
bool paths_as_named() {
  struct Expect {
    Caller caller;
    const char* name;
    const char* needle;
  };
  const Expect expected[] = {
      {Caller::anonymous, "anonymous", R"("reason":"anonymous_operation")"},
      {Caller::service_identity, "service_identity", R"("auth":"service")"},
      {Caller::bearer_cached, "bearer_cached", R"("auth":"bearer")"},
      {Caller::bearer_rs256_uncached, "bearer_rs256_uncached", R"("auth":"bearer")"},
      {Caller::bearer_es256_uncached, "bearer_es256_uncached", R"("auth":"bearer")"},
  };
  for (const auto& e : expected) {
    std::string text;
    {
      Rig rig{e.caller};
      (void)rig.run(3);
      rig.host.stop();  // writes every queued record
      std::ifstream in{issuer().audit_path()};
      std::stringstream all;
      all << in.rdbuf();
      text = all.str();
    }
    int matching = 0;
    std::istringstream lines{text};
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find(R"("operation":"ping)") == std::string::npos) continue;
      if (line.find(R"("decision":"allow")") != std::string::npos && line.find(e.needle) != std::string::npos) ++matching;
    }
    if (matching != 3) {
      std::fprintf(stderr, "access_bench: %s: %d of 3 calls audited as expected (%s)\n%s", e.name, matching, e.needle,
                   text.c_str());
      return false;
    }
  }
  return true;
}

// Fixed counts (multiples of kBatch), so that every repetition makes the same number of
// calls: about half a second each on an idle machine.
constexpr std::int64_t kFast = 200 * kBatch;
constexpr std::int64_t kVerified = 10 * kBatch;
BENCHMARK_CAPTURE(per_call, anonymous, Caller::anonymous)->UseManualTime()->Iterations(kFast);
BENCHMARK_CAPTURE(per_call, service_identity, Caller::service_identity)->UseManualTime()->Iterations(kFast);
BENCHMARK_CAPTURE(per_call, bearer_cached, Caller::bearer_cached)->UseManualTime()->Iterations(kFast);
BENCHMARK_CAPTURE(per_call, bearer_rs256_uncached, Caller::bearer_rs256_uncached)->UseManualTime()->Iterations(kVerified);
BENCHMARK_CAPTURE(per_call, bearer_es256_uncached, Caller::bearer_es256_uncached)->UseManualTime()->Iterations(kVerified);

}  // namespace bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!bench::paths_as_named()) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
