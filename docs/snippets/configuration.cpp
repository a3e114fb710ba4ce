// Snippets of docs/configuration.md: a service's own settings in [app], declared before the
// configuration is read, read typed, overridden by PIT_APP_* variables.
#include <gtest/gtest.h>

#include <boost/describe.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "pit/pit.hpp"

namespace shop {

using namespace std::chrono_literals;

struct Reserve {
  std::string sku;
  int quantity = 1;
};
BOOST_DESCRIBE_STRUCT(Reserve, (), (sku, quantity))

struct Reserved {
  std::int64_t remaining = 0;
};
BOOST_DESCRIBE_STRUCT(Reserved, (), (remaining))

class Inventory {
 public:
  virtual ~Inventory() = default;
 protected:
  virtual pit::Task<Reserved> reserve(Reserve) = 0;
};
PIT_CONTRACT(Inventory, "shop.v1.Inventory", (reserve, pit::OpSpec{}.anonymous("guide example").raises(pit::Code::not_found)));

class InventoryService final : public Inventory {
 public:
  InventoryService(const std::vector<std::string>& skus, std::int64_t initial_stock) {
    for (const auto& sku : skus) stock_[sku] = initial_stock;
  }

 private:
  pit::Task<Reserved> reserve(Reserve r) override {
    std::lock_guard lock(mutex_);
    const auto it = stock_.find(r.sku);
    if (it == stock_.end()) throw pit::Fault::not_found("no such sku");
    it->second -= r.quantity;
    co_return Reserved{it->second};
  }

  std::mutex mutex_;
  std::map<std::string, std::int64_t> stock_;
};

// [app-declare]
// The inventory's own settings: declared once, before the configuration is read.
struct InventorySettings {
  pit::AppSettings app;
  const pit::AppSetting<std::vector<std::string>>& skus =
      app.strings("skus", {"apple", "pear"}, "What the inventory holds.");
  const pit::AppSetting<std::int64_t>& initial_stock =
      app.integer("initial_stock", 100, 0, 1'000'000, "Units of each sku at start.");
  const pit::AppSetting<std::chrono::milliseconds>& restock_every =
      app.duration("restock_every_ms", 60'000ms, 1'000ms, 86'400'000ms, "How often stock is refilled.");
  const pit::AppSetting<bool>& audit = app.boolean("audit", false, "Log every reservation.");
};
// [/app-declare]

// [app-main]
int inventory_main(int argc, char** argv) {
  InventorySettings settings;
  pit::Host host{pit::Config::from_args(argc, argv, settings.app)};  // reads [app] too
  host.serve<Inventory, InventoryService>(*settings.skus, *settings.initial_stock);
  return host.run();
}
// [/app-main]

}  // namespace shop

namespace {

TEST(ConfigurationGuide, the_app_section_and_its_variables_reach_the_service) {
  shop::InventorySettings settings;
  const std::map<std::string, std::string> environment{{"PIT_APP_INITIAL_STOCK", "7"}};
  const pit::HostOptions options = pit::Config::from_toml(R"(
[http]
listen = ""

[app]
skus = ["fig"]
initial_stock = 3
)",
                                                          "inventory.toml", &environment, settings.app);
  EXPECT_EQ(*settings.skus, std::vector<std::string>{"fig"});
  EXPECT_EQ(*settings.initial_stock, 7) << "PIT_APP_INITIAL_STOCK wins over the file";
  EXPECT_EQ(*settings.restock_every, std::chrono::minutes(1));

  pit::HostOptions in_process = options;
  in_process.admin.listen = "";
  pit::Host host{in_process};
  host.serve<shop::Inventory, shop::InventoryService>(*settings.skus, *settings.initial_stock);
  host.start();
  auto inventory = host.client<shop::Inventory>();
  EXPECT_EQ(pit::block_on(inventory->reserve({"fig", 2})).remaining, 5);
  host.stop();
}

TEST(ConfigurationGuide, a_service_prints_the_reference_of_its_settings) {
  shop::InventorySettings settings;
  std::ostringstream out;
  // [app-reference]
  for (const pit::Config::Key& key : settings.app.keys()) {
    out << key.name << " (" << key.type << ", default " << key.default_value << ", " << key.environment
        << "): " << key.description << "\n";
  }
  // [/app-reference]
  EXPECT_EQ(
      out.str(),
      "app.skus (array of strings, default [\"apple\", \"pear\"], PIT_APP_SKUS): What the inventory holds.\n"
      "app.initial_stock (integer, default 100, PIT_APP_INITIAL_STOCK): Units of each sku at start.\n"
      "app.restock_every_ms (integer, default 60000, PIT_APP_RESTOCK_EVERY_MS): How often stock is "
      "refilled.\n"
      "app.audit (boolean, default false, PIT_APP_AUDIT): Log every reservation.\n");
}

TEST(ConfigurationGuide, a_mistake_in_app_names_the_file_line_and_key) {
  shop::InventorySettings settings;
  try {
    (void)pit::Config::from_toml("[app]\ninitial_stok = 3\n", "inventory.toml", nullptr, settings.app);
    ADD_FAILURE() << "no ConfigError";
  } catch (const pit::ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "inventory.toml:2:1: app.initial_stok: unknown key (did you mean app.initial_stock?)");
  }
}

}  // namespace
