#include "durability/postgres_store.hpp"

#include <libpq-fe.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <charconv>
#include <coroutine>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <exception>
#include <future>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "executors/executors.hpp"
#include "pit/asio.hpp"
#include "pit/context.hpp"
#include "pit/fault.hpp"

namespace pit::detail::durability {
namespace {

using boost::asio::posix::stream_descriptor;
using WaitType = stream_descriptor::wait_type;

std::int64_t epoch_ms(WallClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// The store answers for itself: its faults are the runtime's, never an implementation's.
Fault store_unavailable(std::string cause) {
  return Fault::unavailable("the deduplication store is unavailable")
      .with(Fault::retryable)
      .with_cause("postgres: " + std::move(cause))
      .from(Fault::Origin::runtime);
}

Fault store_timed_out() {
  return Fault::deadline_exceeded("the deduplication store did not answer before the deadline")
      .with_cause("postgres: statement cancelled at the call's deadline")
      .from(Fault::Origin::runtime);
}

// The connection broke (the server went away, a reset, a protocol error): the statement's
// fate is unknown, and the connection is closed.
struct ConnectionLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The server refused the statement; the connection is still good.
struct SqlError : std::runtime_error {
  SqlError(std::string state, const std::string& message)
      : std::runtime_error(message), sqlstate(std::move(state)) {}
  std::string sqlstate;
};

std::string trimmed(const char* message) {
  std::string text = message != nullptr ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

struct ResultFree {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultFree>;

std::int64_t affected_rows(const Result& r) {
  const char* text = r ? PQcmdTuples(r.get()) : "";
  std::int64_t n = 0;
  std::from_chars(text, text + std::char_traits<char>::length(text), n);
  return n;
}

std::int64_t int_cell(const Result& r, int row, int column) {
  const char* text = PQgetvalue(r.get(), row, column);
  std::int64_t n = 0;
  std::from_chars(text, text + PQgetlength(r.get(), row, column), n);
  return n;
}

std::string text_cell(const Result& r, int row, int column) {
  return {PQgetvalue(r.get(), row, column), static_cast<std::size_t>(PQgetlength(r.get(), row, column))};
}

// Statement parameters in libpq's text format; a null pointer is SQL NULL.
struct Params {
  std::vector<std::optional<std::string>> values;
  Params() = default;
  Params(std::initializer_list<std::string> texts) {
    for (const auto& t : texts) values.emplace_back(t);
  }
};

// Continues the awaiting coroutine on `target` with no call context installed: the store's
// thread never carries a call's context (its cancellation hooks belong to the caller's
// thread), and the way home re-installs the caller's own (pit::Task's awaiter does).
struct ContinueOn {
  IoThread& target;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { target.resume(h); }
  void await_resume() const noexcept {}
};

// A coroutine nobody awaits (the background purge), on the store's thread.
struct Detached {
  struct promise_type {
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
};

// One libpq connection, non-blocking, used by one statement (or one Unit) at a time, on the
// store's thread only.
struct Connection {
  explicit Connection(boost::asio::io_context& io) : socket(io), deadline(io) {}
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void close() noexcept {
    // libpq owns the descriptor: Asio lets go of it before libpq closes it.
    if (socket.is_open()) {
      boost::system::error_code ignored;
      socket.cancel(ignored);
      (void)socket.release();
    }
    registered_fd = -1;
    if (pg != nullptr) PQfinish(std::exchange(pg, nullptr));
  }
  [[nodiscard]] bool reusable() const noexcept {
    return pg != nullptr && !expired && PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) == PQTRANS_IDLE;
  }

  PGconn* pg = nullptr;
  stream_descriptor socket;
  int registered_fd = -1;
  boost::asio::steady_timer deadline;  // the running statement's
  std::uint64_t armed = 0;             // generation of the deadline armed last
  bool expired = false;                // a deadline passed: the statement's fate is unknown
  bool used = false;                   // served a statement before (it may have gone stale since)
};
using ConnectionPtr = std::shared_ptr<Connection>;

void arm(const ConnectionPtr& c, Clock::time_point deadline) {
  c->expired = Clock::now() >= deadline;
  const auto generation = ++c->armed;
  c->deadline.expires_at(deadline);
  c->deadline.async_wait([weak = std::weak_ptr<Connection>(c), generation](const boost::system::error_code& ec) {
    const auto conn = weak.lock();
    if (ec || !conn || conn->armed != generation) return;
    conn->expired = true;
    boost::system::error_code ignored;
    conn->socket.cancel(ignored);
  });
}

void disarm(Connection& c) {
  ++c.armed;
  c.deadline.cancel();
}

// Waits until the connection's socket is ready. `reregister`: while connecting, libpq may
// close its socket and open another (another address, SSL refused), which can reuse the
// same descriptor number; the socket is registered afresh for every wait then.
Task<void> wait_socket(ConnectionPtr c, WaitType type, bool reregister) {
  if (c->expired) throw store_timed_out();
  const int fd = PQsocket(c->pg);
  if (fd < 0) throw ConnectionLost("no socket");
  if (reregister || fd != c->registered_fd) {
    if (c->socket.is_open()) (void)c->socket.release();
    c->socket.assign(fd);
    c->registered_fd = fd;
  }
  bool aborted = false;
  try {
    co_await c->socket.async_wait(type, use_task);
  } catch (const boost::system::system_error&) {
    aborted = true;
  }
  if (reregister) {
    (void)c->socket.release();
    c->registered_fd = -1;
  }
  if (aborted) {
    if (c->expired) throw store_timed_out();
    throw ConnectionLost("socket wait failed");
  }
}

// Sends one statement and reads all its results. `simple`: several statements, no
// parameters (the simple query protocol).
Task<Result> run_statement(ConnectionPtr c, std::string sql, Params params, Clock::time_point deadline,
                           bool simple = false) {
  arm(c, deadline);
  c->used = true;
  PGconn* pg = c->pg;
  int sent = 0;
  if (simple) {
    sent = PQsendQuery(pg, sql.c_str());
  } else {
    std::vector<const char*> values;
    values.reserve(params.values.size());
    for (const auto& v : params.values) values.push_back(v ? v->c_str() : nullptr);
    sent = PQsendQueryParams(pg, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                             nullptr, 0);
  }
  if (sent == 0) throw ConnectionLost(trimmed(PQerrorMessage(pg)));
  for (;;) {
    const int flushed = PQflush(pg);
    if (flushed == 0) break;
    if (flushed < 0) throw ConnectionLost(trimmed(PQerrorMessage(pg)));
    co_await wait_socket(c, WaitType::wait_write, false);
    if (PQconsumeInput(pg) == 0) throw ConnectionLost(trimmed(PQerrorMessage(pg)));
  }
  Result last;
  Result error;
  for (;;) {
    while (PQisBusy(pg) != 0) {
      co_await wait_socket(c, WaitType::wait_read, false);
      if (PQconsumeInput(pg) == 0) throw ConnectionLost(trimmed(PQerrorMessage(pg)));
    }
    Result r{PQgetResult(pg)};
    if (!r) break;
    const auto status = PQresultStatus(r.get());
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE || status == PGRES_NONFATAL_ERROR) {
      if (!error) error = std::move(r);
    } else {
      last = std::move(r);
    }
  }
  disarm(*c);
  if (error) {
    const std::string message = trimmed(PQresultErrorMessage(error.get()));
    if (PQstatus(pg) != CONNECTION_OK) throw ConnectionLost(message);
    const char* state = PQresultErrorField(error.get(), PG_DIAG_SQLSTATE);
    throw SqlError(state != nullptr ? state : "", message);
  }
  co_return last;
}

// The store's connections: at most `max` open; a caller finding none free waits for one
// (until its deadline). Touched on the store's thread only.
class Pool {
 public:
  Pool(boost::asio::io_context& io, std::string url, std::string redacted_url, std::size_t max,
       std::string schema)
      : io_(io), url_(std::move(url)), redacted_url_(std::move(redacted_url)), max_(std::max<std::size_t>(max, 1)),
        schema_(std::move(schema)) {}

  Task<ConnectionPtr> acquire(Clock::time_point deadline) {
    for (;;) {
      if (!idle_.empty()) {
        ConnectionPtr c = std::move(idle_.back());
        idle_.pop_back();
        co_return c;
      }
      if (open_ < max_) {
        ++open_;
        std::exception_ptr failed;
        ConnectionPtr c;
        try {
          c = co_await connect(deadline);
        } catch (...) {
          failed = std::current_exception();
        }
        if (failed) {
          --open_;
          wake_one();
          std::rethrow_exception(failed);
        }
        co_return c;
      }
      Waiter waiter{boost::asio::steady_timer(io_, deadline), nullptr, false};
      waiters_.push_back(&waiter);
      try {
        co_await waiter.timer.async_wait(use_task);
      } catch (const boost::system::system_error&) {
        // cancelled: woken
      }
      std::erase(waiters_, &waiter);
      if (waiter.given) co_return std::move(waiter.given);
      if (!waiter.woken) throw store_timed_out();
    }
  }

  // Back to the pool, or closed when it cannot serve another statement (broken, in a
  // transaction, cut at a deadline).
  void give_back(ConnectionPtr c) {
    if (!c->reusable()) {
      c->close();
      --open_;
      wake_one();
      return;
    }
    if (!waiters_.empty()) {
      Waiter* w = waiters_.front();
      waiters_.pop_front();
      w->given = std::move(c);
      w->woken = true;
      w->timer.cancel();
      return;
    }
    idle_.push_back(std::move(c));
  }

  // After a pooled connection was found broken: the idle ones were opened before the same
  // failure (a server restart), so none is trusted again.
  void drop_idle() {
    for (auto& c : idle_) {
      c->close();
      --open_;
      wake_one();
    }
    idle_.clear();
  }

  void close_all() {
    for (auto& c : idle_) c->close();
    open_ -= idle_.size();
    idle_.clear();
  }

  [[nodiscard]] const std::string& redacted_url() const noexcept { return redacted_url_; }

 private:
  struct Waiter {
    boost::asio::steady_timer timer;
    ConnectionPtr given;
    bool woken = false;
  };

  void wake_one() {
    if (waiters_.empty()) return;
    Waiter* w = waiters_.front();
    waiters_.pop_front();
    w->woken = true;
    w->timer.cancel();
  }

  Task<ConnectionPtr> connect(Clock::time_point deadline) {
    auto c = std::make_shared<Connection>(io_);
    c->pg = PQconnectStart(url_.c_str());
    if (c->pg == nullptr) throw store_unavailable("cannot connect: out of memory");
    if (PQstatus(c->pg) == CONNECTION_BAD) {
      throw store_unavailable("cannot connect to " + redacted_url_ + ": " + trimmed(PQerrorMessage(c->pg)));
    }
    PQsetnonblocking(c->pg, 1);
    arm(c, deadline);
    // libpq: after PQconnectStart, wait until the socket is writable, then poll.
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    while (status != PGRES_POLLING_OK) {
      if (status == PGRES_POLLING_FAILED) {
        throw store_unavailable("cannot connect to " + redacted_url_ + ": " + trimmed(PQerrorMessage(c->pg)));
      }
      const WaitType type = status == PGRES_POLLING_READING ? WaitType::wait_read : WaitType::wait_write;
      try {
        co_await wait_socket(c, type, true);
      } catch (const ConnectionLost& lost) {
        throw store_unavailable("cannot connect to " + redacted_url_ + ": " + lost.what());
      }
      status = PQconnectPoll(c->pg);
    }
    disarm(*c);
    // Notices ("relation already exists, skipping") are not errors: libpq would print them.
    PQsetNoticeProcessor(c->pg, [](void*, const char*) {}, nullptr);
    // A statement cut at its deadline is abandoned by closing its connection; the server
    // notices a client gone only when it next writes, unless it checks: then a long statement
    // (and the locks of its transaction) ends within a second of the cut, not when it is done.
    // Before PostgreSQL 14 the setting is unknown: refused, and nothing else changes.
    try {
      std::string sql = "SET client_connection_check_interval = 1000";
      Params none;
      Result set = co_await run_statement(c, std::move(sql), std::move(none), deadline, true);
    } catch (const SqlError&) {
    } catch (const ConnectionLost& e) {
      throw store_unavailable(std::string("connection lost after connecting: ") + e.what());
    }
    if (!schema_ready_) {
      // Two replicas starting together (and each replica's pooled connections) create the
      // table and its index under one advisory lock (schema()); a server without it
      // (or a table made by hand at that moment) may still answer a unique violation
      // (23505) or "already exists" (42P07, 42710 for its row type): tried again, a few times.
      for (int attempt = 0; !schema_ready_; ++attempt) {
        std::optional<SqlError> refused;
        try {
          std::string sql = schema_;
          Params none;
          Result done = co_await run_statement(c, std::move(sql), std::move(none), deadline, true);
          schema_ready_ = true;
        } catch (const SqlError& e) {
          refused = e;
        } catch (const ConnectionLost& e) {
          throw store_unavailable(std::string("creating the table: ") + e.what());
        }
        if (refused && (attempt >= 4 || (refused->sqlstate != "23505" && refused->sqlstate != "42P07" && refused->sqlstate != "42710"))) {
          throw store_unavailable("creating the table: " + std::string(refused->what()));
        }
      }
    }
    co_return c;
  }

  boost::asio::io_context& io_;
  std::string url_;
  std::string redacted_url_;
  std::size_t max_;
  std::string schema_;
  bool schema_ready_ = false;
  std::size_t open_ = 0;  // idle, lent out, or connecting
  std::vector<ConnectionPtr> idle_;
  std::deque<Waiter*> waiters_;
};

bool valid_table_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'; });
}

durable::Rows to_rows(const Result& r) {
  durable::Rows rows;
  rows.affected = affected_rows(r);
  if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK) return rows;
  const int columns = PQnfields(r.get());
  for (int c = 0; c < columns; ++c) rows.columns.emplace_back(PQfname(r.get(), c));
  const int count = PQntuples(r.get());
  rows.rows.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    auto& row = rows.rows.emplace_back();
    row.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(r.get(), i, c) != 0) {
        row.emplace_back(std::monostate{});
        continue;
      }
      switch (PQftype(r.get(), c)) {
        case 20:  // int8
        case 21:  // int2
        case 23:  // int4
          row.emplace_back(int_cell(r, i, c));
          break;
        case 16:  // bool: an integer, as SQLite has it
          row.emplace_back(std::int64_t{PQgetvalue(r.get(), i, c)[0] == 't' ? 1 : 0});
          break;
        case 700:  // float4
        case 701:  // float8
          row.emplace_back(std::strtod(PQgetvalue(r.get(), i, c), nullptr));
          break;
        default:
          row.emplace_back(text_cell(r, i, c));
      }
    }
  }
  return rows;
}

