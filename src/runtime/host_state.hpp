// What a host owns. Shared with its in-process channels, so a proxy that outlives the
// host answers `unavailable` instead of touching freed memory.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "call/call_history.hpp"
#include "dispatch/dispatch.hpp"
#include "durability/store.hpp"
#include "executors/executors.hpp"
#include "executors/stall_watch.hpp"
#include "identity/audit_log.hpp"
#include "identity/authenticator.hpp"
#include "identity/token_client.hpp"
#include "runtime/readiness.hpp"
#include "settings/operation_settings.hpp"
#include "observability/metrics.hpp"
#include "observability/tracer.hpp"
#include "pipeline/pipeline.hpp"
#include "pipeline/policies/admission.hpp"
#include "pipeline/policies/fault_injection.hpp"
#include "pit/host.hpp"

namespace pit::detail {
class HttpServer;
class HttpSend;
class ConnectionPools;
class RemoteClients;
class OtlpExporter;
}  // namespace pit::detail

namespace pit {

struct Host::State {
  struct Service {
    const ContractInfo* contract;
    std::shared_ptr<void> owner;
    void* implementation;
    std::vector<detail::OperationSettings> settings;  // by operation index
  };

  HostOptions options;
  std::vector<std::unique_ptr<Policy>> user_policies;
  std::vector<detail::ExceptionMapper> mappers;
  std::vector<Service> services;

  std::unique_ptr<detail::WorkerPool> workers;
  std::unique_ptr<detail::Dispatcher> dispatcher;
  std::unique_ptr<detail::HttpSend> http_send;
  // Identity: the verifier of callers' tokens (null without auth.issuer) and this service's
  // client at the issuer (null without auth.token_url). Declared before the pipelines,
  // whose policies use them (the outbound one waits for its token fetches when destroyed),
  // so they outlive them.
  std::unique_ptr<detail::Authenticator> authenticator;
  std::unique_ptr<detail::identity::TokenClient> token_client;
  // Spans of sampled calls (null: tracing.endpoint not set), and the exporter that sends
  // them. Declared before the pipelines, whose tracing policies record into it.
  std::unique_ptr<detail::Tracer> tracer;
  std::unique_ptr<detail::OtlpExporter> exporter;
  // The store of deduplicated operations (null when no served operation is deduplicated);
  // before the pipeline, whose deduplication policy uses it. Closed at stop, once the I/O
  // threads are stopped (nothing can wait for it any more).
  std::unique_ptr<detail::durability::Store> dedup_store;
  std::unique_ptr<Pipeline> pipeline;  // inbound: every call served here
  std::unique_ptr<Pipeline> outbound;  // every call this host makes to another process
  std::unique_ptr<detail::HttpServer> http_server;
  std::vector<std::unique_ptr<detail::IoThread>> io_threads;
  std::unique_ptr<detail::StallWatch> stall_watch;  // watches io_threads while they run

  detail::MetricsRegistry metrics;
  // One record per authorization decision (made at start, from options.audit; declared
  // after `metrics`, whose counters it writes, so it is destroyed first).
  std::unique_ptr<detail::AuditLog> audit;
  std::unique_ptr<detail::Limiters> limiters;  // admission control, made with the options
  // The served operations' recent and slowest calls (null when admin.recent_calls is 0).
  std::unique_ptr<detail::CallHistories> histories;
  std::unique_ptr<detail::HttpServer> admin_server;
  // What /readyz asks about the service's dependencies (Host::readiness_check).
  std::shared_ptr<detail::Readiness> readiness = std::make_shared<detail::Readiness>();
  // Outbound HTTP: the connection pools, one per endpoint whichever proxy calls it (stop()
  // closes their idle connections), and the remote clients, one per downstream contract
  // and endpoint list (balancing, retry budget, calls in flight). Made with the host.
  std::shared_ptr<detail::ConnectionPools> connection_pools;
  std::shared_ptr<detail::RemoteClients> remote_clients;

  // What the admin listener's diagnostics pages (docs/diagnostics.md) show of the host
  // itself, set at start before the listeners open, unchanged afterwards.
  struct Diagnostics {
    Clock::time_point started{};
    std::chrono::system_clock::time_point started_wall{};
    std::string config_json;  // the effective configuration, secrets redacted
    std::string config_hash;
  } diagnostics;

  // The conformance kit's drills (pit::testing), made when a kit attaches to the host
  // before start: the inbound pipeline then has the fault_injection policy, which reads
  // them. Null otherwise (no kit, no cost).
  std::unique_ptr<detail::DrillBoard> drills;
  // What else the kit keeps on the host it attached to (its log tap), opaque here.
  std::shared_ptr<void> testing_kit;

  std::mutex lifecycle;
  // The first error of the host's setup (invalid options, a service that could not be
  // made, ...), kept for start() to throw: setting up never throws before the start.
  std::exception_ptr setup_error;
  bool started = false;
  std::atomic<bool> running{false};
  std::atomic<bool> draining{false};  // stopping: /readyz says 503, no new requests
  std::atomic<std::size_t> next_io{0};
  std::atomic<std::int64_t> in_flight{0};
  // Sync calls still running when stop() gave up on them: their workers were abandoned,
  // and this state must outlive them (the host leaks it rather than destroy it under them).
  std::size_t abandoned = 0;

  [[nodiscard]] void* implementation_of(const ContractInfo& contract) const noexcept {
    for (const auto& s : services) {
      if (s.contract == &contract) return s.implementation;
    }
    return nullptr;
  }
  [[nodiscard]] bool owns(const detail::IoThread& thread) const noexcept {
    for (const auto& t : io_threads) {
      if (t.get() == &thread) return true;
    }
    return false;
  }
  // Nested calls stay on the caller's I/O thread; calls from elsewhere are spread.
  detail::IoThread& home_for_new_call() noexcept {
    if (auto* here = detail::IoThread::current(); here != nullptr && owns(*here)) return *here;
    return *io_threads[next_io.fetch_add(1, std::memory_order_relaxed) % io_threads.size()];
  }
};

}  // namespace pit
