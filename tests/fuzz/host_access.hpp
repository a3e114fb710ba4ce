// The fuzzers' way to a Host's internals (Host::State) without a public accessor: the
// standard's exemption from access checks for explicit instantiations ([temp.spec]) names
// the private member Host::state_. Only for tests/fuzz/; nothing in include/pit/ changes.
#pragma once

#include <memory>

#include "runtime/host_state.hpp"

namespace pit_fuzz {

using StateMember = std::shared_ptr<pit::Host::State> pit::Host::*;

template <StateMember M>
struct StateMemberOf {
  friend StateMember state_member() { return M; }
};
StateMember state_member();
template struct StateMemberOf<&pit::Host::state_>;

inline pit::Host::State& state_of(pit::Host& host) { return *(host.*state_member()); }

}  // namespace pit_fuzz
