#include "outbound/endpoints.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <unordered_set>
#include <utility>

#include "pit/log.hpp"

namespace pit::outbound {

namespace {

using Duration = std::chrono::steady_clock::duration;

double seconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// e^(-elapsed/tau); 1 when time has not moved (or a fake clock went back).
double decay(time_point from, time_point now, std::chrono::seconds tau) {
  if (now <= from) return 1.0;
  return std::exp(-seconds(now - from) / static_cast<double>(tau.count()));
}

// An endpoint never measured scores 0 while idle (a new endpoint is tried first) and, once
// it has requests out, as if each took this long: it gets a probe, not a flood, until it
// answers (Finagle's PeakEwma does the same with an infinite cost). Less than one failure's
// cost: an endpoint that has not answered yet is a better bet than one that failed.
constexpr double kUnmeasuredLatencyUs = 100'000.0;

}  // namespace

Endpoint::Endpoint(Url url) : url_(std::move(url)) {}

time_point Endpoint::ejected_until() const noexcept {
  return time_point{Duration{ejected_until_.load(std::memory_order_relaxed)}};
}

double Endpoint::latency_us(time_point now) const {
  std::lock_guard lock(decay_mutex_);
  return latency_us_ * decay(latency_stamp_, now, kLatencyDecay);
}

double Endpoint::failure_penalty(time_point now) const {
  std::lock_guard lock(decay_mutex_);
  return penalty_ * decay(penalty_stamp_, now, kPenaltyDecay);
}

double Endpoint::score(time_point now) const {
  double latency = 0;
  double penalty = 0;
  {
    std::lock_guard lock(decay_mutex_);
    latency = latency_us_ * decay(latency_stamp_, now, kLatencyDecay);
    penalty = penalty_ * decay(penalty_stamp_, now, kPenaltyDecay);
  }
  const auto pending = static_cast<double>(in_flight());
  const double load = (pending + 1) * (latency == 0 && pending > 0 ? kUnmeasuredLatencyUs : latency);
  return load + penalty * kFailureCostUs;
}

void Endpoint::hold_latency(double us, time_point now) {
  std::lock_guard lock(decay_mutex_);
  // It had not answered when a faster endpoint did: evidence that its estimate is still
  // right, so the estimate stays (refreshed, not decayed) unless this age is even larger.
  latency_us_ = std::max(latency_us_, us);
  latency_stamp_ = std::max(latency_stamp_, now);
}

void Endpoint::observe_latency(double us, bool peak_only, time_point now) {
  std::lock_guard lock(decay_mutex_);
  // Peak EWMA: a slower sample is taken at once; a faster one pulls the estimate down
  // only as fast as time passes (tau = kLatencyDecay).
  if (us > latency_us_) {
    latency_us_ = us;
  } else if (peak_only) {
    return;  // a failure that came fast says nothing good about the endpoint's speed
  } else {
    const double w = decay(latency_stamp_, now, kLatencyDecay);
    latency_us_ = latency_us_ * w + us * (1 - w);
  }
  latency_stamp_ = std::max(latency_stamp_, now);
}

void Endpoint::add_failure(time_point now) {
  std::lock_guard lock(decay_mutex_);
  penalty_ = penalty_ * decay(penalty_stamp_, now, kPenaltyDecay) + 1.0;
  penalty_stamp_ = std::max(penalty_stamp_, now);
}

EndpointSet::EndpointSet(Balancer balancer, OutlierOptions outlier, Random random, std::string contract)
    : balancer_(balancer),
      outlier_(outlier),
      random_(std::move(random)),
      contract_(std::move(contract)),
      list_(std::make_shared<const List>()) {}

std::shared_ptr<const EndpointSet::List> EndpointSet::current() const {
  std::lock_guard lock(mutex_);
  return list_;
}

std::uint64_t EndpointSet::next_random() {
  if (random_) return random_();
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine();
}

std::shared_ptr<Endpoint> EndpointSet::pick(time_point now, std::span<const Endpoint* const> tried) {
  const auto list = current();
  if (list->empty()) return nullptr;
  // Tier 0: healthy, untried; 1: healthy, tried; 2: ejected, untried; 3: ejected, tried.
  auto tier_of = [&](const Endpoint& e) {
    const bool was_tried = std::find(tried.begin(), tried.end(), &e) != tried.end();
    return (e.ejected(now) ? 2 : 0) + (was_tried ? 1 : 0);
  };
  // Computed once per endpoint: ejection may change under us, and the choice must be
  // made within one consistent view. Small sets are the rule; the stack buffer avoids
  // an allocation per pick.
  constexpr std::size_t kInline = 64;
  std::array<std::uint8_t, kInline> inline_tiers{};
  std::vector<std::uint8_t> heap_tiers;
  std::uint8_t* tiers = inline_tiers.data();
  if (list->size() > kInline) {
    heap_tiers.resize(list->size());
    tiers = heap_tiers.data();
  }
  int best = 4;
  std::size_t count = 0;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const int t = tier_of(*(*list)[i]);
    tiers[i] = static_cast<std::uint8_t>(t);
    if (t < best) {
      best = t;
      count = 1;
    } else if (t == best) {
      ++count;
    }
  }
  // The n-th endpoint (0-based) of the best tier.
  auto nth = [&](std::size_t n) -> const std::shared_ptr<Endpoint>& {
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (tiers[i] == best && n-- == 0) return (*list)[i];
    }
    return list->front();  // unreachable: n < count
  };
  if (count == 1) return nth(0);
  if (balancer_ == Balancer::round_robin) {
    return nth(round_robin_.fetch_add(1, std::memory_order_relaxed) % count);
  }
  // Two distinct members at random.
  const std::size_t a = next_random() % count;
  std::size_t b = next_random() % (count - 1);
  if (b >= a) ++b;
  const auto& first = nth(a);
  const auto& second = nth(b);
  return second->score(now) < first->score(now) ? second : first;
}

