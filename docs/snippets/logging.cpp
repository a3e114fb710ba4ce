// Snippets of docs/logging.md: the call line, application lines with the ambient ids,
// sinks, levels, escaping.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pit/pit.hpp"

namespace shop {

struct Reserve {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(Reserve, (), (sku, quantity))

struct Reserved {
  int remaining = 0;
};
BOOST_DESCRIBE_STRUCT(Reserved, (), (remaining))

class Inventory {
 public:
  virtual ~Inventory() = default;
 protected:
  virtual pit::Task<Reserved> reserve(Reserve) = 0;
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory", (reserve, pit::OpSpec{}.anonymous("guide example").raises(pit::Code::not_found)));

class InventoryService final : public Inventory {
 private:
  // [app-log]
  pit::Task<Reserved> reserve(Reserve r) override {
    if (r.sku == "missing") throw pit::Fault::not_found("no such sku");
    pit::log::info("reserved", {{"sku", r.sku}, {"quantity", r.quantity}, {"rush", false}});
    co_return Reserved{100 - r.quantity};
  }
  // [/app-log]
};

// A log line as the tests read it back (unknown fields are ignored).
struct Line {
  std::string ts;
  std::string level;
  std::string msg;
  std::string correlation_id;
  std::string trace_id;
  std::string span_id;
  std::string contract;
  std::string operation;
  std::int64_t duration_us = -1;
  std::string outcome;
  std::string code;
  std::string transport;
  std::string sku;
  int quantity = 0;
};
BOOST_DESCRIBE_STRUCT(Line, (), (ts, level, msg, correlation_id, trace_id, span_id, contract,
                                 operation, duration_us, outcome, code, transport, sku, quantity))

}  // namespace shop

namespace {

std::vector<shop::Line> parsed(const pit::log::MemorySink& sink) {
  pit::log::flush();
  std::vector<shop::Line> out;
  for (const auto& text : sink.lines()) out.push_back(pit::json::decode<shop::Line>(text));
  return out;
}

std::vector<shop::Line> with_msg(const std::vector<shop::Line>& lines, std::string_view msg) {
  std::vector<shop::Line> out;
  for (const auto& l : lines) {
    if (l.msg == msg) out.push_back(l);
  }
  return out;
}

void reserve(pit::Ref<shop::Inventory>& inventory, std::string sku) {
  shop::Reserve request{std::move(sku), 2};
  try {
    (void)pit::block_on(inventory->reserve(std::move(request)));
  } catch (const pit::Fault&) {
  }
}

TEST(LoggingGuide, one_call_line_per_call_and_app_lines_carry_the_call_ids) {
  // [options]
  auto logs = std::make_shared<pit::log::MemorySink>();  // tests: keep lines in memory
  pit::HostOptions options;
  options.log_sink = logs;  // default (null): the asynchronous stdout sink
  options.log_level = pit::log::Level::info;
  options.log_calls = true;
  pit::Host host{options};
  // [/options]
  host.serve<shop::Inventory, shop::InventoryService>();
  host.start();
  auto inventory = host.client<shop::Inventory>();
  reserve(inventory, "apple");
  reserve(inventory, "missing");
  host.stop();

  const auto lines = parsed(*logs);
  const auto calls = with_msg(lines, "call");
  ASSERT_EQ(calls.size(), 2U);
  const auto& ok = calls[0];
  EXPECT_EQ(ok.level, "info");
  EXPECT_EQ(ok.ts.size(), 27U) << ok.ts;  // 2026-11-27T01:30:46.123456Z
  EXPECT_EQ(ok.trace_id.size(), 32U);
  EXPECT_EQ(ok.span_id.size(), 16U);
  EXPECT_EQ(ok.contract, "shop.v1.Inventory");
  EXPECT_EQ(ok.operation, "reserve");
  EXPECT_GE(ok.duration_us, 0);
  EXPECT_EQ(ok.outcome, "ok");
  EXPECT_EQ(ok.code, "ok");
  EXPECT_EQ(ok.transport, "inproc");
  EXPECT_EQ(calls[1].outcome, "fault");
  EXPECT_EQ(calls[1].code, "not_found");

  const auto app = with_msg(lines, "reserved");
  ASSERT_EQ(app.size(), 1U);
  EXPECT_EQ(app[0].sku, "apple");
  EXPECT_EQ(app[0].quantity, 2);
  EXPECT_EQ(app[0].correlation_id, ok.correlation_id);
  EXPECT_EQ(app[0].span_id, ok.span_id);
}

TEST(LoggingGuide, values_are_escaped_so_a_value_cannot_forge_a_line) {
  auto logs = std::make_shared<pit::log::MemorySink>();
  pit::HostOptions options;
  options.log_sink = logs;
  pit::Host host{options};
  host.serve<shop::Inventory, shop::InventoryService>();
  host.start();
  auto inventory = host.client<shop::Inventory>();
  const std::string forged = "apple\"}\n{\"level\":\"error\",\"msg\":\"forged\"";
  reserve(inventory, forged);
  host.stop();

  for (const auto& text : logs->lines()) {
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  }
  const auto lines = parsed(*logs);
  EXPECT_TRUE(with_msg(lines, "forged").empty());
  const auto app = with_msg(lines, "reserved");
  ASSERT_EQ(app.size(), 1U);
  EXPECT_EQ(app[0].sku, forged) << "the value arrives intact, as one JSON string";
}

TEST(LoggingGuide, log_level_filters_every_line) {
  auto logs = std::make_shared<pit::log::MemorySink>();
  pit::HostOptions options;
  options.log_sink = logs;
  options.log_level = pit::log::Level::warn;  // info lines (call lines included) are skipped
  pit::Host host{options};
  host.serve<shop::Inventory, shop::InventoryService>();
  host.start();
  auto inventory = host.client<shop::Inventory>();
  reserve(inventory, "apple");
  pit::log::warn("disk almost full", {{"free_mb", 120}});
  host.stop();
  const auto lines = parsed(*logs);
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_EQ(lines[0].msg, "disk almost full");
  EXPECT_EQ(lines[0].level, "warn");
  EXPECT_TRUE(lines[0].correlation_id.empty()) << "outside any call: no ids";
}

TEST(LoggingGuide, call_lines_can_be_switched_off) {
  auto logs = std::make_shared<pit::log::MemorySink>();
  pit::HostOptions options;
  options.log_sink = logs;
  options.log_calls = false;
  pit::Host host{options};
  host.serve<shop::Inventory, shop::InventoryService>();
  host.start();
  auto inventory = host.client<shop::Inventory>();
  reserve(inventory, "apple");
  host.stop();
  const auto lines = parsed(*logs);
  EXPECT_TRUE(with_msg(lines, "call").empty());
  EXPECT_EQ(with_msg(lines, "reserved").size(), 1U);
}

// A sink that is always full.
class FullSink final : public pit::log::Sink {
 public:
  bool write(std::string_view /*line*/) override { return false; }
};

TEST(LoggingGuide, lines_a_full_sink_refuses_are_counted_not_waited_for) {
  pit::HostOptions options;
  options.log_sink = std::make_shared<FullSink>();
  pit::Host host{options};
  host.serve<shop::Inventory, shop::InventoryService>();
  host.start();
  auto inventory = host.client<shop::Inventory>();
  const auto before = pit::log::dropped();
  reserve(inventory, "apple");  // one app line, one call line
  EXPECT_EQ(pit::log::dropped() - before, 2U);
  host.stop();
}

TEST(LoggingGuide, discard_sink_for_benchmarks) {
  pit::HostOptions options;
  options.log_sink = pit::log::discard_sink();
  pit::Host host{options};
  host.serve<shop::Inventory, shop::InventoryService>();
  host.start();
  auto inventory = host.client<shop::Inventory>();
  const auto before = pit::log::dropped();
  reserve(inventory, "apple");
  host.stop();
  EXPECT_EQ(pit::log::dropped(), before);
}

}  // namespace
