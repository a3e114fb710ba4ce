// The deduplication policy, over real HTTP and in-process, on the SQLite store: one run per
// key, replays byte-identical and marked, 422 before 409, keys isolated per operation and
// principal, refusals never stored, a dead claim taken over, transactional rollback, the
// store unavailable refusing calls, hostile keys, and pit's own client sending one key
// across retries.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/describe.hpp>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "call/call_access.hpp"
#include "durability/fingerprint.hpp"
#include "durability/sqlite_store.hpp"
#include "pit/asio.hpp"
#include "pit/durable.hpp"
#include "pit/pit.hpp"
#include "support/fake_replica.hpp"
#include "support/raw_http.hpp"

namespace dedup_test {

struct Charge {
  std::string account;
  std::int64_t cents = 0;
  std::string note;  // "slow:<ms>", "missing", "flaky", "throw"
};
BOOST_DESCRIBE_STRUCT(Charge, (), (account, cents, note))

struct Charged {
  std::string id;
  std::int64_t cents = 0;
  std::int64_t rows = 0;
};
BOOST_DESCRIBE_STRUCT(Charged, (), (id, cents, rows))

class Payments {
 public:
  virtual ~Payments() = default;

 protected:
  virtual pit::Task<Charged> charge(Charge) = 0;
  virtual pit::Task<Charged> refund(Charge) = 0;
  virtual pit::Task<Charged> tip(Charge) = 0;
  virtual pit::Task<Charged> book(Charge) = 0;
};
PIT_CONTRACT(Payments, "test.v1.Payments",
             (charge, pit::OpSpec{}.anonymous("test").raises(pit::Code::not_found, pit::Code::unavailable)
                         .deduplicated(std::chrono::hours(1))),
             (refund, pit::OpSpec{}.anonymous("test").deduplicated()),
             (tip, pit::OpSpec{}.anonymous("test").deduplicated(std::chrono::milliseconds(0), pit::OpSpec::Key::optional)),
             (book, pit::OpSpec{}.anonymous("test").deduplicated().transactional()));

struct Runs {
  std::atomic<int> charge{0};
  std::atomic<int> refund{0};
  std::atomic<int> tip{0};
  std::atomic<int> book{0};
  std::atomic<int> flaky_left{0};
};

class PaymentsService final : public Payments {
 public:
  explicit PaymentsService(Runs& runs) : runs_(runs) {}