Params to_params(const std::vector<durable::Value>& values) {
  Params params;
  for (const auto& v : values) {
    if (std::holds_alternative<std::monostate>(v)) {
      params.values.emplace_back(std::nullopt);
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
      params.values.emplace_back(std::to_string(*i));
    } else if (const auto* d = std::get_if<double>(&v)) {
      char buffer[32];
      const auto end = std::to_chars(buffer, buffer + sizeof buffer, *d).ptr;  // shortest round-trip form
      params.values.emplace_back(std::string(buffer, end));
    } else {
      params.values.emplace_back(std::get<std::string>(v));
    }
  }
  return params;
}

class PostgresStore;

class PostgresUnit final : public Store::Unit {
 public:
  PostgresUnit(PostgresStore& store, ConnectionPtr connection, KeyRef key, std::string owner)
      : store_(store), connection_(std::move(connection)), key_(std::move(key)), owner_(std::move(owner)) {}
  ~PostgresUnit() override;
  PostgresUnit(const PostgresUnit&) = delete;
  PostgresUnit& operator=(const PostgresUnit&) = delete;

  Task<durable::Rows> execute(std::string sql, std::vector<durable::Value> params) override;
  Task<bool> settle_and_commit(Settled outcome, WallClock::time_point expires) override;
  Task<void> rollback() override;

