#include "config/value_check.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

#include "outbound/url.hpp"

namespace pit::config {
namespace {

// "address:port": an IPv4 address or a bracketed IPv6 one, and a port 0..65535.
bool valid_listen(std::string_view text) {
  if (text.empty()) return true;  // no listener
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535) return false;
  std::string_view address = text.substr(0, colon);
  std::array<unsigned char, 16> buffer{};
  if (address.size() > 2 && address.front() == '[' && address.back() == ']') {
    return inet_pton(AF_INET6, std::string{address.substr(1, address.size() - 2)}.c_str(), buffer.data()) ==
           1;
  }
  return inet_pton(AF_INET, std::string{address}.c_str(), buffer.data()) == 1;
}

}  // namespace

std::string type_name(Kind kind) {
  switch (kind) {
    case Kind::integer:
      return "integer";
    case Kind::boolean:
      return "boolean";
    case Kind::level:
    case Kind::listen:
    case Kind::code:
    case Kind::names:
    case Kind::text:
    case Kind::identity:
    case Kind::path:
    case Kind::audit_path:
    case Kind::when_behind:
    case Kind::client_auth:
    case Kind::url:
    case Kind::balancer:
    case Kind::hedge:
    case Kind::pairs:
    case Kind::dedup_store:
      return "string";
    case Kind::number:
      return "number";
    case Kind::urls:
      return "array of strings";
  }
  return "string";
}

std::string with_article(Kind kind) {
  if (kind == Kind::integer || kind == Kind::urls) return "an " + type_name(kind);
  if (kind == Kind::number) return "a number (integer or float)";
  return "a " + type_name(kind);
}

std::string range_text(Kind kind, std::int64_t min, std::int64_t max) {
  switch (kind) {
    case Kind::integer:
    case Kind::number:
      return std::to_string(min) + ".." + std::to_string(max);
    case Kind::boolean:
      return "true, false";
    case Kind::url:
      return "\"http://host:port\", \"https://host:port\" or \"\"";
    case Kind::urls:
      return "[\"http://host:port\", ...], not empty";
    case Kind::balancer:
      return "\"p2c\", \"round_robin\"";
    case Kind::hedge:
      return "\"off\", \"fixed\", \"p95\"";
    case Kind::level: {
      std::string text;
      for (const auto& [name, level] : levels())
        text += (text.empty() ? "\"" : ", \"") + std::string{name} + "\"";
      return text;
    }
    case Kind::listen:
      return "\"address:port\" or \"\"";
    case Kind::code:
      return "a fault code: \"unavailable\", \"internal\", \"not_found\", ...";
    case Kind::names:
      return "\"name, name, ...\" (letters, digits, '_', '-', '.')";
    case Kind::text:
      return "any string";
    case Kind::pairs:
      return "\"key=value,key2=value2\" or \"\"";
    case Kind::identity:
      return "\"exchange\", \"forward\", \"own\", \"none\"";
    case Kind::path:
      return "a file path or \"\"";
    case Kind::audit_path:
      return "a file name, or \"-\" (standard output)";
    case Kind::when_behind:
      return "\"wait\", \"drop\"";
    case Kind::dedup_store:
      return "\"sqlite\", \"postgres\"";
    case Kind::client_auth: {
      std::string text;
      for (const auto& [name, mode] : client_auth_modes())
        text += (text.empty() ? "\"" : ", \"") + std::string{name} + "\"";
      return text;
    }
  }
  return {};
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string show(const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&v)) {
    std::array<char, 64> buffer{};
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), *d);
    std::string text(buffer.data(), ec == std::errc{} ? end : buffer.data());
    // As TOML writes a float: 20.0, not 20.
    if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
    return text;
  }
  if (const auto* list = std::get_if<std::vector<std::string>>(&v)) {
    std::string text = "[";
    for (const auto& s : *list) text += (text.size() > 1 ? ", " : "") + quoted(s);
    return text + "]";
  }
  return quoted(std::get<std::string>(v));
}

std::string url_problem(const std::string& url) {
  try {
    (void)outbound::parse_url(url);
    return {};
  } catch (const std::invalid_argument& e) {
    std::string why = e.what();
    if (why.starts_with("pit: ")) why.erase(0, 5);
    return why;
  }
}

