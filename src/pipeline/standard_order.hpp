#pragma once

#include <memory>
#include <vector>

#include "pit/host.hpp"

namespace pit::detail {

// The inbound pipeline: the standard policies in their fixed order, then the user's.
std::vector<std::unique_ptr<Policy>> standard_inbound(const HostOptions& options,
                                                      std::vector<std::unique_ptr<Policy>> user);
// The outbound pipeline of calls this host makes to other processes.
std::vector<std::unique_ptr<Policy>> standard_outbound(const HostOptions& options);

}  // namespace pit::detail
