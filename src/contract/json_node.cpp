// Node: the header's read-only view of a parsed boost::json::value, and the typed reads of
// booleans and strings (numbers: json_numbers.cpp).
#include <boost/json/value.hpp>

#include <cstddef>

#include "contract/json_node_access.hpp"
#include "pit/json.hpp"

namespace pit::json {
namespace {

namespace bj = boost::json;

const bj::value& value_of(const void* p) noexcept { return *static_cast<const bj::value*>(p); }

}  // namespace

Node::Kind Node::kind() const noexcept {
  switch (value_of(value_).kind()) {
    case bj::kind::null: return Kind::null;
    case bj::kind::bool_: return Kind::boolean;
    case bj::kind::int64: return Kind::int64;
    case bj::kind::uint64: return Kind::uint64;
    case bj::kind::double_: return Kind::number;
    case bj::kind::string: return Kind::string;
    case bj::kind::array: return Kind::array;
    case bj::kind::object: return Kind::object;
  }
  return Kind::null;
}

bool Node::as_bool() const noexcept {
  const bool* b = value_of(value_).if_bool();
  return b != nullptr && *b;
}

std::int64_t Node::as_int64() const noexcept {
  const std::int64_t* i = value_of(value_).if_int64();
  return i != nullptr ? *i : 0;
}

std::uint64_t Node::as_uint64() const noexcept {
  const std::uint64_t* u = value_of(value_).if_uint64();
  return u != nullptr ? *u : 0;
}

double Node::as_double() const noexcept {
  const bj::value& v = value_of(value_);
  switch (v.kind()) {
    case bj::kind::int64: return static_cast<double>(v.get_int64());
    case bj::kind::uint64: return static_cast<double>(v.get_uint64());
    case bj::kind::double_: return v.get_double();
    default: return 0.0;
  }
}

std::string_view Node::as_string() const noexcept {
  const bj::string* s = value_of(value_).if_string();
  return s != nullptr ? std::string_view{s->data(), s->size()} : std::string_view{};
}

std::size_t Node::size() const noexcept {
  const bj::value& v = value_of(value_);
  if (const bj::array* a = v.if_array()) return a->size();
  if (const bj::object* o = v.if_object()) return o->size();
  return 0;
}

Node Node::at(std::size_t i) const noexcept {
  const bj::array* a = value_of(value_).if_array();
  return a != nullptr && i < a->size() ? Node{&(*a)[i]} : Node{};
}

std::string_view Node::key_at(std::size_t i) const noexcept {
  const bj::object* o = value_of(value_).if_object();
  if (o == nullptr || i >= o->size()) return {};
  const bj::string_view key = o->begin()[static_cast<std::ptrdiff_t>(i)].key();
  return {key.data(), key.size()};
}

Node Node::value_at(std::size_t i) const noexcept {
  const bj::object* o = value_of(value_).if_object();
  if (o == nullptr || i >= o->size()) return {};
  return Node{&o->begin()[static_cast<std::ptrdiff_t>(i)].value()};
}

Node Node::find(std::string_view key) const noexcept {
  const bj::object* o = value_of(value_).if_object();
  if (o == nullptr) return {};
  const bj::value* member = o->if_contains(bj::string_view{key.data(), key.size()});
  return member != nullptr ? Node{member} : Node{};
}

namespace detail {

bool decode_bool(Node node, const Path& path) {
  if (node.kind() != Node::Kind::boolean) throw_type_error(path, Expected::boolean, node);
  return node.as_bool();
}

std::string_view decode_string(Node node, const Path& path) {
  if (node.kind() != Node::Kind::string) throw_type_error(path, Expected::string, node);
  return node.as_string();  // valid UTF-8: the parser validates it
}

}  // namespace detail
}  // namespace pit::json
