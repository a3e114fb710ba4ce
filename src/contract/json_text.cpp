#include "contract/json_text.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>
#include <cmath>

namespace pit::detail {
namespace {

void write(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& member : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        out.append(boost::json::serialize(boost::json::string_view{member.key()}));
        out.push_back(':');
        write(member.value(), out);
      }
      out.push_back('}');
      break;
    }
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        write(element, out);
      }
      out.push_back(']');
      break;
    }
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out.append("null");  // JSON has no such number
        break;
      }
      char text[32];
      const auto end = std::to_chars(text, text + sizeof text, d).ptr;
      out.append(text, end);
      break;
    }
    default: out.append(boost::json::serialize(v));  // strings, integers, booleans, null
  }
}

}  // namespace

std::string json_text(const boost::json::value& value) {
  std::string out;
  write(value, out);
  return out;
}

}  // namespace pit::detail
