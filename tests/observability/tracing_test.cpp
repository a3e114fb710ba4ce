// Spans and their export (docs/observability.md, "Traces"): every call a sampled trace
// reaches becomes a span (SERVER over HTTP, INTERNAL in-process, the logical CLIENT call
// and each of its attempts), sampling is parent-based with a ratio for roots and a forced
// sample only for a trusted caller, and the OTLP/HTTP JSON exporter batches, retries,
// flushes at stop and never slows a call. The receiver is a scripted loopback server
// (support/fake_replica.hpp) that keeps what it was sent.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "context/context_access.hpp"
#include "observability/tracer.hpp"
#include "pit/config.hpp"
#include "support/fake_replica.hpp"
#include "support/raw_http.hpp"
#include "support/shop_services.hpp"
#include "transport/http/fetch.hpp"
#include "transport/http/otlp_exporter.hpp"
#include "transport/http/otlp_json.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr std::string_view kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr std::string_view kParent = "00f067aa0ba902b7";

// An OTLP receiver: answers what the script says (200 by default) and keeps every body.
class Receiver {
 public:
  Receiver()
      : replica_([this](const fake::Request& r) {
          fake::Reply reply;
          {
            std::lock_guard lock(mutex_);
            bodies_.push_back(r.body);
            times_.push_back(pit::Clock::now());
            if (!script_.empty()) {
              reply = script_.front();
              script_.erase(script_.begin());
            }
          }
          return reply;
        }) {}
  [[nodiscard]] std::string url() const { return replica_.url() + "/v1/traces"; }
  // The replies of the next requests, in order (then 200).
  void then(fake::Reply reply) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(reply));
  }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }
  std::vector<pit::Clock::time_point> times() {
    std::lock_guard lock(mutex_);
    return times_;
  }
  // Every span of every request, each with its resource's attributes under "resource".
  std::vector<json::object> spans() {
    std::vector<json::object> out;
    for (const auto& body : bodies()) {
      const auto doc = json::parse(body);
      for (const auto& rs : doc.at("resourceSpans").as_array()) {
        for (const auto& ss : rs.at("scopeSpans").as_array()) {
          for (const auto& s : ss.at("spans").as_array()) {
            json::object span = s.as_object();
            span["resource"] = rs.at("resource");
            out.push_back(std::move(span));
          }
        }
      }
    }
    return out;
  }
  std::vector<json::object> wait_for_spans(std::size_t n, std::chrono::milliseconds limit = 5s) {
    const auto until = pit::Clock::now() + limit;
    auto got = spans();
    while (got.size() < n && pit::Clock::now() < until) {
      std::this_thread::sleep_for(5ms);
      got = spans();
    }
    return got;
  }
  fake::Replica& replica() { return replica_; }

 private:
  std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<pit::Clock::time_point> times_;
  std::vector<fake::Reply> script_;
  fake::Replica replica_;
};

std::string str(const json::object& span, std::string_view key) {
  const auto* v = span.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string{};
}

// The value of attribute `key` as text ("" when absent): stringValue, or intValue.
std::string attribute(const json::object& span, std::string_view key, std::string_view list = "attributes") {
  const auto* attrs = span.if_contains(list);
  if (attrs == nullptr) return {};
  for (const auto& kv : attrs->as_array()) {
    if (kv.at("key").as_string() != key) continue;
    const auto& value = kv.at("value").as_object();
    if (const auto* s = value.if_contains("stringValue")) return std::string(s->as_string());
    if (const auto* i = value.if_contains("intValue")) return std::string(i->as_string());
  }
  return {};
}

const json::object* find_span(const std::vector<json::object>& spans, std::string_view name, int kind) {
  for (const auto& s : spans) {
    if (str(s, "name") == name && s.at("kind").as_int64() == kind) return &s;
  }
  return nullptr;
}

bool has_event(const json::object& span, std::string_view name) {
  const auto* events = span.if_contains("events");
  if (events == nullptr) return false;
  for (const auto& e : events->as_array()) {
    if (e.at("name").as_string() == name) return true;
  }
  return false;
}

