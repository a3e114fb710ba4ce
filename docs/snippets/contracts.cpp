// Snippets of docs/contracts.md: declaring, implementing, serving and calling a contract.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pit/pit.hpp"

// [messages]
namespace shop {

struct Reserve {
  std::string sku;
  int quantity = 1;  // a field missing from a request keeps its default
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

}  // namespace shop
// [/messages]

// [contract]
namespace shop {

class Inventory {
 public:
  virtual ~Inventory() = default;
 protected:
  virtual pit::Task<Reserved> reserve(Reserve) = 0;  // coroutine operation: an I/O thread
  virtual Stock count(Count) = 0;                     // sync operation: the worker pool
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory",
             (reserve, pit::OpSpec{}
                           .require(pit::scope("inventory.reserve"))  // who may call it
                           .raises(pit::Code::not_found, pit::Code::resource_exhausted)
                           .timeout(std::chrono::seconds(2))),
             (count, pit::OpSpec{}.require(pit::any_of(pit::scope("inventory.read"), pit::role("clerk"))).idempotent()));

}  // namespace shop
// [/contract]

namespace shop {

struct PlaceOrder {
  std::vector<Reserve> items;
};
BOOST_DESCRIBE_STRUCT(PlaceOrder, (), (items))

struct OrderPlaced {
  int lines = 0;
};
BOOST_DESCRIBE_STRUCT(OrderPlaced, (), (lines))

class Orders {
 public:
  virtual ~Orders() = default;
 protected:
  virtual pit::Task<OrderPlaced> place(PlaceOrder) = 0;
};
PIT_CONTRACT(Orders, "shop.v1.Orders",
             (place, pit::OpSpec{}.require(pit::scope("orders.place")).raises(pit::Code::not_found)));

// [implementation]
class InventoryService final : public Inventory {
 private:  // reachable only through pit::Ref<Inventory>, that is, through the pipeline
  pit::Task<Reserved> reserve(Reserve r) override {
    if (r.sku != "apple") throw pit::Fault::not_found("no such sku");
    co_return Reserved{stock_ - r.quantity};
  }
  Stock count(Count /*c*/) override { return Stock{stock_}; }

  int stock_ = 100;
};
// [/implementation]

// [nested-call]
class OrdersService final : public Orders {
 public:
  explicit OrdersService(pit::Ref<Inventory> inventory) : inventory_(std::move(inventory)) {}

 private:
  pit::Task<OrderPlaced> place(PlaceOrder order) override {
    for (auto& item : order.items) {
      co_await inventory_->reserve({item.sku, item.quantity});
    }
    co_return OrderPlaced{static_cast<int>(order.items.size())};
  }

  pit::Ref<Inventory> inventory_;
};
// [/nested-call]

}  // namespace shop

namespace {

pit::HostOptions quiet() {
  pit::HostOptions options;
  options.log_sink = std::make_shared<pit::log::MemorySink>();  // keep test output clean
  return options;
}

TEST(ContractsGuide, serve_then_call_through_the_proxy) {
  const pit::HostOptions options = quiet();
  // [serve]
  pit::Host host{options};  // threads, pool size, default timeout, logging: HostOptions
  host.serve<shop::Inventory, shop::InventoryService>();
  host.serve<shop::Orders, shop::OrdersService>(host.client<shop::Inventory>());
  host.start();

  // Code outside any call acts under an explicit identity, checked like any caller's.
  pit::CallerScope as_guide{{.identity = pit::service_identity(
                                 "contracts-guide", {"inventory.read", "inventory.reserve", "orders.place"})}};
  pit::Ref<shop::Inventory> inventory = host.client<shop::Inventory>();
  shop::Stock stock = inventory->count({"apple"});  // sync operation: the proxy blocks

  pit::Ref<shop::Orders> orders = host.client<shop::Orders>();
  shop::PlaceOrder order{{{"apple", 2}, {"apple", 1}}};
  shop::OrderPlaced placed = pit::block_on(orders->place(std::move(order)));
  // [/serve]
  EXPECT_EQ(stock.quantity, 100);
  EXPECT_EQ(placed.lines, 2);
  host.stop();
}

TEST(ContractsGuide, proxy_is_neither_the_implementation_nor_a_contract_object) {
  pit::Host host{quiet()};
  host.serve<shop::Inventory, shop::InventoryService>();
  host.start();
  pit::CallerScope as_guide{{.identity = pit::service_identity("contracts-guide", {"inventory.read"})}};
  auto inventory = host.client<shop::Inventory>();
  static_assert(std::is_same_v<decltype(inventory), pit::Ref<shop::Inventory>>);
  // A Ref holds a proxy of pit's own: nothing converts it to the contract or to an
  // implementation, and a Contract& cannot call an operation (compile_fail_bypass_8..11).
  using Proxy = std::remove_reference_t<decltype(*inventory)>;
  static_assert(!std::is_base_of_v<shop::Inventory, Proxy>);
  static_assert(!std::is_convertible_v<Proxy*, shop::Inventory*>);
  static_assert(!std::is_convertible_v<Proxy*, shop::InventoryService*>);
  shop::Count count{"apple"};
  EXPECT_EQ(inventory->count(std::move(count)).quantity, 100);
  host.stop();
}

TEST(ContractsGuide, declared_fault_reaches_the_caller) {
  pit::Host host{quiet()};
  host.serve<shop::Inventory, shop::InventoryService>();
  host.start();
  pit::CallerScope as_guide{{.identity = pit::service_identity("contracts-guide", {"inventory.reserve"})}};
  auto inventory = host.client<shop::Inventory>();
  try {
    shop::Reserve request{"pear", 1};
    (void)pit::block_on(inventory->reserve(std::move(request)));
    FAIL() << "expected a fault";
  } catch (const pit::Fault& fault) {
    EXPECT_EQ(fault.code(), pit::Code::not_found);
    EXPECT_EQ(fault.message(), "no such sku");
  }
  host.stop();
}

}  // namespace
