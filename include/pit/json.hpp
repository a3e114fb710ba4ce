// pit::json — the JSON codec of contract messages.
//
// Messages are plain structs described once with Boost.Describe:
//
//   struct PlaceOrder { std::string sku; int quantity = 1; };
//   BOOST_DESCRIBE_STRUCT(PlaceOrder, (), (sku, quantity))
//
//   std::string body = pit::json::encode(PlaceOrder{"A-1", 2});   // {"sku":"A-1","quantity":2}
//   auto req = pit::json::decode<PlaceOrder>(body);                // throws pit::Fault
//
// Decoding is strict about the JSON and tolerant about the message: the text must be
// RFC 8259 JSON (no comments, trailing commas, NaN/Infinity, invalid UTF-8, duplicate
// keys or trailing data), while unknown fields are ignored and missing fields keep the
// member's default, unless the struct declares them required:
//
//   struct GetOrder { std::int64_t id = 0; };
//   BOOST_DESCRIBE_STRUCT(GetOrder, (), (id))
//   PIT_REQUIRED(GetOrder, id)                    // decode of {} or {"id":null} throws
//
// Contracts evolve: an enum may name the enumerator that unknown names decode to, and a
// struct may reserve the names of fields it retired (the lock keeps them from coming back):
//
//   PIT_ENUM_FALLBACK(Colour, unknown)            // "ultraviolet" decodes to Colour::unknown
//   PIT_RESERVED(Profile, "nickname")             // once a member; never to be reused
//
// Every decode problem is a pit::Fault with code invalid_argument,
// origin runtime, and a public message naming the field path (items[2].quantity).
// Encode problems (a non-finite double, a string that is not UTF-8, an enum value with no
// name) are a Fault with code internal; the field path goes to the cause, not the message.
// The mapping and the messages are in docs/contracts-json.md.
//
// The parser (Boost.JSON) stays in src/contract/json_strict_parser.cpp: this header is
// included by every contract, so it holds only the type walk, and reaches the parsed
// document through the opaque handle Node (src/contract/json_node.cpp).
#pragma once

#include <boost/describe/enum.hpp>
#include <boost/describe/enumerators.hpp>
#include <boost/describe/members.hpp>
#include <boost/describe/modifiers.hpp>
#include <boost/mp11/algorithm.hpp>
#include <boost/preprocessor/seq/for_each.hpp>
#include <boost/preprocessor/stringize.hpp>
#include <boost/preprocessor/variadic/size.hpp>
#include <boost/preprocessor/variadic/to_seq.hpp>

#include <array>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace pit::json {

// Bounds applied while parsing, before any allocation they guard against is made.
struct Limits {
  // Arrays and objects nested inside each other, the root counting as 1. Values above
  // 1024 are treated as 1024: both the parser and the decoder recurse per level.
  int max_depth = 64;
  // Bytes of one string or key, after unescaping.
  std::size_t max_string_bytes = 1 << 20;
  // Values in the whole document, arrays and objects included.
  std::size_t max_elements = 1 << 20;
};

// Appends `s` as the body of a JSON string (no surrounding quotes). `"` and `\` are
// escaped, and every character that could break a line or a terminal is written as
// \uXXXX: all C0 controls (CR and LF included), DEL, the C1 controls (NEL included) and
// U+2028/U+2029. Each maximal ill-formed UTF-8 subsequence becomes \ufffd. The output is
// therefore always one line of valid UTF-8, whatever `s` holds: the structured logger
// relies on this to make log injection impossible.
void append_escaped(std::string& out, std::string_view s);

// Thrown by a Writer given a byte limit as soon as its string would pass the limit. A
// string or key too long to fit is refused before it is appended, so the string never
// holds much more than the limit, however large the message being encoded.
class OutputTooLarge final : public std::exception {
 public:
  OutputTooLarge(std::size_t at_least, std::size_t limit) noexcept : at_least_(at_least), limit_(limit) {}
  // A lower bound of the whole output's size (the encoding stopped there), and the limit.
  [[nodiscard]] std::size_t at_least() const noexcept { return at_least_; }
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  [[nodiscard]] const char* what() const noexcept override { return "pit::json: output over its byte limit"; }

 private:
  std::size_t at_least_;
  std::size_t limit_;
};

