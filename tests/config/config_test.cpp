// Configuration: embedded production defaults, one TOML file over them, PIT_* variables
// over the file; every mistake stops the start with the file, line and key; and
// docs/configuration.md lists exactly the keys the parser accepts.
#include "pit/config.hpp"
#include "shop/settings.hpp"  // examples/shop: its shop.toml has an [app] section

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Environment = std::map<std::string, std::string>;

const Environment kNoEnvironment;

pit::HostOptions parse(const std::string& text, const Environment& environment = kNoEnvironment) {
  return pit::Config::from_toml(text, "app.toml", &environment);
}

// The message of the ConfigError `f` throws; fails the test if it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const pit::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ConfigError";
  return {};
}

std::string read(const std::string& path) {
  std::ifstream in{path};
  EXPECT_TRUE(in) << "cannot read " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream{path} << text;
  return path;
}

// Sets (or unsets) a process environment variable for the scope; restores it after.
class ScopedVariable {
 public:
  ScopedVariable(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) {
      ::setenv(name_.c_str(), value->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ~ScopedVariable() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }
  ScopedVariable(const ScopedVariable&) = delete;
  ScopedVariable& operator=(const ScopedVariable&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// argv as from_args sees it.
struct Args {
  explicit Args(std::vector<std::string> args) : storage(std::move(args)) {
    for (auto& a : storage) pointers.push_back(a.data());
    pointers.push_back(nullptr);
  }
  int argc() const { return static_cast<int>(storage.size()); }
  char** argv() { return pointers.data(); }
  std::vector<std::string> storage;
  std::vector<char*> pointers;
};

// --- Defaults ------------------------------------------------------------------------

TEST(Config, without_a_file_the_service_runs_with_production_defaults) {
  const pit::HostOptions o = parse("");
  const pit::HostOptions in_code;
  EXPECT_EQ(o.http.listen, "127.0.0.1:8080");  // a service listens, on loopback
  EXPECT_EQ(o.admin.listen, "127.0.0.1:9901");
  EXPECT_EQ(o.workers, in_code.workers);
  EXPECT_EQ(o.worker_queue, in_code.worker_queue);
  EXPECT_EQ(o.default_timeout, in_code.default_timeout);
  EXPECT_EQ(o.shutdown_grace, in_code.shutdown_grace);
  EXPECT_EQ(o.log_level, in_code.log_level);
  EXPECT_EQ(o.log_calls, in_code.log_calls);
  EXPECT_EQ(o.http.max_body_bytes, in_code.http.max_body_bytes);
  EXPECT_EQ(o.http.read_timeout, in_code.http.read_timeout);
  EXPECT_TRUE(o.operations.empty());
  EXPECT_EQ(pit::Config::defaults().http.listen, o.http.listen);
}

TEST(Config, from_args_without_config_flag_or_PIT_CONFIG_gives_the_defaults) {
  const ScopedVariable no_config{"PIT_CONFIG", std::nullopt};
  Args args{{"service", "--verbose"}};  // other flags are the program's
  const pit::HostOptions o = pit::Config::from_args(args.argc(), args.argv());
  EXPECT_EQ(o.http.listen, "127.0.0.1:8080");
  EXPECT_EQ(o.workers, pit::HostOptions{}.workers);
}

// --- The file ------------------------------------------------------------------------

TEST(Config, file_overrides_each_key_and_leaves_the_rest_at_their_defaults) {
  const pit::HostOptions o = parse(R"(
[host]
io_threads = 2
workers = 3
worker_queue = 4
default_timeout_ms = 5000
shutdown_grace_ms = 6000

[log]
level = "warn"
calls = false

[http]
listen = "[::1]:0"
max_body_bytes = 1000
max_header_bytes = 2048
read_timeout_ms = 700
idle_timeout_ms = 800
max_connections = 90
client_pool_idle = 0
)");
  EXPECT_EQ(o.io_threads, 2U);
  EXPECT_EQ(o.workers, 3U);
  EXPECT_EQ(o.worker_queue, 4U);
  EXPECT_EQ(o.default_timeout, 5000ms);
  EXPECT_EQ(o.shutdown_grace, 6000ms);
  EXPECT_EQ(o.log_level, pit::log::Level::warn);
  EXPECT_FALSE(o.log_calls);
  EXPECT_EQ(o.http.listen, "[::1]:0");
  EXPECT_EQ(o.http.max_body_bytes, 1000U);
  EXPECT_EQ(o.http.max_header_bytes, 2048U);
  EXPECT_EQ(o.http.read_timeout, 700ms);
  EXPECT_EQ(o.http.idle_timeout, 800ms);
  EXPECT_EQ(o.http.max_connections, 90U);
  EXPECT_EQ(o.http.client_pool_idle, 0U);
  EXPECT_EQ(o.admin.listen, "127.0.0.1:9901");  // not in the file: the default
}

TEST(Config, an_empty_listen_switches_the_listener_off) {
  const pit::HostOptions o = parse("http.listen = \"\"\nadmin.listen = \"\"\n");
  EXPECT_EQ(o.http.listen, "");
  EXPECT_EQ(o.admin.listen, "");
}

TEST(Config, contract_and_operation_sections_become_host_operations) {
  const pit::HostOptions o = parse(R"(
[contracts."shop.v1.Orders"]
timeout_ms = 3000
log_calls = false

[contracts."shop.v1.Orders".operations.place]
max_body_bytes = 4096
timeout_ms = 500

[contracts."shop.v1.Inventory".operations.stock]
log_calls = true
)");
  ASSERT_EQ(o.operations.size(), 4U);  // Inventory is named by its operation's table
  const auto& orders = o.operations.at("shop.v1.Orders");
  EXPECT_EQ(orders.timeout, 3000ms);
  EXPECT_EQ(orders.log_calls, false);
  EXPECT_FALSE(orders.max_body_bytes);
  const auto& place = o.operations.at("shop.v1.Orders/place");
  EXPECT_EQ(place.timeout, 500ms);
  EXPECT_EQ(place.max_body_bytes, 4096U);
  EXPECT_FALSE(place.log_calls);  // unset: falls through to the contract
  EXPECT_EQ(o.operations.at("shop.v1.Inventory/stock").log_calls, true);
  EXPECT_TRUE(o.operations.contains("shop.v1.Inventory"));
}

TEST(Config, admission_and_fault_injection_keys_reach_the_host_options) {
  const pit::HostOptions defaults = parse("");
  EXPECT_EQ(defaults.admission.max_in_flight, 1000U);
  EXPECT_EQ(defaults.admission.max_queue, 1000U);
  EXPECT_FALSE(defaults.fault_injection);
  const pit::HostOptions o = parse(R"(
[admission]
max_in_flight = 64
max_queue = 0

[fault_injection]
enabled = true

[contracts."shop.v1.Inventory".operations.reserve]
max_in_flight = 4
max_queue = 2
inject_percent = 25
inject_delay_ms = 150
inject_code = "unavailable"
)");
  EXPECT_EQ(o.admission.max_in_flight, 64U);
  EXPECT_EQ(o.admission.max_queue, 0U);
  EXPECT_TRUE(o.fault_injection);
  const auto& reserve = o.operations.at("shop.v1.Inventory/reserve");
  EXPECT_EQ(reserve.max_in_flight, 4U);
  EXPECT_EQ(reserve.max_queue, 2U);
  EXPECT_EQ(reserve.inject_percent, 25);
  EXPECT_EQ(reserve.inject_delay, 150ms);
  EXPECT_EQ(reserve.inject_code, pit::Code::unavailable);
  const Environment env{{"PIT_FAULT_INJECTION_ENABLED", "false"}, {"PIT_ADMISSION_MAX_IN_FLIGHT", "8"}};
  const pit::HostOptions overridden = parse("[fault_injection]\nenabled = true\n", env);
  EXPECT_FALSE(overridden.fault_injection) << "the environment can switch injection off";
  EXPECT_EQ(overridden.admission.max_in_flight, 8U);
}

TEST(Config, durability_keys_choose_the_store_and_reach_the_host_options) {
  const pit::HostOptions defaults = parse("");
  EXPECT_EQ(defaults.durability.store, pit::DedupStore::sqlite);
  EXPECT_EQ(defaults.durability.postgres_connections, 4U);
  const pit::HostOptions o = parse(R"(
[durability]
store = "postgres"
postgres_url = "host=db dbname=pit user=pit"
postgres_connections = 16
)");
  EXPECT_EQ(o.durability.store, pit::DedupStore::postgres);
  EXPECT_EQ(o.durability.postgres_url, "host=db dbname=pit user=pit");
  EXPECT_EQ(o.durability.postgres_connections, 16U);
  const Environment env{{"PIT_DURABILITY_POSTGRES_URL", "postgresql://pit:s3cret@db/pit"}, {"PIT_DURABILITY_STORE", "sqlite"}};
  const pit::HostOptions overridden = parse("[durability]\nstore = \"postgres\"\n", env);
  EXPECT_EQ(overridden.durability.store, pit::DedupStore::sqlite);
  EXPECT_EQ(overridden.durability.postgres_url, "postgresql://pit:s3cret@db/pit");
  EXPECT_EQ(error_of([] { parse("", {{"PIT_DURABILITY_STORE", "mongodb"}}); }),
            "environment PIT_DURABILITY_STORE: \"mongodb\" is not \"sqlite\" or \"postgres\"");
  EXPECT_EQ(error_of([] { parse("", {{"PIT_DURABILITY_POSTGRES_CONNECTIONS", "0"}}); }),
            "environment PIT_DURABILITY_POSTGRES_CONNECTIONS: 0 is out of range (1..1000)");
}

TEST(Config, reply_limits_reach_the_host_and_operation_options) {
  EXPECT_EQ(parse("").http.max_reply_bytes, 4U << 20U);
  const pit::HostOptions o = parse(R"(
[http]
max_reply_bytes = 65536
[contracts."shop.v1.Orders".operations.place]
max_reply_bytes = 1048576
)");
  EXPECT_EQ(o.http.max_reply_bytes, 65536U);
  EXPECT_EQ(o.operations.at("shop.v1.Orders/place").max_reply_bytes, 1048576U);
  EXPECT_NE(error_of([] { (void)parse("[http]\nmax_reply_bytes = 0\n"); }).find("app.toml:2:19"), std::string::npos);
}

TEST(Config, log_redaction_keys_are_a_comma_separated_list_and_redaction_a_switch) {
  const pit::HostOptions defaults = parse("");
  EXPECT_TRUE(defaults.log_redaction.enabled);
  EXPECT_TRUE(defaults.log_redaction.keys.empty());
  const pit::HostOptions o = parse("[log]\nredact = false\nredact_keys = \"ssn, session_id,x-pin\"\n");
  EXPECT_FALSE(o.log_redaction.enabled);
  EXPECT_EQ(o.log_redaction.keys, (std::vector<std::string>{"ssn", "session_id", "x-pin"}));
  const Environment env{{"PIT_LOG_REDACT_KEYS", "iban"}};
  EXPECT_EQ(parse("", env).log_redaction.keys, (std::vector<std::string>{"iban"}));
  const auto empty_name = error_of([] { (void)parse("[log]\nredact_keys = \"ssn,,pin\"\n"); });
  EXPECT_NE(empty_name.find("app.toml:2:15: log.redact_keys"), std::string::npos) << empty_name;
  EXPECT_NE(error_of([] { (void)parse("[log]\nredact_keys = \"a b\"\n"); }).find("list of names"), std::string::npos);
  EXPECT_NE(error_of([] { (void)parse("[log]\nredact_keys = [\"ssn\"]\n"); }).find("expected a string"),
            std::string::npos);
}

TEST(Config, fault_injection_mistakes_name_file_line_and_key) {
  EXPECT_EQ(error_of([] { parse("[contracts.\"a.B\".operations.op]\ninject_code = \"unavaliable\"\n"); }),
            "app.toml:2:15: contracts.\"a.B\".operations.op.inject_code: \"unavaliable\" is not a fault code "
            "(cancelled, unknown, invalid_argument, deadline_exceeded, not_found, already_exists, "
            "permission_denied, resource_exhausted, failed_precondition, aborted, out_of_range, unimplemented, "
            "internal, unavailable, data_loss, unauthenticated)");
  EXPECT_NE(error_of([] { parse("[contracts.\"a.B\"]\ninject_code = \"ok\"\n"); }).find("is not a fault code"),
            std::string::npos)
      << "ok is not a fault";
  EXPECT_EQ(error_of([] { parse("[contracts.\"a.B\"]\ninject_percent = 101\n"); }),
            "app.toml:2:18: contracts.\"a.B\".inject_percent: 101 is out of range (0..100)");
  EXPECT_EQ(error_of([] { parse("[contracts.\"a.B\"]\nmax_in_flight = 0\n"); }),
            "app.toml:2:17: contracts.\"a.B\".max_in_flight: 0 is out of range (1..10000000)");
}

TEST(Config, the_shop_example_file_is_valid) {
  shop::Settings settings;  // the shop's [app] keys
  const pit::HostOptions o = pit::Config::from_toml(read(PIT_SOURCE_DIR "/examples/shop/shop.toml"),
                                                    "examples/shop/shop.toml", &kNoEnvironment, settings.app);
  EXPECT_EQ(o.operations.at("shop.v1.Orders").timeout, 3000ms);
  EXPECT_EQ(o.operations.at("shop.v1.Orders/place").max_body_bytes, 16384U);
  EXPECT_EQ(*settings.low_stock, 1);
}

// --- Mistakes in the file ------------------------------------------------------------

TEST(Config, unknown_key_names_file_line_and_key_and_suggests_the_right_one) {
  const std::string text =
      "[host]\n"
      "workers = 4\n"
      "\n"
      "[http]\n"
      "lisen = \"127.0.0.1:80\"\n";
  EXPECT_EQ(error_of([&] { parse(text); }),
            "app.toml:5:1: http.lisen: unknown key (did you mean http.listen?)");
}

TEST(Config, unknown_key_far_from_any_has_no_suggestion) {
  EXPECT_EQ(error_of([] { parse("[http]\n\ncompression = true\n"); }),
            "app.toml:3:1: http.compression: unknown key");
}

TEST(Config, unknown_section_names_file_line_and_key) {
  EXPECT_EQ(error_of([] { parse("# a comment\n[htp]\nlisten = \"\"\n"); }),
            "app.toml:2:2: htp: unknown key (did you mean http?)");
}

TEST(Config, wrong_type_names_file_line_and_key) {
  EXPECT_EQ(error_of([] { parse("[host]\nworkers = \"8\"\n"); }),
            "app.toml:2:11: host.workers: expected an integer, got a string");
  EXPECT_EQ(error_of([] { parse("[log]\n\n\ncalls = 1\n"); }),
            "app.toml:4:9: log.calls: expected a boolean, got an integer");
  EXPECT_EQ(error_of([] { parse("[http]\nlisten = 8080\n"); }),
            "app.toml:2:10: http.listen: expected a string, got an integer");
  EXPECT_EQ(error_of([] { parse("host = 3\n"); }), "app.toml:1:8: host: expected a table, got an integer");
}

TEST(Config, out_of_range_value_names_file_line_key_and_range) {
  EXPECT_EQ(error_of([] { parse("[host]\nio_threads = 1\nworkers = 0\n"); }),
            "app.toml:3:11: host.workers: 0 is out of range (1..4096)");
  EXPECT_EQ(error_of([] { parse("[http]\nmax_header_bytes = 100\n"); }),
            "app.toml:2:20: http.max_header_bytes: 100 is out of range (1024..1048576)");
  EXPECT_EQ(error_of([] { parse("[host]\nshutdown_grace_ms = -1\n"); }),
            "app.toml:2:21: host.shutdown_grace_ms: -1 is out of range (0..3600000)");
}

TEST(Config, invalid_log_level_names_the_levels) {
  EXPECT_EQ(error_of([] { parse("[log]\nlevel = \"verbose\"\n"); }),
            "app.toml:2:9: log.level: \"verbose\" is not a level (\"debug\", \"info\", \"warn\", \"error\", "
            "\"off\")");
}

TEST(Config, listen_must_be_an_ip_address_and_port) {
  for (const char* bad : {"8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "localhost:80", "::1:80",
                          "1.2.3:80", "127.0.0.1:8o"}) {
    const std::string message = error_of([&] { parse(std::string{"[admin]\nlisten = \""} + bad + "\"\n"); });
    EXPECT_TRUE(message.starts_with("app.toml:2:10: admin.listen: \"")) << bad << " → " << message;
    EXPECT_NE(message.find("is not \"address:port\""), std::string::npos) << message;
  }
  for (const char* good : {"0.0.0.0:80", "127.0.0.1:0", "[::]:443", "[::1]:65535", ""}) {
    EXPECT_EQ(parse(std::string{"admin.listen = \""} + good + "\"\n").admin.listen, good);
  }
}

TEST(Config, syntax_error_names_file_and_line) {
  const std::string message = error_of([] { parse("[host]\nworkers = 4\nio_threads = = 5\n"); });
  EXPECT_TRUE(message.starts_with("app.toml:3:14: ")) << message;  // then toml++'s words
}

TEST(Config, duplicate_key_is_an_error_with_its_line) {
  const std::string message = error_of([] { parse("[host]\nworkers = 4\nworkers = 5\n"); });
  EXPECT_TRUE(message.starts_with("app.toml:3:11: ")) << message;
}

TEST(Config, mistakes_in_contract_sections_name_file_line_and_key) {
  EXPECT_EQ(error_of([] { parse("[contracts.\"shop.v1.Orders\"]\ntimeout = 5\n"); }),
            "app.toml:2:1: contracts.\"shop.v1.Orders\".timeout: unknown key (did you mean timeout_ms?)");
  EXPECT_EQ(
      error_of([] { parse("[contracts.\"shop.v1.Orders\".operations.place]\n\nmax_body_bytes = 0\n"); }),
      "app.toml:3:18: contracts.\"shop.v1.Orders\".operations.place.max_body_bytes: 0 is out of range "
      "(1..1073741824)");
  EXPECT_EQ(error_of([] { parse("[contracts.\"shop.v1.Orders\"]\nlog_calls = \"no\"\n"); }),
            "app.toml:2:13: contracts.\"shop.v1.Orders\".log_calls: expected a boolean, got a string");
  EXPECT_EQ(error_of([] { parse("[contracts.\"shop/v1\"]\ntimeout_ms = 5\n"); }),
            "app.toml:1:12: contracts.\"shop/v1\": not a contract name (letters, digits, '.' and '_')");
  EXPECT_EQ(error_of([] { parse("[contracts.Orders.operations.\"pl-ace\"]\ntimeout_ms = 5\n"); }),
            "app.toml:1:30: contracts.Orders.operations.pl-ace: not an operation name (an identifier)");
}

TEST(Config, missing_file_names_the_file) {
  const std::string message = error_of([] { pit::Config::from_file("/nonexistent/pit.toml"); });
  EXPECT_TRUE(message.starts_with("/nonexistent/pit.toml: cannot read the configuration file")) << message;
}

// --- The environment -----------------------------------------------------------------

TEST(Config, environment_overrides_the_file) {
  const Environment environment{
      {"PIT_HOST_WORKERS", "12"},
      {"PIT_HTTP_LISTEN", "0.0.0.0:9000"},
      {"PIT_LOG_LEVEL", "debug"},
      {"PIT_LOG_CALLS", "false"},
      {"PIT_ADMIN_LISTEN", ""},
      {"PIT_HOST_SHUTDOWN_GRACE_MS", "0"},
      {"PIT_HTTP_MAX_BODY_BYTES", "2048"},
  };
  const pit::HostOptions o =
      parse("[host]\nworkers = 4\nworker_queue = 9\n[http]\nlisten = \"127.0.0.1:1\"\n", environment);
  EXPECT_EQ(o.workers, 12U);
  EXPECT_EQ(o.worker_queue, 9U);  // the file's, not overridden
  EXPECT_EQ(o.http.listen, "0.0.0.0:9000");
  EXPECT_EQ(o.log_level, pit::log::Level::debug);
  EXPECT_FALSE(o.log_calls);
  EXPECT_EQ(o.admin.listen, "");  // empty: no admin listener
  EXPECT_EQ(o.shutdown_grace, 0ms);
  EXPECT_EQ(o.http.max_body_bytes, 2048U);
}

TEST(Config, tls_settings_come_from_the_file_and_the_environment) {
  const auto o = parse(
      "[http]\ntls_cert_file = \"/etc/pit/cert.pem\"\ntls_key_file = \"/etc/pit/key.pem\"\n"
      "tls_client_ca_file = \"/etc/pit/clients.pem\"\ntls_client_auth = \"optional\"\ntls_reload_ms = 0\n"
      "client_ca_file = \"/etc/pit/ca.pem\"\n");
  EXPECT_EQ(o.http.tls_cert_file, "/etc/pit/cert.pem");
  EXPECT_EQ(o.http.tls_key_file, "/etc/pit/key.pem");
  EXPECT_EQ(o.http.tls_client_ca_file, "/etc/pit/clients.pem");
  EXPECT_EQ(o.http.tls_client_auth, pit::HttpOptions::ClientAuth::optional);
  EXPECT_EQ(o.http.tls_reload_interval, 0ms);
  EXPECT_EQ(o.http.client_ca_file, "/etc/pit/ca.pem");
  const Environment env{{"PIT_HTTP_TLS_CLIENT_AUTH", "required"}, {"PIT_HTTP_CLIENT_CERT_FILE", "/c.pem"}};
  EXPECT_EQ(parse("", env).http.tls_client_auth, pit::HttpOptions::ClientAuth::required);
  EXPECT_EQ(parse("", env).http.client_cert_file, "/c.pem");
  EXPECT_EQ(parse("").http.tls_client_auth, pit::HttpOptions::ClientAuth::none);
  const auto bad = error_of([] { (void)parse("[http]\ntls_client_auth = \"sometimes\"\n"); });
  EXPECT_NE(bad.find("http.tls_client_auth"), std::string::npos) << bad;
  EXPECT_NE(bad.find("\"none\", \"optional\", \"required\""), std::string::npos) << bad;
  EXPECT_NE(error_of([] { (void)parse("[http]\ntls_cert_file = 1\n"); }).find("expected a string"), std::string::npos);
}

TEST(Config, every_key_outside_contracts_has_an_environment_variable) {
  for (const auto& key : pit::Config::keys()) {
    if (key.name.starts_with("contracts.") || key.name.starts_with("clients.")) {
      EXPECT_EQ(key.environment, "") << key.name;
      continue;
    }
    std::string expected = "PIT_";
    for (const char c : key.name) expected += c == '.' ? '_' : static_cast<char>(std::toupper(c));
    EXPECT_EQ(key.environment, expected);
    std::string value;  // "" is a valid listen
    if (key.type == "integer" || key.type == "number") value = key.range.substr(0, key.range.find(".."));
    if (key.type == "boolean") value = "true";
    if (key.name == "log.level") value = "off";
    if (key.name == "audit.path") value = "-";
    if (key.name == "audit.when_behind") value = "drop";
    if (key.name == "durability.store") value = "postgres";
    if (key.name == "http.tls_client_auth") value = "none";
    EXPECT_NO_THROW(parse("", Environment{{key.environment, value}})) << key.environment;
  }
}

TEST(Config, unknown_environment_variable_is_refused_with_a_suggestion) {
  EXPECT_EQ(error_of([] {
              parse("", {{"PIT_HTTP_LISTN", "127.0.0.1:1"}});
            }),
            "environment PIT_HTTP_LISTN: unknown variable (did you mean PIT_HTTP_LISTEN?)");
  EXPECT_EQ(error_of([] {
              parse("", {{"PIT_HOST_COLOUR", "blue"}});
            }),
            "environment PIT_HOST_COLOUR: unknown variable");
}

TEST(Config, invalid_environment_values_name_the_variable) {
  EXPECT_EQ(error_of([] {
              parse("", {{"PIT_HOST_WORKERS", "eight"}});
            }),
            "environment PIT_HOST_WORKERS: expected an integer, got \"eight\"");
  EXPECT_EQ(error_of([] {
              parse("", {{"PIT_HOST_WORKERS", "8 "}});
            }),
            "environment PIT_HOST_WORKERS: expected an integer, got \"8 \"");
  EXPECT_EQ(error_of([] {
              parse("", {{"PIT_HOST_WORKERS", "0"}});
            }),
            "environment PIT_HOST_WORKERS: 0 is out of range (1..4096)");
  EXPECT_EQ(error_of([] {
              parse("", {{"PIT_LOG_CALLS", "yes"}});
            }),
            "environment PIT_LOG_CALLS: expected true or false, got \"yes\"");
  EXPECT_EQ(error_of([] {
              parse("", {{"PIT_LOG_LEVEL", "loud"}});
            }),
            "environment PIT_LOG_LEVEL: \"loud\" is not a level (\"debug\", \"info\", \"warn\", \"error\", "
            "\"off\")");
  EXPECT_TRUE(error_of([] {
                parse("", {{"PIT_HTTP_LISTEN", "localhost:80"}});
              }).starts_with("environment PIT_HTTP_LISTEN: \"localhost:80\" is not \"address:port\""));
}

TEST(Config, other_pit_variables_are_not_configuration) {
  const Environment environment{{"PIT_CONFIG", "x.toml"},      {"PIT_E2E_PORT_BASE", "18000"},
                                {"PIT_DEMO_ORDERS_PORT", "1"}, {"PIT_SHOP_BIN", "/bin/shop"},
                                {"PIT_BENCH_SESSION", "a"},    {"PATH", "/bin"}};
  EXPECT_EQ(parse("", environment).workers, pit::HostOptions{}.workers);
}

TEST(Config, from_file_applies_the_process_environment) {
  const std::string path = write_temp("pit_config_from_file.toml", "[host]\nworkers = 5\nworker_queue = 6\n");
  const ScopedVariable workers{"PIT_HOST_WORKERS", "7"};
  const pit::HostOptions o = pit::Config::from_file(path);
  EXPECT_EQ(o.workers, 7U);
  EXPECT_EQ(o.worker_queue, 6U);
}

// --- from_args -----------------------------------------------------------------------

TEST(Config, from_args_reads_the_config_flag_in_both_forms) {
  const ScopedVariable no_config{"PIT_CONFIG", std::nullopt};
  const std::string path = write_temp("pit_config_flag.toml", "[host]\nworkers = 11\n");
  Args separate{{"service", "--role", "orders", "--config", path}};
  EXPECT_EQ(pit::Config::from_args(separate.argc(), separate.argv()).workers, 11U);
  Args joined{{"service", "--config=" + path, "--role", "orders"}};
  EXPECT_EQ(pit::Config::from_args(joined.argc(), joined.argv()).workers, 11U);
}

TEST(Config, from_args_reads_PIT_CONFIG_when_there_is_no_flag) {
  const std::string path = write_temp("pit_config_env.toml", "[host]\nworkers = 13\n");
  const ScopedVariable config{"PIT_CONFIG", path};
  Args args{{"service"}};
  EXPECT_EQ(pit::Config::from_args(args.argc(), args.argv()).workers, 13U);
}

TEST(Config, config_flag_wins_over_PIT_CONFIG) {
  const std::string flagged = write_temp("pit_config_flagged.toml", "[host]\nworkers = 21\n");
  const std::string named = write_temp("pit_config_named.toml", "[host]\nworkers = 22\n");
  const ScopedVariable config{"PIT_CONFIG", named};
  Args args{{"service", "--config", flagged}};
  EXPECT_EQ(pit::Config::from_args(args.argc(), args.argv()).workers, 21U);
}

// from_args is main's first line: an error there has no one to catch it. It exits 2 with
// one line on stderr naming the file and line, instead of reaching std::terminate.
TEST(Config, from_args_errors_exit_2_with_one_line_naming_the_file_and_line) {
  const ScopedVariable no_config{"PIT_CONFIG", std::nullopt};
  const std::string path = write_temp("pit_config_bad.toml", "[host]\nworkers = 0\n");
  Args args{{"service", "--config", path}};
  const auto one_line = [](const std::string& text) { return "^" + text + "\n$"; };
  EXPECT_EXIT(pit::Config::from_args(args.argc(), args.argv()), testing::ExitedWithCode(2),
              one_line("pit: configuration: " + path + ":2:11: host\\.workers: 0 is out of range \\(1\\.\\.4096\\)"));
  Args dangling{{"service", "--config"}};
  EXPECT_EXIT(pit::Config::from_args(dangling.argc(), dangling.argv()), testing::ExitedWithCode(2),
              one_line("pit: configuration: --config: expects a file name"));
  Args missing{{"service", "--config", "/nonexistent/pit.toml"}};
  EXPECT_EXIT(pit::Config::from_args(missing.argc(), missing.argv()), testing::ExitedWithCode(2),
              one_line("pit: configuration: /nonexistent/pit\\.toml: cannot read the configuration file: No such file or directory"));
}

// --- Application settings ([app]) --------------------------------------------------------

// A service's declared settings, as a service would declare them.
struct Orders {
  pit::AppSettings app;
  const pit::AppSetting<std::int64_t>& pool = app.integer("pool_size", 8, 1, 64, "Database connections.");
  const pit::AppSetting<bool>& audit = app.boolean("audit", false, "Log every order.");
  const pit::AppSetting<std::string>& db_url =
      app.string("db_url", "postgres://localhost/orders", "Where the orders live.");
  const pit::AppSetting<std::chrono::milliseconds>& retry =
      app.duration("retry_after_ms", 250ms, 0ms, 60'000ms, "Wait before retrying the database.");
  const pit::AppSetting<std::vector<std::string>>& regions =
      app.strings("regions", {"eu"}, "Regions this instance serves.");
};

pit::HostOptions parse(const std::string& text, pit::AppSettings& app,
                       const Environment& environment = kNoEnvironment) {
  return pit::Config::from_toml(text, "app.toml", &environment, app);
}

// Held by reference, never copied: a copy would be a value read before the file was.
static_assert(!std::is_copy_constructible_v<pit::AppSetting<std::int64_t>>);
static_assert(!std::is_copy_assignable_v<pit::AppSetting<std::int64_t>>);
static_assert(!std::is_copy_constructible_v<pit::AppSettings>);

TEST(AppSettings, without_a_file_the_settings_are_their_defaults) {
  Orders s;
  parse("", s.app);
  EXPECT_EQ(*s.pool, 8);
  EXPECT_FALSE(*s.audit);
  EXPECT_EQ(*s.db_url, "postgres://localhost/orders");
  EXPECT_EQ(*s.retry, 250ms);
  EXPECT_EQ(*s.regions, std::vector<std::string>{"eu"});
  EXPECT_EQ(s.pool.name(), "app.pool_size");
}

TEST(AppSettings, the_file_sets_each_declared_key_by_its_type) {
  Orders s;
  const pit::HostOptions o = parse(R"(
[host]
workers = 3

[app]
pool_size = 16
audit = true
db_url = "postgres://db.internal/orders"
retry_after_ms = 1500
regions = ["eu", "us-east"]
)",
                                   s.app);
  EXPECT_EQ(o.workers, 3U);  // pit's keys beside them, as before
  EXPECT_EQ(s.pool.get(), 16);
  EXPECT_TRUE(*s.audit);
  EXPECT_EQ(*s.db_url, "postgres://db.internal/orders");
  EXPECT_EQ(*s.retry, 1500ms);
  EXPECT_EQ(*s.regions, (std::vector<std::string>{"eu", "us-east"}));
  EXPECT_EQ(s.db_url->size(), 29U);
}

TEST(AppSettings, a_key_left_out_of_the_file_keeps_its_default) {
  Orders s;
  parse("app.pool_size = 2\n", s.app);  // a dotted key, as TOML allows
  EXPECT_EQ(*s.pool, 2);
  EXPECT_EQ(*s.retry, 250ms);
}

TEST(AppSettings, environment_overrides_the_file) {
  Orders s;
  const Environment environment{{"PIT_APP_POOL_SIZE", "32"},
                                {"PIT_APP_AUDIT", "true"},
                                {"PIT_APP_DB_URL", ""},
                                {"PIT_APP_RETRY_AFTER_MS", "0"},
                                {"PIT_APP_REGIONS", "eu, us-east,ap"}};
  parse("[app]\npool_size = 16\naudit = false\nregions = [\"x\"]\n", s.app, environment);
  EXPECT_EQ(*s.pool, 32);
  EXPECT_TRUE(*s.audit);
  EXPECT_EQ(*s.db_url, "");
  EXPECT_EQ(*s.retry, 0ms);
  EXPECT_EQ(*s.regions, (std::vector<std::string>{"eu", "us-east", "ap"}));
  Orders none;
  parse("[app]\nregions = [\"x\"]\n", none.app, {{"PIT_APP_REGIONS", ""}});
  EXPECT_TRUE(none.regions->empty()) << "an empty variable is an empty list";
}

TEST(AppSettings, unknown_key_names_file_line_and_suggests_the_declared_one) {
  Orders s;
  EXPECT_EQ(error_of([&] { parse("[app]\n\npool_sise = 4\n", s.app); }),
            "app.toml:3:1: app.pool_sise: unknown key (did you mean app.pool_size?)");
  Orders t;
  EXPECT_EQ(error_of([&] { parse("[app]\ncolour = \"blue\"\n", t.app); }),
            "app.toml:2:1: app.colour: unknown key");
  Orders u;
  EXPECT_EQ(error_of([&] { parse("[app.db]\nurl = \"x\"\n", u.app); }),
            "app.toml:1:6: app.db: unknown key (did you mean app.db_url?)");  // flat keys only
}

TEST(AppSettings, wrong_type_names_file_line_and_key) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"[app]\npool_size = \"16\"\n", "app.toml:2:13: app.pool_size: expected an integer, got a string"},
      {"[app]\npool_size = 1.5\n", "app.toml:2:13: app.pool_size: expected an integer, got a float"},
      {"[app]\naudit = 1\n", "app.toml:2:9: app.audit: expected a boolean, got an integer"},
      {"[app]\ndb_url = false\n", "app.toml:2:10: app.db_url: expected a string, got a boolean"},
      {"[app]\nretry_after_ms = \"1s\"\n",
       "app.toml:2:18: app.retry_after_ms: expected an integer, got a string"},
      {"[app]\nregions = \"eu\"\n", "app.toml:2:11: app.regions: expected an array of strings, got a string"},
      {"[app]\nregions = [\"eu\", 7]\n", "app.toml:2:18: app.regions[1]: expected a string, got an integer"},
      {"app = 3\n", "app.toml:1:7: app: expected a table, got an integer"},
  };
  for (const auto& entry : cases) {  // not a structured binding: clang 14 cannot capture one
    const std::string& text = entry.first;
    Orders s;
    EXPECT_EQ(error_of([&] { parse(text, s.app); }), entry.second) << text;
  }
}

