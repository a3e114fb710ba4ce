// Token headers, claims and key sets are read with pit's strict JSON parser (the one behind
// pit::json::decode): RFC 8259 only, and an object with a duplicate key is refused. A JWT
// parser that kept one of two `iss` members (as Boost.JSON's does silently) could be made
// to check one value while another component reads the other (RFC 8725 section 3.6).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pit/fault.hpp"
#include "pit/json.hpp"

namespace pit::detail::identity {

// Calls read(root) while the parsed document lives (Nodes are views into it). Returns the
// reason the text was refused, or nullopt when it was read. `read` must not throw.
template <class Read>
std::optional<std::string> read_strict_json(std::string_view text, const json::Limits& limits, Read& read) {
  try {
    json::detail::parse(
        text, limits, [](json::Node root, void* target) { (*static_cast<Read*>(target))(root); }, &read);
  } catch (const Fault& fault) {
    return fault.message();
  }
  return std::nullopt;
}

// A Node's kind, safely: a Node that find() did not find has none (kind() must not be
// called on it).
inline bool is(json::Node node, json::Node::Kind kind) noexcept { return node.present() && node.kind() == kind; }

}  // namespace pit::detail::identity
