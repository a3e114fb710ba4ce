// The JSON codec of contract messages: strict about JSON, tolerant about messages, and
// every failure a pit::Fault that names the field.
#include "pit/json.hpp"

#include <gtest/gtest.h>

#include <boost/describe.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pit/fault.hpp"

namespace pit_json_test {

enum class Status { pending, shipped, cancelled };
BOOST_DESCRIBE_ENUM(Status, pending, shipped, cancelled)

struct Item {
  std::string sku;
  std::int32_t quantity = 1;
  double price = 0;
};
BOOST_DESCRIBE_STRUCT(Item, (), (sku, quantity, price))

struct Order {
  std::string id;
  std::vector<Item> items;
  std::optional<std::string> note;
  std::map<std::string, std::string> labels;
  Status status = Status::pending;
  bool gift = false;
};
BOOST_DESCRIBE_STRUCT(Order, (), (id, items, note, labels, status, gift))

struct Numbers {
  std::int8_t i8 = 0;
  std::uint8_t u8 = 0;
  std::int16_t i16 = 0;
  std::uint16_t u16 = 0;
  std::int32_t i32 = 0;
  std::uint32_t u32 = 0;
  std::int64_t i64 = 0;
  std::uint64_t u64 = 0;
  float f = 0;
  double d = 0;
};
BOOST_DESCRIBE_STRUCT(Numbers, (), (i8, u8, i16, u16, i32, u32, i64, u64, f, d))

struct Shapes {
  std::vector<std::vector<int>> matrix;
  std::vector<bool> flags;
  std::map<std::string, Item> by_sku;
  std::map<std::string, int> counts;
  std::optional<int> maybe;
  std::vector<std::optional<int>> holes;
};
BOOST_DESCRIBE_STRUCT(Shapes, (), (matrix, flags, by_sku, counts, maybe, holes))

struct Bulk {
  std::vector<std::string> values;
};
BOOST_DESCRIBE_STRUCT(Bulk, (), (values))

// Base members are part of the message too.
struct Envelope {
  std::string trace;
};
BOOST_DESCRIBE_STRUCT(Envelope, (), (trace))
struct Tagged : Envelope {
  int tag = 0;
};
BOOST_DESCRIBE_STRUCT(Tagged, (Envelope), (tag))

// Required members (PIT_REQUIRED): a body without them, or with null, is refused.
struct GetOrder {
  std::int64_t id = 0;
  std::optional<std::string> note;
};
BOOST_DESCRIBE_STRUCT(GetOrder, (), (id, note))
PIT_REQUIRED(GetOrder, id)

struct BasketLine {
  std::string sku;
  std::int32_t quantity = 1;
};
BOOST_DESCRIBE_STRUCT(BasketLine, (), (sku, quantity))
PIT_REQUIRED(BasketLine, sku)

struct Basket {
  std::string owner;
  std::vector<BasketLine> lines;
  std::optional<BasketLine> gift;
  std::map<std::string, BasketLine> by_name;
  std::vector<std::vector<BasketLine>> shelves;
};
BOOST_DESCRIBE_STRUCT(Basket, (), (owner, lines, gift, by_name, shelves))
PIT_REQUIRED(Basket, owner, lines)

// A base's required members stay required in the derived message, which declares its own.
struct Audited {
  std::string trace;
  std::string actor;
};
BOOST_DESCRIBE_STRUCT(Audited, (), (trace, actor))
PIT_REQUIRED(Audited, trace);  // a trailing semicolon is allowed
struct AuditedGet : Audited {
  std::int64_t id = 0;
  std::int64_t version = 0;
};
BOOST_DESCRIBE_STRUCT(AuditedGet, (Audited), (id, version))
PIT_REQUIRED(AuditedGet, id)
struct AuditedPing : Audited {};
BOOST_DESCRIBE_STRUCT(AuditedPing, (Audited), ())

}  // namespace pit_json_test