void EndpointSet::started(Endpoint& endpoint) noexcept { endpoint.in_flight_.fetch_add(1, std::memory_order_relaxed); }

void EndpointSet::finished(Endpoint& endpoint, Result result, Duration latency, time_point now) {
  endpoint.in_flight_.fetch_sub(1, std::memory_order_relaxed);
  const double us = std::max(0.0, std::chrono::duration<double, std::micro>(latency).count());
  switch (result) {
    case Result::success:
      endpoint.observe_latency(us, false, now);
      endpoint.consecutive_failures_.store(0, std::memory_order_relaxed);
      // A success ends a run of ejections: the next one starts from base_ejection again.
      endpoint.ejection_streak_.store(0, std::memory_order_relaxed);
      return;
    case Result::other_fault:
      endpoint.observe_latency(us, false, now);
      endpoint.consecutive_failures_.store(0, std::memory_order_relaxed);
      return;
    case Result::abandoned:
      // A slow endpoint whose attempts keep losing hedges must keep looking slow: before
      // this, each lost race booked its ~hedge-delay age as a fast sample, and p2c went
      // back to it (bench/resilience: p99 pinned at the hedge delay).
      endpoint.hold_latency(us, now);
      return;
    case Result::lost_race:
      endpoint.hold_latency(us, now);
      endpoint.add_failure(now);
      return;
    case Result::connect_failure:
    case Result::unavailable: {
      endpoint.observe_latency(us, true, now);
      endpoint.add_failure(now);
      const auto failures = endpoint.consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
      if (outlier_.consecutive_failures > 0 && failures >= outlier_.consecutive_failures) maybe_eject(endpoint, now);
      return;
    }
  }
}

void EndpointSet::maybe_eject(Endpoint& endpoint, time_point now) {
  std::chrono::milliseconds period{0};
  std::size_t ejections = 0;
  {
    std::lock_guard lock(mutex_);
    if (endpoint.ejected(now)) return;
    const List& list = *list_;
    if (std::none_of(list.begin(), list.end(), [&](const auto& e) { return e.get() == &endpoint; })) {
      return;  // removed from the set: nothing to protect the callers from
    }
    const std::size_t already = static_cast<std::size_t>(
        std::count_if(list.begin(), list.end(), [&](const auto& e) { return e->ejected(now); }));
    const auto percent = static_cast<std::size_t>(std::clamp(outlier_.max_ejected_percent, 0, 100));
    const std::size_t cap = list.size() * percent / 100;  // rounded down
    // The cap, and never the last endpoint that is not ejected. The failure count stays,
    // so the next failure asks again (another endpoint may have returned meanwhile).
    if (already + 1 > cap || list.size() - already <= 1) return;
    const std::size_t streak = endpoint.ejection_streak_.fetch_add(1, std::memory_order_relaxed) + 1;
    const auto base = std::max(outlier_.base_ejection, std::chrono::milliseconds{0});
    const auto max = std::max(outlier_.max_ejection, std::chrono::milliseconds{0});
    // base * streak, at most max, without overflowing.
    period = base.count() == 0 || streak > static_cast<std::size_t>(max.count() / std::max<std::int64_t>(base.count(), 1))
                 ? max
                 : base * static_cast<std::int64_t>(streak);
    period = std::min(period, max);
    endpoint.ejected_until_.store((now + period).time_since_epoch().count(), std::memory_order_relaxed);
    ejections = endpoint.ejections_.fetch_add(1, std::memory_order_relaxed) + 1;
    endpoint.consecutive_failures_.store(0, std::memory_order_relaxed);
  }
  log::warn("client endpoint ejected", {{"contract", contract_},
                                         {"endpoint", endpoint.url().base},
                                         {"for_ms", static_cast<std::int64_t>(period.count())},
                                         {"ejections", ejections}});
}

void EndpointSet::replace(const std::vector<Url>& urls) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<List>();
  next->reserve(urls.size());
  std::unordered_set<std::string> seen;
  for (const Url& url : urls) {
    const std::string key = url.key();
    if (!seen.insert(key).second) continue;
    auto kept = std::find_if(list_->begin(), list_->end(), [&](const auto& e) { return e->url().key() == key; });
    next->push_back(kept != list_->end() ? *kept : std::make_shared<Endpoint>(url));
  }
  list_ = std::move(next);
}

std::size_t EndpointSet::size() const { return current()->size(); }

std::vector<std::shared_ptr<Endpoint>> EndpointSet::endpoints() const { return *current(); }

std::vector<EndpointState> EndpointSet::snapshot(time_point now) const {
  const auto list = current();
  std::vector<EndpointState> out;
  out.reserve(list->size());
  for (const auto& e : *list) {
    EndpointState s;
    s.url = e->url().base;
    s.key = e->url().key();
    s.in_flight = e->in_flight();
    s.ejected = e->ejected(now);
    s.ejections = e->times_ejected();
    s.latency_ms = e->latency_us(now) / 1000.0;
    s.score = e->score(now);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pit::outbound
