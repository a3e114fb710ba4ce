#pragma once

#include <memory>
#include <vector>

#include "pit/host.hpp"

namespace pit::detail {

// The inbound pipeline: the standard policies in their fixed order, then the user's.
// host_limiter: the host-wide admission limiter (null: none).
class Limiter;
std::vector<std::unique_ptr<Policy>> standard_inbound(const HostOptions& options, Limiter* host_limiter,
                                                      std::vector<std::unique_ptr<Policy>> user);
// The outbound pipeline of calls this host makes to other processes.
std::vector<std::unique_ptr<Policy>> standard_outbound(const HostOptions& options);

}  // namespace pit::detail