 private:
  pit::Task<Charged> charge(Charge c) override {
    const int n = ++runs_.charge;
    if (c.note.rfind("slow:", 0) == 0) {
      boost::asio::steady_timer timer{pit::io_executor(), std::chrono::milliseconds(std::stoi(c.note.substr(5)))};
      co_await timer.async_wait(pit::use_task);
    }
    if (c.note == "missing") throw pit::Fault::not_found("no such account");
    if (c.note == "flaky" && runs_.flaky_left.fetch_sub(1) > 0) {
      throw pit::Fault::unavailable("try again").with(pit::Fault::retryable);
    }
    co_return Charged{"ch-" + std::to_string(n), c.cents, 0};
  }
  pit::Task<Charged> refund(Charge c) override {
    const int n = ++runs_.refund;
    co_return Charged{"re-" + std::to_string(n), c.cents, 0};
  }
  pit::Task<Charged> tip(Charge c) override {
    const int n = ++runs_.tip;
    co_return Charged{"tip-" + std::to_string(n), c.cents, 0};
  }
  pit::Task<Charged> book(Charge c) override {
    ++runs_.book;
    auto& tx = pit::durable::Transaction::current();
    // Statements and parameters named before the co_await (GCC 12, docs/contracts.md).
    std::string create = "CREATE TABLE IF NOT EXISTS ledger (account TEXT NOT NULL, cents INTEGER NOT NULL)";
    co_await tx.execute(std::move(create));
    std::string insert = "INSERT INTO ledger (account, cents) VALUES ($1, $2)";
    std::vector<pit::durable::Value> params{c.account, c.cents};
    co_await tx.execute(std::move(insert), std::move(params));
    if (c.note == "throw") throw std::runtime_error("failed after the write");
    std::string count = "SELECT count(*) FROM ledger";
    auto rows = co_await tx.execute(std::move(count));
    co_return Charged{"bk", c.cents, std::get<std::int64_t>(rows.rows.at(0).at(0))};
  }
  Runs& runs_;
};

std::string fresh_db() {
  static int n = 0;
  const auto dir = std::filesystem::temp_directory_path() / ("pit-dedup-policy-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / ("host-" + std::to_string(++n) + ".sqlite")).string();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

class Dedup : public ::testing::Test {
 protected:
  virtual void configure(pit::HostOptions&) {}
  void SetUp() override {
    pit::HostOptions o;
    o.http.listen = "127.0.0.1:0";
    o.admin.listen = "127.0.0.1:0";
    o.io_threads = 2;
    o.log_sink = std::make_shared<pit::log::MemorySink>();
    db = fresh_db();
    o.durability.sqlite_path = db;
    configure(o);
    host = std::make_unique<pit::Host>(o);
    host->serve<Payments, PaymentsService>(runs);
    host->start();
    port = host->http_port();
  }
  void TearDown() override {
    if (host) host->stop();
  }

  std::string post(const std::string& op, const std::string& body, const std::string& headers) const {
    rawhttp::Connection c{port};
    c.send(rawhttp::post("/test.v1.Payments/" + op, body, headers));
    return c.read_response();
  }
  static std::string key(const std::string& k) { return "Idempotency-Key: " + k + "\r\n"; }
  long metric(const std::string& result) const {
    rawhttp::Connection c{host->admin_port()};
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string page = rawhttp::body_of(c.read_response());
    const std::string needle = "pit_dedup_calls_total{contract=\"test.v1.Payments\",operation=\"charge\",result=\"" + result + "\"} ";
    const auto at = page.find(needle);
    return at == std::string::npos ? 0 : std::stol(page.substr(at + needle.size()));
  }

  Runs runs;
  std::string db;
  std::unique_ptr<pit::Host> host;
  unsigned short port = 0;
};

TEST_F(Dedup, fifty_concurrent_requests_with_one_new_key_run_the_implementation_once) {
  constexpr int kCalls = 50;
  std::vector<std::string> answers(kCalls);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    callers.emplace_back([&, i] {
      answers[i] = post("charge", R"({"account":"acme","cents":500,"note":"slow:300"})", key("\"fifty-1\""));
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(runs.charge.load(), 1);
  int ok = 0;
  int running = 0;
  std::string body;
  for (const auto& a : answers) {
    const int status = rawhttp::status_of(a);
    if (status == 200) {
      ++ok;
      if (body.empty()) body = rawhttp::body_of(a);
      EXPECT_EQ(rawhttp::body_of(a), body);
    } else {
      EXPECT_EQ(status, 409) << a;
      EXPECT_EQ(rawhttp::header_of(a, "Retry-After"), "1");
      EXPECT_NE(rawhttp::body_of(a).find("\"retryable\":true"), std::string::npos) << a;
      ++running;
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_EQ(ok + running, kCalls);
  EXPECT_EQ(metric("first"), 1);
  EXPECT_EQ(metric("running") + metric("replay"), kCalls - 1);
}

TEST_F(Dedup, a_replay_is_byte_identical_marked_and_does_not_run_the_implementation) {
  const auto first = post("charge", R"({"account":"acme","cents":500,"note":""})", key("\"replay-1\""));
  ASSERT_EQ(rawhttp::status_of(first), 200) << first;
  EXPECT_EQ(rawhttp::header_of(first, "Idempotent-Replayed"), "");
  // The same request with its fields reordered and spaced out: the same fingerprint.
  const auto again = post("charge", "{ \"note\":\"\",\n \"cents\": 500, \"account\" : \"acme\" }", key("replay-1"));
  ASSERT_EQ(rawhttp::status_of(again), 200) << again;
  EXPECT_EQ(rawhttp::header_of(again, "Idempotent-Replayed"), "true");
  EXPECT_EQ(rawhttp::body_of(again), rawhttp::body_of(first));
  EXPECT_EQ(runs.charge.load(), 1);
  EXPECT_EQ(metric("replay"), 1);
}

TEST_F(Dedup, a_settled_fault_is_replayed_and_not_run_again) {
  const auto first = post("charge", R"({"account":"acme","cents":1,"note":"missing"})", key("fault-1"));
  ASSERT_EQ(rawhttp::status_of(first), 404) << first;
  const auto again = post("charge", R"({"account":"acme","cents":1,"note":"missing"})", key("fault-1"));
  EXPECT_EQ(rawhttp::status_of(again), 404) << again;
  EXPECT_EQ(rawhttp::header_of(again, "Idempotent-Replayed"), "true");
  EXPECT_NE(rawhttp::body_of(again).find("no such account"), std::string::npos);
  EXPECT_EQ(runs.charge.load(), 1);
}

TEST_F(Dedup, another_request_under_a_key_is_422_before_409) {
  std::thread slow([&] { post("charge", R"({"account":"acme","cents":5,"note":"slow:400"})", key("busy-1")); });
  while (runs.charge.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto other = post("charge", R"({"account":"acme","cents":6,"note":"slow:400"})", key("busy-1"));
  const auto same = post("charge", R"({"account":"acme","cents":5,"note":"slow:400"})", key("busy-1"));
  slow.join();
  EXPECT_EQ(rawhttp::status_of(other), 422) << other;
  EXPECT_NE(rawhttp::body_of(other).find("\"code\":\"failed_precondition\""), std::string::npos) << other;
  EXPECT_NE(rawhttp::body_of(other).find("idempotency_key_reused"), std::string::npos) << other;
  EXPECT_EQ(rawhttp::status_of(same), 409) << same;
  EXPECT_NE(rawhttp::body_of(same).find("\"code\":\"aborted\""), std::string::npos) << same;
  // Settled now: another request is still 422.
  EXPECT_EQ(rawhttp::status_of(post("charge", R"({"account":"acme","cents":6,"note":""})", key("busy-1"))), 422);
  EXPECT_EQ(runs.charge.load(), 1);
  EXPECT_EQ(metric("mismatch"), 2);
}

TEST_F(Dedup, keys_are_isolated_per_operation) {
  ASSERT_EQ(rawhttp::status_of(post("charge", R"({"account":"a","cents":1})", key("shared-1"))), 200);
  const auto refund = post("refund", R"({"account":"a","cents":1})", key("shared-1"));
  ASSERT_EQ(rawhttp::status_of(refund), 200);
  EXPECT_EQ(rawhttp::header_of(refund, "Idempotent-Replayed"), "");
  EXPECT_EQ(runs.charge.load(), 1);
  EXPECT_EQ(runs.refund.load(), 1);
}

TEST_F(Dedup, keys_are_isolated_per_principal) {
  auto payments = host->client<Payments>();
  const auto as = [&](const std::string& who) {
    pit::CallerScope scope{{.identity = pit::service_identity(who, {}), .idempotency_key = "same-key"}};
    return pit::block_on(payments->charge({"a", 1, ""}));
  };
  const auto alice = as("alice");
  const auto bob = as("bob");
  const auto alice_again = as("alice");
  EXPECT_EQ(runs.charge.load(), 2);
  EXPECT_NE(alice.id, bob.id);
  EXPECT_EQ(alice_again.id, alice.id);
}

TEST_F(Dedup, a_required_key_that_is_missing_is_invalid_argument_and_nothing_runs) {
  const auto r = post("charge", R"({"account":"a","cents":1})", "");
  EXPECT_EQ(rawhttp::status_of(r), 400) << r;
  EXPECT_NE(rawhttp::body_of(r).find("Idempotency-Key"), std::string::npos) << r;
  EXPECT_EQ(runs.charge.load(), 0);
}

TEST_F(Dedup, an_optional_key_that_is_missing_runs_undeduplicated) {
  EXPECT_EQ(rawhttp::status_of(post("tip", R"({"account":"a","cents":1})", "")), 200);
  EXPECT_EQ(rawhttp::status_of(post("tip", R"({"account":"a","cents":1})", "")), 200);
  EXPECT_EQ(runs.tip.load(), 2);
  EXPECT_EQ(rawhttp::status_of(post("tip", R"({"account":"a","cents":1})", key("t-1"))), 200);
  EXPECT_EQ(rawhttp::status_of(post("tip", R"({"account":"a","cents":1})", key("t-1"))), 200);
  EXPECT_EQ(runs.tip.load(), 3);
}

TEST_F(Dedup, hostile_keys_are_invalid_argument_and_nothing_runs) {
  const std::vector<std::string> hostile = {
      key(std::string(256, 'a')),          // too long
      key("\"" + std::string(256, 'a') + "\""),
      key("\"unterminated"),
      key("\"a\"b\""),                     // not one sf-string
      key("\"abc\";x=1"),                  // a parameter
      key("\"a\\\"b\""),                   // an escape
      key("two words"),
      key("caf\xc3\xa9"),                  // not ASCII
      key("a,b"),
      key("\"\""),                         // empty
      key("tab\there"),
      key("x") + key("y"),                 // two headers
      "Idempotency-Key: \r\n",             // empty header
  };
  for (const auto& headers : hostile) {
    const auto r = post("charge", R"({"account":"a","cents":1})", headers);
    EXPECT_EQ(rawhttp::status_of(r), 400) << headers << "\n" << r;
    EXPECT_EQ(r.find("aaaaaaaaaaaaaaaaaaaaaaaa"), std::string::npos) << "the key is echoed: " << r;
  }
  EXPECT_EQ(runs.charge.load(), 0);
  // The longest key there may be, quoted or not, is one key.
  const std::string longest(255, 'k');
  EXPECT_EQ(rawhttp::status_of(post("charge", R"({"account":"a","cents":1})", key(longest))), 200);
  const auto quoted = post("charge", R"({"account":"a","cents":1})", key("\"" + longest + "\""));
  EXPECT_EQ(rawhttp::header_of(quoted, "Idempotent-Replayed"), "true");
  EXPECT_EQ(runs.charge.load(), 1);
}

TEST_F(Dedup, a_retryable_fault_releases_the_key_and_the_retry_runs) {
  runs.flaky_left = 1;
  const auto first = post("charge", R"({"account":"a","cents":1,"note":"flaky"})", key("flaky-1"));
  EXPECT_EQ(rawhttp::status_of(first), 503) << first;
  const auto retry = post("charge", R"({"account":"a","cents":1,"note":"flaky"})", key("flaky-1"));
  EXPECT_EQ(rawhttp::status_of(retry), 200) << retry;
  EXPECT_EQ(rawhttp::header_of(retry, "Idempotent-Replayed"), "");
  EXPECT_EQ(runs.charge.load(), 2);
}

TEST_F(Dedup, a_claim_whose_lease_passed_is_taken_over) {
  // A process that claimed the key and died: its claim is in the file, its lease over.
  {
    pit::detail::durability::SqliteStoreOptions so;
    so.path = db;
    so.purge_interval = std::chrono::milliseconds(0);
    auto dead = pit::detail::durability::make_sqlite_store(so);
    pit::detail::durability::ClaimRequest r;
    r.key = {"-|test.v1.Payments/charge", pit::detail::durability::sha256_hex("dead-1")};
    r.fingerprint = "whatever it was";
    r.owner = "the-dead-process";
    r.now = pit::detail::durability::WallClock::now();
    r.lease_until = r.now + std::chrono::milliseconds(1);
    ASSERT_EQ(pit::block_on(dead->claim(r)).status, pit::detail::durability::ClaimStatus::claimed);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto r = post("charge", R"({"account":"a","cents":1})", key("dead-1"));
  EXPECT_EQ(rawhttp::status_of(r), 200) << r;
  EXPECT_EQ(runs.charge.load(), 1);
  EXPECT_EQ(metric("takeover"), 1);
}

TEST_F(Dedup, a_transactional_exception_rolls_back_the_writes_and_the_retry_runs_cleanly) {
  const auto failed = post("book", R"({"account":"a","cents":7,"note":"throw"})", key("book-1"));
  EXPECT_EQ(rawhttp::status_of(failed), 500) << failed;
  const auto retry = post("book", R"({"account":"a","cents":7,"note":"throw"})", key("book-1"));
  EXPECT_EQ(rawhttp::status_of(retry), 500) << "a rolled-back call is not replayed: " << retry;
  EXPECT_EQ(runs.book.load(), 2);
  const auto ok = post("book", R"({"account":"a","cents":7,"note":""})", key("book-2"));
  ASSERT_EQ(rawhttp::status_of(ok), 200) << ok;
  EXPECT_NE(rawhttp::body_of(ok).find("\"rows\":1"), std::string::npos) << "the failed calls left a row: " << ok;
  const auto replay = post("book", R"({"account":"a","cents":7,"note":""})", key("book-2"));
  EXPECT_EQ(rawhttp::body_of(replay), rawhttp::body_of(ok));
  EXPECT_EQ(rawhttp::header_of(replay, "Idempotent-Replayed"), "true");
  EXPECT_EQ(runs.book.load(), 3);
}

TEST_F(Dedup, in_process_calls_get_a_key_each_and_a_callers_own_key_wins) {
  auto payments = host->client<Payments>();
  const auto one = pit::block_on(payments->charge({"a", 1, ""}));
  const auto two = pit::block_on(payments->charge({"a", 1, ""}));
  EXPECT_NE(one.id, two.id);  // two logical calls, two generated keys
  EXPECT_EQ(runs.charge.load(), 2);
  pit::CallerScope scope{{.idempotency_key = "job-42"}};
  const auto mine = pit::block_on(payments->charge({"a", 1, ""}));
  const auto again = pit::block_on(payments->charge({"a", 1, ""}));
  EXPECT_EQ(mine.id, again.id);
  EXPECT_EQ(runs.charge.load(), 3);
}

// The store unavailable: another connection holds the file's lock past the busy timeout.
class DedupStoreDown : public Dedup {
 protected:
  void configure(pit::HostOptions& o) override { o.durability.sqlite_busy_timeout = std::chrono::milliseconds(50); }
};

TEST_F(DedupStoreDown, a_store_that_cannot_answer_refuses_the_call_with_503_and_nothing_runs) {
  sqlite3* blocker = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &blocker), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(blocker, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto r = post("charge", R"({"account":"a","cents":1})", key("down-1"));
  sqlite3_exec(blocker, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(blocker);
  EXPECT_EQ(rawhttp::status_of(r), 503) << r;
  EXPECT_NE(rawhttp::body_of(r).find("\"retryable\":true"), std::string::npos) << r;
  EXPECT_EQ(runs.charge.load(), 0);
  EXPECT_EQ(metric("store_unavailable"), 1);
  // Back: the same key runs (the refusal was not stored).
  EXPECT_EQ(rawhttp::status_of(post("charge", R"({"account":"a","cents":1})", key("down-1"))), 200);
  EXPECT_EQ(runs.charge.load(), 1);
}

// An admission refusal (503) happens before the key is claimed: not stored, not replayed.
class DedupAdmission : public Dedup {
 protected:
  void configure(pit::HostOptions& o) override {
    o.operations["test.v1.Payments/charge"].max_in_flight = 1;
    o.operations["test.v1.Payments/charge"].max_queue = 0;
  }
};

TEST_F(DedupAdmission, a_503_admission_refusal_is_not_stored) {
  std::thread slow([&] { post("charge", R"({"account":"a","cents":1,"note":"slow:300"})", key("hold-1")); });
  while (runs.charge.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto refused = post("charge", R"({"account":"b","cents":2})", key("refused-1"));
  slow.join();
  EXPECT_EQ(rawhttp::status_of(refused), 503) << refused;
  const auto later = post("charge", R"({"account":"b","cents":2})", key("refused-1"));
  EXPECT_EQ(rawhttp::status_of(later), 200) << later;
  EXPECT_EQ(rawhttp::header_of(later, "Idempotent-Replayed"), "");
  EXPECT_EQ(runs.charge.load(), 2);
}

// pit's own HTTP client: one key for every attempt of a logical call, the caller's if given.
TEST_F(Dedup, the_http_client_keeps_one_key_across_retries_and_a_callers_key_wins) {
  pit::HostOptions o;
  o.log_sink = std::make_shared<pit::log::MemorySink>();
  o.io_threads = 1;
  pit::Host front{o};
  auto remote = front.client<Payments>("http://127.0.0.1:" + std::to_string(port));
  front.start();
  // The first attempt fails retryably (the key is released) and the client retries: a
  // deduplicated operation is retried like an idempotent one.
  runs.flaky_left = 1;
  (void)pit::block_on(remote->charge({"a", 1, "flaky"}));
  EXPECT_EQ(runs.charge.load(), 2);
  // The caller's key: the second logical call with it is a replay, and it is the key the
  // server saw (a request sent with it by hand is a replay too).
  {
    pit::CallerScope scope{{.idempotency_key = "front-1"}};
    const auto first = pit::block_on(remote->charge({"a", 3, ""}));
    const auto replay = pit::block_on(remote->charge({"a", 3, ""}));
    EXPECT_EQ(first.id, replay.id);
  }
  EXPECT_EQ(runs.charge.load(), 3);
  const auto direct = post("charge", R"({"account":"a","cents":3,"note":""})", key("front-1"));
  EXPECT_EQ(rawhttp::header_of(direct, "Idempotent-Replayed"), "true") << "the client sent another key: " << direct;
  front.stop();
}

// The OpenAPI document tells other languages' callers about the key and the answers.
TEST_F(Dedup, the_openapi_document_declares_the_key_the_replay_header_409_and_422) {
  const auto doc = boost::json::parse(host->openapi());
  const auto& paths = doc.at("paths").as_object();
  const auto param = [&](const std::string& op) -> const boost::json::object* {
    for (const auto& p : paths.at("/test.v1.Payments/" + op).at("post").at("parameters").as_array()) {
      if (p.at("name") == "Idempotency-Key") return &p.as_object();
    }
    return nullptr;
  };
  ASSERT_NE(param("charge"), nullptr);
  EXPECT_EQ(param("charge")->at("required"), true);
  ASSERT_NE(param("tip"), nullptr);
  EXPECT_EQ(param("tip")->at("required"), false);
  const auto& charge = paths.at("/test.v1.Payments/charge").at("post").as_object();
  const auto& responses = charge.at("responses").as_object();
  EXPECT_TRUE(responses.contains("409"));
  EXPECT_TRUE(responses.contains("422"));
  EXPECT_TRUE(responses.at("409").at("headers").as_object().contains("Retry-After"));
  EXPECT_TRUE(responses.at("200").at("headers").as_object().contains("Idempotent-Replayed"));
  EXPECT_EQ(charge.at("x-pit-deduplicated"), true);
}

// pit's client against a scripted server that sees every attempt's headers.
class DedupClient : public ::testing::Test {
 protected:
  pit::HostOptions options() {
    pit::HostOptions o;
    o.log_sink = std::make_shared<pit::log::MemorySink>();
    o.io_threads = 1;
    o.clients["test.v1.Payments"].retry.backoff_base = std::chrono::milliseconds(1);
    return o;
  }
  fake::Reply charged() {
    fake::Reply r;
    r.body = R"({"id":"ch-1","cents":1,"rows":0})";
    return r;
  }
  std::mutex mutex;
  std::vector<std::string> keys;
};

TEST_F(DedupClient, an_answer_lost_after_the_write_is_sent_again_with_the_same_key) {
  std::atomic<int> n{0};
  fake::Replica replica{[&](const fake::Request& r) {
    {
      std::lock_guard lock(mutex);
      keys.push_back(r.idempotency_key);
    }
    fake::Reply reply = charged();
    reply.drop = n.fetch_add(1) == 0;  // the first answer is lost
    return reply;
  }};
  pit::Host front{options()};
  auto remote = front.client<Payments>(replica.url());
  front.start();
  EXPECT_EQ(pit::block_on(remote->charge({"a", 1, ""})).id, "ch-1");
  (void)pit::block_on(remote->charge({"a", 1, ""}));
  front.stop();
  std::lock_guard lock(mutex);
  ASSERT_EQ(keys.size(), 3U) << "a deduplicated call is retried after a write, like an idempotent one";
  EXPECT_EQ(keys[0], keys[1]) << "every attempt of one call carries one key";
  EXPECT_NE(keys[1], keys[2]) << "another logical call, another key";
  for (const auto& k : keys) {
    EXPECT_EQ(k.size(), 34U) << k;  // an sf-string: "<32 hex digits>"
    EXPECT_EQ(k.front(), '"');
    EXPECT_EQ(k.back(), '"');
  }
}

TEST_F(DedupClient, a_deduplicated_call_is_never_hedged) {
  std::atomic<int> requests{0};
  fake::Replica slow{[&](const fake::Request&) {
    ++requests;
    fake::Reply reply = charged();
    reply.delay = std::chrono::milliseconds(200);
    return reply;
  }};
  fake::Replica fast{[&](const fake::Request&) {
    ++requests;
    return charged();
  }};
  auto o = options();
  auto& client = o.clients["test.v1.Payments"];
  client.balancer = pit::Balancer::round_robin;
  client.hedge.mode = pit::Hedge::fixed;
  client.hedge.delay = std::chrono::milliseconds(20);
  pit::Host front{o};
  auto remote = front.client<Payments>(std::vector<std::string>{slow.url(), fast.url()});
  front.start();
  for (int i = 0; i < 2; ++i) (void)pit::block_on(remote->charge({"a", 1, ""}));
  front.stop();
  EXPECT_EQ(slow.requests.load(), 1) << "round robin sent one call to the slow replica";
  EXPECT_EQ(requests.load(), 2) << "one attempt per call: no hedge";
}

}  // namespace dedup_test