std::string post(unsigned short port, const std::string& target, const std::string& body,
                 const std::string& extra_headers = {}) {
  rawhttp::Connection c{port};
  c.send("POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  return c.read_response();
}

std::string header_of(const std::string& response, const std::string& name) {
  std::string lower = response;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\n" + name + ":");
  if (at == std::string::npos) return {};
  const auto start = response.find_first_not_of(' ', at + name.size() + 3);
  return response.substr(start, response.find("\r\n", start) - start);
}

// A host serving the shop contracts over HTTP, exporting to `receiver`.
class Tracing : public ::testing::Test {
 protected:
  pit::HostOptions options() {
    pit::HostOptions o;
    o.log_sink = logs;
    o.http.listen = "127.0.0.1:0";
    o.io_threads = 1;
    o.shutdown_grace = 0ms;
    o.tracing.endpoint = receiver.url();
    o.tracing.export_interval = 20ms;
    o.service.name = "shop-test";
    return o;
  }
  void start(pit::HostOptions o) {
    host = std::make_unique<pit::Host>(std::move(o));
    host->serve<Inventory, InventoryService>(probe);
    host->serve<Orders, OrdersService>(host->client<Inventory>(), probe);
    host->start();
  }
  void TearDown() override {
    if (host) host->stop();
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  Receiver receiver;
  Probe probe;
  std::unique_ptr<pit::Host> host;
};

TEST_F(Tracing, a_nested_call_makes_a_server_span_with_an_internal_child_in_the_callers_trace) {
  start(options());
  const std::string traceparent = "traceparent: 00-" + std::string(kTrace) + "-" + std::string(kParent) + "-01\r\n";
  const auto res = post(host->http_port(), "/shop.v1.Orders/place", R"({"items":[{"sku":"apple","quantity":1}]})",
                        traceparent + "X-Request-Id: req-42\r\n");
  ASSERT_NE(res.find(" 200 "), std::string::npos) << res;
  host->stop();  // flushes
  const auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 2U);
  const auto* server = find_span(spans, "shop.v1.Orders/place", 2);
  const auto* internal = find_span(spans, "shop.v1.Inventory/reserve", 1);
  ASSERT_NE(server, nullptr);
  ASSERT_NE(internal, nullptr);
  EXPECT_EQ(str(*server, "traceId"), kTrace);
  EXPECT_EQ(str(*server, "parentSpanId"), kParent);
  EXPECT_EQ(str(*internal, "traceId"), kTrace);
  EXPECT_EQ(str(*internal, "parentSpanId"), str(*server, "spanId"));
  EXPECT_EQ(header_of(res, "traceparent"), "00-" + std::string(kTrace) + "-" + str(*server, "spanId") + "-01");
  EXPECT_EQ(attribute(*server, "rpc.system.name"), "pit");
  EXPECT_EQ(attribute(*server, "rpc.method"), "shop.v1.Orders/place");
  EXPECT_EQ(attribute(*server, "rpc.response.status_code"), "OK");
  EXPECT_EQ(attribute(*server, "pit.correlation_id"), "req-42");
  EXPECT_EQ(attribute(*internal, "pit.correlation_id"), "req-42");
  EXPECT_EQ(server->if_contains("status"), nullptr) << "success leaves the status unset";
  // The child runs inside its parent.
  const auto start_of = [](const json::object& s) { return std::stoull(str(s, "startTimeUnixNano")); };
  const auto end_of = [](const json::object& s) { return std::stoull(str(s, "endTimeUnixNano")); };
  EXPECT_LE(start_of(*server), start_of(*internal));
  EXPECT_LE(end_of(*internal), end_of(*server));
  EXPECT_EQ(attribute(*server, "service.name"), "") << "resource attributes are not span attributes";
  const auto& resource = server->at("resource").as_object();
  EXPECT_EQ(attribute(resource, "service.name"), "shop-test");
  EXPECT_FALSE(attribute(resource, "service.instance.id").empty());
}

TEST_F(Tracing, a_served_call_is_an_error_only_for_server_side_codes) {
  start(options());
  // not_found: the caller's mistake, not this server's; unset status, the code recorded.
  (void)post(host->http_port(), "/shop.v1.Inventory/reserve", R"({"sku":"missing","quantity":1})");
  // internal (masked): the server failed.
  (void)post(host->http_port(), "/shop.v1.Inventory/reserve", R"({"sku":"secret","quantity":1})");
  host->stop();
  const auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 2U);
  for (const auto& s : spans) {
    if (attribute(s, "rpc.response.status_code") == "NOT_FOUND") {
      EXPECT_EQ(s.if_contains("status"), nullptr);
      EXPECT_EQ(attribute(s, "error.type"), "");
    } else {
      EXPECT_EQ(attribute(s, "rpc.response.status_code"), "INTERNAL");
      EXPECT_EQ(s.at("status").at("code").as_int64(), 2);
      EXPECT_EQ(attribute(s, "error.type"), "INTERNAL");
      EXPECT_TRUE(has_event(s, "pit.fault_masked"));
    }
  }
}

