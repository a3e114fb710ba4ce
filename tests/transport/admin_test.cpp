// The admin listener's diagnostics pages (docs/diagnostics.md), asked over a real loopback
// listener: what each page shows while real calls run, the bounds of the recent-call rings,
// the run-time log level and its expiry, who may ask (the admin token), and hostile input.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "call/call_history.hpp"
#include "config/effective_config.hpp"
#include "observability/log_level.hpp"
#include "support/admin_fixture.hpp"
#include "support/raw_http.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;
using rawhttp::body_of;
using rawhttp::header_of;
using rawhttp::status_of;

constexpr std::string_view kToken = "s3cr3t-admin-token-0123456789";

class Diagnostics : public HostWithAdminTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostWithAdminTest::options();
    o.admin.token = std::string{kToken};
    o.admin.recent_calls = 3;
    o.admin.max_log_level_duration = 2s;
    o.auth.client_secret = "client-secret-value";
    o.log_redaction.keys = {"ssn"};
    pit::ClientOptions client;
    client.endpoints = {"http://app:pg-password@127.0.0.1:1"};
    o.clients["shop.v1.Nowhere"] = client;
    return o;
  }

  std::string exchange(const std::string& bytes) {
    rawhttp::Connection c{host->admin_port()};
    c.send(bytes);
    return c.read_response();
  }
  std::string get(const std::string& target, const std::string& headers = "") {
    return exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n");
  }
  std::string post_level(const std::string& body, const std::string& headers) {
    return exchange(rawhttp::post("/log-level", body, headers));
  }
  static std::string bearer(std::string_view token = kToken) {
    return "Authorization: Bearer " + std::string{token} + "\r\n";
  }
  static boost::json::object page(const std::string& response) {
    EXPECT_EQ(header_of(response, "Content-Type"), "application/json") << response;
    boost::system::error_code ec;
    auto v = boost::json::parse(body_of(response), ec);
    EXPECT_FALSE(ec) << response;
    return ec || !v.is_object() ? boost::json::object{} : v.as_object();
  }
  static const boost::json::object* operation(const boost::json::object& page, std::string_view op) {
    for (const auto& o : page.at("operations").as_array()) {
      if (o.as_object().at("operation").as_string() == op) return &o.as_object();
    }
    return nullptr;
  }
};

TEST_F(Diagnostics, status_names_version_uptime_config_hash_pipeline_and_each_operations_settings) {
  host->start();
  const auto res = get("/status");
  ASSERT_EQ(status_of(res), 200) << res;
  const auto p = page(res);
  EXPECT_FALSE(p.at("pit").as_object().at("version").as_string().empty());
  EXPECT_GE(p.at("uptime_s").to_number<double>(), 0.0);
  EXPECT_EQ(p.at("config_hash").as_string().size(), 16U);
  // The printed order, name by name.
  std::string printed;
  for (const auto& name : p.at("pipeline").as_array()) printed += std::string{name.as_string()} + ",";
  std::string expected;
  const std::string described = host->describe_pipeline();
  for (std::size_t at = 0; at < described.size();) {
    const auto end = described.find('\n', at);
    const auto line = described.substr(at, end - at);
    expected += line.substr(line.find(". ") + 2) + ",";
    at = end + 1;
  }
  EXPECT_EQ(printed, expected);
  const auto* count = operation(p, "count");
  ASSERT_NE(count, nullptr);
  EXPECT_EQ(count->at("contract").as_string(), "shop.v1.Inventory");
  EXPECT_EQ(count->at("runs_on").as_string(), "worker");
  EXPECT_EQ(count->at("idempotent").as_bool(), true);
  EXPECT_EQ(count->at("deduplicated").as_bool(), false);
  EXPECT_EQ(count->at("access").as_string(), "anonymous");
  EXPECT_EQ(count->at("log_calls").as_bool(), true);
  EXPECT_GT(count->at("timeout_ms").as_int64(), 0);
  EXPECT_GT(count->at("max_body_bytes").as_int64(), 0);
  const auto* place = operation(p, "place");
  ASSERT_NE(place, nullptr);
  EXPECT_EQ(place->at("runs_on").as_string(), "io_thread");
  EXPECT_EQ(place->at("idempotent").as_bool(), false);
}

