// Snippets of docs/faults.md: raising faults, fault contracts, masking, exception mappers,
// and what a caller sees.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "pit/pit.hpp"

namespace shop {

// The string that must never reach a caller.
constexpr const char* kCanary = "CANARY-db-password-hunter2";

struct Reserve {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(Reserve, (), (sku, quantity))

struct Reserved {
  int remaining = 0;
};
BOOST_DESCRIBE_STRUCT(Reserved, (), (remaining))

struct PlaceOrder {
  std::string sku;
};
BOOST_DESCRIBE_STRUCT(PlaceOrder, (), (sku))

struct OrderPlaced {
  std::string order_id;
};
BOOST_DESCRIBE_STRUCT(OrderPlaced, (), (order_id))

// [fault-contract]
class Inventory {
 public:
  virtual ~Inventory() = default;
 protected:
  virtual pit::Task<Reserved> reserve(Reserve) = 0;
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory",
             (reserve, pit::OpSpec{}.anonymous("guide example").raises(pit::Code::not_found, pit::Code::resource_exhausted,
                                            pit::Code::unavailable)));
// [/fault-contract]

class Orders {
 public:
  virtual ~Orders() = default;
 protected:
  virtual pit::Task<OrderPlaced> place(PlaceOrder) = 0;
};
// place declares not_found but not resource_exhausted.
PIT_CONTRACT(Orders, "shop.v1.Orders", (place, pit::OpSpec{}.anonymous("guide example").raises(pit::Code::not_found)));

// An exception type of some library the implementation uses.
struct StockDbError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// [raise]
class InventoryService final : public Inventory {
 private:
  pit::Task<Reserved> reserve(Reserve r) override {
    if (r.sku == "missing") {
      throw pit::Fault::not_found("no such sku").with_detail("sku", r.sku);  // declared: passes
    }
    if (r.sku == "sold-out") {
      throw pit::Fault::resource_exhausted("not enough stock")
          .with_cause("shelf A-7 holds 0");  // for operators: never in what() or message()
    }
    if (r.sku == "db-down") throw StockDbError(std::string("connect failed: ") + kCanary);
    if (r.sku == "forbidden") throw pit::Fault::permission_denied("no");  // undeclared: masked
    if (r.sku == "bug") throw std::logic_error(std::string("invariant broken: ") + kCanary);
    co_return Reserved{100 - r.quantity};
  }
};
// [/raise]

class OrdersService final : public Orders {
 public:
  explicit OrdersService(pit::Ref<Inventory> inventory) : inventory_(std::move(inventory)) {}

 private:
  // [nested]
  pit::Task<OrderPlaced> place(PlaceOrder order) override {
    Reserve request{order.sku, 1};
    // A fault of reserve arrives here with origin remote: not_found passes, because
    // place declares it; resource_exhausted is masked to internal, because place does not.
    co_await inventory_->reserve(std::move(request));
    co_return OrderPlaced{"o-1"};
  }
  // [/nested]

  pit::Ref<Inventory> inventory_;
};

}  // namespace shop

namespace {

class FaultsGuide : public ::testing::Test {
 protected:
  void SetUp() override {
    pit::HostOptions options;
    options.log_sink = logs;
    host = std::make_unique<pit::Host>(options);
    // [mapper]
    host->map_exception<shop::StockDbError>([](const shop::StockDbError& e) {
      return pit::Fault::unavailable("stock database unavailable")
          .with(pit::Fault::retryable)
          .with_cause(e.what());
    });
    // [/mapper]
    host->serve<shop::Inventory, shop::InventoryService>();
    host->serve<shop::Orders, shop::OrdersService>(host->client<shop::Inventory>());
    host->start();
    inventory = host->client<shop::Inventory>();
    orders = host->client<shop::Orders>();
  }
  void TearDown() override { host->stop(); }

