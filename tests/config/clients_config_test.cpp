// [clients."<contract>"]: how this host calls a downstream contract. Every key lands in
// HostOptions::clients, and every bad setting stops the start with file:line:col and why.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "pit/config.hpp"

namespace {

using namespace std::chrono_literals;
using Environment = std::map<std::string, std::string>;
const Environment kNone;

pit::HostOptions parse(const std::string& text) { return pit::Config::from_toml(text, "app.toml", &kNone); }

std::string error_of(const std::string& text) {
  try {
    (void)parse(text);
  } catch (const pit::ConfigError& e) {
    return e.what();
  }
  return "no ConfigError";
}

}  // namespace

TEST(ClientsConfig, every_key_lands_in_the_clients_options) {
  const auto o = parse(R"([clients."shop.v1.Inventory"]
endpoints = ["http://127.0.0.1:8081", "https://[::1]:8443/"]
resolve_interval_ms = 2000
balancer = "round_robin"
max_in_flight = 64
retry_max_attempts = 4
retry_backoff_base_ms = 10
retry_backoff_max_ms = 500
retry_budget_percent = 12.5
retry_budget_per_second = 2
retry_budget_window_ms = 5000
hedge = "p95"
hedge_delay_ms = 20
outlier_consecutive_failures = 3
outlier_base_ejection_ms = 500
outlier_max_ejection_ms = 10000
outlier_max_ejected_percent = 34

[clients."shop.v1.Inventory".operations.reserve]
retry_max_attempts = 1
hedge = "off"
hedge_delay_ms = 5

[clients."shop.v1.Payments"]
dns = "https://payments.internal:8443"
)");
  ASSERT_EQ(o.clients.size(), 2U);
  const pit::ClientOptions& c = o.clients.at("shop.v1.Inventory");
  EXPECT_EQ(c.endpoints, (std::vector<std::string>{"http://127.0.0.1:8081", "https://[::1]:8443/"}));
  EXPECT_EQ(c.dns, "");
  EXPECT_EQ(c.resolve_interval, 2000ms);
  EXPECT_EQ(c.balancer, pit::Balancer::round_robin);
  EXPECT_EQ(c.max_in_flight, 64U);
  EXPECT_EQ(c.retry.max_attempts, 4U);
  EXPECT_EQ(c.retry.backoff_base, 10ms);
  EXPECT_EQ(c.retry.backoff_max, 500ms);
  EXPECT_DOUBLE_EQ(c.retry.budget_percent, 12.5);
  EXPECT_DOUBLE_EQ(c.retry.budget_per_second, 2.0);
  EXPECT_EQ(c.retry.budget_window, 5000ms);
  EXPECT_EQ(c.hedge.mode, pit::Hedge::p95);
  EXPECT_EQ(c.hedge.delay, 20ms);
  EXPECT_EQ(c.outlier.consecutive_failures, 3U);
  EXPECT_EQ(c.outlier.base_ejection, 500ms);
  EXPECT_EQ(c.outlier.max_ejection, 10000ms);
  EXPECT_EQ(c.outlier.max_ejected_percent, 34);
  const pit::ClientOperationOptions& reserve = c.operations.at("reserve");
  EXPECT_EQ(reserve.retry_max_attempts, 1U);
  EXPECT_EQ(reserve.hedge, pit::Hedge::off);
  EXPECT_EQ(reserve.hedge_delay, 5ms);
  const pit::ClientOptions& p = o.clients.at("shop.v1.Payments");
  EXPECT_EQ(p.dns, "https://payments.internal:8443");
  EXPECT_TRUE(p.endpoints.empty());
  EXPECT_EQ(p.retry.max_attempts, pit::RetryOptions{}.max_attempts);  // unset keys keep the defaults
}

