// The diagnostics pages of the admin listener. Each page is built from what the runtime
// already keeps; nothing here is on a call's path except CallHistory::record (fed by the
// metrics policy). Per-thread state (calls in flight, recent calls) is read on its own
// I/O thread: the page posts a visit to every thread and resumes when all have answered.
#include "transport/http/admin.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <coroutine>
#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "call/call_access.hpp"
#include "call/call_history.hpp"
#include "contract/json_text.hpp"
#include "identity/strict_json.hpp"
#include "observability/log_level.hpp"
#include "pit/asio.hpp"
#include "pit/log.hpp"
#include "transport/http/remote_client.hpp"

#ifndef PIT_VERSION
#define PIT_VERSION "unknown"
#endif
#ifndef PIT_BUILD_TYPE
#define PIT_BUILD_TYPE "unknown"
#endif

namespace pit::detail {

namespace asio = boost::asio;
namespace js = boost::json;

namespace {

using SystemClock = std::chrono::system_clock;

// RFC 3339, UTC, milliseconds: "2026-12-01T22:43:43.120Z".
std::string rfc3339(SystemClock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char out[96];  // room for any int the compiler imagines: the real text is 24 characters
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(((ms % 1000) + 1000) % 1000));
  return out;
}

// A steady-clock instant as wall-clock time, against one pair of readings of both clocks.
struct Clocks {
  Clock::time_point steady = Clock::now();
  SystemClock::time_point wall = SystemClock::now();
  [[nodiscard]] std::string wall_of(Clock::time_point t) const {
    return rfc3339(wall - std::chrono::duration_cast<SystemClock::duration>(steady - t));
  }
};

// Milliseconds with 3 decimals (microseconds): stable, short output.
double rounded_ms(Clock::duration d) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(d).count()) / 1000.0;
}

std::string_view cancel_reason_name(CancelReason r) {
  switch (r) {
    case CancelReason::none: return "none";
    case CancelReason::deadline: return "deadline";
    case CancelReason::caller: return "caller";
    case CancelReason::shutdown: return "shutdown";
  }
  return "none";
}

constexpr std::pair<std::string_view, log::Level> kLevels[] = {
    {"debug", log::Level::debug}, {"info", log::Level::info}, {"warn", log::Level::warn},
    {"error", log::Level::error}, {"off", log::Level::off}};

std::optional<log::Level> parse_level(std::string_view text) {
  for (const auto& [name, level] : kLevels) {
    if (name == text) return level;
  }
  return std::nullopt;
}

// application/json, parameters (charset) allowed, case ignored.
bool is_json_media_type(std::string_view v) {
  auto type = v.substr(0, v.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  constexpr std::string_view json = "application/json";
  if (type.size() != json.size()) return false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != json[i]) return false;
  }
  return true;
}

