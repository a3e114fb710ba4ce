#include "transport/http/openapi.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pit/schema.hpp"
#include "durability/idempotency_key.hpp"
#include "settings/operation_settings.hpp"
#include "transport/http/wire.hpp"

namespace pit::detail {
namespace {

namespace bj = boost::json;
using schema::Field;
using schema::Kind;
using schema::Type;

// A message is read by the server's decoder (requests) and written by its encoder (replies):
// the two accept and produce different sets of documents (docs/openapi.md, "Requests and
// replies").
enum class Side : std::uint8_t { request = 0, reply = 1 };

constexpr std::string_view kProblem = "pit.Problem";
constexpr std::string_view kBearer = "bearer";

std::string schema_ref(std::string_view component) { return "#/components/schemas/" + std::string{component}; }

bj::object ref_to(std::string_view component) {
  bj::object o;
  o["$ref"] = schema_ref(component);
  return o;
}

// "shop::v1::Page<shop::v1::Item>" → "shop.v1.Page_shop.v1.Item_": a component name may
// hold only [A-Za-z0-9._-], and '-' is kept for the request/reply suffixes.
std::string component_base(std::string_view cpp_name) {
  std::string out;
  for (std::size_t i = 0; i < cpp_name.size(); ++i) {
    const char c = cpp_name[i];
    if (c == ':' && i + 1 < cpp_name.size() && cpp_name[i + 1] == ':') {
      out.push_back('.');
      ++i;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_') {
      out.push_back(c);
    } else {
      out.push_back('_');
    }
  }
  return out.empty() ? std::string{"_"} : out;
}

// The named types (messages, enums) a value of type t refers to without a message between.
template <class F>
void for_each_named(const Type& t, F&& f) {
  switch (t.kind) {
    case Kind::optional:
    case Kind::array:
    case Kind::map: for_each_named(*t.element, f); break;
    case Kind::message:
    case Kind::enumeration: f(t); break;
    default: break;
  }
}

// A 64-bit integer the decoder also reads from a decimal string (and the encoder never
// writes as one), without a message between.
bool holds_64_bit_integer(const Type& t) {
  switch (t.kind) {
    case Kind::integer: return t.bits == 64;
    case Kind::optional:
    case Kind::array:
    case Kind::map: return holds_64_bit_integer(*t.element);
    default: return false;
  }
}

// The field reads and writes differently: a plain member that is not PIT_REQUIRED may be
// absent or null in a request, and is always written in a reply.
bool field_differs(const Field& f) {
  return (!f.required && f.type->kind != Kind::optional) || holds_64_bit_integer(*f.type);
}

// `s`, or null. A schema with one type gets a second one; a reference or an anyOf gets
// one more alternative.
bj::object nullable(bj::object s) {
  if (s.contains("$ref")) {
    bj::object n;
    n["type"] = "null";
    bj::object out;
    out["anyOf"] = bj::array{std::move(s), std::move(n)};
    return out;
  }
  if (auto* any = s.if_contains("anyOf")) {
    bj::array& alternatives = any->as_array();
    for (const auto& a : alternatives) {
      if (const auto* t = a.as_object().if_contains("type"); t != nullptr && *t == "null") return s;
    }
    bj::object n;
    n["type"] = "null";
    alternatives.emplace_back(std::move(n));
    return s;
  }
  if (auto* type = s.if_contains("type")) {
    if (type->is_string()) {
      if (*type != "null") *type = bj::array{type->as_string(), "null"};
    } else {
      bj::array& types = type->as_array();
      bool has_null = false;
      for (const auto& t : types) has_null = has_null || t == "null";
      if (!has_null) types.emplace_back("null");
    }
  }
  return s;
}

struct Named {
  const Type* type = nullptr;
  std::string base;                 // unique among the document's components
  bool used[2] = {false, false};    // by Side
  bool differs = false;             // its request and reply schemas differ (messages only)
  std::vector<std::size_t> nested;  // the named types its fields refer to
};

// Every message and enum the operations reach, with the component name(s) each gets.
class Components {
 public:
  void add(const Type& root, Side side) {
    for_each_named(root, [&](const Type& t) { visit(t, side); });
  }