std::string check(Kind kind, std::int64_t min, std::int64_t max, const Value& value) {
  switch (kind) {
    case Kind::integer: {
      const auto n = std::get<std::int64_t>(value);
      if (n < min || n > max) {
        return std::to_string(n) + " is out of range (" + range_text(kind, min, max) + ")";
      }
      return {};
    }
    case Kind::boolean:
      return {};
    case Kind::level:
      if (parse_level(std::get<std::string>(value))) return {};
      return show(value) + " is not a level (" + range_text(kind, min, max) + ")";
    case Kind::listen:
      if (valid_listen(std::get<std::string>(value))) return {};
      return show(value) +
             " is not \"address:port\" (an IP address, IPv6 in brackets, and a port 0..65535; \"\": no "
             "listener)";
    case Kind::code: {
      const auto& name = std::get<std::string>(value);
      if (name != "ok" && code_from_string(name)) return {};
      std::string codes;
      for (int c = 1; c < code_count; ++c) {
        codes += (codes.empty() ? "" : ", ") + std::string{to_string(static_cast<Code>(c))};
      }
      return show(value) + " is not a fault code (" + codes + ")";
    }
    case Kind::names:
      for (const auto& name : split_names(std::get<std::string>(value))) {
        const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
        });
        if (!valid) {
          return show(value) + " is not a comma-separated list of names (letters, digits, '_', '-', '.')";
        }
      }
      return {};
    case Kind::text:
      return {};
    case Kind::identity:
      if (parse_outbound_identity(std::get<std::string>(value))) return {};
      return show(value) + " is not a way to carry identity (" + range_text(kind, min, max) + ")";
    case Kind::path:
      // Whether the file exists and holds what it should is checked at start, where a
      // missing file names the key and the reason.
      if (std::get<std::string>(value).find('\0') == std::string::npos) return {};
      return show(value) + " is not a file path";
    case Kind::audit_path:
      if (!std::get<std::string>(value).empty()) return {};
      return "\"\" is not a file name (\"-\": standard output)";
    case Kind::when_behind: {
      const auto& mode = std::get<std::string>(value);
      if (mode == "wait" || mode == "drop") return {};
      return show(value) + " is not \"wait\" or \"drop\"";
    }
    case Kind::dedup_store: {
      const auto& store = std::get<std::string>(value);
      if (store == "sqlite" || store == "postgres") return {};
      return show(value) + " is not \"sqlite\" or \"postgres\"";
    }
    case Kind::client_auth:
      if (parse_client_auth(std::get<std::string>(value))) return {};
      return show(value) + " is not a client certificate mode (" + range_text(kind, min, max) + ")";
    case Kind::number: {
      const double n = std::holds_alternative<std::int64_t>(value) ? static_cast<double>(std::get<std::int64_t>(value))
                                                                   : std::get<double>(value);
      if (std::isfinite(n) && n >= static_cast<double>(min) && n <= static_cast<double>(max)) return {};
      return show(value) + " is out of range (" + range_text(kind, min, max) + ")";
    }
    case Kind::url:
      // "": no DNS name (the endpoints, or the URL given in code).
      if (std::get<std::string>(value).empty()) return {};
      return url_problem(std::get<std::string>(value));
    case Kind::urls: {
      const auto& urls = std::get<std::vector<std::string>>(value);
      if (urls.empty()) return "an empty list: give at least one endpoint, or leave endpoints out";
      for (const auto& url : urls) {
        if (auto why = url_problem(url); !why.empty()) return why;
      }
      return {};
    }
    case Kind::balancer:
      if (parse_balancer(std::get<std::string>(value))) return {};
      return show(value) + " is not a balancer (" + range_text(kind, min, max) + ")";
    case Kind::hedge:
      if (parse_hedge(std::get<std::string>(value))) return {};
      return show(value) + " is not a hedging mode (" + range_text(kind, min, max) + ")";
    case Kind::pairs:
      if (parse_pairs(std::get<std::string>(value))) return {};
      return show(value) + " is not a list of key=value pairs (" + range_text(kind, min, max) + ")";
  }
  return {};
}

}  // namespace pit::config
