// Snippets of docs/context.md: reading the ambient call context, and what nested calls
// inherit.
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/describe.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "pit/asio.hpp"
#include "pit/pit.hpp"

using namespace std::chrono_literals;

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

struct Count {
  std::string sku;
};
BOOST_DESCRIBE_STRUCT(Count, (), (sku))

struct Stock {
  int quantity = 0;
};
BOOST_DESCRIBE_STRUCT(Stock, (), (quantity))

struct PlaceOrder {
  std::string sku;
};
BOOST_DESCRIBE_STRUCT(PlaceOrder, (), (sku))

struct OrderPlaced {
  std::string order_id;
};
BOOST_DESCRIBE_STRUCT(OrderPlaced, (), (order_id))

class Inventory {
 public:
  virtual ~Inventory() = default;
 protected:
  virtual pit::Task<Reserved> reserve(Reserve) = 0;
  virtual Stock count(Count) = 0;
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory", (reserve, pit::OpSpec{}.anonymous("guide example").timeout(100ms)), (count, pit::OpSpec{}.anonymous("guide example")));

class Orders {
 public:
  virtual ~Orders() = default;
 protected:
  virtual pit::Task<OrderPlaced> place(PlaceOrder) = 0;
};
PIT_CONTRACT(Orders, "shop.v1.Orders", (place, pit::OpSpec{}.anonymous("guide example")));

class InventoryService final : public Inventory {
 private:
  // [read]
  pit::Task<Reserved> reserve(Reserve r) override {
    boost::asio::steady_timer pause{pit::io_executor(), 1ms};
    co_await pause.async_wait(pit::use_task);  // after any co_await: still this call's context

    const pit::Context& call = pit::Context::current();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(call.remaining());
    // The log line carries call.correlation_id(), trace_id(), span_id(), parent_span_id().
    pit::log::info("reserving", {{"sku", r.sku},
                                 {"tenant", call.baggage("tenant").value_or("none")},
                                 {"remaining_ms", left.count()}});
    co_return Reserved{100 - r.quantity};
  }
  // [/read]

  // [sync]
  Stock count(Count c) override {
    // On a worker thread, inside the call: the same context as in a coroutine.
    pit::log::info("counting", {{"sku", c.sku},
                                {"tenant", pit::Context::current().baggage("tenant").value_or("none")}});
    return Stock{42};
  }
  // [/sync]
};

// [spawn]
pit::Task<void> send_confirmation(std::string sku) {
  boost::asio::steady_timer smtp{pit::io_executor(), 5ms};  // cancelled at its deadline or at shutdown
  co_await smtp.async_wait(pit::use_task);
  pit::log::info("confirmation sent", {{"sku", sku}});      // carries the order's correlation id
}
// [/spawn]

class OrdersService final : public Orders {
 public:
  explicit OrdersService(pit::Ref<Inventory> inventory) : inventory_(std::move(inventory)) {}

 private:
  pit::Task<OrderPlaced> place(PlaceOrder order) override {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(pit::this_call::remaining());
    pit::log::info("placing", {{"sku", order.sku}, {"remaining_ms", left.count()}});
    Reserve request{order.sku, 1};
    co_await inventory_->reserve(std::move(request));  // a nested call: inherits the context
    // [spawn-call]
    pit::spawn("send-confirmation", send_confirmation(order.sku), std::chrono::seconds(30));
    // [/spawn-call]
    co_return OrderPlaced{"o-1"};
  }

  pit::Ref<Inventory> inventory_;
};

// A log line, as the tests read it back (unknown fields are ignored).
struct LogLine {
  std::string msg;
  std::string correlation_id;
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;
  std::string contract;
  std::string operation;
  std::string tenant;
  std::int64_t remaining_ms = -1;
};
BOOST_DESCRIBE_STRUCT(LogLine, (), (msg, correlation_id, trace_id, span_id, parent_span_id,
                                    contract, operation, tenant, remaining_ms))

}  // namespace shop

namespace {

class ContextGuide : public ::testing::Test {
 protected:
  void SetUp() override {
    pit::HostOptions options;
    options.log_sink = logs;
    host = std::make_unique<pit::Host>(options);
    host->serve<shop::Inventory, shop::InventoryService>();
    host->serve<shop::Orders, shop::OrdersService>(host->client<shop::Inventory>());
    host->start();
    inventory = host->client<shop::Inventory>();
    orders = host->client<shop::Orders>();
  }
  void TearDown() override { host->stop(); }

