// The shop's contracts honour its committed lock (examples/shop/contracts.lock): changing
// a shop contract without updating (or acknowledging in) the lock fails the suite. To
// update it after a deliberate, compatible change:
//   build/test/examples/shop inventory --contract-lock write ...   (one contract a process)
// or, for all three at once, run this test with PIT_WRITE_SHOP_LOCK=1.
#include <gtest/gtest.h>

#include <cstdlib>

#include "pit/lock.hpp"
#include "shop/services.hpp"

namespace {

TEST(ShopLock, the_shop_contracts_honour_the_committed_lock) {
  pit::Host host;
  host.serve<shop::v1::Inventory, shop::InventoryService>();
  host.serve<shop::v1::Orders, shop::OrdersService>(host.client<shop::v1::Inventory>());
  host.serve<shop::v1::Gateway, shop::GatewayService>(host.client<shop::v1::Orders>());
  if (std::getenv("PIT_WRITE_SHOP_LOCK") != nullptr) {
    EXPECT_EQ(pit::lock::write(host, PIT_SHOP_LOCK).failures(), "");
  }
  EXPECT_EQ(pit::lock::check(host, PIT_SHOP_LOCK).failures(), "");
}

}  // namespace
