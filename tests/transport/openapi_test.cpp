// The OpenAPI document (docs/openapi.md) promises callers in other languages exactly what
// the codec and the runtime do: the bounds the decoder enforces, the fields a reply always
// carries, every status an operation can answer with. Each test reads the document as JSON
// and checks one promise against a hostile case: every kind of member, a message that
// contains itself, a map of optionals, an enum with a fallback, the 64-bit extremes.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pit/pit.hpp"
#include "support/raw_http.hpp"

namespace openapi_test {

enum class Mood { calm, angry, unknown };
BOOST_DESCRIBE_ENUM(Mood, calm, angry, unknown)
PIT_ENUM_FALLBACK(Mood, unknown)

enum class Size { small, large };
BOOST_DESCRIBE_ENUM(Size, small, large)

struct Leaf {
  std::string label;
};
BOOST_DESCRIBE_STRUCT(Leaf, (), (label))
PIT_REQUIRED(Leaf, label)

// One member of every kind the codec knows.
struct Everything {
  bool flag = false;
  std::int8_t i8 = 0;
  std::uint8_t u8 = 0;
  std::int16_t i16 = 0;
  std::uint16_t u16 = 0;
  std::int32_t i32 = 7;
  std::uint32_t u32 = 0;
  std::int64_t i64 = 0;
  std::uint64_t u64 = 0;
  float f = 0;
  double d = 0;
  std::string text;
  Mood mood = Mood::calm;
  Size size = Size::small;
  std::optional<std::int32_t> maybe;
  std::optional<Leaf> maybe_leaf;
  std::vector<Leaf> leaves;
  std::map<std::string, std::optional<std::int64_t>> sparse;
  Leaf leaf;
};
BOOST_DESCRIBE_STRUCT(Everything, (),
                      (flag, i8, u8, i16, u16, i32, u32, i64, u64, f, d, text, mood, size, maybe, maybe_leaf,
                       leaves, sparse, leaf))
PIT_REQUIRED(Everything, text)
PIT_RESERVED(Everything, "retired")

struct Tree {
  std::string name;
  std::vector<Tree> children;
  std::optional<std::map<std::string, Tree>> named;
};
BOOST_DESCRIBE_STRUCT(Tree, (), (name, children, named))

// Every member required or optional, no 64-bit integer: a request reads it as a reply
// writes it.
struct Same {
  std::string key;
  std::optional<int> extra;
};
BOOST_DESCRIBE_STRUCT(Same, (), (key, extra))
PIT_REQUIRED(Same, key)

template <class T>
struct Box {
  T value;
};
BOOST_DESCRIBE_STRUCT(Box<Leaf>, (), (value))

// Its component name, sanitized, is the same as Box<Leaf>'s ("openapi_test.Box_openapi_test.Leaf_").
struct Box_openapi_test {
  struct Leaf_ {
    int n = 0;
  };
};
BOOST_DESCRIBE_STRUCT(Box_openapi_test::Leaf_, (), (n))

class Kinds {
 public:
  virtual ~Kinds() = default;

 protected:
  virtual Everything echo(Everything) = 0;
  virtual Tree grow(Tree) = 0;
  virtual Same same(Same) = 0;
  virtual Box<Leaf> box(Box_openapi_test::Leaf_) = 0;
  virtual Same closed(Same) = 0;
  virtual pit::Task<Same> open(Same) = 0;
};
PIT_CONTRACT(Kinds, "test.v1.Kinds",
             (echo, pit::OpSpec{}
                        .require(pit::any_of(pit::scope("kinds.write"), pit::all_of(pit::scope("kinds.admin"),
                                                                                     pit::role("ops"))))
                        .raises(pit::Code::not_found, pit::Code::already_exists, pit::Code::aborted,
                                pit::Code::failed_precondition)
                        .idempotent()
                        .timeout(std::chrono::milliseconds(1500))),
             (grow, pit::OpSpec{}.require(pit::authenticated())), (same, pit::OpSpec{}.anonymous("test")),
             (box, pit::OpSpec{}.anonymous("test")), (closed), (open, pit::OpSpec{}.anonymous("test")));

class KindsService final : public Kinds {
  Everything echo(Everything e) override { return e; }
  Tree grow(Tree t) override { return t; }
  Same same(Same s) override { return s; }
  Box<Leaf> box(Box_openapi_test::Leaf_) override { return {}; }
  Same closed(Same s) override { return s; }
  pit::Task<Same> open(Same s) override { co_return s; }
};

}  // namespace openapi_test

