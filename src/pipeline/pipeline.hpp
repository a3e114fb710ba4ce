// The pipeline object: the ordered policies and, after them, the dispatch boundary.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pit/pipeline.hpp"

namespace pit::detail {

// The end of every pipeline: decode, invoke on the right executor, catch, map.
class Terminal {
 public:
  virtual ~Terminal() = default;
  virtual Task<Outcome> dispatch(Call& call) = 0;
};

}  // namespace pit::detail

namespace pit {

class Pipeline {
 public:
  Pipeline(std::vector<std::unique_ptr<Policy>> policies, detail::Terminal& terminal);

  Task<Outcome> run(Call& call) const { return Next{this, 0}(call); }
  // One line per policy, in order, then the dispatch boundary.
  [[nodiscard]] std::string describe() const;

 private:
  friend class Next;
  std::vector<std::unique_ptr<Policy>> policies_;
  detail::Terminal* terminal_;
};

}  // namespace pit
