// Checks of ClientOptions built in code or read from configuration, and what one
// operation's calls run with.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

#include "pit/host.hpp"

namespace pit::outbound {

// Throws std::invalid_argument "pit: clients.\"<contract>\": <what is wrong>" for: an
// unparseable endpoint or dns URL, both endpoints and dns, a budget out of range,
// backoff_base > backoff_max, a zero max_attempts / max_in_flight / window / interval, an
// outlier share out of 0..100, an operation override out of range.
void validate(const ClientOptions& options, std::string_view contract);

// The client's settings with the operation's overrides applied.
struct OperationRetry {
  std::size_t max_attempts = 1;
  Hedge hedge = Hedge::off;
  std::chrono::milliseconds hedge_delay{0};
};
[[nodiscard]] OperationRetry for_operation(const ClientOptions& options, std::string_view operation);

}  // namespace pit::outbound
