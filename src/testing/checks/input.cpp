// Bad input and the codec's round trip (docs/testing.md).
//
// bad_input, per operation and way in: bodies that are not JSON, that hold a wrong type
// for a field (made from the request's model), that nest past pit's limit, and (HTTP)
// that are larger than the operation's body limit must each get the documented refusal —
// 400 invalid_argument with a problem document carrying a correlation id and a detail in
// the codec's words (413 for the size, from the header alone) — and nothing of the
// service's internals. That the implementation never ran for them is shown by where the
// refusal came from: a drill armed by the kit logs a marker at the dispatch boundary (so
// the call passed every policy and reached the decode), and the fault is the codec's
// (in-process its origin is `runtime`), which the dispatch boundary raises before it
// invokes the implementation. Unknown fields added to the valid sample request are
// ignored: the call ends as the sample's does.
//
// codec_round_trip, per operation: random valid requests and replies, generated from
// their models (message_generator.hpp) with a printed seed, read back by the codec give
// the same values.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>

#include "pit/json.hpp"
#include "pit/schema.hpp"
#include "testing/checks.hpp"
#include "testing/message_generator.hpp"
#include "testing/raw_http.hpp"
#include "transport/http/wire.hpp"

namespace pit::testing::detail {
namespace {

namespace bj = boost::json;
using schema::Kind;

constexpr std::string_view kBadInput = "bad_input";
constexpr std::string_view kRoundTrip = "codec_round_trip";

// The largest body limit the kit takes for a bound: past it, one request may make the host
// hold that much memory, and the kit counts the body as not refused. 64 times pit's
// default (1 MiB), 16 times gRPC's default message limit.
constexpr std::size_t kLargestSaneBodyLimit = std::size_t{64} << 20U;
// More levels than any configuration of pit's nesting limit allows (at most 1024).
constexpr int kDeepNesting = 1025;
// Random messages per model (requests, then replies) in the round trip.
constexpr int kMessagesPerType = 40;
// The most bad requests sent per operation and way in (the wrong types stop there).
constexpr std::size_t kMaxProbes = 32;

// One bad request: what it is, its body, and the field path its refusal must name.
struct Probe {
  std::string what;
  std::string body;
  std::string field;
};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// The codec's refusals of a body (docs/contracts-json.md, "Decode errors") all read so.
bool codec_words(std::string_view detail) {
  return starts_with(detail, "request body") || starts_with(detail, "field '");
}

bj::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

// What a message's members are, for leak scans: a refusal may name the fields, and they
// are the user's words, not internals.
void collect_names(const schema::Type& type, std::set<std::string>& names, std::set<const schema::Type*>& seen) {
  if (!seen.insert(&type).second) return;
  for (const auto& f : type.fields) {
    names.emplace(f.name);
    collect_names(*f.type, names, seen);
  }
  if (type.element != nullptr) collect_names(*type.element, names, seen);
}

// Qualified names of the C++ types reachable from a model ("kit::AddNote").
void collect_type_names(const schema::Type& type, std::set<std::string>& names, std::set<const schema::Type*>& seen) {
  if (!seen.insert(&type).second) return;
  if (!type.name.empty()) names.insert(type.name);
  for (const auto& f : type.fields) collect_type_names(*f.type, names, seen);
  if (type.element != nullptr) collect_type_names(*type.element, names, seen);
}

// A member's value in a default message, for building nested objects from nothing.
bj::object defaults_of(const schema::Type& message) {
  bj::object out;
  for (const auto& f : message.fields) {
    boost::system::error_code ec;
    bj::value v = bj::parse(f.default_json, ec);
    if (!ec && !v.is_null()) out[f.name] = std::move(v);
  }
  return out;
}

// The requests of wrong types: each field of the request in turn (nested messages'
// fields too, and an element of each array and map) set to a value of another JSON type,
// the rest of the valid sample left as it is.
void wrong_types(const schema::Type& message, const std::vector<std::string>& parents,
                 const std::string& path, const bj::object& root, std::vector<Probe>& out, int depth) {
  const auto with = [&](const bj::value& at_field, std::string_view name) {
    // root with `at_field` set at parents..., name.
    bj::object doc = root;
    bj::object* cursor = &doc;
    for (const auto& p : parents) {
      bj::value& next = (*cursor)[p];
      cursor = &next.as_object();
    }
    (*cursor)[name] = at_field;
    return bj::serialize(doc);
  };
  for (const auto& f : message.fields) {
    if (out.size() >= kMaxProbes) return;
    const std::string sub = path.empty() ? path_step(f.name) : path + (path_step(f.name).front() == '[' ? "" : ".") +
                                                                     path_step(f.name);
    const schema::Type& t = f.type->kind == Kind::optional ? *f.type->element : *f.type;
    const bj::value wrong = wrong_type(t);
    out.push_back({"a wrong type for '" + sub + "' (" + std::string(describe_json(wrong)) + ")", with(wrong, f.name), sub});
    if (t.kind == Kind::integer && out.size() + 1 < kMaxProbes) {
      // Numbers, but not of the field's type: past its range, and with a fraction.
      const bj::value past = !t.is_signed   ? bj::value(-1)
                             : t.bits < 64 ? bj::value(static_cast<std::int64_t>(t.max) + 1)
                                           : bj::value(t.max + 1);  // 2^63, as an unsigned number
      out.push_back({"a number out of range for '" + sub + "' (" + bj::serialize(past) + ")", with(past, f.name), sub});
      out.push_back({"a fraction for the integer '" + sub + "' (1.5)", with(bj::value(1.5), f.name), sub});
    } else if (t.kind == Kind::array && out.size() < kMaxProbes) {
      const bj::value element = wrong_type(*t.element);
      out.push_back({"a wrong type for '" + sub + "[0]' (" + std::string(describe_json(element)) + ")",
                     with(bj::array{element}, f.name), sub + "[0]"});
    } else if (t.kind == Kind::map && out.size() < kMaxProbes) {
      const bj::value element = wrong_type(*t.element);
      out.push_back({"a wrong type for '" + sub + ".k' (" + std::string(describe_json(element)) + ")",
                     with(bj::object{{"k", element}}, f.name), sub + ".k"});
    } else if (t.kind == Kind::message && depth < 3 && !t.fields.empty()) {
      // Into the nested message: the sample's, or one of defaults where it has none.
      bj::object nested_root = root;
      bj::object* cursor = &nested_root;
      for (const auto& p : parents) cursor = &(*cursor)[p].as_object();
      bj::value& slot = (*cursor)[f.name];
      if (!slot.is_object()) slot = defaults_of(t);
      std::vector<std::string> deeper = parents;
      deeper.push_back(std::string(f.name));
      wrong_types(t, deeper, sub, nested_root, out, depth + 1);
    }
  }
}

// What a reply of a bad request may not contain: C++ type names, exception texts, source
// file names. The request's own field names are scrubbed first (a detail names them).
std::string leaked_internals(std::string text, const std::set<std::string>& field_names,
                             const std::set<std::string>& type_names) {
  for (const auto& type : type_names) {
    if (text.find(type) != std::string::npos) return "the C++ type name '" + type + "'";
  }
  for (const auto& name : field_names) {
    if (name.size() < 3) continue;
    for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at)) text.replace(at, name.size(), "_");
  }
  static constexpr std::array<std::string_view, 10> marks = {"::",       "what()",     "exception", "Exception",
                                                            ".cpp",     ".hpp",       "boost",     "Boost",
                                                            "typeinfo", "terminate called"};
  for (const auto mark : marks) {
    if (const auto at = text.find(mark); at != std::string::npos) {
      const auto from = at > 40 ? at - 40 : 0;
      std::string snippet = text.substr(from, 100);
      for (auto& c : snippet) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      }
      return "\"" + snippet + "\" (it contains \"" + std::string(mark) + "\")";
    }
  }
  return {};
}

