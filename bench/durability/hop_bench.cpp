// The floor under a deduplicated call on SQLite (bench/README.md, "Durability"): what its
// parts cost alone, on this machine, with nothing else of pit around them.
//   hop     one round trip I/O thread -> a store thread -> back, the way SqliteStore does it
//           (a job queued under a mutex, a condition variable wakes the store thread, which
//           posts the resumption to the io_context): a first call pays two, a replay one.
//   claim   BEGIN IMMEDIATE + SELECT + INSERT + COMMIT on a WAL file, synchronous=NORMAL
//   settle  the settle's UPDATE (autocommit)
//   replay  the replay's SELECT (autocommit)
// Run it pinned like the server: taskset -c 0 build-durability/bench/hop_bench [iterations]
// Standalone (header-only Asio, sqlite3): no pit inside, so it measures only the parts.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double median_us(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

class Worker {
 public:
  Worker() : thread_([this] { loop(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  void post(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stop_ || !jobs_.empty(); });
      while (!jobs_.empty()) {
        auto job = std::move(jobs_.front());
        jobs_.pop_front();
        lock.unlock();
        job();
        lock.lock();
      }
      if (stop_) return;
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "hop_bench: %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr), db, sql);
  return s;
}

void step(sqlite3* db, sqlite3_stmt* s) {
  int rc = SQLITE_ROW;
  while (rc == SQLITE_ROW) rc = sqlite3_step(s);
  check(rc, db, sqlite3_sql(s));
  sqlite3_reset(s);
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::max(100, std::atoi(argv[1])) : 20000;

  // Hops: the I/O thread posts a job, the worker posts the resumption back.
  std::vector<double> hops;
  {
    boost::asio::io_context io;
    Worker worker;
    auto busy = boost::asio::make_work_guard(io);  // io.run() must not return while a job is away
    int left = n;
    Clock::time_point started;
    std::function<void()> next = [&] {
      started = Clock::now();
      worker.post([&] {
        boost::asio::post(io, [&] {
          hops.push_back(std::chrono::duration<double, std::micro>(Clock::now() - started).count());
          if (--left > 0) {
            next();
          } else {
            busy.reset();
          }
        });
      });
    };
    boost::asio::post(io, next);
    io.run();
  }

  // SQLite alone, on one thread, with the store's statements.
  std::string path = "/tmp/pit-hop-bench-" + std::to_string(::getpid()) + ".db";
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr), db, "wal");
  check(sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr), db, "sync");
  check(sqlite3_exec(db,
                     "CREATE TABLE pit_dedup (scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
                     " state INTEGER NOT NULL, owner TEXT, lease_until INTEGER NOT NULL, expires INTEGER NOT NULL,"
                     " code INTEGER NOT NULL, payload BLOB, PRIMARY KEY (scope, key)) WITHOUT ROWID",
                     nullptr, nullptr, nullptr),
        db, "create");
  sqlite3_stmt* begin = prepare(db, "BEGIN IMMEDIATE");
  sqlite3_stmt* commit = prepare(db, "COMMIT");
  sqlite3_stmt* find = prepare(
      db, "SELECT state, fingerprint, lease_until, expires, code, payload FROM pit_dedup WHERE scope = ?1 AND key = ?2");
  sqlite3_stmt* put = prepare(db,
                              "INSERT INTO pit_dedup (scope, key, fingerprint, state, owner, lease_until, expires, code,"
                              " payload) VALUES (?1, ?2, ?3, 0, ?4, ?5, 0, 0, NULL)");
  sqlite3_stmt* settle = prepare(db,
                                 "UPDATE pit_dedup SET state = 1, owner = NULL, expires = ?4, code = ?5, payload = ?6"
                                 " WHERE scope = ?1 AND key = ?2 AND owner = ?3 AND state = 0");
  const std::string scope = "-";
  const std::string fp(64, 'f');
  const std::string owner = "bench-owner";
  const std::string payload = R"({"text":"hello, world","n":42})";
  std::vector<double> claims, settles, replays;
  for (int i = 0; i < n; ++i) {
    char key[65];
    std::snprintf(key, sizeof key, "%064d", i);
    auto t0 = Clock::now();
    step(db, begin);
    sqlite3_bind_text(find, 1, scope.data(), static_cast<int>(scope.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(find, 2, key, 64, SQLITE_TRANSIENT);
    step(db, find);
    sqlite3_bind_text(put, 1, scope.data(), static_cast<int>(scope.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(put, 2, key, 64, SQLITE_TRANSIENT);
    sqlite3_bind_text(put, 3, fp.data(), static_cast<int>(fp.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(put, 4, owner.data(), static_cast<int>(owner.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(put, 5, 1);
    step(db, put);
    step(db, commit);
    auto t1 = Clock::now();
    sqlite3_bind_text(settle, 1, scope.data(), static_cast<int>(scope.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(settle, 2, key, 64, SQLITE_TRANSIENT);
    sqlite3_bind_text(settle, 3, owner.data(), static_cast<int>(owner.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(settle, 4, 1);
    sqlite3_bind_int(settle, 5, 0);
    sqlite3_bind_blob(settle, 6, payload.data(), static_cast<int>(payload.size()), SQLITE_TRANSIENT);
    step(db, settle);
    auto t2 = Clock::now();
    sqlite3_bind_text(find, 1, scope.data(), static_cast<int>(scope.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(find, 2, key, 64, SQLITE_TRANSIENT);
    step(db, find);
    auto t3 = Clock::now();
    claims.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    settles.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
    replays.push_back(std::chrono::duration<double, std::micro>(t3 - t2).count());
  }
  for (auto* s : {begin, commit, find, put, settle}) sqlite3_finalize(s);
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());

  std::printf("iterations %d (medians, us)\n", n);
  std::printf("hop round trip (I/O thread -> store thread -> back)  %.1f\n", median_us(hops));
  std::printf("claim (BEGIN IMMEDIATE, SELECT, INSERT, COMMIT)      %.1f\n", median_us(claims));
  std::printf("settle (UPDATE)                                      %.1f\n", median_us(settles));
  std::printf("replay read (SELECT)                                 %.1f\n", median_us(replays));
  return 0;
}