  // On the store's thread.
  Task<durable::Rows> execute_here(std::string sql, Params params, Clock::time_point deadline);
  Task<bool> settle_here(Settled outcome, WallClock::time_point expires, Clock::time_point deadline);
  Task<void> rollback_here(Clock::time_point deadline);

 private:
  ConnectionPtr& connection();
  void finish();

  PostgresStore& store_;
  ConnectionPtr connection_;  // null once committed or rolled back
  KeyRef key_;
  std::string owner_;
  bool busy_ = false;  // libpq runs one statement at a time on a connection
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PostgresStoreOptions options)
      : options_(std::move(options)), thread_(std::make_unique<IoThread>()),
        table_("\"" + options_.table + "\""),
        pool_(thread_->io(), options_.url, redact_postgres_url(options_.url), options_.connections, schema()),
        purge_timer_(thread_->io()) {
    thread_->start();
    if (options_.purge_interval.count() > 0) boost::asio::post(thread_->io(), [this] { arm_purge(); });
  }

  ~PostgresStore() override {
    // A background purge in flight ends within its statement's deadline: wait for it, so
    // that no frame of it is left on the stopped thread.
    for (;;) {
      std::promise<bool> settled;
      auto idle = settled.get_future();
      boost::asio::post(thread_->io(), [&] {
        stopping_ = true;
        purge_timer_.cancel();
        if (!purging_) pool_.close_all();
        settled.set_value(!purging_);
      });
      if (idle.get()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    thread_->stop();
  }
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  [[nodiscard]] std::string_view name() const noexcept override { return "postgres"; }

  Task<ClaimResult> claim(ClaimRequest request) override {
    const auto deadline = call_deadline(false);
    return on_store<ClaimResult>(
        [this, request = std::move(request), deadline] { return claim_here(request, deadline); });
  }

  Task<bool> settle(KeyRef key, std::string owner, Settled outcome, WallClock::time_point expires) override {
    const auto deadline = call_deadline(true);
    Params params{key.scope, key.key, owner, std::to_string(static_cast<int>(outcome.code)), outcome.payload,
                  std::to_string(epoch_ms(expires))};
    return on_store<bool>([this, params = std::move(params), deadline] { return affects_one(settle_sql(), params, deadline); });
  }

  Task<void> release(KeyRef key, std::string owner) override {
    const auto deadline = call_deadline(true);
    Params params{key.scope, key.key, owner};
    return on_store<void>([this, params = std::move(params), deadline] { return discard_result(release_sql(), params, deadline); });
  }

  Task<std::size_t> purge(WallClock::time_point now) override {
    const auto deadline = call_deadline(false);
    Params params{std::to_string(epoch_ms(now))};
    return on_store<std::size_t>([this, params = std::move(params), deadline] { return count_affected(purge_sql(), params, deadline); });
  }

  Task<std::unique_ptr<Unit>> begin(KeyRef key, std::string owner) override {
    const auto deadline = call_deadline(false);
    return on_store<std::unique_ptr<Unit>>(
        [this, key = std::move(key), owner = std::move(owner), deadline] { return begin_here(key, owner, deadline); });
  }

  // Runs body() (a Task on the store's thread) and resumes the caller on its own I/O
  // thread with the outcome, value or exception. A caller on no I/O thread (pit::block_on
  // in a test or a tool) continues on the store's thread: its thread only waits.
  template <class T, class Body>
  Task<T> on_store(Body body) {
    IoThread* home = IoThread::current();
    ContinueOn to_store{*thread_};
    co_await to_store;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;
    try {
      if constexpr (std::is_void_v<T>) {
        co_await body();
        value.emplace(true);
      } else {
        value.emplace(co_await body());
      }
    } catch (...) {
      error = std::current_exception();
    }
    if (home != nullptr) {
      ContinueOn to_home{*home};
      co_await to_home;
    }
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) co_return std::move(*value);
  }

  // The call's deadline, or statement_timeout from now outside a call. `recording`: a
  // settle or release gets statement_timeout at least (see PostgresStoreOptions).
  [[nodiscard]] Clock::time_point call_deadline(bool recording) const {
    const Context* context = current_context();
    const auto now = Clock::now();
    const auto floor = now + options_.statement_timeout;
    Clock::time_point deadline = context != nullptr ? context->deadline() : Clock::time_point::max();
    if (deadline == Clock::time_point::max()) return floor;
    return recording ? std::max(deadline, floor) : deadline;
  }

  // One statement on a pooled connection. A pooled connection that turns out broken (the
  // server restarted since it was opened) gets the statement retried once on a fresh one:
  // every statement of the store is safe to repeat (a claim recognises its own owner).
  Task<Result> statement(std::string sql, Params params, Clock::time_point deadline) {
    for (int attempt = 0;; ++attempt) {
      ConnectionPtr c = co_await pool_.acquire(deadline);
      const bool reused = c->used;
      Result result;
      std::string lost;
      std::exception_ptr failed;
      try {
        std::string text = sql;
        Params values = params;
        result = co_await run_statement(c, std::move(text), std::move(values), deadline);
      } catch (const ConnectionLost& e) {
        lost = e.what();
      } catch (const SqlError& e) {
        failed = std::make_exception_ptr(store_unavailable(std::string(e.what()) + " (SQLSTATE " + e.sqlstate + ")"));
      } catch (...) {
        failed = std::current_exception();
      }
      if (!lost.empty()) c->close();
      pool_.give_back(std::move(c));
      if (failed) std::rethrow_exception(failed);
      if (lost.empty()) co_return result;
      if (!reused || attempt > 0) throw store_unavailable("connection lost: " + lost);
      pool_.drop_idle();
    }
  }

  Pool& pool() noexcept { return pool_; }
  IoThread& thread() noexcept { return *thread_; }

  // On the store's thread.
  void arm_purge() {
    if (stopping_) return;
    purge_timer_.expires_after(options_.purge_interval);
    purge_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      purging_ = true;
      background_purge(this);
    });
  }
  static Detached background_purge(PostgresStore* self) {
    try {
      std::string sql = self->purge_sql();
      Params now{std::to_string(epoch_ms(WallClock::now()))};
      const auto deadline = Clock::now() + self->options_.statement_timeout;
      Result r = co_await self->statement(std::move(sql), std::move(now), deadline);
    } catch (...) {
      // The store is down: the next round tries again; calls meanwhile are refused.
    }
    self->purging_ = false;
    self->arm_purge();
  }

 private:
  struct Row {
    bool inserted = false;
    std::string fingerprint;
    std::string owner;
    std::int64_t lease_until = 0;
    bool settled = false;
    int code = 0;
    std::string payload;
    std::int64_t expires = 0;
  };

  Task<ClaimResult> claim_here(ClaimRequest request, Clock::time_point deadline) {
    const std::int64_t now = epoch_ms(request.now);
    const std::string now_text = std::to_string(now);
    const std::string lease_text = std::to_string(epoch_ms(request.lease_until));
    const KeyRef& k = request.key;
    // A few rounds: each conditional UPDATE that loses a race, or an insert that met a row
    // its statement could not see yet, goes round again and reads what won.
    for (int round = 0; round < 8; ++round) {
      std::string insert = claim_sql();
      Params inserted{k.scope, k.key, request.fingerprint, request.owner, lease_text};
      Result r = co_await statement(std::move(insert), std::move(inserted), deadline);
      if (PQntuples(r.get()) == 0) continue;
      Row row;
      row.inserted = text_cell(r, 0, 0) == "inserted";
      row.fingerprint = text_cell(r, 0, 1);
      row.owner = text_cell(r, 0, 2);
      row.lease_until = int_cell(r, 0, 3);
      row.settled = text_cell(r, 0, 4) == "settled";
      row.code = static_cast<int>(int_cell(r, 0, 5));
      row.payload = text_cell(r, 0, 6);
      row.expires = int_cell(r, 0, 7);

      ClaimResult result;
      // Ours: inserted now, or by this same claim before a lost connection was retried.
      if (row.inserted || row.owner == request.owner) co_return result;
      if (row.settled && row.expires <= now) {
        std::string reclaim = reclaim_sql();
        Params values{k.scope, k.key, request.fingerprint, request.owner, lease_text, now_text};
        Result taken = co_await statement(std::move(reclaim), std::move(values), deadline);
        if (affected_rows(taken) == 1) co_return result;
        continue;
      }
      if (row.fingerprint != request.fingerprint) {
        result.status = ClaimStatus::mismatch;
        co_return result;
      }
      if (row.settled) {
        result.status = ClaimStatus::replay;
        result.settled.code = row.code >= 0 && row.code < code_count ? static_cast<Code>(row.code) : Code::internal;
        result.settled.payload = std::move(row.payload);
        co_return result;
      }
      if (row.lease_until > now) {
        result.status = ClaimStatus::running;
        result.retry_after = std::chrono::milliseconds(row.lease_until - now);
        co_return result;
      }
      std::string takeover = takeover_sql();
      Params values{k.scope, k.key, request.owner, lease_text, row.owner, now_text};
      Result taken = co_await statement(std::move(takeover), std::move(values), deadline);
      if (affected_rows(taken) == 1) {
        result.taken_over = true;
        co_return result;
      }
    }
    throw store_unavailable("the claim kept losing races for 8 rounds");
  }

  Task<bool> affects_one(std::string sql, Params params, Clock::time_point deadline) {
    Result r = co_await statement(std::move(sql), std::move(params), deadline);
    co_return affected_rows(r) == 1;
  }
  Task<void> discard_result(std::string sql, Params params, Clock::time_point deadline) {
    Result r = co_await statement(std::move(sql), std::move(params), deadline);
  }
  Task<std::size_t> count_affected(std::string sql, Params params, Clock::time_point deadline) {
    Result r = co_await statement(std::move(sql), std::move(params), deadline);
    co_return static_cast<std::size_t>(affected_rows(r));
  }

  Task<std::unique_ptr<Unit>> begin_here(KeyRef key, std::string owner, Clock::time_point deadline) {
    for (int attempt = 0;; ++attempt) {
      ConnectionPtr c = co_await pool_.acquire(deadline);
      const bool reused = c->used;
      std::string lost;
      std::exception_ptr failed;
      try {
        std::string sql = "BEGIN";
        Params none;
        Result r = co_await run_statement(c, std::move(sql), std::move(none), deadline);
      } catch (const ConnectionLost& e) {
        lost = e.what();
      } catch (const SqlError& e) {
        failed = std::make_exception_ptr(store_unavailable(std::string("BEGIN: ") + e.what()));
      } catch (...) {
        failed = std::current_exception();
      }
      if (!failed && lost.empty()) co_return std::make_unique<PostgresUnit>(*this, std::move(c), std::move(key), std::move(owner));
      if (!lost.empty()) c->close();
      pool_.give_back(std::move(c));
      if (failed) std::rethrow_exception(failed);
      if (!reused || attempt > 0) throw store_unavailable("connection lost: " + lost);
      pool_.drop_idle();
    }
  }

 public:
  // The statements, $1.. in the order their callers pass them. Times are milliseconds
  // since the Unix epoch, on the clock of the replica that wrote them.
  // One simple query, so one implicit transaction: the advisory lock (held until its end)
  // makes every replica's connections create the table and index one after another, so
  // none meets another's half-made catalog rows (unique violations, "tuple concurrently
  // updated", deadlocks between the table's and the index's locks).
  [[nodiscard]] std::string schema() const {
    return "SELECT pg_advisory_xact_lock(hashtext('pit dedup schema " + table_ + "'));"
           " CREATE TABLE IF NOT EXISTS " + table_ +
           " (scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL, owner text NOT NULL,"
           " lease_until bigint NOT NULL, state text NOT NULL, code integer NOT NULL DEFAULT 0,"
           " payload text NOT NULL DEFAULT '', expires bigint NOT NULL, PRIMARY KEY (scope, key));"
           " CREATE INDEX IF NOT EXISTS \"" + options_.table.substr(0, 55) + "_expires\" ON " + table_ + " (expires)";
  }
  // $1 scope, $2 key, $3 fingerprint, $4 owner, $5 lease_until: the new claim, or the row
  // that was there (one round trip for a new key, a replay, a 409 or a 422).
  [[nodiscard]] std::string claim_sql() const {
    return "WITH ins AS (INSERT INTO " + table_ +
           " (scope, key, fingerprint, owner, lease_until, state, code, payload, expires)"
           " VALUES ($1, $2, $3, $4, $5::bigint, 'running', 0, '', $5::bigint) ON CONFLICT (scope, key) DO NOTHING"
           " RETURNING 'inserted'::text AS origin, fingerprint, owner, lease_until, state, code, payload, expires)"
           " SELECT origin, fingerprint, owner, lease_until, state, code, payload, expires FROM ins"
           " UNION ALL SELECT 'existing', fingerprint, owner, lease_until, state, code, payload, expires FROM " +
           table_ + " WHERE scope = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM ins)";
  }
  // An expired settled record becomes a new claim: $3 fingerprint, $4 owner, $5 lease, $6 now.
  [[nodiscard]] std::string reclaim_sql() const {
    return "UPDATE " + table_ +
           " SET fingerprint = $3, owner = $4, lease_until = $5::bigint, state = 'running', code = 0, payload = '',"
           " expires = $5::bigint WHERE scope = $1 AND key = $2 AND state = 'settled' AND expires <= $6::bigint";
  }
  // A running claim whose lease passed changes owner: $3 new owner, $4 lease, $5 old owner, $6 now.
  [[nodiscard]] std::string takeover_sql() const {
    return "UPDATE " + table_ +
           " SET owner = $3, lease_until = $4::bigint, expires = $4::bigint WHERE scope = $1 AND key = $2"
           " AND owner = $5 AND state = 'running' AND lease_until <= $6::bigint";
  }
  // $3 owner, $4 code, $5 payload, $6 expires. No condition on the state: a settle repeated
  // after a lost connection finds its own settled row and succeeds again.
  [[nodiscard]] std::string settle_sql() const {
    return "UPDATE " + table_ +
           " SET state = 'settled', code = $4::integer, payload = $5, expires = $6::bigint"
           " WHERE scope = $1 AND key = $2 AND owner = $3";
  }
  [[nodiscard]] std::string release_sql() const {
    return "DELETE FROM " + table_ + " WHERE scope = $1 AND key = $2 AND owner = $3 AND state = 'running'";
  }
  // Settled records past their expiry, and claims past their lease (a running claim's
  // `expires` is its lease_until): what no caller can be answered from any more.
  [[nodiscard]] std::string purge_sql() const {
    return "DELETE FROM " + table_ + " WHERE expires <= $1::bigint";
  }

  [[nodiscard]] Clock::time_point recording_deadline() const { return call_deadline(true); }
  [[nodiscard]] Clock::time_point statement_deadline() const { return call_deadline(false); }

 private:
  PostgresStoreOptions options_;
  std::unique_ptr<IoThread> thread_;  // first member built, last destroyed: the pool's sockets live on it
  std::string table_;
  Pool pool_;
  boost::asio::steady_timer purge_timer_;  // on the store's thread, as are the two flags
  bool purging_ = false;
  bool stopping_ = false;
};

