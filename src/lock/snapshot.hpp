// The code's side of the comparison: the contracts' facts and message models (pit::schema,
// through the operations' hooks) as a lock.
#pragma once

#include "lock/lock_file.hpp"
#include "pit/lock.hpp"

namespace pit::lock {

// Every contract, operation, message, field and enum, sorted by name. No acknowledgements.
// Throws std::logic_error when two different types carry the same name (the lock could not
// tell them apart).
file::Lock snapshot_of(const Contracts& contracts);

}  // namespace pit::lock
