// The PostgreSQL store against a real server: the shared cluster of the CTest fixture
// `postgres`, or (for the tests that stop it) a cluster of their own.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <exception>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "durability/postgres_store.hpp"
#include "executors/executors.hpp"
#include "pit/fault.hpp"
#include "durability/store_suite.hpp"
#include "support/postgres_cluster.hpp"

namespace pit::detail::durability {
namespace {

// The Store suite on PostgreSQL: a "fresh database" is a schema of its own in the shared
// cluster (the suite's own tables land there too), and `again` a second store over it.
std::string with_search_path(const std::string& url, const std::string& schema) {
  if (url.starts_with("postgres")) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
  }
  return url + " options='-csearch_path=" + schema + "'";
}

std::string fresh_schema_url() {
  static std::atomic<int> n{0};
  const std::string base = pit::testing::shared_postgres_url();
  const std::string schema = "s_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  PGconn* c = PQconnectdb(base.c_str());  // the test's own thread may block
  PGresult* r = PQexec(c, ("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema).c_str());
  const bool made = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string error = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!made) throw std::runtime_error("CREATE SCHEMA: " + error);
  return with_search_path(base, schema);
}

std::unique_ptr<Store> open_url(const std::string& url) {
  PostgresStoreOptions options;
  options.url = url;
  return make_postgres_store(options);
}

std::string last_url;
const testing::StoreFactory kPostgres{"postgres",
                                      [] {
                                        last_url = fresh_schema_url();
                                        return open_url(last_url);
                                      },
                                      [] { return open_url(last_url); }};

}  // namespace

namespace testing {
INSTANTIATE_TEST_SUITE_P(Postgres, StoreSuite, ::testing::Values(kPostgres));
INSTANTIATE_TEST_SUITE_P(Postgres, TransactionalStoreSuite, ::testing::Values(kPostgres));
}  // namespace testing

namespace {

using namespace std::chrono_literals;

// Drives a Task on an I/O thread (where the store's callers live) and waits for it here.
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

// The task's frames (and the exception they hold) go on the I/O thread before the waiter
// is told: nothing of them is released later, under the waiter's feet.
template <class T>
Detached drive(Task<T> task, std::shared_ptr<std::promise<T>> out) {
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      value.emplace(true);
    } else {
      value.emplace(co_await std::move(task));
    }
  } catch (...) {
    error = std::current_exception();
  }
  task = Task<T>{};
  if (error) {
    out->set_exception(std::move(error));
  } else if constexpr (std::is_void_v<T>) {
    out->set_value();
  } else {
    out->set_value(std::move(*value));
  }
}

template <class T>
std::future<T> start_on(IoThread& thread, Task<T> task) {
  auto promise = std::make_shared<std::promise<T>>();
  auto future = promise->get_future();
  boost::asio::post(thread.io(), [promise, t = std::make_shared<Task<T>>(std::move(task))]() mutable {
    drive(std::move(*t), promise);
  });
  return future;
}

// Waits, besides, until the I/O thread has let go of its side of the promise: the future is
// then the last owner of an exception it carries (whose count TSan cannot see).
template <class T>
T run_on(IoThread& thread, Task<T> task) {
  auto result = start_on(thread, std::move(task));
  result.wait();
  std::promise<void> drained;
  boost::asio::post(thread.io(), [&drained] { drained.set_value(); });
  drained.get_future().wait();
  return result.get();
}

// The fault a call threw, or a test failure when it threw none.
template <class T>
Fault fault_of(IoThread& thread, Task<T> task) {
  try {
    run_on(thread, std::move(task));
  } catch (const Fault& f) {
    return f;
  }
  ADD_FAILURE() << "no fault";
  return Fault::unknown("none");
}

