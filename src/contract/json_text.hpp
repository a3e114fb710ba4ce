// A Boost.JSON value as text, with numbers written the way people read them: Boost.JSON's
// serialize writes every double in exponent form (2E1, 3.302E1); this writes the shortest
// text that reads back the same (20, 33.02). For pages people read: the admin listener's.
#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace pit::detail {

std::string json_text(const boost::json::value& value);

}  // namespace pit::detail
