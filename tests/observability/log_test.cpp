// Structured logs: one JSON line per call with the call's ids, application lines carry
// the ambient ids, values cannot forge lines, and a full sink drops instead of blocking.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "support/host_fixture.hpp"

namespace shop {
namespace {

using pit::block_on;

boost::json::object parse_line(const std::string& line) {
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  EXPECT_FALSE(ec) << "not JSON: " << line;
  return ec ? boost::json::object{} : v.as_object();
}

class Logs : public HostTest {};

TEST_F(Logs, every_call_writes_one_json_line_with_its_ids_and_outcome) {
  host->start();
  pit::CallerScope scope{{.correlation_id = "req-1"}};
  block_on(inventory->reserve({"apple", 1}));
  (void)fault_of([&] { block_on(inventory->reserve({"missing", 1})); });
  auto lines = lines_with({R"("msg":"call")"});
  ASSERT_EQ(lines.size(), 2U);
  auto ok = parse_line(lines[0]);
  for (const char* key : {"ts", "level", "msg", "correlation_id", "trace_id", "span_id", "contract",
                          "operation", "duration_us", "outcome", "code", "transport"}) {
    EXPECT_TRUE(ok.contains(key)) << key;
  }
  EXPECT_EQ(ok["correlation_id"], "req-1");
  EXPECT_EQ(ok["contract"], "shop.v1.Inventory");
  EXPECT_EQ(ok["operation"], "reserve");
  EXPECT_EQ(ok["outcome"], "ok");
  EXPECT_EQ(ok["code"], "ok");
  EXPECT_EQ(ok["transport"], "inproc");
  EXPECT_EQ(ok["trace_id"].as_string().size(), 32U);
  EXPECT_EQ(ok["span_id"].as_string().size(), 16U);
  auto bad = parse_line(lines[1]);
  EXPECT_EQ(bad["outcome"], "fault");
  EXPECT_EQ(bad["code"], "not_found");
}

TEST_F(Logs, application_lines_carry_the_ambient_ids_by_themselves) {
  host->start();
  pit::CallerScope scope{{.correlation_id = "req-2"}};
  block_on(orders->place(shop::PlaceOrder{{{"apple", 1}}, "gift"}));
  auto lines = lines_with({"order placed"});
  ASSERT_EQ(lines.size(), 1U);
  auto line = parse_line(lines[0]);
  EXPECT_EQ(line["correlation_id"], "req-2");
  EXPECT_EQ(line["operation"], "place");
  EXPECT_EQ(line["note"], "gift");
  EXPECT_EQ(line["lines"], 1);
  EXPECT_EQ(line["trace_id"].as_string().size(), 32U);
}

TEST_F(Logs, values_cannot_forge_a_line_or_a_field) {
  host->start();
  const std::string evil = "x\n{\"level\":\"error\",\"msg\":\"forged\"}\r\x1b[31m\",\"admin\":true";
  block_on(orders->place(shop::PlaceOrder{{{"apple", 1}}, evil}));
  pit::log::info(evil, {{evil, evil}});
  pit::log::flush();
  for (const auto& line : logs->lines()) {
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line.find('\r'), std::string::npos);
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
    auto obj = parse_line(line);
    EXPECT_FALSE(obj.contains("admin"));
    EXPECT_NE(obj["msg"], "forged");
  }
  auto placed = lines_with({"order placed"});
  ASSERT_EQ(placed.size(), 1U);
  EXPECT_EQ(parse_line(placed[0])["note"].as_string(), evil) << "the value survives, escaped";
}

TEST_F(Logs, outside_a_call_lines_have_no_call_ids) {
  pit::log::configure(logs, pit::log::Level::info);
  pit::log::info("hello", {{"n", 1}});
  auto line = parse_line(lines_with({"hello"}).at(0));
  EXPECT_FALSE(line.contains("correlation_id"));
  EXPECT_EQ(line["n"], 1);
}

TEST_F(Logs, text_fields_named_like_secrets_are_redacted_by_default) {
  host->start();
  pit::log::info("login", {{"password", "hunter2"},
                           {"db_password", kCanary},
                           {"X-Api-Key", "k-123456"},
                           {"Authorization", "Bearer abc.def"},
                           {"sessionCookie", "sid=42"},
                           {"refresh_token", "rt-9"},
                           {"client.secret", "s3"},
                           {"private-key", "-----BEGIN"},
                           {"user", "ann"},
                           {"author", "bob"},
                           {"keyword", "apple"}});
  const auto found = lines_with({"login"});
  ASSERT_EQ(found.size(), 1U);
  for (const char* secret : {"hunter2", kCanary, "k-123456", "Bearer", "sid=42", "rt-9", "\"s3\"", "BEGIN"}) {
    EXPECT_EQ(found[0].find(secret), std::string::npos) << secret << " reached the log: " << found[0];
  }
  auto line = parse_line(found[0]);
  for (const char* key : {"password", "db_password", "X-Api-Key", "Authorization", "sessionCookie",
                          "refresh_token", "client.secret", "private-key"}) {
    EXPECT_EQ(line[key], "[redacted]") << key;
  }
  EXPECT_EQ(line["user"], "ann");
  EXPECT_EQ(line["author"], "bob") << "not a secret: 'auth' is not a name";
  EXPECT_EQ(line["keyword"], "apple");
}

TEST_F(Logs, numbers_and_booleans_are_not_redacted_by_their_key) {
  host->start();
  pit::log::info("usage", {{"token_count", 3}, {"password_set", true}, {"max_tokens", 4096U}});
  auto line = parse_line(lines_with({"usage"}).at(0));
  EXPECT_EQ(line["token_count"], 3);
  EXPECT_EQ(line["password_set"], true);
  EXPECT_EQ(line["max_tokens"], 4096);
}

TEST_F(Logs, card_numbers_are_redacted_in_any_text_field) {
  host->start();
  pit::log::info("payment", {{"note", "paid with 4111 1111 1111 1111 today"},
                             {"card", "5555-5555-5555-4444"},
                             {"amex", "378282246310005"},
                             {"two", "4111111111111111,5555555555554444"},
                             {"not_luhn", "4111 1111 1111 1112"},
                             {"timestamp_us", "1733012345678905"},  // Luhn-valid, but no card starts with 1
                             {"longer", "41111111111111110000"},    // 20 digits: not a card
                             {"short", "411111111111"}});
  auto line = parse_line(lines_with({"payment"}).at(0));
  EXPECT_EQ(line["note"], "paid with [redacted] today");
  EXPECT_EQ(line["card"], "[redacted]");
  EXPECT_EQ(line["amex"], "[redacted]");
  EXPECT_EQ(line["two"], "[redacted],[redacted]");
  EXPECT_EQ(line["not_luhn"], "4111 1111 1111 1112");
  EXPECT_EQ(line["timestamp_us"], "1733012345678905");
  EXPECT_EQ(line["longer"], "41111111111111110000");
  EXPECT_EQ(line["short"], "411111111111");
}

TEST_F(Logs, a_card_number_in_a_masked_faults_cause_is_redacted_too) {
  host->start();
  pit::log::error("fault masked", {{"cause", "charge failed for 4111111111111111: declined"}});
  auto line = parse_line(lines_with({"fault masked"}).at(0));
  EXPECT_EQ(line["cause"], "charge failed for [redacted]: declined");
}

class LogRedactionConfigured : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.log_redaction.keys = {"ssn", "Session-ID"};
    return o;
  }
};

