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

#include "roles.hpp"

namespace {

int usage() {
  std::cerr << "usage: shop inventory [--listen ADDR:PORT] [--admin ADDR:PORT] [--config FILE]\n"
               "       shop orders    [...] --inventory http://HOST:PORT\n"
               "       shop gateway   [...] --orders http://HOST:PORT\n"
               "       shop ROLE --openapi    (prints the OpenAPI document; starts nothing)\n";
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
  for (int i = 2; i < argc; ++i) {
    const std::string_view flag = argv[i];
    // Tool commands, read by Config::from_args and carried out by host.run() instead of
    // serving: `--openapi` (docs/openapi.md), `--contract-lock check|write FILE` (pit/lock.hpp).
    if (flag == "--openapi") continue;
    if (flag == "--contract-lock") {
      i += 2;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const char* value = argv[++i];
    if (flag == "--listen") {
      options.http.listen = value;
    } else if (flag == "--admin") {
      options.admin.listen = value;
    } else if (flag == "--inventory" || flag == "--orders") {
      downstream = value;
    } else if (flag != "--config") {
      return usage();
    }
  }
  // A tool command starts nothing and calls no one: it needs no downstream's address (the
  // in-process proxy stands in for the one never made).
  const bool tool = !options.command.empty();
  pit::Host host{options};
  if (role == "inventory") {
    shop::serve_inventory(host, settings);
  } else if (role == "orders" && (tool || !downstream.empty())) {
    shop::serve_orders(host, downstream);
  } else if (role == "gateway" && (tool || !downstream.empty())) {
    shop::serve_gateway(host, downstream);
  } else {
    return usage();
  }
  return host.run();
}