TEST(AppSettings, out_of_range_value_names_file_line_key_and_range) {
  Orders s;
  EXPECT_EQ(error_of([&] { parse("[app]\npool_size = 0\n", s.app); }),
            "app.toml:2:13: app.pool_size: 0 is out of range (1..64)");
  Orders t;
  EXPECT_EQ(error_of([&] { parse("[app]\nretry_after_ms = 60001\n", t.app); }),
            "app.toml:2:18: app.retry_after_ms: 60001 is out of range (0..60000)");
  Orders u;
  EXPECT_EQ(error_of([&] {
              parse("", u.app, {{"PIT_APP_POOL_SIZE", "65"}});
            }),
            "environment PIT_APP_POOL_SIZE: 65 is out of range (1..64)");
}

TEST(AppSettings, invalid_environment_values_name_the_variable) {
  const std::vector<std::pair<Environment, std::string>> cases{
      {{{"PIT_APP_POOL_SIZE", "many"}}, "environment PIT_APP_POOL_SIZE: expected an integer, got \"many\""},
      {{{"PIT_APP_RETRY_AFTER_MS", "1s"}},
       "environment PIT_APP_RETRY_AFTER_MS: expected an integer, got \"1s\""},
      {{{"PIT_APP_AUDIT", "yes"}}, "environment PIT_APP_AUDIT: expected true or false, got \"yes\""},
      {{{"PIT_APP_REGIONS", "eu,,us"}},
       "environment PIT_APP_REGIONS: expected comma-separated strings, got an empty one in \"eu,,us\""},
      {{{"PIT_APP_REGIONS", "eu, "}},
       "environment PIT_APP_REGIONS: expected comma-separated strings, got an empty one in \"eu, \""},
      {{{"PIT_APP_POOL_SIZ", "4"}},
       "environment PIT_APP_POOL_SIZ: unknown variable (did you mean PIT_APP_POOL_SIZE?)"},
  };
  for (const auto& entry : cases) {  // not a structured binding: clang 14 cannot capture one
    const Environment& environment = entry.first;
    Orders s;
    EXPECT_EQ(error_of([&] { parse("", s.app, environment); }), entry.second);
  }
}