// Writes compact JSON by appending to a string; inserts commas itself. It does not check
// the structure (a key inside an array is the caller's bug); the encode templates below
// always produce well-formed output.
class Writer {
 public:
  explicit Writer(std::string& out) noexcept : out_(&out) {}
  // The string may hold at most max_bytes when the writing is done: the write that would
  // take it past throws OutputTooLarge (the string then holds a truncated prefix).
  Writer(std::string& out, std::size_t max_bytes) noexcept : out_(&out), max_bytes_(max_bytes) {}

  void begin_object();
  void end_object();
  void begin_array();
  void end_array();
  // Returns false if `name` was not valid UTF-8 (it is written with \ufffd replacements).
  bool key(std::string_view name);

  void null();
  void value(bool b);
  void value(std::int64_t i);
  void value(std::uint64_t u);
  // Any other integer type (int, short, unsigned, ...), widened without loss.
  template <std::integral I>
    requires(!std::same_as<I, bool>)
  void value(I i) {
    if constexpr (std::is_signed_v<I>) {
      value(static_cast<std::int64_t>(i));
    } else {
      value(static_cast<std::uint64_t>(i));
    }
  }
  // Shortest text that reads back as the same value. Returns false, and writes null, for
  // a NaN or an infinity, which JSON cannot represent.
  bool value(double d);
  bool value(float f);
  // Returns false if `s` was not valid UTF-8 (it is written with \ufffd replacements).
  bool value(std::string_view s);
  bool value(const char* s) { return value(std::string_view{s}); }

 private:
  void separate();
  // Throws OutputTooLarge if the string holds more than max_bytes_, or would once `more`
  // bytes were appended. One comparison when within the limit.
  void check(std::size_t more = 0) const {
    if (out_->size() + more > max_bytes_) too_large(more);
  }
  [[noreturn]] void too_large(std::size_t more) const;

  std::string* out_;
  std::size_t max_bytes_ = std::numeric_limits<std::size_t>::max() / 2;  // no limit (and no overflow)
  bool need_comma_ = false;  // a value or a whole container was just written
};

namespace detail {
struct NodeAccess;  // src/contract/json_node_access.hpp: makes Nodes from the parsed document
}  // namespace detail

// A read-only view of one value of a parsed document; valid only while the document is
// (that is, inside decode). Accessors for the wrong kind return an empty/zero value.
class Node {
 public:
  enum class Kind : std::uint8_t { null, boolean, int64, uint64, number, string, array, object };

  Node() noexcept = default;
  // False for the Node returned by find() when the key is absent.
  [[nodiscard]] bool present() const noexcept { return value_ != nullptr; }

  [[nodiscard]] Kind kind() const noexcept;
  [[nodiscard]] bool as_bool() const noexcept;
  [[nodiscard]] std::int64_t as_int64() const noexcept;
  [[nodiscard]] std::uint64_t as_uint64() const noexcept;
  // Any number (integers converted); always finite.
  [[nodiscard]] double as_double() const noexcept;
  // Always valid UTF-8.
  [[nodiscard]] std::string_view as_string() const noexcept;

  // Elements of an array, members of an object; 0 for anything else.
  [[nodiscard]] std::size_t size() const noexcept;
  // Array element i < size().
  [[nodiscard]] Node at(std::size_t i) const noexcept;
  // Object member i < size(), in document order.
  [[nodiscard]] std::string_view key_at(std::size_t i) const noexcept;
  [[nodiscard]] Node value_at(std::size_t i) const noexcept;
  // The member named `key` of an object; a Node that is not present() if there is none.
  [[nodiscard]] Node find(std::string_view key) const noexcept;

 private:
  friend struct detail::NodeAccess;
  explicit Node(const void* value) noexcept : value_(value) {}
  const void* value_ = nullptr;
};