namespace {

using namespace pit_json_test;
using pit::Fault;
using pit::json::Limits;

// The fault decode<T>(text) throws; fails the test if it accepts the text.
template <class T = Order>
Fault rejection(std::string_view text, const Limits& limits = {}) {
  try {
    (void)pit::json::decode<T>(text, limits);
  } catch (const Fault& fault) {
    return fault;
  }
  throw std::runtime_error("decode accepted: " + std::string{text.substr(0, 80)});
}

// The runtime's decode faults: invalid_argument, raised by the runtime, and the message
// says where.
void expect_bad_request(const Fault& fault, std::string_view expected_message) {
  EXPECT_EQ(fault.code(), pit::Code::invalid_argument);
  EXPECT_EQ(fault.origin(), Fault::Origin::runtime);
  EXPECT_EQ(fault.message(), expected_message);
}

void expect_bad_request_containing(const Fault& fault, std::string_view part) {
  EXPECT_EQ(fault.code(), pit::Code::invalid_argument);
  EXPECT_EQ(fault.origin(), Fault::Origin::runtime);
  EXPECT_NE(fault.message().find(part), std::string::npos) << fault.message();
}

template <class T>
Fault encode_failure(const T& message) {
  try {
    (void)pit::json::encode(message);
  } catch (const Fault& fault) {
    return fault;
  }
  throw std::runtime_error("encode accepted the message");
}

std::string escaped(std::string_view s) {
  std::string out;
  pit::json::append_escaped(out, s);
  return out;
}

Order sample_order() {
  Order order;
  order.id = "o-1";
  order.items = {{"A-1", 2, 9.5}, {"B-\"2\"\n", 1, 0.1}};
  order.note = "leave at the door \xE2\x9C\x93";
  order.labels = {{"channel", "web"}, {"a b", "x"}};
  order.status = Status::shipped;
  order.gift = true;
  return order;
}

// --- round trips and the tolerant reader --------------------------------------------------

TEST(Json, NestedMessageRoundTrips) {
  const Order order = sample_order();
  const Order back = pit::json::decode<Order>(pit::json::encode(order));
  EXPECT_EQ(back.id, order.id);
  ASSERT_EQ(back.items.size(), 2U);
  EXPECT_EQ(back.items[1].sku, order.items[1].sku);
  EXPECT_EQ(back.items[0].quantity, 2);
  EXPECT_EQ(back.items[0].price, 9.5);
  EXPECT_EQ(back.items[1].price, 0.1);
  EXPECT_EQ(back.note, order.note);
  EXPECT_EQ(back.labels, order.labels);
  EXPECT_EQ(back.status, Status::shipped);
  EXPECT_TRUE(back.gift);
}

TEST(Json, EncodeIsCompactAndOmitsEmptyOptionalMembers) {
  Order order;
  order.id = "o-2";
  order.items = {{"A", 3, 1.25}};
  EXPECT_EQ(pit::json::encode(order),
            R"({"id":"o-2","items":[{"sku":"A","quantity":3,"price":1.25}],"labels":{},"status":"pending","gift":false})");
}

TEST(Json, EveryNumericTypeRoundTripsAtItsLimits) {
  Numbers n;
  n.i8 = -128;
  n.u8 = 255;
  n.i16 = -32768;
  n.u16 = 65535;
  n.i32 = std::numeric_limits<std::int32_t>::min();
  n.u32 = std::numeric_limits<std::uint32_t>::max();
  n.i64 = std::numeric_limits<std::int64_t>::min();
  n.u64 = std::numeric_limits<std::uint64_t>::max();
  n.f = 0.1F;
  n.d = 1e300;
  const std::string text = pit::json::encode(n);
  EXPECT_NE(text.find("\"f\":0.1,"), std::string::npos) << text;  // shortest text for a float
  const Numbers back = pit::json::decode<Numbers>(text);
  EXPECT_EQ(back.i8, n.i8);
  EXPECT_EQ(back.u8, n.u8);
  EXPECT_EQ(back.i16, n.i16);
  EXPECT_EQ(back.u16, n.u16);
  EXPECT_EQ(back.i32, n.i32);
  EXPECT_EQ(back.u32, n.u32);
  EXPECT_EQ(back.i64, n.i64);
  EXPECT_EQ(back.u64, n.u64);
  EXPECT_EQ(back.f, n.f);
  EXPECT_EQ(back.d, n.d);
}

TEST(Json, DoublesDecodeCorrectlyRoundedEvenNearTheEndsOfTheRange) {
  // Boost.JSON 1.81 alone decoded this as -1.7973862697246311e308 (a fuzz finding:
  // tests/fuzz/regressions/json_decode_fuzz/).
  for (const double d : {-1.7973862697246313e308, 1.7976931348623157e308, 2.2250738585072014e-308,
                         4.9406564584124654e-324, 0.1, 123456.789e-300}) {
    Numbers n;
    n.d = d;
    const std::string text = pit::json::encode(n);
    EXPECT_EQ(pit::json::decode<Numbers>(text).d, d) << text;
    EXPECT_EQ(pit::json::encode(pit::json::decode<Numbers>(text)), text);
  }
  EXPECT_EQ(pit::json::decode<Numbers>(R"({"d":-1.7973862697246313e+308})").d, -1.7973862697246313e308);
  EXPECT_EQ(pit::json::decode<Numbers>(R"({"d":1e-400})").d, 0.0) << "underflow is zero, as before";
  EXPECT_THROW((void)pit::json::decode<Numbers>(R"({"d":1.8e308})"), pit::Fault) << "overflow is refused";
}

// A fuzz finding (tests/fuzz/regressions/json_decode_fuzz/negative_zero_double_keeps_its_sign):
// -0.0 encodes as "-0", which was read as the integer 0, so a double field lost its sign.
TEST(Json, NegativeZeroKeepsItsSignInFloatingFieldsAndIsZeroForIntegers) {
  for (const char* zero : {"-0", "-0.0", "-0e5", "-0.000e-400", "-1e-400"}) {
    const std::string text = std::string{R"({"d":)"} + zero + R"(,"f":)" + zero + "}";
    const Numbers n = pit::json::decode<Numbers>(text);
    EXPECT_EQ(n.d, 0.0) << text;
    EXPECT_TRUE(std::signbit(n.d)) << text;
    EXPECT_TRUE(std::signbit(n.f)) << text;
  }
  Numbers n;
  n.d = -0.0;
  n.f = -0.0F;
  const std::string text = pit::json::encode(n);
  EXPECT_NE(text.find(R"("f":-0,"d":-0})"), std::string::npos) << text;
  EXPECT_EQ(pit::json::encode(pit::json::decode<Numbers>(text)), text);
  EXPECT_FALSE(std::signbit(pit::json::decode<Numbers>(R"({"d":0,"f":0.0})").d));
  const Numbers ints = pit::json::decode<Numbers>(R"({"i8":-0,"u8":-0,"i64":-0.0,"u64":-0e3})");
  EXPECT_EQ(ints.i8, 0);
  EXPECT_EQ(ints.u8, 0U);
  EXPECT_EQ(ints.i64, 0);
  EXPECT_EQ(ints.u64, 0U);
}

TEST(Json, ContainersOptionalsAndMapsRoundTrip) {
  Shapes s;
  s.matrix = {{1, 2}, {}, {3}};
  s.flags = {true, false, true};
  s.by_sku = {{"A", {"A", 2, 1.5}}};
  s.counts = {{"x", 1}};
  s.maybe = 7;
  s.holes = {1, std::nullopt, 3};
  const std::string text = pit::json::encode(s);
  EXPECT_NE(text.find(R"("holes":[1,null,3])"), std::string::npos) << text;
  const Shapes back = pit::json::decode<Shapes>(text);
  EXPECT_EQ(back.matrix, s.matrix);
  EXPECT_EQ(back.flags, s.flags);
  EXPECT_EQ(back.by_sku.at("A").quantity, 2);
  EXPECT_EQ(back.counts, s.counts);
  EXPECT_EQ(back.maybe, 7);
  EXPECT_EQ(back.holes, s.holes);
}

TEST(Json, InheritedMembersAreEncodedAndDecoded) {
  Tagged t;
  t.trace = "t1";
  t.tag = 4;
  EXPECT_EQ(pit::json::encode(t), R"({"trace":"t1","tag":4})");
  const Tagged back = pit::json::decode<Tagged>(R"({"tag":5,"trace":"t2"})");
  EXPECT_EQ(back.trace, "t2");
  EXPECT_EQ(back.tag, 5);
}

TEST(Json, UnknownFieldsAreIgnored) {
  const Order order = pit::json::decode<Order>(
      R"({"id":"o","future":{"deep":[1,{"x":null}]},"items":[{"sku":"A","colour":"red"}],"v2":true})");
  EXPECT_EQ(order.id, "o");
  ASSERT_EQ(order.items.size(), 1U);
  EXPECT_EQ(order.items[0].sku, "A");
}

TEST(Json, MissingFieldsKeepTheirDefaults) {
  const Order order = pit::json::decode<Order>(R"({"items":[{}]})");
  EXPECT_EQ(order.id, "");
  EXPECT_EQ(order.status, Status::pending);
  EXPECT_FALSE(order.note.has_value());
  ASSERT_EQ(order.items.size(), 1U);
  EXPECT_EQ(order.items[0].quantity, 1);  // the member initializer, not zero
}

TEST(Json, DecodeIntoKeepsMembersAbsentFromTheText) {
  Order order = sample_order();
  pit::json::decode_into(R"({"id":"o-9","items":[]})", order);
  EXPECT_EQ(order.id, "o-9");
  EXPECT_TRUE(order.items.empty());  // present: replaced
  EXPECT_EQ(order.status, Status::shipped);  // absent: kept
}

TEST(Json, NullOrMissingOptionalIsEmpty) {
  EXPECT_FALSE(pit::json::decode<Order>(R"({"note":null})").note.has_value());
  EXPECT_FALSE(pit::json::decode<Order>(R"({})").note.has_value());
  EXPECT_EQ(pit::json::decode<Order>(R"({"note":"hi"})").note, "hi");
}

TEST(Json, EnumIsItsName) {
  EXPECT_EQ(pit::json::decode<Order>(R"({"status":"cancelled"})").status, Status::cancelled);
}

TEST(Json, DoubleFieldAcceptsIntegers) {
  const Numbers n = pit::json::decode<Numbers>(R"({"d":3,"f":-2})");
  EXPECT_EQ(n.d, 3.0);
  EXPECT_EQ(n.f, -2.0F);
}

TEST(Json, ExactIntegerWrittenWithFractionOrExponentIsAnInteger) {
  const Numbers n = pit::json::decode<Numbers>(
      R"({"i32":2.0,"u32":3e1,"u64":1.8e19,"i64":-9.223372036854775808e18,"i8":-0.0,"i16":12.500e1})");
  EXPECT_EQ(n.i32, 2);
  EXPECT_EQ(n.u32, 30U);
  EXPECT_EQ(n.u64, 18000000000000000000ULL);
  EXPECT_EQ(n.i64, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(n.i8, 0);
  EXPECT_EQ(n.i16, 125);
}

TEST(Json, TrailingWhitespaceIsAccepted) {
  EXPECT_EQ(pit::json::decode<Order>(" \t\r\n{\"id\":\"x\"} \r\n\t ").id, "x");
}

// --- type errors ----------------------------------------------------------------------------

TEST(Json, TypeErrorNamesTheNestedPath) {
  expect_bad_request(rejection(R"({"items":[{},{},{"quantity":"3"}]})"),
                     "field 'items[2].quantity': expected an integer, got a string");
}

TEST(Json, TypeErrorAtTopLevelNamesTheField) {
  expect_bad_request(rejection(R"({"id":5})"), "field 'id': expected a string, got an integer");
  expect_bad_request(rejection(R"({"items":{}})"), "field 'items': expected an array, got an object");
  expect_bad_request(rejection(R"({"gift":"yes"})"), "field 'gift': expected a boolean, got a string");
  expect_bad_request(rejection(R"({"labels":[]})"), "field 'labels': expected an object, got an array");
  expect_bad_request(rejection(R"({"items":[{"price":"1"}]})"),
                     "field 'items[0].price': expected a number, got a string");
}

// A null member is an absent one (json_evolution_test has the rule); a null array element
// has no member's default to fall back on.
TEST(Json, NullArrayElementOfANonOptionalTypeIsTypeError) {
  expect_bad_request(rejection(R"({"items":[null]})"), "field 'items[0]': expected an object, got null");
  expect_bad_request(rejection<Shapes>(R"({"counts":{"a":null}})"), "field 'counts.a': expected an integer, got null");
}

TEST(Json, RootThatIsNotAnObjectIsInvalidArgument) {
  expect_bad_request(rejection("[]"), "field '(root)': expected an object, got an array");
  expect_bad_request(rejection("1"), "field '(root)': expected an object, got an integer");
  expect_bad_request(rejection("null"), "field '(root)': expected an object, got null");
  expect_bad_request(rejection(R"("x")"), "field '(root)': expected an object, got a string");
}

TEST(Json, MapEntryPathUsesDotForIdentifiersAndBracketsOtherwise) {
  expect_bad_request(rejection<Shapes>(R"({"counts":{"ok":1,"bad":"x"}})"),
                     "field 'counts.bad': expected an integer, got a string");
  expect_bad_request(rejection<Shapes>(R"({"counts":{"a \"b\"\n":"x"}})"),
                     R"(field 'counts["a \"b\"\u000a"]': expected an integer, got a string)");
  expect_bad_request(rejection<Shapes>(R"({"by_sku":{"A-1":{"quantity":true}}})"),
                     R"(field 'by_sku["A-1"].quantity': expected an integer, got a boolean)");
}

