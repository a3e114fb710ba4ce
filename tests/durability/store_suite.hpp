// The Store conformance suite: what every store of deduplicated operations guarantees,
// written against the Store interface only. A store's test file instantiates it:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreSuite, ::testing::Values(StoreFactory{"sqlite", [] { ... }}));
//
// Each factory call returns a store over an empty database of its own; `second` (if set)
// returns another store over the same database (another process, another replica).
#pragma once

#include <cstdio>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "durability/store.hpp"
#include "pit/fault.hpp"
#include "pit/task.hpp"

namespace pit::detail::durability::testing {

struct StoreFactory {
  std::string name;
  // A store over a fresh, empty database.
  std::function<std::unique_ptr<Store>()> fresh;
  // Another store over the database the last fresh() made (a second process, a replica).
  std::function<std::unique_ptr<Store>()> again;
};
inline void PrintTo(const StoreFactory& f, std::ostream* os) { *os << f.name; }

class StoreSuite : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store = GetParam().fresh(); }

  static ClaimRequest request(std::string key, std::string fingerprint, std::string owner,
                              std::chrono::milliseconds lease = std::chrono::seconds(30),
                              std::string scope = "-|test.v1.Things/make") {
    ClaimRequest r;
    r.key = {std::move(scope), std::move(key)};
    r.fingerprint = std::move(fingerprint);
    r.owner = std::move(owner);
    r.now = WallClock::now();
    r.lease_until = r.now + lease;
    return r;
  }
  ClaimResult claim(ClaimRequest r) { return block_on(store->claim(std::move(r))); }
  bool settle(const ClaimRequest& r, Settled s, std::chrono::milliseconds keep = std::chrono::hours(1)) {
    return block_on(store->settle(r.key, r.owner, std::move(s), WallClock::now() + keep));
  }
  static Settled reply(std::string json) { return {Code::ok, std::move(json)}; }

  std::unique_ptr<Store> store;
};

TEST_P(StoreSuite, a_new_key_is_claimed) {
  const auto r = claim(request("k1", "f1", "o1"));
  EXPECT_EQ(r.status, ClaimStatus::claimed);
  EXPECT_FALSE(r.taken_over);
}

TEST_P(StoreSuite, a_settled_key_with_the_same_fingerprint_replays_the_stored_bytes) {
  const auto first = request("k1", "f1", "o1");
  ASSERT_EQ(claim(first).status, ClaimStatus::claimed);
  const std::string bytes = "{\"id\":\"A-1\",  \"note\":\"caf\xc3\xa9\\u0000\"}";
  ASSERT_TRUE(settle(first, reply(bytes)));
  const auto again = claim(request("k1", "f1", "o2"));
  ASSERT_EQ(again.status, ClaimStatus::replay);
  EXPECT_EQ(again.settled.code, Code::ok);
  EXPECT_EQ(again.settled.payload, bytes);
}

TEST_P(StoreSuite, a_settled_fault_replays_its_code_and_payload) {
  const auto first = request("k1", "f1", "o1");
  ASSERT_EQ(claim(first).status, ClaimStatus::claimed);
  ASSERT_TRUE(settle(first, {Code::not_found, "{\"message\":\"no such sku\"}"}));
  const auto again = claim(request("k1", "f1", "o2"));
  ASSERT_EQ(again.status, ClaimStatus::replay);
  EXPECT_EQ(again.settled.code, Code::not_found);
  EXPECT_EQ(again.settled.payload, "{\"message\":\"no such sku\"}");
}