namespace detail {

// Where in the message a value sits: a chain of stack objects, one per level. Building it
// costs two stores per field; it is rendered to text ("items[2].quantity") only when an
// error is reported.
struct Path {
  enum class Step : std::uint8_t { root, name, index };
  const Path* parent = nullptr;
  Step step = Step::root;
  std::string_view name;  // member name or map key
  std::size_t index = 0;  // array index
};

enum class Expected : std::uint8_t { object, array, string, boolean, integer, number };

// Out of line, so that the templates stay small and the messages are built in one place.
// Decode errors throw Fault::invalid_argument(...).from(Origin::runtime).
[[noreturn]] void throw_type_error(const Path& path, Expected expected, Node got);
[[noreturn]] void throw_unknown_enum_name(const Path& path, const std::vector<std::string_view>& names);
// A PIT_REQUIRED member that is absent (present == false) or null.
[[noreturn]] void throw_required_field(const Path& path, bool present);
// Encode errors throw Fault::internal("reply could not be encoded") with the path and
// `reason` as the cause.
[[noreturn]] void throw_encode_error(const Path& path, std::string_view reason);

bool decode_bool(Node node, const Path& path);
std::int64_t decode_signed(Node node, const Path& path, std::int64_t min, std::int64_t max,
                           std::string_view type_name);
std::uint64_t decode_unsigned(Node node, const Path& path, std::uint64_t max,
                              std::string_view type_name);
double decode_double(Node node, const Path& path);
float decode_float(Node node, const Path& path);
std::string_view decode_string(Node node, const Path& path);

// Parses `text` under `limits` and calls visit(root, target) while the document lives.
// Throws Fault::invalid_argument for anything that is not strict JSON within the limits.
using RootVisitor = void (*)(Node root, void* target);
void parse(std::string_view text, const Limits& limits, RootVisitor visit, void* target);

template <class T>
inline constexpr bool always_false = false;

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_string_map : std::false_type {};
template <class T, class C, class A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};

template <class T>
concept DescribedStruct = std::is_class_v<T> && boost::describe::has_describe_members<T>::value;
template <class T>
concept DescribedEnum = std::is_enum_v<T> && boost::describe::has_describe_enumerators<T>::value;

template <class T>
using public_members =
    boost::describe::describe_members<T, boost::describe::mod_public | boost::describe::mod_inherited>;

// Required members (PIT_REQUIRED). The macro defines, next to the struct and found by
// argument-dependent lookup like Boost.Describe's own descriptors, a function returning the
// names of the members it requires. `S**` and not `S*`: a pointer to a derived struct would
// convert to `Base*` and silently inherit the base's list as its own.
template <class S, class C, class M>
constexpr std::string_view required_member(M C::*, std::string_view name) {
  static_assert(std::is_same_v<S, C>,
                "PIT_REQUIRED: name the member in the struct that declares it (PIT_REQUIRED(Base, member))");
  static_assert(!is_optional<M>::value,
                "PIT_REQUIRED: a std::optional member cannot be required; make it a plain member");
  return name;
}

template <class S>
concept HasRequiredMembers = requires { pit_json_required_members(static_cast<S**>(nullptr)); };

template <class P>
struct member_class;
template <class M, class C>
struct member_class<M C::*> {
  using type = C;
};

// Whether the member described by D is required, by the list of the struct that declares
// it: an inherited member is required wherever its own struct declares it so.
template <class D>
constexpr bool is_required_member() {
  using C = typename member_class<std::remove_cv_t<decltype(D::pointer)>>::type;
  if constexpr (HasRequiredMembers<C>) {
    for (const std::string_view name : pit_json_required_members(static_cast<C**>(nullptr))) {
      if (name == D::name) return true;
    }
  }
  return false;
}

// Every name a struct requires is a public member its BOOST_DESCRIBE_STRUCT lists: a
// required member the codec never reads would be required in name only.
template <class S>
constexpr bool required_members_are_described() {
  if constexpr (HasRequiredMembers<S>) {
    for (const std::string_view name : pit_json_required_members(static_cast<S**>(nullptr))) {
      bool described = false;
      boost::mp11::mp_for_each<boost::describe::describe_members<S, boost::describe::mod_public>>(
          [&](auto member) { described = described || name == member.name; });
      if (!described) return false;
    }
  }
  return true;
}

// Enum fallbacks (PIT_ENUM_FALLBACK): the enumerator an unknown name decodes to. The macro
// defines, next to the enum, `pit_json_enum_fallback(E*)`; an enum has no derived types, so
// `E*` cannot pick up another type's declaration.
template <class E>
concept HasEnumFallback = requires { pit_json_enum_fallback(static_cast<E*>(nullptr)); };

// Whether `name` is one of the enumerators BOOST_DESCRIBE_ENUM lists for E.
template <class E>
constexpr bool is_described_enumerator(std::string_view name) {
  if constexpr (DescribedEnum<E>) {
    bool found = false;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<E>>(
        [&](auto e) { found = found || name == e.name; });
    return found;
  } else {
    return false;
  }
}

