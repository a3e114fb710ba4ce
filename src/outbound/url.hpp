// The address of one endpoint of a downstream service: what to connect to, and the name
// the requests and the TLS handshake carry.
#pragma once

#include <string>
#include <string_view>

namespace pit::outbound {

struct Url {
  bool tls = false;        // https://
  std::string host;        // what to connect to: a name, or an IP (IPv6 without brackets)
  std::string port;        // digits; 80 or 443 when the URL gives none
  std::string authority;   // the Host header: "name:port" as written in the URL
  std::string base;        // as given (or, for a resolved DNS address, "base (ip)"), for messages
  // The name the server's certificate is checked against (and SNI): `host` for a URL
  // given as is; the DNS name for an endpoint made from one of its addresses.
  std::string server_name;

  // host:port: one endpoint's identity inside a set (replace() keeps state by it).
  [[nodiscard]] std::string key() const { return host + ":" + port; }
};

// "http://host:port" or "https://host:port" (IPv6 as [addr]); a trailing '/' is allowed, a
// path is not. Throws std::invalid_argument "pit: client base URL '<url>': <why>".
Url parse_url(std::string_view url);

}  // namespace pit::outbound
