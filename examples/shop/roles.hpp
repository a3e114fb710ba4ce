// What each of the shop's processes serves, by role: main() builds its host with these, and
// the shop's tests (tests/testing/shop_kit_test.cpp) build theirs the same way, so the
// conformance kit checks exactly what the processes serve.
#pragma once

#include <string>

#include "services.hpp"
#include "settings.hpp"

namespace shop {

inline void serve_inventory(pit::Host& host, const Settings& settings) {
  host.serve<v1::Inventory, InventoryService>(*settings.low_stock);
}

// inventory_url: the inventory process ("http://127.0.0.1:18083"); empty: the in-process
// client (the inventory served by the same host, or a tool command that calls no one).
inline void serve_orders(pit::Host& host, const std::string& inventory_url) {
  host.serve<v1::Orders, OrdersService>(inventory_url.empty() ? host.client<v1::Inventory>()
                                                              : host.client<v1::Inventory>(inventory_url));
}

// orders_url: the orders process; empty: the in-process client, as above.
inline void serve_gateway(pit::Host& host, const std::string& orders_url) {
  host.serve<v1::Gateway, GatewayService>(orders_url.empty() ? host.client<v1::Orders>()
                                                             : host.client<v1::Orders>(orders_url));
}

}  // namespace shop