// The config key that sets an operation's body limit, as the user would look for it.
std::string body_limit_key(const Kit& kit, const Target& t) {
  const auto& ops = kit.state().options.operations;
  const std::string& full = t.name();
  if (auto it = ops.find(full); it != ops.end() && it->second.max_body_bytes) {
    return "contracts.\"" + std::string(t.contract->name) + "\".operations." + std::string(t.operation->name) +
           ".max_body_bytes (HostOptions::operations[\"" + full + "\"].max_body_bytes)";
  }
  if (auto it = ops.find(t.contract->name); it != ops.end() && it->second.max_body_bytes) {
    return "contracts.\"" + std::string(t.contract->name) + "\".max_body_bytes (HostOptions::operations[\"" +
           std::string(t.contract->name) + "\"].max_body_bytes)";
  }
  return "http.max_body_bytes (HostOptions::http.max_body_bytes)";
}

std::string with_unit(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 30U) && bytes % (std::size_t{1} << 30U) == 0) {
    return std::to_string(bytes >> 30U) + " GiB";
  }
  if (bytes >= (std::size_t{1} << 20U) && bytes % (std::size_t{1} << 20U) == 0) {
    return std::to_string(bytes >> 20U) + " MiB";
  }
  return std::to_string(bytes) + " bytes";
}

