// pit::Config::from_toml on arbitrary text, with no environment.
//
// Properties:
//  - it returns HostOptions or throws pit::ConfigError, nothing else;
//  - a ConfigError names where: its message starts with the source name;
//  - options it returns are accepted by pit::Host's constructor ("everything is validated
//    before the host is built");
//  - the same with [app] settings declared (one of each type): a value it returns is in
//    its declared range.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <string_view>

#include "pit/config.hpp"
#include "pit/host.hpp"

namespace {

[[noreturn]] void fail(const char* what, std::string_view text, std::string_view detail = {}) {
  std::fprintf(stderr, "config_fuzz: %s\n  %.*s\n--- input ---\n%.*s\n---\n", what, static_cast<int>(detail.size()),
               detail.data(), static_cast<int>(std::min<std::size_t>(text.size(), 4096)), text.data());
  std::abort();
}

void check_app_settings(std::string_view text) {
  using namespace std::chrono_literals;
  static const std::map<std::string, std::string> no_environment;
  pit::AppSettings app;
  const auto& count = app.integer("count", 1, -5, 5, "");
  (void)app.boolean("flag", false, "");
  (void)app.string("name", "", "");
  const auto& wait = app.duration("wait_ms", 0ms, 0ms, 1000ms, "");
  (void)app.strings("list", {}, "");
  try {
    (void)pit::Config::from_toml(text, "fuzz.toml", &no_environment, app);
  } catch (const pit::ConfigError& e) {
    if (std::string_view{e.what()}.rfind("fuzz.toml", 0) != 0) fail("a ConfigError that does not name the file", text, e.what());
    return;
  } catch (const std::exception& e) {
    fail("from_toml with [app] settings threw something other than pit::ConfigError", text, e.what());
  } catch (...) {
    fail("from_toml with [app] settings threw something other than pit::ConfigError", text);
  }
  if (*count < -5 || *count > 5 || *wait < 0ms || *wait > 1000ms) fail("an [app] value outside its declared range", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  static const std::map<std::string, std::string> no_environment;
  pit::HostOptions options;
  try {
    options = pit::Config::from_toml(text, "fuzz.toml", &no_environment);
  } catch (const pit::ConfigError& e) {
    if (std::string_view{e.what()}.rfind("fuzz.toml", 0) != 0) fail("a ConfigError that does not name the file", text, e.what());
    return 0;
  } catch (const std::exception& e) {
    fail("from_toml threw something other than pit::ConfigError", text, e.what());
  } catch (...) {
    fail("from_toml threw something other than pit::ConfigError", text);
  }
  check_app_settings(text);
  try {
    pit::Host host{options};
  } catch (const std::exception& e) {
    fail("the host refused options the configuration accepted", text, e.what());
  }
  return 0;
}
