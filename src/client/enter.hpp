// How a proxy's call enters a pipeline of its host: the one sequence every channel shares.
#pragma once

#include <memory>
#include <string_view>

#include "runtime/host_state.hpp"
#include "settings/operation_settings.hpp"

namespace pit::detail {

// Prepares the call's context (inherited from the caller's context, if any), picks its
// home I/O thread (the caller's, if it runs on one of this host's), moves there, and runs
// the host's pipeline `which` (inbound for in-process calls, outbound for remote ones).
Task<Outcome> enter(Host::State& host, std::unique_ptr<Pipeline> Host::State::*which, CallRef call,
                    void* target, const OperationSettings* settings, std::string_view transport);

}  // namespace pit::detail