TEST_P(StoreSuite, a_key_still_running_within_its_lease_is_running_with_a_retry_after) {
  ASSERT_EQ(claim(request("k1", "f1", "o1", std::chrono::seconds(10))).status, ClaimStatus::claimed);
  const auto second = claim(request("k1", "f1", "o2"));
  EXPECT_EQ(second.status, ClaimStatus::running);
  EXPECT_GT(second.retry_after.count(), 0);
  EXPECT_LE(second.retry_after, std::chrono::milliseconds(10'000));
}

TEST_P(StoreSuite, another_fingerprint_is_a_mismatch_before_running) {
  ASSERT_EQ(claim(request("k1", "f1", "o1")).status, ClaimStatus::claimed);
  EXPECT_EQ(claim(request("k1", "f2", "o2")).status, ClaimStatus::mismatch);
}

TEST_P(StoreSuite, another_fingerprint_on_a_settled_key_is_a_mismatch) {
  const auto first = request("k1", "f1", "o1");
  ASSERT_EQ(claim(first).status, ClaimStatus::claimed);
  ASSERT_TRUE(settle(first, reply("{}")));
  EXPECT_EQ(claim(request("k1", "f2", "o2")).status, ClaimStatus::mismatch);
}

TEST_P(StoreSuite, a_claim_past_its_lease_is_taken_over_and_its_owner_can_no_longer_settle) {
  const auto dead = request("k1", "f1", "o1", std::chrono::milliseconds(1));
  ASSERT_EQ(claim(dead).status, ClaimStatus::claimed);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto next = request("k1", "f1", "o2");
  const auto r = claim(next);
  EXPECT_EQ(r.status, ClaimStatus::claimed);
  EXPECT_TRUE(r.taken_over);
  EXPECT_FALSE(settle(dead, reply("{\"from\":\"o1\"}")));  // too late: the key is o2's
  ASSERT_TRUE(settle(next, reply("{\"from\":\"o2\"}")));
  EXPECT_EQ(claim(request("k1", "f1", "o3")).settled.payload, "{\"from\":\"o2\"}");
}

TEST_P(StoreSuite, a_released_claim_lets_the_next_call_run) {
  const auto first = request("k1", "f1", "o1");
  ASSERT_EQ(claim(first).status, ClaimStatus::claimed);
  block_on(store->release(first.key, first.owner));
  const auto r = claim(request("k1", "f1", "o2"));
  EXPECT_EQ(r.status, ClaimStatus::claimed);
  EXPECT_FALSE(r.taken_over);
}

TEST_P(StoreSuite, only_the_owner_releases_or_settles) {
  const auto first = request("k1", "f1", "o1");
  ASSERT_EQ(claim(first).status, ClaimStatus::claimed);
  auto stranger = first;
  stranger.owner = "someone-else";
  block_on(store->release(stranger.key, stranger.owner));
  EXPECT_FALSE(settle(stranger, reply("{}")));
  EXPECT_EQ(claim(request("k1", "f1", "o2")).status, ClaimStatus::running);
}

TEST_P(StoreSuite, a_settled_record_past_its_expiry_is_claimed_anew) {
  const auto first = request("k1", "f1", "o1");
  ASSERT_EQ(claim(first).status, ClaimStatus::claimed);
  ASSERT_TRUE(settle(first, reply("{}"), std::chrono::milliseconds(1)));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto r = claim(request("k1", "f2", "o2"));  // even with another request: the old one is gone
  EXPECT_EQ(r.status, ClaimStatus::claimed);
}

TEST_P(StoreSuite, purge_deletes_expired_records_and_keeps_live_ones) {
  const auto old_one = request("old", "f", "o1");
  const auto live = request("live", "f", "o2");
  ASSERT_EQ(claim(old_one).status, ClaimStatus::claimed);
  ASSERT_EQ(claim(live).status, ClaimStatus::claimed);
  ASSERT_TRUE(settle(old_one, reply("{}"), std::chrono::milliseconds(1)));
  ASSERT_TRUE(settle(live, reply("{\"live\":true}"), std::chrono::hours(1)));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(block_on(store->purge(WallClock::now())), 1U);
  EXPECT_EQ(claim(request("live", "f", "o3")).status, ClaimStatus::replay);
}

TEST_P(StoreSuite, keys_are_isolated_by_scope) {
  const auto a = request("same", "f1", "o1", std::chrono::seconds(30), "alice|test.v1.Things/make");
  ASSERT_EQ(claim(a).status, ClaimStatus::claimed);
  ASSERT_TRUE(settle(a, reply("{\"for\":\"alice\"}")));
  EXPECT_EQ(claim(request("same", "f2", "o2", std::chrono::seconds(30), "bob|test.v1.Things/make")).status,
            ClaimStatus::claimed);
  EXPECT_EQ(claim(request("same", "f1", "o3", std::chrono::seconds(30), "alice|test.v1.Things/other")).status,
            ClaimStatus::claimed);
}

TEST_P(StoreSuite, concurrent_claims_of_one_key_make_exactly_one_owner) {
  constexpr int kCallers = 16;
  std::atomic<int> claimed{0};
  std::atomic<int> running{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      try {
        const auto r = block_on(store->claim(request("one", "f", "o" + std::to_string(i))));
        (r.status == ClaimStatus::claimed ? claimed : running).fetch_add(1);
      } catch (const Fault& f) {
        std::fprintf(stderr, "CLAIM FAILED: %s | %s\n", f.message().c_str(), f.cause().c_str());
        failed.fetch_add(1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(claimed.load(), 1);
  EXPECT_EQ(running.load(), kCallers - 1);
  EXPECT_EQ(failed.load(), 0);
}

TEST_P(StoreSuite, two_stores_over_one_database_see_each_others_claims) {
  if (!GetParam().again) GTEST_SKIP() << "no second store for " << GetParam().name;
  auto other = GetParam().again();
  const auto first = request("shared", "f", "o1");
  ASSERT_EQ(claim(first).status, ClaimStatus::claimed);
  EXPECT_EQ(block_on(other->claim(request("shared", "f", "o2"))).status, ClaimStatus::running);
  ASSERT_TRUE(settle(first, reply("{\"n\":1}")));
  const auto r = block_on(other->claim(request("shared", "f", "o3")));
  EXPECT_EQ(r.status, ClaimStatus::replay);
  EXPECT_EQ(r.settled.payload, "{\"n\":1}");
}

// Transactional mode: the operation's writes and the settle commit together, or not at all.
class TransactionalStoreSuite : public StoreSuite {
 protected:
  void SetUp() override {
    StoreSuite::SetUp();
    // The table the "operation" writes to, made in a unit of its own.
    const auto setup = request("setup", "f", "setup");
    ASSERT_EQ(claim(setup).status, ClaimStatus::claimed);
    auto unit = block_on(store->begin(setup.key, setup.owner));
    block_on(unit->execute("CREATE TABLE stock (sku TEXT PRIMARY KEY, n INTEGER NOT NULL)"));
    block_on(unit->execute("INSERT INTO stock (sku, n) VALUES ($1, $2)", {std::string("apple"), std::int64_t{10}}));
    ASSERT_TRUE(block_on(unit->settle_and_commit(reply("{}"), WallClock::now() + std::chrono::hours(1))));
  }
  std::int64_t stock() {
    // Read in a unit of its own, rolled back: the suite sees only what committed.
    const auto look = request("look-" + std::to_string(++looks_), "f", "look");
    EXPECT_EQ(claim(look).status, ClaimStatus::claimed);
    auto unit = block_on(store->begin(look.key, look.owner));
    auto rows = block_on(unit->execute("SELECT n FROM stock WHERE sku = $1", {std::string("apple")}));
    block_on(unit->rollback());
    EXPECT_EQ(rows.rows.size(), 1U);
    return rows.rows.empty() ? -1 : std::get<std::int64_t>(rows.rows[0][0]);
  }
  int looks_ = 0;
};

TEST_P(TransactionalStoreSuite, writes_commit_with_the_settled_reply) {
  const auto r = request("k1", "f", "o1");
  ASSERT_EQ(claim(r).status, ClaimStatus::claimed);
  auto unit = block_on(store->begin(r.key, r.owner));
  auto changed = block_on(unit->execute("UPDATE stock SET n = n - $1 WHERE sku = $2", {std::int64_t{3}, std::string("apple")}));
  EXPECT_EQ(changed.affected, 1);
  ASSERT_TRUE(block_on(unit->settle_and_commit(reply("{\"left\":7}"), WallClock::now() + std::chrono::hours(1))));
  unit.reset();
  EXPECT_EQ(stock(), 7);
  EXPECT_EQ(claim(request("k1", "f", "o2")).settled.payload, "{\"left\":7}");
}

TEST_P(TransactionalStoreSuite, a_rollback_leaves_no_row_changed_and_no_reply_stored) {
  const auto r = request("k1", "f", "o1");
  ASSERT_EQ(claim(r).status, ClaimStatus::claimed);
  auto unit = block_on(store->begin(r.key, r.owner));
  block_on(unit->execute("UPDATE stock SET n = 0 WHERE sku = $1", {std::string("apple")}));
  block_on(unit->rollback());
  unit.reset();
  EXPECT_EQ(stock(), 10);
  EXPECT_EQ(claim(request("k1", "f", "o2")).status, ClaimStatus::running);  // the claim is the policy's to release
}

TEST_P(TransactionalStoreSuite, a_unit_dropped_without_an_end_rolls_back) {
  const auto r = request("k1", "f", "o1");
  ASSERT_EQ(claim(r).status, ClaimStatus::claimed);
  auto unit = block_on(store->begin(r.key, r.owner));
  block_on(unit->execute("UPDATE stock SET n = 0 WHERE sku = $1", {std::string("apple")}));
  unit.reset();
  EXPECT_EQ(stock(), 10);
}

TEST_P(TransactionalStoreSuite, a_lost_claim_commits_nothing) {
  const auto r = request("k1", "f", "o1", std::chrono::milliseconds(1));
  ASSERT_EQ(claim(r).status, ClaimStatus::claimed);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(claim(request("k1", "f", "o2")).taken_over);
  auto unit = block_on(store->begin(r.key, r.owner));
  block_on(unit->execute("UPDATE stock SET n = 0 WHERE sku = $1", {std::string("apple")}));
  EXPECT_FALSE(block_on(unit->settle_and_commit(reply("{}"), WallClock::now() + std::chrono::hours(1))));
  unit.reset();
  EXPECT_EQ(stock(), 10);
}

TEST_P(TransactionalStoreSuite, a_bad_statement_is_a_fault_and_rolls_back) {
  const auto r = request("k1", "f", "o1");
  ASSERT_EQ(claim(r).status, ClaimStatus::claimed);
  auto unit = block_on(store->begin(r.key, r.owner));
  block_on(unit->execute("UPDATE stock SET n = 1 WHERE sku = $1", {std::string("apple")}));
  try {
    block_on(unit->execute("UPDATE no_such_table SET n = 1"));
    ADD_FAILURE() << "expected a fault";
  } catch (const Fault& f) {
    EXPECT_EQ(f.code(), Code::internal);
  }
  block_on(unit->rollback());
  unit.reset();
  EXPECT_EQ(stock(), 10);
}

}  // namespace pit::detail::durability::testing
