// The endpoint set: p2c and round robin, the failure penalty, outlier ejection with its
// caps, and a set that changes under DNS.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "outbound/endpoints.hpp"

using namespace std::chrono_literals;
using pit::Balancer;
using pit::OutlierOptions;
using pit::outbound::Endpoint;
using pit::outbound::EndpointSet;
using pit::outbound::parse_url;
using pit::outbound::Result;
using pit::outbound::Url;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;

std::vector<Url> urls(std::initializer_list<const char*> list) {
  std::vector<Url> out;
  for (const char* u : list) out.push_back(parse_url(u));
  return out;
}

OutlierOptions outlier(std::size_t failures, int percent = 50, std::chrono::milliseconds base = 1s,
                       std::chrono::milliseconds max = 5s) {
  OutlierOptions o;
  o.consecutive_failures = failures;
  o.max_ejected_percent = percent;
  o.base_ejection = base;
  o.max_ejection = max;
  return o;
}

// One attempt that ends at once.
void attempt(EndpointSet& set, Endpoint& e, Result r, std::chrono::steady_clock::duration latency,
             std::chrono::steady_clock::time_point now) {
  set.started(e);
  set.finished(e, r, latency, now);
}

void fail(EndpointSet& set, Endpoint& e, int times, std::chrono::steady_clock::time_point now) {
  for (int i = 0; i < times; ++i) attempt(set, e, Result::connect_failure, 1ms, now);
}

std::shared_ptr<Endpoint> find(const EndpointSet& set, std::string_view key) {
  for (auto& e : set.endpoints()) {
    if (e->url().key() == key) return e;
  }
  return nullptr;
}

std::size_t ejected_count(const EndpointSet& set, std::chrono::steady_clock::time_point now) {
  std::size_t n = 0;
  for (const auto& e : set.endpoints()) n += e->ejected(now) ? 1 : 0;
  return n;
}

}  // namespace

TEST(EndpointSet, empty_set_picks_nothing) {
  EndpointSet set(Balancer::p2c, outlier(5));
  EXPECT_EQ(set.pick(t0), nullptr);
  EXPECT_TRUE(set.empty());
  set.replace(urls({"http://a:1"}));
  set.replace({});
  EXPECT_EQ(set.pick(t0), nullptr);
}

TEST(EndpointSet, p2c_prefers_the_less_loaded_endpoint) {
  EndpointSet set(Balancer::p2c, outlier(5));
  set.replace(urls({"http://a:1", "http://b:1", "http://c:1"}));
  for (auto& e : set.endpoints()) attempt(set, *e, Result::success, 10ms, t0);  // same latency
  auto a = find(set, "a:1");
  for (int i = 0; i < 5; ++i) set.started(*a);  // a has 5 calls in flight
  std::map<std::string, int> picks;
  for (int i = 0; i < 3000; ++i) ++picks[set.pick(t0)->url().key()];
  EXPECT_EQ(picks["a:1"], 0);  // it loses every pair it is drawn in
  EXPECT_GT(picks["b:1"], 1000);
  EXPECT_GT(picks["c:1"], 1000);
}

