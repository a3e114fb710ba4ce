// Error messages and field paths: how a decode or encode problem names where it is.
#include "contract/json_errors.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "contract/json_escape.hpp"

namespace pit::json::detail {
namespace {

// Keys longer than this are cut in paths: a public message never echoes long input.
constexpr std::size_t kMaxKeyInPath = 32;

bool is_identifier(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxKeyInPath) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s.front())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alpha(c) || (c >= '0' && c <= '9'); });
}

std::string_view expected_text(Expected expected) noexcept {
  switch (expected) {
    case Expected::object: return "an object";
    case Expected::array: return "an array";
    case Expected::string: return "a string";
    case Expected::boolean: return "a boolean";
    case Expected::integer: return "an integer";
    case Expected::number: return "a number";
  }
  return "a value";
}

std::string_view got_text(Node got, Expected expected) noexcept {
  switch (got.kind()) {
    case Node::Kind::null: return "null";
    case Node::Kind::boolean: return "a boolean";
    case Node::Kind::int64:
    case Node::Kind::uint64: return "an integer";
    case Node::Kind::number:
      return expected == Expected::integer ? "a number with a fraction" : "a number";
    case Node::Kind::string: return "a string";
    case Node::Kind::array: return "an array";
    case Node::Kind::object: return "an object";
  }
  return "a value";
}

}  // namespace

Fault bad_request(std::string message) {
  return Fault::invalid_argument(std::move(message)).from(Fault::Origin::runtime);
}

void append_name(std::string& out, std::string_view name, bool first) {
  if (is_identifier(name)) {
    if (!first) out.push_back('.');
    out.append(name);
    return;
  }
  out.append("[\"");
  if (name.size() <= kMaxKeyInPath) {
    escape_into(out, name);
  } else {
    std::size_t cut = kMaxKeyInPath;
    while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0U) == 0x80U) --cut;  // whole characters
    escape_into(out, name.substr(0, cut));
    out.append("...");
  }
  out.append("\"]");
}

void append_index(std::string& out, std::size_t index) {
  out.push_back('[');
  out.append(std::to_string(index));
  out.push_back(']');
}

std::string render(const Path& path) {
  std::vector<const Path*> chain;
  for (const Path* p = &path; p != nullptr; p = p->parent) {
    if (p->step != Path::Step::root) chain.push_back(p);
  }
  if (chain.empty()) return std::string{kRootPath};
  std::string out;
  bool first = true;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->step == Path::Step::index) {
      append_index(out, (*it)->index);
    } else {
      append_name(out, (*it)->name, first);
    }
    first = false;
  }
  return out;
}

std::string field_message(std::string_view path, std::string_view what) {
  std::string message;
  message.reserve(path.size() + what.size() + 12);
  message.append("field '").append(path).append("': ").append(what);
  return message;
}

void throw_type_error(const Path& path, Expected expected, Node got) {
  std::string what{"expected "};
  what.append(expected_text(expected)).append(", got ").append(got_text(got, expected));
  throw bad_request(field_message(render(path), what));
}

void throw_unknown_enum_name(const Path& path, const std::vector<std::string_view>& names) {
  // The accepted names are part of the contract; the rejected input is not echoed.
  constexpr std::size_t kListed = 10;
  std::string what{"unknown name, expected one of "};
  for (std::size_t i = 0; i < names.size() && i < kListed; ++i) {
    if (i > 0) what.append(", ");
    what.push_back('"');
    escape_into(what, names[i]);
    what.push_back('"');
  }
  if (names.size() > kListed) what.append(", ...");
  throw bad_request(field_message(render(path), what));
}

void throw_required_field(const Path& path, bool present) {
  throw bad_request(field_message(render(path), present ? "required, but null" : "required, but missing"));
}

void throw_encode_error(const Path& path, std::string_view reason) {
  throw Fault::internal("reply could not be encoded")
      .from(Fault::Origin::runtime)
      .with_cause(field_message(render(path), reason));
}

}  // namespace pit::json::detail
