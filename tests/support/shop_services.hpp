// Implementations of the test contracts, instrumented so tests can see what ran, where,
// and under which context.
#pragma once

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/shop.hpp"

namespace shop {

// The string that must never reach a caller.
inline constexpr const char* kCanary = "CANARY-7f3a-db-password";

struct Probe {
  std::atomic<int> dispatched{0};
  std::atomic<bool> timer_cancelled{false};
  std::atomic<bool> saw_cancel{false};
  std::atomic<int> cancel_reason{0};
  std::mutex mutex;
  std::thread::id sync_thread;
  std::string seen_correlation;
  std::string seen_trace;
  std::string seen_parent_span;
  std::string seen_span;
  pit::Clock::time_point seen_deadline;
};

struct OddError {};  // not a std::exception

class InventoryService final : public Inventory {
 public:
  explicit InventoryService(Probe& probe) : probe_(probe) {}

 private:
  pit::Task<Reserved> reserve(Reserve r) override {
    ++probe_.dispatched;
    {
      std::lock_guard lock(probe_.mutex);
      const auto& ctx = pit::Context::current();
      probe_.seen_correlation = std::string(ctx.correlation_id());
      probe_.seen_trace = std::string(ctx.trace_id());
      probe_.seen_parent_span = std::string(ctx.parent_span_id());
      probe_.seen_span = std::string(ctx.span_id());
      probe_.seen_deadline = ctx.deadline();
    }
    if (r.sku == "missing") throw pit::Fault::not_found("no such sku");
    if (r.sku == "secret") throw std::runtime_error(std::string("connection failed: ") + kCanary);
    if (r.sku == "forbidden") throw pit::Fault::permission_denied(std::string("denied ") + kCanary);
    if (r.sku == "odd") throw OddError{};
    // Naive code that blocks its I/O thread (a blocking client inside a coroutine operation).
    if (r.sku == "blocker") std::this_thread::sleep_for(std::chrono::milliseconds(r.quantity));
    if (r.sku == "self-masked") {
      // An implementation claiming its fault is already recorded: it is not.
      throw pit::Fault::internal(std::string("own ") + kCanary).with(pit::Fault::masked);
    }
    if (r.sku == "slow" || r.sku == "late-secret") {
      boost::asio::steady_timer timer{pit::io_executor(), std::chrono::milliseconds(r.quantity)};
      try {
        co_await timer.async_wait(pit::use_task);
      } catch (const boost::system::system_error&) {
        probe_.timer_cancelled = true;
        probe_.cancel_reason = static_cast<int>(pit::this_call::cancel_reason());
        throw;
      }
      if (r.sku == "late-secret") throw std::logic_error(std::string("after await: ") + kCanary);
    }
    co_return Reserved{100 - r.quantity};
  }

  Stock count(Count c) override {
    ++probe_.dispatched;
    {
      std::lock_guard lock(probe_.mutex);
      probe_.sync_thread = std::this_thread::get_id();
      probe_.seen_correlation = std::string(pit::Context::current().correlation_id());
    }
    if (c.sku == "stubborn") {
      // Ignores cancellation for a while, then looks.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      probe_.saw_cancel = pit::this_call::cancelled();
      probe_.cancel_reason = static_cast<int>(pit::this_call::cancel_reason());
    }
    if (c.sku == "polite") {
      while (!pit::this_call::cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      probe_.saw_cancel = true;
      probe_.cancel_reason = static_cast<int>(pit::this_call::cancel_reason());
    }
    if (c.sku == "secret") throw std::runtime_error(kCanary);
    return Stock{42};
  }

  Probe& probe_;
};

// Places orders by reserving each item: a coroutine operation that nests calls.
class OrdersService final : public Orders {
 public:
  OrdersService(pit::Ref<Inventory> inventory, Probe& probe) : inventory_(std::move(inventory)), probe_(probe) {}

 private:
  pit::Task<OrderPlaced> place(PlaceOrder order) override {
    {
      std::lock_guard lock(probe_.mutex);
      const auto& ctx = pit::Context::current();
      probe_.seen_correlation = std::string(ctx.correlation_id());
      probe_.seen_span = std::string(ctx.span_id());
    }
    if (order.items.empty()) throw pit::Fault::invalid_argument("an order needs at least one item");
    if (order.note == "count-inline") (void)inventory_->count({"apple"});  // blocks an I/O thread
    if (order.note == "count-awaited") {
      // The awaitable form of a sync operation: runs on a worker, this thread stays free.
      const Stock stock = co_await inventory_->count_async({"apple"});
      if (stock.quantity != 42) throw pit::Fault::invalid_argument("wrong stock");
    }
    for (const auto& item : order.items) {
      Reserve reserve{item.sku, item.quantity};
      co_await inventory_->reserve(std::move(reserve));
    }
    pit::log::info("order placed", {{"lines", order.items.size()}, {"note", order.note}});
    co_return OrderPlaced{"o-1", static_cast<int>(order.items.size())};
  }

  pit::Ref<Inventory> inventory_;
  Probe& probe_;
};

}  // namespace shop