TEST_F(Tracing, no_byte_of_a_masked_cause_or_message_is_exported) {
  start(options());
  for (const char* sku : {"secret", "forbidden", "late-secret"}) {
    (void)post(host->http_port(), "/shop.v1.Inventory/reserve",
               std::string(R"({"sku":")") + sku + R"(","quantity":1})");
  }
  (void)post(host->http_port(), "/shop.v1.Inventory/count", R"({"sku":"secret"})");
  host->stop();
  const auto bodies = receiver.bodies();
  ASSERT_FALSE(bodies.empty());
  std::size_t masked = 0;
  for (const auto& body : bodies) {
    EXPECT_EQ(body.find(kCanary), std::string::npos) << body;
    EXPECT_EQ(body.find("connection failed"), std::string::npos) << body;
    for (auto at = body.find("pit.fault_masked"); at != std::string::npos; at = body.find("pit.fault_masked", at + 1)) ++masked;
  }
  EXPECT_GE(masked, 3U) << "that a fault was masked is recorded, only not what it said";
}

TEST_F(Tracing, a_callers_unsampled_flag_is_honoured_and_nothing_is_recorded) {
  start(options());
  const auto res = post(host->http_port(), "/shop.v1.Orders/place", R"({"items":[{"sku":"apple","quantity":1}]})",
                        "traceparent: 00-" + std::string(kTrace) + "-" + std::string(kParent) + "-00\r\n");
  ASSERT_NE(res.find(" 200 "), std::string::npos) << res;
  EXPECT_TRUE(header_of(res, "traceparent").ends_with("-00"));
  host->stop();
  EXPECT_TRUE(receiver.bodies().empty());
}

TEST_F(Tracing, a_root_call_is_sampled_by_the_ratio_and_an_unsampled_one_propagates_flag_00) {
  auto o = options();
  o.tracing.sample_ratio = 0.0;
  start(o);
  const auto res = post(host->http_port(), "/shop.v1.Orders/place", R"({"items":[{"sku":"apple","quantity":1}]})");
  EXPECT_TRUE(header_of(res, "traceparent").ends_with("-00")) << res;
  host->stop();
  EXPECT_TRUE(receiver.bodies().empty());
}

TEST_F(Tracing, a_trusted_force_header_samples_one_call_and_an_untrusted_one_cannot) {
  auto o = options();
  o.tracing.sample_ratio = 0.0;
  o.tracing.force_token = "on-call-7c1e9d";
  start(o);
  const std::string body = R"({"items":[{"sku":"apple","quantity":1}]})";
  const std::string unsampled = "traceparent: 00-" + std::string(kTrace) + "-" + std::string(kParent) + "-00\r\n";
  // Wrong token, a prefix of it, an empty one: not trusted, not sampled.
  for (const char* token : {"guess", "on-call-7c1e9", "", "ON-CALL-7C1E9D", "on-call-7c1e9dx"}) {
    const auto res = post(host->http_port(), "/shop.v1.Orders/place", body, std::string("Pit-Trace-Force: ") + token + "\r\n");
    EXPECT_TRUE(header_of(res, "traceparent").ends_with("-00")) << token;
  }
  const auto forced =
      post(host->http_port(), "/shop.v1.Orders/place", body, unsampled + "Pit-Trace-Force: on-call-7c1e9d\r\n");
  EXPECT_TRUE(header_of(forced, "traceparent").ends_with("-01")) << forced;
  host->stop();
  const auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 2U) << "the forced call and its in-process child, nothing of the others";
  EXPECT_NE(find_span(spans, "shop.v1.Orders/place", 2), nullptr);
  EXPECT_NE(find_span(spans, "shop.v1.Inventory/reserve", 1), nullptr);
}

TEST_F(Tracing, without_a_configured_token_the_force_header_is_ignored) {
  auto o = options();
  o.tracing.sample_ratio = 0.0;
  start(o);
  const auto res = post(host->http_port(), "/shop.v1.Orders/place", R"({"items":[{"sku":"apple","quantity":1}]})",
                        "Pit-Trace-Force: \r\n");
  EXPECT_TRUE(header_of(res, "traceparent").ends_with("-00"));
  host->stop();
  EXPECT_TRUE(receiver.bodies().empty());
}

