// Each PIT_BYPASS_<n> below is one obvious way to reach an implementation without the
// pipeline. CTest builds this file once per case with that macro defined and expects the
// build to FAIL; it also builds it once with none defined and expects that to succeed, so
// a failure can only come from the bypass line itself.
#include <memory>

#include "support/shop_services.hpp"

namespace shop {

class NotAnInventory {
 public:
  virtual ~NotAnInventory() = default;
};

#if defined(PIT_BYPASS_6)
// A contract whose declaration forgets an operation: the declaration itself is refused.
class Partial {
 public:
  virtual ~Partial() = default;
 protected:
  virtual pit::Task<Reserved> one(Reserve) = 0;
  virtual pit::Task<Reserved> two(Reserve) = 0;
};
PIT_CONTRACT(Partial, "test.v1.Partial", (one));
#endif

}  // namespace shop

int main() {
  shop::Probe probe;
  pit::Host host;
  host.serve<shop::Inventory, shop::InventoryService>(probe);
  pit::Ref<shop::Inventory> ok = host.client<shop::Inventory>();
  (void)ok;

#if defined(PIT_BYPASS_1)
  // serve() constructs and keeps the implementation; it hands nothing back.
  auto& implementation = host.serve<shop::Orders, shop::OrdersService>(host.client<shop::Inventory>(), probe);
#elif defined(PIT_BYPASS_2)
  // A Ref cannot be made around an object of the caller's own.
  pit::Ref<shop::Inventory> ref{std::make_shared<shop::InventoryService>(probe)};
#elif defined(PIT_BYPASS_3)
  // An implementation's overrides are private: calling one directly does not compile.
  shop::InventoryService direct{probe};
  (void)direct.count({"apple"});
#elif defined(PIT_BYPASS_4)
  // Only contracts have clients; an implementation type is not a contract.
  auto ref = host.client<shop::InventoryService>();
#elif defined(PIT_BYPASS_5)
  // The served type must implement the contract it is served as.
  host.serve<shop::Inventory, shop::NotAnInventory>();
#elif defined(PIT_BYPASS_6)
  // Every operation of a contract must be declared, or the proxy cannot exist.
  auto partial = host.client<shop::Partial>();
#elif defined(PIT_BYPASS_7)
  // Ref has no get(): there is no raw pointer to hand to code that might downcast it.
  auto* raw = ok.get();
#elif defined(PIT_BYPASS_8)
  // A contract's operations are protected: a Contract& does not call a sync operation
  // around the pipeline (no correlation id, no deadline, no fault masking).
  shop::InventoryService implementation{probe};
  shop::Inventory& contract = implementation;
  (void)contract.count({"apple"});
#elif defined(PIT_BYPASS_9)
  // Nor a coroutine operation.
  shop::InventoryService implementation{probe};
  shop::Inventory& contract = implementation;
  (void)contract.reserve({"apple", 1});
#elif defined(PIT_BYPASS_10)
  // Nor through a pointer to the contract.
  auto implementation = std::make_unique<shop::InventoryService>(probe);
  shop::Inventory* contract = implementation.get();
  (void)contract->count({"apple"});
#elif defined(PIT_BYPASS_11)
  // The proxy behind a Ref is not a contract object either: nothing converts it into one.
  shop::Inventory& contract = *ok;
#endif
  return 0;
}
