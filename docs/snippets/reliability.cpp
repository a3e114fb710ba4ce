// Snippets of docs/reliability.md: admission limits in code, what a refused caller sees,
// fault injection for a test.
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/describe.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "pit/asio.hpp"
#include "pit/pit.hpp"

using namespace std::chrono_literals;

namespace shop {

struct Lookup {
  std::string sku;
  int wait_ms = 0;
};
BOOST_DESCRIBE_STRUCT(Lookup, (), (sku, wait_ms))

struct Stock {
  int quantity = 0;
};
BOOST_DESCRIBE_STRUCT(Stock, (), (quantity))

class Warehouse {
 public:
  virtual ~Warehouse() = default;
 protected:
  virtual pit::Task<Stock> lookup(Lookup) = 0;
};
PIT_CONTRACT(Warehouse, "shop.v1.Warehouse", (lookup, pit::OpSpec{}.anonymous("guide example").raises(pit::Code::not_found)));

class WarehouseService final : public Warehouse {
  pit::Task<Stock> lookup(Lookup request) override {
    if (request.wait_ms > 0) {  // a slow dependency
      boost::asio::steady_timer timer{pit::io_executor(), std::chrono::milliseconds(request.wait_ms)};
      co_await timer.async_wait(pit::use_task);
    }
    co_return Stock{7};
  }
};

pit::HostOptions quiet() {
  pit::HostOptions options;
  options.log_level = pit::log::Level::off;
  return options;
}

pit::HostOptions limited() {
  pit::HostOptions options = quiet();
  // [limits]
  options.admission.max_in_flight = 64;  // calls this host serves at once
  options.admission.max_queue = 16;      // calls that may wait for one of those slots
  // An operation of its own: at most 1 lookup at a time, none waiting.
  options.operations["shop.v1.Warehouse/lookup"].max_in_flight = 1;
  // [/limits]
  return options;
}

TEST(ReliabilityGuide, a_call_past_the_limits_is_refused_at_once_with_a_retryable_fault) {
  pit::Host host{limited()};
  host.serve<Warehouse, WarehouseService>();
  host.start();
  auto warehouse = host.client<Warehouse>();
  auto busy = std::async(std::launch::async, [&] { return pit::block_on(warehouse->lookup({"apple", 1000})); });
  std::this_thread::sleep_for(200ms);  // the slow lookup holds the operation's only slot
  bool refused = false;
  // [refused]
  try {
    (void)pit::block_on(warehouse->lookup({"apple", 0}));
  } catch (const pit::Fault& fault) {
    // Refused before it ran: safe to retry later (over HTTP: 503 with Retry-After).
    refused = fault.code() == pit::Code::unavailable && fault.has(pit::Fault::rejected) &&
              fault.has(pit::Fault::retryable);
  }
  // [/refused]
  EXPECT_TRUE(refused);
  EXPECT_EQ(busy.get().quantity, 7);
  host.stop();
}

TEST(ReliabilityGuide, injected_faults_follow_the_fault_contract) {
  pit::HostOptions options = quiet();
  // [inject]
  options.fault_injection = true;  // the master switch; off by default
  auto& lookup = options.operations["shop.v1.Warehouse/lookup"];
  lookup.inject_percent = 100;                 // every call
  lookup.inject_delay = 20ms;                  // waits first (the deadline still holds)
  lookup.inject_code = pit::Code::not_found;   // then fails as the implementation would
  // [/inject]
  pit::Host host{options};
  host.serve<Warehouse, WarehouseService>();
  host.start();
  auto warehouse = host.client<Warehouse>();
  try {
    (void)pit::block_on(warehouse->lookup({"apple", 0}));
    ADD_FAILURE() << "expected the injected fault";
  } catch (const pit::Fault& fault) {
    EXPECT_EQ(fault.code(), pit::Code::not_found);  // declared: it passes
  }
  lookup.inject_code = pit::Code::unavailable;  // not declared: masked to internal
  pit::Host masked{options};
  masked.serve<Warehouse, WarehouseService>();
  masked.start();
  try {
    (void)pit::block_on(masked.client<Warehouse>()->lookup({"apple", 0}));
    ADD_FAILURE() << "expected the injected fault";
  } catch (const pit::Fault& fault) {
    EXPECT_EQ(fault.code(), pit::Code::internal);
  }
  masked.stop();
  host.stop();
}

}  // namespace shop
