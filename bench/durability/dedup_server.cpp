// dedup_server — the load-test target of bench/durability/run.sh: one trivial coroutine
// operation declared twice, plain and deduplicated (docs/durability.md), served through
// pit's default pipeline by pit's HTTP/1.1 transport, so the difference between the two is
// what deduplication adds to a call: the claim, the fingerprint, the settle (a first call),
// or the claim that finds the settled reply (a replay).
//
//   dedup_server PORT sqlite FILE      the embedded store, in FILE (created)
//   dedup_server PORT postgres URL     the PostgreSQL store (a libpq connection string)
//
//   POST /bench.v1.Ledger/plain           {"text":"hello, world","n":42}
//   POST /bench.v1.Ledger/deduplicated    the same, with an Idempotency-Key header
//
// Call lines are formatted and dropped (the cost of logging without the I/O), as in
// bench/http/pit_server.cpp; one I/O thread. Listens on 127.0.0.1:PORT until SIGTERM/SIGINT.
#include <boost/describe.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

#include "pit/pit.hpp"

namespace bench::v1 {

struct Entry {
  std::string text;
  int n = 0;
};
BOOST_DESCRIBE_STRUCT(Entry, (), (text, n))

class Ledger {
 public:
  virtual ~Ledger() = default;
 protected:
  virtual pit::Task<Entry> plain(Entry) = 0;
  virtual pit::Task<Entry> deduplicated(Entry) = 0;
};
PIT_CONTRACT(Ledger, "bench.v1.Ledger", (plain, pit::OpSpec{}.anonymous("bench")),
             (deduplicated, pit::OpSpec{}.anonymous("bench").deduplicated(std::chrono::hours(1))));

class LedgerService final : public Ledger {
  // The same work for both: echo the text, n + 1.
  pit::Task<Entry> plain(Entry e) override { co_return Entry{std::move(e.text), e.n + 1}; }
  pit::Task<Entry> deduplicated(Entry e) override { co_return Entry{std::move(e.text), e.n + 1}; }
};

}  // namespace bench::v1

int main(int argc, char** argv) {
  const std::string_view store = argc == 4 ? argv[2] : "";
  if (store != "sqlite" && store != "postgres") {
    std::cerr << "usage: dedup_server PORT sqlite FILE | dedup_server PORT postgres URL\n";
    return 2;
  }
  pit::HostOptions options;
  options.io_threads = 1;
  options.http.listen = std::string("127.0.0.1:") + argv[1];
  options.log_sink = pit::log::discard_sink();
  if (store == "sqlite") {
    options.durability.store = pit::DedupStore::sqlite;
    options.durability.sqlite_path = argv[3];
  } else {
    options.durability.store = pit::DedupStore::postgres;
    options.durability.postgres_url = argv[3];
  }
  pit::Host host{options};
  host.serve<bench::v1::Ledger, bench::v1::LedgerService>();
  return host.run();
}