TEST_F(Diagnostics, config_shows_the_effective_values_with_every_secret_redacted) {
  host->start();
  const auto res = get("/config");
  ASSERT_EQ(status_of(res), 200) << res;
  const std::string body = body_of(res);
  EXPECT_EQ(body.find(kToken), std::string::npos) << body;
  EXPECT_EQ(body.find("client-secret-value"), std::string::npos) << body;
  EXPECT_EQ(body.find("pg-password"), std::string::npos) << body;
  const auto p = page(res);
  EXPECT_EQ(p.at("admin").as_object().at("token").as_string(), "[redacted]");
  EXPECT_EQ(p.at("admin").as_object().at("recent_calls").as_int64(), 3);
  EXPECT_EQ(p.at("auth").as_object().at("client_secret").as_string(), "[redacted]");
  EXPECT_EQ(p.at("admin").as_object().at("listen").as_string(), "127.0.0.1:0");
  const auto& endpoints = p.at("clients").as_object().at("shop.v1.Nowhere").as_object().at("endpoints").as_array();
  ASSERT_EQ(endpoints.size(), 1U);
  EXPECT_EQ(endpoints[0].as_string(), "http://app:[redacted]@127.0.0.1:1");
  // The same hash as /status.
  const auto status = page(get("/status"));
  EXPECT_EQ(status.at("config_hash").as_string().size(), 16U);
}

TEST(DiagnosticsRedaction, passwords_in_urls_and_connection_strings_and_secret_named_keys_are_redacted) {
  EXPECT_EQ(pit::config::redact_passwords("postgres://app:hunter2@db:5432/app"), "postgres://app:[redacted]@db:5432/app");
  EXPECT_EQ(pit::config::redact_passwords("host=db user=app password=hunter2 dbname=x"),
            "host=db user=app password=[redacted] dbname=x");
  EXPECT_EQ(pit::config::redact_passwords("http://h/x?user=a&password=hunter2&y=1"),
            "http://h/x?user=a&password=[redacted]&y=1");
  EXPECT_EQ(pit::config::redact_passwords("http://user@host:80/p"), "http://user@host:80/p");
  pit::HostOptions o;
  o.auth.token_url = "https://idp/token";
  o.log_redaction.keys = {"service_name"};  // a configured name is a secret's name here too
  o.service.name = "orders";
  const auto effective = pit::config::effective_configuration(o);
  EXPECT_NE(effective.json.find("https://idp/token"), std::string::npos) << effective.json;  // a URL, not a token
  EXPECT_EQ(effective.json.find("\"orders\""), std::string::npos) << effective.json;
  // The hash is of the redacted text: a secret's change does not show in it.
  auto other = o;
  other.admin.token = "another";
  o.admin.token = "one";
  EXPECT_EQ(pit::config::effective_configuration(o).hash, pit::config::effective_configuration(other).hash);
  other.admin.recent_calls = 7;
  EXPECT_NE(pit::config::effective_configuration(o).hash, pit::config::effective_configuration(other).hash);
}

