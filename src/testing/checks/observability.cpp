// Call logs, metrics, overload (docs/testing.md): what the service tells its operators
// about each call, and what it does with more calls than it may serve.
//
// - call_logs: per operation and way in, one call with a drill that logs an application
//   line inside the call (before and after a suspension) and then lets the implementation
//   run. The lines the host handed its log sink (the kit's tap in front of that sink) must
//   hold exactly one call line for it, with the caller's correlation and trace ids, and the
//   application lines must carry the same ids. What the tap cannot see: what the user's
//   sink does with a line it accepts (rewrites it, strips fields, sends it nowhere). What
//   it can: a line the sink refuses (write() returns false), counted by pit::log::dropped().
// - metrics: per operation and way in, a call without a drill and one with a failure
//   injected are each counted once in pit_calls_total under the code the caller got, and
//   in the duration histogram; the admin listener's /metrics serves the same counters.
// - overload: the host-wide admission limit exists and holds (max_in_flight + max_queue + k
//   calls at once against one operation whose drill keeps them in flight: k refused at
//   once, `unavailable`, rejected and retryable, over HTTP 503 with Retry-After, the rest
//   served), and so does each operation's own limit. Limits too large to load in a unit
//   test are judged by their configuration, and the result says so.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "call/call_access.hpp"
#include "client/enter.hpp"
#include "pit/log.hpp"
#include "testing/checks.hpp"

