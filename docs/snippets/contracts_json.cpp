// The snippet of docs/contracts-json.md: messages described once, decoded strictly and
// tolerantly, encoded back.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pit/fault.hpp"
#include "pit/json.hpp"

// [example]
namespace shop::v1 {

enum class Size { small, large };
BOOST_DESCRIBE_ENUM(Size, small, large)

struct Line {
  std::string sku;
  int quantity = 1;
  Size size = Size::small;
};
BOOST_DESCRIBE_STRUCT(Line, (), (sku, quantity, size))

struct PlaceOrder {
  std::vector<Line> lines;
  std::optional<std::string> coupon;
  std::map<std::string, std::string> labels;
};
BOOST_DESCRIBE_STRUCT(PlaceOrder, (), (lines, coupon, labels))

}  // namespace shop::v1

std::string reencode(std::string_view body) {
  // Throws pit::Fault (invalid_argument) if the body is not a PlaceOrder.
  const auto order = pit::json::decode<shop::v1::PlaceOrder>(body);
  return pit::json::encode(order);
}
// reencode(R"({"lines":[{"sku":"A-1","size":"large"}],"labels":{"channel":"web"},"extra":1})")
//   == R"({"lines":[{"sku":"A-1","quantity":1,"size":"large"}],"labels":{"channel":"web"}})"
// quantity was missing: it keeps its default; "extra" is unknown: ignored; coupon is empty: omitted.
// [/example]

// [required]
namespace shop::v1 {

struct GetOrder {
  std::int64_t id = 0;
  std::optional<std::string> fields;
};
BOOST_DESCRIBE_STRUCT(GetOrder, (), (id, fields))
PIT_REQUIRED(GetOrder, id)

}  // namespace shop::v1
// pit::json::decode<shop::v1::GetOrder>("{}") throws pit::Fault invalid_argument:
//   "field 'id': required, but missing"   (and {"id":null}: "field 'id': required, but null")
// [/required]

// [evolution]
namespace shop::v1 {

enum class Channel { unknown, web, store };
BOOST_DESCRIBE_ENUM(Channel, unknown, web, store)
PIT_ENUM_FALLBACK(Channel, unknown)  // a newer peer's "phone" reads as unknown

struct Customer {
  std::int64_t id = 0;
  std::string name = "anonymous";
  Channel channel = Channel::web;
};
BOOST_DESCRIBE_STRUCT(Customer, (), (id, name, channel))
PIT_RESERVED(Customer, "nickname")  // removed; no member may take the name again

}  // namespace shop::v1

std::size_t unknown_fields_in(std::string_view body, shop::v1::Customer& out) {
  pit::json::DecodeStats stats;  // what pit_unknown_fields_total counts per operation
  pit::json::decode_into(body, out, {}, stats);
  return stats.unknown_fields;
}
// unknown_fields_in(R"({"id":"9007199254740993","name":null,"channel":"phone","nickname":"x","since":2019})", c)
//   == 2 ("nickname" and "since", both ignored), and c holds id 9007199254740993 (a decimal string
//   is accepted for 64-bit integers), name "anonymous" (null: absent), channel Channel::unknown.
// [/evolution]

namespace {

TEST(ContractsJsonGuide, evolution_rules_work_as_documented) {
  shop::v1::Customer c;
  EXPECT_EQ(unknown_fields_in(
                R"({"id":"9007199254740993","name":null,"channel":"phone","nickname":"x","since":2019})", c),
            2U);
  EXPECT_EQ(c.id, 9007199254740993LL);
  EXPECT_EQ(c.name, "anonymous");
  EXPECT_EQ(c.channel, shop::v1::Channel::unknown);
  EXPECT_EQ(pit::json::encode(c), R"({"id":9007199254740993,"name":"anonymous","channel":"unknown"})");
}

TEST(ContractsJsonGuide, required_member_missing_or_null_is_an_invalid_argument_naming_it) {
  for (const auto& [body, message] : {std::pair{"{}", "field 'id': required, but missing"},
                                      std::pair{R"({"id":null})", "field 'id': required, but null"}}) {
    try {
      (void)pit::json::decode<shop::v1::GetOrder>(body);
      FAIL() << "accepted " << body;
    } catch (const pit::Fault& fault) {
      EXPECT_EQ(fault.code(), pit::Code::invalid_argument);
      EXPECT_EQ(fault.message(), message);
    }
  }
  EXPECT_EQ(pit::json::decode<shop::v1::GetOrder>(R"({"id":7})").id, 7);
}

TEST(ContractsJsonGuide, example_works_as_documented) {
  EXPECT_EQ(reencode(R"({"lines":[{"sku":"A-1","size":"large"}],"labels":{"channel":"web"},"extra":1})"),
            R"({"lines":[{"sku":"A-1","quantity":1,"size":"large"}],"labels":{"channel":"web"}})");
}

TEST(ContractsJsonGuide, bad_field_is_an_invalid_argument_naming_its_path) {
  try {
    (void)reencode(R"({"lines":[{"quantity":"2"}]})");
    FAIL() << "accepted";
  } catch (const pit::Fault& fault) {
    EXPECT_EQ(fault.code(), pit::Code::invalid_argument);
    EXPECT_EQ(fault.message(), "field 'lines[0].quantity': expected an integer, got a string");
  }
}

}  // namespace