// Reserved names (PIT_RESERVED): JSON names retired from a struct, that no member may take
// again. `S**` for the reason given for PIT_REQUIRED: a derived struct must not inherit its
// base's list as its own (the base's names stay reserved in the base's own object).
template <class S>
concept HasReservedNames = requires { pit_json_reserved_names(static_cast<S**>(nullptr)); };

// None of `names` is the name of a member the codec reads or writes for S (bases' members
// included), and none is empty or listed twice: a reserved name taken again by a member
// would give an old peer's field a new meaning.
template <class S, std::size_t N>
constexpr bool reserved_names_are_free(const std::array<std::string_view, N>& names) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i].empty()) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (names[i] == names[j]) return false;
    }
    bool taken = false;
    boost::mp11::mp_for_each<public_members<S>>([&](auto member) { taken = taken || names[i] == member.name; });
    if (taken) return false;
  }
  return true;
}

template <std::integral I>
constexpr std::string_view integer_name() {
  constexpr bool s = std::is_signed_v<I>;
  switch (sizeof(I)) {
    case 1: return s ? "int8" : "uint8";
    case 2: return s ? "int16" : "uint16";
    case 4: return s ? "int32" : "uint32";
    default: return s ? "int64" : "uint64";
  }
}

template <class T>
void decode_value(Node node, T& out, const Path& path) {
  if constexpr (std::is_same_v<T, bool>) {
    out = decode_bool(node, path);
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_signed_v<T>) {
      out = static_cast<T>(decode_signed(node, path, std::numeric_limits<T>::min(),
                                         std::numeric_limits<T>::max(), integer_name<T>()));
    } else {
      out = static_cast<T>(decode_unsigned(node, path, std::numeric_limits<T>::max(), integer_name<T>()));
    }
  } else if constexpr (std::is_same_v<T, double>) {
    out = decode_double(node, path);
  } else if constexpr (std::is_same_v<T, float>) {
    out = decode_float(node, path);
  } else if constexpr (std::is_same_v<T, std::string>) {
    out.assign(decode_string(node, path));
  } else if constexpr (DescribedEnum<T>) {
    const std::string_view name = decode_string(node, path);
    bool found = false;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto e) {
      if (!found && name == e.name) {
        out = e.value;
        found = true;
      }
    });
    if constexpr (HasEnumFallback<T>) {
      // A peer on a newer version of the contract sent a value this side does not know.
      if (!found) out = pit_json_enum_fallback(static_cast<T*>(nullptr));
    } else if (!found) {
      std::vector<std::string_view> names;
      boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>(
          [&](auto e) { names.emplace_back(e.name); });
      throw_unknown_enum_name(path, names);
    }
  } else if constexpr (is_optional<T>::value) {
    // null and absent mean the same: no value.
    if (node.kind() == Node::Kind::null) {
      out.reset();
    } else {
      decode_value(node, out.emplace(), path);
    }
  } else if constexpr (is_vector<T>::value) {
    if (node.kind() != Node::Kind::array) throw_type_error(path, Expected::array, node);
    const std::size_t n = node.size();
    out.clear();
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Path element{&path, Path::Step::index, {}, i};
      if constexpr (std::is_same_v<typename T::value_type, bool>) {
        bool b = false;  // std::vector<bool> hands out proxies, not bool&
        decode_value(node.at(i), b, element);
        out[i] = b;
      } else {
        decode_value(node.at(i), out[i], element);
      }
    }
  } else if constexpr (is_string_map<T>::value) {
    if (node.kind() != Node::Kind::object) throw_type_error(path, Expected::object, node);
    out.clear();
    const std::size_t n = node.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::string_view key = node.key_at(i);
      const Path entry{&path, Path::Step::name, key, 0};
      // Keys are unique: the parser rejects duplicates.
      decode_value(node.value_at(i), out[std::string{key}], entry);
    }
  } else if constexpr (DescribedStruct<T>) {
    static_assert(required_members_are_described<T>(),
                  "PIT_REQUIRED names a member that BOOST_DESCRIBE_STRUCT does not list (or that is not public)");
    if (node.kind() != Node::Kind::object) throw_type_error(path, Expected::object, node);
    boost::mp11::mp_for_each<public_members<T>>([&](auto member) {
      const Node field = node.find(member.name);
      const Path sub{&path, Path::Step::name, member.name, 0};
      if constexpr (is_required_member<decltype(member)>()) {
        if (!field.present() || field.kind() == Node::Kind::null) throw_required_field(sub, field.present());
      } else if (!field.present()) {
        return;  // missing: keep the member's current (default) value
      }
      decode_value(field, out.*member.pointer, sub);
    });
  } else {
    static_assert(always_false<T>,
                  "pit::json: unsupported type; use bool, integers, float, double, std::string, "
                  "std::vector, std::optional, std::map<std::string, T>, or a struct/enum "
                  "described with BOOST_DESCRIBE_STRUCT / BOOST_DESCRIBE_ENUM");
  }
}

