// The process's lowest log level, read and changed while it runs (the admin listener's
// POST /log-level), without touching the sink: log::configure sets both at start.
#pragma once

#include "pit/log.hpp"

namespace pit::detail {

[[nodiscard]] log::Level log_level() noexcept;
void set_log_level(log::Level level) noexcept;

}  // namespace pit::detail
