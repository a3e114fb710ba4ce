#include "config/effective_config.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdio>
#include <variant>

#include "config/key_table.hpp"
#include "contract/json_text.hpp"
#include "observability/log_redaction.hpp"

namespace pit::config {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

// Keys whose whole value is a secret, whatever their name says.
constexpr std::string_view kSecretKeys[] = {"auth.client_secret", "admin.token", "tracing.force_token"};
// Keys whose values are "name=value" pairs with secret values (OTLP exporter headers
// carry API keys): the names stay, the values go.
constexpr std::string_view kSecretPairKeys[] = {"tracing.headers"};

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "a=1,b=2" → "a=[redacted],b=[redacted]".
std::string redact_pair_values(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = text.find(',', start);
    const auto item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const auto eq = item.find('=');
    out.append(item.substr(0, eq));
    if (eq != std::string_view::npos) out.append("=").append(kRedacted);
    if (comma == std::string_view::npos) break;
    out.push_back(',');
    start = comma + 1;
  }
  return out;
}

class Redaction {
 public:
  explicit Redaction(const HostOptions& options) : redactor_(named_like_secrets(options)) {}

  std::string text(std::string_view key, std::string_view value) const {
    if (value.empty()) return {};  // "not set" says nothing about a secret, and helps
    for (const auto k : kSecretKeys) {
      if (key == k) return std::string{kRedacted};
    }
    for (const auto k : kSecretPairKeys) {
      if (key == k) return redact_pair_values(value);
    }
    const auto dot = key.rfind('.');
    const auto name = dot == std::string_view::npos ? key : key.substr(dot + 1);
    // A URL is not a secret for its name ("token_url"); its password is.
    if (!ends_with(name, "url") && !ends_with(name, "urls") && redactor_.secret_key(name)) {
      return std::string{kRedacted};
    }
    return redact_passwords(value);
  }

 private:
  static log::Redaction named_like_secrets(const HostOptions& options) {
    log::Redaction r;
    r.enabled = true;  // whatever the logs do: this page is read over the network
    r.keys = options.log_redaction.keys;
    return r;
  }
  detail::Redactor redactor_;
};

boost::json::value to_json(std::string_view key, const Value& v, const Redaction& redaction) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return boost::json::string(redaction.text(key, *s));
  boost::json::array items;
  for (const auto& item : std::get<std::vector<std::string>>(v)) items.emplace_back(redaction.text(key, item));
  return items;
}

}  // namespace

std::string redact_passwords(std::string_view value) {
  std::string out{value};
  // scheme://user:password@host
  if (const auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto authority = scheme + 3;
    const auto end = out.find_first_of("/?#", authority);
    const auto at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at != std::string::npos && at > authority) {
      const auto colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, kRedacted);
    }
  }
  // password=... in "host=db password=x" (libpq) or "?user=a&password=x" (a query)
  for (std::size_t at = out.find("password="); at != std::string::npos; at = out.find("password=", at + 1)) {
    const auto start = at + 9;
    auto end = out.find_first_of(" &;", start);
    if (end == std::string::npos) end = out.size();
    out.replace(start, end - start, kRedacted);
  }
  return out;
}

EffectiveConfiguration effective_configuration(const HostOptions& options) {
  const Redaction redaction{options};
  boost::json::object root;
  for (const auto& setting : settings()) {
    const auto dot = setting.name.find('.');
    auto& section = root[setting.name.substr(0, dot)];
    if (!section.is_object()) section = boost::json::object{};
    section.as_object()[setting.name.substr(dot + 1)] = to_json(setting.name, setting.read(options), redaction);
  }
  boost::json::object clients;
  for (const auto& [contract, client] : options.clients) {
    boost::json::object keys;
    for (const auto& setting : client_settings()) {
      const std::string key = "clients." + contract + "." + std::string{setting.name};
      keys[setting.name] = to_json(key, setting.read(client), redaction);
    }
    clients[contract] = std::move(keys);
  }
  root["clients"] = std::move(clients);

  EffectiveConfiguration out;
  out.json = detail::json_text(root);
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : out.json) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  out.hash = hex;
  return out;
}

}  // namespace pit::config
