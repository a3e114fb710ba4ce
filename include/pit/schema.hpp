// pit::schema — what a contract's messages look like, as data: the one model that the
// OpenAPI document (docs/openapi.md) and the compatibility lock (docs/evolution.md) are
// both derived from, so the two can never disagree about a field.
//
// The model is built once per type from its Boost.Describe description (the same walk the
// JSON codec does, include/pit/json.hpp), and reached through an operation's hooks
// (OperationHooks::request_type / reply_type). Nodes live as long as the program: the
// builder keeps each in a function-local static, so pointers between them stay valid.
#pragma once

#include <climits>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "pit/json.hpp"

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

// The model of a message or member type T (defined below by the builder). The same T
// always gives the same node, and an element or field type is the node type_of gives
// for it: `type_of<std::vector<X>>().element == &type_of<X>()`. Safe from any thread.
template <class T>
const Type& type_of();

namespace detail {

// Held while nodes are filled (src/contract/schema_builder.cpp): models built at once by
// two threads may share a nested message, and each node is filled exactly once.
class BuildLock {
 public:
  BuildLock();
  ~BuildLock();
  BuildLock(const BuildLock&) = delete;
  BuildLock& operator=(const BuildLock&) = delete;
};

// The type's qualified name, out of the function signature below (GCC:
// "... [with T = ns::Name]", clang: "... [T = ns::Name]"); anonymous namespaces are
// written "(anonymous)" whichever compiler built it, so that the lock file written by one
// is read the same by another.
std::string name_from_signature(std::string_view signature);

template <class T>
const char* signature_of() {
  return __PRETTY_FUNCTION__;
}

template <class T>
std::string qualified_name() {
  return name_from_signature(signature_of<T>());
}

template <class T>
const Type* node_of();

template <class T>
void fill(Type& t) {
  namespace jd = ::pit::json::detail;
  if constexpr (std::is_same_v<T, bool>) {
    t.kind = Kind::boolean;
  } else if constexpr (std::is_integral_v<T>) {
    t.kind = Kind::integer;
    t.is_signed = std::is_signed_v<T>;
    t.bits = static_cast<int>(sizeof(T) * CHAR_BIT);
    t.min = static_cast<std::int64_t>(std::numeric_limits<T>::min());
    t.max = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  } else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
    t.kind = Kind::number;
    t.bits = static_cast<int>(sizeof(T) * CHAR_BIT);
  } else if constexpr (std::is_same_v<T, std::string>) {
    t.kind = Kind::string;
  } else if constexpr (jd::DescribedEnum<T>) {
    t.kind = Kind::enumeration;
    t.name = qualified_name<T>();
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>(
        [&](auto e) { t.enumerators.emplace_back(e.name); });
    if (const std::optional<T> fallback = ::pit::json::enum_fallback<T>()) {
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto e) {
        if (!t.fallback && *fallback == e.value) t.fallback = std::string_view{e.name};
      });
    }
  } else if constexpr (jd::is_optional<T>::value || jd::is_vector<T>::value) {
    t.kind = jd::is_optional<T>::value ? Kind::optional : Kind::array;
    t.element = node_of<typename T::value_type>();
  } else if constexpr (jd::is_string_map<T>::value) {
    t.kind = Kind::map;
    t.element = node_of<typename T::mapped_type>();
  } else if constexpr (jd::DescribedStruct<T>) {
    static_assert(jd::required_members_are_described<T>(),
                  "PIT_REQUIRED names a member that BOOST_DESCRIBE_STRUCT does not list (or that is not public)");
    t.kind = Kind::message;
    t.name = qualified_name<T>();
    const T defaults{};
    // The codec's order: base classes' members first, then the struct's own.
    boost::mp11::mp_for_each<jd::public_members<T>>([&](auto member) {
      using M = std::remove_cvref_t<decltype(defaults.*member.pointer)>;
      Field field;
      field.name = member.name;
      field.type = node_of<M>();
      field.required = jd::is_required_member<decltype(member)>();
      field.default_json = ::pit::json::encode(defaults.*member.pointer);
      t.fields.push_back(std::move(field));
    });
    for (const std::string_view name : ::pit::json::reserved_names<T>()) t.reserved.push_back(name);
  } else {
    static_assert(jd::always_false<T>,
                  "pit::schema: unsupported type; use what pit::json encodes: bool, integers, "
                  "float, double, std::string, std::vector, std::optional, "
                  "std::map<std::string, T>, or a described struct or enum");
  }
}

// The node of T, filled on first use; called only while a BuildLock is held. A message
// that contains itself (through a vector, an optional or a map) reaches its own node
// while it is being filled: `started` makes that a pointer to the node under
// construction, not an endless recursion.
template <class T>
const Type* node_of() {
  static Type node;
  static bool started = false;
  if (!started) {
    started = true;
    try {
      fill<T>(node);
    } catch (...) {
      // A default that cannot be encoded: leave nothing half-built behind for a retry.
      node = Type{};
      started = false;
      throw;
    }
  }
  return &node;
}

}  // namespace detail

template <class T>
const Type& type_of() {
  static const Type* const built = [] {
    const detail::BuildLock lock;
    return detail::node_of<std::remove_cv_t<T>>();
  }();
  return *built;
}

}  // namespace pit::schema