  // After every add(): decides which messages need two components and names them all.
  void settle() {
    std::set<std::string> taken{std::string{kProblem}};
    for (Named& n : named_) {
      std::string base = component_base(n.type->name);
      std::string name = base;
      for (int i = 2; taken.contains(name); ++i) name = base + "_" + std::to_string(i);
      taken.insert(name);
      n.base = std::move(name);
      if (n.type->kind == Kind::message) {
        for (const Field& f : n.type->fields) {
          n.differs = n.differs || field_differs(f);
          for_each_named(*f.type, [&](const Type& t) { n.nested.push_back(index_.at(&t)); });
        }
      }
    }
    // A message that refers to one that differs differs too (its reference does).
    for (bool changed = true; changed;) {
      changed = false;
      for (Named& n : named_) {
        if (n.differs) continue;
        for (const std::size_t i : n.nested) {
          if (named_[i].differs) {
            n.differs = true;
            changed = true;
            break;
          }
        }
      }
    }
  }

  // The component that describes `t` (a message or an enum) on `side`. One component
  // when the sides agree or only one side uses it; else "<name>-request" and "<name>-reply".
  [[nodiscard]] std::string name(const Type& t, Side side) const {
    const Named& n = named_[index_.at(&t)];
    if (!n.differs || !(n.used[0] && n.used[1])) return n.base;
    return n.base + (side == Side::request ? "-request" : "-reply");
  }

  // Inline schema of a value of type t on `side`.
  [[nodiscard]] bj::object value_schema(const Type& t, Side side) const {
    bj::object s;
    switch (t.kind) {
      case Kind::boolean: s["type"] = "boolean"; break;
      case Kind::integer: {
        s["type"] = "integer";
        if (t.is_signed && (t.bits == 32 || t.bits == 64)) s["format"] = t.bits == 32 ? "int32" : "int64";
        s["minimum"] = t.min;
        s["maximum"] = t.max;
        if (t.bits == 64 && side == Side::request) {
          // JavaScript numbers hold integers exactly only up to 2^53: the decoder also reads
          // the canonical decimal string ("-5", "0"; no '+', no leading zero), range checked.
          bj::object text;
          text["type"] = "string";
          text["pattern"] = t.is_signed ? "^(0|-?[1-9][0-9]{0,18})$" : "^(0|[1-9][0-9]{0,19})$";
          bj::object out;
          out["anyOf"] = bj::array{std::move(s), std::move(text)};
          return out;
        }
        break;
      }
      case Kind::number:
        s["type"] = "number";
        s["format"] = t.bits == 32 ? "float" : "double";
        if (t.bits == 32) {
          // What the decoder refuses as out of range: a value that rounds to infinity as a
          // float, from 2^128 - 2^103 (the midpoint between FLT_MAX and 2^128) on.
          constexpr double kFloatOverflow = 0x1p128 - 0x1p103;
          s["exclusiveMinimum"] = -kFloatOverflow;
          s["exclusiveMaximum"] = kFloatOverflow;
        }
        break;
      case Kind::string: s["type"] = "string"; break;
      case Kind::enumeration:
      case Kind::message: return ref_to(name(t, side));
      case Kind::optional: return nullable(value_schema(*t.element, side));
      case Kind::array:
        s["type"] = "array";
        s["items"] = value_schema(*t.element, side);
        break;
      case Kind::map:
        s["type"] = "object";
        s["additionalProperties"] = value_schema(*t.element, side);
        break;
    }
    return s;
  }

  // components.schemas: every component used, by name.
  void write(std::map<std::string, bj::value>& out) const {
    for (const Named& n : named_) {
      for (const Side side : {Side::request, Side::reply}) {
        if (!n.used[static_cast<int>(side)]) continue;
        out.emplace(name(*n.type, side), n.type->kind == Kind::enumeration ? enum_schema(*n.type)
                                                                           : message_schema(*n.type, side));
      }
    }
  }

 private:
  void visit(const Type& t, Side side) {
    auto [it, inserted] = index_.emplace(&t, named_.size());
    if (inserted) {
      Named n;
      n.type = &t;
      named_.push_back(std::move(n));
    }
    Named& n = named_[it->second];
    if (n.used[static_cast<int>(side)]) return;
    n.used[static_cast<int>(side)] = true;
    if (t.kind != Kind::message) return;
    for (const Field& f : t.fields) add(*f.type, side);
  }

