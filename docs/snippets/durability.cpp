// Snippets of docs/durability.md: a deduplicated operation, a caller's own idempotency key,
// the store's configuration, a transactional operation whose writes roll back with it.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/describe.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <unistd.h>

#include "pit/durable.hpp"  // pit::durable::Transaction: not part of pit/pit.hpp
#include "pit/pit.hpp"

using namespace std::chrono_literals;

namespace pay::v1 {

struct Charge {
  std::string card;
  int cents = 0;
};
BOOST_DESCRIBE_STRUCT(Charge, (), (card, cents))

struct Charged {
  std::string charge_id;
};
BOOST_DESCRIBE_STRUCT(Charged, (), (charge_id))

struct Balance {
  std::string card;
};
BOOST_DESCRIBE_STRUCT(Balance, (), (card))

struct Total {
  std::int64_t cents = 0;
  std::int64_t charges = 0;
};
BOOST_DESCRIBE_STRUCT(Total, (), (cents, charges))

class Payments {
 public:
  virtual ~Payments() = default;
 protected:
  virtual pit::Task<Charged> charge(Charge) = 0;
  virtual pit::Task<Charged> charge_in_ledger(Charge) = 0;
  virtual pit::Task<Total> total(Balance) = 0;
};
// [declare]
PIT_CONTRACT(Payments, "pay.v1.Payments",
             // Charging twice is not "the same as once": deduplicated, so a caller that lost
             // the answer retries with the same key and gets the first answer back.
             (charge, pit::OpSpec{}
                          .anonymous("guide example")
                          .deduplicated(24h)  // key required; replies kept for a day
                          .raises(pit::Code::invalid_argument)),
             // Its writes commit in one transaction with the stored reply.
             (charge_in_ledger, pit::OpSpec{}
                                    .anonymous("guide example")
                                    .deduplicated(24h)
                                    .transactional()
                                    .raises(pit::Code::invalid_argument)),
             (total, pit::OpSpec{}.anonymous("guide example").deduplicated(
                         1h, pit::OpSpec::Key::optional).transactional()));
// [/declare]

class PaymentsService final : public Payments {
 public:
  explicit PaymentsService(std::atomic<int>* charges) : charges_(charges) {}

 private:
  pit::Task<Charged> charge(Charge request) override {
    if (request.cents <= 0) throw pit::Fault::invalid_argument("cents must be positive");
    const int n = ++*charges_;  // how many times charge() really ran
    co_return Charged{"ch-" + std::to_string(n)};
  }

  // [transactional]
  pit::Task<Charged> charge_in_ledger(Charge request) override {
    auto& tx = pit::durable::Transaction::current();  // this call's transaction
    // Named, then awaited (GCC 12 and temporaries in a co_await: docs/contracts.md).
    pit::Task<pit::durable::Rows> insert = tx.execute("INSERT INTO ledger (card, cents) VALUES ($1, $2)",
                                                      {request.card, std::int64_t{request.cents}});
    pit::durable::Rows inserted = co_await std::move(insert);
    if (request.cents > 100'000) {
      // Any exception or fault: the INSERT above is rolled back, no reply is stored, and a
      // retry with the same key runs again on clean data.
      throw std::runtime_error("over the card's limit");
    }
    co_return Charged{"ledger-" + std::to_string(inserted.affected)};
  }
  // [/transactional]

  pit::Task<Total> total(Balance request) override {
    auto& tx = pit::durable::Transaction::current();
    // A real service creates its tables with its migrations; here the first total() does.
    pit::Task<pit::durable::Rows> create =
        tx.execute("CREATE TABLE IF NOT EXISTS ledger (card TEXT NOT NULL, cents INTEGER NOT NULL)");
    (void)co_await std::move(create);
    pit::Task<pit::durable::Rows> select =
        tx.execute("SELECT COALESCE(SUM(cents), 0), COUNT(*) FROM ledger WHERE card = $1", {request.card});
    pit::durable::Rows rows = co_await std::move(select);
    co_return Total{std::get<std::int64_t>(rows.rows.at(0).at(0)), std::get<std::int64_t>(rows.rows.at(0).at(1))};
  }