TEST(Json, LongKeyIsCutInThePath) {
  const std::string key(5000, 'k');
  const Fault fault = rejection<Shapes>(R"({"counts":{")" + key + R"(":"x"}})");
  expect_bad_request(fault, "field 'counts[\"" + std::string(32, 'k') +
                                "...\"]': expected an integer, got a string");
}

TEST(Json, MessagesNeverEchoLongInput) {
  const std::string big(10000, 'z');
  for (const std::string& text : {R"({"id":")" + big + R"(x)", R"({"gift":")" + big + R"("})",
                                  R"({"status":")" + big + R"("})", big, "{\"" + big + "\":1,\"" + big + "\":2}"}) {
    const Fault fault = rejection(text);
    EXPECT_LT(fault.message().size(), 200U) << fault.message().substr(0, 300);
    EXPECT_EQ(fault.message().find("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), std::string::npos);
  }
}

TEST(Json, UnknownEnumNameIsInvalidArgumentWithoutEchoingIt) {
  const Fault fault = rejection(R"({"status":"<script>"})");
  expect_bad_request(fault,
                     R"(field 'status': unknown name, expected one of "pending", "shipped", "cancelled")");
  expect_bad_request(rejection(R"({"status":1})"), "field 'status': expected a string, got an integer");
}

// --- integers and numbers -------------------------------------------------------------------

TEST(Json, IntegerOutOfRangeIsInvalidArgument) {
  expect_bad_request(rejection(R"({"items":[{"quantity":3000000000}]})"),
                     "field 'items[0].quantity': 3000000000 is out of range for int32");
  expect_bad_request(rejection<Numbers>(R"({"i8":128})"), "field 'i8': 128 is out of range for int8");
  expect_bad_request(rejection<Numbers>(R"({"i8":-129})"), "field 'i8': -129 is out of range for int8");
  expect_bad_request(rejection<Numbers>(R"({"u8":256})"), "field 'u8': 256 is out of range for uint8");
  expect_bad_request(rejection<Numbers>(R"({"i16":32768})"), "field 'i16': 32768 is out of range for int16");
  expect_bad_request(rejection<Numbers>(R"({"u16":65536})"), "field 'u16': 65536 is out of range for uint16");
  expect_bad_request(rejection<Numbers>(R"({"u32":4294967296})"),
                     "field 'u32': 4294967296 is out of range for uint32");
  expect_bad_request(rejection<Numbers>(R"({"i64":9223372036854775808})"),
                     "field 'i64': 9223372036854775808 is out of range for int64");
  expect_bad_request(rejection<Numbers>(R"({"u64":18446744073709551616})"),
                     "field 'u64': 1.8446744073709552e+19 is out of range for uint64");
  expect_bad_request(rejection<Numbers>(R"({"i64":-9223372036854775809})"),
                     "field 'i64': -9.223372036854776e+18 is out of range for int64");
  expect_bad_request(rejection<Numbers>(R"({"i32":1e30})"), "field 'i32': 1e+30 is out of range for int32");
}

TEST(Json, NegativeIntoUnsignedIsOutOfRange) {
  expect_bad_request(rejection<Numbers>(R"({"u64":-1})"), "field 'u64': -1 is out of range for uint64");
  expect_bad_request(rejection<Numbers>(R"({"u8":-1})"), "field 'u8': -1 is out of range for uint8");
}

TEST(Json, NumberWithFractionForIntegerIsTypeError) {
  expect_bad_request(rejection<Numbers>(R"({"i32":1.5})"),
                     "field 'i32': expected an integer, got a number with a fraction");
  // Rounds to exactly 1.0 as a double, but is not an integer.
  expect_bad_request(rejection<Numbers>(R"({"i32":1.00000000000000000001})"),
                     "field 'i32': expected an integer, got a number with a fraction");
  expect_bad_request(rejection<Numbers>(R"({"u64":1e-5})"),
                     "field 'u64': expected an integer, got a number with a fraction");
}

TEST(Json, NumberOverflowingDoubleIsInvalidArgument) {
  expect_bad_request(rejection(R"({"items":[{"price":1e999}]})"), "field 'items[0].price': 1e999 is out of range");
  expect_bad_request(rejection(R"({"items":[{"price":-1e999}]})"),
                     "field 'items[0].price': -1e999 is out of range");
  // Also in a field the message does not know: the document cannot be represented.
  expect_bad_request(rejection(R"({"other":[1,2,1e400]})"), "field 'other[2]': 1e400 is out of range");
  expect_bad_request(rejection(R"({"id":")" + std::string(3, 'x') + R"(","n":)" + std::string(400, '9') + "}"),
                     "field 'n': number is out of range");
}

TEST(Json, ExponentBeyondIntIsInvalidArgument) {
  expect_bad_request_containing(rejection(R"({"d":1e2147483648})"), "request body is not valid JSON: ");
}

TEST(Json, NumberOverflowingFloatIsInvalidArgument) {
  expect_bad_request(rejection<Numbers>(R"({"f":1e300})"), "field 'f': 1e+300 is out of range for float");
}

// A float is in range when the number rounds to a finite float: up to, not including, the
// midpoint between FLT_MAX and 2^128 (the tie rounds to even, 2^128: infinity).
TEST(Json, FloatRangeEndsAtTheMidpointAboveFltMax) {
  const auto text_of = [](double d) {
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, d);
    return std::string{buffer, result.ptr};
  };
  constexpr double midpoint = 0x1p128 - 0x1p103;
  const double below = std::nextafter(midpoint, 0.0);
  constexpr float flt_max = std::numeric_limits<float>::max();
  for (const double sign : {1.0, -1.0}) {
    for (const double d : {static_cast<double>(flt_max), below}) {
      const std::string text = R"({"f":)" + text_of(sign * d) + "}";
      EXPECT_EQ(pit::json::decode<Numbers>(text).f, static_cast<float>(sign) * flt_max) << text;
    }
    const std::string at_midpoint = text_of(sign * midpoint);
    expect_bad_request(rejection<Numbers>(R"({"f":)" + at_midpoint + "}"),
                       "field 'f': " + at_midpoint + " is out of range for float");
    const std::string above = text_of(sign * std::nextafter(midpoint, HUGE_VAL));
    expect_bad_request(rejection<Numbers>(R"({"f":)" + above + "}"),
                       "field 'f': " + above + " is out of range for float");
  }
  EXPECT_EQ(text_of(-midpoint), "-3.4028235677973366e+38");
}

