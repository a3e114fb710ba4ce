// audit_bench — what AuditLog::record() costs the calling thread: formatting one decision
// as a JSON line (a principal with an actor, every field) and queueing it for the writer.
//
//  * record/discard: a user sink that drops the lines: the call path's cost alone, with the
//    writer thread taking batches concurrently (the lock they share included).
//  * record/devnull: the default file sink on /dev/null: the same, with the writer doing
//    write(2) per batch (fdatasync is refused by /dev/null and skipped).
// The goal: authorization + audit record within 3 µs per call; record() aims at < 1 µs.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "identity/audit_log.hpp"
#include "pit/identity.hpp"

namespace {

class Discard final : public pit::AuditSink {
 public:
  bool write(const std::vector<std::string>& lines) override {
    benchmark::DoNotOptimize(lines.data());
    return true;
  }
};

const pit::Principal& principal() {
  static const pit::Principal who = [] {
    pit::Principal p;
    p.issuer = "https://idp.example.com/realms/shop";
    p.subject = "3f1c2a9e-7d4b-4c1e-9a6f-0b2d8e5c7a41";
    p.client_id = "gateway";
    p.method = pit::AuthMethod::bearer;
    p.token_id = "b7e4c1d2-9f3a-4e8b-a6c5-1d2e3f4a5b6c";
    p.token_hash = "9f86d081884c7d659a2feaa0c55ad015";
    p.actors = {{"https://idp.example.com/realms/shop", "orders", "orders-svc"}};
    return p;
  }();
  return who;
}

pit::AuditRecord decision() {
  pit::AuditRecord r;
  r.time = std::chrono::system_clock::now();
  r.allowed = true;
  r.reason = "allowed";
  r.contract = "shop.v1.Orders";
  r.operation = "place";
  r.rule = "scope:orders.write | role:admin";
  r.principal = &principal();
  r.correlation_id = "0b8e4f3c2d1a4e5f";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  return r;
}

pit::detail::AuditLog& shared_log(bool file) {
  static pit::detail::AuditLog* discard = [] {
    pit::AuditOptions o;
    o.sink = std::make_shared<Discard>();
    o.queue = 1 << 16;
    return new pit::detail::AuditLog(o);  // lives to the process's end: threads share it
  }();
  static pit::detail::AuditLog* devnull = [] {
    pit::AuditOptions o;
    o.path = "/dev/null";
    o.queue = 1 << 16;
    return new pit::detail::AuditLog(o);
  }();
  return file ? *devnull : *discard;
}

// Batches of kBatch records, timed, then a flush, not timed: the queue always has room, so
// the figure is the caller's cost (formatting, the lock shared with the writer), not the
// writer's throughput, which would make record() wait. Per record: CPU / 1000 (items/s is
// per CPU second; on a loaded machine the wall time also counts the writer thread's turns).
constexpr int kBatch = 1000;

void record(benchmark::State& state, bool file) {
  auto& log = shared_log(file);
  const pit::AuditRecord r = decision();
  std::int64_t refused = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      if (!log.record(r)) ++refused;
    }
    state.PauseTiming();
    (void)log.flush(pit::detail::AuditLog::Clock::now() + std::chrono::seconds(10));
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["refused"] = static_cast<double>(refused);
}

void BM_record_discard(benchmark::State& state) { record(state, false); }
void BM_record_devnull(benchmark::State& state) { record(state, true); }
BENCHMARK(BM_record_discard);
BENCHMARK(BM_record_devnull);

}  // namespace

BENCHMARK_MAIN();