PostgresUnit::~PostgresUnit() {
  if (!connection_) return;
  // Neither committed nor rolled back (the policy's frame went away): closing the
  // connection makes the server roll the transaction back.
  boost::asio::post(store_.thread().io(), [&pool = store_.pool(), c = std::move(connection_)]() mutable {
    c->close();
    pool.give_back(std::move(c));
  });
}

ConnectionPtr& PostgresUnit::connection() {
  if (!connection_) throw std::logic_error("pit::durable::Transaction used after its call settled");
  if (busy_) throw std::logic_error("pit::durable::Transaction runs one statement at a time: co_await each");
  return connection_;
}

void PostgresUnit::finish() {
  if (connection_) store_.pool().give_back(std::move(connection_));
  connection_.reset();
}

Task<durable::Rows> PostgresUnit::execute(std::string sql, std::vector<durable::Value> params) {
  const auto deadline = store_.statement_deadline();
  return store_.on_store<durable::Rows>([this, sql = std::move(sql), params = to_params(params), deadline] {
    return execute_here(sql, params, deadline);
  });
}

Task<durable::Rows> PostgresUnit::execute_here(std::string sql, Params params, Clock::time_point deadline) {
  ConnectionPtr c = connection();
  busy_ = true;
  std::exception_ptr failed;
  Result r;
  try {
    std::string text = std::move(sql);
    Params values = std::move(params);
    r = co_await run_statement(c, std::move(text), std::move(values), deadline);
  } catch (const SqlError& e) {
    // The operation's own statement failed: its writes roll back, and the fault is
    // masked like any undeclared failure (the cause goes to the log).
    failed = std::make_exception_ptr(Fault::internal("a statement of the transaction failed")
                                         .with_cause("postgres: " + std::string(e.what()) + " (SQLSTATE " + e.sqlstate + ")")
                                         .from(Fault::Origin::runtime));
  } catch (const ConnectionLost& e) {
    c->close();
    failed = std::make_exception_ptr(store_unavailable(std::string("connection lost in a transaction: ") + e.what()));
  } catch (...) {
    failed = std::current_exception();
  }
  busy_ = false;
  if (failed) std::rethrow_exception(failed);
  co_return to_rows(r);
}

