// The one place where exceptions become faults.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <vector>

#include "pit/context.hpp"
#include "pit/fault.hpp"

namespace pit::detail {

using ExceptionMapper = std::function<std::optional<Fault>(const std::exception_ptr&)>;

// A pit::Fault stays what it is; then the host's mappers, in order; anything else becomes
// internal, with the exception's type and what() as its cause (for the log, never the
// caller).
Fault to_fault(const std::exception_ptr& error, const std::vector<ExceptionMapper>& mappers);

// What a cancelled call answers: deadline → deadline_exceeded, shutdown → unavailable
// (retryable), caller → cancelled.
Fault cancellation_fault(CancelReason reason);

// Runs f and returns the exception it threw, if any. The only catch (...) around user
// code in the runtime: every exception of every operation is caught here, exactly once.
template <class F>
std::exception_ptr capture(F&& f) noexcept {
  try {
    std::forward<F>(f)();
    return nullptr;
  } catch (...) {
    return std::current_exception();
  }
}

}  // namespace pit::detail