template <class T>
void encode_value(Writer& w, const T& v, const Path& path) {
  if constexpr (std::is_same_v<T, bool>) {
    w.value(v);
  } else if constexpr (std::is_integral_v<T>) {
    w.value(v);
  } else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, float>) {
    if (!w.value(v)) throw_encode_error(path, "number is not finite");
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!w.value(std::string_view{v})) throw_encode_error(path, "string is not valid UTF-8");
  } else if constexpr (DescribedEnum<T>) {
    const char* name = nullptr;
    boost::mp11::mp_for_each<boost::describe::describe_enumerators<T>>([&](auto e) {
      if (name == nullptr && v == e.value) name = e.name;
    });
    if (name == nullptr) throw_encode_error(path, "enum value has no name");
    w.value(std::string_view{name});
  } else if constexpr (is_optional<T>::value) {
    // A struct member that is empty is omitted before reaching here; elsewhere: null.
    if (v) {
      encode_value(w, *v, path);
    } else {
      w.null();
    }
  } else if constexpr (is_vector<T>::value) {
    w.begin_array();
    std::size_t i = 0;
    for (const auto& element : v) {
      const Path sub{&path, Path::Step::index, {}, i++};
      encode_value(w, static_cast<const typename T::value_type&>(element), sub);
    }
    w.end_array();
  } else if constexpr (is_string_map<T>::value) {
    w.begin_object();
    for (const auto& [key, value] : v) {
      const Path sub{&path, Path::Step::name, key, 0};
      if (!w.key(key)) throw_encode_error(sub, "key is not valid UTF-8");
      encode_value(w, value, sub);
    }
    w.end_object();
  } else if constexpr (DescribedStruct<T>) {
    w.begin_object();
    boost::mp11::mp_for_each<public_members<T>>([&](auto member) {
      const auto& field = v.*member.pointer;
      if constexpr (is_optional<std::remove_cvref_t<decltype(field)>>::value) {
        if (!field) return;  // an empty optional member is omitted
      }
      const Path sub{&path, Path::Step::name, member.name, 0};
      w.key(member.name);
      encode_value(w, field, sub);
    });
    w.end_object();
  } else {
    static_assert(always_false<T>,
                  "pit::json: unsupported type; use bool, integers, float, double, std::string, "
                  "std::vector, std::optional, std::map<std::string, T>, or a struct/enum "
                  "described with BOOST_DESCRIBE_STRUCT / BOOST_DESCRIBE_ENUM");
  }
}

template <class T>
void decode_root(Node root, void* target) {
  decode_value(root, *static_cast<T*>(target), Path{});
}

}  // namespace detail

// Appends `message` to the writer's string. Throws pit::Fault (internal) if a value
// cannot be represented.
template <class T>
void encode(Writer& w, const T& message) {
  detail::encode_value(w, message, detail::Path{});
}

// `message` as compact JSON.
template <class T>
std::string encode(const T& message) {
  std::string out;
  Writer w{out};
  encode(w, message);
  return out;
}

// Decodes `text` into `out`. Fields absent from the text keep the value `out` already has;
// vectors and maps that are present are replaced, not merged. On a Fault, `out` may be
// partly assigned.
template <class T>
void decode_into(std::string_view text, T& out, const Limits& limits = {}) {
  static_assert(detail::DescribedStruct<T>,
                "pit::json: a message is a struct described with BOOST_DESCRIBE_STRUCT");
  detail::parse(text, limits, &detail::decode_root<T>, &out);
}

// Decodes `text` into a default-constructed T; missing fields keep their default
// initializers.
template <class T>
T decode(std::string_view text, const Limits& limits = {}) {
  T out{};
  decode_into(text, out, limits);
  return out;
}

// The enumerator an unknown name decodes to (PIT_ENUM_FALLBACK), or none: then an unknown
// name is invalid_argument.
template <class E>
  requires std::is_enum_v<E>
