// parse_url: what a client's base URL may be, and the message when it is not.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "outbound/url.hpp"

using pit::outbound::parse_url;

namespace {

std::string error_of(std::string_view url) {
  try {
    (void)parse_url(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Url, http_url_with_port_splits_into_host_port_and_authority) {
  const auto u = parse_url("http://127.0.0.1:8081");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8081");
  EXPECT_EQ(u.authority, "127.0.0.1:8081");
  EXPECT_EQ(u.base, "http://127.0.0.1:8081");
  EXPECT_EQ(u.server_name, "127.0.0.1");
  EXPECT_EQ(u.key(), "127.0.0.1:8081");
}

TEST(Url, scheme_gives_the_default_port_and_tls) {
  const auto plain = parse_url("http://inventory.internal/");
  EXPECT_EQ(plain.port, "80");
  EXPECT_EQ(plain.authority, "inventory.internal");
  const auto secure = parse_url("https://inventory.internal");
  EXPECT_TRUE(secure.tls);
  EXPECT_EQ(secure.port, "443");
  EXPECT_EQ(secure.server_name, "inventory.internal");
}

TEST(Url, ipv6_address_loses_its_brackets_in_host_but_keeps_them_in_authority) {
  const auto u = parse_url("http://[::1]:9000");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, "9000");
  EXPECT_EQ(u.authority, "[::1]:9000");
  EXPECT_EQ(parse_url("https://[::1]").port, "443");
}

TEST(Url, bad_urls_are_refused_with_what_is_wrong) {
  EXPECT_EQ(error_of("ftp://127.0.0.1:1"), "pit: client base URL 'ftp://127.0.0.1:1': must start with http:// or https://");
  EXPECT_EQ(error_of("127.0.0.1:80"), "pit: client base URL '127.0.0.1:80': must start with http:// or https://");
  EXPECT_EQ(error_of("http://a:1/path"), "pit: client base URL 'http://a:1/path': must have no path");
  EXPECT_EQ(error_of("http://[::1:80"), "pit: client base URL 'http://[::1:80': unterminated IPv6 address");
  EXPECT_EQ(error_of("http://[::1]80"), "pit: client base URL 'http://[::1]80': expected ':' after the IPv6 address");
  EXPECT_EQ(error_of("http://:80"), "pit: client base URL 'http://:80': has no host");
  EXPECT_EQ(error_of("http://"), "pit: client base URL 'http://': has no host");
  for (const char* port : {"0", "65536", "99999", "8a", "", "123456", "-1"}) {
    const std::string url = std::string("http://h:") + port;
    EXPECT_EQ(error_of(url), "pit: client base URL '" + url + "': has an invalid port") << url;
  }
  EXPECT_EQ(parse_url("http://h:65535").port, "65535");
}
