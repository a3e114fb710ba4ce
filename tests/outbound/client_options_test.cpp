// validate(ClientOptions): options built in code are checked like configuration.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "outbound/client_options.hpp"

using namespace std::chrono_literals;
using pit::ClientOptions;
using pit::outbound::validate;

namespace {

std::string error_of(const ClientOptions& o) {
  try {
    validate(o, "shop.v1.Inventory");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "valid";
}

ClientOptions with_endpoints() {
  ClientOptions o;
  o.endpoints = {"http://127.0.0.1:8081", "http://127.0.0.1:8082"};
  return o;
}

}  // namespace

TEST(ClientOptions, defaults_and_a_list_of_endpoints_are_valid) {
  EXPECT_EQ(error_of(ClientOptions{}), "valid");  // the URL given in code is used
  EXPECT_EQ(error_of(with_endpoints()), "valid");
  ClientOptions dns;
  dns.dns = "https://inventory.internal:8443";
  EXPECT_EQ(error_of(dns), "valid");
}

TEST(ClientOptions, each_bad_setting_is_refused_naming_the_client_and_the_setting) {
  const std::string prefix = "pit: clients.\"shop.v1.Inventory\": ";
  auto o = with_endpoints();
  o.endpoints.push_back("ftp://x:1");
  EXPECT_EQ(error_of(o), prefix + "endpoints: client base URL 'ftp://x:1': must start with http:// or https://");
  o = with_endpoints();
  o.dns = "http://inventory.internal:8081";
  EXPECT_EQ(error_of(o), prefix + "set endpoints or dns, not both");
  o = {};
  o.dns = "http://inventory.internal/path";
  EXPECT_EQ(error_of(o), prefix + "dns: client base URL 'http://inventory.internal/path': must have no path");
  o = with_endpoints();
  o.retry.budget_percent = 101;
  EXPECT_EQ(error_of(o), prefix + "retry_budget_percent must be within 0..100, not 101");
  o.retry.budget_percent = -0.5;
  EXPECT_EQ(error_of(o), prefix + "retry_budget_percent must be within 0..100, not -0.5");
  o = with_endpoints();
  o.retry.budget_per_second = -1;
  EXPECT_EQ(error_of(o), prefix + "retry_budget_per_second must be 0 or more, not -1");
  o = with_endpoints();
  o.retry.budget_window = 0ms;
  EXPECT_EQ(error_of(o), prefix + "retry_budget_window_ms must be positive");
  o = with_endpoints();
  o.retry.backoff_base = 2s;
  o.retry.backoff_max = 1s;
  EXPECT_EQ(error_of(o), prefix + "retry_backoff_base_ms (2000) exceeds retry_backoff_max_ms (1000)");
  o = with_endpoints();
  o.retry.max_attempts = 0;
  EXPECT_EQ(error_of(o), prefix + "retry_max_attempts must be at least 1 (1: no retries)");
  o = with_endpoints();
  o.max_in_flight = 0;
  EXPECT_EQ(error_of(o), prefix + "max_in_flight must be at least 1");
  o = with_endpoints();
  o.resolve_interval = 0ms;
  EXPECT_EQ(error_of(o), prefix + "resolve_interval_ms must be positive");
  o = with_endpoints();
  o.outlier.max_ejected_percent = 120;
  EXPECT_EQ(error_of(o), prefix + "outlier_max_ejected_percent must be within 0..100, not 120");
  o = with_endpoints();
  o.outlier.base_ejection = 60s;
  EXPECT_EQ(error_of(o), prefix + "outlier_base_ejection_ms (60000) exceeds outlier_max_ejection_ms (30000)");
  o = with_endpoints();
  o.operations["get"].retry_max_attempts = 0;
  EXPECT_EQ(error_of(o), prefix + "operations.get.retry_max_attempts must be at least 1 (1: no retries)");
}

TEST(ClientOptions, an_operation_overrides_its_clients_retry_and_hedge) {
  auto o = with_endpoints();
  o.retry.max_attempts = 4;
  o.hedge.mode = pit::Hedge::fixed;
  o.hedge.delay = 30ms;
  o.operations["place"].retry_max_attempts = 1;
  o.operations["place"].hedge = pit::Hedge::off;
  o.operations["get"].hedge_delay = 10ms;
  const auto place = pit::outbound::for_operation(o, "place");
  EXPECT_EQ(place.max_attempts, 1U);
  EXPECT_EQ(place.hedge, pit::Hedge::off);
  EXPECT_EQ(place.hedge_delay, 30ms);
  const auto get = pit::outbound::for_operation(o, "get");
  EXPECT_EQ(get.max_attempts, 4U);
  EXPECT_EQ(get.hedge, pit::Hedge::fixed);
  EXPECT_EQ(get.hedge_delay, 10ms);
  const auto other = pit::outbound::for_operation(o, "other");
  EXPECT_EQ(other.max_attempts, 4U);
}