TEST(Sampling, the_ratio_decides_by_trace_id_alone_like_trace_id_ratio_based) {
  EXPECT_TRUE(pit::detail::sampled_by_ratio(kTrace, 1.0));
  EXPECT_FALSE(pit::detail::sampled_by_ratio(kTrace, 0.0));
  // The last 16 hex digits >> 1 against ratio * 2^63.
  EXPECT_TRUE(pit::detail::sampled_by_ratio("ffffffffffffffff0000000000000000", 0.001));
  EXPECT_FALSE(pit::detail::sampled_by_ratio("00000000000000008000000000000000", 0.5));
  EXPECT_TRUE(pit::detail::sampled_by_ratio("00000000000000007ffffffffffffffe", 0.5));
  EXPECT_TRUE(pit::detail::sampled_by_ratio("ffffffffffffffff0000000000000000", 0.25)) << "the first half plays no part";
  EXPECT_FALSE(pit::detail::sampled_by_ratio("0000000000000000ffffffffffffffff", 0.999));
  int sampled = 0;
  std::array<char, 32> id{};
  for (int i = 0; i < 4000; ++i) {
    pit::detail::random_hex(id.data(), id.size());
    const std::string_view trace{id.data(), id.size()};
    const bool once = pit::detail::sampled_by_ratio(trace, 0.25);
    EXPECT_EQ(once, pit::detail::sampled_by_ratio(trace, 0.25)) << "the same id, the same answer";
    sampled += once ? 1 : 0;
  }
  EXPECT_GT(sampled, 800);
  EXPECT_LT(sampled, 1200);
}

TEST(Sampling, the_force_token_must_match_exactly) {
  EXPECT_TRUE(pit::detail::trusted_force_token("abc", "abc"));
  EXPECT_FALSE(pit::detail::trusted_force_token("abd", "abc"));
  EXPECT_FALSE(pit::detail::trusted_force_token("ab", "abc"));
  EXPECT_FALSE(pit::detail::trusted_force_token("", ""));
}

// A caller host (no listener) whose client goes to a scripted replica.
class ClientSpans : public ::testing::Test {
 protected:
  void TearDown() override {
    if (caller) caller->stop();
  }
  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  Receiver receiver;
  std::unique_ptr<pit::Host> caller;
};

TEST_F(ClientSpans, each_attempt_is_a_client_span_child_of_the_call_and_its_traceparent_names_it) {
  std::atomic<int> n{0};
  fake::Replica replica{[&n](const fake::Request& r) {
    return n.fetch_add(1) == 0 ? fake::problem(503, "unavailable", true) : fake::ok_reply(r);
  }};
  pit::HostOptions o;
  o.log_sink = logs;
  o.io_threads = 1;
  o.tracing.endpoint = receiver.url();
  o.clients["shop.v1.Inventory"].retry.backoff_base = 1ms;
  o.clients["shop.v1.Inventory"].retry.backoff_max = 2ms;
  caller = std::make_unique<pit::Host>(o);
  auto inventory = caller->client<Inventory>(replica.url());
  caller->start();
  {
    pit::CallerScope scope{{.correlation_id = "job-7", .timeout = 5s}};
    EXPECT_EQ(inventory->count({"apple"}).quantity, 42);
  }
  caller->stop();
  const auto spans = receiver.spans();
  ASSERT_EQ(spans.size(), 3U);
  const json::object* call = nullptr;
  std::vector<const json::object*> attempts;
  for (const auto& s : spans) {
    EXPECT_EQ(s.at("kind").as_int64(), 3) << "every span of an outbound call is CLIENT";
    EXPECT_EQ(str(s, "name"), "shop.v1.Inventory/count");
    EXPECT_EQ(attribute(s, "pit.correlation_id"), "job-7");
    if (attribute(s, "pit.attempt_kind").empty()) {
      call = &s;
    } else {
      attempts.push_back(&s);
    }
  }
  ASSERT_NE(call, nullptr);
  ASSERT_EQ(attempts.size(), 2U);
  EXPECT_EQ(call->if_contains("parentSpanId"), nullptr) << "a root call";
  EXPECT_EQ(attribute(*call, "pit.attempts"), "2");
  EXPECT_EQ(attribute(*call, "rpc.response.status_code"), "OK");
  std::sort(attempts.begin(), attempts.end(),
            [](auto* a, auto* b) { return attribute(*a, "pit.attempt") < attribute(*b, "pit.attempt"); });
  EXPECT_EQ(attribute(*attempts[0], "pit.attempt_kind"), "first");
  EXPECT_EQ(attribute(*attempts[0], "rpc.response.status_code"), "UNAVAILABLE");
  EXPECT_EQ(attempts[0]->at("status").at("code").as_int64(), 2) << "a failed attempt is an error on the client side";
  EXPECT_EQ(attribute(*attempts[1], "pit.attempt_kind"), "retry");
  EXPECT_EQ(attribute(*attempts[1], "rpc.response.status_code"), "OK");
  EXPECT_EQ(attribute(*attempts[0], "server.address"), "127.0.0.1");
  EXPECT_EQ(attribute(*attempts[0], "server.port"), std::to_string(replica.port()));
  for (auto* a : attempts) {
    EXPECT_EQ(str(*a, "parentSpanId"), str(*call, "spanId"));
    EXPECT_EQ(str(*a, "traceId"), str(*call, "traceId"));
  }
  // What the replica got: each attempt's own span id as the parent of the callee's span.
  const auto traceparents = replica.traceparents_seen();
  ASSERT_EQ(traceparents.size(), 2U);
  EXPECT_EQ(traceparents[0], "00-" + str(*call, "traceId") + "-" + str(*attempts[0], "spanId") + "-01");
  EXPECT_EQ(traceparents[1], "00-" + str(*call, "traceId") + "-" + str(*attempts[1], "spanId") + "-01");
}

