#include "identity/audit_log.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <system_error>

#include "contract/json_escape.hpp"
#include "executors/executors.hpp"
#include "pit/asio.hpp"
#include "pit/identity.hpp"
#include "pit/log.hpp"

namespace pit::detail {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kFirstRetry{10};
constexpr milliseconds kLastRetry{1000};
constexpr milliseconds kPoll{1};
constexpr milliseconds kPollFor{50};

void append_number(std::string& out, std::uint64_t n) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  out.append(buffer, end);
}

void append_digits(std::string& out, unsigned value, int width) {
  char buffer[8];
  for (int i = width - 1; i >= 0; --i) {
    buffer[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buffer, static_cast<std::size_t>(width));
}

// RFC 3339, UTC, milliseconds: "2026-12-01T16:22:49.123Z". The civil date from days since
// the epoch (H. Hinnant's civil_from_days): no gmtime_r, no locale, no lock.
void append_time(std::string& out, std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::floor<milliseconds>(t.time_since_epoch()).count();
  const std::int64_t days = (ms >= 0 ? ms : ms - 86'399'999) / 86'400'000;
  const auto ms_of_day = static_cast<unsigned>(ms - days * 86'400'000);
  const std::int64_t z = days + 719'468;
  const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const auto doe = static_cast<unsigned>(z - era * 146'097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned day = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(yoe) + era * 400 + (month <= 2 ? 1 : 0);
  append_digits(out, static_cast<unsigned>(std::clamp<std::int64_t>(year, 0, 9999)), 4);
  out += '-';
  append_digits(out, month, 2);
  out += '-';
  append_digits(out, day, 2);
  out += 'T';
  append_digits(out, ms_of_day / 3'600'000, 2);
  out += ':';
  append_digits(out, ms_of_day / 60'000 % 60, 2);
  out += ':';
  append_digits(out, ms_of_day / 1000 % 60, 2);
  out += '.';
  append_digits(out, ms_of_day % 1000, 3);
  out += 'Z';
}

// ,"key":"value" (the value escaped; ill-formed UTF-8 becomes U+FFFD).
void append_field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":\"";
  (void)json::detail::escape_into(out, value);
  out += '"';
}

std::string_view method_name(AuthMethod method) {
  switch (method) {
    case AuthMethod::none:
      return "none";
    case AuthMethod::bearer:
      return "bearer";
    case AuthMethod::mtls:
      return "mtls";
    case AuthMethod::service:
      return "service";
  }
  return "none";
}

// Everything of the line after `{"seq":N,`: the writer prepends that, since the sequence
// number is given under the queue's lock and the formatting is done before taking it.
std::string format_body(const AuditRecord& r) {
  const Principal* p = r.principal;
  // One allocation for the whole line in the common case (nothing to escape): the values'
  // sizes plus the keys and punctuation (~260 bytes), with room for a few actors.
  std::size_t values = r.reason.size() + r.contract.size() + r.operation.size() + r.rule.size() +
                       r.resource.size() + r.correlation_id.size() + r.trace_id.size();
  if (p != nullptr) {
    values += p->issuer.size() + p->subject.size() + p->client_id.size() + p->token_id.size() + p->token_hash.size();
    for (const Actor& a : p->actors) values += a.subject.size() + a.issuer.size() + a.client_id.size() + 40;
  }
  std::string out;
  out.reserve(values + 320);
  out += "\"time\":\"";
  append_time(out, r.time.time_since_epoch().count() != 0 ? r.time : std::chrono::system_clock::now());
  out += '"';
  append_field(out, "decision", r.allowed ? "allow" : "deny");
  append_field(out, "reason", r.reason);
  append_field(out, "contract", r.contract);
  append_field(out, "operation", r.operation);
  append_field(out, "rule", r.rule);
  append_field(out, "resource", r.resource);
  // The same fields whoever called: a missing principal is the anonymous one.
  append_field(out, "issuer", p != nullptr ? std::string_view{p->issuer} : std::string_view{});
  append_field(out, "subject", p != nullptr ? std::string_view{p->subject} : std::string_view{});
  append_field(out, "client_id", p != nullptr ? std::string_view{p->client_id} : std::string_view{});
  append_field(out, "auth", method_name(p != nullptr ? p->method : AuthMethod::none));
  append_field(out, "token_id", p != nullptr ? std::string_view{p->token_id} : std::string_view{});
  append_field(out, "token_hash", p != nullptr ? std::string_view{p->token_hash} : std::string_view{});
  out += ",\"actors\":[";
  if (p != nullptr) {
    bool first = true;
    for (const Actor& a : p->actors) {
      out += first ? "{\"sub\":\"" : ",{\"sub\":\"";
      first = false;
      (void)json::detail::escape_into(out, a.subject);
      out += "\",\"iss\":\"";
      (void)json::detail::escape_into(out, a.issuer);
      out += "\",\"client_id\":\"";
      (void)json::detail::escape_into(out, a.client_id);
      out += "\"}";
    }
  }
  out += ']';
  append_field(out, "correlation_id", r.correlation_id);
  append_field(out, "trace_id", r.trace_id);
  out += '}';
  return out;
}

// The default sink: appends lines to a file ("-": standard output), fdatasync per batch.
//
// A retried batch starts with the lines of the batch that failed (AuditLog's writer keeps
// them and appends newer ones), so the bytes already written of a failed batch are not
// written again: each line lands once, unless the file was replaced meanwhile, in which case
// a line cut short in the old file is written whole to the new one.
class FileSink final : public AuditSink {
 public:
  explicit FileSink(std::string path) : path_(std::move(path)), stdout_(path_ == "-") {}
  ~FileSink() override {
    if (fd_ >= 0 && !stdout_) ::close(fd_);
  }
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  bool write(const std::vector<std::string>& lines) override {
    const bool reopened = open_current();
    std::string buffer;
    std::size_t total = 0;
    for (const auto& line : lines) total += line.size() + 1;
    buffer.reserve(total);
    for (const auto& line : lines) {
      buffer += line;
      buffer += '\n';
    }
    std::size_t offset = std::min(carried_, buffer.size());
    if (reopened && offset > 0) {
      // The old file may end in a torn line: the new one gets that line whole.
      const auto newline = buffer.rfind('\n', offset - 1);
      offset = newline == std::string::npos ? 0 : newline + 1;
    }
    while (offset < buffer.size()) {
      const ssize_t n = ::write(fd_, buffer.data() + offset, buffer.size() - offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        carried_ = offset;
        throw std::system_error(error, std::generic_category(), "cannot write " + path_);
      }
      offset += static_cast<std::size_t>(n);
    }
    // Durable per batch: a batch is as large as what arrived while the last one was synced,
    // so the cost is one sync per batch, not per record. A file that cannot be synced (a
    // pipe, /dev/null) is written as it is. After a failed sync the kernel may have dropped
    // the data: the whole batch is written again (a duplicate sequence number can be seen;
    // a lost one could not).
    if (!stdout_ && ::fdatasync(fd_) != 0 && errno != EINVAL && errno != EROFS) {
      const int error = errno;
      carried_ = 0;
      throw std::system_error(error, std::generic_category(), "cannot sync " + path_);
    }
    carried_ = 0;
    return true;
  }

 private:
  // Opens the path if the file is not open or is no longer the one at the path (deleted:
  // no links left; renamed: another file, or none, is there now). True if it opened it.
  bool open_current() {
    if (stdout_) {
      fd_ = STDOUT_FILENO;
      return false;
    }
    if (fd_ >= 0) {
      struct stat open_file {};
      struct stat at_path {};
      const bool current = ::fstat(fd_, &open_file) == 0 && open_file.st_nlink > 0 &&
                           ::stat(path_.c_str(), &at_path) == 0 && at_path.st_dev == open_file.st_dev &&
                           at_path.st_ino == open_file.st_ino;
      if (current) return false;
      ::close(fd_);
      fd_ = -1;
      log::info("audit file replaced: opening it again", {{"path", path_}});
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "cannot open " + path_);
    return true;
  }

  std::string path_;
  bool stdout_;
  int fd_ = -1;
  std::size_t carried_ = 0;  // bytes of the last (failed) batch already in the file
};

}  // namespace

struct AuditLog::Shared {
  struct Entry {
    std::uint64_t seq;  // 0: a gap record, whose whole line is `body`
    bool allowed;
    std::string body;
  };

  AuditOptions options;
  std::shared_ptr<AuditSink> sink;
  AuditCounters own_counters;
  AuditCounters* counters;  // touched under `mutex` only once `abandoned` may be set

  mutable std::mutex mutex;
  std::condition_variable work;     // the writer: something to write, or stop
  std::condition_variable room;     // record() in wait mode: depth went down
  std::condition_variable written;  // flush(), stop(): a batch was written or the writer ended
  std::vector<Entry> queue;
  std::size_t depth = 0;  // queued + in the writer's hands: bounded by options.queue
  std::uint64_t next_seq = 1;
  std::uint64_t gap_from = 0;  // dropped records not yet reported by a gap record
  std::uint64_t gap_count = 0;
  std::uint64_t accepted = 0;  // entries queued, gap records included
  std::uint64_t done = 0;      // entries written
  bool writer_idle = false;
  bool stopping = false;
  bool writer_done = false;
  bool abandoned = false;  // stop() gave up on the writer: counters may be gone
  Clock::time_point stop_deadline = Clock::time_point::max();
  std::atomic<bool> healthy{true};
  std::atomic<bool> stopped{false};
  std::string why;  // the last write error, while unhealthy

  Shared(AuditOptions o, AuditCounters* c) : options(std::move(o)), counters(c != nullptr ? c : &own_counters) {
    sink = options.sink ? options.sink : std::make_shared<FileSink>(options.path);
  }

  // With the lock held: queues the gap record owed for the records dropped so far.
  void queue_gap() {
    if (gap_count == 0) return;
    std::string line = "{\"gap\":";
    append_number(line, gap_count);
    line += ",\"from_seq\":";
    append_number(line, gap_from);
    line += ",\"to_seq\":";
    append_number(line, gap_from + gap_count - 1);
    line += ",\"time\":\"";
    append_time(line, std::chrono::system_clock::now());
    line += "\"}";
    queue.push_back({0, false, std::move(line)});
    ++depth;
    ++accepted;
    gap_count = 0;
    counters->queue_depth.store(static_cast<std::int64_t>(depth), std::memory_order_relaxed);
  }

  enum class Offer : std::uint8_t { accepted, full, stopped };
  // Queues the line (or, in drop mode with no room, drops it into the gap); in wait mode
  // with no room, waits for room until `wait_until` (a time past: no wait).
  Offer offer(std::string& body, bool allowed, Clock::time_point wait_until);

  void run();
};

AuditLog::Shared::Offer AuditLog::Shared::offer(std::string& body, bool allowed, Clock::time_point wait_until) {
  std::unique_lock lock(mutex);
  if (depth >= options.queue && !stopping) {
    if (options.when_behind == AuditOptions::WhenBehind::drop) {
      // Dropped, never silently: its number is reported by the gap record.
      if (gap_count == 0) gap_from = next_seq;
      ++gap_count;
      ++next_seq;
      counters->dropped.fetch_add(1, std::memory_order_relaxed);
      return Offer::accepted;
    }
    if (wait_until > Clock::now()) {
      room.wait_until(lock, wait_until, [this] { return depth < options.queue || stopping; });
    }
    if (depth >= options.queue && !stopping) return Offer::full;
  }
  if (stopping) return Offer::stopped;
  queue_gap();
  queue.push_back({next_seq++, allowed, std::move(body)});
  ++depth;
  ++accepted;
  counters->queue_depth.store(static_cast<std::int64_t>(depth), std::memory_order_relaxed);
  // Only a sleeping writer needs waking; a busy one takes the queue when its write is done,
  // a polling one within kPoll.
  if (writer_idle) work.notify_one();
  return Offer::accepted;
}

void AuditLog::Shared::run() {
  std::vector<Entry> batch;
  std::vector<std::string> lines;
  milliseconds retry = kFirstRetry;
  std::unique_lock lock(mutex);
  for (;;) {
    if (batch.empty()) {
      // While records keep coming the writer polls (every kPoll), so record() need not wake
      // it (a system call on the call path); idle for kPollFor, it sleeps until woken.
      const auto idle_since = Clock::now();
      const auto has_work = [this] { return stopping || !queue.empty() || gap_count > 0; };
      while (!has_work()) {
        if (Clock::now() - idle_since < kPollFor) {
          work.wait_for(lock, kPoll);
        } else {
          writer_idle = true;
          work.wait(lock, has_work);
          writer_idle = false;
        }
      }
      if (queue.empty() && gap_count == 0) break;  // stopping, and everything is written
    }
    // Writing resumes: the gap comes after every queued record (records accepted after a
    // drop queue the gap first), so the sequence numbers stay in order.
    queue_gap();
    if (batch.empty()) {
      batch.swap(queue);  // the common case: the lock is held for a swap, not a copy
    } else {
      for (auto& e : queue) batch.push_back(std::move(e));
      queue.clear();
    }
    lock.unlock();
    for (std::size_t i = lines.size(); i < batch.size(); ++i) {
      if (batch[i].seq == 0) {
        lines.push_back(std::move(batch[i].body));
        continue;
      }
      std::string line;
      line.reserve(batch[i].body.size() + 32);
      line += "{\"seq\":";
      append_number(line, batch[i].seq);
      line += ',';
      line += batch[i].body;
      lines.push_back(std::move(line));
      batch[i].body = {};
    }
    bool ok = false;
    std::string error;
    try {
      ok = sink->write(lines);
      if (!ok) error = "the audit sink could not write";
    } catch (const std::exception& e) {
      error = e.what();
    } catch (...) {
      error = "the audit sink threw an exception that is not a std::exception";
    }
    lock.lock();
    if (abandoned) return;
    if (ok) {
      std::uint64_t allowed = 0;
      std::uint64_t denied = 0;
      for (const auto& e : batch) {
        if (e.seq != 0) ++(e.allowed ? allowed : denied);
      }
      counters->records[1].fetch_add(allowed, std::memory_order_relaxed);
      counters->records[0].fetch_add(denied, std::memory_order_relaxed);
      depth -= batch.size();
      done += batch.size();
      counters->queue_depth.store(static_cast<std::int64_t>(depth), std::memory_order_relaxed);
      batch.clear();
      lines.clear();
      retry = kFirstRetry;
      if (!healthy.load(std::memory_order_relaxed)) {
        healthy.store(true, std::memory_order_release);
        why.clear();
        log::info("audit log writing again", {{"queued", depth}});
      }
      room.notify_all();
      written.notify_all();
      continue;
    }
    counters->write_failures.fetch_add(1, std::memory_order_relaxed);
    // Logged when it starts failing and when the reason changes, not on every retry.
    if (healthy.load(std::memory_order_relaxed) || why != error) {
      log::error("audit log cannot write: records are kept and the write retried; /readyz is 503",
                 {{"cause", error}, {"queued", depth}});
    }
    why = error;
    healthy.store(false, std::memory_order_release);
    if (stopping && Clock::now() >= stop_deadline) break;
    // The pause ends early once, when stop() begins: one more try, then pauses up to its deadline.
    const bool was_stopping = stopping;
    const auto until = std::min(Clock::now() + retry, stop_deadline);
    work.wait_until(lock, until, [&] { return stopping != was_stopping; });
    retry = std::min(retry * 2, kLastRetry);
  }
  writer_done = true;
  written.notify_all();
}

AuditLog::AuditLog(AuditOptions options, AuditCounters* counters) {
  validate(options);
  shared_ = std::make_shared<Shared>(std::move(options), counters);
  writer_ = std::thread([shared = shared_] { shared->run(); });
}

AuditLog::~AuditLog() { stop(Clock::now() + std::chrono::seconds(2)); }

void AuditLog::validate(const AuditOptions& o) {
  if (o.path.empty() && !o.sink) {
    throw std::invalid_argument("pit: audit.path must name a file (\"-\": standard output) when no audit sink is set");
  }
  if (o.queue == 0 || o.queue > 10'000'000) throw std::invalid_argument("pit: audit.queue must be 1..10000000");
  if (o.max_wait < milliseconds::zero() || o.max_wait > std::chrono::seconds(60)) {
    throw std::invalid_argument("pit: audit.max_wait_ms must be 0..60000");
  }
}

bool AuditLog::record(const AuditRecord& record) {
  Shared& s = *shared_;
  if (s.stopped.load(std::memory_order_acquire)) return false;
  std::string body = format_body(record);
  return s.offer(body, record.allowed, Clock::now() + s.options.max_wait) == Shared::Offer::accepted;
}

Task<bool> AuditLog::record_async(const AuditRecord& record) {
  // Everything of `record` is read before the first suspension.
  std::shared_ptr<Shared> s = shared_;
  if (s->stopped.load(std::memory_order_acquire)) co_return false;
  std::string body = format_body(record);
  const bool allowed = record.allowed;
  IoThread* const here = IoThread::current();
  // The wait's end is read from the clock only off an I/O thread or once there was no
  // room: a record that fits at once (the common case) costs no clock read here.
  Clock::time_point until = here == nullptr ? Clock::now() + s->options.max_wait : Clock::time_point::max();
  for (;;) {
    // Off an I/O thread, waiting blocks (as record() does); on one, it never does.
    const auto wait_until = here == nullptr ? until : Clock::time_point{};
    const Shared::Offer offer = s->offer(body, allowed, wait_until);
    if (offer == Shared::Offer::accepted) co_return true;
    if (offer == Shared::Offer::stopped || here == nullptr) co_return false;
    const auto now = Clock::now();
    if (until == Clock::time_point::max()) until = now + s->options.max_wait;
    if (now >= until) co_return false;
    boost::asio::steady_timer timer{here->io(), std::min<Clock::duration>(until - now, kRoomPoll)};
    try {
      co_await timer.async_wait(use_task);
    } catch (const boost::system::system_error&) {
      co_return false;  // the call was cancelled while it waited
    }
  }
}

bool AuditLog::healthy() const noexcept { return shared_->healthy.load(std::memory_order_acquire); }

std::string AuditLog::why_unhealthy() const {
  if (healthy()) return {};
  std::lock_guard lock(shared_->mutex);
  return shared_->why.empty() ? std::string{"cannot write"} : "cannot write: " + shared_->why;
}

bool AuditLog::flush(Clock::time_point deadline) {
  Shared& s = *shared_;
  std::unique_lock lock(s.mutex);
  const std::uint64_t target = s.accepted + (s.gap_count > 0 ? 1 : 0);
  if (s.gap_count > 0 && s.writer_idle) s.work.notify_one();
  return s.written.wait_until(lock, deadline, [&] { return s.done >= target || s.writer_done; }) &&
         s.done >= target;
}

void AuditLog::stop(Clock::time_point deadline) {
  if (!writer_.joinable()) return;
  Shared& s = *shared_;
  s.stopped.store(true, std::memory_order_release);
  std::unique_lock lock(s.mutex);
  s.stopping = true;
  s.stop_deadline = deadline;
  s.work.notify_all();
  s.room.notify_all();
  // A little past the deadline: a writer that gives up at the deadline still has to say so.
  const bool ended = s.written.wait_until(lock, deadline + milliseconds(100), [&s] { return s.writer_done; });
  const std::uint64_t lost = s.depth + s.gap_count;
  if (!ended) s.abandoned = true;
  lock.unlock();
  if (lost > 0) {
    log::error("audit records not written at shutdown: the audit sink could not take them in time",
               {{"records", lost}, {"cause", why_unhealthy()}});
  }
  if (ended) {
    writer_.join();
  } else {
    log::error("audit sink still writing at shutdown: left behind");
    writer_.detach();  // it holds `shared_` (and so the sink); it touches nothing else
  }
}

}  // namespace pit::detail
