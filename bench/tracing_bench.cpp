// tracing_bench — what trace export adds to one in-process call, in one run: the same no-op
// called with export off (no endpoint), with export on and every call sampled (spans
// exported to a loopback OTLP sink that this program runs), with export on and no call
// sampled (ratio 0: the sampling decision only), and with export on to an endpoint where
// nothing listens (every span dropped after failed exports). bench/README.md ("Tracing")
// quotes the figures; bench/tracing/run.sh measures the HTTP side.
//
// Like call_path_bench's in_runtime figures: a coroutine operation (Driver::loop) awaits the
// no-op 1000 times on the I/O thread and times the loop, so no thread hop is measured.
// Besides wall time, the loop reads the I/O thread's CPU time (the call path's own work) and
// the process's (that plus the exporter's thread: formatting and sending the spans), and the
// sink counts the spans that arrived, per call made.
//
// Note for GCC 12: requests are named before they are moved into a call awaited with
// co_await (a braced temporary inside a co_await expression is miscompiled).
#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <boost/describe.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "observability/tracer.hpp"
#include "pit/pit.hpp"
#include "transport/http/otlp_json.hpp"

namespace bench {

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
};
BOOST_DESCRIBE_STRUCT(Loop, (), (calls))

struct Looped {
  std::int64_t calls = 0;
  std::int64_t checksum = 0;
  std::int64_t elapsed_ns = 0;
  std::int64_t thread_cpu_ns = 0;   // the I/O thread running the loop: the call path
  std::int64_t process_cpu_ns = 0;  // every thread: the call path and the exporter
};
BOOST_DESCRIBE_STRUCT(Looped, (), (calls, checksum, elapsed_ns, thread_cpu_ns, process_cpu_ns))

class Target {
 public:
  virtual ~Target() = default;
 protected:
  virtual pit::Task<Pong> ping(Ping) = 0;
};
PIT_CONTRACT(Target, "bench.v1.Target", (ping, pit::OpSpec{}.anonymous("bench")));

class Driver {
 public:
  virtual ~Driver() = default;
 protected:
  virtual pit::Task<Looped> loop(Loop) = 0;
};
PIT_CONTRACT(Driver, "bench.v1.Driver", (loop, pit::OpSpec{}.anonymous("bench")));

class TargetService final : public Target {
 public:
  pit::Task<Pong> ping(Ping p) override { co_return Pong{p.seq}; }
};

std::int64_t cpu_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class DriverService final : public Driver {
 public:
  explicit DriverService(pit::Ref<Target> target) : target_(std::move(target)) {}

 private:
  pit::Task<Looped> loop(Loop req) override {
    std::int64_t checksum = 0;
    const std::int64_t thread0 = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
    const std::int64_t process0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t i = 0; i < req.calls; ++i) {
      Ping ping{i};
      Pong pong = co_await target_->ping(std::move(ping));
      checksum += pong.seq;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    Looped done{req.calls, checksum, std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count(),
                cpu_ns(CLOCK_THREAD_CPUTIME_ID) - thread0, cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - process0};
    co_return done;
  }

  pit::Ref<Target> target_;
};

// A loopback OTLP/HTTP sink: answers every request 200 "{}" on a kept-alive connection and
// counts the spans in the bodies (occurrences of the key "spanId"; "parentSpanId" is another
// key). One thread, one connection at a time: the exporter keeps one.
class OtlpSink {
 public:
  OtlpSink() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 16) != 0 || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::perror("tracing_bench: the OTLP sink cannot listen");
      std::exit(1);
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~OtlpSink() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    thread_.join();
    ::close(listener_);
  }
  OtlpSink(const OtlpSink&) = delete;
  OtlpSink& operator=(const OtlpSink&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }
  [[nodiscard]] std::uint64_t spans() const { return spans_.load(); }

 private:
  void serve() {
    while (!stopping_) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      serve_connection(fd);
      ::close(fd);
    }
  }

  void serve_connection(int fd) {
    std::string in;
    char buf[65536];
    for (;;) {
      const std::size_t head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const std::size_t body_at = head_end + 4;
        const std::size_t length = content_length(std::string_view(in).substr(0, head_end));
        if (in.size() >= body_at + length) {
          count_spans(std::string_view(in).substr(body_at, length));
          in.erase(0, body_at + length);
          static constexpr std::string_view kOk =
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
          if (::send(fd, kOk.data(), kOk.size(), MSG_NOSIGNAL) < 0) return;
          continue;
        }
      }
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
    }
  }

  static std::size_t content_length(std::string_view head) {
    for (std::string_view name : {"Content-Length:", "content-length:"}) {
      const std::size_t at = head.find(name);
      if (at != std::string_view::npos) return std::strtoull(head.data() + at + name.size(), nullptr, 10);
    }
    return 0;
  }

  void count_spans(std::string_view body) {
    std::uint64_t n = 0;
    for (std::size_t at = body.find("\"spanId\""); at != std::string_view::npos; at = body.find("\"spanId\"", at + 1)) ++n;
    spans_ += n;
  }

  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> spans_{0};
  std::thread thread_;
};

// A loopback port where nothing listens (bound, then closed).
std::string dead_url() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/v1/traces";
}

struct DiscardAudit final : pit::AuditSink {
  bool write(const std::vector<std::string>&) override { return true; }
};

enum class Export : std::uint8_t { off, sampled, unsampled, receiver_down };