TEST(EndpointSet, p2c_prefers_the_faster_endpoint_at_equal_load) {
  EndpointSet set(Balancer::p2c, outlier(5));
  set.replace(urls({"http://fast:1", "http://slow:1"}));
  attempt(set, *find(set, "fast:1"), Result::success, 5ms, t0);
  attempt(set, *find(set, "slow:1"), Result::success, 200ms, t0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(set.pick(t0)->url().key(), "fast:1");
  // Under load the slow one takes its share: 40 calls in flight at 5 ms cost more than 200 ms.
  for (int i = 0; i < 40; ++i) set.started(*find(set, "fast:1"));
  EXPECT_EQ(set.pick(t0)->url().key(), "slow:1");
}

TEST(EndpointSet, an_abandoned_attempt_never_makes_a_slow_endpoint_look_faster) {
  // A slow endpoint whose attempts keep losing hedges after 20 ms: the 20 ms each one had
  // taken must not pull its 200 ms estimate down, or p2c keeps sending calls there.
  EndpointSet set(Balancer::p2c, outlier(5));
  set.replace(urls({"http://fast:1", "http://slow:1"}));
  attempt(set, *find(set, "fast:1"), Result::success, 5ms, t0);
  attempt(set, *find(set, "slow:1"), Result::success, 200ms, t0);
  auto now = t0;
  for (int i = 0; i < 2000; ++i) {
    now += 50ms;
    attempt(set, *find(set, "slow:1"), Result::abandoned, 20ms, now);
    attempt(set, *find(set, "fast:1"), Result::success, 5ms, now);
  }
  for (int i = 0; i < 100; ++i) EXPECT_EQ(set.pick(now)->url().key(), "fast:1");
  // The control: fast answers booked for 100 s (ten decay periods) do make it look fast.
  EndpointSet control(Balancer::p2c, outlier(5));
  control.replace(urls({"http://fast:1", "http://slow:1"}));
  attempt(control, *find(control, "fast:1"), Result::success, 5ms, t0);
  attempt(control, *find(control, "slow:1"), Result::success, 200ms, t0);
  now = t0;
  for (int i = 0; i < 2000; ++i) {
    now += 50ms;
    attempt(control, *find(control, "slow:1"), Result::other_fault, 2ms, now);
    attempt(control, *find(control, "fast:1"), Result::success, 5ms, now);
  }
  int slow = 0;
  for (int i = 0; i < 100; ++i) slow += control.pick(now)->url().key() == "slow:1" ? 1 : 0;
  EXPECT_GT(slow, 0);
}

TEST(EndpointSet, an_attempt_that_lost_to_its_hedge_scores_worse_than_a_fast_endpoint_after_a_hiccup) {
  // The slow endpoint never answers: every attempt there loses to a hedge after 20 ms. A
  // fast endpoint's peak estimate jumps to 15 ms after one hiccup and it has 3 calls out:
  // 4 x 15 ms = 60 ms. Held at 20 ms alone, the slow one (1 x 20 ms) would win that pair.
  EndpointSet set(Balancer::p2c, outlier(5));
  set.replace(urls({"http://fast:1", "http://slow:1"}));
  auto fast = find(set, "fast:1");
  attempt(set, *fast, Result::success, 15ms, t0);
  attempt(set, *find(set, "slow:1"), Result::lost_race, 20ms, t0);
  for (int i = 0; i < 3; ++i) set.started(*fast);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(set.pick(t0 + 100ms)->url().key(), "fast:1");
}

TEST(EndpointSet, a_new_endpoint_gets_one_probe_until_it_answers) {
  EndpointSet set(Balancer::p2c, outlier(5));
  set.replace(urls({"http://old:1", "http://new:1"}));
  attempt(set, *find(set, "old:1"), Result::success, 10ms, t0);
  auto first = set.pick(t0);
  EXPECT_EQ(first->url().key(), "new:1");  // never measured: tried first
  set.started(*first);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(set.pick(t0)->url().key(), "old:1");  // not a flood
}

TEST(EndpointSet, a_fast_failing_endpoint_does_not_attract_traffic) {
  // Ejection off: the penalty alone must keep the failing endpoint's share low, although it
  // answers ten times faster than the healthy ones and so never has a call in flight.
  EndpointSet set(Balancer::p2c, outlier(0));
  set.replace(urls({"http://a:1", "http://b:1", "http://bad:1"}));
  std::map<std::string, int> picks;
  auto now = t0;
  for (int i = 0; i < 10000; ++i) {
    auto e = set.pick(now);
    ++picks[e->url().key()];
    const bool bad = e->url().key() == "bad:1";
    attempt(set, *e, bad ? Result::unavailable : Result::success, bad ? 1ms : 10ms, now);
    now += 1ms;
  }
  EXPECT_LE(picks["bad:1"], 1000) << picks["bad:1"];  // <= 10%
  EXPECT_GT(picks["a:1"], 4000);
  EXPECT_GT(picks["b:1"], 4000);
}

TEST(EndpointSet, a_failing_endpoints_share_falls_with_calls_in_flight_too) {
  // Healthy endpoints hold 20 calls each: the penalty still outweighs their load.
  EndpointSet set(Balancer::p2c, outlier(5));
  set.replace(urls({"http://a:1", "http://b:1", "http://bad:1"}));
  for (const char* k : {"a:1", "b:1"}) {
    for (int i = 0; i < 20; ++i) set.started(*find(set, k));
  }
  std::map<std::string, int> picks;
  auto now = t0;
  for (int i = 0; i < 10000; ++i) {
    auto e = set.pick(now);
    ++picks[e->url().key()];
    const bool bad = e->url().key() == "bad:1";
    attempt(set, *e, bad ? Result::connect_failure : Result::success, bad ? 1ms : 20ms, now);
    now += 1ms;
  }
  EXPECT_LE(picks["bad:1"], 1000) << picks["bad:1"];
}

TEST(EndpointSet, round_robin_takes_turns) {
  EndpointSet set(Balancer::round_robin, outlier(5));
  set.replace(urls({"http://a:1", "http://b:1", "http://c:1"}));
  auto a = find(set, "a:1");
  for (int i = 0; i < 10; ++i) set.started(*a);  // load does not matter to round robin
  std::map<std::string, int> picks;
  for (int i = 0; i < 3000; ++i) ++picks[set.pick(t0)->url().key()];
  EXPECT_EQ(picks["a:1"], 1000);
  EXPECT_EQ(picks["b:1"], 1000);
  EXPECT_EQ(picks["c:1"], 1000);
}

TEST(EndpointSet, a_retry_goes_to_an_endpoint_not_yet_tried) {
  for (auto balancer : {Balancer::p2c, Balancer::round_robin}) {
    EndpointSet set(balancer, outlier(5));
    set.replace(urls({"http://a:1", "http://b:1", "http://c:1"}));
    auto a = find(set, "a:1");
    auto b = find(set, "b:1");
    for (int i = 0; i < 200; ++i) {
      const Endpoint* tried[] = {a.get()};
      EXPECT_NE(set.pick(t0, tried), a);
      const Endpoint* tried2[] = {a.get(), b.get()};
      EXPECT_EQ(set.pick(t0, tried2)->url().key(), "c:1");
    }
    // All tried: any of them again rather than nothing.
    const Endpoint* all[] = {a.get(), b.get(), find(set, "c:1").get()};
    EXPECT_NE(set.pick(t0, all), nullptr);
  }
}

TEST(EndpointSet, consecutive_failures_eject_for_a_growing_period_up_to_the_maximum) {
  EndpointSet set(Balancer::p2c, outlier(3, 50, 1s, 5s));
  set.replace(urls({"http://a:1", "http://b:1", "http://c:1", "http://d:1"}));
  auto a = find(set, "a:1");
  fail(set, *a, 2, t0);
  EXPECT_FALSE(a->ejected(t0));  // 2 < 3
  attempt(set, *a, Result::other_fault, 1ms, t0);  // an answer: the run is broken
  fail(set, *a, 2, t0);
  EXPECT_FALSE(a->ejected(t0));
  auto now = t0;
  const std::chrono::seconds expected[] = {1s, 2s, 3s, 4s, 5s, 5s, 5s};
  std::size_t n = 0;
  for (auto period : expected) {
    fail(set, *a, n == 0 ? 1 : 3, now);  // the first time completes the run above
    ++n;
    ASSERT_TRUE(a->ejected(now)) << n;
    EXPECT_EQ(a->ejected_until(), now + period) << n;
    EXPECT_EQ(a->times_ejected(), n);
    EXPECT_TRUE(a->ejected(now + period - 1ms));
    now += period;
    EXPECT_FALSE(a->ejected(now)) << "it returns after its period";
  }
  // A success ends the run: the next ejection is short again.
  attempt(set, *a, Result::success, 1ms, now);
  fail(set, *a, 3, now);
  EXPECT_EQ(a->ejected_until(), now + 1s);
}

TEST(EndpointSet, unavailable_answers_count_like_connect_failures) {
  EndpointSet set(Balancer::p2c, outlier(3));
  set.replace(urls({"http://a:1", "http://b:1"}));
  auto a = find(set, "a:1");
  for (int i = 0; i < 3; ++i) attempt(set, *a, Result::unavailable, 1ms, t0);
  EXPECT_TRUE(a->ejected(t0));
}

TEST(EndpointSet, ejected_endpoints_are_skipped_unless_nothing_else_is_left) {
  EndpointSet set(Balancer::p2c, outlier(3));
  set.replace(urls({"http://a:1", "http://b:1"}));
  auto a = find(set, "a:1");
  auto b = find(set, "b:1");
  fail(set, *a, 3, t0);
  ASSERT_TRUE(a->ejected(t0));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(set.pick(t0), b);
  // A retry after b failed: b again (healthy, tried) before the ejected a.
  const Endpoint* tried[] = {b.get()};
  EXPECT_EQ(set.pick(t0, tried), b);
  // Once b is removed, a is all there is: it is picked, ejected or not.
  set.replace({a->url()});
  EXPECT_EQ(set.pick(t0), a);
  // After its period it is an endpoint like any other: the one not yet tried wins.
  set.replace(urls({"http://a:1", "http://b:1"}));
  EXPECT_TRUE(a->ejected(t0 + 1s - 1ms));
  EXPECT_FALSE(a->ejected(t0 + 1s));
  const Endpoint* tried_b[] = {find(set, "b:1").get()};
  EXPECT_EQ(set.pick(t0 + 1s, tried_b), a);
}

TEST(EndpointSet, at_most_the_configured_share_is_ejected_rounded_down) {
  {
    EndpointSet set(Balancer::p2c, outlier(3, 50));
    set.replace(urls({"http://a:1", "http://b:1", "http://c:1", "http://d:1", "http://e:1"}));
    for (auto& e : set.endpoints()) fail(set, *e, 3, t0);
    EXPECT_EQ(ejected_count(set, t0), 2U);  // 50% of 5 is 2.5: 2
    // Failing on, the rest stay: the cap holds.
    for (auto& e : set.endpoints()) fail(set, *e, 10, t0);
    EXPECT_EQ(ejected_count(set, t0), 2U);
  }
  {
    EndpointSet set(Balancer::p2c, outlier(3, 10));
    set.replace(urls({"http://a:1", "http://b:1", "http://c:1", "http://d:1", "http://e:1"}));
    for (auto& e : set.endpoints()) fail(set, *e, 3, t0);
    EXPECT_EQ(ejected_count(set, t0), 0U);  // 10% of 5 is 0.5: none
  }
  {
    EndpointSet set(Balancer::p2c, outlier(3, 50));
    set.replace(urls({"http://a:1", "http://b:1", "http://c:1", "http://d:1"}));
    for (auto& e : set.endpoints()) fail(set, *e, 3, t0);
    EXPECT_EQ(ejected_count(set, t0), 2U);
    // When one returns, another failing endpoint may take its place.
    const auto later = t0 + 1s;
    EXPECT_EQ(ejected_count(set, later), 0U);
    for (auto& e : set.endpoints()) fail(set, *e, 1, later);  // their runs were kept
    EXPECT_EQ(ejected_count(set, later), 2U);
  }
}

TEST(EndpointSet, the_last_endpoint_not_ejected_is_never_ejected) {
  {
    EndpointSet set(Balancer::p2c, outlier(3, 100));
    set.replace(urls({"http://a:1", "http://b:1", "http://c:1"}));
    for (int round = 0; round < 5; ++round) {
      for (auto& e : set.endpoints()) fail(set, *e, 3, t0);
    }
    EXPECT_EQ(ejected_count(set, t0), 2U);
    EXPECT_NE(set.pick(t0), nullptr);
  }
  {
    EndpointSet set(Balancer::p2c, outlier(1, 100));
    set.replace(urls({"http://only:1"}));
    fail(set, *set.endpoints().front(), 100, t0);
    EXPECT_EQ(ejected_count(set, t0), 0U);
  }
}

TEST(EndpointSet, replace_keeps_the_state_of_endpoints_that_stay) {
  EndpointSet set(Balancer::p2c, outlier(3));
  set.replace(urls({"http://a:1", "http://b:1", "http://c:1"}));
  auto a = find(set, "a:1");
  auto b = find(set, "b:1");
  set.started(*a);
  set.started(*a);
  fail(set, *b, 3, t0);
  ASSERT_TRUE(b->ejected(t0));
  attempt(set, *a, Result::success, 7ms, t0);
  // a and b stay (b given twice), c goes, d comes.
  set.replace(urls({"http://b:1", "http://a:1", "http://d:1", "http://b:1/"}));
  EXPECT_EQ(set.size(), 3U);
  EXPECT_EQ(find(set, "a:1"), a);
  EXPECT_EQ(find(set, "b:1"), b);
  EXPECT_EQ(find(set, "c:1"), nullptr);
  EXPECT_EQ(a->in_flight(), 2U);
  EXPECT_NEAR(a->latency_us(t0), 7000.0, 1.0);
  EXPECT_TRUE(b->ejected(t0));
  EXPECT_EQ(b->times_ejected(), 1U);
  // An attempt on a removed endpoint may still finish, and ejects nothing.
  auto c_gone = std::make_shared<Endpoint>(parse_url("http://c:1"));
  fail(set, *c_gone, 5, t0);
  EXPECT_FALSE(c_gone->ejected(t0));
}

TEST(EndpointSet, snapshot_shows_each_endpoints_state) {
  EndpointSet set(Balancer::p2c, outlier(2));
  set.replace(urls({"http://a:1", "http://b:1"}));
  auto a = find(set, "a:1");
  set.started(*a);
  attempt(set, *a, Result::success, 4ms, t0);
  fail(set, *find(set, "b:1"), 2, t0);
  const auto snap = set.snapshot(t0);
  ASSERT_EQ(snap.size(), 2U);
  EXPECT_EQ(snap[0].url, "http://a:1");
  EXPECT_EQ(snap[0].key, "a:1");
  EXPECT_EQ(snap[0].in_flight, 1U);
  EXPECT_FALSE(snap[0].ejected);
  EXPECT_NEAR(snap[0].latency_ms, 4.0, 0.01);
  EXPECT_NEAR(snap[0].score, 2 * 4000.0, 1.0);
  EXPECT_TRUE(snap[1].ejected);
  EXPECT_EQ(snap[1].ejections, 1U);
  EXPECT_GT(snap[1].score, snap[0].score);
}

TEST(EndpointSet, the_latency_estimate_takes_peaks_at_once_and_forgets_them_slowly) {
  Endpoint e(parse_url("http://a:1"));
  EndpointSet set(Balancer::p2c, outlier(5));
  attempt(set, e, Result::success, 10ms, t0);
  attempt(set, e, Result::success, 100ms, t0 + 1ms);
  EXPECT_NEAR(e.latency_us(t0 + 1ms), 100000.0, 1.0);
  // Idle for one decay time: e^-1 of the peak.
  EXPECT_NEAR(e.latency_us(t0 + 1ms + Endpoint::kLatencyDecay), 100000.0 / std::exp(1.0), 10.0);
  // A fast failure does not make the endpoint look fast.
  attempt(set, e, Result::connect_failure, 1ms, t0 + 2ms);
  EXPECT_GT(e.latency_us(t0 + 2ms), 99000.0);
}

TEST(EndpointSet, concurrent_picks_attempts_and_replacements_are_safe) {
  auto set = std::make_shared<EndpointSet>(Balancer::p2c, outlier(3, 50), EndpointSet::Random{}, "test.v1.C");
  set->replace(urls({"http://a:1", "http://b:1", "http://c:1", "http://d:1"}));
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      auto now = t0;
      for (int i = 0; i < 5000; ++i) {
        auto e = set->pick(now);
        if (!e) continue;
        set->started(*e);
        const auto r = rng() % 3 == 0 ? Result::connect_failure : Result::success;
        set->finished(*e, r, std::chrono::milliseconds(rng() % 20), now);
        now += 1ms;
        if (i % 100 == 0) (void)set->snapshot(now);
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; !done.load() && i < 2000; ++i) {
      set->replace(i % 2 == 0 ? urls({"http://a:1", "http://b:1", "http://e:1"})
                              : urls({"http://a:1", "http://b:1", "http://c:1", "http://d:1"}));
    }
  });
  for (std::size_t i = 0; i + 1 < threads.size(); ++i) threads[i].join();
  done = true;
  threads.back().join();
  for (const auto& e : set->endpoints()) EXPECT_EQ(e->in_flight(), 0U);
}

TEST(EndpointSet, p2c_draws_from_the_injected_random_source) {
  std::atomic<std::uint64_t> draws{0};
  EndpointSet set(Balancer::p2c, outlier(5), [&] { return draws.fetch_add(1); });
  set.replace(urls({"http://a:1", "http://b:1", "http://c:1"}));
  (void)set.pick(t0);
  EXPECT_EQ(draws.load(), 2U);
}