Task<bool> PostgresUnit::settle_and_commit(Settled outcome, WallClock::time_point expires) {
  const auto deadline = store_.recording_deadline();
  return store_.on_store<bool>([this, outcome = std::move(outcome), expires, deadline] {
    return settle_here(outcome, expires, deadline);
  });
}

Task<bool> PostgresUnit::settle_here(Settled outcome, WallClock::time_point expires, Clock::time_point deadline) {
  ConnectionPtr c = connection();
  busy_ = true;
  std::exception_ptr failed;
  bool committed = false;
  try {
    std::string settle = store_.settle_sql();
    Params values{key_.scope, key_.key, owner_, std::to_string(static_cast<int>(outcome.code)), outcome.payload,
                  std::to_string(epoch_ms(expires))};
    Result settled = co_await run_statement(c, std::move(settle), std::move(values), deadline);
    // Zero rows: the claim was taken over after its lease passed; nothing of this call may
    // commit, or the operation's writes would be applied twice.
    const char* end = affected_rows(settled) == 1 ? "COMMIT" : "ROLLBACK";
    std::string finish_sql = end;
    Params none;
    Result r = co_await run_statement(c, std::move(finish_sql), std::move(none), deadline);
    // COMMIT of a transaction that failed earlier answers ROLLBACK, without an error.
    committed = std::string_view(end) == "COMMIT" && std::string_view(PQcmdStatus(r.get())) == "COMMIT";
    if (std::string_view(end) == "COMMIT" && !committed) {
      failed = std::make_exception_ptr(Fault::internal("the transaction was rolled back")
                                           .with_cause("postgres: COMMIT answered " + std::string(PQcmdStatus(r.get())))
                                           .from(Fault::Origin::runtime));
    }
  } catch (const SqlError& e) {
    failed = std::make_exception_ptr(Fault::internal("the transaction could not commit")
                                         .with_cause("postgres: " + std::string(e.what()) + " (SQLSTATE " + e.sqlstate + ")")
                                         .from(Fault::Origin::runtime));
  } catch (const ConnectionLost& e) {
    c->close();
    failed = std::make_exception_ptr(store_unavailable(std::string("connection lost while committing: ") + e.what()));
  } catch (...) {
    failed = std::current_exception();
  }
  busy_ = false;
  // Still in a transaction (an error before COMMIT): give_back closes the connection,
  // which rolls it back.
  finish();
  if (failed) std::rethrow_exception(failed);
  co_return committed;
}

