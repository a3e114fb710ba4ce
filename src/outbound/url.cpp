#include "outbound/url.hpp"

#include <stdexcept>
#include <string>

namespace pit::outbound {

Url parse_url(std::string_view url) {
  constexpr std::string_view http_scheme = "http://";
  constexpr std::string_view https_scheme = "https://";
  auto bad = [&](const char* why) {
    return std::invalid_argument("pit: client base URL '" + std::string(url) + "': " + why);
  };
  const bool tls = url.substr(0, https_scheme.size()) == https_scheme;
  if (!tls && url.substr(0, http_scheme.size()) != http_scheme) throw bad("must start with http:// or https://");
  auto rest = url.substr(tls ? https_scheme.size() : http_scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) throw bad("must have no path");
  std::string_view host = rest;
  std::string_view port = tls ? "443" : "80";
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw bad("unterminated IPv6 address");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') throw bad("expected ':' after the IPv6 address");
      port = rest.substr(close + 2);
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) throw bad("has no host");
  // Digits only and at most five of them, so stoul cannot throw.
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
    throw bad("has an invalid port");
  }
  Url u;
  u.tls = tls;
  u.host = std::string(host);
  u.port = std::string(port);
  u.authority = std::string(rest);
  u.base = std::string(url);
  u.server_name = u.host;
  return u;
}

}  // namespace pit::outbound
