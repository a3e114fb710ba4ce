// The compatibility lock: one before/after pair per rule (the finding, and that exactly its
// acknowledgement makes the check pass), the safe changes that must pass, and the locks
// that must never pass (missing, corrupted, unknown version, nonsense).
//
// The contracts here are built by hand from pit::schema values (no structs): each test
// changes one thing between `before` (written to the lock) and `after` (the code).
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "lock/lock_file.hpp"
#include "pit/lock.hpp"
#include "pit/schema.hpp"

namespace {

using namespace std::chrono_literals;
using pit::schema::Field;
using pit::schema::Kind;
using pit::schema::Type;

// Hooks are plain function pointers: each operation's types sit in a slot that a function
// template instance returns. Slots are reused round-robin: far more than one test holds.
constexpr std::size_t kSlotCount = 1024;
std::array<const Type*, kSlotCount> g_slots{};
std::size_t g_next_slot = 0;
template <std::size_t N>
const Type& slot() {
  return *g_slots[N];
}
template <std::size_t... N>
constexpr auto slot_table(std::index_sequence<N...>) {
  return std::array<const Type& (*)(), sizeof...(N)>{&slot<N>...};
}
constexpr auto kSlots = slot_table(std::make_index_sequence<kSlotCount>{});

const Type& (*hook(const Type& type))() {
  const std::size_t n = g_next_slot++ % kSlotCount;
  g_slots[n] = &type;
  return kSlots[n];
}

// Owns hand-built types; their addresses stay valid while it lives.
class Model {
 public:
  const Type& integer(int bits, bool is_signed = true) {
    Type t = of(Kind::integer);
    t.is_signed = is_signed;
    t.bits = bits;
    t.min = is_signed ? -static_cast<std::int64_t>((std::uint64_t{1} << (bits - 1)) - 1) - 1 : 0;
    t.max = bits == 64 ? (is_signed ? static_cast<std::uint64_t>(INT64_MAX) : UINT64_MAX)
                       : (is_signed ? (std::uint64_t{1} << (bits - 1)) - 1 : (std::uint64_t{1} << bits) - 1);
    return add(std::move(t));
  }
  const Type& bounded(std::int64_t min, std::uint64_t max) {
    Type t = integer(32);
    t.min = min;
    t.max = max;
    return add(std::move(t));
  }
  const Type& string() { return add(of(Kind::string)); }
  const Type& optional(const Type& e) { return wrap(Kind::optional, e); }
  const Type& array(const Type& e) { return wrap(Kind::array, e); }
  const Type& enumeration(std::string name, std::vector<std::string_view> values,
                          std::optional<std::string_view> fallback = std::nullopt) {
    Type t = of(Kind::enumeration);
    t.name = std::move(name);
    t.enumerators = std::move(values);
    t.fallback = fallback;
    return add(std::move(t));
  }
  Type& message(std::string name) {
    Type t = of(Kind::message);
    t.name = std::move(name);
    return add(std::move(t));
  }