namespace pit::testing::detail {
namespace {

using pit::detail::CallAccess;
using pit::detail::Drill;
using Labels = std::vector<std::pair<std::string, std::string>>;

constexpr std::string_view kCallLogs = "call_logs";
constexpr std::string_view kMetrics = "metrics";
constexpr std::string_view kOverload = "overload";

std::string via_text(Via via) { return std::string(to_string(via)); }

// Where one of an operation's settings comes from, as the configuration file and
// HostOptions spell it: its own entry, its contract's, or the host's.
std::string setting_key(const HostOptions& o, const Target& t, std::optional<bool> OperationOptions::*member,
                        std::string_view field, std::string_view host_key) {
  const std::string contract{t.operation->contract};
  if (auto it = o.operations.find(t.name()); it != o.operations.end() && (it->second.*member).has_value()) {
    return "contracts.\"" + contract + "\".operations." + std::string(t.operation->name) + "." + std::string(field) +
           " (HostOptions::operations[\"" + t.name() + "\"]." + std::string(field) + ")";
  }
  if (auto it = o.operations.find(contract); it != o.operations.end() && (it->second.*member).has_value()) {
    return "contracts.\"" + contract + "\"." + std::string(field) + " (HostOptions::operations[\"" + contract + "\"]." +
           std::string(field) + ")";
  }
  return std::string(host_key) + " (HostOptions::" + std::string(field) + ")";
}

// The same for a size setting of the operation's own (no host fallback: unset is none).
std::string limit_key(const HostOptions& o, const Target& t, std::optional<std::size_t> OperationOptions::*member,
                      std::string_view field) {
  const std::string contract{t.operation->contract};
  if (auto it = o.operations.find(t.name()); it != o.operations.end() && (it->second.*member).has_value()) {
    return "contracts.\"" + contract + "\".operations." + std::string(t.operation->name) + "." + std::string(field) +
           " (HostOptions::operations[\"" + t.name() + "\"]." + std::string(field) + ")";
  }
  return "contracts.\"" + contract + "\"." + std::string(field) + " (HostOptions::operations[\"" + contract + "\"]." +
         std::string(field) + ")";
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out.append(separator);
    out.append(p);
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// call_logs

// The fields of a log line the check reads; an absent id is nullopt (not "").
struct LogLine {
  std::string msg;
  std::string kind;
  std::string contract;
  std::string operation;
  std::string code;
  std::string transport;
  std::string drill;
  std::optional<std::string> correlation_id;
  std::optional<std::string> trace_id;
  bool nested = false;  // it has a parent span: a call made by another call
};

std::optional<LogLine> parse_line(std::string_view text) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(text, ec);
  if (ec || !doc.is_object()) return std::nullopt;
  const auto& obj = doc.as_object();
  auto field = [&](std::string_view key) -> std::optional<std::string> {
    const auto* v = obj.if_contains(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  LogLine line;
  line.msg = field("msg").value_or("");
  line.kind = field("kind").value_or("");
  line.contract = field("contract").value_or("");
  line.operation = field("operation").value_or("");
  line.code = field("code").value_or("");
  line.transport = field("transport").value_or("");
  line.drill = field("drill").value_or("");
  line.correlation_id = field("correlation_id");
  line.trace_id = field("trace_id");
  line.nested = obj.if_contains("parent_span_id") != nullptr;
  return line;
}

std::string shown(const std::optional<std::string>& id) { return id ? "'" + *id + "'" : std::string("absent"); }

// What is wrong with the ids of one line, compared with what the caller got; empty: nothing.
std::string id_problem(const LogLine& line, const Answer& answer) {
  std::vector<std::string> wrong;
  if (line.correlation_id != answer.correlation_id) {
    wrong.push_back("correlation_id " + shown(line.correlation_id) + " where the caller got '" + answer.correlation_id + "'");
  }
  if (!answer.trace_id.empty() && line.trace_id != answer.trace_id) {
    wrong.push_back("trace_id " + shown(line.trace_id) + " where the caller got '" + answer.trace_id + "'");
  }
  return join(wrong, ", ");
}

// Why no call line came for the call: the operation's setting, the level, the sink.
std::string missing_call_line(const Kit& kit, const Target& t, std::uint64_t refused) {
  const HostOptions& o = kit.state().options;
  if (t.settings != nullptr && !t.settings->log_calls) {
    return "no call line was written: call lines are switched off for this operation by " +
           setting_key(o, t, &OperationOptions::log_calls, "log_calls", "log.calls") +
           " = false. Remove that setting: the call line is the one record of every call's outcome with the ids its caller "
           "was given, what an operator searches for when a caller reports a failure";
  }
  if (o.log_level > log::Level::info) {
    return "no call line was written: log.level = \"" + std::string(log::to_string(o.log_level)) +
           "\" (HostOptions::log_level) hides call lines, which are info lines. Keep the level at info (raise it at "
           "run time on the admin listener if needed, it reverts by itself)";
  }
  if (refused != 0) {
    return "no call line reached the log: the host's log sink refused " + std::to_string(refused) +
           " line(s) during the call (its write() returned false; pit::log::dropped() counts them)";
  }
  return "no call line reached the host's log sink during the call (looked for {\"msg\":\"call\",\"kind\":\"server\","
         "\"contract\":\"" +
         std::string(t.operation->contract) + "\",\"operation\":\"" + std::string(t.operation->name) +
         "\"}); was the process-wide sink replaced after the host started (pit::log::configure)? Give the sink "
         "to the host as HostOptions::log_sink instead";
}

void check_call_logs_of(Kit& kit, const Target& t, Via via) {
  const std::string marker = "pit-kit application line inside " + t.name() + " (" + via_text(via) + ")";
  const std::uint64_t dropped_before = log::dropped();
  const std::size_t mark = kit.log_mark();
  Answer answer;
  {
    // Logged before and after a suspension, then the implementation runs: whatever the
    // outcome, the call has its line.
    auto armed = kit.arm(t, Drill{.log_line = marker});
    answer = kit.call(t, via);
  }
  const std::uint64_t refused = log::dropped() - dropped_before;
  if (!answer.transport_error.empty()) {
    kit.fail(kCallLogs, &t, via, "the kit's call got no answer: " + answer.transport_error);
    return;
  }
  std::vector<LogLine> call_lines;
  std::vector<LogLine> app_lines;
  for (const auto& text : kit.log_since(mark)) {
    auto line = parse_line(text);
    if (!line) continue;
    if (line->msg == "call" && line->kind == "server" && line->contract == t.operation->contract &&
        line->operation == t.operation->name && !line->nested) {
      call_lines.push_back(std::move(*line));
    } else if (line->msg == marker) {
      app_lines.push_back(std::move(*line));
    }
  }

  std::vector<std::string> problems;
  if (answer.correlation_id.empty()) {
    problems.push_back(via == Via::http ? "the reply carried no X-Request-Id header, so a caller cannot quote the call"
                                        : "the call had no correlation id");
  }
  if (call_lines.empty()) {
    problems.push_back(missing_call_line(kit, t, refused));
  } else if (call_lines.size() > 1) {
    problems.push_back(std::to_string(call_lines.size()) + " call lines for one call (one is promised)");
  } else {
    const LogLine& line = call_lines.front();
    if (auto wrong = id_problem(line, answer); !wrong.empty()) problems.push_back("the call line has " + wrong);
    if (line.code != to_string(answer.code) && !(via == Via::http && answer.code == Code::unknown)) {
      problems.push_back("the call line says code '" + line.code + "' where the caller got '" +
                         std::string(to_string(answer.code)) + "'");
    }
    if (line.transport != to_string(via)) {
      problems.push_back("the call line says transport '" + line.transport + "' for a call made " + via_text(via));
    }
  }
  if (refused != 0 && !call_lines.empty()) {
    problems.push_back("the host's log sink refused " + std::to_string(refused) +
                       " of the lines written during the call (its write() returned false; pit::log::dropped() counts "
                       "them), so the call's record is incomplete. A sink that filters or samples lines loses calls: "
                       "choose what is written with log.level (HostOptions::log_level), and let the sink refuse a "
                       "line only when it truly cannot keep up");
  }
  // The drill's two lines: before and after a hop through the I/O thread's queue.
  bool reached = !app_lines.empty();
  for (const auto& line : app_lines) {
    if (auto wrong = id_problem(line, answer); !wrong.empty()) {
      problems.push_back("an application line logged inside the call (" + line.drill + ") has " + wrong +
                         ": lines written with pit::log inside a call must carry its ids by themselves");
    }
  }
  if (reached && app_lines.size() != 2) {
    problems.push_back("of the two application lines logged inside the call, " + std::to_string(app_lines.size()) +
                       " reached the log sink");
  }
  if (!problems.empty()) {
    kit.fail(kCallLogs, &t, via, join(problems, "; "));
    return;
  }
  if (!reached) {
    // The call was answered before the operation: the kit's credential did not reach it, or
    // a policy answered. The call line was right; the application lines were never written.
    kit.skip(kCallLogs, &t, via,
             "the call line is right, but the call was answered (" + answer.summary() +
                 ") before it reached the operation, so no application line was logged inside it; give the kit a "
                 "credential the operation accepts (Hints::authorization, Hints::identity)");
    return;
  }
  kit.pass(kCallLogs, &t, via,
           "one call line (code " + std::string(to_string(answer.code)) + ") and two application lines, all with "
           "correlation id " + answer.correlation_id + " and trace id " + answer.trace_id);
}

// ------------------------------------------------------------------------------------------
// metrics

// Every sample of one metric in a text exposition: its labels as written -> its value.
std::map<std::string, double> samples(std::string_view text, std::string_view name) {
  std::map<std::string, double> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.size() <= name.size() || line.substr(0, name.size()) != name || line[name.size()] != '{') continue;
    const auto close = line.find("} ");
    if (close == std::string_view::npos) continue;
    try {
      out[std::string(line.substr(name.size() + 1, close - name.size() - 1))] = std::stod(std::string(line.substr(close + 2)));
    } catch (const std::exception&) {
    }
  }
  return out;
}

// The samples of `name` that changed from `before` to `after`, for a message.
std::string changes(std::string_view before, std::string_view after, std::string_view name) {
  const auto a = samples(before, name);
  std::vector<std::string> changed;
  for (const auto& [labels, value] : samples(after, name)) {
    const auto it = a.find(labels);
    const double delta = value - (it == a.end() ? 0.0 : it->second);
    if (delta != 0) changed.push_back(std::string(name) + "{" + labels + "} +" + std::to_string(static_cast<long long>(delta)));
  }
  return changed.empty() ? "no " + std::string(name) + " sample changed" : "what changed: " + join(changed, ", ");
}

// Whether the call `answer` was counted once, between two renders; empty: it was.
std::string counted(const Target& t, Via via, const Answer& answer, const std::string& before, const std::string& after,
                    std::string_view what) {
  if (!answer.transport_error.empty()) return std::string(what) + ": the call got no answer: " + answer.transport_error;
  const std::string contract{t.operation->contract};
  const std::string operation{t.operation->name};
  const std::string code{to_string(answer.code)};
  const Labels call_labels{{"contract", contract}, {"operation", operation}, {"code", code},
                           {"transport", via_text(via)}, {"kind", "server"}};
  const Labels op_labels{{"contract", contract}, {"operation", operation}, {"kind", "server"}};
  std::vector<std::string> problems;
  const double calls = Kit::sample_value(after, "pit_calls_total", call_labels) -
                       Kit::sample_value(before, "pit_calls_total", call_labels);
  if (calls != 1) {
    problems.push_back(std::string(what) + " (the caller got " + code + ") was counted " +
                       std::to_string(static_cast<long long>(calls)) + " times in pit_calls_total{contract=\"" + contract +
                       "\",operation=\"" + operation + "\",code=\"" + code + "\",transport=\"" + via_text(via) +
                       "\",kind=\"server\"} (once is promised); " + changes(before, after, "pit_calls_total"));
  }
  const double timed = Kit::sample_value(after, "pit_call_duration_seconds_count", op_labels) -
                       Kit::sample_value(before, "pit_call_duration_seconds_count", op_labels);
  if (timed != 1) {
    problems.push_back(std::string(what) + " was counted " + std::to_string(static_cast<long long>(timed)) +
                       " times in pit_call_duration_seconds (once is promised)");
  }
  return join(problems, "; ");
}

void check_metrics_of(Kit& kit, const Target& t, Via via) {
  std::vector<std::string> problems;
  const std::string before = kit.metrics_text();
  const Answer plain = kit.call(t, via);
  const std::string after_plain = kit.metrics_text();
  if (auto p = counted(t, via, plain, before, after_plain, "a call"); !p.empty()) problems.push_back(p);
  std::string fault_code = "none";
  if (kit.attached()) {
    Answer failed;
    {
      auto armed = kit.arm(t, Drill{.exception = "pit-kit: a failure for the metrics check"});
      failed = kit.call(t, via);
    }
    fault_code = std::string(to_string(failed.code));
    // Counted under the code its caller got, whatever that is: a user policy that answers
    // such a call ok is fault_masking's finding, not a metrics one.
    if (auto p = counted(t, via, failed, after_plain, kit.metrics_text(), "a call failed inside"); !p.empty()) {
      problems.push_back(p);
    }
  } else {
    problems.push_back("a failed call could not be counted: " + Kit::not_attached_message());
  }
  if (!problems.empty()) {
    kit.fail(kMetrics, &t, via,
             join(problems, "; ") +
                 ". pit counts every call in its metrics policy, outside every policy of yours: a call not counted "
                 "under its operation and the code its caller got means this host's pipeline lost that policy or "
                 "its counters (a defect of pit, or of a changed pipeline): report it");
    return;
  }
  kit.pass(kMetrics, &t, via,
           "counted once each under its code in pit_calls_total and pit_call_duration_seconds: a call (" +
               std::string(to_string(plain.code)) + ") and a failed call (" + fault_code + ")");
}

// /metrics on the admin listener serves the counters the host keeps.
void check_metrics_scrape(Kit& kit) {
  if (!kit.has_admin()) {
    kit.pass(kMetrics, nullptr, std::nullopt,
             "the host has no admin listener (admin.listen is empty), so /metrics is served nowhere: the counters were "
             "read in-process. Give it one on loopback or a private network for your scraper");
    return;
  }
  const std::string local = kit.metrics_text();
  const Answer scraped = kit.http("GET", "/metrics", CallSpec{}, true);
  const std::string where = "GET http://127.0.0.1:" + std::to_string(kit.host().admin_port()) + "/metrics";
  if (!scraped.transport_error.empty() || scraped.status != 200) {
    kit.fail(kMetrics, nullptr, std::nullopt,
             where + " answered " + scraped.summary() +
                 ": the admin listener must serve /metrics on loopback without a credential");
    return;
  }
  const auto served = samples(scraped.body, "pit_calls_total");
  std::vector<std::string> differ;
  for (const auto& [labels, value] : samples(local, "pit_calls_total")) {
    const auto it = served.find(labels);
    if (it == served.end() || it->second != value) {
      differ.push_back("pit_calls_total{" + labels + "} is " + std::to_string(static_cast<long long>(value)) +
                       " in the host, " +
                       (it == served.end() ? std::string("absent") : std::to_string(static_cast<long long>(it->second))) +
                       " on /metrics");
    }
  }
  if (!differ.empty()) {
    kit.fail(kMetrics, nullptr, std::nullopt, where + " does not serve the host's counters: " + join(differ, "; "));
    return;
  }
  kit.pass(kMetrics, nullptr, std::nullopt,
           where + " serves the same " + std::to_string(served.size()) + " pit_calls_total samples as the host keeps");
}

// ------------------------------------------------------------------------------------------
// overload

// Calls the kit starts at once at most: more is no unit test. Limits that need more are
// judged by their configuration.
constexpr std::size_t kMaxLoad = 4096;
// Calls started past the limit and the queue, each of which must be refused.
constexpr std::size_t kExcess = 8;

// The outcomes of one load: calls started at once, each recorded when its caller is answered.
struct Load {
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t done = 0;
  std::size_t refused = 0;         // unavailable and rejected
  std::size_t refused_plainly = 0;  // ... but without the retryable flag
  std::map<Code, std::size_t> served;  // the others, by code
  Clock::time_point last_refusal{};
  Clock::time_point first_served = Clock::time_point::max();
};

// One call of the load, started on the calling thread (in its CallerScope) and finished on
// the call's home I/O thread. Its frames go before it reports, as in block_on: nothing of
// the call is left once the kit has seen every call end.
pit::detail::Detached run_one(Host::State& host, CallRef call, const Target* t, std::shared_ptr<Load> load) {
  Task<Outcome> task = pit::detail::enter(host, &Host::State::pipeline, std::move(call), t->implementation, t->settings,
                                          "inproc");
  Outcome outcome = co_await std::move(task);
  task = Task<Outcome>{};
  const auto now = Clock::now();
  const Code code = outcome.code();
  const bool rejected = !outcome.ok() && code == Code::unavailable && outcome.fault().has(Fault::rejected);
  const bool retryable = rejected && outcome.fault().has(Fault::retryable);
  std::lock_guard lock{load->mutex};
  ++load->done;
  if (rejected) {
    ++load->refused;
    if (!retryable) ++load->refused_plainly;
    load->last_refusal = std::max(load->last_refusal, now);
  } else {
    ++load->served[code];
    load->first_served = std::min(load->first_served, now);
  }
  load->changed.notify_all();
}

// What one load run saw.
struct LoadRun {
  std::size_t calls = 0;
  std::size_t refused = 0;
  std::size_t refused_plainly = 0;
  std::map<Code, std::size_t> served;
  bool finished = false;    // every call was answered in time
  bool conclusive = false;  // every call met admission, and the probe was answered, before a slot came free
  std::chrono::milliseconds delay{};
  std::chrono::microseconds slowest_refusal{};
  std::optional<Answer> probe;  // over HTTP, while the limit was full
};

// Starts `calls` calls of `t` at once, each held in flight for `delay` by a drill that then
// fails it with `cancelled` (part of every operation, so no fault is masked or logged and
// the implementation never runs), and, while the limit is full, one more over HTTP.
// `limiter`: the limit under test, whose slots and queue tell when every call met it.
LoadRun run_load(Kit& kit, const Target& t, const pit::detail::Limiter& limiter, std::size_t calls,
                 std::chrono::milliseconds delay, bool probe_http) {
  LoadRun run;
  run.calls = calls;
  run.delay = delay;
  auto load = std::make_shared<Load>();
  const std::string body = kit.sample_request(t);
  auto armed = kit.arm(t, Drill{.delay = delay, .code = Code::cancelled});
  const auto started = Clock::now();
  {
    // The caller's deadline bounds the load whatever the queue's length: a call still
    // waiting for a slot at 3 delays leaves the queue, answered deadline_exceeded.
    CallerScope scope{{.timeout = 3 * delay, .identity = kit.hints().identity}};
    for (std::size_t i = 0; i < calls; ++i) {
      CallRef call{t.operation->hooks.make_call(*t.operation)};
      CallAccess::set_json_request(*call, body);
      CallAccess::want_json_reply(*call);
      run_one(kit.state(), std::move(call), &t, load);
    }
  }
  // Every call has met the limit once it was refused, holds a slot or waits for one.
  Clock::time_point all_met = Clock::time_point::max();
  const auto give_up = started + delay;
  for (;;) {
    const std::size_t held = limiter.in_flight() + limiter.queued();
    std::size_t refused = 0;
    bool any_served = false;
    {
      std::lock_guard lock{load->mutex};
      refused = load->refused;
      any_served = load->first_served != Clock::time_point::max();
    }
    if (any_served || Clock::now() >= give_up) break;
    if (refused + held >= calls) {
      all_met = Clock::now();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  Clock::time_point probed = all_met;
  if (probe_http && all_met != Clock::time_point::max()) {
    run.probe = kit.call(t, Via::http, CallSpec{.client_timeout = std::chrono::milliseconds(5'000) + 3 * delay});
    probed = Clock::now();
  }
  // Every call ends by the caller's deadline (3 delays); the rest is slack for a loaded machine.
  std::unique_lock lock{load->mutex};
  run.finished = load->changed.wait_for(lock, 3 * delay + std::chrono::seconds(10), [&] { return load->done == calls; });
  run.refused = load->refused;
  run.refused_plainly = load->refused_plainly;
  run.served = load->served;
  // The margin: half a delay between the last call meeting the limit (and the probe's
  // answer) and the first slot coming free, so no call was admitted into a freed slot.
  run.conclusive = all_met != Clock::time_point::max() && probed + delay / 2 <= load->first_served &&
                   (load->refused == 0 || load->last_refusal + delay / 2 <= load->first_served);
  if (load->refused != 0) {
    run.slowest_refusal = std::chrono::duration_cast<std::chrono::microseconds>(load->last_refusal - started);
  }
  lock.unlock();
  // Nothing left in flight: calls answered at their deadline release their slots as their
  // drills end, at once.
  const auto settle = Clock::now() + std::chrono::seconds(5);
  while ((limiter.in_flight() != 0 || limiter.queued() != 0) && Clock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return run;
}

// The operation's effective timeout: the longest the kit's drill may hold a call.
std::chrono::milliseconds effective_timeout(const Kit& kit, const Target& t) {
  if (t.settings != nullptr && t.settings->timeout.count() > 0) return t.settings->timeout;
  return kit.state().options.default_timeout;
}

// Runs the load, doubling the delay while the machine was too slow to fill the limit before
// the first held call ended (a sanitizer build, a busy CI runner).
std::optional<LoadRun> load_until_conclusive(Kit& kit, const Target& t, const pit::detail::Limiter& limiter,
                                             std::size_t calls, bool probe_http) {
  const auto longest = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(1'600), effective_timeout(kit, t) / 4);
  std::optional<LoadRun> last;
  for (auto delay = std::chrono::milliseconds(100);; delay *= 2) {
    delay = std::min(delay, longest);
    last = run_load(kit, t, limiter, calls, delay, probe_http);
    if (last->conclusive || !last->finished || delay >= longest) break;
  }
  return last;
}

std::string milliseconds(std::chrono::microseconds us) {
  return std::to_string(us.count() / 1000) + "." + std::to_string(us.count() % 1000 / 100) + " ms";
}

std::string served_text(const std::map<Code, std::size_t>& served) {
  std::vector<std::string> parts;
  for (const auto& [code, n] : served) parts.push_back(std::to_string(n) + " " + std::string(to_string(code)));
  return parts.empty() ? "none" : join(parts, ", ");
}

// The verdict of a load against a limit of `limit` slots and `queue` waiting places.
void judge_load(Kit& kit, const Target* subject, const Target& t, const LoadRun& run, std::size_t limit,
                std::size_t queue, const std::string& limit_text) {
  const std::string setup = std::to_string(run.calls) + " calls of " + t.name() + " at once (each held " +
                            std::to_string(run.delay.count()) + " ms) against " + limit_text;
  if (!run.finished) {
    kit.fail(kOverload, subject, Via::inproc,
             setup + ": not every call was answered within its deadline and 10 s more (" + std::to_string(run.refused) +
                 " refused, served: " + served_text(run.served) + ")");
    return;
  }
  if (!run.conclusive) {
    kit.skip(kOverload, subject, Via::inproc,
             setup + ": the machine was too slow to fill the limit before the first held call ended, even holding "
                     "each call " + std::to_string(run.delay.count()) + " ms; nothing was concluded");
    return;
  }
  std::vector<std::string> problems;
  if (run.refused < kExcess) {
    problems.push_back("only " + std::to_string(run.refused) + " were refused, " + std::to_string(kExcess - run.refused) +
                       " of the " + std::to_string(kExcess) + " past the limit and the queue were taken in anyway: calls "
                       "queue past the configured limits");
  }
  if (run.refused_plainly != 0) {
    problems.push_back(std::to_string(run.refused_plainly) +
                       " refusals lacked the retryable flag, so no client retries them elsewhere");
  }
  if (!problems.empty()) {
    kit.fail(kOverload, subject, Via::inproc, setup + ": " + join(problems, "; "));
    return;
  }
  kit.pass(kOverload, subject, Via::inproc,
           setup + " (" + std::to_string(limit) + " in flight, " + std::to_string(queue) + " waiting): " +
               std::to_string(run.refused) + " refused unavailable (rejected, retryable) within " +
               milliseconds(run.slowest_refusal) + " of the start, before any slot came free; the other " +
               std::to_string(run.calls - run.refused) + " were taken in and ended as the kit's drill made them: " +
               served_text(run.served));
}

// The probe over HTTP, sent while the limit was full.
void judge_probe(Kit& kit, const Target* subject, const Target& t, const LoadRun& run) {
  if (!run.finished || !run.conclusive || !run.probe) return;  // judged (or skipped) by judge_load
  const Answer& a = *run.probe;
  const std::string what = "a call of " + t.name() + " over HTTP while the limit was full";
  std::vector<std::string> problems;
  if (a.status != 503) problems.push_back("got " + a.summary() + ", not 503");
  if (a.header("Retry-After").empty()) problems.push_back("the answer had no Retry-After header");
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(a.body, ec);
  const auto* retryable = !ec && doc.is_object() ? doc.as_object().if_contains("retryable") : nullptr;
  if (retryable == nullptr || !retryable->is_bool() || !retryable->as_bool()) {
    problems.push_back("its problem document did not say \"retryable\": true");
  }
  if (!problems.empty()) {
    kit.fail(kOverload, subject, Via::http, what + ": " + join(problems, "; "));
    return;
  }
  kit.pass(kOverload, subject, Via::http,
           what + ": 503 with Retry-After: " + a.header("Retry-After") + " and \"retryable\": true, in " +
               milliseconds(std::chrono::duration_cast<std::chrono::microseconds>(a.elapsed)));
}

// Whether the kit's calls reach the drill of `t` (its credential passes, no policy of the
// user's answers first): a drill that logs and then fails, so the implementation never runs.
bool reaches_operation(Kit& kit, const Target& t) {
  const std::string marker = "pit-kit overload probe of " + t.name();
  const std::size_t mark = kit.log_mark();
  {
    auto armed = kit.arm(t, Drill{.code = Code::cancelled, .log_line = marker});
    (void)kit.call(t, Via::inproc);
  }
  for (const auto& text : kit.log_since(mark)) {
    if (auto line = parse_line(text); line && line->msg == marker) return true;
  }
  return false;
}

std::string limits_text(std::string_view in_flight_key, std::size_t limit, std::string_view queue_key, std::size_t queue) {
  return std::string(in_flight_key) + " = " + std::to_string(limit) + ", " + std::string(queue_key) + " = " +
         std::to_string(queue);
}

void check_host_limit(Kit& kit) {
  const AdmissionOptions& a = kit.state().options.admission;
  const std::string keys = "admission.max_in_flight (HostOptions::admission.max_in_flight)";
  if (a.max_in_flight == 0) {
    kit.fail(kOverload, nullptr, std::nullopt,
             "the host has no host-wide admission limit (admission.max_in_flight = 0, HostOptions::admission."
             "max_in_flight): calls queue without bound, so under overload every call waits and memory and latency "
             "grow until callers time out, instead of the excess being refused `unavailable` with Retry-After at "
             "once. Set admission.max_in_flight to what the service sustains (throughput x healthy latency, "
             "docs/reliability.md \"Choosing the limits\") and admission.max_queue for bursts");
    return;
  }
  const std::string limit_text = limits_text("admission.max_in_flight", a.max_in_flight, "admission.max_queue", a.max_queue);
  if (a.max_queue > kMaxLoad) {
    kit.fail(kOverload, nullptr, std::nullopt,
             limit_text + ": " + std::to_string(a.max_queue) +
                 " calls may wait for a slot (admission.max_queue, HostOptions::admission.max_queue): a queue that "
                 "long is no bound, its last calls wait out their deadlines instead of being refused at once. Size "
                 "the queue for bursts (at most " +
                 std::to_string(kMaxLoad) + "; docs/reliability.md \"Choosing the limits\")");
    return;
  }
  const std::size_t calls = a.max_in_flight + a.max_queue + kExcess;
  if (calls > kMaxLoad) {
    kit.pass(kOverload, nullptr, std::nullopt,
             limit_text + ": the limits are finite; no load was run, because filling them takes " +
                 std::to_string(calls) + " calls at once, more than the kit starts in a test (" +
                 std::to_string(kMaxLoad) + ")");
    return;
  }
  if (!kit.attached()) {
    kit.fail(kOverload, nullptr, std::nullopt, Kit::not_attached_message());
    return;
  }
  // One operation without a limit of its own (that one would refuse first), preferably
  // open to anyone and not deduplicated (no idempotency claims stored), that the kit's
  // calls reach.
  std::vector<const Target*> candidates;
  for (const auto& t : kit.targets()) {
    if (t.settings != nullptr && t.settings->limiter == nullptr) candidates.push_back(&t);
  }
  if (candidates.empty()) {
    kit.pass(kOverload, nullptr, std::nullopt,
             limit_text + ": the limits are finite; every operation has a limit of its own, which refuses before the "
                          "host-wide one, so the host-wide one was not loaded (each operation's own is)");
    return;
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Target* x, const Target* y) {
    auto rank = [](const Target* t) {
      return (t->operation->spec.access() == Access::anonymous ? 0 : 1) + (t->operation->spec.is_deduplicated() ? 2 : 0);
    };
    return rank(x) < rank(y);
  });
  const Target* chosen = nullptr;
  for (const Target* t : candidates) {
    if (reaches_operation(kit, *t)) {
      chosen = t;
      break;
    }
  }
  if (chosen == nullptr) {
    kit.skip(kOverload, nullptr, std::nullopt,
             limit_text + ": the limits are finite, but no operation without a limit of its own let the kit's calls "
                          "in, so none was loaded; give the kit a credential (Hints::authorization, Hints::identity)");
    return;
  }
  const auto run = load_until_conclusive(kit, *chosen, *kit.state().limiters->host(), calls, kit.has_http());
  judge_load(kit, nullptr, *chosen, *run, a.max_in_flight, a.max_queue, limit_text);
  judge_probe(kit, nullptr, *chosen, *run);
}

void check_operation_limit(Kit& kit, const Target& t) {
  const HostOptions& o = kit.state().options;
  const std::size_t limit = t.settings->max_in_flight;
  const std::size_t queue = t.settings->max_queue;
  const std::string queue_key = limit_key(o, t, &OperationOptions::max_queue, "max_queue");
  const std::string limit_text = limits_text(limit_key(o, t, &OperationOptions::max_in_flight, "max_in_flight"), limit,
                                             queue_key, queue);
  if (queue > kMaxLoad) {
    kit.fail(kOverload, &t, std::nullopt,
             limit_text + ": " + std::to_string(queue) + " calls may wait for the operation's " + std::to_string(limit) +
                 " slots, and a call waiting there holds no slot of the host-wide limit, so nothing else bounds "
                 "them either: calls queue without bound, the last ones waiting out their deadlines instead of being "
                 "refused at once. Size " +
                 queue_key + " for bursts (at most " + std::to_string(kMaxLoad) +
                 "; docs/reliability.md \"Choosing the limits\")");
    return;
  }
  const std::size_t calls = limit + queue + kExcess;
  if (calls > kMaxLoad) {
    kit.pass(kOverload, &t, std::nullopt,
             limit_text + ": the limits are finite; no load was run, because filling them takes " + std::to_string(calls) +
                 " calls at once, more than the kit starts in a test (" + std::to_string(kMaxLoad) + ")");
    return;
  }
  if (!kit.attached()) {
    kit.fail(kOverload, &t, std::nullopt, Kit::not_attached_message());
    return;
  }
  if (!reaches_operation(kit, t)) {
    kit.skip(kOverload, &t, std::nullopt,
             limit_text + ": the limits are finite, but the kit's calls did not reach the operation, so it was not "
                          "loaded; give the kit a credential it accepts (Hints::authorization, Hints::identity)");
    return;
  }
  const auto run = load_until_conclusive(kit, t, *t.settings->limiter, calls, kit.has_http());
  judge_load(kit, &t, t, *run, limit, queue, limit_text);
  judge_probe(kit, &t, t, *run);
}

}  // namespace

void check_call_logs(Kit& kit) {
  if (!kit.attached()) {
    kit.fail(kCallLogs, nullptr, std::nullopt, Kit::not_attached_message());
    return;
  }
  for (const auto& t : kit.targets()) {
    for (Via via : kit.ways()) check_call_logs_of(kit, t, via);
  }
}

void check_metrics(Kit& kit) {
  for (const auto& t : kit.targets()) {
    for (Via via : kit.ways()) check_metrics_of(kit, t, via);
  }
  check_metrics_scrape(kit);
}

void check_overload(Kit& kit) {
  check_host_limit(kit);
  for (const auto& t : kit.targets()) {
    if (t.settings != nullptr && t.settings->limiter != nullptr) check_operation_limit(kit, t);
  }
}

}  // namespace pit::testing::detail
