// The in-process demo: two services in one host, called through their proxies, showing
// what a caller sees for a success, a declared fault, a masked failure and a deadline —
// and the structured log lines the runtime wrote for each, under one correlation id.
#include <cstdio>
#include <iostream>
#include <string>

#include "services.hpp"

namespace {

template <class F>
void show(const char* what, const std::string& correlation_id, F&& call) {
  std::cout << "\n=== " << what << "  (correlation id " << correlation_id << ")\n" << std::flush;
  // Code outside any call acts under an explicit identity: checked like any caller.
  pit::CallerScope scope{{.correlation_id = correlation_id,
                          .timeout = std::chrono::milliseconds(300),
                          .identity = pit::service_identity("inproc-demo", {"orders.place", "inventory.reserve"})}};
  try {
    auto placed = call();
    std::cout << "caller got: ok  order_id=" << placed.order_id
              << " remaining_stock=" << placed.remaining_stock << "\n";
  } catch (const pit::Fault& f) {
    std::cout << "caller got: fault  code=" << pit::to_string(f.code()) << " message=\"" << f.message()
              << "\" correlation_id=" << f.correlation_id() << "\n";
  }
  pit::log::flush();  // the runtime's lines for this call are above, under its correlation id
}

}  // namespace

int main() {
  pit::Host host;  // production defaults: 10 s default deadline, per-call JSON logs to stdout
  host.serve<shop::v1::Inventory, shop::InventoryService>();
  host.serve<shop::v1::Orders, shop::OrdersService>(host.client<shop::v1::Inventory>());
  auto orders = host.client<shop::v1::Orders>();
  host.start();
  std::cout << "pipeline, the same for every call:\n" << host.describe_pipeline() << std::flush;

  show("a success", "demo-ok", [&] { return pit::block_on(orders->place({"apple", 2})); });
  show("a declared fault passes through", "demo-declared", [&] { return pit::block_on(orders->place({"plum", 1})); });
  show("an undeclared failure is masked", "demo-masked", [&] { return pit::block_on(orders->place({"cursed-sku", 1})); });
  show("a deadline (300 ms) bounds a hanging dependency", "demo-deadline",
       [&] { return pit::block_on(orders->place({"slow-sku", 1})); });
  show("bad input", "demo-invalid", [&] { return pit::block_on(orders->place({"apple", -1})); });

  // Give the last lines a moment to be written, then stop cleanly.
  host.stop();
  std::cout << "\nstopped cleanly\n";
  return 0;
}