// --- The exporter on its own ---------------------------------------------------------

pit::detail::SpanRecord a_span(int i = 0) {
  pit::detail::SpanRecord s;
  pit::detail::random_hex(s.trace_id.data(), s.trace_id.size());
  pit::detail::random_hex(s.span_id.data(), s.span_id.size());
  s.kind = pit::detail::SpanKind::internal;
  s.contract = "shop.v1.Inventory";
  s.operation = i % 2 == 0 ? "count" : "reserve";
  s.start = pit::Clock::now();
  s.end = s.start + 1ms;
  return s;
}

pit::TracingOptions exporter_options(const Receiver& receiver) {
  pit::TracingOptions t;
  t.endpoint = receiver.url();
  t.export_interval = 10ms;
  t.export_timeout = 2s;
  t.max_batch = 100;
  return t;
}

constexpr pit::detail::ExportRetry kFastRetry{.first_backoff = 5ms, .max_backoff = 20ms, .max_retry_after = 5s};

TEST(Exporter, a_full_queue_drops_and_counts_and_never_waits) {
  pit::detail::Tracer tracer{3, 3};
  for (int i = 0; i < 5; ++i) tracer.record(a_span(i));
  EXPECT_EQ(tracer.queued(), 3U);
  EXPECT_EQ(tracer.dropped(pit::detail::DropReason::queue_full), 2U);
  std::string page;
  tracer.render(page);
  EXPECT_NE(page.find("pit_trace_spans_dropped_total{reason=\"queue_full\"} 2\n"), std::string::npos) << page;
}

TEST(Exporter, retries_on_429_and_503_honouring_retry_after_then_exports) {
  Receiver receiver;
  receiver.then(fake::problem(429, "resource_exhausted", true, "1"));
  receiver.then(fake::problem(503, "unavailable", true));
  pit::detail::Tracer tracer{100, 100};
  pit::detail::OtlpExporter exporter{tracer, exporter_options(receiver), {{"service.name", "t"}},
                                     pit::detail::HttpFetch{&pit::detail::fetch}, kFastRetry};
  for (int i = 0; i < 4; ++i) tracer.record(a_span(i));
  exporter.start();
  const auto spans = receiver.wait_for_spans(12);  // the same batch, sent three times
  exporter.stop(pit::Clock::now() + 1s);
  const auto times = receiver.times();
  ASSERT_EQ(times.size(), 3U);
  EXPECT_GE(times[1] - times[0], 1s) << "Retry-After: 1 is a floor for the wait";
  EXPECT_LT(times[2] - times[1], 900ms) << "no Retry-After: the backoff alone";
  EXPECT_EQ(tracer.exported(), 4U);
  EXPECT_EQ(tracer.export_failures(), 2U);
  EXPECT_EQ(tracer.dropped(pit::detail::DropReason::export_failed), 0U);
}

TEST(Exporter, retries_on_502_and_504_and_gives_up_after_the_last_attempt) {
  Receiver receiver;
  for (int i = 0; i < pit::detail::kMaxExportAttempts; ++i) receiver.then(fake::problem(i % 2 == 0 ? 502 : 504, "unavailable", true));
  pit::detail::Tracer tracer{100, 100};
  pit::detail::OtlpExporter exporter{tracer, exporter_options(receiver), {}, pit::detail::HttpFetch{&pit::detail::fetch},
                                     kFastRetry};
  tracer.record(a_span());
  tracer.record(a_span());
  exporter.start();
  (void)receiver.wait_for_spans(2 * pit::detail::kMaxExportAttempts);
  exporter.stop(pit::Clock::now() + 1s);
  EXPECT_EQ(receiver.bodies().size(), static_cast<std::size_t>(pit::detail::kMaxExportAttempts));
  EXPECT_EQ(tracer.exported(), 0U);
  EXPECT_EQ(tracer.dropped(pit::detail::DropReason::export_failed), 2U);
  EXPECT_EQ(tracer.export_failures(), static_cast<std::uint64_t>(pit::detail::kMaxExportAttempts));
}

