#include "durability/stored_outcome.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "pit/json.hpp"

namespace pit::detail::durability {

std::string encode_fault(const Fault& fault) {
  std::string out = "{\"message\":\"";
  json::append_escaped(out, fault.message());
  out.append("\",\"origin\":").append(std::to_string(static_cast<int>(fault.origin())));
  out.append(",\"flags\":").append(std::to_string(static_cast<int>(fault.flags())));
  out.append(",\"details\":[");
  bool first = true;
  for (const auto& d : fault.details()) {
    if (!first) out.push_back(',');
    first = false;
    out.append("[\"");
    json::append_escaped(out, d.key);
    out.append("\",\"");
    json::append_escaped(out, d.value);
    out.append("\"]");
  }
  out.append("]}");
  return out;
}

Fault decode_fault(Code code, std::string_view payload) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(payload, ec);
  const auto* obj = (!ec && v.is_object()) ? &v.as_object() : nullptr;
  const auto* message = obj != nullptr ? obj->if_contains("message") : nullptr;
  if (message == nullptr || !message->is_string() || code == Code::ok) {
    return Fault::internal("internal error")
        .with_cause("a stored outcome could not be read")
        .from(Fault::Origin::runtime);
  }
  Fault fault{code, std::string(message->as_string())};
  if (const auto* origin = obj->if_contains("origin"); origin != nullptr && origin->is_int64()) {
    const auto o = origin->as_int64();
    if (o >= 0 && o <= static_cast<int>(Fault::Origin::remote)) fault.from(static_cast<Fault::Origin>(o));
  }
  if (const auto* flags = obj->if_contains("flags"); flags != nullptr && flags->is_int64()) {
    for (auto flag : {Fault::retryable, Fault::rejected, Fault::deadline, Fault::masked}) {
      if ((flags->as_int64() & flag) != 0) fault.with(flag);
    }
  }
  if (const auto* details = obj->if_contains("details"); details != nullptr && details->is_array()) {
    for (const auto& d : details->as_array()) {
      if (d.is_array() && d.as_array().size() == 2 && d.as_array()[0].is_string() && d.as_array()[1].is_string()) {
        fault.with_detail(std::string(d.as_array()[0].as_string()), std::string(d.as_array()[1].as_string()));
      }
    }
  }
  return fault;
}

}  // namespace pit::detail::durability
