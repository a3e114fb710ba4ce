// A small contract pair used by the runtime's tests: a coroutine and a sync operation,
// declared faults, per-operation timeouts, and an operation that nests a call.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/describe.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "pit/asio.hpp"
#include "pit/pit.hpp"

namespace shop {

struct Item {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(Item, (), (sku, quantity))

struct PlaceOrder {
  std::vector<Item> items;
  std::string note;
};
BOOST_DESCRIBE_STRUCT(PlaceOrder, (), (items, note))

struct OrderPlaced {
  std::string order_id;
  int lines = 0;
};
BOOST_DESCRIBE_STRUCT(OrderPlaced, (), (order_id, lines))

struct Reserve {
  std::string sku;
  int quantity = 0;
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

class Inventory {
 public:
  virtual ~Inventory() = default;
 protected:
  virtual pit::Task<Reserved> reserve(Reserve) = 0;  // coroutine operation
  virtual Stock count(Count) = 0;                     // sync operation (worker pool)
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory",
             (reserve, pit::OpSpec{}.anonymous("test").raises(pit::Code::not_found, pit::Code::resource_exhausted)),
             (count, pit::OpSpec{}.anonymous("test").idempotent()));

class Orders {
 public:
  virtual ~Orders() = default;
 protected:
  virtual pit::Task<OrderPlaced> place(PlaceOrder) = 0;
};
PIT_CONTRACT(Orders, "shop.v1.Orders",
             (place, pit::OpSpec{}.anonymous("test").raises(pit::Code::invalid_argument, pit::Code::not_found)
                         .timeout(std::chrono::seconds(2))));

}  // namespace shop