  static bj::object enum_schema(const Type& t) {
    bj::object s;
    s["type"] = "string";
    bj::array names;
    for (const auto name : t.enumerators) names.emplace_back(name);
    s["enum"] = std::move(names);
    s["title"] = t.name;
    if (t.fallback) s["x-pit-fallback"] = *t.fallback;
    return s;
  }

  [[nodiscard]] bj::object message_schema(const Type& t, Side side) const {
    bj::object properties;
    bj::array required;
    for (const Field& f : t.fields) {
      // A member that hides a base's member of the same name: the codec reads both from
      // the one key; the schema names it once.
      if (properties.contains(f.name)) continue;
      bj::object s = value_schema(*f.type, side);
      const bool optional = f.type->kind == Kind::optional;
      if (side == Side::request) {
        if (f.required) {
          required.emplace_back(f.name);
        } else if (!optional) {
          // Absent and null both keep the default (docs/contracts-json.md).
          s = nullable(std::move(s));
          s["default"] = bj::parse(f.default_json);
        }
      } else if (!optional) {
        required.emplace_back(f.name);  // the encoder writes every plain member
      }
      properties[f.name] = std::move(s);
    }
    bj::object s;
    s["type"] = "object";
    s["title"] = t.name;
    s["properties"] = std::move(properties);
    if (!required.empty()) s["required"] = std::move(required);
    if (!t.reserved.empty()) {
      bj::array reserved;
      for (const auto name : t.reserved) reserved.emplace_back(name);
      s["x-pit-reserved"] = std::move(reserved);
    }
    return s;
  }

