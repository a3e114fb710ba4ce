// Messages made from their models (pit/schema.hpp), for the conformance kit's input
// checks: random valid messages, each with the value the codec must give back for it,
// the comparison of what it gave back, and values of the wrong JSON type. Seeded: the
// same seed and model give the same messages, so a failure can be replayed.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "pit/schema.hpp"

namespace pit::testing::detail {

// One generated message: the text sent to the codec, and the value it must write back
// (the canonical form: absent fields hold their defaults, a 64-bit integer sent as a
// decimal string is a number, a member sent as null is absent).
struct GeneratedMessage {
  std::string text;
  boost::json::value sent;
  boost::json::value expected;
};

class MessageGenerator {
 public:
  explicit MessageGenerator(std::uint64_t seed) : engine_(seed) {}
  // A valid message of `type` (a message model): every kind at its edges — integers at
  // their bounds, floats and doubles that are exact in their type, unicode strings with
  // escapes and non-BMP characters, every enumerator, optionals absent, null or present,
  // arrays and maps of up to a few elements, nested and recursive messages (bounded).
  [[nodiscard]] GeneratedMessage message(const schema::Type& type);

 private:
  struct Pair {
    std::optional<boost::json::value> sent;  // nullopt: the member is left out
    boost::json::value expected;
  };
  Pair value(const schema::Type& type, int depth);
  Pair field(const schema::Field& field, int depth);
  boost::json::value integer(const schema::Type& type);
  double number(const schema::Type& type);
  std::string text();
  std::string write(const boost::json::value& value);
  void write(const boost::json::value& value, std::string& out);
  void write_string(std::string_view s, std::string& out);
  bool coin(unsigned one_in) { return std::uniform_int_distribution<unsigned>(1, one_in)(engine_) == 1; }
  std::mt19937_64 engine_;
};

// The first place where `got` (what the codec wrote) differs from `expected`, read as
// values of `type`: numbers by value (a float field as a float), members sent null or
// absent alike where the model allows it. `path` is the field path in the codec's form
// ("lines[1].size", labels["a b"]); nullopt when they are equal.
struct Difference {
  std::string path;
  schema::Kind kind = schema::Kind::message;  // of the value that differs
  std::string expected;  // compact JSON, or "(absent)"
  std::string got;
};
[[nodiscard]] std::optional<Difference> compare(const schema::Type& type, const boost::json::value& expected,
                                                const boost::json::value& got);

// A value of a JSON type the codec refuses for `type` (an optional: for its element):
// a string for a number, a number for a string, a string for an array, ...
[[nodiscard]] boost::json::value wrong_type(const schema::Type& type);
// What that value is, for messages: "a string", "a number", ...
[[nodiscard]] std::string_view describe_json(const boost::json::value& value);

// boost::json::parse, but every double read correctly rounded (Boost.JSON 1.81 is not).
[[nodiscard]] boost::json::value parse_exact(std::string_view text, boost::system::error_code& ec);

// The name of a member as the codec's field paths write it after the parent's path:
// ".name" for a plain identifier up to 32 bytes, else ["key"].
[[nodiscard]] std::string path_step(std::string_view name);

}  // namespace pit::testing::detail
