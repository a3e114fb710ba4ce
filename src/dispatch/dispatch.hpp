// The dispatch boundary: the end of every pipeline. Decodes the request if it arrived as
// JSON (bad input becomes invalid_argument here, inside the pipeline, so it is shaped and
// logged like every other fault), runs the operation on the right executor — coroutine
// operations on the call's I/O thread, sync operations on the bounded worker pool — and
// turns every exception into a fault.
#pragma once

#include <vector>

#include "fault/exception_mappers.hpp"
#include "executors/executors.hpp"
#include "pipeline/pipeline.hpp"

namespace pit::detail {

class Dispatcher final : public Terminal {
 public:
  Dispatcher(WorkerPool& workers, const std::vector<ExceptionMapper>& mappers) noexcept
      : workers_(&workers), mappers_(&mappers) {}
  Task<Outcome> dispatch(Call& call) override;

  [[nodiscard]] WorkerPool& workers() const noexcept { return *workers_; }
  [[nodiscard]] Fault to_fault(const std::exception_ptr& error) const {
    return detail::to_fault(error, *mappers_);
  }

 private:
  WorkerPool* workers_;
  const std::vector<ExceptionMapper>* mappers_;
};

}  // namespace pit::detail
