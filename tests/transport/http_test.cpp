// The HTTP boundary: pit services called across a real loopback socket by pit's client
// and by a raw client that sends hostile bytes. Every refusal is a problem+json with the
// right status, nothing leaks, and the server keeps serving.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "support/admin_fixture.hpp"
#include "support/host_fixture.hpp"
#include "support/raw_http.hpp"

namespace shop {
namespace {

using namespace std::chrono_literals;
using pit::block_on;
using pit::Code;
using rawhttp::body_of;
using rawhttp::header_of;
using rawhttp::post;
using rawhttp::status_of;

class Http : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.http.listen = "127.0.0.1:0";
    o.http.max_body_bytes = 64 * 1024;
    o.http.max_header_bytes = 4096;
    o.http.read_timeout = 300ms;
    return o;
  }
  void SetUp() override {
    HostTest::SetUp();
    host->start();
    port = host->http_port();
    pit::HostOptions caller_options;
    caller_options.log_sink = logs;  // logging is process-wide: one sink for both hosts
    caller = std::make_unique<pit::Host>(caller_options);
    remote_inventory = caller->client<Inventory>("http://127.0.0.1:" + std::to_string(port));
    remote_orders = caller->client<Orders>("http://127.0.0.1:" + std::to_string(port) + "/");
    caller->start();
  }
  void TearDown() override {
    caller->stop();
    HostTest::TearDown();
  }
  std::string exchange(const std::string& bytes) {
    rawhttp::Connection c{port};
    c.send(bytes);
    return c.read_response();
  }
  static boost::json::object problem(const std::string& response) {
    EXPECT_EQ(header_of(response, "Content-Type"), "application/problem+json");
    boost::system::error_code ec;
    auto v = boost::json::parse(body_of(response), ec);
    EXPECT_FALSE(ec) << response;
    return ec ? boost::json::object{} : v.as_object();
  }
  void expect_server_still_serves() {
    auto reply = block_on(remote_inventory->reserve({"apple", 1}));
    EXPECT_EQ(reply.remaining, 99);
  }

  unsigned short port = 0;
  std::unique_ptr<pit::Host> caller;
  pit::Ref<Inventory> remote_inventory;
  pit::Ref<Orders> remote_orders;
};

TEST_F(Http, remote_call_through_a_pit_client_returns_the_reply) {
  EXPECT_EQ(block_on(remote_inventory->reserve({"apple", 3})).remaining, 97);
  EXPECT_EQ(remote_inventory->count({"apple"}).quantity, 42);
  auto placed = block_on(remote_orders->place(shop::PlaceOrder{{{"apple", 1}, {"pear", 2}}, "two"}));
  EXPECT_EQ(placed.lines, 2);
}

TEST_F(Http, declared_fault_crosses_the_wire_with_its_code_and_message) {
  auto fault = fault_of([&] { block_on(remote_inventory->reserve({"missing", 1})); });
  EXPECT_EQ(fault.code(), Code::not_found);
  EXPECT_EQ(fault.message(), "no such sku");
  EXPECT_EQ(fault.correlation_id().size(), 32U);
}

TEST_F(Http, undeclared_failure_stays_masked_on_the_wire) {
  auto response = exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"secret","quantity":1})"));
  EXPECT_EQ(status_of(response), 500);
  EXPECT_EQ(response.find(kCanary), std::string::npos);
  EXPECT_EQ(response.find("runtime_error"), std::string::npos);
  auto p = problem(response);
  EXPECT_EQ(p["code"], "internal");
  EXPECT_EQ(p["detail"], "internal error");
  EXPECT_FALSE(p.contains("retryable"));
  EXPECT_EQ(p["masked"], true) << "the hops above must not record it again";
  auto fault = fault_of([&] { block_on(remote_orders->place(shop::PlaceOrder{{{"secret", 1}}, ""})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
}

TEST_F(Http, deadline_travels_as_remaining_time_and_bounds_the_remote_call) {
  pit::CallerScope scope{{.correlation_id = "deadline-1", .timeout = 300ms}};
  const auto start = pit::Clock::now();
  auto fault = fault_of([&] { block_on(remote_inventory->reserve({"slow", 5000})); });
  const auto took = pit::Clock::now() - start;
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_LT(took, 600ms);
  std::lock_guard lock(probe.mutex);
  // Relative on the wire: the server may see it later by the transit time, never by more.
  EXPECT_LT(probe.seen_deadline, start + 300ms + 50ms);
  EXPECT_GT(probe.seen_deadline, start + 200ms);
}

TEST_F(Http, correlation_and_trace_context_cross_the_wire) {
  pit::CallerScope scope{{.correlation_id = "corr-http-1"}};
  block_on(remote_inventory->reserve({"apple", 1}));
  pit::log::flush();
  std::string client_line;
  for (const auto& l : logs->lines()) {
    if (l.find(R"("kind":"client")") != std::string::npos) client_line = l;
  }
  ASSERT_FALSE(client_line.empty());
  std::lock_guard lock(probe.mutex);
  EXPECT_EQ(probe.seen_correlation, "corr-http-1");
  EXPECT_NE(client_line.find(probe.seen_trace), std::string::npos) << "same trace id on both sides";
  EXPECT_NE(client_line.find(R"("span_id":")" + probe.seen_parent_span), std::string::npos)
      << "the server span's parent is the client span";
}

TEST_F(Http, response_carries_the_correlation_id_and_traceparent) {
  auto response = exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"apple"})",
                                "X-Request-Id: abc-123\r\n"
                                "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"));
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(header_of(response, "X-Request-Id"), "abc-123");
  auto tp = header_of(response, "traceparent");
  EXPECT_EQ(tp.substr(0, 36), "00-0af7651916cd43dd8448eb211c80319c-");
  std::lock_guard lock(probe.mutex);
  EXPECT_EQ(probe.seen_parent_span, "b7ad6b7169203331");
}