TEST(AppSettings, an_app_section_or_variable_without_declared_settings_is_an_error) {
  EXPECT_EQ(error_of([] { parse("[app]\npool_size = 4\n"); }),
            "app.toml:1:2: app: unknown key (this service declares no application settings)");
  EXPECT_EQ(
      error_of([] {
        parse("", {{"PIT_APP_POOL_SIZE", "4"}});
      }),
      "environment PIT_APP_POOL_SIZE: unknown variable (this service declares no application settings)");
  pit::AppSettings empty;
  EXPECT_EQ(error_of([&] { parse("[app]\npool_size = 4\n", empty); }),
            "app.toml:1:2: app: unknown key (this service declares no application settings)");
  EXPECT_EQ(error_of([] { parse("[ap]\npool_size = 4\n"); }),
            "app.toml:1:2: ap: unknown key (did you mean app?)");
}

TEST(AppSettings, a_setting_read_before_the_configuration_throws) {
  Orders s;
  EXPECT_THROW((void)s.pool.get(), std::logic_error);
  EXPECT_THROW((void)*s.regions, std::logic_error);
  try {
    (void)*s.db_url;
    ADD_FAILURE() << "no std::logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string{e.what()}.find("app.db_url was read before Config read the settings"),
              std::string::npos)
        << e.what();
  }
}