// The fuzz finding of tests/fuzz/regressions/json_decode_fuzz/float_max_survives_a_round_trip:
// FLT_MAX written with fewer digits decoded, but its own encoding did not.
TEST(Json, FltMaxSurvivesEncodeAndDecode) {
  for (const float f : {std::numeric_limits<float>::max(), -std::numeric_limits<float>::max()}) {
    Numbers n;
    n.f = f;
    const std::string text = pit::json::encode(n);
    EXPECT_NE(text.find(f > 0 ? R"("f":3.4028235e+38,)" : R"("f":-3.4028235e+38,)"), std::string::npos) << text;
    EXPECT_EQ(pit::json::decode<Numbers>(text).f, f) << text;
    EXPECT_EQ(pit::json::encode(pit::json::decode<Numbers>(text)), text);
  }
  EXPECT_EQ(pit::json::decode<Numbers>(R"({"f":3.4028234e38})").f, std::numeric_limits<float>::max());
}

// --- required members --------------------------------------------------------------------

TEST(Json, MissingRequiredFieldIsInvalidArgumentNamingIt) {
  expect_bad_request(rejection<GetOrder>("{}"), "field 'id': required, but missing");
  expect_bad_request(rejection<GetOrder>(R"({"note":"x","other":1})"), "field 'id': required, but missing");
}

