// How the parser hands its document to the header's templates: the one way to make a Node
// from a boost::json::value. Private to src/contract/: Boost.JSON stays out of pit/json.hpp.
#pragma once

#include <boost/json/value.hpp>

#include "pit/json.hpp"

namespace pit::json::detail {

struct NodeAccess {
  static Node wrap(const boost::json::value& value) noexcept { return Node{&value}; }
};

}  // namespace pit::json::detail
