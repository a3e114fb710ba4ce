// A host serving the test contracts, with its logs captured in memory.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "support/shop_services.hpp"

namespace shop {

class HostTest : public ::testing::Test {
 protected:
  virtual pit::HostOptions options() {
    pit::HostOptions o;
    o.log_sink = logs;
    return o;
  }
  // Serves both contracts; call start() when the test has added what it needs.
  void SetUp() override {
    host = std::make_unique<pit::Host>(options());
    host->serve<Inventory, InventoryService>(probe);
    host->serve<Orders, OrdersService>(host->client<Inventory>(), probe);
    inventory = host->client<Inventory>();
    orders = host->client<Orders>();
  }
  void TearDown() override {
    if (host) host->stop();
  }

  // Log lines that contain every one of `needles`.
  std::vector<std::string> lines_with(std::initializer_list<std::string_view> needles) const {
    pit::log::flush();
    std::vector<std::string> out;
    for (auto& line : logs->lines()) {
      bool all = true;
      for (auto n : needles) all = all && line.find(n) != std::string::npos;
      if (all) out.push_back(line);
    }
    return out;
  }

  template <class F>
  static pit::Fault fault_of(F&& f) {
    try {
      f();
    } catch (const pit::Fault& fault) {
      return fault;
    }
    ADD_FAILURE() << "expected a pit::Fault";
    return pit::Fault::unknown("no fault");
  }

  std::shared_ptr<pit::log::MemorySink> logs = std::make_shared<pit::log::MemorySink>();
  Probe probe;
  std::unique_ptr<pit::Host> host;
  pit::Ref<Inventory> inventory;
  pit::Ref<Orders> orders;
};

}  // namespace shop