std::string table_for_test() {
  std::string name = std::string("t_") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name.substr(0, 63);
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { io.start(); }
  void TearDown() override {
    stores.clear();
    io.stop();
  }

  Store& open(std::string url, std::size_t connections = 4, std::chrono::milliseconds timeout = 5s) {
    PostgresStoreOptions options;
    options.url = std::move(url);
    options.connections = connections;
    options.statement_timeout = timeout;
    options.table = table_for_test();
    stores.push_back(make_postgres_store(options));
    return *stores.back();
  }
  Store& open_shared(std::size_t connections = 4, std::chrono::milliseconds timeout = 5s) {
    return open(pit::testing::shared_postgres_url(), connections, timeout);
  }

  ClaimRequest request(std::string key, std::string fingerprint, std::string owner,
                       WallClock::time_point now = WallClock::now(), std::chrono::milliseconds lease = 10s) {
    ClaimRequest r;
    r.key = {"-|test.v1.Orders/place", std::move(key)};
    r.fingerprint = std::move(fingerprint);
    r.owner = std::move(owner);
    r.now = now;
    r.lease_until = now + lease;
    return r;
  }

  static std::string unique(const char* prefix) {
    static std::atomic<int> n{0};
    return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
           std::to_string(WallClock::now().time_since_epoch().count()) + "-" + std::to_string(n++);
  }

  IoThread io;
  std::vector<std::unique_ptr<Store>> stores;
};

TEST_F(PostgresStoreTest, new_key_is_claimed_then_running_then_replayed_after_settle) {
  Store& store = open_shared();
  const auto key = unique("k");
  const auto now = WallClock::now();
  auto first = run_on(io, store.claim(request(key, "fp", "owner-1", now)));
  EXPECT_EQ(first.status, ClaimStatus::claimed);
  EXPECT_FALSE(first.taken_over);

  auto second = run_on(io, store.claim(request(key, "fp", "owner-2", now)));
  EXPECT_EQ(second.status, ClaimStatus::running);
  EXPECT_GT(second.retry_after, 0ms);
  EXPECT_LE(second.retry_after, 10s);

  EXPECT_TRUE(run_on(io, store.settle({"-|test.v1.Orders/place", key}, "owner-1",
                                       Settled{Code::ok, R"({"order":"o-1"})"}, now + 1h)));
  auto third = run_on(io, store.claim(request(key, "fp", "owner-3", now)));
  EXPECT_EQ(third.status, ClaimStatus::replay);
  EXPECT_EQ(third.settled.code, Code::ok);
  EXPECT_EQ(third.settled.payload, R"({"order":"o-1"})");
}

TEST_F(PostgresStoreTest, other_fingerprint_is_a_mismatch_before_running_and_after_settle) {
  Store& store = open_shared();
  const auto key = unique("k");
  ASSERT_EQ(run_on(io, store.claim(request(key, "fp", "owner-1"))).status, ClaimStatus::claimed);
  EXPECT_EQ(run_on(io, store.claim(request(key, "other", "owner-2"))).status, ClaimStatus::mismatch);
  ASSERT_TRUE(run_on(io, store.settle({"-|test.v1.Orders/place", key}, "owner-1",
                                      Settled{Code::failed_precondition, "{}"}, WallClock::now() + 1h)));
  EXPECT_EQ(run_on(io, store.claim(request(key, "other", "owner-3"))).status, ClaimStatus::mismatch);
  auto replay = run_on(io, store.claim(request(key, "fp", "owner-4")));
  EXPECT_EQ(replay.status, ClaimStatus::replay);
  EXPECT_EQ(replay.settled.code, Code::failed_precondition);
}

TEST_F(PostgresStoreTest, keys_are_isolated_per_scope) {
  Store& store = open_shared();
  const auto key = unique("k");
  auto r = request(key, "fp", "owner-1");
  ASSERT_EQ(run_on(io, store.claim(r)).status, ClaimStatus::claimed);
  r.key.scope = "-|test.v1.Orders/cancel";
  r.owner = "owner-2";
  EXPECT_EQ(run_on(io, store.claim(r)).status, ClaimStatus::claimed);
  r.key.scope = "alice|test.v1.Orders/place";
  r.owner = "owner-3";
  EXPECT_EQ(run_on(io, store.claim(r)).status, ClaimStatus::claimed);
}

TEST_F(PostgresStoreTest, released_claim_lets_the_next_call_run) {
  Store& store = open_shared();
  const auto key = unique("k");
  ASSERT_EQ(run_on(io, store.claim(request(key, "fp", "owner-1"))).status, ClaimStatus::claimed);
  run_on(io, store.release({"-|test.v1.Orders/place", key}, "owner-2"));  // not the owner: no effect
  EXPECT_EQ(run_on(io, store.claim(request(key, "fp", "owner-3"))).status, ClaimStatus::running);
  run_on(io, store.release({"-|test.v1.Orders/place", key}, "owner-1"));
  EXPECT_EQ(run_on(io, store.claim(request(key, "fp", "owner-4"))).status, ClaimStatus::claimed);
}