  pit::Fault reserve(std::string sku) {
    shop::Reserve request{std::move(sku), 1};
    try {
      (void)pit::block_on(inventory->reserve(std::move(request)));
    } catch (const pit::Fault& fault) {
      return fault;
    }
    ADD_FAILURE() << "expected a fault";
    return pit::Fault::unknown("no fault");
  }
  pit::Fault place(std::string sku) {
    shop::PlaceOrder order{std::move(sku)};
    try {
      (void)pit::block_on(orders->place(std::move(order)));
    } catch (const pit::Fault& fault) {
      return fault;
    }
    ADD_FAILURE() << "expected a fault";
    return pit::Fault::unknown("no fault");
  }
  // What a caller may show or forward: code, what(), message, details.
  static bool leaks_canary(const pit::Fault& f) {
    std::string all = std::string(f.what()) + f.message();
    for (const auto& d : f.details()) all += d.key + d.value;
    return all.find(shop::kCanary) != std::string::npos;
  }
  std::vector<std::string> lines_with(std::string_view a, std::string_view b) const {
    pit::log::flush();
    std::vector<std::string> out;
    for (auto& line : logs->lines()) {
      if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) out.push_back(line);
    }
    return out;
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  std::unique_ptr<pit::Host> host;
  pit::Ref<shop::Inventory> inventory;
  pit::Ref<shop::Orders> orders;
};

TEST_F(FaultsGuide, declared_fault_passes_with_message_and_details) {
  // [caller]
  shop::Reserve request{"missing", 1};
  try {
    pit::block_on(inventory->reserve(std::move(request)));
    FAIL() << "reserved a missing sku";
  } catch (const pit::Fault& fault) {
    EXPECT_EQ(fault.code(), pit::Code::not_found);
    EXPECT_EQ(fault.message(), "no such sku");
    EXPECT_EQ(fault.details().at(0).value, "missing");
    EXPECT_FALSE(fault.correlation_id().empty());  // find the call's log lines with it
    EXPECT_EQ(fault.origin(), pit::Fault::Origin::remote);  // raised by the callee
  }
  // [/caller]
}

TEST_F(FaultsGuide, declared_fault_keeps_its_code_and_public_message) {
  auto fault = reserve("sold-out");
  EXPECT_EQ(fault.code(), pit::Code::resource_exhausted);
  EXPECT_EQ(fault.message(), "not enough stock");
  EXPECT_STREQ(fault.what(), "resource_exhausted: not enough stock");
}

TEST_F(FaultsGuide, undeclared_exception_is_masked_and_the_canary_never_reaches_the_caller) {
  auto fault = reserve("bug");
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_EQ(fault.message(), "internal error");
  EXPECT_FALSE(leaks_canary(fault));
  EXPECT_TRUE(fault.cause().empty()) << "a masked fault carries no cause out";
  // The real cause is logged, under the correlation id the caller got.
  auto lines = lines_with("fault masked", fault.correlation_id());
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find(shop::kCanary), std::string::npos);
  EXPECT_NE(lines[0].find("std::logic_error"), std::string::npos);
}

TEST_F(FaultsGuide, undeclared_code_is_masked) {
  auto fault = reserve("forbidden");
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_EQ(lines_with("fault masked", "permission_denied").size(), 1U);
}

TEST_F(FaultsGuide, exception_mapper_turns_a_library_exception_into_a_declared_fault) {
  auto fault = reserve("db-down");
  EXPECT_EQ(fault.code(), pit::Code::unavailable);
  EXPECT_EQ(fault.message(), "stock database unavailable");
  EXPECT_TRUE(fault.has(pit::Fault::retryable));
  EXPECT_FALSE(leaks_canary(fault));
}

TEST_F(FaultsGuide, callee_fault_passes_a_caller_that_declares_it) {
  auto fault = place("missing");
  EXPECT_EQ(fault.code(), pit::Code::not_found);
  EXPECT_EQ(fault.message(), "no such sku");
}

TEST_F(FaultsGuide, callee_fault_the_caller_does_not_declare_is_masked) {
  auto fault = place("sold-out");
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_EQ(fault.message(), "internal error");
}

TEST_F(FaultsGuide, masked_fault_stays_masked_at_every_hop) {
  auto fault = place("bug");
  EXPECT_EQ(fault.code(), pit::Code::internal);
  EXPECT_FALSE(leaks_canary(fault));
}

TEST(FaultsGuideFault, public_message_and_cause_are_separate) {
  // [build]
  pit::Fault fault = pit::Fault::unavailable("inventory is down")
                         .with(pit::Fault::retryable)
                         .with_cause("connect 10.0.0.7:5432: connection refused")
                         .with_detail("dependency", "inventory-db");
  // [/build]
  EXPECT_STREQ(fault.what(), "unavailable: inventory is down");
  EXPECT_EQ(fault.cause(), "connect 10.0.0.7:5432: connection refused");
  EXPECT_TRUE(fault.has(pit::Fault::retryable));
  EXPECT_FALSE(fault.has(pit::Fault::rejected));
  EXPECT_EQ(fault.origin(), pit::Fault::Origin::implementation);
  EXPECT_TRUE(pit::Fault::deadline_exceeded("late").has(pit::Fault::deadline));
  EXPECT_EQ(pit::to_string(pit::Code::resource_exhausted), "resource_exhausted");
  EXPECT_EQ(pit::code_from_string("not_found"), pit::Code::not_found);
}

}  // namespace
