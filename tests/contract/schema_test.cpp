// The message model (pit/schema.hpp) says exactly what the codec does: the bounds it
// enforces, the order it writes fields in, what it fills in for an absent field. The
// OpenAPI document and the compatibility lock are derived from it, so a model that drifted
// from the codec would publish a contract the service does not keep.
#include <gtest/gtest.h>

#include <array>
#include <boost/describe.hpp>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pit/pit.hpp"
#include "pit/schema.hpp"

namespace schema_test {

enum class Color { red, green, blue };
BOOST_DESCRIBE_ENUM(Color, red, green, blue)

enum class Status { active, retired, unknown };
BOOST_DESCRIBE_ENUM(Status, active, retired, unknown)
PIT_ENUM_FALLBACK(Status, unknown)

struct Item {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(Item, (), (sku, quantity))

struct Base {
  std::int64_t id = 0;
};
BOOST_DESCRIBE_STRUCT(Base, (), (id))
PIT_REQUIRED(Base, id)

struct Every : Base {
  bool flag = true;
  std::int8_t i8 = -3;
  std::uint16_t u16 = 0;
  std::uint64_t u64 = 0;
  float f = 0.5F;
  double d = 0;
  std::string text = "hi";
  Color color = Color::green;
  std::optional<int> maybe;
  std::vector<Item> items;
  std::map<std::string, std::optional<double>> prices;
  Item first{"A-1", 2};
};
BOOST_DESCRIBE_STRUCT(Every, (Base), (flag, i8, u16, u64, f, d, text, color, maybe, items, prices, first))
PIT_REQUIRED(Every, text)
PIT_RESERVED(Every, "old_name", "older")

// Derives from a struct with reserved names: the list is its base's, not its own.
struct Derived : Every {};
BOOST_DESCRIBE_STRUCT(Derived, (Every), ())

struct Tree {
  std::string label;
  std::vector<Tree> children;
  std::map<std::string, Tree> named;
};
BOOST_DESCRIBE_STRUCT(Tree, (), (label, children, named))

struct Pong;
struct Ping {
  std::optional<std::vector<Pong>> pongs;
};
struct Pong {
  std::vector<Ping> pings;
};
BOOST_DESCRIBE_STRUCT(Ping, (), (pongs))
BOOST_DESCRIBE_STRUCT(Pong, (), (pings))

template <class T>
struct Page {
  std::vector<T> entries;
};
BOOST_DESCRIBE_STRUCT(Page<Item>, (), (entries))

struct Placed {
  std::int64_t order = 0;
};
BOOST_DESCRIBE_STRUCT(Placed, (), (order))

class Shop {
 public:
  virtual ~Shop() = default;