TEST(Json, NullRequiredFieldIsInvalidArgumentNamingIt) {
  expect_bad_request(rejection<GetOrder>(R"({"id":null})"), "field 'id': required, but null");
}

TEST(Json, PresentRequiredFieldDecodesAndOptionalOnesMayBeMissing) {
  const GetOrder get = pit::json::decode<GetOrder>(R"({"id":0})");
  EXPECT_EQ(get.id, 0);
  EXPECT_FALSE(get.note.has_value());
  EXPECT_EQ(pit::json::decode<GetOrder>(R"({"id":42,"unknown":null})").id, 42);
  // The value is still checked as usual once present.
  expect_bad_request(rejection<GetOrder>(R"({"id":true})"), "field 'id': expected an integer, got a boolean");
}

TEST(Json, RequiredFieldIsCheckedByDecodeIntoToo) {
  GetOrder target;
  target.id = 7;
  try {
    pit::json::decode_into(R"({"note":"n"})", target);
    FAIL() << "accepted";
  } catch (const Fault& fault) {
    expect_bad_request(fault, "field 'id': required, but missing");
  }
}

TEST(Json, RequiredFieldsOfNestedStructsAreCheckedWithTheirPath) {
  expect_bad_request(rejection<Basket>(R"({"lines":[]})"), "field 'owner': required, but missing");
  expect_bad_request(rejection<Basket>(R"({"owner":"o"})"), "field 'lines': required, but missing");
  expect_bad_request(rejection<Basket>(R"({"owner":"o","lines":null})"), "field 'lines': required, but null");
  expect_bad_request(rejection<Basket>(R"({"owner":"o","lines":[{"sku":"a"},{"quantity":2}]})"),
                     "field 'lines[1].sku': required, but missing");
  expect_bad_request(rejection<Basket>(R"({"owner":"o","lines":[],"gift":{}})"),
                     "field 'gift.sku': required, but missing");
  expect_bad_request(rejection<Basket>(R"({"owner":"o","lines":[],"by_name":{"a b":{"sku":null}}})"),
                     R"(field 'by_name["a b"].sku': required, but null)");
  expect_bad_request(rejection<Basket>(R"({"owner":"o","lines":[],"shelves":[[],[{"sku":"a"},{}]]})"),
                     "field 'shelves[1][1].sku': required, but missing");
}

