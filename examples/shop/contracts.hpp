// The shop's contracts: the only thing callers depend on.
#pragma once

#include <boost/describe.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "pit/pit.hpp"

namespace shop::v1 {

struct Reserve {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(Reserve, (), (sku, quantity))
PIT_REQUIRED(Reserve, sku)

struct Reservation {
  std::string reservation_id;
  int remaining = 0;
};
BOOST_DESCRIBE_STRUCT(Reservation, (), (reservation_id, remaining))

struct StockQuery {
  std::string sku;
};
BOOST_DESCRIBE_STRUCT(StockQuery, (), (sku))
PIT_REQUIRED(StockQuery, sku)

struct StockLevel {
  std::string sku;
  int available = 0;
};
BOOST_DESCRIBE_STRUCT(StockLevel, (), (sku, available))

class Inventory {
 public:
  virtual ~Inventory() = default;
 protected:
  virtual pit::Task<Reservation> reserve(Reserve) = 0;  // coroutine: runs on the I/O threads
  virtual StockLevel stock(StockQuery) = 0;              // sync: runs on the worker pool
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory",
             (reserve, pit::OpSpec{}
                           .require(pit::scope("inventory.reserve"))
                           .raises(pit::Code::not_found, pit::Code::resource_exhausted)),
             (stock, pit::OpSpec{}
                         .require(pit::any_of(pit::scope("inventory.read"), pit::role("support")))
                         .idempotent()
                         // unavailable: a replica that cannot answer (tests/resilience inject it)
                         .raises(pit::Code::not_found, pit::Code::unavailable)));

struct PlaceOrder {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(PlaceOrder, (), (sku, quantity))
PIT_REQUIRED(PlaceOrder, sku)

struct OrderPlaced {
  std::string order_id;
  int remaining_stock = 0;
};
BOOST_DESCRIBE_STRUCT(OrderPlaced, (), (order_id, remaining_stock))

struct PlacedQuery {
  std::string sku;
};
BOOST_DESCRIBE_STRUCT(PlacedQuery, (), (sku))
PIT_REQUIRED(PlacedQuery, sku)

// What this orders process did for one sku since it started: how many times place's
// implementation ran, and how many of those placed an order. The durability proofs
// (tests/durability) read it to count real executions, not answers.
struct PlacedCount {
  std::string sku;
  int runs = 0;
  int placed = 0;
};
BOOST_DESCRIBE_STRUCT(PlacedCount, (), (sku, runs, placed))

class Orders {
 public:
  virtual ~Orders() = default;
 protected:
  virtual pit::Task<OrderPlaced> place(PlaceOrder) = 0;
  // How many units could be ordered: the inventory's stock level, read on the caller's behalf.
  virtual pit::Task<StockLevel> availability(StockQuery) = 0;
  virtual PlacedCount placed(PlacedQuery) = 0;
};
PIT_CONTRACT(Orders, "shop.v1.Orders",
             // Placing an order twice reserves stock twice: not idempotent, so deduplicated
             // (docs/durability.md). Every call carries an idempotency key (pit's client
             // sends one by itself and keeps it across its retries), and a retried call
             // gets the first call's answer instead of a second order.
             (place, pit::OpSpec{}
                         .require(pit::scope("orders.place"))
                         .deduplicated(std::chrono::hours(24))
                         .raises(pit::Code::invalid_argument, pit::Code::not_found,
                                 pit::Code::resource_exhausted)
                         .timeout(std::chrono::seconds(2))),
             (availability, pit::OpSpec{}
                                .require(pit::scope("inventory.read"))
                                .idempotent()
                                .raises(pit::Code::not_found, pit::Code::unavailable)),
             (placed, pit::OpSpec{}
                          .require(pit::any_of(pit::scope("orders.read"), pit::role("support")))
                          .idempotent()));

struct Buy {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(Buy, (), (sku, quantity))
PIT_REQUIRED(Buy, sku)  // `{}` is a 400 naming the field, not a purchase of sku ""

struct Receipt {
  std::string order_id;
  int remaining_stock = 0;
  std::string served_by;
};
BOOST_DESCRIBE_STRUCT(Receipt, (), (order_id, remaining_stock, served_by))

// The edge service: what the outside world calls.
class Gateway {
 public:
  virtual ~Gateway() = default;
 protected:
  virtual pit::Task<Receipt> buy(Buy) = 0;
};
PIT_CONTRACT(Gateway, "shop.v1.Gateway",
             // The edge: a client that may retry a purchase (a timeout, a lost answer) sends
             // an Idempotency-Key and gets the first purchase's receipt again; a call
             // without one runs as before.
             (buy, pit::OpSpec{}
                       .require(pit::scope("shop.buy"))
                       .deduplicated(std::chrono::hours(24), pit::OpSpec::Key::optional)
                       .raises(pit::Code::invalid_argument, pit::Code::not_found, pit::Code::resource_exhausted)));

}  // namespace shop::v1