std::string sha256(std::string_view text) {
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

AdminResponse json_page(js::object body) {
  AdminResponse res;
  res.body = json_text(body);
  return res;
}

AdminResponse error_page(unsigned status, std::string_view message) {
  AdminResponse res;
  res.status = status;
  js::object body;
  body["error"] = message;
  res.body = js::serialize(body);
  return res;
}

// How long a page waits for the I/O threads' answers: a thread stuck in an operation must
// not hang the page that shows it (the page names the threads that did not answer).
constexpr auto kThreadPatience = std::chrono::seconds(1);

// The answers of every I/O thread to one visit. Each thread fills its own slot, on its own
// thread, then marks it (release); the asking page reads only marked slots (acquire), so a
// thread that answers late writes a slot nobody reads. Shared with the visits: a late one
// outlives the page.
template <class T>
struct ThreadAnswers {
  explicit ThreadAnswers(std::size_t n) : slots(n), done(std::make_unique<std::atomic<bool>[]>(n)) {}
  std::vector<T> slots;
  std::unique_ptr<std::atomic<bool>[]> done;
  std::atomic<std::size_t> answered{0};
  [[nodiscard]] bool answered_by(std::size_t i) const { return done[i].load(std::memory_order_acquire); }
};

// Posts visit(thread, its slot) to every I/O thread of the host. `visit` is copied into
// each post: it must own what it reads (never the page's frame).
template <class T, class Visit>
std::shared_ptr<ThreadAnswers<T>> ask_every_thread(const std::vector<std::unique_ptr<IoThread>>& threads,
                                                   const Visit& visit) {
  auto answers = std::make_shared<ThreadAnswers<T>>(threads.size());
  for (const auto& t : threads) {
    asio::post(t->io(), [answers, visit, thread = t.get()] {
      const std::size_t i = thread->index();
      visit(*thread, answers->slots[i]);
      answers->done[i].store(true, std::memory_order_release);
      answers->answered.fetch_add(1, std::memory_order_acq_rel);
    });
  }
  return answers;
}

// Waits on a timer of this I/O thread (which keeps serving meanwhile, its own visit
// included) until `n` threads answered or `until` passed.
Task<void> wait_for_answers(const std::atomic<std::size_t>& answered, std::size_t n, Clock::time_point until) {
  asio::steady_timer timer{IoThread::current()->io()};
  while (answered.load(std::memory_order_acquire) < n && Clock::now() < until) {
    timer.expires_after(std::chrono::milliseconds(1));
    try {
      co_await timer.async_wait(use_task);
    } catch (const boost::system::system_error&) {
      break;
    }
  }
}

template <class T>
js::array unanswered(const ThreadAnswers<T>& answers) {
  js::array out;
  for (std::size_t i = 0; i < answers.slots.size(); ++i) {
    if (!answers.answered_by(i)) out.emplace_back(i);
  }
  return out;
}

}  // namespace

// The process's log level set at run time, and its expiry. The timer lives on the first
// I/O thread and is touched only there; the rest is guarded by `mutex`.
struct AdminPages::LogLevel {
  std::mutex mutex;
  log::Level configured = log::Level::info;
  std::optional<log::Level> level;  // set at run time, until `until`
  Clock::time_point until{};
  std::chrono::milliseconds duration{0};
  std::uint64_t generation = 0;  // which setting the armed timer expires
  bool stopped = false;          // the host stops: nothing is set any more
  IoThread* timer_thread = nullptr;
  std::unique_ptr<asio::steady_timer> timer;  // made on timer_thread

  // Back to the configured level, if `generation` is still the setting in force (a later
  // POST replaced it otherwise). Says so in the log whatever the level.
  void revert(std::uint64_t which, std::string_view why) {
    std::lock_guard lock(mutex);
    if (!level || which != generation) return;
    set_log_level(configured);
    log::write(log::Level::warn, "log level reverted",
               {{"level", log::to_string(configured)},
                {"was", log::to_string(*level)},
                {"reason", why}});
    level.reset();
  }
};

AdminPages::AdminPages(Host::State& host, bool loopback)
    : host_(host), loopback_(loopback), log_level_(std::make_shared<LogLevel>()) {
  if (!host.options.admin.token.empty()) token_digest_ = sha256(host.options.admin.token);
  log_level_->configured = host.options.log_level;
  if (!host.io_threads.empty()) log_level_->timer_thread = host.io_threads.front().get();
}

AdminPages::~AdminPages() { stop(); }

void AdminPages::stop() {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(log_level_->mutex);
    generation = log_level_->generation;
    log_level_->stopped = true;
  }
  log_level_->revert(generation, "shutdown");
  if (log_level_->timer_thread != nullptr) {
    // Gone on its thread, while its io_context lives.
    asio::post(log_level_->timer_thread->io(), [state = log_level_] { state->timer.reset(); });
    log_level_->timer_thread = nullptr;
  }
}

bool AdminPages::serves(std::string_view path) noexcept {
  return path == "/status" || path == "/config" || path == "/calls" || path == "/calls/recent" ||
         path == "/calls/slowest" || path == "/clients" || path == "/log-level";
}