TEST_F(PostgresStoreTest, claim_past_its_lease_is_taken_over_once_and_its_owner_cannot_settle) {
  Store& store = open_shared();
  const auto key = unique("k");
  const auto t0 = WallClock::now();
  ASSERT_EQ(run_on(io, store.claim(request(key, "fp", "dead", t0, 1s))).status, ClaimStatus::claimed);
  // Two callers after the lease: one takes it over, the other finds it running.
  auto taken = run_on(io, store.claim(request(key, "fp", "heir", t0 + 2s)));
  EXPECT_EQ(taken.status, ClaimStatus::claimed);
  EXPECT_TRUE(taken.taken_over);
  EXPECT_EQ(run_on(io, store.claim(request(key, "fp", "late", t0 + 2s))).status, ClaimStatus::running);
  EXPECT_FALSE(run_on(io, store.settle({"-|test.v1.Orders/place", key}, "dead", Settled{Code::ok, "{}"}, t0 + 1h)));
  EXPECT_TRUE(run_on(io, store.settle({"-|test.v1.Orders/place", key}, "heir", Settled{Code::ok, "{\"n\":2}"}, t0 + 1h)));
  EXPECT_EQ(run_on(io, store.claim(request(key, "fp", "x", t0 + 3s))).settled.payload, "{\"n\":2}");
}

TEST_F(PostgresStoreTest, expired_record_is_purged_or_claimed_anew) {
  Store& store = open_shared();
  const auto t0 = WallClock::now();
  run_on(io, store.purge(t0 + 10min));  // what an earlier run against the same server left
  const auto a = unique("a");
  const auto b = unique("b");
  for (const auto& key : {a, b}) {
    ASSERT_EQ(run_on(io, store.claim(request(key, "fp", "o-" + key, t0))).status, ClaimStatus::claimed);
    ASSERT_TRUE(run_on(io, store.settle({"-|test.v1.Orders/place", key}, "o-" + key, Settled{Code::ok, "{}"}, t0 + 1min)));
  }
  // Past the expiry a record no longer answers: the key is new again (whatever its fingerprint).
  auto again = run_on(io, store.claim(request(a, "another", "o-2", t0 + 2min)));
  EXPECT_EQ(again.status, ClaimStatus::claimed);
  EXPECT_EQ(run_on(io, store.purge(t0 + 30s)), 0U);
  EXPECT_EQ(run_on(io, store.purge(t0 + 2min)), 1U);  // b; a is a running claim again
  EXPECT_EQ(run_on(io, store.claim(request(b, "fp", "o-3", t0 + 2min))).status, ClaimStatus::claimed);
}

// Two replicas sharing one database: 50 concurrent claims of one new key, half through each
// store (each on its own I/O thread), produce exactly one claim.
TEST_F(PostgresStoreTest, two_replicas_sharing_postgres_claim_a_key_exactly_once) {
  Store& replica_a = open_shared(4);
  Store& replica_b = open_shared(4);
  IoThread other;
  other.start();
  const auto key = unique("k");
  const auto now = WallClock::now();
  std::vector<std::future<ClaimResult>> results;
  for (int i = 0; i < 50; ++i) {
    Store& store = i % 2 == 0 ? replica_a : replica_b;
    IoThread& thread = i % 2 == 0 ? io : other;
    results.push_back(start_on(thread, store.claim(request(key, "fp", "owner-" + std::to_string(i), now))));
  }
  int claimed = 0;
  int running = 0;
  for (auto& f : results) {
    const auto r = f.get();
    claimed += r.status == ClaimStatus::claimed ? 1 : 0;
    running += r.status == ClaimStatus::running ? 1 : 0;
  }
  EXPECT_EQ(claimed, 1);
  EXPECT_EQ(running, 49);
  stores.clear();
  other.stop();
}

TEST_F(PostgresStoreTest, unreachable_server_is_refused_unavailable) {
  // Port 1: nobody listens there, the connection is refused at once.
  Store& store = open("host=127.0.0.1 port=1 dbname=pit user=postgres password=s3cret connect_timeout=2");
  const Fault f = fault_of(io, store.claim(request(unique("k"), "fp", "o")));
  EXPECT_EQ(f.code(), Code::unavailable);
  EXPECT_TRUE(f.has(Fault::retryable));
  EXPECT_EQ(f.cause().find("s3cret"), std::string::npos) << f.cause();
}

