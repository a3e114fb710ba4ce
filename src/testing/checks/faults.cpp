// Fault masking, declared faults, deadlines (docs/testing.md): what the caller of each
// operation gets when the operation fails in a way it does not declare (`internal`, a
// correlation id, the cause in the log once and nowhere else), in a way it declares (that
// code), and when it is slow (`deadline_exceeded` at the caller's deadline; a bounded
// timeout whatever the caller asks).
//
// Every failure and delay is the kit's own drill (pipeline/policies/fault_injection),
// armed on the operation for one call: the user's implementation never runs for it, and
// everything the user added around it (exception mappers, policies, configuration) does.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fault/exception_mappers.hpp"
#include "testing/checks.hpp"
#include "transport/http/wire.hpp"

namespace pit::testing::detail {
namespace {

using pit::detail::Drill;

constexpr std::string_view kMasking = "fault_masking";
constexpr std::string_view kDeclared = "declared_faults";
constexpr std::string_view kDeadlines = "deadlines";

std::string millis(std::chrono::nanoseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

// "2 s", "5 min", "1000 h", "250 ms": a configured duration as a person writes it.
std::string duration_text(std::chrono::milliseconds d) {
  const auto n = d.count();
  if (n != 0 && n % 3'600'000 == 0) return std::to_string(n / 3'600'000) + " h";
  if (n != 0 && n % 60'000 == 0) return std::to_string(n / 60'000) + " min";
  if (n != 0 && n % 1'000 == 0) return std::to_string(n / 1'000) + " s";
  return std::to_string(n) + " ms";
}

std::string code_name(Code code) { return std::string(pit::to_string(code)); }

// "an already_exists fault", "a not_found fault".
std::string a_fault(Code code) {
  const std::string name = code_name(code);
  const bool vowel = name.find_first_of("aeiou") == 0;
  return (vowel ? "an " : "a ") + name + " fault";
}

// What the caller got, in a few words: "HTTP 400 invalid_argument 'text must not be
// empty'", "ok". The fault's public message (in-process) or the problem's detail (HTTP).
std::string brief(const Answer& answer) {
  if (!answer.transport_error.empty()) return "no answer (" + answer.transport_error + ")";
  std::string out = answer.status != 0 ? "HTTP " + std::to_string(answer.status) + " " : std::string{};
  out += code_name(answer.code);
  std::string said = answer.fault ? answer.fault->message() : std::string{};
  if (!answer.fault && answer.status != 0 && !answer.ok()) said = log_field(answer.body, "detail");
  if (!said.empty()) out += " '" + (said.size() > 160 ? said.substr(0, 160) + "..." : said) + "'";
  return out;
}

// The policies the user added with host.use, by name, from the pipeline as it runs: every
// policy that is not one of pit's own.
std::vector<std::string> user_policies(const Kit& kit) {
  static constexpr std::string_view kStandard[] = {
      "correlation", "tracing",        "call_log",      "metrics",       "fault_shaping",   "deadline",
      "admission",   "authentication", "authorization", "deduplication", "fault_injection", "dispatch"};
  std::vector<std::string> out;
  const std::string text = kit.host().describe_pipeline();
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line = std::string_view(text).substr(pos, end - pos);
    pos = end + 1;
    const auto dot = line.find(". ");
    if (dot == std::string_view::npos) continue;
    const std::string_view name = line.substr(dot + 2);
    if (std::find(std::begin(kStandard), std::end(kStandard), name) == std::end(kStandard))
      out.emplace_back(name);
  }
  return out;
}

// `a policy you added with host.use ("x", "y")`, or "" when there is none.
std::string policies_phrase(const Kit& kit) {
  const auto names = user_policies(kit);
  if (names.empty()) return {};
  std::string out =
      names.size() == 1 ? "the policy you added with host.use (\"" : "a policy you added with host.use (\"";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out += "\", \"";
    out += names[i];
  }
  return out + "\")";
}

// Where a caller of `answer` can read `secret`; empty when nowhere. For the message: the
// part, and the text around the secret.
std::string where_seen(const Answer& answer, std::string_view secret) {
  const auto excerpt = [&](const std::string& text) {
    const auto at = text.find(secret);
    const auto from = at > 40 ? at - 40 : 0;
    return " ('" + text.substr(from, at - from + secret.size() + 20) + "')";
  };
  // In-process the body is the fault's message: name the fault's part first.
  if (answer.fault) {
    const Fault& f = *answer.fault;
    if (f.message().find(secret) != std::string::npos) return "the fault's message()" + excerpt(f.message());
    for (const auto& d : f.details()) {
      if (d.key.find(secret) != std::string::npos || d.value.find(secret) != std::string::npos) {
        return "the fault's detail '" + d.key + "'";
      }
    }
    if (f.cause().find(secret) != std::string::npos) return "the fault's cause()";
    if (std::string_view(f.what()).find(secret) != std::string_view::npos) return "the fault's what()";
  }
  if (answer.body.find(secret) != std::string::npos) return "the reply body" + excerpt(answer.body);
  for (const auto& [name, value] : answer.headers) {
    if (name.find(secret) != std::string::npos || value.find(secret) != std::string::npos) {
      return "the reply header " + name;
    }
  }
  return {};
}

bool carries(const Fault& fault, std::string_view secret) {
  if (fault.message().find(secret) != std::string::npos) return true;
  return std::any_of(fault.details().begin(), fault.details().end(), [&](const Fault::Detail& d) {
    return d.key.find(secret) != std::string::npos || d.value.find(secret) != std::string::npos;
  });
}

// What the host's exception mappers make of the drill's exception, as the drill itself
// maps it (nullopt: no mapper takes a std::runtime_error, so it is masked as internal).
std::optional<Fault> mapped_by_user(const Kit& kit, const std::string& text) {
  const auto& mappers = kit.state().mappers;
  if (mappers.empty()) return std::nullopt;
  std::exception_ptr error;
  try {
    throw std::runtime_error(text);
  } catch (...) {
    error = std::current_exception();
  }
  for (const auto& mapper : mappers) {
    try {
      if (auto fault = mapper(error)) return fault;
    } catch (const std::exception&) {
      return std::nullopt;  // the drill's mapping fails the same way: internal
    }
  }
  return std::nullopt;
}

// A marker the drill logs inside the call (an application line): its presence says the
// call reached the operation, i.e. the drill ran. Unique per call, and never a secret.
std::string drill_marker() {
  static std::atomic<std::uint64_t> next{0};
  return "pit kit: drill " + std::to_string(next.fetch_add(1) + 1) + " reached the operation";
}

bool drill_ran(const std::vector<std::string>& lines, std::string_view marker) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& line) { return line.find(marker) != std::string::npos; });
}