struct Rig {
  Rig(Export mode, const std::string& endpoint) : host(options(mode, endpoint)) {
    host.serve<Target, TargetService>();
    host.serve<Driver, DriverService>(host.client<Target>());
    driver = host.client<Driver>();
    host.start();
  }
  ~Rig() { host.stop(); }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  static pit::HostOptions options(Export mode, const std::string& endpoint) {
    pit::HostOptions o;
    o.log_sink = pit::log::discard_sink();
    // Every call writes an audit record; at these rates a file sink falls behind and the
    // audit log refuses calls (unavailable). Only tracing differs between the variants.
    o.audit.sink = std::make_shared<DiscardAudit>();
    o.log_calls = false;  // the per-call log line is call_path_bench's; here only tracing differs
    if (mode != Export::off) o.tracing.endpoint = endpoint;
    o.tracing.sample_ratio = mode == Export::unsampled ? 0.0 : 1.0;
    o.tracing.export_interval = std::chrono::milliseconds(200);
    return o;
  }

  pit::Host host;
  pit::Ref<Driver> driver;
};

constexpr std::int64_t kBatch = 1000;

void in_runtime(benchmark::State& state, Export mode) {
  std::unique_ptr<OtlpSink> sink;
  std::string endpoint;
  if (mode == Export::sampled || mode == Export::unsampled) {
    sink = std::make_unique<OtlpSink>();
    endpoint = sink->url();
  } else if (mode == Export::receiver_down) {
    endpoint = dead_url();
  }
  std::int64_t calls = 0;
  double thread_cpu = 0;
  double process_cpu = 0;
  {
    Rig rig{mode, endpoint};
    while (state.KeepRunningBatch(kBatch)) {
      Loop req{kBatch};
      Looped done;
      try {
        done = pit::block_on(rig.driver->loop(std::move(req)));
      } catch (const pit::Fault& fault) {
        // A call that failed (e.g. unavailable: an audit sink that fell behind) is
        // reported, not hidden, and the other benchmarks still run.
        state.SkipWithError(("the loop failed: " + std::string(fault.what())).c_str());
        break;
      }
      if (done.calls != kBatch || done.checksum != kBatch * (kBatch - 1) / 2) {
        state.SkipWithError("the loop did not make every call");
        break;
      }
      calls += done.calls;
      thread_cpu += static_cast<double>(done.thread_cpu_ns);
      process_cpu += static_cast<double>(done.process_cpu_ns);
      state.SetIterationTime(static_cast<double>(done.elapsed_ns) * 1e-9);
    }
  }  // the host stopped: what was queued is flushed to the sink
  if (calls > 0) {
    state.counters["thread_cpu_ns"] = thread_cpu / static_cast<double>(calls);
    state.counters["process_cpu_ns"] = process_cpu / static_cast<double>(calls);
    if (sink) state.counters["spans_per_call"] = static_cast<double>(sink->spans()) / static_cast<double>(calls);
  }
}

// Before measuring: export on really sends spans (at least one per call: the ping's), and
// ratio 0 none; a benchmark of an exporter that silently sent nothing proves nothing.
bool spans_as_configured() {
  for (Export mode : {Export::sampled, Export::unsampled}) {
    OtlpSink sink;
    {
      Rig rig{mode, sink.url()};
      Loop req{10};
      (void)pit::block_on(rig.driver->loop(std::move(req)));
    }
    const bool ok = mode == Export::sampled ? sink.spans() >= 10 : sink.spans() == 0;
    if (!ok) {
      std::fprintf(stderr, "tracing_bench: export %s: %llu spans arrived for 10 calls\n",
                   mode == Export::sampled ? "sampled" : "unsampled", static_cast<unsigned long long>(sink.spans()));
      return false;
    }
  }
  return true;
}

// The exporter thread's formatting alone: one request of 512 spans as the shop makes them
// (a server span; a client call's span and its attempt's with the peer), per span.
void format_span(benchmark::State& state) {
  std::vector<pit::detail::SpanRecord> spans(512);
  const auto now = pit::Clock::now();
  for (std::size_t i = 0; i < spans.size(); ++i) {
    auto& s = spans[i];
    std::snprintf(s.trace_id.data(), s.trace_id.size(), "%031zx", i);
    s.trace_id.back() = '1';
    std::memcpy(s.span_id.data(), "00f067aa0ba902b7", 16);
    std::memcpy(s.parent_span_id.data(), "53995c3f42cd8ad8", 16);
    s.has_parent = i % 3 != 0;
    s.kind = i % 3 == 0 ? pit::detail::SpanKind::server : pit::detail::SpanKind::client;
    s.contract = "shop.v1.Orders";
    s.operation = "place";
    s.start = now;
    s.end = now + std::chrono::microseconds(250);
    if (i % 3 == 2) {
      s.attempt = 1;
      s.attempt_kind = "first";
      s.peer_host = "127.0.0.1";
      s.peer_port = 18502;
    }
  }
  const pit::detail::ResourceAttributes resource{{"service.name", "orders"}, {"service.instance.id", "host:4242"}};
  std::string out;
  for (auto _ : state) {
    out.clear();
    pit::detail::append_otlp_json(out, resource, spans, std::chrono::nanoseconds(1'700'000'000'000'000'000));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(spans.size()));
  state.counters["bytes_per_span"] = static_cast<double>(out.size()) / static_cast<double>(spans.size());
}

void register_all() {
  using benchmark::RegisterBenchmark;
  RegisterBenchmark("tracing/format_span_x512", format_span);
  RegisterBenchmark("tracing/in_runtime/export_off", in_runtime, Export::off)->UseManualTime();
  RegisterBenchmark("tracing/in_runtime/export_on/sampled", in_runtime, Export::sampled)->UseManualTime();
  RegisterBenchmark("tracing/in_runtime/export_on/unsampled", in_runtime, Export::unsampled)->UseManualTime();
  RegisterBenchmark("tracing/in_runtime/export_on/receiver_down", in_runtime, Export::receiver_down)->UseManualTime();
}

}  // namespace bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (!bench::spans_as_configured()) return 1;
  bench::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