TEST_F(Http, invalid_request_id_is_replaced_and_never_echoed_or_logged_raw) {
  // Printable but outside the charset: the call runs under a generated id.
  auto response = exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"apple"})",
                                "X-Request-Id: evil id <script>\"\r\n"));
  EXPECT_EQ(status_of(response), 200);
  auto id = header_of(response, "X-Request-Id");
  EXPECT_EQ(id.size(), 32U) << "a generated id";
  EXPECT_EQ(response.find("<script>"), std::string::npos);
  // Control characters in a header: the request is refused before anything reads it.
  auto refused = exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"apple"})", "X-Request-Id: a\x01\x7f b\r\n"));
  EXPECT_EQ(status_of(refused), 400);
  EXPECT_EQ(refused.find('\x01'), std::string::npos);
  pit::log::flush();
  for (const auto& l : logs->lines()) {
    EXPECT_EQ(l.find('\x01'), std::string::npos);
    EXPECT_EQ(l.find("<script>"), std::string::npos);
  }
}

TEST_F(Http, client_disconnect_cancels_the_call_with_reason_caller) {
  {
    rawhttp::Connection c{port};
    c.send(post("/shop.v1.Inventory/reserve", R"({"sku":"slow","quantity":5000})"));
    for (int i = 0; i < 500 && probe.dispatched.load() == 0; ++i) std::this_thread::sleep_for(1ms);
    c.close();
  }
  for (int i = 0; i < 2000 && !probe.timer_cancelled.load(); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(probe.timer_cancelled);
  EXPECT_EQ(probe.cancel_reason, static_cast<int>(pit::CancelReason::caller));
  expect_server_still_serves();
}

TEST_F(Http, connection_refused_is_unavailable) {
  pit::HostOptions o;
  o.log_sink = logs;
  pit::Host other{o};
  auto nowhere = other.client<Inventory>("http://127.0.0.1:1");
  other.start();
  auto fault = fault_of([&] { block_on(nowhere->reserve({"apple", 1})); });
  EXPECT_EQ(fault.code(), Code::unavailable);
  EXPECT_TRUE(fault.has(pit::Fault::retryable)) << "nothing was sent";
}

TEST_F(Http, no_answer_before_the_deadline_is_deadline_exceeded) {
  // A server that accepts and never answers.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor silent{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  auto remote = caller->client<Inventory>("http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()));
  pit::CallerScope scope{{.timeout = 150ms}};
  const auto start = pit::Clock::now();
  auto fault = fault_of([&] { block_on(remote->reserve({"apple", 1})); });
  EXPECT_EQ(fault.code(), Code::deadline_exceeded);
  EXPECT_LT(pit::Clock::now() - start, 500ms);
}

TEST_F(Http, unknown_contract_or_operation_is_404) {
  auto r1 = exchange(post("/shop.v1.Nope/reserve", "{}"));
  EXPECT_EQ(status_of(r1), 404);
  EXPECT_EQ(problem(r1)["code"], "not_found");
  auto r2 = exchange(post("/shop.v1.Inventory/nope", "{}"));
  EXPECT_EQ(status_of(r2), 404);
  auto r3 = exchange(post("/", "{}"));
  EXPECT_EQ(status_of(r3), 404);
  EXPECT_EQ(probe.dispatched, 0);
}

TEST_F(Http, wrong_method_is_405) {
  auto r = exchange("GET /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_of(r), 405);
  EXPECT_EQ(header_of(r, "Allow"), "POST");
  EXPECT_EQ(problem(r)["status"], 405);
}

// A HEAD answered with content desynchronized a keep-alive connection: the client reads
// that content as the start of the next response.
TEST_F(Http, head_is_405_without_content_and_the_connection_stays_in_step) {
  rawhttp::Connection c{port};
  c.send("HEAD /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\n\r\n" +
         post("/shop.v1.Inventory/reserve", R"({"sku":"apple"})", "Connection: close\r\n"));
  const auto all = c.read_until_closed();
  EXPECT_EQ(status_of(all), 405);
  EXPECT_NE(header_of(all, "Content-Length"), "0");
  const auto second = all.substr(std::min(all.size(), all.find("\r\n\r\n") + 4));
  EXPECT_EQ(status_of(second), 200) << all;
}

class WithAdmin : public HostWithAdminTest {};

TEST_F(WithAdmin, head_on_the_admin_listener_gives_the_length_without_the_content) {
  host->start();
  rawhttp::Connection c{host->admin_port()};
  c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto all = c.read_until_closed();
  EXPECT_EQ(status_of(all), 200) << all;
  EXPECT_EQ(header_of(all, "Content-Length"), "3") << all;  // "ok\n", not sent
  const auto second = all.substr(std::min(all.size(), all.find("\r\n\r\n") + 4));
  EXPECT_EQ(status_of(second), 200) << all;
  EXPECT_TRUE(second.ends_with("\r\n\r\nok\n")) << all;
}

TEST_F(Http, missing_or_wrong_content_type_is_415) {
  EXPECT_EQ(status_of(exchange(post("/shop.v1.Inventory/reserve", "{}", "", ""))), 415);
  EXPECT_EQ(status_of(exchange(post("/shop.v1.Inventory/reserve", "{}", "", "text/plain"))), 415);
  EXPECT_EQ(status_of(exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"apple"})", "",
                                    "Application/JSON; charset=utf-8"))),
            200);
}