 protected:
  virtual Placed place(Every) = 0;
  virtual pit::Task<Tree> tree(Item) = 0;
};
PIT_CONTRACT(Shop, "test.v1.Shop", (place, pit::OpSpec{}.anonymous("test")),
             (tree, pit::OpSpec{}.anonymous("test")));

}  // namespace schema_test

namespace {

struct Hidden {
  int x = 0;
};
BOOST_DESCRIBE_STRUCT(Hidden, (), (x))

}  // namespace

namespace {

using pit::schema::Field;
using pit::schema::Kind;
using pit::schema::Type;
using pit::schema::type_of;
using namespace schema_test;

const Field& field(const Type& t, std::string_view name) {
  for (const Field& f : t.fields) {
    if (f.name == name) return f;
  }
  ADD_FAILURE() << "no field " << name << " in " << t.name;
  static const Field none;
  return none;
}

template <class I>
void expect_integer(bool is_signed, int bits) {
  const Type& t = type_of<I>();
  EXPECT_EQ(t.kind, Kind::integer);
  EXPECT_EQ(t.is_signed, is_signed);
  EXPECT_EQ(t.bits, bits);
  EXPECT_EQ(t.min, static_cast<std::int64_t>(std::numeric_limits<I>::min()));
  EXPECT_EQ(t.max, static_cast<std::uint64_t>(std::numeric_limits<I>::max()));
  EXPECT_TRUE(t.name.empty());
}

TEST(Schema, integers_carry_the_exact_bounds_the_decoder_enforces) {
  expect_integer<std::int8_t>(true, 8);
  expect_integer<std::uint8_t>(false, 8);
  expect_integer<std::int16_t>(true, 16);
  expect_integer<std::uint16_t>(false, 16);
  expect_integer<std::int32_t>(true, 32);
  expect_integer<std::uint32_t>(false, 32);
  expect_integer<std::int64_t>(true, 64);
  expect_integer<std::uint64_t>(false, 64);
  // The extremes that a double could not hold exactly.
  EXPECT_EQ(type_of<std::int64_t>().min, INT64_MIN);
  EXPECT_EQ(type_of<std::int64_t>().max, 9223372036854775807ULL);
  EXPECT_EQ(type_of<std::uint64_t>().min, 0);
  EXPECT_EQ(type_of<std::uint64_t>().max, 18446744073709551615ULL);
}

TEST(Schema, scalars_have_their_kinds) {
  EXPECT_EQ(type_of<bool>().kind, Kind::boolean);
  EXPECT_EQ(type_of<std::string>().kind, Kind::string);
  EXPECT_EQ(type_of<float>().kind, Kind::number);
  EXPECT_EQ(type_of<float>().bits, 32);
  EXPECT_EQ(type_of<double>().kind, Kind::number);
  EXPECT_EQ(type_of<double>().bits, 64);
}

TEST(Schema, enum_lists_its_names_in_declaration_order) {
  const Type& t = type_of<Color>();
  EXPECT_EQ(t.kind, Kind::enumeration);
  EXPECT_EQ(t.name, "schema_test::Color");
  EXPECT_EQ(t.enumerators, (std::vector<std::string_view>{"red", "green", "blue"}));
  EXPECT_FALSE(t.fallback.has_value());
}

TEST(Schema, enum_with_a_fallback_names_it) {
  const Type& t = type_of<Status>();
  ASSERT_TRUE(t.fallback.has_value());
  EXPECT_EQ(*t.fallback, "unknown");
}

TEST(Schema, containers_point_at_the_node_of_their_element) {
  const Type& opt = type_of<std::optional<Item>>();
  EXPECT_EQ(opt.kind, Kind::optional);
  EXPECT_EQ(opt.element, &type_of<Item>());
  const Type& vec = type_of<std::vector<std::int64_t>>();
  EXPECT_EQ(vec.kind, Kind::array);
  EXPECT_EQ(vec.element, &type_of<std::int64_t>());
  using Prices = std::map<std::string, std::optional<double>>;
  const Type& map = type_of<Prices>();
  EXPECT_EQ(map.kind, Kind::map);
  ASSERT_NE(map.element, nullptr);
  EXPECT_EQ(map.element->kind, Kind::optional);
  EXPECT_EQ(map.element->element, &type_of<double>());
  EXPECT_TRUE(vec.name.empty());
}

TEST(Schema, message_lists_fields_in_the_codecs_order_base_members_first) {
  const Type& t = type_of<Every>();
  EXPECT_EQ(t.kind, Kind::message);
  EXPECT_EQ(t.name, "schema_test::Every");
  std::vector<std::string_view> names;
  for (const Field& f : t.fields) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string_view>{"id", "flag", "i8", "u16", "u64", "f", "d", "text",
                                                  "color", "maybe", "items", "prices", "first"}));
  // The codec writes the same members in the same order (an empty optional is omitted).
  Every every;
  every.maybe = 1;
  const std::string json = pit::json::encode(every);
  std::size_t at = 0;
  for (const Field& f : t.fields) {
    const std::size_t found = json.find("\"" + std::string{f.name} + "\":", at);
    ASSERT_NE(found, std::string::npos) << f.name << " in " << json;
    at = found;
  }
  EXPECT_EQ(field(t, "first").type, &type_of<Item>());
  EXPECT_EQ(field(t, "color").type, &type_of<Color>());
  using Prices = std::map<std::string, std::optional<double>>;
  EXPECT_EQ(field(t, "prices").type, &type_of<Prices>());
}

TEST(Schema, required_members_are_marked_inherited_ones_too) {
  const Type& t = type_of<Every>();
  for (const Field& f : t.fields) {
    EXPECT_EQ(f.required, f.name == "id" || f.name == "text") << f.name;
  }
  EXPECT_TRUE(field(type_of<Base>(), "id").required);
}

