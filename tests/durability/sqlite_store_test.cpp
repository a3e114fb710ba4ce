// The SQLite store: the Store suite, and what is SQLite's own (the file, its lock shared by
// processes).
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>

#include <filesystem>

#include "durability/sqlite_store.hpp"
#include "durability/store_suite.hpp"

namespace pit::detail::durability::testing {
namespace {

std::string& last_path() {
  static std::string path;
  return path;
}

std::string fresh_path() {
  static int n = 0;
  const auto dir = std::filesystem::temp_directory_path() / ("pit-dedup-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  last_path() = (dir / ("store-" + std::to_string(++n) + ".sqlite")).string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(last_path() + suffix);
  return last_path();
}

std::unique_ptr<Store> open_store(const std::string& path) {
  SqliteStoreOptions options;
  options.path = path;
  options.purge_interval = std::chrono::milliseconds(0);
  return make_sqlite_store(options);
}

const StoreFactory kSqlite{"sqlite", [] { return open_store(fresh_path()); }, [] { return open_store(last_path()); }};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreSuite, ::testing::Values(kSqlite));
INSTANTIATE_TEST_SUITE_P(Sqlite, TransactionalStoreSuite, ::testing::Values(kSqlite));

namespace {

ClaimRequest request(std::string key, std::string owner) {
  ClaimRequest r;
  r.key = {"-|test.v1.Things/make", std::move(key)};
  r.fingerprint = "f";
  r.owner = std::move(owner);
  r.now = WallClock::now();
  r.lease_until = r.now + std::chrono::seconds(30);
  return r;
}

// 16 writers, each with a connection of its own (as 16 processes sharing the file would
// be), claiming and settling at once: the busy timeout and immediate transactions keep
// SQLITE_BUSY from ever reaching a caller.
TEST(SqliteStore, sixteen_concurrent_writers_see_no_busy_error) {
  const std::string path = fresh_path();
  constexpr int kWriters = 16;
  constexpr int kCallsEach = 25;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < kWriters; ++i) stores.push_back(open_store(path));
  std::atomic<int> faults{0};
  std::atomic<int> claimed{0};
  std::atomic<int> shared_claims{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kCallsEach; ++i) {
        try {
          // One key of the writer's own, and one every writer races for.
          const auto own = request("w" + std::to_string(w) + "-" + std::to_string(i), "o" + std::to_string(w));
          if (block_on(stores[w]->claim(own)).status == ClaimStatus::claimed) claimed.fetch_add(1);
          block_on(stores[w]->settle(own.key, own.owner, {Code::ok, "{}"}, WallClock::now() + std::chrono::hours(1)));
          const auto shared = request("shared-" + std::to_string(i), "o" + std::to_string(w));
          if (block_on(stores[w]->claim(shared)).status == ClaimStatus::claimed) shared_claims.fetch_add(1);
        } catch (const Fault& f) {
          ADD_FAILURE() << f.cause();
          faults.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(faults.load(), 0);
  EXPECT_EQ(claimed.load(), kWriters * kCallsEach);
  EXPECT_EQ(shared_claims.load(), kCallsEach);  // each shared key had exactly one owner
}

TEST(SqliteStore, a_file_that_cannot_be_opened_fails_the_start_naming_it) {
  SqliteStoreOptions options;
  options.path = "/nonexistent-dir/pit/dedup.sqlite";
  try {
    (void)make_sqlite_store(options);
    ADD_FAILURE() << "expected the store not to open";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/pit/dedup.sqlite"), std::string::npos) << e.what();
  }
}

TEST(SqliteStore, expired_records_are_purged_in_the_background) {
  const std::string path = fresh_path();
  SqliteStoreOptions options;
  options.path = path;
  options.purge_interval = std::chrono::milliseconds(20);
  auto store = make_sqlite_store(options);
  const auto r = request("k", "o1");
  ASSERT_EQ(block_on(store->claim(r)).status, ClaimStatus::claimed);
  ASSERT_TRUE(block_on(store->settle(r.key, r.owner, {Code::ok, "{}"}, WallClock::now() + std::chrono::milliseconds(1))));
  // Purged by the store's thread, not by this claim: the count a second purge finds is 0.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::size_t left = 1;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    auto other = open_store(path);
    left = block_on(other->purge(WallClock::now()));
    if (left == 0) break;
  }
  EXPECT_EQ(left, 0U);
}

// A replay (and a running or mismatched key) is answered from one read, without the file's
// write lock: another process holding that lock (a long transactional call, a checkpoint)
// does not hold up the answer. A new key still waits for the lock (the claim's write).
TEST(SqliteStore, a_replay_is_answered_while_another_process_holds_the_write_lock) {
  const std::string path = fresh_path();
  SqliteStoreOptions options;
  options.path = path;
  options.purge_interval = std::chrono::milliseconds(0);
  options.busy_timeout = std::chrono::seconds(10);
  auto store = make_sqlite_store(options);
  const auto first = request("settled", "o1");
  ASSERT_EQ(block_on(store->claim(first)).status, ClaimStatus::claimed);
  ASSERT_TRUE(block_on(store->settle(first.key, first.owner, {Code::ok, "{\"n\":1}"}, WallClock::now() + std::chrono::hours(1))));
  const auto running = request("running", "o2");
  ASSERT_EQ(block_on(store->claim(running)).status, ClaimStatus::claimed);

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto started = std::chrono::steady_clock::now();
  const ClaimResult replayed = block_on(store->claim(request("settled", "o3")));
  ClaimRequest reused = request("settled", "o4");
  reused.fingerprint = "another";
  const ClaimResult mismatched = block_on(store->claim(reused));
  const ClaimResult busy = block_on(store->claim(request("running", "o5")));
  const auto waited = std::chrono::steady_clock::now() - started;
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);

  EXPECT_EQ(replayed.status, ClaimStatus::replay);
  EXPECT_EQ(replayed.settled.payload, "{\"n\":1}");
  EXPECT_EQ(mismatched.status, ClaimStatus::mismatch);
  EXPECT_EQ(busy.status, ClaimStatus::running);
  // Far below the 10 s busy timeout a write would wait for.
  EXPECT_LT(waited, std::chrono::seconds(5));
}

}  // namespace
}  // namespace pit::detail::durability::testing