// The kit's call was refused for its credential before it reached the operation: the
// check cannot say anything about the operation (the identity check is about refusals).
bool refused_for_credential(const Answer& answer, const std::vector<std::string>& lines,
                            std::string_view marker) {
  return (answer.code == Code::unauthenticated || answer.code == Code::permission_denied) &&
         !drill_ran(lines, marker);
}

std::string refused_message(const Target& target, const Answer& answer, Via via) {
  return "the kit's call was refused (" + brief(answer) + ") before it reached " + target.name() +
         ", so nothing injected into it could run: give the kit a credential this operation accepts "
         "(Hints::" +
         (via == Via::http ? "authorization, the Authorization header's value"
                           : "identity, a pit::service_identity") +
         ", with the scopes and roles it requires)";
}

std::string joined(const std::vector<std::string>& problems) {
  std::string out;
  for (const auto& p : problems) {
    if (!out.empty()) out += " Also: ";
    out += p;
  }
  return out;
}

// The caller's correlation id is there: on the in-process fault, in the HTTP header and in
// the problem document (the two the same).
void check_correlation(const Answer& answer, Via via, std::vector<std::string>& problems) {
  if (answer.correlation_id.empty()) {
    problems.push_back("the caller got no correlation id (" +
                       std::string(via == Via::http ? "no Pit-Request-Id header" : "none on the call") +
                       "), so an operator cannot find the failure in the log: pit sets it on every call; "
                       "check what between the caller and pit removes it");
    return;
  }
  if (via == Via::inproc && answer.fault && answer.fault->correlation_id() != answer.correlation_id) {
    problems.push_back("the fault the caller caught carries correlation id '" +
                       answer.fault->correlation_id() + "', not the call's '" + answer.correlation_id + "'");
  }
  if (via == Via::http) {
    const std::string in_body = log_field(answer.body, "correlation_id");
    if (in_body != answer.correlation_id) {
      problems.push_back("the problem document's correlation_id is '" + in_body +
                         "', the Pit-Request-Id header '" + answer.correlation_id +
                         "': a caller reporting either must lead to the same log lines");
    }
  }
}