TEST(Json, RequiredFieldsPresentEverywhereDecode) {
  const Basket basket = pit::json::decode<Basket>(
      R"({"owner":"o","lines":[],"by_name":{"k":{"sku":"b"}},"shelves":[[{"sku":"c","quantity":3}]]})");
  EXPECT_EQ(basket.owner, "o");
  EXPECT_TRUE(basket.lines.empty());  // an empty array is present
  EXPECT_FALSE(basket.gift.has_value());  // an optional struct may be missing: its members are not checked
  EXPECT_EQ(basket.by_name.at("k").sku, "b");
  EXPECT_EQ(basket.shelves.at(0).at(0).quantity, 3);
}

TEST(Json, RequiredMembersOfABaseStayRequiredInDerivedMessages) {
  expect_bad_request(rejection<AuditedGet>(R"({"id":1})"), "field 'trace': required, but missing");
  expect_bad_request(rejection<AuditedGet>(R"({"trace":"t"})"), "field 'id': required, but missing");
  expect_bad_request(rejection<AuditedPing>(R"({"actor":"a"})"), "field 'trace': required, but missing");
  const AuditedGet get = pit::json::decode<AuditedGet>(R"({"trace":"t","id":1})");
  EXPECT_EQ(get.trace, "t");
  EXPECT_EQ(get.id, 1);
  EXPECT_EQ(get.actor, "");
  EXPECT_EQ(get.version, 0);
}

TEST(Json, RequiredFieldsAreEncodedLikeAnyOtherMember) {
  EXPECT_EQ(pit::json::encode(GetOrder{}), R"({"id":0})");
  const std::string text = pit::json::encode(Basket{});
  EXPECT_EQ(text, R"({"owner":"","lines":[],"by_name":{},"shelves":[]})");
  EXPECT_EQ(pit::json::encode(pit::json::decode<Basket>(text)), text);
}

TEST(Json, NaNAndInfinityLiteralsAreRejected) {
  for (const char* text : {R"({"d":NaN})", R"({"d":Infinity})", R"({"d":-Infinity})", R"({"d":nan})"}) {
    expect_bad_request_containing(rejection<Numbers>(text), "request body is not valid JSON: syntax error at offset");
  }
}

// --- strict JSON ----------------------------------------------------------------------------

TEST(Json, EmptyBodyIsInvalidArgument) { expect_bad_request(rejection(""), "request body is empty"); }

TEST(Json, WhitespaceOnlyBodyIsInvalidArgument) {
  expect_bad_request(rejection("  \n"), "request body is not valid JSON: unexpected end of input at offset 3");
}

TEST(Json, TruncatedBodyIsInvalidArgument) {
  expect_bad_request(rejection(R"({"id":"abc)"),
                     "request body is not valid JSON: unexpected end of input at offset 10");
}

TEST(Json, TrailingGarbageIsInvalidArgument) {
  expect_bad_request(rejection("{} x"), "request body is not valid JSON: unexpected data after the value at offset 3");
  expect_bad_request(rejection("{}{}"), "request body is not valid JSON: unexpected data after the value at offset 2");
  expect_bad_request(rejection(std::string{"{}\0", 3}),
                     "request body is not valid JSON: unexpected data after the value at offset 2");
}

TEST(Json, CommentsAreRejected) {
  expect_bad_request_containing(rejection("{} // c"), "request body is not valid JSON");
  expect_bad_request_containing(rejection("{/* c */}"), "request body is not valid JSON: syntax error at offset 1");
}

TEST(Json, TrailingCommaIsRejected) {
  expect_bad_request_containing(rejection(R"({"items":[{},]})"), "request body is not valid JSON: syntax error");
  expect_bad_request_containing(rejection(R"({"id":"x",})"), "request body is not valid JSON: syntax error");
}

TEST(Json, InvalidUtf8IsRejected) {
  for (const char* text : {"{\"id\":\"\xff\"}", "{\"id\":\"\xc0\xaf\"}" /* overlong */,
                           "{\"id\":\"\xed\xa0\x80\"}" /* encoded surrogate */, "{\"id\":\"\xe2\x82\"}" /* cut */,
                           "{\"\xff\":1}" /* in a key */}) {
    expect_bad_request_containing(rejection(text), "request body is not valid JSON: invalid UTF-8 at offset");
  }
}

TEST(Json, UnpairedSurrogateEscapeIsRejected) {
  expect_bad_request_containing(rejection(R"({"id":"\udc00"})"), "request body is not valid JSON: ");
  expect_bad_request_containing(rejection(R"({"id":"\ud800"})"), "request body is not valid JSON: ");
  EXPECT_EQ(pit::json::decode<Order>(R"({"id":"\ud83d\ude00"})").id, "\xF0\x9F\x98\x80");
}

TEST(Json, UnescapedControlCharacterInStringIsRejected) {
  expect_bad_request(rejection("{\"id\":\"a\nb\"}"),
                     "request body is not valid JSON: unescaped control character at offset 8");
}

TEST(Json, DuplicateKeyIsInvalidArgument) {
  expect_bad_request(rejection(R"({"id":"a","id":"b"})"), "field 'id': duplicate key");
  expect_bad_request(rejection(R"({"items":[{},{"sku":"a","quantity":1,"sku":"b"}]})"),
                     "field 'items[1].sku': duplicate key");
  // Even in a field the message ignores: which value would a proxy have seen?
  expect_bad_request(rejection(R"({"x":{"y":{"":1,"":2}}})"), R"(field 'x.y[""]': duplicate key)");
}