TEST(ClientsConfig, budget_numbers_take_integers_and_floats) {
  EXPECT_DOUBLE_EQ(parse("[clients.\"a.C\"]\nretry_budget_percent = 20\n").clients.at("a.C").retry.budget_percent, 20.0);
  EXPECT_DOUBLE_EQ(parse("[clients.\"a.C\"]\nretry_budget_percent = 0.5\n").clients.at("a.C").retry.budget_percent, 0.5);
  EXPECT_DOUBLE_EQ(parse("[clients.\"a.C\"]\nretry_budget_percent = 100\n").clients.at("a.C").retry.budget_percent, 100);
  EXPECT_DOUBLE_EQ(parse("[clients.\"a.C\"]\nretry_budget_percent = 0\n").clients.at("a.C").retry.budget_percent, 0);
  EXPECT_DOUBLE_EQ(parse("[clients.\"a.C\"]\nretry_budget_per_second = 0.25\n").clients.at("a.C").retry.budget_per_second,
                   0.25);
}

TEST(ClientsConfig, an_unparseable_endpoint_is_refused_where_it_stands) {
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nendpoints = [\"http://a:1\", \"ftp://b:2\"]\n"),
            "app.toml:2:28: clients.\"a.C\".endpoints[1]: client base URL 'ftp://b:2': must start with http:// or https://");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nendpoints = [\"http://a:99999\"]\n"),
            "app.toml:2:14: clients.\"a.C\".endpoints[0]: client base URL 'http://a:99999': has an invalid port");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nendpoints = [\"http://a:1/v1\"]\n"),
            "app.toml:2:14: clients.\"a.C\".endpoints[0]: client base URL 'http://a:1/v1': must have no path");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nendpoints = [1]\n"),
            "app.toml:2:14: clients.\"a.C\".endpoints[0]: expected a string, got an integer");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nendpoints = \"http://a:1\"\n"),
            "app.toml:2:13: clients.\"a.C\".endpoints: expected an array of strings, got a string");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\ndns = \"inventory.internal\"\n"),
            "app.toml:2:7: clients.\"a.C\".dns: client base URL 'inventory.internal': must start with http:// or "
            "https://");
}

TEST(ClientsConfig, an_empty_endpoint_list_is_refused) {
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nendpoints = []\n"),
            "app.toml:2:13: clients.\"a.C\".endpoints: an empty list: give at least one endpoint, or leave endpoints "
            "out");
}

TEST(ClientsConfig, endpoints_and_dns_together_are_refused_at_the_later_one) {
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nendpoints = [\"http://a:1\"]\ndns = \"http://a.internal:1\"\n"),
            "app.toml:3:1: clients.\"a.C\".dns: set endpoints or dns, not both");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\ndns = \"http://a.internal:1\"\nendpoints = [\"http://a:1\"]\n"),
            "app.toml:3:1: clients.\"a.C\".endpoints: set endpoints or dns, not both");
}

TEST(ClientsConfig, a_budget_out_of_range_is_refused) {
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_budget_percent = 101\n"),
            "app.toml:2:24: clients.\"a.C\".retry_budget_percent: 101.0 is out of range (0..100)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_budget_percent = 100.5\n"),
            "app.toml:2:24: clients.\"a.C\".retry_budget_percent: 100.5 is out of range (0..100)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_budget_percent = -1\n"),
            "app.toml:2:24: clients.\"a.C\".retry_budget_percent: -1.0 is out of range (0..100)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_budget_percent = nan\n"),
            "app.toml:2:24: clients.\"a.C\".retry_budget_percent: nan is out of range (0..100)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_budget_per_second = -0.5\n"),
            "app.toml:2:27: clients.\"a.C\".retry_budget_per_second: -0.5 is out of range (0..1000000)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_budget_percent = \"20%\"\n"),
            "app.toml:2:24: clients.\"a.C\".retry_budget_percent: expected a number (integer or float), got a string");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_budget_window_ms = 0\n"),
            "app.toml:2:26: clients.\"a.C\".retry_budget_window_ms: 0 is out of range (1..3600000)");
}