TEST(Schema, defaults_are_what_the_codec_writes_for_a_value_initialized_message) {
  const Type& t = type_of<Every>();
  EXPECT_EQ(field(t, "id").default_json, "0");
  EXPECT_EQ(field(t, "flag").default_json, "true");
  EXPECT_EQ(field(t, "i8").default_json, "-3");
  EXPECT_EQ(field(t, "f").default_json, "0.5");
  EXPECT_EQ(field(t, "text").default_json, "\"hi\"");
  EXPECT_EQ(field(t, "color").default_json, "\"green\"");
  EXPECT_EQ(field(t, "maybe").default_json, "null");
  EXPECT_EQ(field(t, "items").default_json, "[]");
  EXPECT_EQ(field(t, "prices").default_json, "{}");
  EXPECT_EQ(field(t, "first").default_json, R"({"sku":"A-1","quantity":2})");
  // Decoding {} fills in exactly these defaults.
  const Every decoded = pit::json::decode<Every>(R"({"id":1,"text":"hi"})");
  EXPECT_EQ(pit::json::encode(decoded.first), field(t, "first").default_json);
  EXPECT_EQ(pit::json::encode(decoded.color), field(t, "color").default_json);
}

TEST(Schema, reserved_names_belong_to_the_struct_that_declares_them) {
  EXPECT_EQ(type_of<Every>().reserved, (std::vector<std::string_view>{"old_name", "older"}));
  EXPECT_TRUE(type_of<Derived>().reserved.empty());
  EXPECT_EQ(type_of<Derived>().fields.size(), type_of<Every>().fields.size());
  EXPECT_TRUE(type_of<Item>().reserved.empty());
}

TEST(Schema, recursive_message_points_back_at_itself) {
  const Type& tree = type_of<Tree>();
  ASSERT_EQ(tree.fields.size(), 3U);
  const Type* children = field(tree, "children").type;
  ASSERT_EQ(children->kind, Kind::array);
  EXPECT_EQ(children->element, &tree);
  EXPECT_EQ(field(tree, "named").type->element, &tree);
}

TEST(Schema, mutually_recursive_messages_share_their_nodes) {
  // Built from the inside out: the vector first, then the messages it reaches.
  const Type& pings = type_of<std::vector<Ping>>();
  const Type& ping = type_of<Ping>();
  const Type& pong = type_of<Pong>();
  EXPECT_EQ(pings.element, &ping);
  const Type* pongs = field(ping, "pongs").type;
  ASSERT_EQ(pongs->kind, Kind::optional);
  EXPECT_EQ(pongs->element->element, &pong);
  EXPECT_EQ(field(pong, "pings").type, &pings);
  EXPECT_EQ(ping.fields.size(), 1U);
  EXPECT_EQ(pong.fields.size(), 1U);
}

TEST(Schema, names_are_qualified_whichever_compiler_built_them) {
  EXPECT_EQ(type_of<Item>().name, "schema_test::Item");
  EXPECT_EQ(type_of<Page<Item>>().name, "schema_test::Page<schema_test::Item>");
  EXPECT_EQ(type_of<Hidden>().name, "(anonymous)::Hidden");
}

TEST(Schema, threads_building_models_that_share_a_message_fill_it_once) {
  using PagesByName = std::vector<std::map<std::string, Page<Item>>>;
  using MaybePage = std::optional<Page<Item>>;
  // Types no other test touched, so that the first use races here (TSan checks it).
  struct Ids {
    const Type* a = nullptr;
    const Type* b = nullptr;
  };
  std::vector<Ids> seen(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&seen, i] {
      if (i % 2 == 0) {
        seen[i].a = &type_of<PagesByName>();
        seen[i].b = &type_of<MaybePage>();
      } else {
        seen[i].b = &type_of<MaybePage>();
        seen[i].a = &type_of<PagesByName>();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const Ids& ids : seen) {
    EXPECT_EQ(ids.a->element->element, ids.b->element);
    EXPECT_EQ(ids.b->element->fields.size(), 1U);
  }
}

TEST(Schema, contract_operations_reach_their_request_and_reply_models) {
  const pit::ContractInfo& info = pit::detail::declaration_of<Shop>::info();
  const pit::OperationInfo* place = info.find("place");
  const pit::OperationInfo* tree = info.find("tree");
  ASSERT_NE(place, nullptr);
  ASSERT_NE(tree, nullptr);
  EXPECT_EQ(&place->hooks.request_type(), &type_of<Every>());
  EXPECT_EQ(&place->hooks.reply_type(), &type_of<Placed>());
  EXPECT_EQ(&tree->hooks.request_type(), &type_of<Item>());
  EXPECT_EQ(&tree->hooks.reply_type(), &type_of<Tree>());
}

}  // namespace
