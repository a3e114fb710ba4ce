// The embedded store of deduplicated operations: one SQLite file per service (WAL, a busy
// timeout, BEGIN IMMEDIATE), every statement on a thread of the store's own — never on an
// I/O thread — and the caller resumed on the I/O thread it came from. Settled records past
// their expiry (and claims past their lease) are purged by that thread every
// purge_interval. sqlite3.h stays in the .cpp.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "durability/store.hpp"

namespace pit::detail::durability {

struct SqliteStoreOptions {
  std::string path;                                  // the database file (created if missing)
  std::chrono::milliseconds busy_timeout{5'000};     // how long a write waits for another process's lock
  std::chrono::milliseconds purge_interval{60'000};  // zero: only purge() purges
};

// Opens (and creates) the file and its table; throws std::runtime_error naming the path
// when it cannot (a host that cannot keep its promises does not start).
std::unique_ptr<Store> make_sqlite_store(const SqliteStoreOptions& options);

}  // namespace pit::detail::durability