TEST_F(PostgresStoreTest, stopped_server_refuses_calls_unavailable_and_they_recover_when_it_is_back) {
  pit::testing::PostgresCluster pg;
  Store& store = open(pg.url(), 2);
  ASSERT_EQ(run_on(io, store.claim(request(unique("k"), "fp", "o1"))).status, ClaimStatus::claimed);
  pg.down();
  for (int i = 0; i < 3; ++i) {
    const Fault f = fault_of(io, store.claim(request(unique("k"), "fp", "o2")));
    EXPECT_EQ(f.code(), Code::unavailable) << f.cause();
  }
  pg.up();
  // The connections pooled before the restart are dead: the first statement finds out and
  // goes again on a fresh one, so no call after the restart is refused.
  const auto key = unique("k");
  EXPECT_EQ(run_on(io, store.claim(request(key, "fp", "o3"))).status, ClaimStatus::claimed);
  EXPECT_EQ(run_on(io, store.claim(request(key, "fp", "o4"))).status, ClaimStatus::running);
}

TEST_F(PostgresStoreTest, server_restart_between_statements_is_not_seen_by_callers) {
  pit::testing::PostgresCluster pg;
  Store& store = open(pg.url(), 1);
  ASSERT_EQ(run_on(io, store.claim(request(unique("k"), "fp", "o1"))).status, ClaimStatus::claimed);
  pg.down();
  pg.up();
  EXPECT_EQ(run_on(io, store.claim(request(unique("k"), "fp", "o2"))).status, ClaimStatus::claimed);
}

class PostgresUnitTest : public PostgresStoreTest {
 protected:
  void SetUp() override {
    PostgresStoreTest::SetUp();
    store = &open_shared();
    stock = table_for_test() + "_stock";
    // Committed as a deduplicated call's writes are: with the settle of its claim.
    const auto key = unique("setup");
    run_on(io, store->claim(request(key, "fp", "setup-owner")));
    auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", key}, "setup-owner"));
    run_on(io, unit->execute("DROP TABLE IF EXISTS " + stock));
    run_on(io, unit->execute("CREATE TABLE " + stock + " (sku text PRIMARY KEY, n bigint NOT NULL, price float8)"));
    run_on(io, unit->execute("INSERT INTO " + stock + " VALUES ($1, $2, $3)", {std::string("apple"), std::int64_t{10}, 1.5}));
    ASSERT_TRUE(run_on(io, unit->settle_and_commit(Settled{Code::ok, "{}"}, WallClock::now() + 1h)));
  }
  void TearDown() override {
    const auto k = unique("teardown");
    run_on(io, store->claim(request(k, "fp", "td")));
    auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", k}, "td"));
    run_on(io, unit->execute("DROP TABLE IF EXISTS " + stock));
    run_on(io, unit->settle_and_commit(Settled{Code::ok, "{}"}, WallClock::now() + 1h));
    PostgresStoreTest::TearDown();
  }

  std::int64_t stock_of(const std::string& sku) {
    const auto k = unique("read");
    run_on(io, store->claim(request(k, "fp", "reader")));
    auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", k}, "reader"));
    auto rows = run_on(io, unit->execute("SELECT n FROM " + stock + " WHERE sku = $1", {sku}));
    run_on(io, unit->rollback());
    return std::get<std::int64_t>(rows.rows.at(0).at(0));
  }

  Store* store = nullptr;
  std::string stock;
};

TEST_F(PostgresUnitTest, writes_and_settled_reply_commit_together) {
  const auto k = unique("k");
  ASSERT_EQ(run_on(io, store->claim(request(k, "fp", "o1"))).status, ClaimStatus::claimed);
  auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", k}, "o1"));
  auto changed = run_on(io, unit->execute("UPDATE " + stock + " SET n = n - $1 WHERE sku = $2", {std::int64_t{3}, std::string("apple")}));
  EXPECT_EQ(changed.affected, 1);
  auto rows = run_on(io, unit->execute("SELECT sku, n, price, NULL AS nothing FROM " + stock));
  ASSERT_EQ(rows.rows.size(), 1U);
  EXPECT_EQ(rows.columns, (std::vector<std::string>{"sku", "n", "price", "nothing"}));
  EXPECT_EQ(std::get<std::string>(rows.rows[0][0]), "apple");
  EXPECT_EQ(std::get<std::int64_t>(rows.rows[0][1]), 7);
  EXPECT_DOUBLE_EQ(std::get<double>(rows.rows[0][2]), 1.5);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(rows.rows[0][3]));
  ASSERT_TRUE(run_on(io, unit->settle_and_commit(Settled{Code::ok, "{\"left\":7}"}, WallClock::now() + 1h)));
  EXPECT_EQ(stock_of("apple"), 7);
  EXPECT_EQ(run_on(io, store->claim(request(k, "fp", "o2"))).settled.payload, "{\"left\":7}");
}