// ---- fault_masking ----------------------------------------------------------------------

// Why the caller read the secret: the host's own mappers (the kit maps the same exception
// with them), or a policy, or pit itself.
std::string leak_diagnosis(const Kit& kit, const Target& target, const Answer& answer,
                           const std::string& text, std::string_view secret) {
  const OpSpec& spec = target.operation->spec;
  if (auto mapped = mapped_by_user(kit, text);
      mapped && carries(*mapped, secret) && spec.declares(mapped->code())) {
    return "an exception mapper you added with host.map_exception (one that takes a std::runtime_error) puts "
           "what() in the public message of " +
           a_fault(mapped->code()) + ", a code " + target.name() +
           " declares, so it passes fault shaping as it is. Map to a fixed message and let the cause go to "
           "the log via .with_cause(e.what()) (pit logs it under the call's correlation id and never sends "
           "it)";
  }
  const std::string policies = policies_phrase(kit);
  if (!policies.empty()) {
    if (answer.code != Code::internal && !spec.declares(answer.code)) {
      return policies + " throws a pit::Fault (" + code_name(answer.code) +
             ", which the operation does not declare) with the failure's cause in its public message: a "
             "fault thrown out of a policy is taken for pit's own and passes fault shaping unmasked. "
             "co_return the outcome of next() unchanged, or a fault with a fixed message and the cause in "
             ".with_cause(...), which pit logs and never sends";
    }
    return policies +
           " puts the failure's cause (Fault::cause(), or the exception's text) into the fault it hands on, "
           "as its message or a detail, with a code that passes fault shaping. co_return the outcome of "
           "next() unchanged, or a fault with a fixed message and the cause in .with_cause(...), which pit "
           "logs and never sends";
  }
  return "no mapper or policy of yours explains it: this is a bug in pit (fault_shaping), please report it "
         "with this message";
}

// Why the caller got `answer` (not a leak) for a failure that must come out `internal`.
std::string wrong_code_diagnosis(const Kit& kit, const Target& target, const Answer& answer,
                                 const std::string& text) {
  const std::string policies = policies_phrase(kit);
  if (answer.ok()) {
    if (policies.empty()) return "no policy of yours explains it: this is a bug in pit, please report it";
    return policies +
           " turns a failure into a success: the caller cannot tell that the call failed, and nothing is "
           "counted or logged as the fault it was. Let faults from next() pass (co_return the outcome)";
  }
  if (!text.empty()) {
    if (auto mapped = mapped_by_user(kit, text); mapped && mapped->code() == answer.code) {
      return "an exception mapper you added with host.map_exception maps any std::runtime_error to " +
             code_name(answer.code) + ", a code " + target.name() +
             " declares, so an unexpected failure of anything that throws one reaches callers as " +
             code_name(answer.code) +
             " instead of internal (and is not counted as masked). Map only exception types that mean that "
             "code (your own), not std::runtime_error or std::exception";
    }
  }
  if (policies.empty())
    return "no mapper or policy of yours explains it: this is a bug in pit, please report it";
  if (answer.code != Code::internal && !target.operation->spec.declares(answer.code)) {
    return policies + " throws a pit::Fault (" + code_name(answer.code) + ", which " + target.name() +
           " does not declare): a fault thrown out of a policy is taken for pit's own and passes fault "
           "shaping unmasked, so the caller cannot tell it from a real " +
           code_name(answer.code) +
           " and the failure is not counted as masked. co_return the outcome of next() unchanged, or "
           "co_return (not throw) the fault you mean, and declare its code on the operation";
  }
  return policies + " turns the failure into " + code_name(answer.code) +
         ". Let faults you do not mean to translate pass unchanged; pit masks what the operation does not "
         "declare";
}