TEST(Exporter, a_refusal_that_is_not_retryable_drops_the_batch_at_once) {
  Receiver receiver;
  receiver.then(fake::problem(400, "invalid_argument", false));
  pit::detail::Tracer tracer{100, 100};
  pit::detail::OtlpExporter exporter{tracer, exporter_options(receiver), {}, pit::detail::HttpFetch{&pit::detail::fetch},
                                     kFastRetry};
  tracer.record(a_span());
  exporter.start();
  (void)receiver.wait_for_spans(1);
  std::this_thread::sleep_for(50ms);
  exporter.stop(pit::Clock::now() + 1s);
  EXPECT_EQ(receiver.bodies().size(), 1U);
  EXPECT_EQ(tracer.dropped(pit::detail::DropReason::export_failed), 1U);
}

TEST(Exporter, stop_flushes_what_is_queued_in_batches) {
  Receiver receiver;
  auto t = exporter_options(receiver);
  t.export_interval = 1h;  // only a full batch or the stop sends anything
  t.max_batch = 4;
  pit::detail::Tracer tracer{100, t.max_batch};
  pit::detail::OtlpExporter exporter{tracer, t, {}, pit::detail::HttpFetch{&pit::detail::fetch}, kFastRetry};
  exporter.start();
  for (int i = 0; i < 10; ++i) tracer.record(a_span(i));
  exporter.stop(pit::Clock::now() + 2s);
  EXPECT_EQ(receiver.spans().size(), 10U);
  EXPECT_GE(receiver.bodies().size(), 3U) << "at most max_batch spans per request";
  EXPECT_EQ(tracer.exported(), 10U);
}

TEST(Exporter, stop_ends_by_its_deadline_when_the_receiver_hangs_and_counts_what_is_left) {
  Receiver receiver;
  fake::Reply slow;
  slow.delay = 5s;
  receiver.then(slow);
  pit::detail::Tracer tracer{100, 100};
  pit::detail::OtlpExporter exporter{tracer, exporter_options(receiver), {}, pit::detail::HttpFetch{&pit::detail::fetch},
                                     kFastRetry};
  for (int i = 0; i < 3; ++i) tracer.record(a_span(i));
  exporter.start();
  while (receiver.bodies().empty()) std::this_thread::sleep_for(1ms);
  const auto start = pit::Clock::now();
  exporter.stop(start + 200ms);
  EXPECT_LT(pit::Clock::now() - start, 1s);
  EXPECT_EQ(tracer.dropped(pit::detail::DropReason::shutdown), 3U);
}

TEST(Exporter, the_receivers_partial_success_counts_rejected_spans) {
  Receiver receiver;
  fake::Reply partial;
  partial.body = R"({"partialSuccess":{"rejectedSpans":"1","errorMessage":"too old"}})";
  receiver.then(partial);
  pit::detail::Tracer tracer{100, 100};
  pit::detail::OtlpExporter exporter{tracer, exporter_options(receiver), {}, pit::detail::HttpFetch{&pit::detail::fetch},
                                     kFastRetry};
  for (int i = 0; i < 3; ++i) tracer.record(a_span(i));
  exporter.start();
  (void)receiver.wait_for_spans(3);
  exporter.stop(pit::Clock::now() + 1s);
  EXPECT_EQ(tracer.exported(), 2U);
  EXPECT_EQ(tracer.dropped(pit::detail::DropReason::rejected), 1U);
}

TEST_F(Tracing, calls_are_not_slowed_by_a_hanging_receiver_and_the_drops_are_counted) {
  fake::Reply hang;
  hang.delay = 3s;
  for (int i = 0; i < 3; ++i) receiver.then(hang);
  auto o = options();
  o.tracing.max_queue = 4;
  o.tracing.max_batch = 2;
  o.admin.listen = "127.0.0.1:0";
  start(o);
  auto inventory = host->client<Inventory>();
  const auto begin = pit::Clock::now();
  for (int i = 0; i < 200; ++i) {
    pit::CallerScope scope{{.timeout = 2s}};
    EXPECT_EQ(inventory->count({"apple"}).quantity, 42);
  }
  EXPECT_LT(pit::Clock::now() - begin, 2s) << "200 in-process calls while the receiver hangs";
  rawhttp::Connection c{host->admin_port()};
  c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string page = rawhttp::body_of(c.read_response());
  const std::string sample = "pit_trace_spans_dropped_total{reason=\"queue_full\"} ";
  const auto at = page.find(sample);
  ASSERT_NE(at, std::string::npos) << page;
  EXPECT_GT(std::stol(page.substr(at + sample.size())), 150);
  const auto stop_begin = pit::Clock::now();
  host->stop();
  EXPECT_LT(pit::Clock::now() - stop_begin, 2s) << "stop is bounded whatever the receiver does";
}