TEST_F(Diagnostics, a_call_held_in_flight_shows_in_calls_with_its_ids_and_a_shrinking_remaining_deadline) {
  host->start();
  auto held = std::async(std::launch::async, [this] {
    pit::CallerScope scope{{.correlation_id = "held-call-1", .timeout = std::chrono::milliseconds(5000)}};
    return pit::block_on(inventory->reserve({"slow", 800}));
  });
  // The call is in flight once the implementation ran.
  for (int i = 0; i < 200 && probe.dispatched.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(probe.dispatched.load(), 1);
  const auto first = page(get("/calls"));
  std::this_thread::sleep_for(50ms);
  const auto second = page(get("/calls"));
  auto find = [](const boost::json::object& p) -> const boost::json::object* {
    for (const auto& c : p.at("calls").as_array()) {
      if (c.as_object().at("correlation_id").as_string() == "held-call-1") return &c.as_object();
    }
    return nullptr;
  };
  const auto* a = find(first);
  const auto* b = find(second);
  ASSERT_NE(a, nullptr) << boost::json::serialize(first);
  ASSERT_NE(b, nullptr) << boost::json::serialize(second);
  EXPECT_EQ(a->at("contract").as_string(), "shop.v1.Inventory");
  EXPECT_EQ(a->at("operation").as_string(), "reserve");
  {
    std::lock_guard lock(probe.mutex);
    EXPECT_EQ(a->at("trace_id").as_string(), probe.seen_trace);
  }
  EXPECT_EQ(a->at("cancelled").as_bool(), false);
  EXPECT_EQ(a->at("cancel_reason").as_string(), "none");
  const double remaining_a = a->at("remaining_ms").to_number<double>();
  const double remaining_b = b->at("remaining_ms").to_number<double>();
  EXPECT_GT(remaining_a, 0.0);
  EXPECT_LE(remaining_a, 5000.0);
  EXPECT_LT(remaining_b, remaining_a);  // the deadline comes closer
  EXPECT_GT(b->at("age_ms").to_number<double>(), a->at("age_ms").to_number<double>());
  EXPECT_EQ(held.get().remaining, 100 - 800);
  // Over: it is gone from the list, and it is the operation's most recent call.
  const auto after = page(get("/calls"));  // named: a range-for over a temporary's member dangles
  for (const auto& c : after.at("calls").as_array()) {
    EXPECT_NE(c.as_object().at("correlation_id").as_string(), "held-call-1");
  }
  const auto recent = page(get("/calls/recent"));
  const auto* reserve = operation(recent, "reserve");
  ASSERT_NE(reserve, nullptr);
  ASSERT_FALSE(reserve->at("calls").as_array().empty());
  const auto& last = reserve->at("calls").as_array()[0].as_object();
  EXPECT_EQ(last.at("correlation_id").as_string(), "held-call-1");
  EXPECT_EQ(last.at("code").as_string(), "ok");
  EXPECT_GE(last.at("duration_ms").to_number<double>(), 800.0);
}

class DiagnosticsFourThreads : public Diagnostics {
 protected:
  pit::HostOptions options() override {
    auto o = Diagnostics::options();
    o.io_threads = 4;
    return o;
  }
};

TEST_F(DiagnosticsFourThreads, a_stuck_io_thread_does_not_hang_calls_which_names_it_and_shows_the_rest) {
  host->start();
  // Two connections, accepted (and given their threads) while every thread is free: they
  // are on two different threads, so at most one of them is the stuck one.
  rawhttp::Connection a{host->admin_port()};
  rawhttp::Connection b{host->admin_port()};
  for (auto* c : {&a, &b}) {
    c->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(status_of(c->read_response()), 200);
  }
  // Holds one I/O thread in an operation that blocks it (naive code) for 2.5 s.
  auto stuck = std::async(std::launch::async, [this] {
    pit::CallerScope scope{{.correlation_id = "stuck-1"}};
    return pit::block_on(inventory->reserve({"blocker", 2500}));
  });
  for (int i = 0; i < 200 && probe.dispatched.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(probe.dispatched.load(), 1);
  const auto asked = std::chrono::steady_clock::now();
  a.send("GET /calls HTTP/1.1\r\nHost: x\r\n\r\n");
  b.send("GET /calls HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto first = a.read_response();
  const auto first_took = std::chrono::steady_clock::now() - asked;
  const auto second = b.read_response();
  const auto& answered = first_took < 2s ? first : second;
  ASSERT_EQ(status_of(answered), 200) << answered;
  const auto p = page(answered);
  const auto& missing = p.at("unanswered_io_threads").as_array();
  ASSERT_EQ(missing.size(), 1U) << answered;  // the stuck thread, named
  for (const auto& c : p.at("calls").as_array()) {
    EXPECT_NE(c.as_object().at("correlation_id").as_string(), "stuck-1");  // its calls are not known
  }
  (void)stuck.get();
  const auto after = page(get("/calls"));
  EXPECT_TRUE(after.at("unanswered_io_threads").as_array().empty());
}

TEST_F(Diagnostics, recent_and_slowest_calls_are_bounded_by_admin_recent_calls_per_operation) {
  host->start();
  // Ten calls, on whichever I/O threads; the slow ones are the 40, 30 and 20 ms calls.
  const int delays[] = {1, 40, 2, 3, 30, 4, 20, 5, 6, 7};
  int n = 0;
  for (const int d : delays) {
    pit::CallerScope scope{{.correlation_id = "call-" + std::to_string(n++)}};
    (void)pit::block_on(inventory->reserve({"slow", d}));
  }
  const auto recent = page(get("/calls/recent"));
  EXPECT_EQ(recent.at("kept").as_int64(), 3);
  const auto& calls = operation(recent, "reserve")->at("calls").as_array();
  ASSERT_EQ(calls.size(), 3U) << boost::json::serialize(recent);
  EXPECT_EQ(calls[0].as_object().at("correlation_id").as_string(), "call-9");  // newest first
  EXPECT_EQ(calls[1].as_object().at("correlation_id").as_string(), "call-8");
  EXPECT_EQ(calls[2].as_object().at("correlation_id").as_string(), "call-7");
  EXPECT_TRUE(operation(recent, "count")->at("calls").as_array().empty());

  const auto slowest = page(get("/calls/slowest"));
  const auto& slow = operation(slowest, "reserve")->at("calls").as_array();
  ASSERT_EQ(slow.size(), 3U) << boost::json::serialize(slowest);
  EXPECT_EQ(slow[0].as_object().at("correlation_id").as_string(), "call-1");  // 40 ms
  EXPECT_EQ(slow[1].as_object().at("correlation_id").as_string(), "call-4");  // 30 ms
  EXPECT_EQ(slow[2].as_object().at("correlation_id").as_string(), "call-6");  // 20 ms
  EXPECT_GE(slow[0].as_object().at("duration_ms").to_number<double>(), slow[1].as_object().at("duration_ms").to_number<double>());
}

TEST(DiagnosticsHistory, each_threads_ring_keeps_the_newest_and_the_slowest_and_never_grows) {
  pit::detail::CallHistory history{2};
  history.allocate(1);
  const pit::Context context;
  const auto t0 = pit::Clock::now();
  const int ms[] = {5, 1, 9, 2, 3};
  for (int i = 0; i < 5; ++i) {
    history.record(0, context, t0 + std::chrono::seconds(i), t0 + std::chrono::seconds(i) + std::chrono::milliseconds(ms[i]),
                   pit::Code::ok);
  }
  history.record(1, context, t0, t0, pit::Code::ok);  // a thread past those allocated: ignored
  std::vector<pit::detail::CallRecord> recent;
  history.copy_recent(0, recent);
  ASSERT_EQ(recent.size(), 2U);
  EXPECT_EQ(recent[0].took, std::chrono::milliseconds(2));  // oldest first
  EXPECT_EQ(recent[1].took, std::chrono::milliseconds(3));
  std::vector<pit::detail::CallRecord> slowest;
  history.copy_slowest(0, slowest);
  ASSERT_EQ(slowest.size(), 2U);
  std::sort(slowest.begin(), slowest.end(), [](const auto& a, const auto& b) { return a.took > b.took; });
  EXPECT_EQ(slowest[0].took, std::chrono::milliseconds(9));
  EXPECT_EQ(slowest[1].took, std::chrono::milliseconds(5));
}

TEST_F(Diagnostics, a_log_level_set_at_run_time_reverts_after_its_duration_and_says_so) {
  host->start();
  ASSERT_EQ(pit::detail::log_level(), pit::log::Level::info);
  const auto set = post_level(R"({"level":"debug","duration_s":0.3})", bearer());
  ASSERT_EQ(status_of(set), 200) << set;
  const auto p = page(set);
  EXPECT_EQ(p.at("level").as_string(), "debug");
  EXPECT_EQ(p.at("configured").as_string(), "info");
  EXPECT_GT(p.at("reverts_in_s").to_number<double>(), 0.0);
  EXPECT_LE(p.at("reverts_in_s").to_number<double>(), 0.3);
  EXPECT_EQ(pit::detail::log_level(), pit::log::Level::debug);
  EXPECT_TRUE(pit::log::enabled(pit::log::Level::debug));
  const auto shown = page(get("/log-level"));
  EXPECT_EQ(shown.at("level").as_string(), "debug");
  EXPECT_TRUE(shown.at("reverts_at").is_string());

  for (int i = 0; i < 200 && pit::detail::log_level() != pit::log::Level::info; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(pit::detail::log_level(), pit::log::Level::info);
  const auto after = page(get("/log-level"));
  EXPECT_EQ(after.at("level").as_string(), "info");
  EXPECT_TRUE(after.at("reverts_at").is_null());
  EXPECT_EQ(lines_with({"log level set at run time", "\"debug\""}).size(), 1U);
  EXPECT_EQ(lines_with({"log level reverted", "expired"}).size(), 1U);
}

TEST_F(Diagnostics, a_later_setting_replaces_an_earlier_one_and_stopping_the_host_reverts_it) {
  host->start();
  ASSERT_EQ(status_of(post_level(R"({"level":"error","duration_s":0.1})", bearer())), 200);
  ASSERT_EQ(status_of(post_level(R"({"level":"debug","duration_s":2})", bearer())), 200);
  std::this_thread::sleep_for(250ms);  // the first setting's expiry passed: it must not revert the second
  EXPECT_EQ(pit::detail::log_level(), pit::log::Level::debug);
  host->stop();
  EXPECT_EQ(pit::detail::log_level(), pit::log::Level::info);
  EXPECT_EQ(lines_with({"log level reverted", "shutdown"}).size(), 1U);
}

TEST_F(Diagnostics, changing_the_log_level_needs_post_and_the_admin_token) {
  host->start();
  const std::string body = R"({"level":"debug","duration_s":1})";
  const auto missing = post_level(body, "");
  EXPECT_EQ(status_of(missing), 401) << missing;
  EXPECT_EQ(header_of(missing, "WWW-Authenticate"), "Bearer");
  // Wrong in the last character, a prefix, longer, another scheme, empty: refused alike.
  std::string last = std::string{kToken};
  last.back() = 'X';
  for (const std::string& h : {bearer(last), bearer(kToken.substr(0, 5)), bearer(std::string{kToken} + "0"),
                               "Authorization: Basic " + std::string{kToken} + "\r\n", std::string{"Authorization: \r\n"},
                               std::string{"Authorization: Bearer \r\n"}}) {
    const auto res = post_level(body, h);
    EXPECT_EQ(status_of(res), 401) << h << res;
    EXPECT_EQ(body_of(res), body_of(missing));
  }
  EXPECT_EQ(pit::detail::log_level(), pit::log::Level::info);
  // The scheme's case does not matter (RFC 9110 11.1).
  const auto ok = post_level(body, "Authorization: bEaReR " + std::string{kToken} + "\r\n");
  EXPECT_EQ(status_of(ok), 200) << ok;
  EXPECT_EQ(status_of(get("/log-level")), 200);  // reading is open on loopback
}

class DiagnosticsWithoutToken : public Diagnostics {
 protected:
  pit::HostOptions options() override {
    auto o = Diagnostics::options();
    o.admin.token.clear();
    return o;
  }
};

TEST_F(DiagnosticsWithoutToken, state_changes_are_refused_with_403_saying_why_and_reading_stays_open_on_loopback) {
  host->start();
  const auto res = post_level(R"({"level":"debug","duration_s":1})", bearer());
  EXPECT_EQ(status_of(res), 403) << res;
  EXPECT_NE(body_of(res).find("admin.token"), std::string::npos) << res;
  EXPECT_EQ(pit::detail::log_level(), pit::log::Level::info);
  for (const auto* path : {"/status", "/config", "/calls", "/calls/recent", "/calls/slowest", "/clients", "/log-level"}) {
    EXPECT_EQ(status_of(get(path)), 200) << path;
  }
}

class DiagnosticsOffLoopback : public Diagnostics {
 protected:
  pit::HostOptions options() override {
    auto o = Diagnostics::options();
    o.admin.listen = "0.0.0.0:0";  // every address: not loopback (the test still connects to 127.0.0.1)
    return o;
  }
};

TEST_F(DiagnosticsOffLoopback, read_only_pages_need_the_token_and_probes_and_metrics_stay_open) {
  host->start();
  for (const auto* path : {"/status", "/config", "/calls", "/calls/recent", "/calls/slowest", "/clients", "/log-level"}) {
    const auto without = get(path);
    EXPECT_EQ(status_of(without), 401) << path << without;
    EXPECT_EQ(body_of(without).find("\"config_hash\""), std::string::npos);
    EXPECT_EQ(status_of(get(path, bearer("wrong"))), 401) << path;
    EXPECT_EQ(status_of(get(path, bearer())), 200) << path;
  }
  EXPECT_EQ(status_of(get("/healthz")), 200);
  EXPECT_EQ(status_of(get("/metrics")), 200);
  EXPECT_NE(status_of(get("/readyz")), 401);
}

class DiagnosticsOffLoopbackWithoutToken : public DiagnosticsOffLoopback {
 protected:
  pit::HostOptions options() override {
    auto o = DiagnosticsOffLoopback::options();
    o.admin.token.clear();
    return o;
  }
};

TEST_F(DiagnosticsOffLoopbackWithoutToken, read_only_pages_are_refused_403_when_no_token_is_configured) {
  host->start();
  const auto res = get("/calls", bearer());
  EXPECT_EQ(status_of(res), 403) << res;
  EXPECT_NE(body_of(res).find("not on loopback"), std::string::npos) << res;
  EXPECT_EQ(status_of(get("/healthz")), 200);
}

TEST_F(Diagnostics, hostile_requests_are_refused_and_change_nothing) {
  host->start();
  const std::string auth = bearer();
  struct Case {
    std::string request;
    int status;
  };
  const auto post_raw = [&](const std::string& body, const std::string& type = "application/json") {
    return rawhttp::post("/log-level", body, auth, type);
  };
  const Case cases[] = {
      // Wrong methods.
      {"PUT /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 405},
      {"DELETE /log-level HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 405},
      {rawhttp::post("/status", "{}", auth), 405},
      {rawhttp::post("/calls", "{}", auth), 405},
      // Bodies too large (the admin listener takes 4 KiB).
      {post_raw(R"({"level":"debug","duration_s":1,"x":")" + std::string(8000, 'a') + "\"}"), 413},
      // Not JSON, or not this JSON.
      {post_raw("level=debug", "application/x-www-form-urlencoded"), 415},
      {post_raw(""), 400},
      {post_raw("{"), 400},
      {post_raw(R"({"level":"debug","duration_s":1}x)"), 400},
      {post_raw("[]"), 400},
      {post_raw(R"({"level":"debug","level":"error","duration_s":1})"), 400},
      {post_raw(R"({"level":"debug","duration_s":1,"forever":true})"), 400},
      {post_raw(R"({"duration_s":1})"), 400},
      // Bad levels.
      {post_raw(R"({"level":"DEBUG","duration_s":1})"), 400},
      {post_raw(R"({"level":"trace","duration_s":1})"), 400},
      {post_raw(R"({"level":1,"duration_s":1})"), 400},
      // Durations out of range (max 2 s here), or not numbers.
      {post_raw(R"({"level":"debug"})"), 400},
      {post_raw(R"({"level":"debug","duration_s":0})"), 400},
      {post_raw(R"({"level":"debug","duration_s":-1})"), 400},
      {post_raw(R"({"level":"debug","duration_s":2.5})"), 400},
      {post_raw(R"({"level":"debug","duration_s":1e308})"), 400},
      {post_raw(R"({"level":"debug","duration_s":"1"})"), 400},
      {post_raw(R"({"level":"debug","duration_s":null})"), 400},
      // Two credentials.
      {"POST /log-level HTTP/1.1\r\nHost: x\r\n" + auth + auth +
           "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
       400},
      // Odd targets: nothing but the exact path is a page.
      {"GET /%73tatus HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"GET //status HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"GET /calls/../status HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"GET /status/ HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"GET /STATUS HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"GET /calls/recent/x HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      {"GET http://x/status HTTP/1.1\r\nHost: x\r\n\r\n", 404},
      // A query string is ignored.
      {"GET /status?verbose=1&token=x HTTP/1.1\r\nHost: x\r\n\r\n", 200},
  };
  for (const auto& c : cases) {
    const auto res = exchange(c.request);
    EXPECT_EQ(status_of(res), c.status) << c.request.substr(0, 200) << "\n" << res.substr(0, 400);
    if (c.status == 405) {
      EXPECT_FALSE(header_of(res, "Allow").empty()) << res;
    }
  }
  EXPECT_EQ(pit::detail::log_level(), pit::log::Level::info);  // nothing was set
  const auto level = page(get("/log-level"));
  EXPECT_TRUE(level.at("reverts_at").is_null());
}

TEST_F(Diagnostics, head_answers_the_length_of_the_page_without_its_content) {
  host->start();
  rawhttp::Connection c{host->admin_port()};
  c.send("HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n");
  c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto all = c.read_until_closed();
  EXPECT_EQ(status_of(all), 200) << all;
  EXPECT_NE(header_of(all, "Content-Length"), "0");
  // The next response follows the HEAD answer's header at once: it carried no content.
  const auto head_end = all.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  EXPECT_EQ(all.substr(head_end + 4, 12), "HTTP/1.1 200") << all;
  EXPECT_EQ(all.find("config_hash"), std::string::npos) << all;
}

// /clients: an outbound client's endpoints and their state, after real calls.
class DiagnosticsClients : public Diagnostics {
 protected:
  pit::HostOptions options() override {
    auto o = Diagnostics::options();
    o.http.listen = "127.0.0.1:0";
    return o;
  }
};

TEST_F(DiagnosticsClients, clients_show_each_endpoint_its_latency_failures_ejection_and_pool) {
  host->start();
  pit::HostOptions caller_options;
  caller_options.log_sink = logs;
  caller_options.admin.listen = "127.0.0.1:0";
  pit::ClientOptions refused;
  refused.retry.max_attempts = 1;
  caller_options.clients["shop.v1.Orders"] = refused;
  pit::Host caller{caller_options};
  const std::string good = "http://127.0.0.1:" + std::to_string(host->http_port());
  auto remote = caller.client<Inventory>(good);
  auto nowhere = caller.client<Orders>("http://127.0.0.1:1");
  caller.start();
  for (int i = 0; i < 3; ++i) (void)pit::block_on(remote->reserve({"apple", 1}));
  PlaceOrder order;
  order.items.push_back({"apple", 1});
  EXPECT_THROW((void)pit::block_on(nowhere->place(std::move(order))), pit::Fault);

  rawhttp::Connection c{caller.admin_port()};
  c.send("GET /clients HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto res = c.read_response();
  ASSERT_EQ(status_of(res), 200) << res;
  const auto p = page(res);
  const boost::json::object* inventory_client = nullptr;
  const boost::json::object* orders_client = nullptr;
  for (const auto& client : p.at("clients").as_array()) {
    if (client.as_object().at("contract").as_string() == "shop.v1.Inventory") inventory_client = &client.as_object();
    if (client.as_object().at("contract").as_string() == "shop.v1.Orders") orders_client = &client.as_object();
  }
  ASSERT_NE(inventory_client, nullptr) << res;
  ASSERT_NE(orders_client, nullptr) << res;
  const auto& ok = inventory_client->at("endpoints").as_array().at(0).as_object();
  EXPECT_EQ(ok.at("url").as_string(), good);
  EXPECT_GT(ok.at("latency_ms").to_number<double>(), 0.0);
  EXPECT_EQ(ok.at("consecutive_failures").as_int64(), 0);
  EXPECT_EQ(ok.at("ejected").as_bool(), false);
  EXPECT_GE(ok.at("idle_connections").as_int64(), 1);  // keep-alive connections, back in their pools
  EXPECT_EQ(inventory_client->at("in_flight").as_int64(), 0);
  EXPECT_GE(inventory_client->at("retry_budget_available").to_number<double>(), 0.0);
  const auto& bad = orders_client->at("endpoints").as_array().at(0).as_object();
  EXPECT_GE(bad.at("consecutive_failures").as_int64(), 1);
  EXPECT_GT(bad.at("failure_penalty").to_number<double>(), 0.0);
  caller.stop();
}

}  // namespace
}  // namespace shop