// The one line that carries the secret, under the caller's correlation id.
void check_logged_once(const std::vector<std::string>& lines, const Answer& answer, std::string_view secret,
                       std::vector<std::string>& problems) {
  std::vector<const std::string*> with_secret;
  for (const auto& line : lines) {
    if (line.find(secret) != std::string::npos) with_secret.push_back(&line);
  }
  if (with_secret.empty()) {
    problems.push_back(
        "the failure's cause was logged nowhere, so an operator holding the caller's correlation id '" +
        answer.correlation_id +
        "' finds nothing: pit logs it once ('fault masked', level error) unless something drops it — a "
        "policy that replaces the fault without its cause (keep it: .with_cause(outcome.fault().cause())), "
        "log.level above error, or a log_redaction rule on the field 'cause'");
    return;
  }
  if (with_secret.size() > 1) {
    std::string msgs;
    for (const auto* line : with_secret) {
      msgs += (msgs.empty() ? "'" : ", '") + log_field(*line, "msg") + "'";
    }
    problems.push_back("the failure's cause was logged " + std::to_string(with_secret.size()) + " times (" +
                       msgs +
                       "), not once: pit logs a masked failure once ('fault masked') under the call's "
                       "correlation id; remove your own log line of the fault's cause (a policy or sink that "
                       "logs faults), or log only its correlation id");
    return;
  }
  const std::string id = log_field(*with_secret.front(), "correlation_id");
  if (id != answer.correlation_id) {
    problems.push_back("the failure's cause was logged under correlation id '" + id +
                       "', not the caller's '" + answer.correlation_id +
                       "', so the caller's report does not lead to it");
  }
}

void mask_one(Kit& kit, const Target& target, Via via) {
  const OpSpec& spec = target.operation->spec;
  std::vector<std::string> problems;

  // 1. An exception with a secret in its text, thrown inside the operation.
  const std::string secret = kit.canary();
  const std::string text =
      "query failed: connection to db-7.internal:5432 refused for user 'app' (password " + secret + ")";
  const std::string marker = drill_marker();
  const auto mark = kit.log_mark();
  Answer answer;
  {
    auto armed = kit.arm(target, Drill{.exception = text, .log_line = marker});
    answer = kit.call(target, via);
  }
  const auto lines = kit.log_since(mark);
  if (refused_for_credential(answer, lines, marker)) {
    kit.skip(kMasking, &target, via, refused_message(target, answer, via));
    return;
  }
  if (const std::string where = where_seen(answer, secret); !where.empty()) {
    problems.push_back("the caller got " + brief(answer) +
                       " and read the failure's cause (a secret of the kit's) in " + where + ": " +
                       leak_diagnosis(kit, target, answer, text, secret));
  } else if (answer.code != Code::internal) {
    problems.push_back("an exception thrown inside " + target.name() + " reached the caller as " +
                       brief(answer) + ", not internal: " + wrong_code_diagnosis(kit, target, answer, text));
  }
  if (answer.code == Code::internal && via == Via::http) {
    if (answer.status != 500) {
      problems.push_back("the internal fault came with HTTP status " + std::to_string(answer.status) +
                         ", not 500");
    }
    if (answer.header("Content-Type").rfind("application/problem+json", 0) != 0) {
      problems.push_back("the internal fault came as '" + answer.header("Content-Type") +
                         "', not application/problem+json");
    }
  }
  if (!answer.ok()) check_correlation(answer, via, problems);
  // Where the caller got the wrong answer, its fix is the one to make; the log is checked
  // once the answer is right.
  if (problems.empty()) check_logged_once(lines, answer, secret, problems);

  // 2. A code the operation does not declare, raised as the implementation would.
  Code undeclared = Code::data_loss;
  if (spec.declares(undeclared)) {
    for (int c = 1; c < code_count; ++c) {
      if (!spec.declares(static_cast<Code>(c))) {
        undeclared = static_cast<Code>(c);
        break;
      }
    }
  }
  if (!spec.declares(undeclared)) {
    const auto code_mark = kit.log_mark();
    Answer coded;
    {
      auto armed = kit.arm(target, Drill{.code = undeclared});
      coded = kit.call(target, via);
    }
    if (coded.code != Code::internal) {
      problems.push_back(a_fault(undeclared) + ", a code " + target.name() +
                         " does not declare, reached the caller as " + brief(coded) +
                         ", not internal: " + wrong_code_diagnosis(kit, target, coded, {}));
    } else {
      const auto code_lines = kit.log_since(code_mark);
      const bool recorded = std::any_of(code_lines.begin(), code_lines.end(), [&](const std::string& line) {
        // A masked fault's record: pit writes its original code ("fault masked"). A user
        // policy may have put another fault in its place on the way out (that one is
        // what got masked, and recorded): the failure still reached the log, under the id.
        return log_field(line, "correlation_id") == coded.correlation_id && !log_field(line, "original_code").empty();
      });
      if (!recorded) {
        problems.push_back(
            "a masked " + code_name(undeclared) +
            " fault left no log line with its original code under the caller's correlation id '" +
            coded.correlation_id +
            "' (pit writes 'fault masked', level error): check log.level and the log sink");
      }
    }
  }

  if (!problems.empty()) {
    kit.fail(kMasking, &target, via, joined(problems));
    return;
  }
  kit.pass(kMasking, &target, via,
           "an exception with a secret in its text came out as " + brief(answer) + ", correlation id " +
               answer.correlation_id +
               "; the secret was logged once under that id and is in no reply; an undeclared " +
               code_name(undeclared) + " came out internal too");
}

