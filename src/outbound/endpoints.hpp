// The endpoints of one downstream service, their health, and which one an attempt goes to.
//
// Balancing (p2c): two distinct endpoints at random, the one with the lower score wins;
// score = (in_flight + 1) * latency estimate (peak EWMA, Finagle's PeakEwma) + a penalty for
// recent failures, so that an endpoint that fails fast (and so has few calls in flight and a
// low latency) does not attract the traffic it fails. round_robin: in turn.
//
// Outlier ejection (Envoy's consecutive failures): outlier.consecutive_failures connect
// failures or `unavailable` answers in a row eject an endpoint for
// base_ejection * (ejections in a row), at most max_ejection. At most max_ejected_percent
// (rounded down) of the set is ejected at once, and never the last endpoint that is not.
// There is no circuit breaker that fails every call: when every endpoint is ejected,
// pick() still returns one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "outbound/url.hpp"
#include "pit/host.hpp"

namespace pit::outbound {

using time_point = std::chrono::steady_clock::time_point;

// How an attempt on an endpoint ended, as far as the endpoint's health is concerned.
enum class Result : std::uint8_t {
  success,
  connect_failure,  // refused, unreachable, reset before the request was written, TLS failed
  unavailable,      // the endpoint answered `unavailable` (overloaded, draining)
  other_fault,      // any other answer: the endpoint is up; neutral to its health
  // The caller stopped waiting (a hedge lost, the call ended): the time it had taken is
  // a lower bound of the endpoint's latency, never a sample that makes it look faster.
  abandoned,
  // A hedge answered first while this attempt was still out: it made its caller wait at
  // least the hedge delay. Held like `abandoned`, plus a failure's penalty (no ejection):
  // the held age is only a lower bound, and a fast replica's own peak estimate after one
  // hiccup could otherwise score worse than it (bench/resilience: p99 at the hedge delay).
  lost_race,
};

class Endpoint {
 public:
  explicit Endpoint(Url url);
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  [[nodiscard]] const Url& url() const noexcept { return url_; }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  [[nodiscard]] std::size_t consecutive_failures() const noexcept {
    return consecutive_failures_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] bool ejected(time_point now) const noexcept { return now < ejected_until(); }
  [[nodiscard]] time_point ejected_until() const noexcept;
  // Ejections since the endpoint joined the set (a counter for metrics).
  [[nodiscard]] std::size_t times_ejected() const noexcept { return ejections_.load(std::memory_order_relaxed); }
  // The peak-EWMA latency estimate at `now`, in microseconds (0: never measured).
  [[nodiscard]] double latency_us(time_point now) const;
  // The decayed count of recent failures.
  [[nodiscard]] double failure_penalty(time_point now) const;
  // What p2c compares (lower wins).
  [[nodiscard]] double score(time_point now) const;

  // How fast the latency estimate forgets, and how fast the failure penalty decays
  // (both e^(-elapsed/tau)).
  static constexpr std::chrono::seconds kLatencyDecay{10};
  static constexpr std::chrono::seconds kPenaltyDecay{2};
  // A recent failure weighs as much in the score as a call in flight that takes this long.
  static constexpr double kFailureCostUs = 1'000'000.0;

 private:
  friend class EndpointSet;
  void observe_latency(double us, bool peak_only, time_point now);
  // An abandoned attempt: at least `us`, and the endpoint's slowness is still current.
  void hold_latency(double us, time_point now);
  void add_failure(time_point now);

  const Url url_;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> consecutive_failures_{0};
  std::atomic<std::int64_t> ejected_until_{0};  // steady_clock ticks since its epoch
  std::atomic<std::size_t> ejections_{0};
  std::atomic<std::size_t> ejection_streak_{0};  // ejections without a success between them
  // The latency estimate and the penalty change together with the time they were last
  // decayed: one small lock per endpoint instead of several atomics that could tear.
  mutable std::mutex decay_mutex_;
  double latency_us_ = 0;
  time_point latency_stamp_{};
  double penalty_ = 0;
  time_point penalty_stamp_{};
};

// What /metrics and diagnostics show of one endpoint.
struct EndpointState {
  std::string url;   // Url::base
  std::string key;   // host:port
  std::size_t in_flight = 0;
  bool ejected = false;
  std::size_t ejections = 0;
  double latency_ms = 0;
  double score = 0;
};

class EndpointSet {
 public:
  // A uniform 64-bit random number; must be callable from any thread. Empty: a per-thread
  // generator.
  using Random = std::function<std::uint64_t()>;

  // contract: the downstream's name, for the log lines of ejections.
  EndpointSet(Balancer balancer, OutlierOptions outlier, Random random = {}, std::string contract = {});
  EndpointSet(const EndpointSet&) = delete;
  EndpointSet& operator=(const EndpointSet&) = delete;

  // The endpoint for the next attempt, or null when the set is empty. Preference, first
  // tier that is not empty: not ejected and not in `tried`; not ejected; ejected and not
  // in `tried`; any. Within the tier: p2c or round robin.
  [[nodiscard]] std::shared_ptr<Endpoint> pick(time_point now, std::span<const Endpoint* const> tried = {});

  // Around each attempt: started() before it is sent, finished() exactly once after.
  void started(Endpoint& endpoint) noexcept;
  void finished(Endpoint& endpoint, Result result, std::chrono::steady_clock::duration latency, time_point now);

  // The set becomes `urls` (deduplicated by host:port); endpoints that stay keep their
  // state (load, latency, ejection). Attempts on removed endpoints may still finish.
  void replace(const std::vector<Url>& urls);

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] bool empty() const { return size() == 0; }
  [[nodiscard]] std::vector<std::shared_ptr<Endpoint>> endpoints() const;
  [[nodiscard]] std::vector<EndpointState> snapshot(time_point now) const;
  [[nodiscard]] const OutlierOptions& outlier() const noexcept { return outlier_; }

 private:
  using List = std::vector<std::shared_ptr<Endpoint>>;
  [[nodiscard]] std::shared_ptr<const List> current() const;
  std::uint64_t next_random();
  void maybe_eject(Endpoint& endpoint, time_point now);

  const Balancer balancer_;
  const OutlierOptions outlier_;
  Random random_;
  const std::string contract_;
  std::atomic<std::uint64_t> round_robin_{0};
  mutable std::mutex mutex_;  // guards list_ (the pointer) and ejection decisions
  std::shared_ptr<const List> list_;
};

}  // namespace pit::outbound