TEST_F(PostgresUnitTest, rollback_leaves_no_row_changed_and_the_key_runs_again) {
  const auto k = unique("k");
  ASSERT_EQ(run_on(io, store->claim(request(k, "fp", "o1"))).status, ClaimStatus::claimed);
  auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", k}, "o1"));
  run_on(io, unit->execute("UPDATE " + stock + " SET n = 0"));
  run_on(io, unit->execute("INSERT INTO " + stock + " VALUES ('pear', 1, NULL)"));
  run_on(io, unit->rollback());  // what the policy does when the operation throws
  run_on(io, store->release({"-|test.v1.Orders/place", k}, "o1"));
  EXPECT_EQ(stock_of("apple"), 10);
  EXPECT_EQ(run_on(io, store->claim(request(k, "fp", "o2"))).status, ClaimStatus::claimed);
}

TEST_F(PostgresUnitTest, failed_statement_is_internal_and_nothing_commits) {
  const auto k = unique("k");
  ASSERT_EQ(run_on(io, store->claim(request(k, "fp", "o1"))).status, ClaimStatus::claimed);
  auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", k}, "o1"));
  run_on(io, unit->execute("UPDATE " + stock + " SET n = 1"));
  const Fault f = fault_of(io, unit->execute("INSERT INTO " + stock + " VALUES ('apple', 1, NULL)"));  // duplicate key
  EXPECT_EQ(f.code(), Code::internal);
  EXPECT_NE(f.cause().find("23505"), std::string::npos) << f.cause();
  // An operation that swallowed the error cannot commit half of its writes either.
  const Fault commit = fault_of(io, unit->settle_and_commit(Settled{Code::ok, "{}"}, WallClock::now() + 1h));
  EXPECT_EQ(commit.code(), Code::internal);
  EXPECT_EQ(stock_of("apple"), 10);
}

TEST_F(PostgresUnitTest, unit_whose_claim_was_taken_over_commits_nothing) {
  const auto k = unique("k");
  const auto t0 = WallClock::now();
  ASSERT_EQ(run_on(io, store->claim(request(k, "fp", "slow", t0, 1s))).status, ClaimStatus::claimed);
  auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", k}, "slow"));
  run_on(io, unit->execute("UPDATE " + stock + " SET n = n - 1"));
  ASSERT_TRUE(run_on(io, store->claim(request(k, "fp", "heir", t0 + 2s))).taken_over);
  EXPECT_FALSE(run_on(io, unit->settle_and_commit(Settled{Code::ok, "{}"}, t0 + 1h)));
  EXPECT_EQ(stock_of("apple"), 10);
}

TEST_F(PostgresUnitTest, abandoned_unit_rolls_back) {
  const auto k = unique("k");
  ASSERT_EQ(run_on(io, store->claim(request(k, "fp", "o1"))).status, ClaimStatus::claimed);
  auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", k}, "o1"));
  run_on(io, unit->execute("UPDATE " + stock + " SET n = 0"));
  unit.reset();
  EXPECT_EQ(stock_of("apple"), 10);
}