  std::map<const Type*, std::size_t> index_;
  std::vector<Named> named_;  // in the order the operations reach them
};

bj::object problem_schema() {
  auto typed = [](std::string_view type, std::string_view description) {
    bj::object o;
    o["type"] = type;
    o["description"] = description;
    return o;
  };
  bj::array codes;
  for (int c = 1; c < code_count; ++c) codes.emplace_back(to_string(static_cast<Code>(c)));
  bj::object code = typed("string", "The canonical code: authoritative for clients.");
  code["enum"] = std::move(codes);
  bj::object details = typed("object", "Structured details of the fault.");
  details["additionalProperties"] = bj::object{{"type", "string"}};
  bj::object properties;
  properties["type"] = typed("string", "urn:pit:fault:<code>");
  properties["title"] = typed("string", "The code in words.");
  properties["status"] = typed("integer", "The HTTP status of the response.");
  properties["detail"] = typed("string", "The fault's public message.");
  properties["code"] = std::move(code);
  properties["correlation_id"] = typed("string", "The call's correlation id (X-Request-Id).");
  properties["trace_id"] = typed("string", "The call's W3C trace id.");
  properties["retryable"] = typed("boolean", "Present (true) only when a retry is safe: nothing took effect.");
  properties["masked"] = typed("boolean", "Present (true) only on an internal fault the server masked and logged.");
  properties["details"] = std::move(details);
  bj::object s;
  s["type"] = "object";
  s["title"] = "RFC 9457 problem details of a pit fault";
  s["properties"] = std::move(properties);
  s["required"] = bj::array{"type", "title", "status", "detail", "code"};
  return s;
}

bj::object header(std::string_view description, bj::object schema) {
  bj::object h;
  h["description"] = description;
  h["schema"] = std::move(schema);
  return h;
}

bj::object string_schema() { return bj::object{{"type", "string"}}; }

bj::object parameter(std::string_view name, std::string_view description, bj::object schema) {
  bj::object p;
  p["name"] = name;
  p["in"] = "header";
  p["required"] = false;
  p["description"] = description;
  p["schema"] = std::move(schema);
  return p;
}

// The request headers pit reads (docs/http.md, "Headers"); Idempotency-Key for a
// deduplicated operation (docs/durability.md).
bj::array parameters(const OpSpec& spec) {
  bj::object timeout = string_schema();
  timeout["pattern"] = "^[0-9]{1,8}[HMSmun]$";
  bj::array out{
      parameter(http_wire::kTimeoutHeader,
                "The caller's remaining time, as grpc-timeout: 1 to 8 digits and a unit (H, M, S, m, u, n): "
                "250m, 5S. Anything else is 400 invalid_argument.",
                std::move(timeout)),
      parameter(http_wire::kRequestIdHeader,
                "The correlation id: used if it is 1-128 characters of [A-Za-z0-9._:-], otherwise replaced "
                "by a generated one.",
                string_schema()),
      parameter(http_wire::kTraceparentHeader,
                "W3C Trace Context: the server span's parent. A malformed value is ignored (a new trace "
                "starts).",
                string_schema()),
  };
  if (spec.is_deduplicated()) {
    bj::object key = string_schema();
    key["pattern"] = "^\"?[A-Za-z0-9._:~+/=-]{1,255}\"?$";
    bj::object p = parameter(durability::kIdempotencyKeyHeader,
                             "The logical call's key (draft-ietf-httpapi-idempotency-key-header): an sf-string "
                             "(quoted) or the bare key, 1-255 characters of [A-Za-z0-9._:~+/=-]. Every retry of "
                             "the call sends the same key; the first settled outcome is replayed to them.",
                             std::move(key));
    p["required"] = spec.dedup_key() == OpSpec::Key::required;
    out.emplace_back(std::move(p));
  }
  return out;
}


// Why the runtime itself may answer a code, whatever the implementation declares.
struct RuntimeFault {
  Code code;
  unsigned status;  // 0: status_of(code)
  std::string_view why;
};
constexpr RuntimeFault kAlways[] = {
    {Code::invalid_argument, 0, "the body is not the request message as JSON, or Pit-Timeout is invalid"},
    {Code::resource_exhausted, 413, "the body is larger than the limit"},
    {Code::invalid_argument, 415, "the Content-Type is not application/json"},
    {Code::internal, 0, "a failure the server masked and logged (masked: true)"},
    {Code::unavailable, 0, "admission refused the call, or the host is draining; retryable when nothing took effect"},
    {Code::deadline_exceeded, 0, "the call's deadline passed"},
};
constexpr RuntimeFault kIdentity[] = {
    {Code::unauthenticated, 0, "no credential, or a token that does not verify"},
    {Code::permission_denied, 0, "the caller does not meet the operation's access rule"},
};
// What a deduplicated operation may answer besides its own faults.
constexpr RuntimeFault kDeduplicated[] = {
    {Code::aborted, 0, "a call with the same Idempotency-Key is still running; retryable, after Retry-After"},
    {Code::failed_precondition, 422, "the Idempotency-Key was already used with another request"},
    {Code::invalid_argument, 0, "the Idempotency-Key is missing (when required) or malformed"},
    {Code::unavailable, 0, "the deduplication store is unavailable; retryable, nothing ran"},
};

struct Answer {
  std::vector<Code> codes;
  std::vector<std::string> reasons;
};

void add_answer(std::map<unsigned, Answer>& by_status, Code code, unsigned status, std::string_view why) {
  Answer& a = by_status[status != 0 ? status : http_wire::status_of(code)];
  bool known = false;
  for (const Code c : a.codes) known = known || c == code;
  if (!known) a.codes.push_back(code);
  a.reasons.push_back(std::string{to_string(code)} + ": " + std::string{why});
}

// deduplicated: the operation's 409 may be its key's first call still running, answered
// with Retry-After.
bj::object problem_response(unsigned status, const Answer& answer, bool deduplicated) {
  std::string description;
  for (const auto& reason : answer.reasons) description += (description.empty() ? "" : "; ") + reason;
  bj::array codes;
  for (const Code c : answer.codes) codes.emplace_back(to_string(c));
  bj::object narrowed;
  narrowed["properties"] = bj::object{{"code", bj::object{{"enum", std::move(codes)}}}};
  bj::object schema;
  schema["allOf"] = bj::array{ref_to(kProblem), std::move(narrowed)};
  bj::object headers;
  headers[http_wire::kRequestIdHeader] = header("The call's correlation id.", string_schema());
  if (status == 503 || (status == 409 && deduplicated)) {
    bj::object seconds;
    seconds["type"] = "integer";
    seconds["minimum"] = 0;
    headers["Retry-After"] = header("Seconds to wait before a retry; sent when the refusal is retryable.",
                                    std::move(seconds));
  }
  if (status == 401) {
    headers["WWW-Authenticate"] =
        header("Bearer, or Bearer error=\"invalid_token\" when a token was presented.", string_schema());
  }
  bj::object r;
  r["description"] = description;
  r["headers"] = std::move(headers);
  r["content"] = bj::object{{http_wire::kProblemJson, bj::object{{"schema", std::move(schema)}}}};
  return r;
}

// What configuration adds to an operation (docs/configuration.md): the contract's table,
// then the operation's, as OperationSettings resolves them.
struct Configured {
  std::chrono::milliseconds timeout{0};
  std::vector<std::string> scopes;
  std::vector<std::string> roles;
};

Configured configured(const HostOptions& options, const OperationInfo& op) {
  Configured c;
  c.timeout = op.spec.timeout();
  for (const std::string_view key : {op.contract, std::string_view{op.full_name}}) {
    const auto it = options.operations.find(key);
    if (it == options.operations.end()) continue;
    if (it->second.timeout) c.timeout = *it->second.timeout;
    c.scopes.insert(c.scopes.end(), it->second.require_scopes.begin(), it->second.require_scopes.end());
    c.roles.insert(c.roles.end(), it->second.require_roles.begin(), it->second.require_roles.end());
  }
  if (c.timeout.count() <= 0) c.timeout = options.default_timeout;
  return c;
}

// The operation's access rule as OpenAPI security requirements: one alternative per clause
// of the requirement, each listing the scopes it needs and its roles as "role:<name>".
// Empty: open to anyone (anonymous, and configuration added nothing). Never called for an
// operation that declares no access (the document leaves it out).
bj::array security(const OperationInfo& op, const Configured& c) {
  bj::array extra;
  for (const auto& s : c.scopes) extra.emplace_back(s);
  for (const auto& r : c.roles) extra.emplace_back("role:" + r);
  auto alternative = [](bj::array needs) {
    bj::object o;
    o[kBearer] = std::move(needs);
    return o;
  };
  const OpSpec& spec = op.spec;
  if (spec.access() == Access::anonymous) return extra.empty() ? bj::array{} : bj::array{alternative(extra)};
  const Requirement& r = spec.requirement();
  if (r.clause_count() == 0) return bj::array{alternative(extra)};
  bj::array out;
  for (std::size_t i = 0; i < r.clause_count(); ++i) {
    bj::array needs;
    const auto& clause = r.clause(i);
    for (std::size_t k = 0; k < clause.count; ++k) {
      const auto& term = clause.terms[k];
      if (term.kind == Requirement::Kind::scope) needs.emplace_back(term.name);
      if (term.kind == Requirement::Kind::role) needs.emplace_back("role:" + std::string{term.name});
    }
    for (const auto& e : extra) needs.push_back(e);
    out.emplace_back(alternative(std::move(needs)));
  }
  return out;
}

bj::object operation(const HostOptions& options, const OperationInfo& op, const Components& components,
                     bool& uses_bearer) {
  const Configured c = configured(options, op);
  const std::string rule = rule_text(op.spec, c.scopes, c.roles);
  const bool needs_identity = rule != "anonymous";

  std::map<unsigned, Answer> faults;
  for (const auto& f : kAlways) add_answer(faults, f.code, f.status, f.why);
  if (needs_identity) {
    for (const auto& f : kIdentity) add_answer(faults, f.code, f.status, f.why);
  }
  if (op.spec.is_deduplicated()) {
    for (const auto& f : kDeduplicated) add_answer(faults, f.code, f.status, f.why);
  }
  for (int i = 0; i < code_count; ++i) {
    const auto code = static_cast<Code>(i);
    // cancelled is declared by every operation, but its answer reaches no one: the caller
    // that cancelled has closed the connection.
    if (code == Code::ok || code == Code::cancelled) continue;
    if ((op.spec.declared_mask() & (1U << static_cast<unsigned>(i))) != 0) {
      add_answer(faults, code, 0, "declared by the operation");
    }
  }

  bj::object headers;
  headers[http_wire::kRequestIdHeader] = header("The call's correlation id.", string_schema());
  headers[http_wire::kTraceparentHeader] = header("The server span, as W3C traceparent.", string_schema());
  if (op.spec.is_deduplicated()) {
    headers[durability::kReplayedHeader] =
        header("true when the reply is the stored outcome of an earlier call with the same Idempotency-Key.",
               bj::object{{"type", "string"}, {"enum", bj::array{"true"}}});
  }
  bj::object ok;
  ok["description"] = "The reply.";
  ok["headers"] = std::move(headers);
  ok["content"] = bj::object{
      {http_wire::kJson, bj::object{{"schema", ref_to(components.name(op.hooks.reply_type(), Side::reply))}}}};
  bj::object responses;
  responses["200"] = std::move(ok);
  for (const auto& [status, answer] : faults) responses[std::to_string(status)] = problem_response(status, answer, op.spec.is_deduplicated());

  bj::object body;
  body["required"] = true;
  body["content"] = bj::object{
      {http_wire::kJson, bj::object{{"schema", ref_to(components.name(op.hooks.request_type(), Side::request))}}}};

  bj::object o;
  o["operationId"] = std::string{op.contract} + "." + std::string{op.name};
  o["summary"] = op.full_name;
  o["tags"] = bj::array{op.contract};
  o["parameters"] = parameters(op.spec);
  o["requestBody"] = std::move(body);
  o["responses"] = std::move(responses);
  o["security"] = security(op, c);
  uses_bearer = uses_bearer || !o["security"].as_array().empty();
  o["x-pit-idempotent"] = op.spec.is_idempotent();
  if (op.spec.is_deduplicated()) o["x-pit-deduplicated"] = true;
  o["x-pit-timeout-ms"] = static_cast<std::int64_t>(c.timeout.count());
  o["x-pit-access"] = rule;
  return o;
}

}  // namespace

std::string openapi_document(const HostOptions& options, const std::vector<const ContractInfo*>& contracts) {
  Components components;
  for (const ContractInfo* contract : contracts) {
    for (const OperationInfo& op : contract->operations) {
      if (op.spec.access() == Access::undeclared) continue;
      components.add(op.hooks.request_type(), Side::request);
      components.add(op.hooks.reply_type(), Side::reply);
    }
  }
  components.settle();

  bool uses_bearer = false;
  bj::object paths;
  bj::array undeclared;
  bj::array tags;
  std::string names;
  for (const ContractInfo* contract : contracts) {
    for (const OperationInfo& op : contract->operations) {
      // Declares no access: refused to every caller, so no caller can use it. It is named
      // (x-pit-undeclared), not described: its description would promise a reply.
      if (op.spec.access() == Access::undeclared) {
        undeclared.emplace_back(op.full_name);
        continue;
      }
      bj::object item;
      item["post"] = operation(options, op, components, uses_bearer);
      // Appended piece by piece: GCC 12's -Wrestrict misfires on `"/" + std::string{...}` at -O3.
      std::string path = "/";
      path.append(contract->name).append("/").append(op.name);
      paths[path] = std::move(item);
    }
    bj::object tag;
    tag["name"] = contract->name;
    tag["description"] = "The operations of the contract " + std::string{contract->name} + ".";
    tags.emplace_back(std::move(tag));
    names += (names.empty() ? "" : ", ") + std::string{contract->name};
  }

  std::map<std::string, bj::value> sorted;
  components.write(sorted);
  sorted.emplace(kProblem, problem_schema());
  bj::object schemas;
  for (auto& [name, schema] : sorted) schemas[name] = std::move(schema);
  bj::object parts;
  parts["schemas"] = std::move(schemas);
  if (uses_bearer) {
    bj::object scheme;
    scheme["type"] = "http";
    scheme["scheme"] = "bearer";
    scheme["bearerFormat"] = "JWT";
    scheme["description"] =
        "A JWT access token of the configured issuer (docs/security.md). An operation's requirement lists the "
        "scopes it needs, and its roles as role:<name>.";
    parts["securitySchemes"] = bj::object{{kBearer, std::move(scheme)}};
  }

  bj::object info;
  info["title"] = options.service.name.empty() ? (names.empty() ? std::string{"pit service"} : names)
                                               : options.service.name;
  info["version"] = options.service.version.empty() ? std::string{"unversioned"} : options.service.version;
  info["description"] =
      "Generated by pit from the contracts this host serves: every operation is POST /{contract}/{operation} "
      "with a JSON body; faults are application/problem+json.";
  if (!options.service.license.empty()) {
    info["license"] = bj::object{{"name", options.service.license}, {"identifier", options.service.license}};
  }

  bj::object doc;
  doc["openapi"] = "3.1.0";
  doc["info"] = std::move(info);
  // Relative: the document is served by, and describes, the host it came from.
  doc["servers"] = bj::array{bj::object{{"url", "/"}}};
  doc["tags"] = std::move(tags);
  doc["paths"] = std::move(paths);
  doc["components"] = std::move(parts);
  if (!undeclared.empty()) doc["x-pit-undeclared"] = std::move(undeclared);
  return bj::serialize(doc);
}

}  // namespace pit::detail