// One operation over one way in.
class BadInputRun {
 public:
  BadInputRun(Kit& kit, const Target& target, Via via) : kit_(kit), t_(target), via_(via) {
    std::set<const schema::Type*> seen;
    collect_names(t_.operation->hooks.request_type(), field_names_, seen);
    seen.clear();
    collect_type_names(t_.operation->hooks.request_type(), type_names_, seen);
    seen.clear();
    collect_type_names(t_.operation->hooks.reply_type(), type_names_, seen);
  }

  void run() {
    const std::string sample = kit_.sample_request(t_);
    std::optional<Kit::Armed> armed;
    if (kit_.attached() && log::enabled(log::Level::info)) {
      marker_ = "pit-kit: " + t_.name() + " reached its dispatch boundary (" + kit_.canary().substr(20) + ")";
      armed.emplace(kit_.arm(t_, {.log_line = marker_}));
    }
    const Sent baseline = send(sample);
    if (!baseline.answer.transport_error.empty()) {
      armed.reset();
      kit_.skip(kBadInput, &t_, via_, "the kit could not call it: " + baseline.answer.transport_error);
      return;
    }
    if (!reached_dispatch(baseline)) {
      armed.reset();
      kit_.skip(kBadInput, &t_, via_,
                "the kit's calls to it with its valid request are refused before their body is read (" +
                    short_summary(baseline.answer) +
                    "), so what it does with bad input cannot be seen: give the kit a credential that may call it "
                    "(Hints::authorization, Hints::identity)");
      return;
    }
    const std::string canary = kit_.canary();
    bj::object sample_object = parse_object(sample);

    std::vector<Probe> probes;
    {
      bj::object with_note = sample_object;
      with_note["pit_kit_note"] = canary;
      std::string text = bj::serialize(with_note);
      text.insert(text.size() - 1, ",");  // {...,"pit_kit_note":"…",}
      probes.push_back({"malformed JSON (a trailing comma)", text, {}});
    }
    probes.push_back({"malformed JSON (a truncated body)", sample.substr(0, sample.size() - 1), {}});
    probes.push_back({"a body that is not JSON", "<note>" + canary + "</note>", {}});
    probes.push_back({"an empty body", "", {}});
    probes.push_back({"invalid UTF-8", "{\"pit_kit_note\":\"\xC3\x28\xFF\"}", {}});
    probes.push_back({"a duplicate key", R"({"pit_kit_note":1,"pit_kit_note":2})", {}});
    // Past any limit pit can be configured with, or, where the body limit is smaller than
    // that body, just past the codec's default one (64).
    const std::size_t limit = t_.settings->max_body_bytes;
    const int depth = via_ == Via::http && limit < 2 * static_cast<std::size_t>(kDeepNesting) + 20 ? 66 : kDeepNesting;
    probes.push_back({"nesting " + std::to_string(depth) + " levels deep",
                      "{\"pit_kit_deep\":" + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}", {}});
    wrong_types(t_.operation->hooks.request_type(), {}, {}, sample_object, probes, 0);
    if (via_ == Via::http) {
      // A body past the limit is refused 413 before it is read (checked below): not bad JSON.
      std::erase_if(probes, [limit](const Probe& p) { return p.body.size() > limit; });
    }

    std::size_t refused = 0;
    probes_sent_ = probes.size();
    for (const auto& probe : probes) {
      const Sent sent = send(probe.body);
      if (expect_refusal(probe, sent, canary)) ++refused;
    }
    check_unknown_fields(sample, sample_object);
    if (via_ == Via::http) check_oversize();
    armed.reset();

    if (problems_.empty()) {
      kit_.pass(kBadInput, &t_, via_,
                std::to_string(refused) + " bad requests refused with invalid_argument by the codec, before the "
                                          "implementation; unknown fields ignored" +
                    (via_ == Via::http ? "; a body past " + with_unit(t_.settings->max_body_bytes) + " refused 413" : ""));
      return;
    }
    std::string message;
    for (const auto& p : problems_) {
      if (!message.empty()) message += "; ";
      std::vector<std::string> named;
      for (const auto& probe : p.probes) {
        if (!probe.empty()) named.push_back(probe);
      }
      if (!named.empty()) {
        if (named.size() > 1) {
          message += std::to_string(named.size()) + " of " + std::to_string(probes_sent_) + " bad requests (";
        }
        for (std::size_t i = 0; i < named.size() && i < 3; ++i) message += (i == 0 ? "" : ", ") + named[i];
        if (named.size() > 3) message += ", ...";
        message += named.size() > 1 ? "): " : ": ";
      }
      message += p.text;
    }
    kit_.fail(kBadInput, &t_, via_, message);
  }

 private:
  struct Sent {
    Answer answer;
    bool marked = false;  // the drill's marker was logged under the call's correlation id
  };

  Sent send(const std::string& body) {
    const std::size_t mark = kit_.log_mark();
    Sent sent;
    sent.answer = kit_.call(t_, via_, {.body = body});
    if (!marker_.empty()) {
      for (const auto& line : kit_.log_since(mark)) {
        if (line.find(marker_) != std::string::npos &&
            log_field(line, "correlation_id") == sent.answer.correlation_id) {
          sent.marked = true;
          break;
        }
      }
    }
    return sent;
  }

  [[nodiscard]] bool reached_dispatch(const Sent& s) const {
    if (!marker_.empty()) return s.marked;
    const Code c = s.answer.code;
    return s.answer.transport_error.empty() && c != Code::unauthenticated && c != Code::permission_denied;
  }

  // The public parts of an answer: what a caller reads.
  static std::string public_text(const Answer& a) {
    std::string out = a.body;
    for (const auto& [k, v] : a.headers) out.append("\n").append(k).append(": ").append(v);
    if (a.fault) {
      out.append("\n").append(a.fault->message());
      for (const auto& d : a.fault->details()) out.append("\n").append(d.key).append("=").append(d.value);
    }
    return out;
  }

  // "404 not_found \"no such note\"": what the caller saw, short.
  [[nodiscard]] std::string short_summary(const Answer& a) const {
    if (!a.transport_error.empty()) return "no answer (" + a.transport_error + ")";
    std::string out = via_ == Via::http ? std::to_string(a.status) + " " : std::string{};
    out += std::string(pit::to_string(a.code));
    std::string detail;
    if (via_ == Via::http) {
      const bj::object doc = parse_object(a.body);
      if (const bj::value* d = doc.if_contains("detail"); d != nullptr && d->is_string()) detail = std::string(d->as_string());
    } else if (a.fault) {
      detail = a.fault->message();
    }
    if (!detail.empty()) out += " \"" + detail.substr(0, 80) + "\"";
    return out;
  }

  // Problems of the same kind are reported once, with the requests that showed them.
  void note(std::string kind, const std::string& probe, std::string text) {
    for (auto& p : problems_) {
      if (p.kind == kind) {
        p.probes.push_back(probe);
        return;
      }
    }
    problems_.push_back({std::move(kind), {probe}, std::move(text)});
  }

  bool expect_refusal(const Probe& probe, const Sent& sent, const std::string& canary) {
    const Answer& a = sent.answer;
    const bool http = via_ == Via::http;
    const std::string& what = probe.what;
    if (!a.transport_error.empty()) {
      note("no answer", what, "got no answer (" + a.transport_error + ")");
      return false;
    }
    if (a.code != Code::invalid_argument || (http && a.status != 400)) {
      std::string why = "answered " + short_summary(a) + ", not " + (http ? "400 " : "") +
                        "invalid_argument (docs/http.md, docs/contracts-json.md)";
      if (a.code == Code::ok) {
        why += ": something between the caller and the codec turned the refusal into a success (a policy that "
               "answers ok for a fault?), and the caller cannot tell that its request was never carried out";
      } else if (sent.marked || marker_.empty()) {
        why += ": a policy changed the codec's refusal into another answer; let invalid_argument from the runtime "
               "reach the caller";
      } else {
        why += ": refused before it reached the operation's decode, by a policy";
      }
      note("code " + std::to_string(a.status) + std::string(pit::to_string(a.code)), what, std::move(why));
      return false;
    }
    std::string detail;
    if (http) {
      const bj::object doc = parse_object(a.body);
      const bj::value* id = doc.if_contains("correlation_id");
      const bj::value* d = doc.if_contains("detail");
      if (doc.empty() || a.header("Content-Type").find("application/problem+json") == std::string::npos) {
        note("no problem", what,
             "refused without a problem document (application/problem+json, docs/http.md): Content-Type '" +
                 a.header("Content-Type") + "', body '" + a.body.substr(0, 120) + "'");
        return false;
      }
      if (id == nullptr || !id->is_string() || id->as_string().empty() ||
          std::string_view(id->as_string()) != a.header(http_wire::kRequestIdHeader)) {
        note("no correlation id", what,
             "the problem document carries no correlation_id (or not the " +
                 std::string(http_wire::kRequestIdHeader) + " header's), so the refusal cannot be found in the logs: " +
                 a.body.substr(0, 200));
        return false;
      }
      if (d != nullptr && d->is_string()) detail = std::string(d->as_string());
    } else {
      if (a.correlation_id.empty()) {
        note("no correlation id", what, "the refusal carries no correlation id");
        return false;
      }
      detail = a.fault ? a.fault->message() : std::string{};
      if (a.fault && a.fault->origin() != Fault::Origin::runtime) {
        note("origin", what,
             "refused with invalid_argument \"" + detail +
                 "\" raised by the implementation or a policy, not by pit's codec: the implementation must never see "
                 "a body the codec cannot read");
        return false;
      }
    }
    // A deduplicated operation's request is read by pit's deduplication policy first (its
    // fingerprint, docs/durability.md), which refuses a body that is not JSON itself:
    // pit's own refusal, before the drill's marker, and as good as the codec's.
    const bool read_by_dedup = t_.operation->spec.is_deduplicated() && a.code == Code::invalid_argument &&
                               (!a.fault || a.fault->origin() == Fault::Origin::runtime);
    if (!marker_.empty() && !sent.marked && !read_by_dedup) {
      note("before dispatch", what,
           "refused (\"" + detail + "\") before it reached the operation's decode, by a policy: the kit cannot see "
           "pit's own refusal");
      return false;
    }
    if (!codec_words(detail) || (!probe.field.empty() && detail.find("'" + probe.field + "'") == std::string::npos)) {
      note("detail", what,
           "refused with the detail \"" + detail.substr(0, 160) + "\", not the codec's" +
               (probe.field.empty() ? "" : " naming the field '" + probe.field + "'") +
               " (docs/contracts-json.md, Decode errors): a policy rewrote the message the caller needs to fix the "
               "request");
      return false;
    }
    const std::string text = public_text(a);
    if (text.find(canary) != std::string::npos) {
      note("echo", what,
           "the reply echoes a value of the request body (the kit's marker '" + canary +
               "'): a body may carry secrets, and a refusal quotes at most a key or a number");
      return false;
    }
    if (const std::string leak = leaked_internals(text, field_names_, type_names_); !leak.empty()) {
      note("leak", what,
           "the reply shows the service's internals: " + leak +
               "; a refusal says what is wrong with the request, never how the service is built");
      return false;
    }
    return true;
  }

  // The sample is sent again just before, so that an operation whose answer depends on
  // what earlier calls did (a second "create" is already_exists) is compared with itself.
  void check_unknown_fields(const std::string& sample_text, bj::object sample) {
    const Sent baseline = send(sample_text);
    bj::object extended = std::move(sample);
    extended["pit_kit_unknown"] = bj::object{{"nested", bj::array{1, "two", nullptr, bj::object{{"deeper", true}}}}};
    const schema::Type& request = t_.operation->hooks.request_type();
    for (const std::string_view reserved : request.reserved) extended[reserved] = "retired";
    for (const auto& f : request.fields) {
      if (bj::value* nested = extended.if_contains(f.name); nested != nullptr && nested->is_object()) {
        const schema::Type& ft = f.type->kind == Kind::optional ? *f.type->element : *f.type;
        if (ft.kind == Kind::message) nested->as_object()["pit_kit_unknown"] = 7;
      }
    }
    const Sent sent = send(bj::serialize(extended));
    const Answer& a = sent.answer;
    if (a.code != baseline.answer.code || a.status != baseline.answer.status) {
      note("unknown fields", {},
           "the sample request with unknown fields added (" + bj::serialize(extended).substr(0, 200) +
                          ") was answered " + short_summary(a) + ", the sample itself, sent just before, " +
               short_summary(baseline.answer) +
                          ": unknown fields must be ignored, so that a newer caller can talk to this build "
                          "(docs/contracts-json.md, Evolution)");
    }
  }

  // HTTP: a body past the operation's limit is refused 413 from the header alone.
  void check_oversize() {
    const std::size_t limit = t_.settings->max_body_bytes;
    if (limit > kLargestSaneBodyLimit) {
      note("oversize", {}, "an oversize body is not refused: the operation takes request bodies of up to " +
                          with_unit(limit) + ", set by " + body_limit_key(kit_, t_) +
                          "; every caller can make the host hold that much memory per request. Keep the limit at "
                          "what the operation needs (the default is 1 MiB; the kit counts a limit above " +
                          with_unit(kLargestSaneBodyLimit) + " as none)");
      return;
    }
    const std::string path = "/" + t_.name();
    const std::string head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
                             (kit_.hints().authorization.empty() ? std::string{}
                                                                 : "Authorization: " + kit_.hints().authorization + "\r\n");
    const struct {
      std::string what;
      std::string request;
    } probes[] = {
        {"a body announced as " + std::to_string(limit + 1) + " bytes (Content-Length), one past the limit",
         head + "Content-Length: " + std::to_string(limit + 1) + "\r\n\r\n{"},
        {"a chunked body whose first chunk is " + std::to_string(limit + 1) + " bytes, one past the limit",
         head + "Transfer-Encoding: chunked\r\n\r\n" + [&] {
           char hex[32];
           const int n = std::snprintf(hex, sizeof hex, "%zx", limit + 1);
           return std::string(hex, static_cast<std::size_t>(n));
         }() + "\r\n{"},
    };
    for (const auto& probe : probes) {
      const RawReply reply = raw_http_exchange(kit_.host().http_port(), probe.request, std::chrono::seconds(5));
      if (!reply.error.empty() || reply.status != 413) {
        note("oversize " + probe.what, {}, probe.what + " was " +
                            (reply.error.empty() ? "answered " + std::to_string(reply.status) : "not answered (" + reply.error + ")") +
                            ", not 413 at once: the limit (" + with_unit(limit) + ", " + body_limit_key(kit_, t_) +
                            ") is not enforced before the body is read");
        continue;
      }
      const bj::object doc = parse_object(reply.body);
      const bj::value* id = doc.if_contains("correlation_id");
      if (id == nullptr || !id->is_string() || id->as_string().empty()) {
        note("oversize problem " + probe.what, {}, probe.what + " was refused 413 without a problem document carrying a correlation_id: '" +
                            reply.body.substr(0, 200) + "'");
      }
    }
  }

  Kit& kit_;
  const Target& t_;
  Via via_;
  std::string marker_;
  std::size_t probes_sent_ = 0;
  std::set<std::string> field_names_;
  std::set<std::string> type_names_;
  struct Problem {
    std::string kind;
    std::vector<std::string> probes;  // the requests that showed it (none: the text says)
    std::string text;
  };
  std::vector<Problem> problems_;
};

// ---- codec_round_trip ----

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// The run's seed: PIT_KIT_SEED replays a failure; otherwise a new one per run.
std::uint64_t run_seed() {
  if (const char* text = std::getenv("PIT_KIT_SEED"); text != nullptr && *text != '\0') {  // NOLINT(concurrency-mt-unsafe)
    return static_cast<std::uint64_t>(std::strtoull(text, nullptr, 10));
  }
  std::random_device random;
  return static_cast<std::uint64_t>(random()) << 32U | random();
}

std::string hint_for(schema::Kind kind) {
  switch (kind) {
    case Kind::enumeration:
      return "two enumerators of the enum share one value (an alias): the codec reads either name and writes the "
             "first; give each enumerator its own value, or leave the alias out of BOOST_DESCRIBE_ENUM";
    case Kind::number:
      return "the number did not read back as the same value";
    default:
      return "the member's type does not read back what the codec writes";
  }
}

// Decodes `text` as the request (or reply) of a fresh call and encodes it again; empty
// when it round-trips, else what went wrong.
std::string round_trip(const OperationInfo& op, bool request, const schema::Type& type, const GeneratedMessage& m) {
  CallRef call{op.hooks.make_call(op)};
  std::string out;
  try {
    if (request) {
      op.hooks.decode_request(*call, m.text);
      out = op.hooks.encode_request(*call);
    } else {
      op.hooks.decode_reply(*call, m.text);
      json::Writer writer{out};
      op.hooks.encode_reply(*call, writer);
    }
  } catch (const Fault& f) {
    return "the codec refused a valid " + std::string(request ? "request" : "reply") + ": " + f.message() +
           (f.cause().empty() ? "" : " (" + f.cause() + ")");
  } catch (const std::exception& e) {
    return "the codec threw on a valid " + std::string(request ? "request" : "reply") + ": " + e.what();
  }
  boost::system::error_code ec;
  const bj::value got = parse_exact(out, ec);
  if (ec) return "the codec wrote JSON it cannot read back (" + ec.message() + "): " + out.substr(0, 200);
  if (auto d = compare(type, m.expected, got)) {
    return "the " + std::string(request ? "request" : "reply") + "'s field '" + d->path + "' does not round-trip: " +
           "sent " + d->expected + ", the codec gave back " + d->got + " (" + hint_for(d->kind) + ")";
  }
  return {};
}

}  // namespace

