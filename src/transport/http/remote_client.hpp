// One downstream contract as this host calls it over HTTP: its endpoints (balanced, with
// outlier ejection), its retry budget and backoff, its bound on calls in flight, and the
// numbers of its attempts. Shared by every proxy of the contract with the same endpoints;
// the attempt loop (client.cpp) reads it for each call.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "observability/metrics.hpp"
#include "outbound/backoff.hpp"
#include "outbound/client_options.hpp"
#include "outbound/dns.hpp"
#include "outbound/endpoints.hpp"
#include "outbound/retry_budget.hpp"
#include "pit/contract.hpp"
#include "pit/host.hpp"
#include "transport/http/attempt.hpp"
#include "transport/http/connection_pool.hpp"

namespace pit::detail {

// Why a retry (or requeue, or hedge) was not made.
enum class Suppressed : std::uint8_t { budget, deadline, not_idempotent, not_retryable };
inline constexpr std::size_t kSuppressedReasons = 4;

// The recent latencies of one operation's successful calls, for hedging at the observed
// p95: the last kSamples, the p95 recomputed every kEvery samples.
class LatencyWindow {
 public:
  void add(std::chrono::microseconds latency);
  [[nodiscard]] std::chrono::microseconds p95() const noexcept {
    return std::chrono::microseconds(p95_us_.load(std::memory_order_relaxed));
  }

 private:
  static constexpr std::size_t kSamples = 256;
  static constexpr std::size_t kEvery = 32;
  std::mutex mutex_;
  std::array<std::int64_t, kSamples> samples_{};
  std::size_t count_ = 0;
  std::atomic<std::int64_t> p95_us_{0};
};

// What one operation's calls to this client run with, and their attempt numbers.
struct ClientOperation {
  const OperationInfo* info = nullptr;
  outbound::OperationRetry retry;
  LatencyWindow latency;
  std::array<std::array<std::atomic<std::uint64_t>, code_count>, kAttemptKinds> attempts{};
  std::array<std::atomic<std::uint64_t>, kSuppressedReasons> suppressed{};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> duration{};
  std::atomic<std::uint64_t> duration_sum_ns{0};

  void count_attempt(AttemptKind kind, Code code, std::chrono::nanoseconds took) noexcept;
  void count_suppressed(Suppressed why) noexcept {
    suppressed[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  }
};

class RemoteClient {
 public:
  // `urls`: the endpoints (options.endpoints when set, else the URLs given in code), or
  // none when options.dns names them. Throws std::invalid_argument for bad options.
  RemoteClient(const ContractInfo& contract, ClientOptions options, std::vector<std::string> urls,
               std::shared_ptr<ConnectionPools> pools);
  ~RemoteClient();
  RemoteClient(const RemoteClient&) = delete;
  RemoteClient& operator=(const RemoteClient&) = delete;

  [[nodiscard]] const ContractInfo& contract() const noexcept { return *contract_; }
  [[nodiscard]] const ClientOptions& options() const noexcept { return options_; }
  [[nodiscard]] ClientOperation& operation(std::size_t index) noexcept { return operations_[index]; }
  outbound::EndpointSet& endpoints() noexcept { return *endpoints_; }
  outbound::RetryBudget& budget() noexcept { return budget_; }
  [[nodiscard]] const outbound::Backoff& backoff() const noexcept { return backoff_; }
  // The pool of an endpoint of the set (made on first use, shared host-wide).
  std::shared_ptr<EndpointPool> pool(const outbound::Endpoint& endpoint);
  // The idle connections of an endpoint's pool; 0 when it has none yet (none is made).
  [[nodiscard]] std::size_t idle_connections(const outbound::Endpoint& endpoint);
  // Calls in flight to this client (what max_in_flight bounds).
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

  // The per-client bound on calls in flight: false (nothing taken) past options.max_in_flight.
  bool try_enter() noexcept;
  void leave() noexcept { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  // DNS: resolving starts with the host (its I/O thread as the executor) and stops with it.
  void start(boost::asio::any_io_executor executor);
  void stop();
  // After a connect failure: the DNS name is resolved again soon (nothing without DNS).
  void connect_failed();

  // Appends this client's samples of each family (the caller writes HELP/TYPE once).
  enum class Family : std::uint8_t { attempts, suppressed, endpoint_in_flight, ejections, budget, duration };
  void render(Family family, std::string& out) const;

 private:
  const ContractInfo* contract_;
  ClientOptions options_;
  std::shared_ptr<ConnectionPools> pools_;
  std::shared_ptr<outbound::EndpointSet> endpoints_;
  outbound::RetryBudget budget_;
  outbound::Backoff backoff_;
  std::unique_ptr<ClientOperation[]> operations_;
  std::atomic<std::size_t> in_flight_{0};
  std::mutex pools_mutex_;
  std::unordered_map<std::string, std::shared_ptr<EndpointPool>> endpoint_pools_;
  std::mutex dns_mutex_;
  std::shared_ptr<outbound::DnsWatcher> dns_;
};

// The host's remote clients, one per contract and endpoint list, and their /metrics section.
class RemoteClients {
 public:
  explicit RemoteClients(std::shared_ptr<ConnectionPools> pools) : pools_(std::move(pools)) {}
  // The client of `contract` at `urls` (made on first use). Throws std::invalid_argument.
  std::shared_ptr<RemoteClient> get(const ContractInfo& contract, const ClientOptions& options,
                                    std::vector<std::string> urls);
  void start(const std::function<boost::asio::any_io_executor()>& executor);
  void stop();
  void render(std::string& out) const;
  // Every client made so far (the diagnostics page of clients).
  [[nodiscard]] std::vector<std::shared_ptr<RemoteClient>> all() const;

 private:
  std::shared_ptr<ConnectionPools> pools_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<RemoteClient>> clients_;
  std::function<boost::asio::any_io_executor()> executor_;  // set while the host runs
};

}  // namespace pit::detail
