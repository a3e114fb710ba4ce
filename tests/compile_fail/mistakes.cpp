// Each PIT_MISTAKE_<n> below is a mistake a user commonly makes in a contract. CTest builds
// this file once per case with that macro defined and expects the build to fail WITH the
// message that says what to write instead (the regex beside each case in
// tests/CMakeLists.txt); it also builds it with none defined and expects that to succeed.
#include <memory>

#include "support/shop_services.hpp"

namespace mistakes {

#if defined(PIT_MISTAKE_1)
// Operations left public: any Contract& could call the implementation around the pipeline.
class Public {
 public:
  virtual ~Public() = default;
  virtual pit::Task<shop::Reserved> reserve(shop::Reserve) = 0;
};
PIT_CONTRACT(Public, "test.v1.Public", (reserve));
#elif defined(PIT_MISTAKE_2)
// Two parameters instead of one request struct.
class TwoParameters {
 public:
  virtual ~TwoParameters() = default;
 protected:
  virtual pit::Task<shop::Reserved> reserve(std::string sku, int quantity) = 0;
};
PIT_CONTRACT(TwoParameters, "test.v1.TwoParameters", (reserve));
#elif defined(PIT_MISTAKE_3)
// A sync operation that returns nothing.
class ReturnsVoid {
 public:
  virtual ~ReturnsVoid() = default;
 protected:
  virtual void forget(shop::Count) = 0;
};
PIT_CONTRACT(ReturnsVoid, "test.v1.ReturnsVoid", (forget));
#elif defined(PIT_MISTAKE_4)
// A coroutine operation that returns nothing.
class ReturnsTaskVoid {
 public:
  virtual ~ReturnsTaskVoid() = default;
 protected:
  virtual pit::Task<void> forget(shop::Count) = 0;
};
PIT_CONTRACT(ReturnsTaskVoid, "test.v1.ReturnsTaskVoid", (forget));
#elif defined(PIT_MISTAKE_5)
// The declaration outside the contract's namespace: pit::Ref<Elsewhere> could not find it.
class Elsewhere {
 public:
  virtual ~Elsewhere() = default;
 protected:
  virtual pit::Task<shop::Reserved> reserve(shop::Reserve) = 0;
};
}  // namespace mistakes
using mistakes::Elsewhere;
PIT_CONTRACT(Elsewhere, "test.v1.Elsewhere", (reserve));
namespace mistakes {
#endif

}  // namespace mistakes

int main() {
  shop::Probe probe;
  pit::Host host;
  host.serve<shop::Inventory, shop::InventoryService>(probe);
  pit::Ref<shop::Inventory> inventory = host.client<shop::Inventory>();
  (void)[inventory]() -> pit::Task<shop::Reserved> {
#if defined(PIT_MISTAKE_6)
    // A nested braced list for a coroutine operation's request would be built inside this
    // co_await expression, where GCC 12 destroys its members twice: it does not compile.
    co_return co_await inventory->reserve({{"apple"}, 1});
#else
    co_return co_await inventory->reserve({"apple", 1});
#endif
  };
  return 0;
}