TEST(ClientsConfig, a_backoff_base_above_its_maximum_is_refused) {
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_backoff_base_ms = 2000\n"),
            "app.toml:2:1: clients.\"a.C\".retry_backoff_base_ms: retry_backoff_base_ms (2000) exceeds "
            "retry_backoff_max_ms (1000)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_backoff_base_ms = 50\nretry_backoff_max_ms = 40\n"),
            "app.toml:3:1: clients.\"a.C\".retry_backoff_max_ms: retry_backoff_base_ms (50) exceeds "
            "retry_backoff_max_ms (40)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\noutlier_max_ejection_ms = 10\n"),
            "app.toml:2:1: clients.\"a.C\".outlier_max_ejection_ms: outlier_base_ejection_ms (1000) exceeds "
            "outlier_max_ejection_ms (10)");
}

TEST(ClientsConfig, an_unknown_key_is_refused_with_a_suggestion) {
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_max_attempt = 2\n"),
            "app.toml:2:1: clients.\"a.C\".retry_max_attempt: unknown key (did you mean retry_max_attempts?)");
  EXPECT_EQ(error_of("[clients.\"a.C\".operations.get]\nhedge_delay = 5\n"),
            "app.toml:2:1: clients.\"a.C\".operations.get.hedge_delay: unknown key (did you mean hedge_delay_ms?)");
  EXPECT_EQ(error_of("[clients.\"a.C\".operations.get]\ntimeout_ms = 5\n").find("app.toml:2:1: clients.\"a.C\".operations.get.timeout_ms: unknown key"),
            0U);
  EXPECT_EQ(error_of("[client.\"a.C\"]\nendpoints = [\"http://a:1\"]\n"),
            "app.toml:1:2: client: unknown key (did you mean clients?)");
}

TEST(ClientsConfig, names_and_enumerations_are_checked) {
  EXPECT_EQ(error_of("[clients.\"shop/v1\"]\n"),
            "app.toml:1:10: clients.\"shop/v1\": not a contract name (letters, digits, '.' and '_')");
  EXPECT_EQ(error_of("[clients.\"a.C\".operations.\"1x\"]\n"),
            "app.toml:1:27: clients.\"a.C\".operations.1x: not an operation name (an identifier)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nbalancer = \"least_loaded\"\n"),
            "app.toml:2:12: clients.\"a.C\".balancer: \"least_loaded\" is not a balancer (\"p2c\", \"round_robin\")");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nhedge = \"always\"\n"),
            "app.toml:2:9: clients.\"a.C\".hedge: \"always\" is not a hedging mode (\"off\", \"fixed\", \"p95\")");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\nretry_max_attempts = 0\n"),
            "app.toml:2:22: clients.\"a.C\".retry_max_attempts: 0 is out of range (1..100)");
  EXPECT_EQ(error_of("[clients.\"a.C\".operations.get]\nretry_max_attempts = 0\n"),
            "app.toml:2:22: clients.\"a.C\".operations.get.retry_max_attempts: 0 is out of range (1..100)");
  EXPECT_EQ(error_of("[clients.\"a.C\"]\noutlier_max_ejected_percent = 101\n"),
            "app.toml:2:31: clients.\"a.C\".outlier_max_ejected_percent: 101 is out of range (0..100)");
  EXPECT_EQ(error_of("[clients]\n\"a.C\" = 5\n"), "app.toml:2:9: clients.\"a.C\": expected a table, got an integer");
}

TEST(ClientsConfig, the_defaults_of_keys_are_client_options_defaults) {
  std::map<std::string, std::string> defaults;
  for (const auto& key : pit::Config::keys()) {
    if (!key.name.starts_with("clients.")) continue;
    EXPECT_EQ(key.environment, "") << key.name;
    defaults[key.name] = key.default_value;
  }
  EXPECT_EQ(defaults.size(), 20U);
  EXPECT_EQ(defaults["clients.<contract>.retry_budget_percent"], "20.0");
  EXPECT_EQ(defaults["clients.<contract>.endpoints"], "[]");
  EXPECT_EQ(defaults["clients.<contract>.balancer"], "\"p2c\"");
  EXPECT_EQ(defaults["clients.<contract>.operations.<operation>.hedge"], "(unset)");
}