namespace {

// The admin token, as a bearer credential, against the configured one's digest: the
// digests are compared in constant time, so neither the token's content nor its length
// shows in how long a refusal takes.
bool bearer_matches(std::string_view authorization, const std::string& digest) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return false;
  }
  const std::string presented = sha256(authorization.substr(scheme.size()));
  return CRYPTO_memcmp(presented.data(), digest.data(), digest.size()) == 0;
}

}  // namespace

Task<AdminResponse> AdminPages::serve(const AdminRequest& req) {
  const bool is_post = req.method == "POST";
  const bool is_read = req.method == "GET" || req.method == "HEAD";
  const bool changes_state = req.path == "/log-level" && is_post;
  if (!is_read && !changes_state) {
    AdminResponse res = error_page(405, "method not allowed");
    res.allow = req.path == "/log-level" ? "GET, HEAD, POST" : "GET, HEAD";
    co_return res;
  }
  // Who may ask.
  if (req.authorizations > 1) co_return error_page(400, "more than one Authorization header");
  if (changes_state || !loopback_) {
    if (token_digest_.empty()) {
      co_return error_page(403, changes_state
                                    ? "state changes on the admin listener need admin.token (PIT_ADMIN_TOKEN), "
                                      "which is not set"
                                    : "the admin listener is not on loopback: its diagnostics pages need admin.token "
                                      "(PIT_ADMIN_TOKEN), which is not set");
    }
    if (!bearer_matches(req.authorization, token_digest_)) {
      AdminResponse res = error_page(401, "the admin token is missing or wrong");
      res.www_authenticate = "Bearer";
      co_return res;
    }
  }

  const auto& options = host_.options;
  if (req.path == "/status") {
    const Clocks clocks;
    js::object page;
    page["service"] = js::object{{"name", options.service.name}, {"version", options.service.version}};
    page["pit"] = js::object{{"version", PIT_VERSION}, {"build", PIT_BUILD_TYPE}, {"compiler", __VERSION__}};
    page["started_at"] = rfc3339(host_.diagnostics.started_wall);
    page["uptime_s"] = rounded_ms(clocks.steady - host_.diagnostics.started) / 1000.0;
    page["config_hash"] = host_.diagnostics.config_hash;
    page["io_threads"] = host_.io_threads.size();
    page["in_flight"] = host_.in_flight.load(std::memory_order_relaxed);
    // The printed order (Host::describe_pipeline), as a list of names.
    js::array pipeline;
    if (host_.pipeline) {
      const std::string text = host_.pipeline->describe();
      for (std::size_t at = 0; at < text.size();) {
        const auto end = text.find('\n', at);
        const auto line = std::string_view{text}.substr(at, end - at);
        const auto dot = line.find(". ");
        pipeline.emplace_back(dot == std::string_view::npos ? line : line.substr(dot + 2));
        if (end == std::string::npos) break;
        at = end + 1;
      }
    }
    page["pipeline"] = std::move(pipeline);
    js::array operations;
    for (const auto& service : host_.services) {
      for (const auto& op : service.contract->operations) {
        const auto& s = service.settings[op.index];
        js::object o;
        o["contract"] = service.contract->name;
        o["operation"] = op.name;
        o["runs_on"] = op.coroutine ? "io_thread" : "worker";
        o["timeout_ms"] = (s.timeout.count() != 0 ? s.timeout : options.default_timeout).count();
        o["max_body_bytes"] = s.max_body_bytes;
        o["max_reply_bytes"] = s.max_reply_bytes;
        o["max_in_flight"] = s.max_in_flight;
        o["max_queue"] = s.max_queue;
        o["access"] = s.rule;
        o["idempotent"] = op.spec.is_idempotent();
        o["deduplicated"] = op.spec.is_deduplicated();
        o["transactional"] = op.spec.is_transactional();
        o["log_calls"] = s.log_calls;
        o["fault_injection"] = s.inject.percent == 0
                                   ? js::value(nullptr)
                                   : js::value(js::object{{"percent", s.inject.percent},
                                                          {"delay_ms", s.inject.delay.count()},
                                                          {"code", s.inject.code ? to_string(*s.inject.code) : "none"}});
        operations.emplace_back(std::move(o));
      }
    }
    page["operations"] = std::move(operations);
    co_return json_page(std::move(page));
  }

  if (req.path == "/config") {
    AdminResponse res;
    res.body = host_.diagnostics.config_json;
    co_return res;
  }

  if (req.path == "/calls") {
    struct InFlight {
      std::string contract, operation, transport, correlation_id, trace_id, span_id;
      Clock::time_point started, deadline;
      CancelReason cancelled = CancelReason::none;
      bool nested = false;
      std::size_t thread = 0;
    };
    const auto answers = ask_every_thread<std::vector<InFlight>>(
        host_.io_threads, [](IoThread& thread, std::vector<InFlight>& out) {
          thread.active().for_each([&out, &thread](const Call& call) {
            const Context& c = call.context();
            out.push_back({std::string{c.contract()}, std::string{c.operation()}, std::string{c.transport()},
                           std::string{c.correlation_id()}, std::string{c.trace_id()}, std::string{c.span_id()},
                           CallAccess::started(call), c.deadline(), c.cancel_reason(), CallAccess::nested(call),
                           thread.index()});
          });
        });
    const auto until = Clock::now() + kThreadPatience;
    co_await wait_for_answers(answers->answered, host_.io_threads.size(), until);
    std::vector<InFlight> calls;
    for (std::size_t i = 0; i < answers->slots.size(); ++i) {
      if (answers->answered_by(i)) calls.insert(calls.end(), answers->slots[i].begin(), answers->slots[i].end());
    }
    std::sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) { return a.started < b.started; });
    const Clocks clocks;
    js::array list;
    for (const auto& c : calls) {
      js::object o;
      o["contract"] = c.contract;
      o["operation"] = c.operation;
      o["transport"] = c.transport;
      o["nested"] = c.nested;
      o["started_at"] = clocks.wall_of(c.started);
      o["age_ms"] = rounded_ms(clocks.steady - c.started);
      o["remaining_ms"] = c.deadline == Clock::time_point::max()
                              ? js::value(nullptr)
                              : js::value(rounded_ms(std::max(Clock::duration::zero(), c.deadline - clocks.steady)));
      o["correlation_id"] = c.correlation_id;
      o["trace_id"] = c.trace_id;
      o["span_id"] = c.span_id;
      o["cancelled"] = c.cancelled != CancelReason::none;
      o["cancel_reason"] = cancel_reason_name(c.cancelled);
      o["io_thread"] = c.thread;
      list.emplace_back(std::move(o));
    }
    js::object page;
    page["now"] = rfc3339(clocks.wall);
    page["count"] = list.size();
    page["unanswered_io_threads"] = unanswered(*answers);
    page["calls"] = std::move(list);
    co_return json_page(std::move(page));
  }

  if (req.path == "/calls/recent" || req.path == "/calls/slowest") {
    const bool slowest = req.path == "/calls/slowest";
    // Per operation (in /status order); each thread answers its records of every operation.
    struct Op {
      const Host::State::Service* service;
      const OperationInfo* info;
      CallHistory* history;  // lives as long as the host
    };
    std::vector<Op> ops;
    std::vector<CallHistory*> histories;
    for (const auto& service : host_.services) {
      for (const auto& op : service.contract->operations) {
        ops.push_back({&service, &op, service.settings[op.index].history.get()});
        histories.push_back(ops.back().history);
      }
    }
    using Records = std::vector<std::vector<CallRecord>>;  // by operation
    const auto answers = ask_every_thread<Records>(
        host_.io_threads, [histories, slowest](IoThread& thread, Records& out) {
          out.resize(histories.size());
          for (std::size_t k = 0; k < histories.size(); ++k) {
            if (histories[k] == nullptr) continue;
            if (slowest) histories[k]->copy_slowest(thread.index(), out[k]);
            else histories[k]->copy_recent(thread.index(), out[k]);
          }
        });
    const auto until = Clock::now() + kThreadPatience;
    co_await wait_for_answers(answers->answered, host_.io_threads.size(), until);
    const Clocks clocks;
    js::array operations;
    for (std::size_t k = 0; k < ops.size(); ++k) {
      const Op& op = ops[k];
      std::vector<CallRecord> all;
      for (std::size_t i = 0; i < answers->slots.size(); ++i) {
        if (!answers->answered_by(i)) continue;
        const auto& part = answers->slots[i][k];
        all.insert(all.end(), part.begin(), part.end());
      }
      if (slowest) {
        std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.took > b.took; });
      } else {
        std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.started > b.started; });
      }
      if (all.size() > options.admin.recent_calls) all.resize(options.admin.recent_calls);
      js::array calls;
      for (const auto& r : all) {
        js::object o;
        o["started_at"] = clocks.wall_of(r.started);
        o["duration_ms"] = rounded_ms(r.took);
        o["code"] = to_string(r.code);
        o["correlation_id"] = r.correlation_id();
        o["trace_id"] = r.trace();
        calls.emplace_back(std::move(o));
      }
      js::object o;
      o["contract"] = op.service->contract->name;
      o["operation"] = op.info->name;
      o["calls"] = std::move(calls);
      operations.emplace_back(std::move(o));
    }
    js::object page;
    page["kept"] = options.admin.recent_calls;
    page["order"] = slowest ? "slowest first, since the start" : "newest first";
    page["unanswered_io_threads"] = unanswered(*answers);
    page["operations"] = std::move(operations);
    co_return json_page(std::move(page));
  }

  if (req.path == "/clients") {
    const auto now = Clock::now();
    js::array clients;
    if (host_.remote_clients) {
      for (const auto& client : host_.remote_clients->all()) {
        const auto& o = client->options();
        js::object c;
        c["contract"] = client->contract().name;
        c["balancer"] = o.balancer == Balancer::p2c ? "p2c" : "round_robin";
        c["in_flight"] = client->in_flight();
        c["max_in_flight"] = o.max_in_flight;
        c["retry_budget_available"] = std::round(client->budget().available(now) * 100) / 100;
        js::array endpoints;
        for (const auto& e : client->endpoints().endpoints()) {
          js::object ep;
          ep["url"] = e->url().base;
          ep["in_flight"] = e->in_flight();
          ep["latency_ms"] = std::round(e->latency_us(now)) / 1000.0;
          ep["failure_penalty"] = std::round(e->failure_penalty(now) * 1000) / 1000;
          ep["consecutive_failures"] = e->consecutive_failures();
          const bool ejected = e->ejected(now);
          ep["ejected"] = ejected;
          ep["ejected_for_ms"] = ejected ? js::value(rounded_ms(e->ejected_until() - now)) : js::value(nullptr);
          ep["ejections"] = e->times_ejected();
          ep["idle_connections"] = client->idle_connections(*e);
          endpoints.emplace_back(std::move(ep));
        }
        c["endpoints"] = std::move(endpoints);
        clients.emplace_back(std::move(c));
      }
    }
    js::object page;
    page["clients"] = std::move(clients);
    co_return json_page(std::move(page));
  }

  // /log-level
  auto& state = *log_level_;
  if (changes_state) {
    if (!is_json_media_type(req.content_type)) {
      co_return error_page(415, "the body must be application/json: {\"level\": \"debug\", \"duration_s\": 300}");
    }
    std::optional<log::Level> level;
    double duration_s = 0;
    std::string problem;
    auto read = [&](json::Node root) {
      if (!identity::is(root, json::Node::Kind::object)) {
        problem = "the body must be a JSON object";
        return;
      }
      for (std::size_t i = 0; i < root.size(); ++i) {
        const auto key = root.key_at(i);
        const auto value = root.value_at(i);
        if (key == "level") {
          if (value.kind() != json::Node::Kind::string || !(level = parse_level(value.as_string()))) {
            problem = "level must be one of \"debug\", \"info\", \"warn\", \"error\", \"off\"";
            return;
          }
        } else if (key == "duration_s") {
          const auto k = value.kind();
          if (k != json::Node::Kind::int64 && k != json::Node::Kind::uint64 && k != json::Node::Kind::number) {
            problem = "duration_s must be a number of seconds";
            return;
          }
          duration_s = value.as_double();
        } else {
          problem = "unknown member \"" + std::string{key.substr(0, 64)} + "\": only level and duration_s";
          return;
        }
      }
    };
    json::Limits limits;
    limits.max_depth = 2;
    limits.max_elements = 16;
    limits.max_string_bytes = 256;
    if (const auto parse_error = identity::read_strict_json(req.body, limits, read)) {
      co_return error_page(400, "not JSON: " + *parse_error);
    }
    if (!problem.empty()) co_return error_page(400, problem);
    if (!level) co_return error_page(400, "level is missing");
    const auto max = options.admin.max_log_level_duration;
    const double max_s = std::chrono::duration<double>(max).count();
    if (!(duration_s > 0) || duration_s > max_s) {
      char text[160];
      std::snprintf(text, sizeof text, "duration_s must be more than 0 and at most %g (admin.max_log_level_duration_ms)",
                    max_s);
      co_return error_page(400, text);
    }
    const auto duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(duration_s));
    std::uint64_t generation = 0;
    Clock::time_point until{};
    {
      std::lock_guard lock(state.mutex);
      if (state.stopped) co_return error_page(503, "the host is stopping");
      const log::Level before = state.level.value_or(state.configured);
      state.level = level;
      state.duration = std::max(duration, std::chrono::milliseconds{1});
      state.until = Clock::now() + state.duration;
      until = state.until;
      generation = ++state.generation;
      set_log_level(*level);
      log::write(log::Level::warn, "log level set at run time",
                 {{"level", log::to_string(*level)},
                  {"was", log::to_string(before)},
                  {"duration_ms", static_cast<std::int64_t>(state.duration.count())}});
    }
    if (state.timer_thread != nullptr) {
      asio::post(state.timer_thread->io(), [weak = std::weak_ptr<LogLevel>(log_level_), thread = state.timer_thread,
                                            generation, until] {
        const auto s = weak.lock();
        if (!s) return;
        {
          std::lock_guard lock(s->mutex);
          if (s->stopped) return;  // stop() reverted the level and let the timer go
        }
        if (!s->timer) s->timer = std::make_unique<asio::steady_timer>(thread->io());
        s->timer->expires_at(until);  // a wait for an earlier setting ends (operation_aborted)
        s->timer->async_wait([weak, generation](const boost::system::error_code& ec) {
          if (ec) return;
          if (const auto s = weak.lock()) s->revert(generation, "expired");
        });
      });
    }
  }
  js::object page;
  {
    std::lock_guard lock(state.mutex);
    const auto now = Clocks{};
    page["level"] = log::to_string(state.level.value_or(state.configured));
    page["configured"] = log::to_string(state.configured);
    page["reverts_at"] = state.level ? js::value(now.wall_of(state.until)) : js::value(nullptr);
    page["reverts_in_s"] = state.level
                               ? js::value(rounded_ms(std::max(Clock::duration::zero(), state.until - now.steady)) / 1000.0)
                               : js::value(nullptr);
    page["max_duration_s"] = std::chrono::duration<double>(options.admin.max_log_level_duration).count();
  }
  co_return json_page(std::move(page));
}

}  // namespace pit::detail
