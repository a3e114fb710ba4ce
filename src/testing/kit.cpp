#include "testing/kit.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>
#include <stdexcept>

#include "call/call_access.hpp"
#include "client/enter.hpp"
#include "context/context_access.hpp"
#include "durability/idempotency_key.hpp"
#include "pit/json.hpp"
#include "pit/schema.hpp"
#include "transport/http/fetch.hpp"
#include "transport/http/wire.hpp"

namespace pit::testing::detail {

using pit::detail::CallAccess;

bool LogTap::write(std::string_view line) {
  {
    std::lock_guard lock{mutex_};
    if (lines_.size() == kMaxLines) {
      lines_.erase(lines_.begin(), lines_.begin() + static_cast<std::ptrdiff_t>(kMaxLines / 2));
      dropped_ += kMaxLines / 2;
    }
    lines_.emplace_back(line);
  }
  return next_->write(line);
}

std::size_t LogTap::mark() const {
  std::lock_guard lock{mutex_};
  return dropped_ + lines_.size();
}

std::vector<std::string> LogTap::since(std::size_t mark) const {
  std::lock_guard lock{mutex_};
  const std::size_t first = mark > dropped_ ? mark - dropped_ : 0;
  if (first >= lines_.size()) return {};
  return {lines_.begin() + static_cast<std::ptrdiff_t>(first), lines_.end()};
}

std::string_view to_string(Via via) noexcept { return via == Via::http ? "http" : "inproc"; }

std::string Answer::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

std::string Answer::everything() const {
  std::string out = body;
  for (const auto& [k, v] : headers) out.append("\n").append(k).append(": ").append(v);
  if (fault) {
    out.append("\n").append(fault->message()).append("\n").append(fault->cause());
    for (const auto& d : fault->details()) out.append("\n").append(d.key).append("=").append(d.value);
    out.append("\n").append(fault->what());
  }
  return out;
}

std::string Answer::summary() const {
  if (!transport_error.empty()) return "no answer: " + transport_error;
  std::string out = status != 0 ? std::to_string(status) + " " : std::string{};
  out += std::string(pit::to_string(code));
  if (fault && !fault->message().empty()) out += ": " + fault->message();
  if (!fault && code != Code::ok && status != 0) {
    std::string body_start = body.substr(0, 200);
    out += ": " + body_start;
  }
  return out;
}

namespace {

Target target_of(const Host::State::Service& service, const OperationInfo& op) {
  Target t;
  t.contract = service.contract;
  t.operation = &op;
  t.settings = &service.settings[op.index];
  t.implementation = service.implementation;
  return t;
}

}  // namespace

Kit::Kit(Host& host, const Hints& hints, Report& report) : host_(&host), hints_(&hints), report_(&report) {
  Host::State& s = state();
  if (auto attachment = std::static_pointer_cast<Attachment>(s.testing_kit)) tap_ = attachment->tap;
  for (const auto& service : s.services) {
    for (const auto& op : service.contract->operations) {
      if (hints.skip.count(op.full_name) != 0 || hints.skip.count(service.contract->name) != 0) continue;
      targets_.push_back(target_of(service, op));
    }
  }
}

std::vector<Via> Kit::ways() const {
  std::vector<Via> out{Via::inproc};
  if (has_http()) out.push_back(Via::http);
  return out;
}

bool Kit::attached() const noexcept { return tap_ != nullptr && HostAccess::state(*host_).drills != nullptr; }

std::string Kit::not_attached_message() {
  return "the host was started before the kit attached to it, so the kit cannot inject failures or read its log: "
         "give pit::testing::check_guarantees the host before start(), or call pit::testing::attach(host) before "
         "starting it";
}

std::string Kit::sample_request(const Target& target) const {
  if (auto it = hints_->requests.find(target.name()); it != hints_->requests.end()) return it->second;
  // A new call holds no request (an empty std::optional: encoding it is undefined). The
  // decode hook emplaces a default-constructed one before reading "{}", which leaves it
  // default; a PIT_REQUIRED field makes that read throw, after the emplace.
  const OperationInfo& op = *target.operation;
  CallRef call{op.hooks.make_call(op)};
  try {
    (void)op.hooks.decode_request(*call, "{}");
  } catch (const Fault&) {
  }
  return op.hooks.encode_request(*call);
}

Answer Kit::call(const Target& target, Via via, const CallSpec& spec) {
  return via == Via::http ? call_http(target, spec) : call_inproc(target, spec);
}

Answer Kit::call_inproc(const Target& target, const CallSpec& spec) {
  const OperationInfo& op = *target.operation;
  CallerScope::Options options;
  options.timeout = spec.timeout;
  if (spec.credential) options.identity = spec.identity ? spec.identity : hints_->identity;
  if (op.spec.is_deduplicated()) {
    options.idempotency_key = spec.idempotency_key.empty() ? pit::detail::durability::generate_key() : spec.idempotency_key;
  }
  CallerScope scope{std::move(options)};
  CallRef call{op.hooks.make_call(op)};
  CallAccess::set_json_request(*call, spec.body ? *spec.body : sample_request(target));
  CallAccess::want_json_reply(*call);
  const auto started = std::chrono::steady_clock::now();
  Outcome outcome = block_on(pit::detail::enter(state(), &Host::State::pipeline, call, target.implementation,
                                                target.settings, "inproc"));
  Answer answer;
  answer.elapsed = std::chrono::steady_clock::now() - started;
  const Context& context = CallAccess::context(*call);
  answer.correlation_id = std::string(context.correlation_id());
  answer.trace_id = std::string(context.trace_id());
  if (outcome.ok()) {
    answer.body = std::move(CallAccess::json_reply(*call));
  } else {
    answer.code = outcome.code();
    answer.body = outcome.fault().message();
    answer.fault = std::move(outcome.fault());
  }
  return answer;
}

Answer Kit::http(std::string_view method, std::string_view path, const CallSpec& spec, bool admin) {
  Answer answer;
  const std::uint16_t port = admin ? host_->admin_port() : host_->http_port();
  if (port == 0) {
    answer.code = Code::unavailable;
    answer.transport_error = admin ? "the host has no admin listener" : "the host has no HTTP listener";
    return answer;
  }
  pit::detail::FetchRequest request;
  request.method = std::string(method);
  request.url = "http://127.0.0.1:" + std::to_string(port) + std::string(path);
  if (spec.body) {
    request.body = *spec.body;
    request.content_type = spec.content_type;
  }
  request.headers = spec.headers;
  if (spec.credential && !hints_->authorization.empty() && !admin) {
    request.headers.emplace_back("Authorization", hints_->authorization);
  }
  if (spec.timeout.count() > 0) request.headers.emplace_back("Pit-Timeout", std::to_string(spec.timeout.count()) + "m");
  request.timeout = spec.client_timeout;
  request.max_reply_bytes = 64U << 20U;
  const auto started = std::chrono::steady_clock::now();
  pit::detail::FetchResult result = pit::detail::fetch(request);
  answer.elapsed = std::chrono::steady_clock::now() - started;
  if (!result.error.empty()) {
    answer.code = Code::unavailable;
    answer.transport_error = result.error;
    return answer;
  }
  answer.status = result.status;
  answer.body = std::move(result.body);
  answer.headers = std::move(result.headers);
  answer.correlation_id = answer.header(pit::http_wire::kRequestIdHeader);
  const std::string traceparent = answer.header(pit::http_wire::kTraceparentHeader);
  if (traceparent.size() >= 35) answer.trace_id = traceparent.substr(3, 32);
  if (answer.status >= 200 && answer.status < 300) {
    answer.code = Code::ok;
  } else {
    // The fault's code as the problem document names it; a body without one is a code
    // the kit cannot read: unknown.
    answer.code = Code::unknown;
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(answer.body, ec);
    if (!ec && doc.is_object()) {
      if (const auto* code = doc.as_object().if_contains("code"); code != nullptr && code->is_string()) {
        if (auto c = code_from_string(code->as_string())) answer.code = *c;
      }
    }
  }
  return answer;
}

Answer Kit::call_http(const Target& target, const CallSpec& spec) {
  CallSpec sent = spec;
  if (!sent.body) sent.body = sample_request(target);
  if (target.operation->spec.is_deduplicated()) {
    sent.headers.emplace_back(pit::detail::durability::kIdempotencyKeyHeader,
                              spec.idempotency_key.empty() ? pit::detail::durability::generate_key() : spec.idempotency_key);
  }
  return http("POST", "/" + target.name(), sent);
}

Kit::Armed Kit::arm(const Target& target, pit::detail::Drill drill) {
  auto* board = state().drills.get();
  if (board == nullptr) throw std::logic_error(not_attached_message());
  board->arm(*target.operation, std::move(drill));
  return Armed{board};
}

std::size_t Kit::log_mark() const { return tap_ ? tap_->mark() : 0; }

std::vector<std::string> Kit::log_since(std::size_t mark) const {
  if (!tap_) return {};
  return tap_->since(mark);
}

std::string Kit::metrics_text() const { return state().metrics.render(); }

double Kit::sample_value(std::string_view text, std::string_view name,
                         const std::vector<std::pair<std::string, std::string>>& labels) {
  double sum = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, name.size()) != name) continue;
    const std::string_view rest = line.substr(name.size());
    if (rest.empty() || (rest.front() != '{' && rest.front() != ' ')) continue;
    std::string_view label_text;
    std::string_view value_text;
    if (rest.front() == '{') {
      const auto close = rest.find("} ");
      if (close == std::string_view::npos) continue;
      label_text = rest.substr(1, close - 1);
      value_text = rest.substr(close + 2);
    } else {
      value_text = rest.substr(1);
    }
    bool match = true;
    for (const auto& [k, v] : labels) {
      const std::string want = k + "=\"" + v + "\"";
      const auto at = label_text.find(want);
      // A whole label: at the start or after a comma, and followed by a comma or the end.
      if (at == std::string_view::npos || (at != 0 && label_text[at - 1] != ',') ||
          (at + want.size() != label_text.size() && label_text[at + want.size()] != ',')) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    if (const auto space = value_text.find(' '); space != std::string_view::npos) value_text = value_text.substr(0, space);
    try {
      sum += std::stod(std::string(value_text));
    } catch (const std::exception&) {
    }
  }
  return sum;
}

