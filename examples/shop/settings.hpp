// The shop's own settings: the [app] section of shop.toml and the PIT_APP_* variables,
// read with pit's keys by Config::from_args (docs/configuration.md).
#pragma once

#include <cstdint>

#include "pit/config.hpp"

namespace shop {

struct Settings {
  pit::AppSettings app;
  const pit::AppSetting<std::int64_t>& low_stock =
      app.integer("low_stock", 2, 0, 1'000'000,
                  "The inventory logs a warning when a reservation leaves this many units or fewer.");
};

}  // namespace shop