TEST_F(LogRedactionConfigured, configured_names_are_redacted_too) {
  host->start();
  pit::log::info("visit", {{"user_ssn", "123-45-6789"}, {"session_id", "abc"}, {"password", "p"}, {"page", "/"}});
  auto line = parse_line(lines_with({"visit"}).at(0));
  EXPECT_EQ(line["user_ssn"], "[redacted]");
  EXPECT_EQ(line["session_id"], "[redacted]");
  EXPECT_EQ(line["password"], "[redacted]") << "the built-in names stay";
  EXPECT_EQ(line["page"], "/");
}

class LogRedactionOff : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.log_redaction.enabled = false;
    return o;
  }
  void TearDown() override {
    HostTest::TearDown();
    pit::log::configure_redaction({});  // process-wide: the next test gets the default back
  }
};

TEST_F(LogRedactionOff, redaction_can_be_switched_off) {
  host->start();
  pit::log::info("dev", {{"password", "hunter2"}, {"card", "4111 1111 1111 1111"}});
  auto line = parse_line(lines_with({"dev"}).at(0));
  EXPECT_EQ(line["password"], "hunter2");
  EXPECT_EQ(line["card"], "4111 1111 1111 1111");
}

class QuietCalls : public HostTest {
 protected:
  pit::HostOptions options() override {
    auto o = HostTest::options();
    o.log_calls = false;
    return o;
  }
};

TEST_F(QuietCalls, per_call_lines_can_be_switched_off) {
  host->start();
  block_on(inventory->reserve({"apple", 1}));
  EXPECT_TRUE(lines_with({R"("msg":"call")"}).empty());
}

TEST(LogSink, a_full_sink_drops_and_counts_instead_of_blocking_the_caller) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::fcntl(fds[1], F_SETPIPE_SZ, 4096);
  // Nobody reads the pipe: the writer thread blocks on it and the queue (8 lines) fills.
  pit::log::configure(pit::log::fd_sink(fds[1], 8), pit::log::Level::info);
  const auto before = pit::log::dropped();
  const auto start = pit::Clock::now();
  const std::string payload(512, 'x');
  for (int i = 0; i < 20000; ++i) pit::log::info("flood", {{"payload", payload}});
  const auto took = pit::Clock::now() - start;
  EXPECT_GT(pit::log::dropped() - before, 10000U);
  EXPECT_LT(took, std::chrono::seconds(2)) << "logging never waits for the sink";
  // Let the writer finish: drain the pipe, then swap the sink out.
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  std::thread reader([&] {
    char buf[65536];
    for (int i = 0; i < 200; ++i) {
      if (::read(fds[0], buf, sizeof buf) <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  pit::log::configure(std::make_shared<pit::log::MemorySink>(), pit::log::Level::info);
  reader.join();
  ::close(fds[0]);
}

}  // namespace
}  // namespace shop