 private:
  static Type of(Kind kind) {
    Type t;
    t.kind = kind;
    return t;
  }
  const Type& wrap(Kind kind, const Type& element) {
    Type t = of(kind);
    t.element = &element;
    return add(std::move(t));
  }
  Type& add(Type t) { return types_.emplace_back(std::move(t)); }
  std::deque<Type> types_;
};

struct OpDef {
  std::string_view name;
  pit::OpSpec spec;
  const Type* request;
  const Type* reply;
};

// A contract whose ContractInfo outlives the test's use of it.
const pit::ContractInfo& contract(std::string_view name, const std::vector<OpDef>& ops) {
  static std::deque<pit::ContractInfo> all;
  pit::ContractInfo& c = all.emplace_back();
  c.name = name;
  for (const auto& d : ops) {
    pit::OperationInfo op;
    op.name = d.name;
    op.full_name = std::string{name} + "/" + std::string{d.name};
    op.contract = name;
    op.spec = d.spec;
    op.index = c.operations.size();
    op.hooks.request_type = hook(*d.request);
    op.hooks.reply_type = hook(*d.reply);
    c.operations.push_back(std::move(op));
  }
  return c;
}

// The knobs of one version of the test contract t.v1.Svc: call(Req) -> Rep, plus ping.
struct Shape {
  std::string_view contract = "t.v1.Svc";
  std::string ns = "t.";  // the types' names: t.Req, t.Rep, ...
  bool has_call = true;
  pit::OpSpec spec = pit::OpSpec{}
                         .anonymous("test")
                         .raises(pit::Code::not_found, pit::Code::already_exists)
                         .idempotent()
                         .timeout(2000ms);
  // Request t.Req { id: int32, note: string, kind: t.Kind{a, b} }
  int id_bits = 32;
  bool id_optional = false;
  bool id_required = false;
  bool id_bounded = false;  // int32[0..100]
  bool has_note = true;
  std::vector<std::string_view> req_reserved{"retired"};
  std::optional<std::string_view> extra{};  // a new request field of that name
  bool extra_required = false;
  std::vector<std::string_view> kind_values{"a", "b"};
  // Reply t.Rep { value: int32, status: t.Status{ok, failed}, items: array<t.Item{sku}> }
  int value_bits = 32;
  bool value_optional = false;
  bool has_reply_note = true;
  std::vector<std::string_view> rep_reserved{};
  std::vector<std::string_view> status_values{"failed", "ok"};
  std::optional<std::string_view> status_fallback{};
  bool item_sku_optional = false;
};

std::vector<const pit::ContractInfo*> build(Model& m, const Shape& s) {
  const Type* id = s.id_bounded ? &m.bounded(0, 100) : &m.integer(s.id_bits);
  if (s.id_optional) id = &m.optional(*id);
  Type& req = m.message(s.ns + "Req");
  req.fields.push_back(Field{"id", id, s.id_required, s.id_optional ? "null" : "0"});
  req.fields.push_back(Field{"kind", &m.enumeration(s.ns + "Kind", s.kind_values), false, "\"a\""});
  if (s.has_note) req.fields.push_back(Field{"note", &m.string(), false, "\"\""});
  if (s.extra) req.fields.push_back(Field{*s.extra, &m.string(), s.extra_required, "\"\""});
  req.reserved = s.req_reserved;

  Type& item = m.message(s.ns + "Item");
  const Type* sku = &m.string();
  item.fields.push_back(Field{"sku", s.item_sku_optional ? &m.optional(*sku) : sku, false, "\"\""});
  const Type* value = &m.integer(s.value_bits);
  if (s.value_optional) value = &m.optional(*value);
  Type& rep = m.message(s.ns + "Rep");
  rep.fields.push_back(Field{"value", value, false, s.value_optional ? "null" : "0"});
  rep.fields.push_back(
      Field{"status", &m.enumeration(s.ns + "Status", s.status_values, s.status_fallback), false, "\"failed\""});
  rep.fields.push_back(Field{"items", &m.array(item), false, "[]"});
  if (s.has_reply_note) rep.fields.push_back(Field{"reply_note", &m.string(), false, "\"\""});
  rep.reserved = s.rep_reserved;

  Type& empty = m.message(s.ns + "Empty");
  std::vector<OpDef> ops{{"ping", pit::OpSpec{}.anonymous("test"), &empty, &empty}};
  if (s.has_call) ops.push_back({"call", s.spec, &req, &rep});
  return {&contract(s.contract, ops)};
}

std::string lock_of(const Shape& s) {
  Model m;
  return pit::lock::snapshot(build(m, s));
}

pit::lock::Report check_against(const std::string& lock_text, const Shape& now) {
  Model m;
  return pit::lock::compare(build(m, now), lock_text, "test.lock");
}

std::string acknowledge(const std::string& lock_text, std::string rule, std::string where) {
  auto lock = pit::lock::file::from_text(lock_text);
  lock.acknowledgements.push_back({"callers moved to v2 (test)", std::move(rule), std::move(where)});
  return pit::lock::file::to_text(lock);
}

const pit::lock::Finding* find(const pit::lock::Report& r, std::string_view rule, std::string_view where) {
  for (const auto& f : r.findings()) {
    if (f.rule == rule && f.where == where) return &f;
  }
  return nullptr;
}

// The pair every rule gets: `after` against the lock of `before` fails with exactly this
// finding, and passes once the lock acknowledges exactly it.
void expect_break(const Shape& before, const Shape& after, std::string_view rule, std::string_view where) {
  const std::string lock = lock_of(before);
  const auto broken = check_against(lock, after);
  EXPECT_FALSE(broken.ok()) << broken;
  EXPECT_EQ(broken.exit_code(), 1);
  const auto* f = find(broken, rule, where);
  ASSERT_NE(f, nullptr) << "expected " << rule << " at " << where << "\n" << broken;
  EXPECT_EQ(f->severity, pit::lock::Severity::breaking);
  EXPECT_FALSE(f->acknowledged);
  EXPECT_NE(broken.text().find(std::string{rule} + " at " + std::string{where}), std::string::npos) << broken;

  // Acknowledging another finding (same rule, elsewhere) does not help.
  const auto elsewhere = check_against(acknowledge(lock, std::string{rule}, "t.v1.Svc/elsewhere"), after);
  EXPECT_FALSE(elsewhere.ok()) << elsewhere;

  const auto acknowledged = check_against(acknowledge(lock, std::string{rule}, std::string{where}), after);
  EXPECT_TRUE(acknowledged.ok()) << acknowledged;
  const auto* a = find(acknowledged, rule, where);
  ASSERT_NE(a, nullptr) << acknowledged;
  EXPECT_EQ(a->acknowledged.value_or(""), "callers moved to v2 (test)");
}

void expect_compatible(const Shape& before, const Shape& after) {
  const auto report = check_against(lock_of(before), after);
  EXPECT_TRUE(report.ok()) << report;
  for (const auto& f : report.findings()) {
    EXPECT_NE(f.severity, pit::lock::Severity::breaking) << f.rule << " at " << f.where;
  }
}

TEST(LockRules, unchanged_contracts_pass_with_no_finding) {
  const auto report = check_against(lock_of({}), {});
  EXPECT_TRUE(report.ok()) << report;
  EXPECT_TRUE(report.findings().empty()) << report;
  EXPECT_EQ(report.failures(), "");
  EXPECT_EQ(report.exit_code(), 0);
}

TEST(LockRules, contract_removed_or_renamed_breaks) {
  expect_break({}, {.contract = "t.v2.Svc"}, "contract_removed", "t.v1.Svc");
}

TEST(LockRules, a_new_contract_version_beside_the_old_one_passes_whatever_it_changes) {
  const std::string lock = lock_of({});
  Model m;
  auto now = build(m, {});
  const auto v2 = build(m, {.contract = "t.v2.Svc", .ns = "t2.", .has_note = false, .kind_values = {"z"}, .value_bits = 64});
  now.push_back(v2.front());
  const auto report = pit::lock::compare(now, lock, "test.lock");
  EXPECT_TRUE(report.ok()) << report;
  EXPECT_TRUE(report.findings().empty()) << report;
}

TEST(LockRules, operation_removed_or_renamed_breaks) {
  expect_break({}, {.has_call = false}, "operation_removed", "t.v1.Svc/call");
}

TEST(LockRules, request_field_removed_without_reserving_its_name_breaks) {
  expect_break({}, {.has_note = false}, "field_removed", "t.v1.Svc/call request: note");
}

TEST(LockRules, request_field_removed_with_its_name_reserved_passes) {
  expect_compatible({}, {.has_note = false, .req_reserved = {"note", "retired"}});
}

TEST(LockRules, reply_field_removed_breaks_even_when_reserved) {
  expect_break({}, {.has_reply_note = false}, "field_removed", "t.v1.Svc/call reply: reply_note");
  expect_break({}, {.has_reply_note = false, .rep_reserved = {"reply_note"}}, "field_removed",
               "t.v1.Svc/call reply: reply_note");
}

TEST(LockRules, a_reserved_name_reused_by_a_new_field_breaks) {
  expect_break({}, {.extra = "retired"}, "reserved_name_reused", "t.v1.Svc/call request: retired");
}

TEST(LockRules, request_integer_narrowed_breaks_and_widened_passes) {
  expect_break({.id_bits = 64}, {}, "type_changed", "t.v1.Svc/call request: id");
  expect_compatible({}, {.id_bits = 64});
  expect_break({}, {.id_bounded = true}, "type_changed", "t.v1.Svc/call request: id");
  expect_compatible({.id_bounded = true}, {});
}

TEST(LockRules, reply_integer_widened_breaks_and_narrowed_passes) {
  expect_break({}, {.value_bits = 64}, "type_changed", "t.v1.Svc/call reply: value");
  expect_compatible({.value_bits = 64}, {});
}

TEST(LockRules, request_made_optional_passes_and_optional_made_plain_breaks) {
  expect_compatible({}, {.id_optional = true});
  expect_break({.id_optional = true}, {}, "type_changed", "t.v1.Svc/call request: id");
}

TEST(LockRules, reply_field_made_optional_breaks_and_optional_made_plain_passes) {
  expect_break({}, {.value_optional = true}, "reply_field_made_optional", "t.v1.Svc/call reply: value");
  expect_break({}, {.item_sku_optional = true}, "reply_field_made_optional", "t.v1.Svc/call reply: items[].sku");
  expect_compatible({.value_optional = true}, {});
}

TEST(LockRules, request_field_newly_required_breaks) {
  expect_break({}, {.id_required = true}, "field_newly_required", "t.v1.Svc/call request: id");
  expect_break({}, {.extra = "added", .extra_required = true}, "field_newly_required",
               "t.v1.Svc/call request: added");
  expect_compatible({}, {.extra = "added"});
  expect_compatible({.id_required = true}, {});
}

TEST(LockRules, request_enum_value_removed_breaks_and_added_passes) {
  expect_break({}, {.kind_values = {"a"}}, "enum_value_removed", "t.v1.Svc/call request: kind value b");
  expect_compatible({}, {.kind_values = {"a", "b", "c"}});
}

TEST(LockRules, reply_enum_value_added_breaks_unless_the_callers_enum_has_a_fallback) {
  expect_break({}, {.status_values = {"failed", "ok", "late"}}, "enum_value_added",
               "t.v1.Svc/call reply: status value late");
  // The fallback that counts is the one old callers have: the locked enum's.
  expect_compatible({.status_fallback = "failed"}, {.status_values = {"failed", "ok", "late"}});
  expect_break({}, {.status_values = {"failed", "ok", "late"}, .status_fallback = "failed"}, "enum_value_added",
               "t.v1.Svc/call reply: status value late");
  expect_compatible({}, {.status_values = {"ok"}});
}

TEST(LockRules, a_code_removed_from_raises_breaks) {
  expect_break({}, {.spec = pit::OpSpec{}.anonymous("test").raises(pit::Code::not_found).idempotent().timeout(2000ms)},
               "code_removed", "t.v1.Svc/call raises already_exists");
}

TEST(LockRules, idempotent_removed_breaks) {
  expect_break({},
               {.spec = pit::OpSpec{}
                            .anonymous("test")
                            .raises(pit::Code::not_found, pit::Code::already_exists)
                            .timeout(2000ms)},
               "idempotent_removed", "t.v1.Svc/call");
}

namespace {
pit::OpSpec base_spec() {
  return pit::OpSpec{}.anonymous("test").raises(pit::Code::not_found, pit::Code::already_exists).idempotent().timeout(2000ms);
}
}  // namespace

TEST(LockRules, deduplicated_removed_breaks) {
  expect_break({.spec = base_spec().deduplicated(0ms, pit::OpSpec::Key::optional)}, {}, "deduplicated_removed",
               "t.v1.Svc/call");
}

TEST(LockRules, an_idempotency_key_newly_required_breaks) {
  expect_break({}, {.spec = base_spec().deduplicated()}, "idempotency_key_required", "t.v1.Svc/call");
  expect_break({.spec = base_spec().deduplicated(0ms, pit::OpSpec::Key::optional)}, {.spec = base_spec().deduplicated()},
               "idempotency_key_required", "t.v1.Svc/call");
}

TEST(LockRules, deduplication_with_an_optional_key_added_or_a_key_made_optional_passes) {
  expect_compatible({}, {.spec = base_spec().deduplicated(0ms, pit::OpSpec::Key::optional)});
  expect_compatible({.spec = base_spec().deduplicated()}, {.spec = base_spec().deduplicated(0ms, pit::OpSpec::Key::optional)});
}

TEST(LockRules, a_code_added_a_lowered_timeout_and_changed_access_are_warnings_that_pass) {
  const Shape after{.spec = pit::OpSpec{}
                                .require(pit::scope("t.write"))
                                .raises(pit::Code::not_found, pit::Code::already_exists, pit::Code::aborted)
                                .idempotent()
                                .timeout(500ms)};
  const auto report = check_against(lock_of({}), after);
  EXPECT_TRUE(report.ok()) << report;
  EXPECT_EQ(report.exit_code(), 0);
  for (const auto& [rule, where] : {std::pair{"code_added", "t.v1.Svc/call raises aborted"},
                                    std::pair{"timeout_lowered", "t.v1.Svc/call"},
                                    std::pair{"access_changed", "t.v1.Svc/call"}}) {
    const auto* f = find(report, rule, where);
    ASSERT_NE(f, nullptr) << rule << "\n" << report;
    EXPECT_EQ(f->severity, pit::lock::Severity::warning);
  }
  EXPECT_NE(report.text().find("warning timeout_lowered at t.v1.Svc/call"), std::string::npos) << report;
}

TEST(LockRules, an_acknowledgement_that_matches_nothing_is_a_warning) {
  const auto report = check_against(acknowledge(lock_of({}), "field_removed", "t.v1.Svc/call request: gone"), {});
  EXPECT_TRUE(report.ok()) << report;
  ASSERT_NE(find(report, "unused_acknowledgement", "t.v1.Svc/call request: gone"), nullptr) << report;
}

TEST(LockRules, findings_print_how_to_acknowledge_them) {
  const auto report = check_against(lock_of({}), {.has_note = false});
  EXPECT_NE(report.failures().find(R"({"reason": "<why callers are not hurt>", "rule": "field_removed", )"
                                   R"("where": "t.v1.Svc/call request: note"})"),
            std::string::npos)
      << report;
}

// --- the lock file itself -------------------------------------------------------------

TEST(LockFile, is_deterministic_sorted_and_one_value_a_line) {
  const std::string a = lock_of({});
  EXPECT_EQ(a, lock_of({}));
  EXPECT_EQ(pit::lock::file::to_text(pit::lock::file::from_text(a)), a);  // round trip
  // Keys sorted; fields sorted by name whatever their declaration order.
  EXPECT_LT(a.find("\"acknowledgements\""), a.find("\"contracts\""));
  EXPECT_LT(a.find("\"name\": \"id\""), a.find("\"name\": \"kind\""));
  EXPECT_LT(a.find("\"name\": \"kind\""), a.find("\"name\": \"note\""));
  EXPECT_NE(a.find("\"raises\": [\n            \"already_exists\",\n            \"not_found\"\n          ]"), std::string::npos) << a;
  EXPECT_NE(a.find("\"format\": \"pit-contract-lock\""), std::string::npos);
  EXPECT_NE(a.find("\"version\": 1"), std::string::npos);
  EXPECT_NE(a.find("\"type\": \"array<t.Item>\""), std::string::npos) << a;
  EXPECT_NE(a.find("\"timeout_ms\": 2000"), std::string::npos);
  EXPECT_NE(a.find("\"access\": \"anonymous: test\""), std::string::npos);
  EXPECT_NE(a.find("\"idempotent\": true"), std::string::npos);
  Shape bounded;
  bounded.id_bounded = true;
  EXPECT_NE(lock_of(bounded).find("\"type\": \"int32[0..100]\""), std::string::npos);
}

class BadLock : public ::testing::Test {
 protected:
  // The lock of the test contract with `from` replaced by `to` (which must be there).
  static std::string edited(std::string_view from, std::string_view to) {
    std::string text = lock_of({});
    const auto at = text.find(from);
    if (at == std::string::npos) throw std::logic_error("BadLock: not in the lock: " + std::string{from});
    text.replace(at, from.size(), to);
    return text;
  }
  static void expect_refused(const std::string& text, std::string_view problem) {
    const auto report = check_against(text, {});
    EXPECT_FALSE(report.ok());
    EXPECT_EQ(report.exit_code(), 2);
    EXPECT_EQ(report.lock_error().rfind("test.lock: ", 0), 0U) << report.lock_error();
    EXPECT_NE(report.lock_error().find(problem), std::string::npos) << report.lock_error();
    EXPECT_NE(report.failures().find(problem), std::string::npos);
  }
};

TEST_F(BadLock, a_missing_file_is_an_error_naming_it) {
  Model m;
  const auto report = pit::lock::check(build(m, {}), "/nonexistent/contracts.lock");
  EXPECT_EQ(report.exit_code(), 2);
  EXPECT_FALSE(report.ok());
  EXPECT_NE(report.lock_error().find("/nonexistent/contracts.lock: cannot be read"), std::string::npos);
}

TEST_F(BadLock, text_that_is_not_json_is_an_error) {
  expect_refused("", "not valid JSON");
  expect_refused(lock_of({}).substr(0, 200), "not valid JSON");
  expect_refused("[1, 2]", "not valid JSON");
}

TEST_F(BadLock, json_that_is_not_a_lock_is_an_error) {
  expect_refused("{}", "not a pit contract lock");
  expect_refused(edited("\"format\": \"pit-contract-lock\"", "\"format\": \"openapi\""), "not a pit contract lock");
}

TEST_F(BadLock, an_unknown_format_version_is_an_error) {
  expect_refused(edited("\"version\": 1", "\"version\": 2"), "lock format version 2 is unknown");
}

TEST_F(BadLock, a_field_without_a_type_is_an_error) {
  expect_refused(edited(",\n          \"type\": \"int32\"", ""), "type");
  expect_refused(edited("\"type\": \"int32\"", "\"type\": 7"), "type");
}

TEST_F(BadLock, an_unknown_type_or_kind_is_an_error) {
  expect_refused(edited("\"type\": \"int32\"", "\"type\": \"int128\""), "type \"int128\" is no message or enum");
  expect_refused(edited("\"type\": \"int32\"", "\"type\": \"int32[5..1]\""), "min > max");
  expect_refused(edited("\"type\": \"array<t.Item>\"", "\"type\": \"array<t.Item\""), "no closing >");
  expect_refused(edited("\"type\": \"string\"", "\"type\": \"what is this\"x"), "not valid JSON");
  expect_refused(edited("\"type\": \"string\"", "\"type\": \"$tring\""), "not a type");
}

TEST_F(BadLock, duplicate_names_and_keys_are_errors) {
  expect_refused(edited("\"name\": \"note\"", "\"name\": \"kind\""), "\"kind\" appears twice");
  expect_refused(edited("\"name\": \"ping\"", "\"name\": \"call\""), "\"call\" appears twice");
  expect_refused(edited("\"name\": \"t.Item\"", "\"name\": \"t.Empty\""), "\"t.Empty\" appears twice");
  expect_refused(edited("\"version\": 1", "\"version\": 1, \"version\": 1"), "duplicate key");
  expect_refused(edited("\"already_exists\",", "\"not_found\","), "\"not_found\" appears twice");
}

TEST_F(BadLock, inconsistent_references_are_errors) {
  expect_refused(edited("\"request\": \"t.Req\"", "\"request\": \"t.Nope\""), "request \"t.Nope\" is no message");
  expect_refused(edited("\"already_exists\"", "\"already_broken\""), "no fault code");
  expect_refused(edited("\"values\": [\n        \"a\",", "\"fallback\": \"zzz\", \"values\": [\n        \"a\","),
                 "the fallback \"zzz\" is not one of its values");
}

TEST_F(BadLock, an_acknowledgement_needs_a_known_rule_and_a_reason) {
  auto lock = pit::lock::file::from_text(lock_of({}));
  lock.acknowledgements.push_back({"", "field_removed", "t.v1.Svc/call request: note"});
  expect_refused(pit::lock::file::to_text(lock), "no reason");
  lock.acknowledgements.back() = {"because", "field_vanished", "t.v1.Svc/call request: note"};
  expect_refused(pit::lock::file::to_text(lock), "\"field_vanished\", which is no rule");
}

// --- write --------------------------------------------------------------------------

class LockWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pit_lock_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "contracts.lock").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string read() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void put(const std::string& text) const { std::ofstream(path_) << text; }
  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(LockWrite, writes_the_snapshot_then_checks_it) {
  Model m;
  const auto contracts = build(m, {});
  const auto written = pit::lock::write(contracts, path_);
  EXPECT_TRUE(written.ok()) << written;
  EXPECT_EQ(read(), pit::lock::snapshot(contracts));
  EXPECT_TRUE(pit::lock::check(contracts, path_).ok());
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
}