std::string Kit::canary() {
  static thread_local std::mt19937_64 engine{std::random_device{}()};
  const auto a = engine();
  char hex[17];
  const auto r = std::to_chars(hex, hex + 16, a, 16);
  return "pit-canary-password-" + std::string(hex, r.ptr) + "-" + std::to_string(++canaries_);
}

void Kit::add(std::string_view check, const Target* target, std::optional<Via> via, Verdict verdict,
              std::string message) {
  Result r;
  r.check = std::string(check);
  r.target = target != nullptr ? target->name() : "host";
  r.transport = via ? std::string(to_string(*via)) : std::string{};
  r.verdict = verdict;
  r.message = std::move(message);
  report_->add(std::move(r));
}

void Kit::pass(std::string_view check, const Target* target, std::optional<Via> via, std::string message) {
  add(check, target, via, Verdict::passed, std::move(message));
}
void Kit::fail(std::string_view check, const Target* target, std::optional<Via> via, std::string message) {
  add(check, target, via, Verdict::failed, std::move(message));
}
void Kit::skip(std::string_view check, const Target* target, std::optional<Via> via, std::string message) {
  add(check, target, via, Verdict::skipped, std::move(message));
}

std::string log_field(std::string_view line, std::string_view key) {
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(line, ec);
  if (ec || !doc.is_object()) return {};
  const auto* v = doc.as_object().if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

}  // namespace pit::testing::detail
