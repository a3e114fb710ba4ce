// The shop as three processes: gateway → orders → inventory, over HTTP on loopback.
//
//   shop inventory --listen 127.0.0.1:18083 --admin 127.0.0.1:19083
//   shop orders    --listen 127.0.0.1:18082 --admin 127.0.0.1:19082 --inventory http://127.0.0.1:18083
//   shop gateway   --listen 127.0.0.1:18081 --admin 127.0.0.1:19081 --orders http://127.0.0.1:18082
//
// Settings come from embedded defaults, then --config FILE (or PIT_CONFIG), then PIT_*
// environment variables (docs/configuration.md), then these flags. Each process serves
// until SIGTERM or SIGINT, then drains. The code is the same naive code as in-process:
// only where the proxies point changes.
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "services.hpp"
#include "settings.hpp"

namespace {

int usage() {
  std::cerr << "usage: shop inventory [--listen ADDR:PORT] [--admin ADDR:PORT] [--config FILE]\n"
               "       shop orders    [...] --inventory http://HOST:PORT\n"
               "       shop gateway   [...] --orders http://HOST:PORT\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string_view role = argv[1];
  // A configuration error ends the process here: one line on stderr, exit code 2. Every
  // other start-up error (a port in use, an unknown operation in the settings, a bad
  // --inventory URL) is reported by host.run(): one line on stderr, exit code 1.
  shop::Settings settings;
  pit::HostOptions options = pit::Config::from_args(argc, argv, settings.app);
  std::string downstream;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--listen") {
      options.http.listen = argv[i + 1];
    } else if (flag == "--admin") {
      options.admin.listen = argv[i + 1];
    } else if (flag == "--inventory" || flag == "--orders") {
      downstream = argv[i + 1];
    } else if (flag == "--contract-lock") {
      ++i;  // `--contract-lock check|write FILE`: carried out by host.run() (pit/lock.hpp)
    } else if (flag != "--config") {
      return usage();
    }
  }
  pit::Host host{options};
  if (role == "inventory") {
    host.serve<shop::v1::Inventory, shop::InventoryService>(*settings.low_stock);
  } else if (role == "orders" && !downstream.empty()) {
    host.serve<shop::v1::Orders, shop::OrdersService>(host.client<shop::v1::Inventory>(downstream));
  } else if (role == "gateway" && !downstream.empty()) {
    host.serve<shop::v1::Gateway, shop::GatewayService>(host.client<shop::v1::Orders>(downstream));
  } else {
    return usage();
  }
  return host.run();
}