// ---- declared_faults --------------------------------------------------------------------

std::vector<Code> declared_codes(const OpSpec& spec) {
  std::vector<Code> out;
  for (int c = 1; c < code_count; ++c) {
    if ((spec.declared_mask() & (1U << static_cast<unsigned>(c))) != 0) out.push_back(static_cast<Code>(c));
  }
  return out;
}

void declared_one(Kit& kit, const Target& target, Via via, const std::vector<Code>& codes) {
  std::vector<std::string> problems;
  std::string seen;
  for (Code code : codes) {
    const std::string marker = drill_marker();
    const auto mark = kit.log_mark();
    Answer answer;
    {
      auto armed = kit.arm(target, Drill{.code = code, .log_line = marker});
      answer = kit.call(target, via);
    }
    if (refused_for_credential(answer, kit.log_since(mark), marker)) {
      kit.skip(kDeclared, &target, via, refused_message(target, answer, via));
      return;
    }
    const std::string name = code_name(code);
    if (answer.code != code) {
      const std::string policies = policies_phrase(kit);
      std::string why;
      if (policies.empty()) {
        why = "no policy of yours explains it: this is a bug in pit, please report it";
      } else if (answer.ok()) {
        why = policies + " turns the fault into a success";
      } else if (answer.code == Code::internal) {
        why = policies + " turns " + name + " into a code " + target.name() +
              " does not declare, which fault shaping then masks to internal";
      } else {
        why = policies + " turns " + name + " into " + code_name(answer.code);
      }
      problems.push_back("the operation declares " + name + ", and " + a_fault(code) +
                         " raised inside it reached the caller as " + brief(answer) + ": " + why +
                         ". Let declared faults pass unchanged (co_return the outcome of next()); if you "
                         "mean to translate a code, declare the one you return and say so in the contract");
      continue;
    }
    if (via == Via::http && answer.status != static_cast<int>(pit::http_wire::status_of(code))) {
      problems.push_back(name + " came with HTTP status " + std::to_string(answer.status) + ", not " +
                         std::to_string(pit::http_wire::status_of(code)) + " (docs/http.md)");
    }
    check_correlation(answer, via, problems);
    seen += (seen.empty() ? "" : ", ") + name;
    if (via == Via::http) seen += " (" + std::to_string(answer.status) + ")";
  }
  if (!problems.empty()) {
    kit.fail(kDeclared, &target, via, joined(problems));
    return;
  }
  kit.pass(kDeclared, &target, via, "each declared code came out as itself: " + seen);
}