// --- The JSON, exactly ---------------------------------------------------------------

TEST(OtlpJson, a_span_is_written_exactly_per_the_otlp_json_mapping) {
  pit::detail::SpanRecord s;
  const std::string trace = "5b8efff798038103d269b633813fc60c";
  const std::string id = "eee19b7ec3c1b174";
  const std::string parent = "eee19b7ec3c1b173";
  std::copy(trace.begin(), trace.end(), s.trace_id.begin());
  std::copy(id.begin(), id.end(), s.span_id.begin());
  std::copy(parent.begin(), parent.end(), s.parent_span_id.begin());
  s.has_parent = true;
  s.kind = pit::detail::SpanKind::server;
  s.code = pit::Code::deadline_exceeded;
  s.contract = "shop.v1.Orders";
  s.operation = "place";
  s.start = pit::Clock::time_point(1s);
  s.end = pit::Clock::time_point(1s + 1500us);
  s.correlation_id = "req-\"1\"";
  s.attempt = 2;
  s.add_event({pit::detail::SpanEvent::Kind::deadline_expired, s.start + 1ms});
  s.add_event({pit::detail::SpanEvent::Kind::cancelled, s.end, pit::CancelReason::deadline});
  s.add_event({pit::detail::SpanEvent::Kind::fault_masked, s.end, pit::CancelReason::none, pit::Code::internal});
  std::string out;
  // Steady 1 s is Unix 1700000000 s.
  pit::detail::append_otlp_json(out, {{"service.name", "orders"}}, {&s, 1}, std::chrono::seconds(1'700'000'000 - 1));
  const std::string expected =
      R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},)"
      R"("scopeSpans":[{"scope":{"name":"pit"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",)"
      R"("spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"shop.v1.Orders/place","kind":2,)"
      R"("startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001500000",)"
      R"("attributes":[{"key":"rpc.system.name","value":{"stringValue":"pit"}},)"
      R"({"key":"rpc.method","value":{"stringValue":"shop.v1.Orders/place"}},)"
      R"({"key":"rpc.response.status_code","value":{"stringValue":"DEADLINE_EXCEEDED"}},)"
      R"({"key":"error.type","value":{"stringValue":"DEADLINE_EXCEEDED"}},)"
      R"({"key":"pit.correlation_id","value":{"stringValue":"req-\"1\""}},)"
      R"({"key":"pit.attempt","value":{"intValue":"2"}}],)"
      R"("events":[{"timeUnixNano":"1700000000001000000","name":"pit.deadline_expired"},)"
      R"({"timeUnixNano":"1700000000001500000","name":"pit.cancelled","attributes":[{"key":"pit.cancel_reason","value":{"stringValue":"deadline"}}]},)"
      R"({"timeUnixNano":"1700000000001500000","name":"pit.fault_masked","attributes":[{"key":"rpc.response.status_code","value":{"stringValue":"INTERNAL"}}]}],)"
      R"("status":{"message":"DEADLINE_EXCEEDED","code":2}}]}]}]})";
  EXPECT_EQ(out, expected);
  // And it is JSON whose keys are the mapping's lowerCamelCase names.
  const auto doc = json::parse(out);
  const auto& span = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).as_object();
  for (const auto& kv : span) {
    const std::string key(kv.key());
    EXPECT_EQ(key.find('_'), std::string::npos) << key;
  }
}

TEST(OtlpJson, a_root_span_has_no_parent_and_a_client_span_is_an_error_for_any_code) {
  pit::detail::SpanRecord s;
  pit::detail::random_hex(s.trace_id.data(), 32);
  pit::detail::random_hex(s.span_id.data(), 16);
  s.kind = pit::detail::SpanKind::client;
  s.code = pit::Code::not_found;
  s.contract = "a";
  s.operation = "b";
  std::string out;
  pit::detail::append_otlp_json(out, {}, {&s, 1}, {});
  const auto doc = json::parse(out);
  const auto& span = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0).as_object();
  EXPECT_EQ(span.if_contains("parentSpanId"), nullptr);
  EXPECT_EQ(span.at("kind").as_int64(), 3);
  EXPECT_EQ(span.at("status").at("code").as_int64(), 2);
}

// --- Configuration: [tracing] and the OTEL_* variables ---------------------------------

