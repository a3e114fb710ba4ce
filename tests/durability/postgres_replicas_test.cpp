// Deduplicated operations on PostgreSQL, end to end over HTTP: two hosts (replicas of one
// service) sharing one database deduplicate across each other; the database stopped
// mid-run refuses calls 503 and they are served again once it is back; transactional mode
// rolls back; a slow statement never holds up another call on the same I/O thread.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/describe.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pit/asio.hpp"
#include "pit/durable.hpp"
#include "pit/pit.hpp"
#include "support/postgres_cluster.hpp"
#include "support/raw_http.hpp"

namespace pg_replicas_test {

using namespace std::chrono_literals;

struct Order {
  std::string item;
  std::int64_t quantity = 0;
  std::string note;  // "slow:<ms>", "throw", "sleep"
};
BOOST_DESCRIBE_STRUCT(Order, (), (item, quantity, note))

struct Placed {
  std::string id;
  std::string replica;
  std::int64_t rows = 0;
};
BOOST_DESCRIBE_STRUCT(Placed, (), (id, replica, rows))

class Orders {
 public:
  virtual ~Orders() = default;

 protected:
  virtual pit::Task<Placed> place(Order) = 0;
  virtual pit::Task<Placed> book(Order) = 0;
};
PIT_CONTRACT(Orders, "test.v1.Orders",
             (place, pit::OpSpec{}.anonymous("test").deduplicated(std::chrono::hours(1))),
             (book, pit::OpSpec{}.anonymous("test").deduplicated().transactional()));

// Runs are counted across both replicas: "exactly once" is about the service, not a host.
struct Runs {
  std::atomic<int> place{0};
  std::atomic<int> book{0};
};

class OrdersService final : public Orders {
 public:
  OrdersService(Runs& runs, std::string replica) : runs_(runs), replica_(std::move(replica)) {}

