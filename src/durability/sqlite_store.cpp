#include "durability/sqlite_store.hpp"

#include <sqlite3.h>

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "executors/executors.hpp"
#include "pit/log.hpp"

namespace pit::detail::durability {
namespace {

std::int64_t millis(WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The store cannot answer: the call is refused, and since nothing ran, a retry is safe.
[[noreturn]] void unavailable(sqlite3* db, std::string_view doing) {
  // Appended piece by piece: `"literal" + std::string` trips GCC 12's -Wrestrict false
  // positive in a Release build (-O3 -Werror).
  std::string cause = "sqlite: ";
  cause.append(doing);
  cause.append(": ");
  cause.append(db != nullptr ? sqlite3_errmsg(db) : "out of memory");
  throw Fault::unavailable("the deduplication store is unavailable")
      .with(Fault::retryable)
      .with(Fault::rejected)
      .with_cause(std::move(cause))
      .from(Fault::Origin::runtime);
}

// One connection to the file, used by one thread only (the thread that owns it).
class Connection {
 public:
  Connection(const std::string& path, std::chrono::milliseconds busy_timeout) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("pit: cannot open the deduplication store " + path + ": " + why);
    }
    // The busy timeout first: switching to WAL, and creating the table, take the lock that
    // another process opening the same file may hold at this moment.
    sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
    sqlite3_extended_result_codes(db_, 1);
    try {
      exec("PRAGMA journal_mode=WAL");
      // WAL with synchronous=NORMAL: a commit survives the process (kill -9), not a power
      // loss of the machine (the last commits before it may be lost).
      exec("PRAGMA synchronous=NORMAL");
      exec("CREATE TABLE IF NOT EXISTS pit_dedup ("
           " scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
           " state INTEGER NOT NULL,"        // 0 running (claimed), 1 settled
           " owner TEXT,"                    // running: the claim's owner
           " lease_until INTEGER NOT NULL,"  // running: ms since the epoch
           " expires INTEGER NOT NULL,"      // settled: ms since the epoch
           " code INTEGER NOT NULL, payload BLOB,"
           " PRIMARY KEY (scope, key)) WITHOUT ROWID");
    } catch (const Fault& f) {
      sqlite3_close(db_);
      throw std::runtime_error("pit: cannot open the deduplication store " + path + ": " + f.cause());
    }
  }
  ~Connection() {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  sqlite3* db() const noexcept { return db_; }

  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      sqlite3_free(error);
      unavailable(db_, sql);
    }
  }
  // A statement without parameters or rows (BEGIN IMMEDIATE, COMMIT), prepared once: the
  // claim runs two per call, and sqlite3_exec would parse them every time.
  void exec_cached(const char* sql) { run(statement(sql), sql); }
  // A prepared statement of the store's own, kept for the connection's life; reset and
  // unbound on each use.
  sqlite3_stmt* statement(const char* sql) {
    auto [it, inserted] = cache_.try_emplace(sql, nullptr);
    if (inserted && sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &it->second, nullptr) != SQLITE_OK) {
      cache_.erase(it);
      unavailable(db_, "prepare");
    }
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }
  // Steps a statement that returns no row (or whose rows are not wanted).
  void run(sqlite3_stmt* stmt, std::string_view doing) {
    int rc = SQLITE_ROW;
    while (rc == SQLITE_ROW) rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) unavailable(db_, doing);
  }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_blob(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p != nullptr ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string{};
}

// A thread with one connection and a queue of jobs. The store's writes all go through one
// such thread (so they never wait for each other's locks inside the process); a
// transactional call gets one of its own (its transaction holds the file's write lock).
class StoreThread {
 public:
  // The connection: null when the file could not be opened (every job then fails).
  using Job = std::function<void(Connection*)>;
  StoreThread(std::string path, std::chrono::milliseconds busy_timeout, std::chrono::milliseconds every = {},
              Job periodic = {})
      : every_(every), periodic_(std::move(periodic)) {
    thread_ = std::thread([this, path = std::move(path), busy_timeout] { loop(path, busy_timeout); });
  }
  ~StoreThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  StoreThread(const StoreThread&) = delete;
  StoreThread& operator=(const StoreThread&) = delete;

  // Blocks until the thread has opened its connection; rethrows why it could not. For a
  // store being built (a host starting), never on an I/O thread.
  void wait_open() {
    std::unique_lock lock(mutex_);
    wake_.wait(lock, [this] { return opened_; });
    if (open_error_) std::rethrow_exception(open_error_);
  }

  void post(Job job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_all();
  }