TEST_F(Http, malformed_json_and_wrong_types_are_400_naming_the_problem) {
  auto r1 = exchange(post("/shop.v1.Inventory/reserve", R"({"sku":)"));
  EXPECT_EQ(status_of(r1), 400);
  EXPECT_NE(std::string(problem(r1)["detail"].as_string()).find("not valid JSON"), std::string::npos);
  auto r2 = exchange(post("/shop.v1.Orders/place", R"({"items":[{"sku":"a"},{"sku":"b","quantity":"x"}]})"));
  EXPECT_EQ(status_of(r2), 400);
  EXPECT_NE(std::string(problem(r2)["detail"].as_string()).find("items[1].quantity"), std::string::npos);
  auto r3 = exchange(post("/shop.v1.Inventory/reserve", std::string(5000, '[') + std::string(5000, ']')));
  EXPECT_EQ(status_of(r3), 400);
  EXPECT_EQ(probe.dispatched, 0);
  // Bad input went through the pipeline: it was logged as a call like any other.
  EXPECT_GE(lines_with({R"("msg":"call")", R"("code":"invalid_argument")", R"("transport":"http")"}).size(), 3U);
}

TEST_F(Http, body_over_the_limit_is_413_without_reading_it) {
  rawhttp::Connection c{port};
  // Announce 10 MB and send none of it: the answer must come from the headers alone.
  c.send("POST /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: 10000000\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(status_of(r), 413);
  EXPECT_TRUE(c.closed_by_server(1s));
}

// An operation's own body limit, lower than the listener's: a Content-Length past it is
// refused from the headers too (Beast checks a Content-Length only against the limit in
// force when the header section ends, the listener's), and a body within it is served.
class HttpOperationBodyLimit : public Http {
 protected:
  pit::HostOptions options() override {
    auto o = Http::options();
    o.operations["shop.v1.Inventory/reserve"].max_body_bytes = 1024;
    return o;
  }
};

TEST_F(HttpOperationBodyLimit, a_body_over_the_operations_limit_is_413_without_reading_it) {
  {
    rawhttp::Connection c{port};
    c.send("POST /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           "Content-Length: 1025\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(status_of(r), 413);
  }
  // Sent whole, the same size is refused as well, and never dispatched.
  const std::string padded = R"({"sku":"apple","quantity":1,"pad":")" + std::string(1025, 'x') + "\"}";
  EXPECT_EQ(status_of(exchange(post("/shop.v1.Inventory/reserve", padded))), 413);
  EXPECT_EQ(probe.dispatched, 0);
  // Within the operation's limit: served.
  EXPECT_EQ(status_of(exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"apple","quantity":1})"))), 200);
}

TEST_F(Http, header_section_over_the_limit_is_431) {
  auto r = exchange("POST /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') +
                    "\r\n\r\n");
  EXPECT_EQ(status_of(r), 431);
}

TEST_F(Http, slow_client_that_never_finishes_its_headers_is_cut_off) {
  rawhttp::Connection c{port};
  c.send("POST /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\n");
  const auto start = pit::Clock::now();
  EXPECT_TRUE(c.closed_by_server(2s));
  EXPECT_LT(pit::Clock::now() - start, 1500ms) << "read timeout is 300 ms";
  expect_server_still_serves();
}

TEST_F(Http, content_length_with_transfer_encoding_is_400_and_closes) {
  rawhttp::Connection c{port};
  c.send("POST /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(status_of(r), 400);
  EXPECT_TRUE(c.closed_by_server(1s));
  EXPECT_EQ(probe.dispatched, 0);
}

TEST_F(Http, bad_chunk_size_is_400_and_closes) {
  rawhttp::Connection c{port};
  c.send("POST /shop.v1.Inventory/reserve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(status_of(r), 400);
  EXPECT_TRUE(c.closed_by_server(1s));
}

TEST_F(Http, invalid_timeout_header_is_400) {
  for (const char* bad : {"abc", "1", "123456789S", "5x", "-5S", "5 S"}) {
    auto r = exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"apple"})", std::string("Pit-Timeout: ") + bad + "\r\n"));
    EXPECT_EQ(status_of(r), 400) << bad;
  }
  EXPECT_EQ(probe.dispatched, 0);
}

TEST_F(Http, pipelined_requests_are_answered_in_order) {
  rawhttp::Connection c{port};
  std::string batch;
  for (int i = 0; i < 5; ++i) {
    batch += post("/shop.v1.Inventory/reserve", R"({"sku":"apple"})", "X-Request-Id: req-" + std::to_string(i) + "\r\n");
  }
  c.send(batch);
  for (int i = 0; i < 5; ++i) {
    auto r = c.read_response();
    EXPECT_EQ(status_of(r), 200);
    EXPECT_EQ(header_of(r, "X-Request-Id"), "req-" + std::to_string(i));
  }
}

TEST_F(Http, keep_alive_connection_serves_many_calls) {
  for (int i = 0; i < 50; ++i) EXPECT_EQ(block_on(remote_inventory->reserve({"apple", 1})).remaining, 99);
}

class HttpTinyPool : public Http {
 protected:
  pit::HostOptions options() override {
    auto o = Http::options();
    o.workers = 1;
    o.worker_queue = 0;
    return o;
  }
};

TEST_F(HttpTinyPool, a_full_worker_pool_answers_503_with_retry_after_at_once) {
  rawhttp::Connection busy{port};
  busy.send(post("/shop.v1.Inventory/count", R"({"sku":"polite"})", "Pit-Timeout: 1S\r\n"));
  for (int i = 0; i < 1000 && probe.dispatched.load() == 0; ++i) std::this_thread::sleep_for(1ms);
  const auto start = pit::Clock::now();
  auto r = exchange(post("/shop.v1.Inventory/count", R"({"sku":"apple"})"));
  EXPECT_LT(pit::Clock::now() - start, 500ms);
  EXPECT_EQ(status_of(r), 503);
  EXPECT_EQ(header_of(r, "Retry-After"), "1");
  auto p = problem(r);
  EXPECT_EQ(p["code"], "unavailable");
  EXPECT_EQ(p["retryable"], true);
  EXPECT_EQ(status_of(busy.read_response()), 504) << "the busy call ends at its deadline";
}

class HttpTwoHops : public Http {
 protected:
  pit::HostOptions options() override {
    auto o = Http::options();
    o.admin.listen = "127.0.0.1:0";
    return o;
  }
};

TEST_F(HttpTwoHops, fault_masked_by_a_remote_service_is_logged_and_counted_once_across_hops) {
  // front: Orders, whose Inventory is the other host, over HTTP.
  pit::HostOptions front_options;
  front_options.log_sink = logs;
  front_options.admin.listen = "127.0.0.1:0";
  pit::Host front{front_options};
  front.serve<Orders, OrdersService>(front.client<Inventory>("http://127.0.0.1:" + std::to_string(port)), probe);
  auto front_orders = front.client<Orders>();
  front.start();

  pit::CallerScope scope{{.correlation_id = "two-hops-1"}};
  auto fault = fault_of([&] { block_on(front_orders->place(shop::PlaceOrder{{{"secret", 1}}, ""})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(fault.message(), "internal error");
  EXPECT_EQ(fault.correlation_id(), "two-hops-1");
  EXPECT_TRUE(fault.cause().empty());
  EXPECT_EQ(std::string(fault.what()).find(kCanary), std::string::npos);
  EXPECT_EQ(lines_with({"fault masked"}).size(), 1U);
  EXPECT_EQ(lines_with({"fault masked", kCanary, "two-hops-1"}).size(), 1U) << "where it happened";
  const long back_count = rawhttp::metric_sum(host->admin_port(), "pit_faults_masked_total");
  const long front_count = rawhttp::metric_sum(front.admin_port(), "pit_faults_masked_total");
  EXPECT_EQ(back_count, 1);
  EXPECT_EQ(front_count, 0);
  front.stop();
}

// The reply limit. reserve's reply is {"remaining":97} for quantity 3: 16 bytes, and
// {"remaining":100} (17 bytes) for quantity 0, so a limit of 16 sits exactly between.
class HttpReplyLimit : public Http {
 protected:
  pit::HostOptions options() override {
    auto o = Http::options();
    o.http.max_reply_bytes = 16;
    o.operations["shop.v1.Orders/place"].max_reply_bytes = 64;    // the override wins
    o.operations["shop.v1.Inventory/count"].max_reply_bytes = 14;  // {"quantity":42} is 15
    return o;
  }
};

TEST_F(HttpReplyLimit, reply_at_the_limit_passes_and_one_byte_over_is_masked_internal) {
  const auto at = exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"apple","quantity":3})"));
  EXPECT_EQ(status_of(at), 200) << at;
  EXPECT_EQ(body_of(at), R"({"remaining":97})");

  const auto over = exchange(post("/shop.v1.Inventory/reserve", R"({"sku":"apple","quantity":0})",
                                  "X-Request-Id: reply-limit-1\r\n"));
  EXPECT_EQ(status_of(over), 500) << over;
  auto p = problem(over);
  EXPECT_EQ(p["code"], "internal");
  EXPECT_EQ(p["detail"], "internal error");
  EXPECT_EQ(p["correlation_id"], "reply-limit-1");
  EXPECT_EQ(p["masked"], true);
  EXPECT_EQ(over.find("bytes"), std::string::npos) << "the cause stays in the log";
  EXPECT_EQ(lines_with({"reply-limit-1", "at least 17 bytes, limit 16 bytes"}).size(), 1U);
  expect_server_still_serves();
}

TEST_F(HttpReplyLimit, operation_override_replaces_the_host_wide_reply_limit) {
  const auto placed = exchange(post("/shop.v1.Orders/place", R"({"items":[{"sku":"apple"}]})"));
  EXPECT_EQ(status_of(placed), 200) << placed;
  EXPECT_GT(body_of(placed).size(), 16U);
  // A sync operation encodes its reply on a worker: the same limit holds there.
  const auto counted = exchange(post("/shop.v1.Inventory/count", R"({"sku":"apple"})"));
  EXPECT_EQ(status_of(counted), 500) << counted;
  EXPECT_EQ(problem(counted)["code"], "internal");
  EXPECT_EQ(lines_with({"at least 15 bytes, limit 14 bytes"}).size(), 1U);
}

TEST_F(Http, reply_larger_than_the_callers_limit_is_a_clear_internal_fault) {
  // The server (4 MiB) sends it; this caller takes 16 bytes at most.
  pit::HostOptions small;
  small.log_sink = logs;
  small.http.max_reply_bytes = 16;
  pit::Host strict{small};
  auto strict_inventory = strict.client<Inventory>("http://127.0.0.1:" + std::to_string(port));
  strict.start();
  EXPECT_EQ(block_on(strict_inventory->reserve({"apple", 3})).remaining, 97) << "16 bytes: at the limit";
  auto fault = fault_of([&] { block_on(strict_inventory->reserve({"apple", 0})); });
  EXPECT_EQ(fault.code(), Code::internal);
  EXPECT_EQ(fault.message(), "the reply is too large");
  EXPECT_FALSE(fault.has(pit::Fault::retryable)) << "the call took effect";
  EXPECT_NE(fault.cause().find("of 17 bytes is larger than the limit of 16 bytes"), std::string::npos)
      << fault.cause();
  EXPECT_EQ(block_on(strict_inventory->reserve({"apple", 3})).remaining, 97) << "the client recovers";
  strict.stop();
}

}  // namespace
}  // namespace shop