 private:
  pit::Task<Placed> place(Order o) override {
    const int n = ++runs_.place;
    if (o.note.rfind("slow:", 0) == 0) {
      boost::asio::steady_timer timer{pit::io_executor(), std::chrono::milliseconds(std::stoi(o.note.substr(5)))};
      co_await timer.async_wait(pit::use_task);
    }
    co_return Placed{"o-" + std::to_string(n), replica_, 0};
  }
  pit::Task<Placed> book(Order o) override {
    ++runs_.book;
    auto& tx = pit::durable::Transaction::current();
    // Statements and parameters named before the co_await (GCC 12, docs/contracts.md).
    std::string create = "CREATE TABLE IF NOT EXISTS ledger (item TEXT NOT NULL, quantity BIGINT NOT NULL)";
    co_await tx.execute(std::move(create));
    std::string insert = "INSERT INTO ledger (item, quantity) VALUES ($1, $2)";
    std::vector<pit::durable::Value> params{o.item, o.quantity};
    co_await tx.execute(std::move(insert), std::move(params));
    if (o.note == "sleep") {
      std::string sleep = "SELECT pg_sleep(0.8)";
      co_await tx.execute(std::move(sleep));
    }
    if (o.note == "throw") throw std::runtime_error("failed after the write");
    std::string count = "SELECT count(*) FROM ledger";
    auto rows = co_await tx.execute(std::move(count));
    co_return Placed{"bk", replica_, std::get<std::int64_t>(rows.rows.at(0).at(0))};
  }
  Runs& runs_;
  std::string replica_;
};

// A schema of its own per test in the shared cluster: tables of one test never meet another's.
std::string fresh_schema_url(const std::string& base) {
  static std::atomic<int> n{0};
  const std::string schema = "r_" + std::to_string(::getpid()) + "_" + std::to_string(n++);
  PGconn* c = PQconnectdb(base.c_str());  // the test's own thread may block
  PGresult* r = PQexec(c, ("DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema).c_str());
  const bool made = PQresultStatus(r) == PGRES_COMMAND_OK;
  const std::string error = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!made) throw std::runtime_error("CREATE SCHEMA: " + error);
  return base + " options='-csearch_path=" + schema + "'";
}

class Replicas : public ::testing::Test {
 protected:
  std::unique_ptr<pit::Host> replica(const std::string& url, const std::string& name, std::size_t io_threads = 2) {
    pit::HostOptions o;
    o.http.listen = "127.0.0.1:0";
    o.admin.listen = "";
    o.io_threads = io_threads;
    o.log_sink = std::make_shared<pit::log::MemorySink>();
    o.durability.store = pit::DedupStore::postgres;
    o.durability.postgres_url = url;
    auto host = std::make_unique<pit::Host>(o);
    host->serve<Orders, OrdersService>(runs, name);
    host->start();
    return host;
  }
  void TearDown() override {
    for (auto& h : hosts) h->stop();
  }
  static std::string post(unsigned short port, const std::string& op, const std::string& body, const std::string& k) {
    rawhttp::Connection c{port};
    c.send(rawhttp::post("/test.v1.Orders/" + op, body, "Idempotency-Key: " + k + "\r\n"));
    return c.read_response();
  }

  Runs runs;
  std::vector<std::unique_ptr<pit::Host>> hosts;
};

TEST_F(Replicas, two_replicas_sharing_postgres_run_a_key_once_and_replay_it_on_either) {
  const std::string url = fresh_schema_url(pit::testing::shared_postgres_url());
  hosts.push_back(replica(url, "a"));
  hosts.push_back(replica(url, "b"));
  const unsigned short ports[2] = {hosts[0]->http_port(), hosts[1]->http_port()};
  constexpr int kCalls = 20;
  std::vector<std::string> answers(kCalls);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      answers[i] = post(ports[i % 2], "place", R"({"item":"apple","quantity":2,"note":"slow:300"})", "shared-1");
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(runs.place.load(), 1);
  std::string body;
  int ok = 0;
  for (const auto& a : answers) {
    if (rawhttp::status_of(a) == 200) {
      ++ok;
      if (body.empty()) body = rawhttp::body_of(a);
      EXPECT_EQ(rawhttp::body_of(a), body);
    } else {
      EXPECT_EQ(rawhttp::status_of(a), 409) << a;
    }
  }
  EXPECT_GE(ok, 1);
  // Settled: each replica replays the one reply, whichever replica ran it.
  for (const unsigned short port : ports) {
    const auto again = post(port, "place", R"({"item":"apple","quantity":2,"note":"slow:300"})", "shared-1");
    ASSERT_EQ(rawhttp::status_of(again), 200) << again;
    EXPECT_EQ(rawhttp::header_of(again, "Idempotent-Replayed"), "true");
    EXPECT_EQ(rawhttp::body_of(again), body);
  }
  // Another request under the key, on the replica that did not run it: 422.
  EXPECT_EQ(rawhttp::status_of(post(ports[1], "place", R"({"item":"pear","quantity":1})", "shared-1")), 422);
  EXPECT_EQ(runs.place.load(), 1);
}

TEST_F(Replicas, postgres_stopped_mid_run_refuses_calls_503_and_they_are_served_once_it_is_back) {
  pit::testing::PostgresCluster pg;
  hosts.push_back(replica(pg.url(), "a"));
  const unsigned short port = hosts[0]->http_port();
  ASSERT_EQ(rawhttp::status_of(post(port, "place", R"({"item":"apple","quantity":1})", "before")), 200);
  pg.down();
  const auto refused = post(port, "place", R"({"item":"apple","quantity":1})", "during");
  EXPECT_EQ(rawhttp::status_of(refused), 503) << refused;
  EXPECT_NE(rawhttp::body_of(refused).find("\"retryable\":true"), std::string::npos) << refused;
  EXPECT_EQ(runs.place.load(), 1) << "never run undeduplicated";
  pg.up();
  const auto served = post(port, "place", R"({"item":"apple","quantity":1})", "during");
  EXPECT_EQ(rawhttp::status_of(served), 200) << served;
  EXPECT_EQ(runs.place.load(), 2);
  const auto replay = post(port, "place", R"({"item":"apple","quantity":1})", "before");
  EXPECT_EQ(rawhttp::header_of(replay, "Idempotent-Replayed"), "true") << "what was stored before the stop is kept";
}

TEST_F(Replicas, transactional_exception_on_postgres_rolls_back_the_writes_and_the_retry_runs_cleanly) {
  hosts.push_back(replica(fresh_schema_url(pit::testing::shared_postgres_url()), "a"));
  const unsigned short port = hosts[0]->http_port();
  const auto failed = post(port, "book", R"({"item":"apple","quantity":3,"note":"throw"})", "book-1");
  EXPECT_EQ(rawhttp::status_of(failed), 500) << failed;
  const auto ok = post(port, "book", R"({"item":"apple","quantity":3,"note":""})", "book-2");
  ASSERT_EQ(rawhttp::status_of(ok), 200) << ok;
  EXPECT_NE(rawhttp::body_of(ok).find("\"rows\":1"), std::string::npos) << "the failed call left a row: " << ok;
  const auto replay = post(port, "book", R"({"item":"apple","quantity":3,"note":""})", "book-2");
  EXPECT_EQ(rawhttp::header_of(replay, "Idempotent-Replayed"), "true");
  EXPECT_EQ(rawhttp::body_of(replay), rawhttp::body_of(ok));
  EXPECT_EQ(runs.book.load(), 2);
}

// One I/O thread: while a transactional call's statement sleeps 0.8 s in the server,
// another call to the same host is answered at once.
TEST_F(Replicas, a_slow_statement_never_holds_up_another_call_on_the_same_io_thread) {
  hosts.push_back(replica(fresh_schema_url(pit::testing::shared_postgres_url()), "a", 1));
  const unsigned short port = hosts[0]->http_port();
  ASSERT_EQ(rawhttp::status_of(post(port, "book", R"({"item":"warm","quantity":1})", "warm")), 200);
  const auto start = std::chrono::steady_clock::now();
  std::thread slow([&] { post(port, "book", R"({"item":"apple","quantity":1,"note":"sleep"})", "slow-1"); });
  while (runs.book.load() < 2) std::this_thread::sleep_for(2ms);
  const auto quick = post(port, "place", R"({"item":"apple","quantity":1})", "quick-1");
  const auto took = std::chrono::steady_clock::now() - start;
  slow.join();
  EXPECT_EQ(rawhttp::status_of(quick), 200) << quick;
  EXPECT_LT(took, 600ms) << "the other call waited for the sleeping statement";
  EXPECT_GE(std::chrono::steady_clock::now() - start, 800ms);
}

}  // namespace pg_replicas_test
