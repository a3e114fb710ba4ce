#include "pipeline/pipeline.hpp"

#include <stdexcept>
#include <unordered_set>

namespace pit {

Pipeline::Pipeline(std::vector<std::unique_ptr<Policy>> policies, detail::Terminal& terminal)
    : policies_(std::move(policies)), terminal_(&terminal) {
  // Validated once, at start: a policy is there once, with a name to print.
  std::unordered_set<std::string_view> names;
  for (const auto& p : policies_) {
    if (!p) throw std::invalid_argument("pit: a null policy was added to the pipeline");
    if (p->name().empty()) throw std::invalid_argument("pit: every policy needs a name");
    if (!names.insert(p->name()).second) {
      throw std::invalid_argument("pit: policy '" + std::string(p->name()) +
                                  "' is in the pipeline twice");
    }
  }
}

std::string Pipeline::describe() const {
  std::string out;
  int i = 1;
  for (const auto& p : policies_) {
    out += std::to_string(i++) + ". " + std::string(p->name()) + "\n";
  }
  out += std::to_string(i) + ". dispatch\n";
  return out;
}

Task<Outcome> Next::operator()(Call& call) const {
  if (index_ < pipeline_->policies_.size()) {
    return pipeline_->policies_[index_]->handle(call, Next{pipeline_, index_ + 1});
  }
  return pipeline_->terminal_->dispatch(call);
}

}  // namespace pit