// ---- deadlines ---------------------------------------------------------------------------

// Where the operation's own timeout comes from, as the configuration names it.
std::string timeout_source(const Kit& kit, const Target& target) {
  const auto& ops = kit.state().options.operations;
  const std::string contract{target.contract->name};
  if (auto it = ops.find(target.name()); it != ops.end() && it->second.timeout) {
    return "[contracts.\"" + contract + "\".operations." + std::string(target.operation->name) +
           "] timeout_ms (HostOptions::operations[\"" + target.name() + "\"].timeout)";
  }
  if (auto it = ops.find(contract); it != ops.end() && it->second.timeout) {
    return "[contracts.\"" + contract + "\"] timeout_ms (HostOptions::operations[\"" + contract +
           "\"].timeout)";
  }
  return "its contract's OpSpec{}.timeout(...)";
}

// The timeout a call gets when its caller sets no deadline: as the deadline policy
// computes it, the smaller of the operation's own (if any) and the host's default.
void timeout_one(Kit& kit, const Target& target) {
  const auto own = target.settings != nullptr ? target.settings->timeout : target.operation->spec.timeout();
  const auto host_default = kit.state().options.default_timeout;
  const auto effective = own.count() > 0 ? std::min(own, host_default) : host_default;
  const auto bound = kit.hints().max_timeout;
  if (effective <= bound) {
    std::string how = own.count() > 0 && own <= host_default
                          ? duration_text(own) + ", from " + timeout_source(kit, target)
                          : "the host's default_timeout";
    if (own.count() > 0 && own > host_default) {
      how += " (its own " + duration_text(own) + ", from " + timeout_source(kit, target) +
             ", is longer: the default caps it)";
    }
    kit.pass(kDeadlines, &target, std::nullopt,
             "a call without a deadline of its own ends after " + duration_text(effective) + " (" + how +
                 "), within Hints::max_timeout (" + duration_text(bound) + ")");
    return;
  }
  const std::string key = "[contracts.\"" + std::string(target.contract->name) + "\".operations." +
                          std::string(target.operation->name) + "] timeout_ms";
  const std::string suggestion = std::to_string(std::min<std::int64_t>(bound.count(), 30'000));
  std::string message = "a call of " + target.name() + " whose caller sets no deadline may run for " +
                        duration_text(effective) + " before pit ends it, past the kit's bound of " +
                        duration_text(bound) + " (Hints::max_timeout): ";
  if (own.count() == 0) {
    message += "the operation sets no timeout of its own, and the host's default_timeout is " +
               duration_text(host_default) +
               ". A call stuck on a slow dependency holds its caller, its worker and its memory that long. "
               "Give it a timeout: " +
               key + " = " + suggestion + " in the configuration (HostOptions::operations[\"" +
               target.name() +
               "\"].timeout in code, or OpSpec{}.timeout(...) in the contract), or lower [host] "
               "default_timeout_ms (HostOptions::default_timeout) for every operation";
  } else {
    message +=
        "its timeout is " + duration_text(own) + ", from " + timeout_source(kit, target) +
        ", and the host's default_timeout, which would cap it, is " + duration_text(host_default) +
        ". A call stuck on a slow dependency holds its caller, its worker and its memory that long. Lower " +
        key + " (e.g. " + suggestion +
        "), or [host] default_timeout_ms (HostOptions::default_timeout): the smaller of the two applies";
  }
  kit.fail(kDeadlines, &target, std::nullopt,
           message + ". If it truly needs longer, raise Hints::max_timeout in your test");
}

void deadline_one(Kit& kit, const Target& target, Via via) {
  const Hints& hints = kit.hints();
  const auto deadline = hints.short_deadline;
  const auto bound = hints.short_deadline + hints.deadline_slack;
  // Far past the bound: a deadline that is not kept cannot look kept.
  const auto delay = 2 * bound;
  const std::string marker = drill_marker();
  const auto mark = kit.log_mark();
  Answer answer;
  {
    auto armed = kit.arm(target, Drill{.delay = delay, .log_line = marker});
    CallSpec spec;
    spec.timeout = deadline;
    spec.client_timeout = delay + bound + std::chrono::seconds(2);
    answer = kit.call(target, via, spec);
  }
  const auto lines = kit.log_since(mark);
  if (refused_for_credential(answer, lines, marker)) {
    kit.skip(kDeadlines, &target, via, refused_message(target, answer, via));
    return;
  }
  std::vector<std::string> problems;
  const std::string setting = "with a caller deadline of " + millis(deadline) +
                              " and an operation that takes " + millis(delay) + ", the caller got ";
  if (answer.code != Code::deadline_exceeded) {
    std::string why;
    if (!drill_ran(lines, marker) && !answer.ok()) {
      const std::string policies = policies_phrase(kit);
      why = "the call never reached the operation: " +
            (policies.empty() ? std::string("something before it") : policies) + " answered first";
    } else {
      why = "pit answers deadline_exceeded at the deadline whatever the operation and the policies do (" +
            std::string(via == Via::http ? "the deadline travels in the Pit-Timeout header; check that "
                                           "nothing between the client and the listener drops it"
                                         : "this is a bug in pit, please report it") +
            ")";
    }
    problems.push_back(setting + brief(answer) + " after " + millis(answer.elapsed) +
                       ", not deadline_exceeded: " + why);
  } else {
    if (answer.elapsed > bound) {
      const bool late_line = std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
        return line.find("call completed after its deadline") != std::string::npos;
      });
      const std::string policies = policies_phrase(kit);
      problems.push_back(
          setting + "deadline_exceeded only after " + millis(answer.elapsed) + ", past the bound of " +
          millis(bound) +
          " (Hints::short_deadline + deadline_slack): the deadline's timer runs on the call's I/O thread, "
          "and something blocked that thread" +
          (late_line ? " (the log says 'call completed after its deadline: its I/O thread was blocked')"
                     : "") +
          " — " + (policies.empty() ? std::string("the operation") : policies + " or the operation") +
          " blocks in a coroutine (a blocking client, a sleep, a long loop). Await instead (pit::use_task), "
          "or move blocking work to a sync operation. If only your CI machine is that slow, raise "
          "Hints::deadline_slack");
    }
    if (via == Via::http && answer.status != 504) {
      problems.push_back("deadline_exceeded came with HTTP status " + std::to_string(answer.status) +
                         ", not 504");
    }
  }
  if (!problems.empty()) {
    kit.fail(kDeadlines, &target, via, joined(problems));
    return;
  }
  kit.pass(kDeadlines, &target, via,
           "deadline_exceeded after " + millis(answer.elapsed) + " for a " + millis(deadline) +
               " deadline (the operation would have taken " + millis(delay) + ")");
}

}  // namespace