Task<void> PostgresUnit::rollback() {
  const auto deadline = store_.recording_deadline();
  return store_.on_store<void>([this, deadline] { return rollback_here(deadline); });
}

Task<void> PostgresUnit::rollback_here(Clock::time_point deadline) {
  if (!connection_) co_return;
  ConnectionPtr c = connection();
  busy_ = true;
  try {
    std::string sql = "ROLLBACK";
    Params none;
    Result r = co_await run_statement(c, std::move(sql), std::move(none), deadline);
  } catch (...) {
    // Whatever failed, the connection is closed below unless it is idle again: the server
    // rolls back a transaction whose connection goes.
  }
  busy_ = false;
  finish();
}

}  // namespace

std::unique_ptr<Store> make_postgres_store(PostgresStoreOptions options) {
  if (!valid_table_name(options.table)) {
    throw std::invalid_argument("postgres store: table name must be [a-z_][a-z0-9_]*, at most 63 characters");
  }
  return std::make_unique<PostgresStore>(std::move(options));
}

std::string redact_postgres_url(std::string_view url) {
  std::string out(url);
  const auto lower = [](std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  };
  const std::string folded = lower(out);
  if (folded.starts_with("postgresql://") || folded.starts_with("postgres://")) {
    const std::size_t start = out.find("://") + 3;
    const std::size_t end = std::min(out.find_first_of("/?", start), out.size());
    const std::size_t at = out.rfind('@', end == std::string::npos ? out.size() : end);
    if (at != std::string::npos && at >= start) {
      const std::size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
    // password=... among the query parameters
    for (std::size_t pos = out.find('?'); pos != std::string::npos && pos < out.size();) {
      const std::size_t name = pos + 1;
      const std::size_t next = out.find('&', name);
      const std::size_t stop = next == std::string::npos ? out.size() : next;
      if (lower(out.substr(name, 9)) == "password=") {
        out.replace(name + 9, stop - name - 9, "***");
        pos = out.find('&', name);
      } else {
        pos = next;
      }
    }
    return out;
  }
  // key = value pairs; a value may be single-quoted with backslash escapes.
  std::size_t pos = 0;
  while ((pos = lower(out).find("password", pos)) != std::string::npos) {
    const bool starts_key = pos == 0 || out[pos - 1] == ' ' || out[pos - 1] == '\t' || out[pos - 1] == '\n';
    std::size_t i = pos + 8;
    while (i < out.size() && (out[i] == ' ' || out[i] == '\t')) ++i;
    if (!starts_key || i >= out.size() || out[i] != '=') {
      pos += 8;
      continue;
    }
    ++i;
    while (i < out.size() && (out[i] == ' ' || out[i] == '\t')) ++i;
    std::size_t end = i;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && out[end] != ' ' && out[end] != '\t' && out[end] != '\n') ++end;
    }
    out.replace(i, end - i, "***");
    pos = i + 3;
  }
  return out;
}

}  // namespace pit::detail::durability
