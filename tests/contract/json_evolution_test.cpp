// The codec's rules for contract evolution (docs/contracts-json.md "Evolution"): an enum may
// name a fallback for names it does not know, a struct may reserve the names of retired
// fields, and what a newer or older peer sends decodes.
#include <gtest/gtest.h>

#include <boost/describe.hpp>

#include <cstdint>
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

}  // namespace