namespace {

using boost::json::array;
using boost::json::object;
using boost::json::value;
using openapi_test::Kinds;
using openapi_test::KindsService;

value document(pit::HostOptions options = {}) {
  pit::Host host{std::move(options)};
  host.serve<Kinds, KindsService>();
  return boost::json::parse(host.openapi());
}

const object& schemas(const value& doc) { return doc.at("components").at("schemas").as_object(); }
const object& component(const value& doc, std::string_view name) {
  const auto* c = schemas(doc).if_contains(name);
  if (c == nullptr) {
    ADD_FAILURE() << "no component " << name << " in " << boost::json::serialize(schemas(doc));
    static const object none;
    return none;
  }
  return c->as_object();
}
const object& property(const value& doc, std::string_view message, std::string_view field) {
  return component(doc, message).at("properties").at(field).as_object();
}
const object& post(const value& doc, std::string_view path) { return doc.at("paths").at(path).at("post").as_object(); }
bool lists(const value& names, std::string_view name) {
  for (const auto& n : names.as_array()) {
    if (n.is_string() && n.as_string() == name) return true;
  }
  return false;
}
std::vector<std::string> names_of(const value& strings) {
  std::vector<std::string> out;
  for (const auto& n : strings.as_array()) out.emplace_back(n.as_string());
  return out;
}
using Names = std::vector<std::string>;
std::string ref_of(const object& schema) { return std::string{schema.at("$ref").as_string()}; }

TEST(OpenApi, every_operation_is_a_post_of_its_wire_name_with_request_and_reply) {
  const value doc = document();
  EXPECT_EQ(doc.at("openapi"), "3.1.0");
  EXPECT_EQ(doc.at("paths").as_object().size(), 5U);  // `closed` declares no access: left out
  const object& same = post(doc, "/test.v1.Kinds/same");
  EXPECT_EQ(same.at("operationId"), "test.v1.Kinds.same");
  EXPECT_EQ(ref_of(same.at("requestBody").at("content").at("application/json").at("schema").as_object()),
            "#/components/schemas/openapi_test.Same");
  EXPECT_EQ(ref_of(same.at("responses").at("200").at("content").at("application/json").at("schema").as_object()),
            "#/components/schemas/openapi_test.Same");
  EXPECT_EQ(same.at("requestBody").at("required"), true);
}

TEST(OpenApi, integers_carry_the_decoders_exact_bounds) {
  const value doc = document();
  const object& i8 = property(doc, "openapi_test.Everything-reply", "i8");
  EXPECT_EQ(i8.at("minimum").as_int64(), -128);
  EXPECT_EQ(i8.at("maximum").to_number<std::int64_t>(), 127);
  const object& u32 = property(doc, "openapi_test.Everything-reply", "u32");
  EXPECT_EQ(u32.at("minimum").to_number<std::int64_t>(), 0);
  EXPECT_EQ(u32.at("maximum").to_number<std::uint64_t>(), 4294967295U);
  // The 64-bit extremes are written as exact integers, not doubles.
  const object& i64 = property(doc, "openapi_test.Everything-reply", "i64");
  ASSERT_TRUE(i64.at("minimum").is_int64());
  EXPECT_EQ(i64.at("minimum").as_int64(), INT64_MIN);
  EXPECT_EQ(i64.at("maximum").to_number<std::uint64_t>(), 9223372036854775807ULL);
  EXPECT_EQ(i64.at("format"), "int64");
  const object& u64 = property(doc, "openapi_test.Everything-reply", "u64");
  ASSERT_TRUE(u64.at("maximum").is_uint64());
  EXPECT_EQ(u64.at("maximum").as_uint64(), 18446744073709551615ULL);
  // In the text too: a reader that parses numbers as doubles still sees the digits.
  pit::Host host;
  host.serve<Kinds, KindsService>();
  const std::string text = host.openapi();
  EXPECT_NE(text.find("\"minimum\":-9223372036854775808"), std::string::npos);
  EXPECT_NE(text.find("\"maximum\":18446744073709551615"), std::string::npos);
}

TEST(OpenApi, requests_also_take_64_bit_integers_as_decimal_strings_replies_never_send_them) {
  const value doc = document();
  const object& request = property(doc, "openapi_test.Everything-request", "u64");
  // Not required, so null means absent too.
  const array& any = request.at("anyOf").as_array();
  ASSERT_EQ(any.size(), 3U);
  EXPECT_EQ(any[0].at("type"), "integer");
  EXPECT_EQ(any[0].at("maximum").as_uint64(), 18446744073709551615ULL);
  EXPECT_EQ(any[1].at("type"), "string");
  EXPECT_EQ(any[1].at("pattern"), "^(0|[1-9][0-9]{0,19})$");
  EXPECT_EQ(any[2].at("type"), "null");
  EXPECT_EQ(property(doc, "openapi_test.Everything-request", "i64").at("anyOf").at(1).at("pattern"),
            "^(0|-?[1-9][0-9]{0,18})$");
  // A map of optional 64-bit integers: each value may be a number, a string or null.
  const object& sparse = property(doc, "openapi_test.Everything-request", "sparse");
  EXPECT_EQ(sparse.at("type"), (array{"object", "null"}));
  EXPECT_EQ(sparse.at("additionalProperties").at("anyOf").as_array().size(), 3U);
  const object& reply_sparse = property(doc, "openapi_test.Everything-reply", "sparse");
  EXPECT_EQ(reply_sparse.at("type"), "object");
  const object& value_schema = reply_sparse.at("additionalProperties").as_object();
  EXPECT_EQ(value_schema.at("type"), (array{"integer", "null"}));
  EXPECT_FALSE(value_schema.contains("anyOf"));
  EXPECT_EQ(property(doc, "openapi_test.Everything-reply", "u64").at("type"), "integer");
}

TEST(OpenApi, a_request_field_with_a_default_is_optional_and_nullable_a_reply_always_carries_it) {
  const value doc = document();
  const object& request = component(doc, "openapi_test.Everything-request");
  EXPECT_EQ(request.at("required"), (array{"text"}));
  const object& i32 = property(doc, "openapi_test.Everything-request", "i32");
  EXPECT_EQ(i32.at("type"), (array{"integer", "null"}));
  EXPECT_EQ(i32.at("default"), 7);
  const object& leaf = property(doc, "openapi_test.Everything-request", "leaf");
  EXPECT_EQ(ref_of(leaf.at("anyOf").at(0).as_object()), "#/components/schemas/openapi_test.Leaf");
  EXPECT_EQ(leaf.at("default"), (object{{"label", ""}}));
  // A PIT_REQUIRED member is neither nullable nor defaulted.
  const object& text = property(doc, "openapi_test.Everything-request", "text");
  EXPECT_EQ(text.at("type"), "string");
  EXPECT_FALSE(text.contains("default"));

  const object& reply = component(doc, "openapi_test.Everything-reply");
  const array& required = reply.at("required").as_array();
  for (const auto& [name, schema] : reply.at("properties").as_object()) {
    const bool optional = name == "maybe" || name == "maybe_leaf";
    EXPECT_EQ(lists(required, name), !optional) << name;
    EXPECT_FALSE(schema.as_object().contains("default")) << name;
  }
  EXPECT_EQ(property(doc, "openapi_test.Everything-reply", "i32").at("type"), "integer");
}

TEST(OpenApi, optionals_are_their_type_or_null_on_both_sides) {
  const value doc = document();
  for (const char* side : {"openapi_test.Everything-request", "openapi_test.Everything-reply"}) {
    EXPECT_EQ(property(doc, side, "maybe").at("type"), (array{"integer", "null"})) << side;
    const array& leaf = property(doc, side, "maybe_leaf").at("anyOf").as_array();
    ASSERT_EQ(leaf.size(), 2U);
    EXPECT_EQ(ref_of(leaf[0].as_object()), "#/components/schemas/openapi_test.Leaf");
    EXPECT_EQ(leaf[1].at("type"), "null");
    EXPECT_FALSE(lists(component(doc, side).at("required"), "maybe"));
  }
}

TEST(OpenApi, every_kind_maps_to_its_json_schema) {
  const value doc = document();
  const auto reply = [&](std::string_view field) { return property(doc, "openapi_test.Everything-reply", field); };
  EXPECT_EQ(reply("flag").at("type"), "boolean");
  EXPECT_EQ(reply("text").at("type"), "string");
  EXPECT_EQ(reply("d").at("type"), "number");
  EXPECT_EQ(reply("d").at("format"), "double");
  EXPECT_EQ(reply("f").at("format"), "float");
  // A float refuses what rounds to infinity: from 2^128 - 2^103 on.
  EXPECT_EQ(reply("f").at("exclusiveMaximum").as_double(), 0x1p128 - 0x1p103);
  EXPECT_EQ(reply("leaves").at("type"), "array");
  EXPECT_EQ(ref_of(reply("leaves").at("items").as_object()), "#/components/schemas/openapi_test.Leaf");
  EXPECT_EQ(ref_of(reply("leaf")), "#/components/schemas/openapi_test.Leaf");
  EXPECT_EQ(ref_of(reply("size")), "#/components/schemas/openapi_test.Size");
  const object& size = component(doc, "openapi_test.Size");
  EXPECT_EQ(size.at("type"), "string");
  EXPECT_EQ(size.at("enum"), (array{"small", "large"}));
  EXPECT_FALSE(size.contains("x-pit-fallback"));
  EXPECT_EQ(component(doc, "openapi_test.Everything-request").at("x-pit-reserved"), (array{"retired"}));
  EXPECT_FALSE(component(doc, "openapi_test.Leaf").contains("x-pit-reserved"));
}

TEST(OpenApi, an_enum_with_a_fallback_names_it_and_lists_its_names_in_order) {
  const value doc = document();
  const object& mood = component(doc, "openapi_test.Mood");
  EXPECT_EQ(mood.at("enum"), (array{"calm", "angry", "unknown"}));
  EXPECT_EQ(mood.at("x-pit-fallback"), "unknown");
  // The same component serves requests and replies.
  EXPECT_EQ(ref_of(property(doc, "openapi_test.Everything-reply", "mood")), "#/components/schemas/openapi_test.Mood");
  EXPECT_EQ(ref_of(property(doc, "openapi_test.Everything-request", "mood").at("anyOf").at(0).as_object()),
            "#/components/schemas/openapi_test.Mood");
}

TEST(OpenApi, a_recursive_message_refers_to_its_own_component) {
  const value doc = document();
  const object& children = property(doc, "openapi_test.Tree-reply", "children");
  EXPECT_EQ(ref_of(children.at("items").as_object()), "#/components/schemas/openapi_test.Tree-reply");
  const object& named = property(doc, "openapi_test.Tree-request", "named");
  EXPECT_EQ(named.at("type"), (array{"object", "null"}));
  EXPECT_EQ(ref_of(named.at("additionalProperties").as_object()), "#/components/schemas/openapi_test.Tree-request");
}

TEST(OpenApi, one_component_where_request_and_reply_agree_and_only_the_side_used) {
  const value doc = document();
  EXPECT_TRUE(schemas(doc).contains("openapi_test.Same"));
  EXPECT_FALSE(schemas(doc).contains("openapi_test.Same-request"));
  // Leaf: its one member is required, so both sides read it alike.
  EXPECT_TRUE(schemas(doc).contains("openapi_test.Leaf"));
  // Box<Leaf> is only a reply, Box_openapi_test::Leaf_ only a request: one component each,
  // under two names although both sanitize to the same text.
  std::vector<std::string> boxes;
  for (const auto& [name, schema] : schemas(doc)) {
    if (name.starts_with("openapi_test.Box_openapi_test.Leaf_")) boxes.emplace_back(name);
  }
  EXPECT_EQ(boxes.size(), 2U);
  const object& box = post(doc, "/test.v1.Kinds/box");
  EXPECT_NE(box.at("requestBody").at("content").at("application/json").at("schema").at("$ref"),
            box.at("responses").at("200").at("content").at("application/json").at("schema").at("$ref"));
  // Every reference points at a component that exists.
  const std::string text = boost::json::serialize(doc);
  for (std::size_t at = text.find("\"$ref\":\""); at != std::string::npos; at = text.find("\"$ref\":\"", at + 1)) {
    const std::size_t begin = at + 8;
    const std::string ref = text.substr(begin, text.find('"', begin) - begin);
    ASSERT_TRUE(ref.starts_with("#/components/schemas/")) << ref;
    EXPECT_TRUE(schemas(doc).contains(ref.substr(21))) << ref;
  }
}

TEST(OpenApi, every_declared_fault_is_a_problem_response_under_its_status) {
  const value doc = document();
  const object& responses = post(doc, "/test.v1.Kinds/echo").at("responses").as_object();
  const auto codes = [&](std::string_view status) {
    return responses.at(status).at("content").at("application/problem+json").at("schema").at("allOf").at(1).at(
        "properties").at("code").at("enum");
  };
  EXPECT_EQ(names_of(codes("404")), (Names{"not_found"}));
  EXPECT_EQ(names_of(codes("409")), (Names{"already_exists", "aborted"}));
  EXPECT_EQ(names_of(codes("400")), (Names{"invalid_argument", "failed_precondition"}));
  // What the runtime may always answer.
  EXPECT_EQ(names_of(codes("500")), (Names{"internal"}));
  EXPECT_EQ(names_of(codes("503")), (Names{"unavailable"}));
  EXPECT_EQ(names_of(codes("504")), (Names{"deadline_exceeded"}));
  EXPECT_EQ(names_of(codes("401")), (Names{"unauthenticated"}));
  EXPECT_EQ(names_of(codes("403")), (Names{"permission_denied"}));
  EXPECT_TRUE(responses.at("503").at("headers").as_object().contains("Retry-After"));
  EXPECT_TRUE(responses.at("401").at("headers").as_object().contains("WWW-Authenticate"));
  // Not declared: never answered (an implementation's not_found elsewhere is masked).
  const object& same = post(doc, "/test.v1.Kinds/same").at("responses").as_object();
  EXPECT_FALSE(same.contains("404"));
  EXPECT_FALSE(same.contains("409"));
  // Anonymous: nothing refuses it for identity.
  EXPECT_FALSE(same.contains("401"));
  EXPECT_FALSE(same.contains("403"));
  EXPECT_TRUE(same.contains("503"));
  // Each problem response's code is one the problem schema allows.
  const Names all = names_of(component(doc, "pit.Problem").at("properties").at("code").at("enum"));
  for (const auto& [status, response] : responses) {
    if (status == "200") continue;
    for (const auto& code : names_of(codes(status))) EXPECT_NE(std::find(all.begin(), all.end(), code), all.end());
  }
}

TEST(OpenApi, access_rules_become_bearer_requirements_with_the_declared_scopes) {
  const value doc = document();
  EXPECT_EQ(doc.at("components").at("securitySchemes").at("bearer").at("scheme"), "bearer");
  const object& echo = post(doc, "/test.v1.Kinds/echo");
  EXPECT_EQ(echo.at("security"), (array{object{{"bearer", array{"kinds.write"}}},
                                        object{{"bearer", array{"kinds.admin", "role:ops"}}}}));
  EXPECT_EQ(echo.at("x-pit-access"), "scope:kinds.write | scope:kinds.admin & role:ops");
  EXPECT_EQ(post(doc, "/test.v1.Kinds/grow").at("security"), (array{object{{"bearer", array{}}}}));
  EXPECT_EQ(post(doc, "/test.v1.Kinds/same").at("security"), array{});
  EXPECT_EQ(post(doc, "/test.v1.Kinds/same").at("x-pit-access"), "anonymous");
  // Declares nothing: closed to everyone, so no caller can use it; named, not described.
  EXPECT_FALSE(doc.at("paths").as_object().contains("/test.v1.Kinds/closed"));
  EXPECT_EQ(doc.at("x-pit-undeclared"), (array{"test.v1.Kinds/closed"}));
}

TEST(OpenApi, configuration_narrows_access_and_replaces_timeouts_in_the_document) {
  pit::HostOptions options;
  options.default_timeout = std::chrono::milliseconds(4000);
  options.operations["test.v1.Kinds"].require_roles = {"clerk"};
  options.operations["test.v1.Kinds/same"].timeout = std::chrono::milliseconds(250);
  options.operations["test.v1.Kinds/same"].require_scopes = {"kinds.read"};
  const value doc = document(options);
  const object& same = post(doc, "/test.v1.Kinds/same");
  EXPECT_EQ(same.at("security"), (array{object{{"bearer", array{"kinds.read", "role:clerk"}}}}));
  EXPECT_TRUE(same.at("responses").as_object().contains("401"));
  EXPECT_EQ(same.at("x-pit-timeout-ms"), 250);
  EXPECT_EQ(post(doc, "/test.v1.Kinds/echo").at("x-pit-timeout-ms"), 1500);
  EXPECT_EQ(post(doc, "/test.v1.Kinds/grow").at("x-pit-timeout-ms"), 4000);
  EXPECT_EQ(post(doc, "/test.v1.Kinds/echo").at("x-pit-idempotent"), true);
  EXPECT_EQ(post(doc, "/test.v1.Kinds/grow").at("x-pit-idempotent"), false);
}

TEST(OpenApi, the_request_headers_pit_reads_are_parameters) {
  const value doc = document();
  std::vector<std::string> names;
  for (const auto& p : post(doc, "/test.v1.Kinds/grow").at("parameters").as_array()) {
    EXPECT_EQ(p.at("in"), "header");
    names.emplace_back(p.at("name").as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Pit-Timeout", "X-Request-Id", "traceparent"}));
}

TEST(OpenApi, info_comes_from_the_service_options) {
  EXPECT_EQ(document().at("info").at("title"), "test.v1.Kinds");
  EXPECT_EQ(document().at("info").at("version"), "unversioned");
  EXPECT_FALSE(document().at("info").as_object().contains("license"));
  pit::HostOptions options;
  options.service = {"kinds", "2.4.1", "Apache-2.0"};
  const value doc = document(options);
  EXPECT_EQ(doc.at("info").at("title"), "kinds");
  EXPECT_EQ(doc.at("info").at("version"), "2.4.1");
  EXPECT_EQ(doc.at("info").at("license").at("identifier"), "Apache-2.0");
}

TEST(OpenApi, the_admin_listener_serves_the_same_document_the_host_gives_before_start) {
  pit::HostOptions options;
  options.admin.listen = "127.0.0.1:0";
  pit::Host host{options};
  host.serve<Kinds, KindsService>();
  const std::string before = host.openapi();
  host.start();
  rawhttp::Connection c{host.admin_port()};
  c.send("GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string response = c.read_response();
  host.stop();
  EXPECT_EQ(rawhttp::status_of(response), 200);
  EXPECT_EQ(rawhttp::header_of(response, "Content-Type"), "application/json");
  EXPECT_EQ(rawhttp::body_of(response), before);
  EXPECT_EQ(host.openapi(), before);
}

TEST(OpenApi, a_host_serving_nothing_still_gives_a_valid_document) {
  pit::Host host;
  const value doc = boost::json::parse(host.openapi());
  EXPECT_TRUE(doc.at("paths").as_object().empty());
  EXPECT_EQ(schemas(doc).size(), 1U);  // pit.Problem
  EXPECT_FALSE(doc.at("components").as_object().contains("securitySchemes"));
}

}  // namespace