void check_fault_masking(Kit& kit) {
  if (!kit.attached()) {
    kit.fail(kMasking, nullptr, std::nullopt, Kit::not_attached_message());
    return;
  }
  for (const auto& target : kit.targets()) {
    for (Via via : kit.ways()) mask_one(kit, target, via);
  }
}

void check_declared_faults(Kit& kit) {
  if (!kit.attached()) {
    kit.fail(kDeclared, nullptr, std::nullopt, Kit::not_attached_message());
    return;
  }
  for (const auto& target : kit.targets()) {
    const auto codes = declared_codes(target.operation->spec);
    if (codes.empty()) {
      kit.pass(kDeclared, &target, std::nullopt,
               "declares no codes: every fault it raises reaches the caller as internal (see fault_masking)");
      continue;
    }
    for (Via via : kit.ways()) declared_one(kit, target, via, codes);
  }
}

void check_deadlines(Kit& kit) {
  // The effective timeouts are configuration: they need no drill.
  for (const auto& target : kit.targets()) timeout_one(kit, target);
  if (!kit.attached()) {
    kit.fail(kDeadlines, nullptr, std::nullopt, Kit::not_attached_message());
    return;
  }
  for (const auto& target : kit.targets()) {
    for (Via via : kit.ways()) deadline_one(kit, target, via);
  }
}

}  // namespace pit::testing::detail
