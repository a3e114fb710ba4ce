// TokenCache (src/identity/token_cache.hpp): a verified token found again until its
// expiry, never more tokens than the capacity, whole tokens compared, safe across threads.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "identity/token_cache.hpp"

namespace {

using pit::detail::identity::TokenCache;
using std::chrono::seconds;
using std::chrono::system_clock;

const system_clock::time_point kNow{seconds{1'800'000'000}};

std::shared_ptr<const pit::Principal> principal(std::string subject, system_clock::time_point expires_at) {
  auto p = std::make_shared<pit::Principal>();
  p->subject = std::move(subject);
  p->expires_at = expires_at;
  p->method = pit::AuthMethod::bearer;
  return p;
}

// A token-like string: a kilobyte, distinct in its first bytes only when `same_tail`.
std::string token_text(int i, bool same_tail = false) {
  std::string t = "eyJ" + std::to_string(i) + "." + std::string(1000, 'p') + ".";
  t += same_tail ? std::string(43, 's') : "sig" + std::to_string(i * 7919) + std::string(40, 's');
  return t;
}

TEST(TokenCache, hit_returns_the_inserted_principal) {
  TokenCache cache{16};
  const auto p = principal("alice", kNow + seconds{60});
  EXPECT_EQ(cache.find(token_text(1), kNow), nullptr);
  cache.insert(token_text(1), p);
  EXPECT_EQ(cache.find(token_text(1), kNow), p);
  EXPECT_EQ(cache.find(token_text(2), kNow), nullptr);
  EXPECT_EQ(cache.size(), 1U);
}

TEST(TokenCache, entry_goes_at_expiry) {
  TokenCache cache{16};
  cache.insert(token_text(1), principal("alice", kNow + seconds{60}));
  EXPECT_NE(cache.find(token_text(1), kNow + seconds{59}), nullptr);
  EXPECT_EQ(cache.find(token_text(1), kNow + seconds{60}), nullptr);
  EXPECT_EQ(cache.size(), 0U);
  // Gone, not merely hidden: an earlier clock does not bring it back.
  EXPECT_EQ(cache.find(token_text(1), kNow), nullptr);
}

TEST(TokenCache, whole_tokens_are_compared_not_their_hash) {
  // Same length and same last bytes: the same bucket hash.
  TokenCache cache{16};
  const std::string a = token_text(10, true), b = token_text(11, true);
  ASSERT_EQ(a.size(), b.size());
  cache.insert(a, principal("a", kNow + seconds{60}));
  EXPECT_EQ(cache.find(b, kNow), nullptr);
  cache.insert(b, principal("b", kNow + seconds{60}));
  const auto found_a = cache.find(a, kNow);
  const auto found_b = cache.find(b, kNow);
  ASSERT_NE(found_a, nullptr);
  ASSERT_NE(found_b, nullptr);
  EXPECT_EQ(found_a->subject, "a");
  EXPECT_EQ(found_b->subject, "b");
}

TEST(TokenCache, size_stays_within_the_capacity) {
  for (const std::size_t capacity : {1U, 5U, 16U, 100U, 1000U}) {
    TokenCache cache{capacity};
    for (int i = 0; i < 3000; ++i) {
      cache.insert(token_text(i), principal(std::to_string(i), kNow + seconds{60}));
      ASSERT_LE(cache.size(), capacity);
    }
    // The most recent token is always there.
    const auto last = cache.find(token_text(2999), kNow);
    ASSERT_NE(last, nullptr);
    EXPECT_EQ(last->subject, "2999");
    EXPECT_GT(cache.size(), 0U);
  }
  TokenCache none{0};
  none.insert(token_text(1), principal("x", kNow + seconds{60}));
  EXPECT_EQ(none.find(token_text(1), kNow), nullptr);
}

TEST(TokenCache, reinsert_replaces_and_clear_forgets) {
  TokenCache cache{8};
  cache.insert(token_text(1), principal("old", kNow + seconds{60}));
  cache.insert(token_text(1), principal("new", kNow + seconds{120}));
  EXPECT_EQ(cache.size(), 1U);
  const auto found = cache.find(token_text(1), kNow + seconds{90});
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->subject, "new");
  cache.clear();
  EXPECT_EQ(cache.find(token_text(1), kNow), nullptr);
  EXPECT_EQ(cache.size(), 0U);
}

TEST(TokenCache, concurrent_use_finds_only_the_right_principal) {
  // Inserts, finds (hits and misses), expiries and clears from several threads: every
  // principal found is the one inserted for that token (TSan checks the locking).
  TokenCache cache{64};
  std::atomic<bool> wrong{false};
  std::atomic<int> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3000; ++i) {
        const int id = (i * 13 + t) % 200;
        const std::string token = token_text(id);
        const auto expires = kNow + seconds{id % 7 == 0 ? 0 : 60};  // some already expired
        if (i % 3 == 0) cache.insert(token, principal(std::to_string(id), expires));
        if (const auto p = cache.find(token, kNow)) {
          if (p->subject != std::to_string(id) || id % 7 == 0) wrong = true;
          hits.fetch_add(1, std::memory_order_relaxed);
        }
        if (t == 0 && i % 1000 == 999) cache.clear();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(wrong);
  EXPECT_GT(hits.load(), 0);
  EXPECT_LE(cache.size(), 64U);
}

}  // namespace