// A statement waits on its socket, never on the I/O thread: while one call's statement
// sleeps in the server, a timer and another store call on the same I/O thread go on.
TEST_F(PostgresUnitTest, slow_statement_never_blocks_the_io_thread) {
  const auto k = unique("k");
  ASSERT_EQ(run_on(io, store->claim(request(k, "fp", "o1"))).status, ClaimStatus::claimed);
  auto unit = run_on(io, store->begin({"-|test.v1.Orders/place", k}, "o1"));
  const auto start = std::chrono::steady_clock::now();
  auto slow = start_on(io, unit->execute("SELECT pg_sleep(0.6)"));

  std::promise<std::chrono::steady_clock::duration> ticked;
  boost::asio::steady_timer timer(io.io(), 50ms);
  timer.async_wait([&](const boost::system::error_code&) { ticked.set_value(std::chrono::steady_clock::now() - start); });
  EXPECT_LT(ticked.get_future().get(), 300ms);
  const auto other = run_on(io, store->claim(request(unique("k"), "fp", "o2")));
  EXPECT_EQ(other.status, ClaimStatus::claimed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_EQ(slow.wait_for(0s), std::future_status::timeout);  // still sleeping in the server
  slow.get();
  run_on(io, unit->rollback());
}

TEST_F(PostgresStoreTest, statement_is_cut_at_the_deadline_and_the_store_goes_on) {
  Store& store = open_shared(1, 300ms);
  const auto k = unique("k");
  ASSERT_EQ(run_on(io, store.claim(request(k, "fp", "o1"))).status, ClaimStatus::claimed);
  auto unit = run_on(io, store.begin({"-|test.v1.Orders/place", k}, "o1"));
  const auto start = std::chrono::steady_clock::now();
  const std::string marker = unique("cut");
  const Fault f = fault_of(io, unit->execute("SELECT pg_sleep(10) -- " + marker));
  EXPECT_EQ(f.code(), Code::deadline_exceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  run_on(io, unit->rollback());
  unit.reset();
  // The cut connection is gone; its only slot serves the next call on a new one.
  EXPECT_EQ(run_on(io, store.claim(request(unique("k"), "fp", "o2"))).status, ClaimStatus::claimed);
  // And the server ends the abandoned statement soon (client_connection_check_interval),
  // not after its 10 s: its locks do not outlive the call.
  const auto look = unique("k");
  ASSERT_EQ(run_on(io, store.claim(request(look, "fp", "o3"))).status, ClaimStatus::claimed);
  auto watcher = run_on(io, store.begin({"-|test.v1.Orders/place", look}, "o3"));
  std::int64_t still_running = 1;
  for (int i = 0; i < 40 && still_running != 0; ++i) {
    std::this_thread::sleep_for(100ms);
    run_on(io, watcher->execute("SELECT pg_stat_clear_snapshot()"));  // a transaction caches what it saw
    auto rows = run_on(io, watcher->execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()",
                                            {"%" + marker + "%"}));
    still_running = std::get<std::int64_t>(rows.rows.at(0).at(0));
  }
  EXPECT_EQ(still_running, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 6s);
  run_on(io, watcher->rollback());
}

TEST_F(PostgresStoreTest, pool_never_opens_more_than_its_connections_and_waiters_get_one) {
  Store& store = open_shared(1, 2s);
  const auto k = unique("k");
  ASSERT_EQ(run_on(io, store.claim(request(k, "fp", "o1"))).status, ClaimStatus::claimed);
  auto unit = run_on(io, store.begin({"-|test.v1.Orders/place", k}, "o1"));  // holds the only connection
  auto waiting = start_on(io, store.claim(request(unique("k"), "fp", "o2")));
  EXPECT_EQ(waiting.wait_for(200ms), std::future_status::timeout);
  run_on(io, unit->rollback());
  EXPECT_EQ(waiting.get().status, ClaimStatus::claimed);
}

TEST(PostgresUrl, password_is_redacted_in_both_forms) {
  EXPECT_EQ(redact_postgres_url("host=db port=5432 user=pit password=s3cret dbname=pit"),
            "host=db port=5432 user=pit password=*** dbname=pit");
  EXPECT_EQ(redact_postgres_url("host=db password = 'it\\'s me' dbname=pit"), "host=db password = *** dbname=pit");
  EXPECT_EQ(redact_postgres_url("postgresql://pit:s3cret@db:5432/pit?sslmode=require"),
            "postgresql://pit:***@db:5432/pit?sslmode=require");
  EXPECT_EQ(redact_postgres_url("postgres://db/pit?user=pit&password=s3cret&sslmode=disable"),
            "postgres://db/pit?user=pit&password=***&sslmode=disable");
  EXPECT_EQ(redact_postgres_url("postgresql://pit@db/pit"), "postgresql://pit@db/pit");
  EXPECT_EQ(redact_postgres_url("host=db passwordfile=x"), "host=db passwordfile=x");
}

}  // namespace
}  // namespace pit::detail::durability