constexpr std::optional<E> enum_fallback() noexcept {
  if constexpr (detail::HasEnumFallback<E>) {
    return pit_json_enum_fallback(static_cast<E*>(nullptr));
  } else {
    return std::nullopt;
  }
}

// The field names S declares retired with PIT_RESERVED (its own, not its bases'); empty if
// it declares none.
template <class S>
constexpr auto reserved_names() noexcept {
  if constexpr (detail::HasReservedNames<S>) {
    return pit_json_reserved_names(static_cast<S**>(nullptr));
  } else {
    return std::array<std::string_view, 0>{};
  }
}

}  // namespace pit::json

// PIT_REQUIRED(Struct, member, ...): decoding rejects a body in which one of these members
// is missing or null, with invalid_argument "field 'items[0].sku': required, but missing"
// (or "..., but null"), instead of leaving the member at its default. Write it after
// BOOST_DESCRIBE_STRUCT, in the struct's namespace (elsewhere, argument-dependent lookup
// would not find it: that fails to compile too). Each member must be a
// public, described, non-optional member declared in Struct itself (a base's members are
// declared required with PIT_REQUIRED(Base, ...) and stay required in every derived
// struct); anything else fails to compile. Encoding is unchanged: a plain member is always
// written.
#define PIT_REQUIRED(Struct, ...)                                                    \
  constexpr auto pit_json_required_members(Struct**) noexcept {                      \
    return std::array{BOOST_PP_SEQ_FOR_EACH(PIT_REQUIRED_MEMBER_, Struct,            \
                                            BOOST_PP_VARIADIC_TO_SEQ(__VA_ARGS__))}; \
  }                                                                                  \
  static_assert(::pit::json::detail::HasRequiredMembers<Struct>,                     \
                "PIT_REQUIRED: write it in the namespace of the struct, before any use of " \
                "the struct with pit::json");
#define PIT_REQUIRED_MEMBER_(r, Struct, member) \
  ::pit::json::detail::required_member<Struct>(&Struct::member, BOOST_PP_STRINGIZE(member)),

// PIT_ENUM_FALLBACK(Enum, enumerator): decoding a name that is not one of Enum's
// enumerators yields Enum::enumerator instead of invalid_argument, wherever the enum
// appears (a member, a vector element, a map value). For an enum a newer peer may extend:
// an old reader then sees the fallback (`unknown`, say) rather than refusing the whole
// message. Encoding is unchanged. Write it after BOOST_DESCRIBE_ENUM, in the enum's
// namespace; an enumerator BOOST_DESCRIBE_ENUM does not list fails to compile.
#define PIT_ENUM_FALLBACK(Enum, enumerator)                                                        \
  constexpr Enum pit_json_enum_fallback(Enum*) noexcept { return Enum::enumerator; }               \
  static_assert(::pit::json::detail::is_described_enumerator<Enum>(BOOST_PP_STRINGIZE(enumerator)), \
                "PIT_ENUM_FALLBACK: the fallback must be an enumerator BOOST_DESCRIBE_ENUM lists");  \
  static_assert(::pit::json::detail::HasEnumFallback<Enum>,                                        \
                "PIT_ENUM_FALLBACK: write it in the namespace of the enum");

// PIT_RESERVED(Struct, "old_name", ...): JSON names once used by Struct's members and now
// retired. The codec ignores them like any unknown field (an old peer may still send them);
// the compatibility lock records them, so that removing a field with its name reserved is
// not a break, and no later member can take a name whose old meaning peers still hold:
// naming a described member (a base's included), an empty name or one listed twice fails to
// compile. Write it after BOOST_DESCRIBE_STRUCT, in the struct's namespace.
#define PIT_RESERVED(Struct, ...)                                                                \
  constexpr auto pit_json_reserved_names(Struct**) noexcept {                                    \
    return std::array<std::string_view, BOOST_PP_VARIADIC_SIZE(__VA_ARGS__)>{__VA_ARGS__};       \
  }                                                                                              \
  static_assert(::pit::json::detail::HasReservedNames<Struct>,                                   \
                "PIT_RESERVED: write it in the namespace of the struct");                        \
  static_assert(::pit::json::detail::reserved_names_are_free<Struct>(                            \
                    pit_json_reserved_names(static_cast<Struct**>(nullptr))),                    \
                "PIT_RESERVED: a reserved name must not be a described member's name, empty, or listed twice");
