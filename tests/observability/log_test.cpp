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