TEST(AppSettings, a_configuration_error_leaves_the_settings_unread) {
  Orders s;
  // The [app] key is valid, the next one is not: nothing half-read may be used.
  EXPECT_FALSE(error_of([&] { parse("[app]\npool_size = 4\n[host]\nworkers = 0\n", s.app); }).empty());
  EXPECT_THROW((void)*s.pool, std::logic_error);
  Orders t;
  EXPECT_FALSE(error_of([&] { parse("[app]\npool_size = 4\n", t.app, {{"PIT_APP_AUDIT", "no"}}); }).empty());
  EXPECT_THROW((void)*t.pool, std::logic_error);
  parse("[app]\npool_size = 5\n", t.app);  // a failed reading may be retried
  EXPECT_EQ(*t.pool, 5);
}

TEST(AppSettings, the_settings_are_read_once_and_declared_before) {
  Orders s;
  parse("", s.app);
  EXPECT_THROW(parse("[app]\npool_size = 9\n", s.app), std::logic_error);
  EXPECT_EQ(*s.pool, 8) << "a refused second reading changes nothing";
  EXPECT_THROW((void)s.app.integer("late", 1, 0, 2, "declared too late"), std::logic_error);
}

TEST(AppSettings, mistakes_in_a_declaration_throw_at_once) {
  const auto message = [](auto declare) -> std::string {
    pit::AppSettings app;
    try {
      declare(app);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no std::invalid_argument";
  };
  EXPECT_EQ(message([](pit::AppSettings& a) { a.integer("pool", 0, 1, 64, ""); }),
            "pit::AppSettings: app.pool: the default 0 is out of range (1..64)");
  EXPECT_EQ(message([](pit::AppSettings& a) { a.integer("pool", 5, 10, 1, ""); }),
            "pit::AppSettings: app.pool: min is above max");
  EXPECT_EQ(
      message([](pit::AppSettings& a) { a.duration("timeout", 10ms, 1ms, 100ms, ""); }),
      "pit::AppSettings: app.timeout: a duration's name ends in _ms (it is read in whole milliseconds)");
  EXPECT_EQ(message([](pit::AppSettings& a) {
              a.boolean("audit", true, "");
              a.string("audit", "x", "");
            }),
            "pit::AppSettings: app.audit: declared twice");
  for (const char* bad : {"", "Pool", "pool-size", "2pool", "_pool", "pool.size", "pool size"}) {
    EXPECT_EQ(message([&](pit::AppSettings& a) { a.boolean(bad, true, ""); }),
              "pit::AppSettings: \"" + std::string{bad} +
                  "\": not a setting name (lower-case letters, digits and '_', starting with a letter)")
        << bad;
  }
}

TEST(AppSettings, keys_list_the_declared_settings_like_config_keys) {
  Orders s;
  const auto keys = s.app.keys();
  ASSERT_EQ(keys.size(), 5U);
  const auto row = [](const pit::Config::Key& k) {
    return k.name + " | " + k.type + " | " + k.default_value + " | " + k.range + " | " + k.environment +
           " | " + k.description;
  };
  EXPECT_EQ(row(keys[0]), "app.pool_size | integer | 8 | 1..64 | PIT_APP_POOL_SIZE | Database connections.");
  EXPECT_EQ(row(keys[1]), "app.audit | boolean | false | true, false | PIT_APP_AUDIT | Log every order.");
  EXPECT_EQ(row(keys[2]),
            "app.db_url | string | \"postgres://localhost/orders\" | any | PIT_APP_DB_URL | Where the orders "
            "live.");
  EXPECT_EQ(
      row(keys[3]),
      "app.retry_after_ms | integer | 250 | 0..60000 | PIT_APP_RETRY_AFTER_MS | Wait before retrying the "
      "database.");
  EXPECT_EQ(
      row(keys[4]),
      "app.regions | array of strings | [\"eu\"] | any | PIT_APP_REGIONS | Regions this instance serves.");
}

TEST(AppSettings, from_args_and_from_file_read_the_file_and_the_process_environment) {
  const ScopedVariable no_config{"PIT_CONFIG", std::nullopt};
  const std::string path = write_temp("pit_config_app.toml", "[app]\npool_size = 12\naudit = true\n");
  const ScopedVariable pool{"PIT_APP_POOL_SIZE", "20"};
  Orders s;
  Args args{{"service", "--config", path}};
  (void)pit::Config::from_args(args.argc(), args.argv(), s.app);
  EXPECT_EQ(*s.pool, 20);
  EXPECT_TRUE(*s.audit);
  Orders t;
  (void)pit::Config::from_file(path, t.app);
  EXPECT_EQ(*t.pool, 20);
  Orders u;
  const std::string bad = write_temp("pit_config_app_bad.toml", "[app]\n  audit = \"yes\"\n");
  EXPECT_EQ(error_of([&] { pit::Config::from_file(bad, u.app); }),
            bad + ":2:11: app.audit: expected a boolean, got a string");
}

// --- The reference -------------------------------------------------------------------

struct DocumentedKey {
  std::string type, default_value, range, environment;
};

std::string cell(std::string text) {
  std::erase(text, '`');
  const auto first = text.find_first_not_of(' ');
  const auto last = text.find_last_not_of(' ');
  return first == std::string::npos ? std::string{} : text.substr(first, last - first + 1);
}

// The rows of the key tables of docs/configuration.md, the tables headed
// | key | type | default | range | variable | meaning |
std::map<std::string, DocumentedKey> documented_keys() {
  std::map<std::string, DocumentedKey> keys;
  std::istringstream doc{read(PIT_SOURCE_DIR "/docs/configuration.md")};
  bool in_key_table = false;
  for (std::string line; std::getline(doc, line);) {
    if (line.starts_with("| key | type | default | range | variable | meaning |")) {
      in_key_table = true;
      continue;
    }
    if (!line.starts_with("|")) in_key_table = false;
    if (!in_key_table || line.starts_with("| ---")) continue;
    std::vector<std::string> cells;
    std::istringstream row{line.substr(1)};
    for (std::string c; std::getline(row, c, '|');) cells.push_back(cell(c));
    if (cells.size() < 6) {
      ADD_FAILURE() << "not a key row: " << line;
      continue;
    }
    keys[cells[0]] = {cells[1], cells[2], cells[3], cells[4] == "—" ? "" : cells[4]};
  }
  return keys;
}

TEST(Config, every_key_is_documented_with_its_type_default_range_and_variable) {
  const auto documented = documented_keys();
  for (const auto& key : pit::Config::keys()) {
    const auto it = documented.find(key.name);
    if (it == documented.end()) {
      ADD_FAILURE() << key.name << " is missing from docs/configuration.md; add the row:\n| `" << key.name
                    << "` | " << key.type << " | `" << key.default_value << "` | " << key.range << " | `"
                    << key.environment << "` | " << key.description << " |";
      continue;
    }
    EXPECT_EQ(it->second.type, key.type) << key.name;
    EXPECT_EQ(it->second.default_value, key.default_value) << key.name;
    EXPECT_EQ(it->second.range, key.range) << key.name;
    EXPECT_EQ(it->second.environment, key.environment) << key.name;
  }
}

TEST(Config, every_documented_key_exists) {
  std::set<std::string> known;
  for (const auto& key : pit::Config::keys()) known.insert(key.name);
  for (const auto& [name, row] : documented_keys()) {
    EXPECT_TRUE(known.contains(name))
        << name << " is documented in docs/configuration.md but the parser has no such key";
  }
  EXPECT_FALSE(known.empty());
}

TEST(Config, every_toml_block_of_the_guides_is_valid_configuration) {
  int blocks = 0;
  for (const auto& entry : std::filesystem::directory_iterator(PIT_SOURCE_DIR "/docs")) {
    if (entry.path().extension() != ".md") continue;
    const std::string doc = read(entry.path().string());
    const std::string open = "```toml\n";
    for (auto start = doc.find(open); start != std::string::npos; start = doc.find(open, start)) {
      start += open.size();
      const auto end = doc.find("```\n", start);
      ASSERT_NE(end, std::string::npos) << entry.path();
      const std::string where = entry.path().filename().string() + " (block " + std::to_string(++blocks) + ")";
      shop::Settings settings;  // the guides' [app] sections are the shop's
      EXPECT_NO_THROW(
          (void)pit::Config::from_toml(doc.substr(start, end - start), where, &kNoEnvironment, settings.app))
          << where;
      start = end;
    }
  }
  EXPECT_GE(blocks, 3) << "the guides show configuration";
}

TEST(Config, the_documented_example_is_the_shop_example_file) {
  const std::string doc = read(PIT_SOURCE_DIR "/docs/configuration.md");
  const std::string marker = "<!-- example: examples/shop/shop.toml -->\n```toml\n";
  const auto start = doc.find(marker);
  ASSERT_NE(start, std::string::npos) << "docs/configuration.md lost its example";
  const auto body = start + marker.size();
  const auto end = doc.find("```\n", body);
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(doc.substr(body, end - body), read(PIT_SOURCE_DIR "/examples/shop/shop.toml"));
}

}  // namespace