void check_bad_input(Kit& kit) {
  if (kit.targets().empty()) {
    kit.skip(kBadInput, nullptr, std::nullopt, "the host serves no operation");
    return;
  }
  for (const auto& target : kit.targets()) {
    for (const Via via : kit.ways()) BadInputRun{kit, target, via}.run();
  }
}

void check_codec_round_trip(Kit& kit) {
  if (kit.targets().empty()) {
    kit.skip(kRoundTrip, nullptr, std::nullopt, "the host serves no operation");
    return;
  }
  const std::uint64_t seed = run_seed();
  for (const auto& target : kit.targets()) {
    const OperationInfo& op = *target.operation;
    std::string failure;
    for (const bool request : {true, false}) {
      const schema::Type& type = request ? op.hooks.request_type() : op.hooks.reply_type();
      MessageGenerator generator{seed ^ fnv1a(target.name()) ^ (request ? 0U : 0x9e3779b97f4a7c15ULL)};
      for (int i = 0; i < kMessagesPerType && failure.empty(); ++i) {
        const GeneratedMessage m = generator.message(type);
        if (std::string why = round_trip(op, request, type, m); !why.empty()) {
          failure = why + "; the message sent (" + std::to_string(i + 1) + " of " + std::to_string(kMessagesPerType) +
                    ", seed " + std::to_string(seed) + ": PIT_KIT_SEED=" + std::to_string(seed) +
                    " replays it): " + bj::serialize(m.sent).substr(0, 400);
        }
      }
      if (!failure.empty()) break;
    }
    if (failure.empty()) {
      kit.pass(kRoundTrip, &target, std::nullopt,
               std::to_string(kMessagesPerType) + " random requests and replies round-tripped (seed " +
                   std::to_string(seed) + ")");
    } else {
      kit.fail(kRoundTrip, &target, std::nullopt, failure);
    }
  }
}

}  // namespace pit::testing::detail