 private:
  void loop(const std::string& path, std::chrono::milliseconds busy_timeout) {
    // Opened here: opening touches the disk and may wait for another process's lock.
    std::optional<Connection> connection;
    std::exception_ptr error;
    try {
      connection.emplace(path, busy_timeout);
    } catch (...) {
      error = std::current_exception();
    }
    Connection* c = connection ? &*connection : nullptr;
    auto next_periodic = std::chrono::steady_clock::now() + every_;
    std::unique_lock lock(mutex_);
    opened_ = true;
    open_error_ = error;
    wake_.notify_all();
    for (;;) {
      if (every_.count() > 0 && c != nullptr) {
        wake_.wait_until(lock, next_periodic, [this] { return stopping_ || !jobs_.empty(); });
      } else {
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      }
      // Jobs already queued still run at the stop: each resumes a caller that waits.
      while (!jobs_.empty()) {
        Job job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job(c);
        lock.lock();
      }
      if (stopping_) break;
      if (every_.count() > 0 && c != nullptr && std::chrono::steady_clock::now() >= next_periodic) {
        lock.unlock();
        periodic_(c);
        lock.lock();
        next_periodic = std::chrono::steady_clock::now() + every_;
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  bool opened_ = false;
  std::exception_ptr open_error_;
  std::chrono::milliseconds every_;
  Job periodic_;
  std::thread thread_;
};

// co_await OnStoreThread<T>{thread, work}: runs work(connection) on the store's thread and
// resumes the caller on the I/O thread it suspended on (outside any I/O thread — a test's
// block_on — on the store's thread). Name the awaiter before awaiting it (GCC 12).
template <class T>
struct OnStoreThread {
  StoreThread& thread;
  std::function<T(Connection&)> work;
  std::optional<T> result{};
  std::exception_ptr error{};
  const Context* saved = nullptr;

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    saved = current_context();
    IoThread* home = IoThread::current();
    thread.post([this, h, home](Connection* c) {
      try {
        if (c == nullptr) {
          throw Fault::unavailable("the deduplication store is unavailable")
              .with(Fault::retryable)
              .with(Fault::rejected)
              .with_cause("sqlite: the database file could not be opened")
              .from(Fault::Origin::runtime);
        }
        result.emplace(work(*c));
      } catch (...) {
        error = std::current_exception();
      }
      if (home != nullptr) {
        home->resume(h);
      } else {
        h.resume();
      }
    });
  }
  T await_resume() {
    set_current_context(saved);
    if (error) std::rethrow_exception(error);
    return std::move(*result);
  }
};

// Reads the key's record and decides: true when the key is free to take (no record, an
// expired one, or a claim past its lease: `taken_over`), else `result` holds the answer
// (replay, running, mismatch).
bool decide(Connection& c, const ClaimRequest& r, ClaimResult& result) {
  const std::int64_t now = millis(r.now);
  sqlite3_stmt* find = c.statement(
      "SELECT state, fingerprint, lease_until, expires, code, payload FROM pit_dedup WHERE scope = ?1 AND key = ?2");
  bind_text(find, 1, r.key.scope);
  bind_text(find, 2, r.key.key);
  const int rc = sqlite3_step(find);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) unavailable(c.db(), "claim");
  bool take = rc == SQLITE_DONE;
  if (rc == SQLITE_ROW) {
    const bool settled = sqlite3_column_int(find, 0) == 1;
    const std::int64_t lease_until = sqlite3_column_int64(find, 2);
    const std::int64_t expires = sqlite3_column_int64(find, 3);
    if (settled && expires <= now) {
      take = true;  // an expired record is no record
    } else if (!settled && lease_until <= now) {
      take = true;  // its owner died, or outlived its deadline: taken over
      result.taken_over = true;
    } else if (column_text(find, 1) != r.fingerprint) {
      result.status = ClaimStatus::mismatch;  // before `running`: a reused key is a caller's bug
    } else if (settled) {
      result.status = ClaimStatus::replay;
      result.settled.code = static_cast<Code>(sqlite3_column_int(find, 4));
      result.settled.payload = column_text(find, 5);
    } else {
      result.status = ClaimStatus::running;
      result.retry_after = std::chrono::milliseconds(std::max<std::int64_t>(1, lease_until - now));
    }
  }
  sqlite3_reset(find);
  return take;
}

// The claim's decision. First one read without the write lock: a record that is settled
// and unexpired, or claimed within its lease, is answered from it (replay, running,
// mismatch) — a settled record never changes before it expires, and a claim seen running
// is the same answer as one read a moment earlier — so a replay costs one SELECT, no
// write transaction. Only a key that may be taken is decided again, in one immediate
// transaction (the read and the write under the file's write lock, so two processes never
// both claim a key).
ClaimResult claim_in(Connection& c, const ClaimRequest& r) {
  {
    ClaimResult seen;
    if (!decide(c, r, seen)) return seen;
  }
  c.exec_cached("BEGIN IMMEDIATE");
  try {
    ClaimResult result;
    const bool take = decide(c, r, result);
    if (take) {
      sqlite3_stmt* put = c.statement(
          "INSERT INTO pit_dedup (scope, key, fingerprint, state, owner, lease_until, expires, code, payload)"
          " VALUES (?1, ?2, ?3, 0, ?4, ?5, 0, 0, NULL)"
          " ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 0,"
          " owner = excluded.owner, lease_until = excluded.lease_until, expires = 0, code = 0, payload = NULL");
      bind_text(put, 1, r.key.scope);
      bind_text(put, 2, r.key.key);
      bind_text(put, 3, r.fingerprint);
      bind_text(put, 4, r.owner);
      sqlite3_bind_int64(put, 5, millis(r.lease_until));
      c.run(put, "claim");
      result.status = ClaimStatus::claimed;
    }
    c.exec_cached("COMMIT");
    return result;
  } catch (...) {
    sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

constexpr const char* kSettle =
    "UPDATE pit_dedup SET state = 1, owner = NULL, expires = ?4, code = ?5, payload = ?6"
    " WHERE scope = ?1 AND key = ?2 AND owner = ?3 AND state = 0";

bool settle_in(Connection& c, const KeyRef& key, const std::string& owner, const Settled& outcome,
               WallClock::time_point expires) {
  sqlite3_stmt* s = c.statement(kSettle);
  bind_text(s, 1, key.scope);
  bind_text(s, 2, key.key);
  bind_text(s, 3, owner);
  sqlite3_bind_int64(s, 4, millis(expires));
  sqlite3_bind_int(s, 5, static_cast<int>(outcome.code));
  sqlite3_bind_blob(s, 6, outcome.payload.data(), static_cast<int>(outcome.payload.size()), SQLITE_TRANSIENT);
  c.run(s, "settle");
  return sqlite3_changes(c.db()) == 1;
}

// A transactional call's transaction: its own connection and thread, holding the file's
// write lock from begin() to its end (SQLite has one writer at a time: keep such
// operations short). The destructor rolls back what was neither committed nor rolled back.
class SqliteUnit final : public Store::Unit {
 public:
  SqliteUnit(const std::string& path, std::chrono::milliseconds busy_timeout, KeyRef key, std::string owner)
      : thread_(path, busy_timeout), key_(std::move(key)), owner_(std::move(owner)) {}
  ~SqliteUnit() override {
    if (open_) {
      thread_.post([](Connection* c) {
        if (c != nullptr) sqlite3_exec(c->db(), "ROLLBACK", nullptr, nullptr, nullptr);
      });
    }
  }

  Task<void> start() {
    OnStoreThread<bool> op{thread_, [](Connection& c) {
                             c.exec("BEGIN IMMEDIATE");
                             return true;
                           }};
    co_await op;
    open_ = true;
  }

  Task<durable::Rows> execute(std::string sql, std::vector<durable::Value> params) override {
    if (!open_) throw std::logic_error("pit::durable::Transaction: used after its call settled");
    OnStoreThread<durable::Rows> op{thread_, [&sql, &params](Connection& c) { return run_statement(c, sql, params); }};
    co_return co_await op;
  }

  Task<bool> settle_and_commit(Settled outcome, WallClock::time_point expires) override {
    open_ = false;
    OnStoreThread<bool> op{thread_, [this, &outcome, expires](Connection& c) {
                             bool ours = false;
                             try {
                               ours = settle_in(c, key_, owner_, outcome, expires);
                               if (ours) c.exec("COMMIT");
                             } catch (...) {
                               sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
                               throw;
                             }
                             // Lost: another call took the key over; nothing of this one stays.
                             if (!ours) sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
                             return ours;
                           }};
    co_return co_await op;
  }

  Task<void> rollback() override {
    if (!open_) co_return;
    open_ = false;
    OnStoreThread<bool> op{thread_, [](Connection& c) {
                             sqlite3_exec(c.db(), "ROLLBACK", nullptr, nullptr, nullptr);
                             return true;
                           }};
    co_await op;
  }

 private:
  static durable::Rows run_statement(Connection& c, const std::string& sql, const std::vector<durable::Value>& params) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(c.db(), sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK) {
      throw Fault::internal("database error").with_cause(std::string("sqlite: ") + sqlite3_errmsg(c.db()));
    }
    struct Finalize {
      sqlite3_stmt* s;
      ~Finalize() { sqlite3_finalize(s); }
    } finalize{s};
    // $1, $2, ...: SQLite reads "$1" as a named parameter; each is bound by its name.
    for (std::size_t i = 0; i < params.size(); ++i) {
      std::string name = "$";  // appended: `"$" + std::string` trips GCC 12's -Wrestrict (Release)
      name.append(std::to_string(i + 1));
      const int at = sqlite3_bind_parameter_index(s, name.c_str());
      if (at == 0) continue;
      std::visit(
          [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::monostate>) sqlite3_bind_null(s, at);
            else if constexpr (std::is_same_v<V, std::int64_t>) sqlite3_bind_int64(s, at, v);
            else if constexpr (std::is_same_v<V, double>) sqlite3_bind_double(s, at, v);
            else bind_text(s, at, v);
          },
          params[i]);
    }
    durable::Rows rows;
    const int columns = sqlite3_column_count(s);
    for (int i = 0; i < columns; ++i) rows.columns.emplace_back(sqlite3_column_name(s, i));
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      auto& row = rows.rows.emplace_back();
      for (int i = 0; i < columns; ++i) {
        switch (sqlite3_column_type(s, i)) {
          case SQLITE_INTEGER: row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(s, i))); break;
          case SQLITE_FLOAT: row.emplace_back(sqlite3_column_double(s, i)); break;
          case SQLITE_NULL: row.emplace_back(std::monostate{}); break;
          default: row.emplace_back(column_text(s, i)); break;
        }
      }
    }
    if (rc != SQLITE_DONE) {
      throw Fault::internal("database error").with_cause(std::string("sqlite: ") + sqlite3_errmsg(c.db()));
    }
    if (sqlite3_stmt_readonly(s) == 0) rows.affected = sqlite3_changes64(c.db());
    return rows;
  }

  StoreThread thread_;
  KeyRef key_;
  std::string owner_;
  bool open_ = false;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(const SqliteStoreOptions& options)
      : options_(options),
        thread_(options.path, options.busy_timeout, options.purge_interval, [](Connection* c) {
          try {
            const auto purged = purge_in(*c, WallClock::now());
            if (purged > 0) log::debug("deduplication records purged", {{"store", "sqlite"}, {"records", purged}});
          } catch (const Fault& f) {
            log::warn("deduplication records not purged", {{"store", "sqlite"}, {"cause", f.cause()}});
          }
        }) {
    thread_.wait_open();
  }

  [[nodiscard]] std::string_view name() const noexcept override { return "sqlite"; }

  Task<ClaimResult> claim(ClaimRequest request) override {
    OnStoreThread<ClaimResult> op{thread_, [&request](Connection& c) { return claim_in(c, request); }};
    co_return co_await op;
  }

  Task<bool> settle(KeyRef key, std::string owner, Settled outcome, WallClock::time_point expires) override {
    OnStoreThread<bool> op{thread_, [&](Connection& c) { return settle_in(c, key, owner, outcome, expires); }};
    co_return co_await op;
  }

  Task<void> release(KeyRef key, std::string owner) override {
    OnStoreThread<bool> op{thread_, [&](Connection& c) {
                             sqlite3_stmt* s = c.statement(
                                 "DELETE FROM pit_dedup WHERE scope = ?1 AND key = ?2 AND owner = ?3 AND state = 0");
                             bind_text(s, 1, key.scope);
                             bind_text(s, 2, key.key);
                             bind_text(s, 3, owner);
                             c.run(s, "release");
                             return true;
                           }};
    co_await op;
  }

  Task<std::size_t> purge(WallClock::time_point now) override {
    OnStoreThread<std::size_t> op{thread_, [now](Connection& c) { return purge_in(c, now); }};
    co_return co_await op;
  }

  Task<std::unique_ptr<Unit>> begin(KeyRef key, std::string owner) override {
    auto unit = std::make_unique<SqliteUnit>(options_.path, options_.busy_timeout, std::move(key), std::move(owner));
    co_await unit->start();
    co_return std::unique_ptr<Unit>(std::move(unit));
  }

 private:
  // Settled records past their expiry, and claims past their lease (a claim whose owner
  // died: taking it over and deleting it are the same to the next caller).
  static std::size_t purge_in(Connection& c, WallClock::time_point now) {
    sqlite3_stmt* s = c.statement(
        "DELETE FROM pit_dedup WHERE (state = 1 AND expires <= ?1) OR (state = 0 AND lease_until <= ?1)");
    sqlite3_bind_int64(s, 1, millis(now));
    c.run(s, "purge");
    return static_cast<std::size_t>(sqlite3_changes(c.db()));
  }

  SqliteStoreOptions options_;
  StoreThread thread_;
};

}  // namespace

std::unique_ptr<Store> make_sqlite_store(const SqliteStoreOptions& options) {
  return std::make_unique<SqliteStore>(options);
}

}  // namespace pit::detail::durability