TEST(Json, DuplicateKeyInLargeObjectIsInvalidArgument) {
  std::string text = R"({"labels":{)";
  for (int i = 0; i < 1000; ++i) text += "\"k" + std::to_string(i) + "\":\"v\",";
  text += R"("k500":"again"}})";
  expect_bad_request(rejection(text), "field 'labels.k500': duplicate key");
}

TEST(Json, SameKeyInDifferentObjectsIsNotADuplicate) {
  const Order order = pit::json::decode<Order>(R"({"items":[{"sku":"a"},{"sku":"b"}],"x":{"sku":1},"sku":2})");
  ASSERT_EQ(order.items.size(), 2U);
  EXPECT_EQ(order.items[1].sku, "b");
}

// --- limits ---------------------------------------------------------------------------------

TEST(Json, NestingPastMaxDepthIsInvalidArgument) {
  std::string text = R"({"x":)";
  for (int i = 0; i < 70; ++i) text += "[";
  expect_bad_request_containing(rejection(text), "request body nests deeper than the limit of 64 at offset ");
  Limits shallow;
  shallow.max_depth = 2;
  expect_bad_request(rejection(R"({"items":[{}]})", shallow),
                     "request body nests deeper than the limit of 2 at offset 10");
  EXPECT_NO_THROW((void)pit::json::decode<Order>(R"({"items":[]})", shallow));
}

TEST(Json, NestingOf100000IsRejectedWithoutCrashing) {
  const std::string arrays(100000, '[');
  expect_bad_request(rejection(arrays), "request body nests deeper than the limit of 64 at offset 64");
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += R"({"a":)";
  expect_bad_request_containing(rejection(objects), "request body nests deeper than the limit of 64");
  Limits huge;
  huge.max_depth = 1'000'000;  // capped: the parser recurses per level
  expect_bad_request(rejection(arrays, huge), "request body nests deeper than the limit of 1024 at offset 1024");
}

TEST(Json, StringLongerThanLimitIsInvalidArgument) {
  Limits limits;
  limits.max_string_bytes = 8;
  EXPECT_EQ(pit::json::decode<Order>(R"({"id":"12345678"})", limits).id, "12345678");
  expect_bad_request(rejection(R"({"items":[{"sku":"123456789"}]})", limits),
                     "field 'items[0].sku': string is longer than the limit of 8 bytes");
  // Counted after unescaping: 9 escapes of 1 byte each.
  expect_bad_request(rejection(R"({"id":"\n\n\n\n\n\n\n\n\n"})", limits),
                     "field 'id': string is longer than the limit of 8 bytes");
  expect_bad_request(rejection(R"({"items":[{"123456789":1}]})", limits),
                     "field 'items[0]': key is longer than the limit of 8 bytes");
}

TEST(Json, MoreValuesThanLimitIsInvalidArgument) {
  Limits limits;
  limits.max_elements = 5;
  // root object, items array, 2 objects, 1 string: 5 values.
  EXPECT_NO_THROW((void)pit::json::decode<Order>(R"({"items":[{},{"sku":"a"}]})", limits));
  expect_bad_request(rejection(R"({"items":[{},{},{},{}]})", limits),
                     "request body has more than the limit of 5 values at offset 19");
}

TEST(Json, LargeDocumentWithManyElementsDecodes) {
  std::string text = R"({"values":[)";
  constexpr int kCount = 100000;
  for (int i = 0; i < kCount; ++i) {
    if (i > 0) text += ',';
    text += "\"value-" + std::to_string(i % 1000) + "\"";
  }
  text += "]}";
  ASSERT_GT(text.size(), 1'000'000U);
  const Bulk bulk = pit::json::decode<Bulk>(text);
  ASSERT_EQ(bulk.values.size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(bulk.values[99999], "value-999");
}

// --- encode errors --------------------------------------------------------------------------

TEST(Json, NonFiniteNumberIsAnEncodeError) {
  Order order;
  order.items = {{"A", 1, 1.0}, {"B", 1, std::nan("")}};
  const Fault fault = encode_failure(order);
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_EQ(fault.origin(), Fault::Origin::runtime);
  EXPECT_EQ(fault.message(), "reply could not be encoded");
  EXPECT_EQ(fault.cause(), "field 'items[1].price': number is not finite");

  Numbers n;
  n.f = std::numeric_limits<float>::infinity();
  EXPECT_EQ(encode_failure(n).cause(), "field 'f': number is not finite");
}

TEST(Json, InvalidUtf8StringIsAnEncodeError) {
  Order order;
  order.labels = {{"ok", "\xff"}};
  const Fault fault = encode_failure(order);
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_EQ(fault.message(), "reply could not be encoded");
  EXPECT_EQ(fault.cause(), "field 'labels.ok': string is not valid UTF-8");

  Order bad_key;
  bad_key.labels = {{"\xc3", "v"}};
  EXPECT_EQ(encode_failure(bad_key).cause(), R"(field 'labels["\ufffd"]': key is not valid UTF-8)");
}

TEST(Json, EnumValueWithoutNameIsAnEncodeError) {
  Order order;
  order.status = static_cast<Status>(42);
  const Fault fault = encode_failure(order);
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_EQ(fault.cause(), "field 'status': enum value has no name");
}

// --- escaping and the writer ----------------------------------------------------------------

TEST(Json, AppendEscapedEscapesQuotesBackslashAndLineBreaks) {
  EXPECT_EQ(escaped("a\"b\\c"), R"(a\"b\\c)");
  EXPECT_EQ(escaped("line1\r\nline2"), R"(line1\u000d\u000aline2)");
  EXPECT_EQ(escaped("fake\n{\"level\":\"error\"}"), R"(fake\u000a{\"level\":\"error\"})");
}

TEST(Json, AppendEscapedEscapesEveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\u%04x", c);
    EXPECT_EQ(escaped(std::string(1, static_cast<char>(c))), hex) << c;
  }
  EXPECT_EQ(escaped("\x7f"), R"(\u007f)");
  EXPECT_EQ(escaped("\xC2\x85"), R"(\u0085)");        // NEL
  EXPECT_EQ(escaped("\xE2\x80\xA8"), R"(\u2028)");    // line separator
  EXPECT_EQ(escaped("\xE2\x80\xA9"), R"(\u2029)");    // paragraph separator
}

