// The PostgreSQL store of deduplicated operations: one database shared by every replica of a
// service, so a key claimed on one replica is seen by all (docs/durability.md).
//
// libpq's asynchronous API on an Asio loop of the store's own: connections are opened with
// PQconnectStart/PQconnectPoll and statements sent with PQsendQueryParams, their sockets
// awaited for readability and writability; no I/O thread ever blocks on the database. A
// caller hops to the store's thread for the statement and is resumed on its own I/O thread.
// libpq stays inside postgres_store.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "durability/store.hpp"

namespace pit::detail::durability {

struct PostgresStoreOptions {
  std::string url;              // a libpq connection string or postgresql:// URI
  std::size_t connections = 4;  // at most this many open at once; a call waits for a free one
  // Bounds the statements of a call that has no deadline. A settle or a release (and a
  // Unit's commit) records an outcome already produced: it gets at least this long, even
  // when the call's deadline is nearer or past.
  std::chrono::milliseconds statement_timeout{5'000};
  std::string table = "pit_dedup";  // created at the first connection if missing
  // Expired records and claims past their lease are deleted this often, on the store's
  // thread; zero: only purge() purges.
  std::chrono::milliseconds purge_interval{0};
};

// Opens no connection yet: the first statement does (and creates the table). Destroying the
// store closes its connections; no call may still be using it, nor a Unit it began.
std::unique_ptr<Store> make_postgres_store(PostgresStoreOptions options);

// The connection string with its password replaced by "***" (password=... in the key/value
// form, user:password@ in the URI form, password= in a URI's query): what logs may show.
std::string redact_postgres_url(std::string_view url);

}  // namespace pit::detail::durability