  std::atomic<int>* charges_;
};

}  // namespace pay::v1

namespace {

// A store file of the test's own, removed at the end.
struct TempStore {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("pit-durability-guide-" + std::to_string(::getpid()) + "-" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".sqlite");
  ~TempStore() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ignored;
      std::filesystem::remove(path.string() + suffix, ignored);
    }
  }
};

pit::HostOptions options_for(const TempStore& file) {
  pit::HostOptions options;
  options.log_level = pit::log::Level::off;
  // [options]
  options.durability.store = pit::DedupStore::sqlite;  // the default: one file per service
  options.durability.sqlite_path = file.path.string();  // default: <service>.dedup.sqlite
  options.durability.retention = 24h;                   // unless the operation says
  options.durability.purge_interval = 1min;             // expired records deleted in the background
  // Several replicas share one PostgreSQL database instead:
  //   options.durability.store = pit::DedupStore::postgres;
  //   options.durability.postgres_url = "host=db.internal dbname=pay user=pay";
  // [/options]
  return options;
}

}  // namespace

TEST(DurabilityGuide, a_caller_that_keeps_its_key_gets_the_first_answer_and_the_charge_runs_once) {
  TempStore file;
  std::atomic<int> charges{0};  // outlives the host, which owns the service
  pit::Host host{options_for(file)};
  host.serve<pay::v1::Payments, pay::v1::PaymentsService>(&charges);
  host.start();
  auto payments = host.client<pay::v1::Payments>();
  // [own_key]
  // One logical call, one key: every try of it, in this process or after a restart,
  // carries the same key and gets the first try's answer.
  pit::CallerScope scope{{.idempotency_key = "order-42:charge"}};
  pay::v1::Charged first = pit::block_on(payments->charge({"4242", 1999}));
  pay::v1::Charged again = pit::block_on(payments->charge({"4242", 1999}));  // a retry
  // [/own_key]
  EXPECT_EQ(first.charge_id, again.charge_id);
  EXPECT_EQ(charges.load(), 1);
  host.stop();
}

TEST(DurabilityGuide, without_a_key_of_its_own_each_call_is_a_new_logical_call) {
  TempStore file;
  std::atomic<int> charges{0};  // outlives the host, which owns the service
  pit::Host host{options_for(file)};
  host.serve<pay::v1::Payments, pay::v1::PaymentsService>(&charges);
  host.start();
  auto payments = host.client<pay::v1::Payments>();
  // pit's client gives each call a key of its own (kept across its retries).
  EXPECT_NE(pit::block_on(payments->charge({"4242", 1})).charge_id, pit::block_on(payments->charge({"4242", 1})).charge_id);
  EXPECT_EQ(charges.load(), 2);
  host.stop();
}

TEST(DurabilityGuide, an_exception_in_a_transactional_operation_leaves_no_row_changed) {
  TempStore file;
  std::atomic<int> charges{0};  // outlives the host, which owns the service
  pit::Host host{options_for(file)};
  host.serve<pay::v1::Payments, pay::v1::PaymentsService>(&charges);
  host.start();
  auto payments = host.client<pay::v1::Payments>();
  EXPECT_EQ(pit::block_on(payments->total({"4242"})).charges, 0);
  (void)pit::block_on(payments->charge_in_ledger({"4242", 500}));
  try {
    (void)pit::block_on(payments->charge_in_ledger({"4242", 200'000}));
    ADD_FAILURE() << "expected the charge over the limit to fail";
  } catch (const pit::Fault& fault) {
    EXPECT_EQ(fault.code(), pit::Code::internal);  // undeclared: masked
  }
  const pay::v1::Total total = pit::block_on(payments->total({"4242"}));
  EXPECT_EQ(total.charges, 1);  // the failed call's INSERT was rolled back
  EXPECT_EQ(total.cents, 500);
  host.stop();
}
