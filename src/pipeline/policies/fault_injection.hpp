// fault_injection: delays or fails a configured share of an operation's calls, as if its
// implementation had (docs/reliability.md). Present only when HostOptions::fault_injection
// is on and some operation sets inject_percent, or when the conformance kit
// (pit::testing, docs/testing.md) is attached to the host: off, it is not in the pipeline
// at all. It sits right before dispatch, inside every guarantee: the deadline bounds an
// injected delay, and fault shaping passes an injected code only if the operation
// declares it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fault/exception_mappers.hpp"
#include "pit/pipeline.hpp"

namespace pit::detail {

// What the conformance kit makes one operation's calls meet while it checks that
// operation: the kit's own fault injection, armed and disarmed at run time, for every call
// of the operation while armed (the kit runs no other traffic meanwhile). In order:
// `log_line` logged as an application line inside the call (before and after a hop
// through the call's I/O thread, so the ambient context is checked across a suspension),
// the `delay` (cancellable, like any wait in an operation), then `exception` thrown and
// mapped by the host's exception mappers exactly as one thrown by the implementation, or
// `code` raised as the implementation would; with neither, the implementation runs.
struct Drill {
  std::chrono::milliseconds delay{0};
  std::optional<Code> code{};
  std::string exception{};  // non-empty: a std::runtime_error with this what()
  std::string log_line{};   // non-empty: pit::log::info(log_line) inside the call
};

// The drills armed on a host: at most one operation at a time. Calls read it with one
// relaxed load when nothing is armed.
class DrillBoard {
 public:
  void arm(const OperationInfo& operation, Drill drill);
  void disarm();
  [[nodiscard]] std::shared_ptr<const Drill> find(const OperationInfo& operation) const;

 private:
  std::atomic<bool> armed_{false};
  mutable std::mutex mutex_;
  const OperationInfo* operation_ = nullptr;
  std::shared_ptr<const Drill> drill_;
};

}  // namespace pit::detail

namespace pit::policies {

class FaultInjection final : public Policy {
 public:
  // drills: the conformance kit's (null: none attached); mappers: the host's exception
  // mappers, which map a drill's exception as the dispatch boundary maps the
  // implementation's.
  FaultInjection(const detail::DrillBoard* drills = nullptr,
                 const std::vector<detail::ExceptionMapper>* mappers = nullptr) noexcept
      : drills_(drills), mappers_(mappers) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "fault_injection"; }
  Task<Outcome> handle(Call& call, Next next) override;

 private:
  Task<Outcome> drill(Call& call, Next next, const detail::Drill& drill) const;
  const detail::DrillBoard* drills_;
  const std::vector<detail::ExceptionMapper>* mappers_;
};

}  // namespace pit::policies
