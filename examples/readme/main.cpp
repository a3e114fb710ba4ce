// The README's example, verbatim between the markers (tests/readme_example_matches checks).
#include <boost/describe.hpp>
#include <chrono>
#include <stdexcept>
#include <string>

#include "pit/pit.hpp"

// [readme]
struct Reserve { std::string sku; int quantity = 1; };
BOOST_DESCRIBE_STRUCT(Reserve, (), (sku, quantity))
struct Reservation { std::string reservation_id; int remaining = 0; };
BOOST_DESCRIBE_STRUCT(Reservation, (), (reservation_id, remaining))
class Inventory {                                    // the contract: all callers see
 public: virtual ~Inventory() = default;
 protected:                                          // reached only through pit::Ref
  virtual pit::Task<Reservation> reserve(Reserve) = 0;
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory", (reserve, pit::OpSpec{}.require(pit::scope("inventory.reserve"))
    .raises(pit::Code::not_found).timeout(std::chrono::seconds(1))));   // who may call; what it raises

class InventoryService final : public Inventory {    // naive code; the runtime adds the rules
  pit::Task<Reservation> reserve(Reserve req) override {
    if (req.sku != "apple") throw pit::Fault::not_found("unknown sku");      // declared: passes
    if (req.quantity > 100) throw std::runtime_error("db: secret=hunter2");   // masked, logged
    pit::log::info("reserved", {{"sku", req.sku}});   // carries the call's correlation id
    co_return Reservation{"r-1", 100 - req.quantity};
  }
};

int main() {
  pit::Host host;                                     // production defaults
  host.serve<Inventory, InventoryService>();          // the host owns the implementation
  pit::Ref<Inventory> inventory = host.client<Inventory>();   // callers only get a proxy
  host.start();
  pit::CallerScope job{{.identity = pit::service_identity("restock-job", {"inventory.reserve"})}};  // acts as
  auto reply = pit::block_on(inventory->reserve({"apple", 2}));
  return reply.remaining == 98 ? 0 : 1;
}
// [/readme]