TEST(Json, AppendEscapedKeepsValidUtf8) {
  EXPECT_EQ(escaped("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 /"), "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80 /");
}

TEST(Json, AppendEscapedReplacesInvalidUtf8) {
  EXPECT_EQ(escaped("a\xff" "b"), R"(a\ufffdb)");
  EXPECT_EQ(escaped("\xc0\xaf"), R"(\ufffd\ufffd)");               // overlong: C0 is never a lead byte
  EXPECT_EQ(escaped("\xed\xa0\x80"), R"(\ufffd\ufffd\ufffd)");     // surrogate
  EXPECT_EQ(escaped("\xe2\x82" "x"), R"(\ufffdx)");                // truncated: one maximal subpart
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), R"(\ufffd\ufffd\ufffd\ufffd)");  // above U+10FFFF
  EXPECT_EQ(escaped("end\xe2"), R"(end\ufffd)");
}

TEST(Json, AppendEscapedOutputIsOneLineOfPrintableText) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string out = escaped(all + all);
  for (const char c : out) {
    const auto b = static_cast<unsigned char>(c);
    EXPECT_TRUE(b >= 0x20 && b != 0x7f) << static_cast<int>(b);
  }
  // Whatever the input, the escaped text is a valid JSON string body.
  EXPECT_NO_THROW((void)pit::json::decode<Order>("{\"id\":\"" + out + "\"}"));
}

// A limited writer: output of exactly the limit is whole; one byte more throws, and the
// string never takes in a value that cannot fit.
TEST(Json, WriterWithALimitAcceptsOutputUpToItAndStopsPastIt) {
  Order order;
  order.id = "o-1";
  order.items = {{"apple", 2, 0.5}, {"pear", 1, 1.25}};
  const std::string whole = pit::json::encode(order);

  std::string exact;
  pit::json::Writer at_limit{exact, whole.size()};
  pit::json::encode(at_limit, order);
  EXPECT_EQ(exact, whole);

  std::string cut;
  pit::json::Writer below{cut, whole.size() - 1};
  try {
    pit::json::encode(below, order);
    ADD_FAILURE() << "one byte over the limit was written";
  } catch (const pit::json::OutputTooLarge& e) {
    EXPECT_EQ(e.limit(), whole.size() - 1);
    EXPECT_EQ(e.at_least(), whole.size()) << "the last byte ('}') is what passed it";
  }
}

TEST(Json, WriterWithALimitRefusesAHugeStringWithoutCopyingIt) {
  Order order;
  order.id = std::string(8U << 20U, 'x');  // 8 MiB
  std::string out;
  pit::json::Writer w{out, 1024};
  try {
    pit::json::encode(w, order);
    ADD_FAILURE() << "an 8 MiB string passed a 1 KiB limit";
  } catch (const pit::json::OutputTooLarge& e) {
    EXPECT_GT(e.at_least(), 8U << 20U);
    EXPECT_EQ(e.limit(), 1024U);
  }
  EXPECT_LE(out.size(), 1024U) << "bounded memory: nothing past the limit was appended";
  EXPECT_LT(out.capacity(), 64U * 1024U);
}

TEST(Json, WriterSeparatesValuesItself) {
  std::string out;
  pit::json::Writer w{out};
  w.begin_object();
  w.key("a");
  w.begin_array();
  w.value(1);
  w.value(std::int64_t{-2});
  w.value(std::uint64_t{3});
  w.value(true);
  w.null();
  w.value("s");
  w.value(0.5);
  w.begin_object();
  w.end_object();
  w.begin_array();
  w.end_array();
  w.end_array();
  w.key("b");
  w.value(std::string_view{"x\ny"});
  w.end_object();
  EXPECT_EQ(out, R"({"a":[1,-2,3,true,null,"s",0.5,{},[]],"b":"x\u000ay"})");
}

// --- docs/contracts-json.md -----------------------------------------------------------------
// The snippet in the docs, verbatim.

}  // namespace

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

namespace {

std::string reencode(std::string_view body) {
  // Throws pit::Fault (invalid_argument) if the body is not a PlaceOrder.
  const auto order = pit::json::decode<shop::v1::PlaceOrder>(body);
  return pit::json::encode(order);
}

TEST(Json, DocsExampleWorksAsDocumented) {
  EXPECT_EQ(reencode(R"({"lines":[{"sku":"A-1","size":"large"}],"labels":{"channel":"web"},"extra":1})"),
            R"({"lines":[{"sku":"A-1","quantity":1,"size":"large"}],"labels":{"channel":"web"}})");
  try {
    (void)reencode(R"({"lines":[{"quantity":"2"}]})");
    FAIL() << "accepted";
  } catch (const pit::Fault& fault) {
    EXPECT_EQ(fault.code(), pit::Code::invalid_argument);
    EXPECT_EQ(fault.message(), "field 'lines[0].quantity': expected an integer, got a string");
  }
}

}  // namespace
