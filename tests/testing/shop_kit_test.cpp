// The conformance kit on the shop example: its three roles served the way its processes
// serve them (examples/shop/roles.hpp), with its own configuration (shop.toml) and its
// committed contract lock, on one host whose in-process clients connect the roles (main's
// path for an empty downstream URL), with identity on: bearer tokens from a development
// key over HTTP, a service identity in-process.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "identity/dev_signer.hpp"
#include "pit/testing/gtest.hpp"
#include "shop/roles.hpp"

namespace {

constexpr std::string_view kIssuer = "https://idp.shop.test";
constexpr std::string_view kAudience = "https://shop.test";
constexpr std::string_view kScopes = "inventory.reserve inventory.read orders.place orders.read shop.buy";

// A directory of its own for the test's files (the JWKS, the deduplication store),
// removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char name[] = "/tmp/pit-shop-kit-XXXXXX";
    if (mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp");
    path = name;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

TEST(ShopKit, the_shop_keeps_pits_guarantees) {
  TempDir dir;
  pit::detail::identity::DevSigner signer{pit::detail::identity::DevSigner::Alg::ES256, "shop-kit-1"};
  std::ofstream{dir.path / "jwks.json"} << signer.jwks();

  shop::Settings settings;
  pit::HostOptions options = pit::Config::from_file(PIT_SHOP_TOML, settings.app);
  // What the test environment adds to the shop's configuration: its identity provider
  // (a local key), tokens on plaintext loopback, and the deduplication store in a
  // directory of its own (the shop's default is the working directory).
  options.auth.issuer = std::string(kIssuer);
  options.auth.jwks_file = (dir.path / "jwks.json").string();
  options.auth.audiences = {std::string(kAudience)};
  options.auth.plaintext_bearer = true;
  options.durability.sqlite_path = (dir.path / "shop.dedup.sqlite").string();

  pit::Host host{options};
  shop::serve_inventory(host, settings);
  shop::serve_orders(host, "");
  shop::serve_gateway(host, "");

  pit::testing::Hints hints;
  // Valid requests: a sku in stock ("bulk" never runs out), a positive quantity. place and
  // buy are deduplicated: the kit sends a fresh Idempotency-Key with each call.
  hints.requests["shop.v1.Inventory/reserve"] = R"({"sku":"bulk","quantity":1})";
  hints.requests["shop.v1.Inventory/stock"] = R"({"sku":"apple"})";
  hints.requests["shop.v1.Orders/place"] = R"({"sku":"bulk","quantity":1})";
  hints.requests["shop.v1.Orders/availability"] = R"({"sku":"apple"})";
  hints.requests["shop.v1.Orders/placed"] = R"({"sku":"apple"})";
  hints.requests["shop.v1.Gateway/buy"] = R"({"sku":"bulk","quantity":1})";
  hints.authorization =
      "Bearer " + signer.access_token(kIssuer, kAudience, "shop-kit", kScopes, std::chrono::hours(1));
  hints.identity = pit::service_identity("shop-kit", {"inventory.reserve", "inventory.read", "orders.place",
                                                      "orders.read", "shop.buy"});
  hints.lock_file = PIT_SHOP_LOCK;

  const pit::testing::Report report = pit::testing::expect_guarantees(host, hints);
  EXPECT_GT(report.count(pit::testing::Verdict::passed), 0U);
  host.stop();
}

}  // namespace
