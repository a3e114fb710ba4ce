// The codec's rules for contract evolution (docs/contracts-json.md "Evolution"): an enum may
// name a fallback for names it does not know, a struct may reserve the names of retired
// fields, and what a newer or older peer sends decodes.
#include <gtest/gtest.h>

#include <boost/describe.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pit/fault.hpp"
#include "pit/json.hpp"

namespace pit_evolution_test {

// v1 of an enum a newer peer extends: names it does not know decode to `unknown`.
enum class Colour { unknown, red, green };
BOOST_DESCRIBE_ENUM(Colour, unknown, red, green)
PIT_ENUM_FALLBACK(Colour, unknown)

// An enum without a fallback: unknown names stay invalid_argument.
enum class Size { small, large };
BOOST_DESCRIBE_ENUM(Size, small, large)

// An unscoped enum works the same way.
enum Shade { shade_unknown, shade_dark };
BOOST_DESCRIBE_ENUM(Shade, shade_unknown, shade_dark)
PIT_ENUM_FALLBACK(Shade, shade_unknown)

struct Part {
  std::string sku;
  Colour colour = Colour::red;
  Size size = Size::small;
};
BOOST_DESCRIBE_STRUCT(Part, (), (sku, colour, size))

struct Kit {
  std::vector<Part> parts;
  std::vector<Colour> palette;
  std::map<std::string, Colour> by_name;
  std::optional<Colour> accent;
  Shade shade = shade_dark;
};
BOOST_DESCRIBE_STRUCT(Kit, (), (parts, palette, by_name, accent, shade))

// A struct that retired two fields.
struct Profile {
  std::string name;
  std::int64_t id = 0;
};
BOOST_DESCRIBE_STRUCT(Profile, (), (name, id))
PIT_RESERVED(Profile, "nickname", "age")

// A derived struct does not inherit its base's reserved list as its own.
struct Employee : Profile {
  std::string team;
};
BOOST_DESCRIBE_STRUCT(Employee, (Profile), (team))
PIT_RESERVED(Employee, "desk")

struct Plain {
  int n = 0;
};
BOOST_DESCRIBE_STRUCT(Plain, (), (n))

// Members of every kind, to see what null does to each.
struct Settings {
  std::string name = "default";
  std::int32_t retries = 3;
  double ratio = 0.5;
  bool verbose = true;
  Colour colour = Colour::green;
  Part part{"P", Colour::red, Size::large};
  std::vector<int> steps{1, 2};
  std::map<std::string, int> limits{{"a", 1}};
  std::optional<std::string> comment = "kept unless null";
};
BOOST_DESCRIBE_STRUCT(Settings, (), (name, retries, ratio, verbose, colour, part, steps, limits, comment))

struct Line {
  std::string sku;
  std::int64_t amount = 0;
};
BOOST_DESCRIBE_STRUCT(Line, (), (sku, amount))
PIT_REQUIRED(Line, sku)

struct Ids {
  std::int64_t id = 0;
  std::uint64_t serial = 0;
  std::int32_t small = 0;
  std::uint32_t usmall = 0;
  long long wide = 0;
  std::vector<std::int64_t> many;
  std::map<std::string, std::uint64_t> by_name;
  std::optional<std::int64_t> maybe;
  std::vector<Line> lines;
};
BOOST_DESCRIBE_STRUCT(Ids, (), (id, serial, small, usmall, wide, many, by_name, maybe, lines))

}  // namespace pit_evolution_test

