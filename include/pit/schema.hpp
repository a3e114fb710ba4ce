// pit::schema — what a contract's messages look like, as data: the one model that the
// OpenAPI document (docs/openapi.md) and the compatibility lock (docs/evolution.md) are
// both derived from, so the two can never disagree about a field.
//
// The model is built once per type from its Boost.Describe description (the same walk the
// JSON codec does, include/pit/json.hpp), and reached through an operation's hooks
// (OperationHooks::request_type / reply_type). Nodes live as long as the program: the
// builder keeps each in a function-local static, so pointers between them stay valid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pit::schema {

enum class Kind : std::uint8_t {
  boolean,
  integer,      // any C++ integer type but bool: bounds in Type::min / Type::max
  number,       // float or double: Type::bits is 32 or 64
  string,       // std::string
  enumeration,  // a described enum, written as its enumerator names
  optional,     // std::optional<element>: absent or null on the wire
  array,        // std::vector<element>
  map,          // std::map<std::string, element>: a JSON object with any keys
  message,      // a described struct
};

struct Type;

struct Field {
  std::string_view name;       // the JSON name (today: the member's name)
  const Type* type = nullptr;
  // PIT_REQUIRED: absent or null is refused on decode. Otherwise an absent field keeps
  // its default (below) when decoded.
  bool required = false;
  // The member's value in a default-constructed message, as compact JSON ("0", "\"\"",
  // "[]", "null" for an empty optional): what a decoder fills in when the field is absent.
  std::string default_json;
};

struct Type {
  Kind kind = Kind::message;
  // message and enumeration: the C++ type's qualified name ("shop::v1::PlaceOrder"), used
  // for component names; empty for the other kinds.
  std::string name;
  // integer: signedness, width and the exact bounds (as the decoder enforces them).
  bool is_signed = false;
  int bits = 0;  // integer: 8..64; number: 32 or 64
  std::int64_t min = 0;
  std::uint64_t max = 0;
  // enumeration: the names in declaration order, and the one unknown names decode to,
  // if the enum declares a fallback (otherwise an unknown name is invalid_argument).
  std::vector<std::string_view> enumerators;
  std::optional<std::string_view> fallback;
  // optional, array, map: the element type.
  const Type* element = nullptr;
  // message: its fields in declaration order (base classes' first), and names retired
  // from it that no new field may take (PIT_RESERVED).
  std::vector<Field> fields;
  std::vector<std::string_view> reserved;
};

// The model of a message or member type T (defined below by the builder).
template <class T>
const Type& type_of();

}  // namespace pit::schema
