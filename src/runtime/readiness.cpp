#include "runtime/readiness.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <exception>
#include <stdexcept>

#include "executors/executors.hpp"
#include "pit/log.hpp"

namespace pit::detail {
namespace {

// What a check's exception says, on one line and short: /readyz is read by people.
std::string threw(const std::exception_ptr& e) {
  std::string what;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
    what = "an exception that is not a std::exception";
  }
  std::replace(what.begin(), what.end(), '\n', ' ');
  std::replace(what.begin(), what.end(), '\r', ' ');
  if (what.size() > 200) what = what.substr(0, 200) + "...";
  return "threw: " + what;
}

std::string timed_out(std::chrono::milliseconds timeout) {
  return "timed out after " + std::to_string(timeout.count()) + " ms";
}

// The result of a coroutine check, shared by the checking thread (which may stop waiting)
// and the coroutine (which may finish after that).
struct AsyncResult {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  bool ok = false;
  std::string why;
  void finish(bool result, std::string reason) {
    {
      std::lock_guard lock(mutex);
      done = true;
      ok = result;
      why = std::move(reason);
    }
    done_cv.notify_all();
  }
};

Detached run_async(std::shared_ptr<Readiness> keep, const Readiness::AsyncCheck* check,
                   std::shared_ptr<AsyncResult> result, IoThread& at) {
  // Listed on its thread: if the thread stops first, it destroys this frame.
  const auto frame = co_await ThisFrame{};
  const ListedRoot listed{at, frame};
  bool ok = false;
  std::string why;
  try {
    ok = co_await (*check)();
    if (!ok) why = "not ready";
  } catch (...) {
    why = threw(std::current_exception());
  }
  result->finish(ok, std::move(why));
  (void)keep;
}

}  // namespace

Readiness::~Readiness() {
  // Only the last owner gets here: the thread was joined or left behind by stop().
  if (thread_.joinable()) thread_.detach();
}

void Readiness::add(std::string name, SyncCheck sync, AsyncCheck async, std::chrono::milliseconds timeout) {
  if (name.empty() || name.find_first_of("\r\n") != std::string::npos) {
    throw std::invalid_argument("pit: readiness_check: the name must be one non-empty line");
  }
  for (const auto& c : checks_) {
    if (c->name == name) throw std::invalid_argument("pit: readiness_check: two checks are named '" + name + "'");
  }
  if (timeout < std::chrono::milliseconds(1) || timeout > std::chrono::seconds(60)) {
    throw std::invalid_argument("pit: readiness_check '" + name + "': the timeout must be 1 ms..60 s");
  }
  if (!sync && !async) throw std::invalid_argument("pit: readiness_check '" + name + "': no check");
  auto check = std::make_unique<Check>();
  check->name = std::move(name);
  check->sync = std::move(sync);
  check->async = std::move(async);
  check->timeout = timeout;
  checks_.push_back(std::move(check));
}

void Readiness::add_condition(std::string name, Condition why_not) {
  for (auto& [n, c] : conditions_) {
    if (n == name) {
      c = std::move(why_not);
      return;
    }
  }
  conditions_.emplace_back(std::move(name), std::move(why_not));
}

void Readiness::start(std::function<IoThread&()> io_thread) {
  if (checks_.empty() || thread_.joinable()) return;
  io_thread_ = std::move(io_thread);
  {
    std::lock_guard lock(mutex_);
    requested_ = 1;
  }
  thread_ = std::thread([self = shared_from_this()] { self->loop(); });
}

void Readiness::stop() {
  if (!thread_.joinable()) return;
  std::chrono::milliseconds longest{0};
  for (const auto& c : checks_) longest = std::max(longest, c->timeout);
  std::unique_lock lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
  const bool done = finished_.wait_for(lock, longest + std::chrono::milliseconds(200), [this] { return thread_done_; });
  if (!done) {
    for (const auto& c : checks_) {
      if (c->running) log::warn("readiness check still running at shutdown: left behind", {{"check", c->name}});
    }
  }
  lock.unlock();
  if (done) {
    thread_.join();
  } else {
    thread_.detach();  // it holds this object (and so what it touches); the process is ending
  }
}

Readiness::Wanted Readiness::want_fresh() {
  std::chrono::milliseconds longest{0};
  for (const auto& c : checks_) longest = std::max(longest, c->timeout);
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  // A run that started recently (or is asked for and not started yet) answers this probe.
  if (requested_ > started_ || (started_ > 0 && now - last_start_ < kFreshFor)) {
    return {requested_ > started_ ? requested_ : started_, now + longest + std::chrono::milliseconds(50)};
  }
  ++requested_;
  wake_.notify_all();
  return {requested_, now + longest + std::chrono::milliseconds(50)};
}

std::uint64_t Readiness::completed() const {
  std::lock_guard lock(mutex_);
  return completed_;
}

Readiness::Report Readiness::report() const {
  Report r;
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (const auto& c : checks_) {
    std::string line;
    if (c->running && now - c->started > c->timeout) {
      line = timed_out(c->timeout);
    } else if (!c->checked) {
      line = "not checked yet";
    } else if (c->ok) {
      line = "ok";
    } else {
      line = c->why;
    }
    if (line != "ok") r.ready = false;
    r.text += c->name + ": " + line + "\n";
  }
  for (const auto& [name, why_not] : conditions_) {
    std::string why = why_not();
    if (why.empty()) continue;
    std::replace(why.begin(), why.end(), '\n', ' ');
    r.ready = false;
    r.text += name + ": " + why + "\n";
  }
  return r;
}

void Readiness::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || requested_ > started_; });
    if (stopping_) break;
    started_ = requested_;
    last_start_ = Clock::now();
    for (auto& c : checks_) {
      if (stopping_) break;
      c->running = true;
      c->started = Clock::now();
      lock.unlock();
      auto [ok, why] = run(*c);
      lock.lock();
      c->running = false;
      // A state change is logged once: an operator sees which dependency failed and when.
      if (c->checked && c->ok != ok) {
        if (ok) {
          log::info("readiness check ok again", {{"check", c->name}});
        } else {
          log::warn("readiness check failed", {{"check", c->name}, {"cause", why}});
        }
      } else if (!c->checked && !ok) {
        log::warn("readiness check failed", {{"check", c->name}, {"cause", why}});
      }
      c->checked = true;
      c->ok = ok;
      c->why = std::move(why);
    }
    completed_ = started_;
  }
  thread_done_ = true;
  finished_.notify_all();
}

std::pair<bool, std::string> Readiness::run(Check& check) {
  const auto started = Clock::now();
  if (check.sync) {
    // On this thread: a sync check may block (a database ping), never an I/O thread.
    bool ok = false;
    std::string why;
    try {
      ok = check.sync();
      if (!ok) why = "not ready";
    } catch (...) {
      why = threw(std::current_exception());
    }
    if (Clock::now() - started > check.timeout) return {false, timed_out(check.timeout)};
    return {ok, std::move(why)};
  }
  // A coroutine check runs on an I/O thread (it may call other services); this thread
  // waits for it up to its timeout, then moves on and leaves it to finish on its own.
  auto result = std::make_shared<AsyncResult>();
  IoThread& at = io_thread_();
  boost::asio::post(at.io(), [self = shared_from_this(), fn = &check.async, result, &at] {
    run_async(self, fn, result, at);
  });
  std::unique_lock lock(result->mutex);
  const bool done = result->done_cv.wait_for(lock, check.timeout, [&] { return result->done; });
  if (!done) return {false, timed_out(check.timeout)};
  return {result->ok, result->why};
}

}  // namespace pit::detail
