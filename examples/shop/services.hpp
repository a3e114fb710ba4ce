// The shop's implementations: naive code. The runtime adds deadlines, fault masking,
// correlation and logs; nothing here mentions them.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "contracts.hpp"
#include "pit/asio.hpp"

namespace shop {

class InventoryService final : public v1::Inventory {
 public:
  // A reservation that leaves `low_stock` units or fewer logs a warning ([app] low_stock).
  explicit InventoryService(std::int64_t low_stock = 2) : low_stock_(low_stock) {}

 private:
  pit::Task<v1::Reservation> reserve(v1::Reserve req) override {
    if (req.sku == "slow-sku") {  // a dependency that hangs; the deadline still holds
      boost::asio::steady_timer stuck{pit::io_executor(), std::chrono::minutes(5)};
      co_await stuck.async_wait(pit::use_task);
    }
    if (req.sku == "cursed-sku") {  // a bug deep inside: must never reach a caller
      throw std::runtime_error("pg: password authentication failed for user 'shop' (secret=hunter2)");
    }
    std::lock_guard lock(mutex_);
    auto it = stock_.find(req.sku);
    if (it == stock_.end()) throw pit::Fault::not_found("unknown sku");
    if (it->second < req.quantity) throw pit::Fault::resource_exhausted("not enough stock");
    it->second -= req.quantity;
    pit::log::info("reserved", {{"sku", req.sku}, {"quantity", req.quantity}});
    if (it->second <= low_stock_) pit::log::warn("low stock", {{"sku", req.sku}, {"left", it->second}});
    co_return v1::Reservation{"r-" + std::to_string(++next_id_), it->second};
  }

  v1::StockLevel stock(v1::StockQuery req) override {
    std::lock_guard lock(mutex_);
    auto it = stock_.find(req.sku);
    if (it == stock_.end()) throw pit::Fault::not_found("unknown sku");
    return {req.sku, it->second};
  }

  std::mutex mutex_;
  // "bulk" never runs out under a load test (tests/resilience, bench/resilience).
  std::map<std::string, int> stock_{
      {"apple", 10}, {"pear", 3}, {"slow-sku", 5}, {"cursed-sku", 5}, {"bulk", 1'000'000'000}};
  int next_id_ = 0;
  const std::int64_t low_stock_;
};

class OrdersService final : public v1::Orders {
 public:
  explicit OrdersService(pit::Ref<v1::Inventory> inventory) : inventory_(std::move(inventory)) {}

 private:
  pit::Task<v1::OrderPlaced> place(v1::PlaceOrder req) override {
    count(req.sku, &Counts::runs);
    if (req.quantity <= 0) throw pit::Fault::invalid_argument("quantity must be positive");
    auto reservation = co_await inventory_->reserve({req.sku, req.quantity});
    count(req.sku, &Counts::placed);
    pit::log::info("order placed", {{"sku", req.sku}, {"reservation", reservation.reservation_id}});
    co_return v1::OrderPlaced{"o-" + reservation.reservation_id, reservation.remaining};
  }

  pit::Task<v1::StockLevel> availability(v1::StockQuery req) override {
    auto level = co_await inventory_->stock_async(std::move(req));
    co_return level;
  }

  v1::PlacedCount placed(v1::PlacedQuery req) override {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(req.sku);
    if (it == counts_.end()) return {req.sku, 0, 0};
    return {req.sku, it->second.runs, it->second.placed};
  }

  struct Counts {
    int runs = 0;
    int placed = 0;
  };
  // Callers choose the skus: past kMaxCounted distinct ones, new skus are not counted,
  // so hostile input cannot grow the map without bound.
  static constexpr std::size_t kMaxCounted = 1024;
  void count(const std::string& sku, int Counts::*field) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(sku);
    if (it == counts_.end()) {
      if (counts_.size() >= kMaxCounted) return;
      it = counts_.emplace(sku, Counts{}).first;
    }
    ++(it->second.*field);
  }

  pit::Ref<v1::Inventory> inventory_;
  std::mutex mutex_;
  std::map<std::string, Counts> counts_;  // per sku, since the process started
};

class GatewayService final : public v1::Gateway {
 public:
  explicit GatewayService(pit::Ref<v1::Orders> orders) : orders_(std::move(orders)) {}

 private:
  pit::Task<v1::Receipt> buy(v1::Buy req) override {
    v1::PlaceOrder order{req.sku, req.quantity};
    auto placed = co_await orders_->place(std::move(order));
    co_return v1::Receipt{placed.order_id, placed.remaining_stock, "gateway"};
  }

  pit::Ref<v1::Orders> orders_;
};

}  // namespace shop