namespace {

using namespace pit_evolution_test;
using pit::Fault;

template <class T>
Fault rejection(std::string_view text) {
  try {
    (void)pit::json::decode<T>(text);
  } catch (const Fault& fault) {
    return fault;
  }
  throw std::runtime_error("decode accepted: " + std::string{text.substr(0, 80)});
}

void expect_bad_request(const Fault& fault, std::string_view expected_message) {
  EXPECT_EQ(fault.code(), pit::Code::invalid_argument);
  EXPECT_EQ(fault.origin(), Fault::Origin::runtime);
  EXPECT_EQ(fault.message(), expected_message);
}

// --- enum fallback ----------------------------------------------------------------------------

TEST(JsonEvolution, UnknownEnumNameDecodesToTheFallback) {
  const Part part = pit::json::decode<Part>(R"({"sku":"A","colour":"ultraviolet"})");
  EXPECT_EQ(part.colour, Colour::unknown);
  EXPECT_EQ(pit::json::decode<Part>(R"({"colour":"green"})").colour, Colour::green);  // known names as before
}

TEST(JsonEvolution, EnumFallbackAppliesInVectorsMapsOptionalsAndNestedElements) {
  const Kit kit = pit::json::decode<Kit>(
      R"({"parts":[{"colour":"red"},{"colour":"blue"}],"palette":["green","infrared",""],)"
      R"("by_name":{"sky":"azure","leaf":"green"},"accent":"gold","shade":"pale"})");
  ASSERT_EQ(kit.parts.size(), 2U);
  EXPECT_EQ(kit.parts[0].colour, Colour::red);
  EXPECT_EQ(kit.parts[1].colour, Colour::unknown);
  EXPECT_EQ(kit.palette, (std::vector<Colour>{Colour::green, Colour::unknown, Colour::unknown}));
  EXPECT_EQ(kit.by_name.at("sky"), Colour::unknown);
  EXPECT_EQ(kit.by_name.at("leaf"), Colour::green);
  EXPECT_EQ(kit.accent, Colour::unknown);
  EXPECT_EQ(kit.shade, shade_unknown);
}

TEST(JsonEvolution, EnumFallbackStillRefusesWhatIsNotAString) {
  expect_bad_request(rejection<Part>(R"({"colour":1})"), "field 'colour': expected a string, got an integer");
  expect_bad_request(rejection<Kit>(R"({"parts":[{},{"colour":["red"]}]})"),
                     "field 'parts[1].colour': expected a string, got an array");
}

TEST(JsonEvolution, EnumWithoutFallbackStillRefusesUnknownNames) {
  expect_bad_request(rejection<Part>(R"({"colour":"blue","size":"huge"})"),
                     R"(field 'size': unknown name, expected one of "small", "large")");
}

TEST(JsonEvolution, EnumFallbackIsVisibleToOtherTools) {
  static_assert(pit::json::enum_fallback<Colour>() == Colour::unknown);
  static_assert(pit::json::enum_fallback<Shade>() == shade_unknown);
  static_assert(!pit::json::enum_fallback<Size>().has_value());
  EXPECT_EQ(pit::json::enum_fallback<Colour>(), Colour::unknown);
}

TEST(JsonEvolution, EncodingAnEnumWithAFallbackIsUnchanged) {
  EXPECT_EQ(pit::json::encode(Part{"A", Colour::unknown, Size::large}),
            R"({"sku":"A","colour":"unknown","size":"large"})");
}

// --- reserved names ---------------------------------------------------------------------------

TEST(JsonEvolution, ReservedNamesAreIgnoredLikeUnknownFields) {
  const Profile p = pit::json::decode<Profile>(R"({"name":"ann","nickname":"a","age":{"x":[1]},"id":7})");
  EXPECT_EQ(p.name, "ann");
  EXPECT_EQ(p.id, 7);
  EXPECT_EQ(pit::json::encode(p), R"({"name":"ann","id":7})");
}

TEST(JsonEvolution, ReservedNamesAreVisibleToOtherToolsPerStruct) {
  constexpr auto profile = pit::json::reserved_names<Profile>();
  static_assert(profile.size() == 2 && profile[0] == "nickname" && profile[1] == "age");
  constexpr auto employee = pit::json::reserved_names<Employee>();
  static_assert(employee.size() == 1 && employee[0] == "desk");  // its own, not the base's
  static_assert(pit::json::reserved_names<Plain>().empty());
  EXPECT_EQ(pit::json::reserved_names<Profile>()[1], "age");
}

// --- null means absent ------------------------------------------------------------------------

TEST(JsonEvolution, NullForAPlainMemberKeepsItsDefault) {
  const Settings s = pit::json::decode<Settings>(
      R"({"name":null,"retries":null,"ratio":null,"verbose":null,"colour":null,"part":null,)"
      R"("steps":null,"limits":null})");
  const Settings defaults;
  EXPECT_EQ(s.name, defaults.name);
  EXPECT_EQ(s.retries, defaults.retries);
  EXPECT_EQ(s.ratio, defaults.ratio);
  EXPECT_EQ(s.verbose, defaults.verbose);
  EXPECT_EQ(s.colour, defaults.colour);
  EXPECT_EQ(s.part.sku, "P");
  EXPECT_EQ(s.part.size, Size::large);
  EXPECT_EQ(s.steps, defaults.steps);
  EXPECT_EQ(s.limits, defaults.limits);
  EXPECT_EQ(s.comment, defaults.comment);  // absent: kept
}

TEST(JsonEvolution, NullForAPlainMemberKeepsTheValueDecodeIntoStartedWith) {
  Settings s;
  s.name = "mine";
  s.retries = 9;
  pit::json::decode_into(R"({"name":null,"retries":null,"ratio":2})", s);
  EXPECT_EQ(s.name, "mine");
  EXPECT_EQ(s.retries, 9);
  EXPECT_EQ(s.ratio, 2.0);
}

TEST(JsonEvolution, NullForAnOptionalMemberStillEmptiesIt) {
  EXPECT_FALSE(pit::json::decode<Settings>(R"({"comment":null})").comment.has_value());
  Settings s;
  pit::json::decode_into(R"({"comment":null})", s);
  EXPECT_FALSE(s.comment.has_value());
}

TEST(JsonEvolution, NullForARequiredMemberIsStillRefusedWithItsPath) {
  expect_bad_request(rejection<Ids>(R"({"lines":[{"sku":"a"},{"sku":null}]})"),
                     "field 'lines[1].sku': required, but null");
  expect_bad_request(rejection<Line>(R"({"sku":null})"), "field 'sku': required, but null");
}

TEST(JsonEvolution, NullIsAbsentOnlyForMembersNotForElementsOrTheRoot) {
  expect_bad_request(rejection<Ids>(R"({"many":[1,null]})"), "field 'many[1]': expected an integer, got null");
  expect_bad_request(rejection<Ids>(R"({"by_name":{"x":null}})"),
                     "field 'by_name.x': expected an integer, got null");
  expect_bad_request(rejection<Ids>("null"), "field '(root)': expected an object, got null");
}

// --- 64-bit integers as decimal strings ------------------------------------------------------

TEST(JsonEvolution, SixtyFourBitIntegersAcceptCanonicalDecimalStrings) {
  const Ids ids = pit::json::decode<Ids>(
      R"({"id":"-9223372036854775808","serial":"18446744073709551615","wide":"9007199254740993",)"
      R"("many":["0","-5",7,"9223372036854775807"],"by_name":{"a":"42"},"maybe":"-1",)"
      R"("lines":[{"sku":"s","amount":"9007199254740993"}]})");
  EXPECT_EQ(ids.id, std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(ids.serial, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(ids.wide, 9007199254740993LL);  // 2^53 + 1: a double cannot hold it
  EXPECT_EQ(ids.many, (std::vector<std::int64_t>{0, -5, 7, std::numeric_limits<std::int64_t>::max()}));
  EXPECT_EQ(ids.by_name.at("a"), 42U);
  EXPECT_EQ(ids.maybe, -1);
  ASSERT_EQ(ids.lines.size(), 1U);
  EXPECT_EQ(ids.lines[0].amount, 9007199254740993LL);
}

TEST(JsonEvolution, SixtyFourBitIntegersAreStillEncodedAsNumbers) {
  Ids ids;
  ids.id = 9007199254740993LL;
  ids.serial = 18446744073709551615ULL;
  EXPECT_EQ(pit::json::encode(ids),
            R"({"id":9007199254740993,"serial":18446744073709551615,"small":0,"usmall":0,"wide":0,)"
            R"("many":[],"by_name":{},"lines":[]})");
}

TEST(JsonEvolution, DecimalStringOutOfRangeIsInvalidArgumentWithThePath) {
  expect_bad_request(rejection<Ids>(R"({"id":"9223372036854775808"})"),
                     "field 'id': 9223372036854775808 is out of range for int64");
  expect_bad_request(rejection<Ids>(R"({"id":"-9223372036854775809"})"),
                     "field 'id': -9223372036854775809 is out of range for int64");
  expect_bad_request(rejection<Ids>(R"({"lines":[{"sku":"a"},{"sku":"b","amount":"99999999999999999999"}]})"),
                     "field 'lines[1].amount': 99999999999999999999 is out of range for int64");
  expect_bad_request(rejection<Ids>(R"({"serial":"18446744073709551616"})"),
                     "field 'serial': 18446744073709551616 is out of range for uint64");
  expect_bad_request(rejection<Ids>(R"({"serial":"-1"})"), "field 'serial': -1 is out of range for uint64");
  expect_bad_request(rejection<Ids>(R"({"many":["1","1234567890123456789012"]})"),
                     "field 'many[1]': a decimal string of 22 characters is out of range for int64");
}

TEST(JsonEvolution, LongDecimalStringIsNotEchoed) {
  const std::string digits(100000, '7');
  const Fault fault = rejection<Ids>(R"({"serial":")" + digits + R"("})");
  expect_bad_request(fault, "field 'serial': a decimal string of 100000 characters is out of range for uint64");
}

TEST(JsonEvolution, NonCanonicalDecimalStringsAreRefused) {
  for (const char* text : {"01", "-0", "00", "+5", "1e3", "1E3", "1.0", "1.", ".5", " 1", "1 ", "", "-", "--1",
                           "0x10", "1_000", "1,000", R"(\t1)", R"(1\n)", "١", "１", "Infinity", "NaN", "null",
                           "true", "9223372036854775807 "}) {
    expect_bad_request(rejection<Ids>(std::string{R"({"id":")"} + text + R"("})"),
                       "field 'id': expected an integer, got a string that is not a decimal integer");
  }
  // An escape is read before the rule applies: "\u0031" is the string "1".
  EXPECT_EQ(pit::json::decode<Ids>(R"({"id":"\u0031"})").id, 1);
  expect_bad_request(rejection<Ids>(R"({"lines":[{"sku":"a","amount":"0012"}]})"),
                     "field 'lines[0].amount': expected an integer, got a string that is not a decimal integer");
}

TEST(JsonEvolution, NarrowerIntegersStillRefuseStrings) {
  expect_bad_request(rejection<Ids>(R"({"small":"5"})"), "field 'small': expected an integer, got a string");
  expect_bad_request(rejection<Ids>(R"({"usmall":"5"})"), "field 'usmall': expected an integer, got a string");
}

// --- counting unknown fields --------------------------------------------------------------------

std::size_t unknown_fields_of(std::string_view text) {
  Kit kit;
  pit::json::DecodeStats stats;
  pit::json::decode_into(text, kit, {}, stats);
  return stats.unknown_fields;
}

TEST(JsonEvolution, DecodeCountsFieldsThatMatchNoMemberAtAnyDepth) {
  EXPECT_EQ(unknown_fields_of(R"({"parts":[{"sku":"a"}]})"), 0U);
  EXPECT_EQ(unknown_fields_of(R"({"new":1})"), 1U);
  // Two at the root, one in each of two parts; the members inside an unknown object are not
  // looked into (its key is the one unknown field).
  EXPECT_EQ(unknown_fields_of(R"({"a":{"x":1,"y":2},"parts":[{"w":1},{"sku":"b","v":[1]}],"b":null})"), 4U);
}

TEST(JsonEvolution, KnownMembersSentAsNullAndMapKeysAreNotUnknown) {
  EXPECT_EQ(unknown_fields_of(R"({"parts":null,"accent":null,"by_name":{"anything":"red","else":"blue"}})"), 0U);
}

TEST(JsonEvolution, ReservedNamesCountAsUnknownFields) {
  Profile p;
  pit::json::DecodeStats stats;
  pit::json::decode_into(R"({"name":"x","nickname":"old","age":3})", p, {}, stats);
  EXPECT_EQ(stats.unknown_fields, 2U);
}

TEST(JsonEvolution, DecodeStatsAddUpAcrossDecodes) {
  pit::json::DecodeStats stats;
  Plain p;
  pit::json::decode_into(R"({"n":1,"x":1})", p, {}, stats);
  pit::json::decode_into(R"({"n":2,"y":1,"z":2})", p, {}, stats);
  EXPECT_EQ(stats.unknown_fields, 3U);
  EXPECT_EQ(p.n, 2);
}

}  // namespace