pit::HostOptions with_env(std::map<std::string, std::string> env, std::string_view toml = "") {
  return pit::Config::from_toml(toml, "t.toml", &env);
}

TEST(TracingConfig, otel_variables_set_tracing_and_the_file_wins_over_them) {
  auto o = with_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
                     {"OTEL_SERVICE_NAME", "checkout"},
                     {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=ignored"},
                     {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b,x-tenant=7"},
                     {"OTEL_EXPORTER_OTLP_TIMEOUT", "3000"},
                     {"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"},
                     {"OTEL_TRACES_SAMPLER_ARG", "0.25"},
                     {"OTEL_BSP_SCHEDULE_DELAY", "1000"},
                     {"OTEL_BSP_MAX_QUEUE_SIZE", "100"},
                     {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50"}});
  EXPECT_EQ(o.tracing.endpoint, "http://collector:4318/v1/traces");
  EXPECT_EQ(o.service.name, "checkout");
  EXPECT_EQ(o.tracing.headers, (std::vector<std::pair<std::string, std::string>>{{"api-key", "a b"}, {"x-tenant", "7"}}));
  EXPECT_EQ(o.tracing.resource_attributes.front(), (std::pair<std::string, std::string>{"deployment.environment", "prod"}));
  EXPECT_EQ(o.tracing.export_timeout, 3000ms);
  EXPECT_DOUBLE_EQ(o.tracing.sample_ratio, 0.25);
  EXPECT_EQ(o.tracing.export_interval, 1000ms);
  EXPECT_EQ(o.tracing.max_queue, 100U);
  EXPECT_EQ(o.tracing.max_batch, 50U);

  auto file = with_env({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://a:1/t"}, {"OTEL_TRACES_SAMPLER", "always_off"}},
                       "[tracing]\nendpoint = \"http://file:4318/v1/traces\"\nsample_ratio = 0.5\n");
  EXPECT_EQ(file.tracing.endpoint, "http://file:4318/v1/traces");
  EXPECT_DOUBLE_EQ(file.tracing.sample_ratio, 0.5);
  auto pit_env = with_env({{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://a:1/t"}, {"PIT_TRACING_ENDPOINT", "http://b:2/t"}});
  EXPECT_EQ(pit_env.tracing.endpoint, "http://b:2/t");
}

TEST(TracingConfig, otel_switches_turn_export_off_and_otlp_alone_uses_the_default_endpoint) {
  EXPECT_EQ(with_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"}, {"OTEL_SDK_DISABLED", "true"}}).tracing.endpoint, "");
  EXPECT_EQ(with_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"}, {"OTEL_TRACES_EXPORTER", "none"}}).tracing.endpoint, "");
  EXPECT_EQ(with_env({{"OTEL_TRACES_EXPORTER", "otlp"}}).tracing.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(with_env({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"}}).tracing.endpoint, "http://c:4318/v1/traces");
  EXPECT_EQ(with_env({}).tracing.endpoint, "") << "off unless configured";
}

TEST(TracingConfig, otel_values_pit_cannot_honour_stop_the_start) {
  EXPECT_THROW(with_env({{"OTEL_TRACES_SAMPLER", "jaeger_remote"}}), pit::ConfigError);
  EXPECT_THROW(with_env({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "2"}}), pit::ConfigError);
  EXPECT_THROW(with_env({{"OTEL_TRACES_EXPORTER", "zipkin"}}), pit::ConfigError);
  EXPECT_THROW(with_env({{"OTEL_EXPORTER_OTLP_HEADERS", "novalue"}}), pit::ConfigError);
  EXPECT_THROW(with_env({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"}}), pit::ConfigError);
  EXPECT_THROW(with_env({}, "[tracing]\nheaders = \"a\"\n"), pit::ConfigError);
  EXPECT_THROW(with_env({}, "[tracing]\nsample_ratio = 1.5\n"), pit::ConfigError);
}

TEST(TracingConfig, an_https_or_malformed_endpoint_stops_the_start) {
  pit::HostOptions o;
  o.tracing.endpoint = "https://collector:4318/v1/traces";
  pit::Host host{o};
  EXPECT_THROW(host.start(), std::invalid_argument);
}

TEST(TracingConfig, the_pipeline_shows_tracing_only_when_spans_are_exported) {
  pit::HostOptions o;
  pit::Host off{o};
  EXPECT_EQ(off.describe_pipeline().find("tracing"), std::string::npos);
  o.tracing.endpoint = "http://127.0.0.1:4318/v1/traces";
  pit::Host on{o};
  EXPECT_NE(on.describe_pipeline().find("2. tracing\n"), std::string::npos) << on.describe_pipeline();
}

}  // namespace
}  // namespace shop