  shop::LogLine line_or_empty(std::string_view msg) const {
    pit::log::flush();
    for (const auto& text : logs->lines()) {
      auto parsed = pit::json::decode<shop::LogLine>(text);
      if (parsed.msg == msg) return parsed;
    }
    return {};
  }
  shop::LogLine line(std::string_view msg) const {
    pit::log::flush();
    for (const auto& text : logs->lines()) {
      auto parsed = pit::json::decode<shop::LogLine>(text);
      if (parsed.msg == msg) return parsed;
    }
    ADD_FAILURE() << "no log line " << msg;
    return {};
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  std::unique_ptr<pit::Host> host;
  pit::Ref<shop::Inventory> inventory;
  pit::Ref<shop::Orders> orders;
};

TEST_F(ContextGuide, nested_call_inherits_correlation_trace_and_deadline_with_a_child_span) {
  // [caller]
  pit::CallerScope scope{{.correlation_id = "order-42",
                          .timeout = std::chrono::seconds(1),
                          .baggage = {{"tenant", "acme"}}}};
  shop::PlaceOrder order{"apple"};
  pit::block_on(orders->place(std::move(order)));
  // [/caller]
  const auto place = line("placing");
  const auto reserve = line("reserving");
  EXPECT_EQ(place.correlation_id, "order-42");
  EXPECT_EQ(reserve.correlation_id, "order-42");
  EXPECT_EQ(place.trace_id.size(), 32U);
  EXPECT_EQ(reserve.trace_id, place.trace_id);
  EXPECT_EQ(place.span_id.size(), 16U);
  EXPECT_TRUE(place.parent_span_id.empty()) << "the first call is the root span";
  EXPECT_NE(reserve.span_id, place.span_id);
  EXPECT_EQ(reserve.parent_span_id, place.span_id);
  EXPECT_EQ(reserve.tenant, "acme");
  EXPECT_EQ(place.contract, "shop.v1.Orders");
  EXPECT_EQ(reserve.operation, "reserve");
  // Deadline: the caller's 1 s for place; min(inherited, reserve's 100 ms) for reserve.
  EXPECT_GT(place.remaining_ms, 500);
  EXPECT_LE(reserve.remaining_ms, 100);
}

TEST_F(ContextGuide, spawned_work_runs_after_the_call_under_its_correlation_id) {
  pit::CallerScope scope{{.correlation_id = "order-43"}};
  shop::PlaceOrder order{"apple"};
  pit::block_on(orders->place(std::move(order)));
  for (int i = 0; i < 200 && line_or_empty("confirmation sent").msg.empty(); ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(line("confirmation sent").correlation_id, "order-43");
  EXPECT_EQ(line("confirmation sent").contract, "pit.spawn");
  EXPECT_EQ(line("confirmation sent").operation, "send-confirmation");
}

TEST_F(ContextGuide, sync_operation_sees_its_call_context) {
  pit::CallerScope scope{{.correlation_id = "count-7", .baggage = {{"tenant", "acme"}}}};
  EXPECT_EQ(inventory->count({"apple"}).quantity, 42);
  const auto counting = line("counting");
  EXPECT_EQ(counting.correlation_id, "count-7");
  EXPECT_EQ(counting.tenant, "acme");
  EXPECT_EQ(counting.operation, "count");
}

TEST_F(ContextGuide, without_a_correlation_id_the_trace_id_serves) {
  pit::block_on(orders->place({"apple"}));
  const auto place = line("placing");
  EXPECT_EQ(place.correlation_id, place.trace_id);
  EXPECT_EQ(line("reserving").correlation_id, place.trace_id);
}

TEST(ContextGuideOutside, outside_any_call_there_is_no_call_context) {
  // [outside]
  const pit::Context& here = pit::Context::current();
  EXPECT_FALSE(here.in_call());
  EXPECT_TRUE(here.trace_id().empty());
  EXPECT_EQ(here.deadline(), pit::Clock::time_point::max());
  EXPECT_FALSE(here.principal().authenticated());  // anonymous: no CallerScope identity here
  // [/outside]
}

}  // namespace
