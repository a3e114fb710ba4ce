// The shop as three processes: gateway → orders → inventory, over HTTP on loopback.
//
//   shop inventory --listen 127.0.0.1:18083
//   shop orders    --listen 127.0.0.1:18082 --inventory http://127.0.0.1:18083
//   shop gateway   --listen 127.0.0.1:18081 --orders http://127.0.0.1:18082
//
// Each serves until SIGTERM or SIGINT. The code is the same naive code as in-process:
// only where the proxies point changes.
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "services.hpp"

namespace {

int usage() {
  std::cerr << "usage: shop inventory --listen ADDR:PORT\n"
               "       shop orders    --listen ADDR:PORT --inventory http://HOST:PORT\n"
               "       shop gateway   --listen ADDR:PORT --orders http://HOST:PORT\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string_view role = argv[1];
  std::string listen;
  std::string downstream;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--listen") {
      listen = argv[i + 1];
    } else if (flag == "--inventory" || flag == "--orders") {
      downstream = argv[i + 1];
    } else {
      return usage();
    }
  }
  if (listen.empty()) return usage();

  pit::HostOptions options;
  options.http.listen = listen;
  pit::Host host{options};
  if (role == "inventory") {
    host.serve<shop::v1::Inventory, shop::InventoryService>();
  } else if (role == "orders" && !downstream.empty()) {
    host.serve<shop::v1::Orders, shop::OrdersService>(host.client<shop::v1::Inventory>(downstream));
  } else if (role == "gateway" && !downstream.empty()) {
    host.serve<shop::v1::Gateway, shop::GatewayService>(host.client<shop::v1::Orders>(downstream));
  } else {
    return usage();
  }
  return host.run();
}