TEST_F(LockWrite, refuses_to_overwrite_an_unacknowledged_break_and_accepts_an_acknowledged_one) {
  put(lock_of({}));
  Model m;
  const auto broken = build(m, {.has_note = false});
  const auto refused = pit::lock::write(broken, path_);
  EXPECT_EQ(refused.exit_code(), 1) << refused;
  EXPECT_EQ(read(), lock_of({}));  // untouched

  put(acknowledge(lock_of({}), "field_removed", "t.v1.Svc/call request: note"));
  const auto accepted = pit::lock::write(broken, path_);
  EXPECT_TRUE(accepted.ok()) << accepted;
  EXPECT_EQ(read(), pit::lock::snapshot(broken));  // the new baseline; the acknowledgement is spent
  EXPECT_EQ(read().find("callers moved to v2"), std::string::npos);
}

TEST_F(LockWrite, leaves_a_corrupted_lock_alone) {
  put("{ not json");
  Model m;
  const auto report = pit::lock::write(build(m, {}), path_);
  EXPECT_EQ(report.exit_code(), 2);
  EXPECT_NE(report.lock_error().find("not overwritten"), std::string::npos) << report;
  EXPECT_EQ(read(), "{ not json");
}

TEST_F(LockWrite, the_command_line_reports_usage_check_and_write_with_exit_codes) {
  Model m;
  const auto contracts = build(m, {});
  std::ostringstream out;
  EXPECT_EQ(pit::lock::run_command(contracts, {"check", path_}, out), 2);
  EXPECT_NE(out.str().find("cannot be read"), std::string::npos);
  EXPECT_EQ(pit::lock::run_command(contracts, {"write", path_}, out), 0);
  EXPECT_EQ(pit::lock::run_command(contracts, {"check", path_}, out), 0);
  Model m2;
  EXPECT_EQ(pit::lock::run_command(build(m2, {.has_call = false}), {"check", path_}, out), 1);
  EXPECT_NE(out.str().find("BREAKING operation_removed at t.v1.Svc/call"), std::string::npos) << out.str();
  EXPECT_EQ(pit::lock::run_command(contracts, {"frob", path_}, out), 2);
}

}  // namespace
