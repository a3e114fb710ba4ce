// deadline: every call has one, the earliest of the caller's, the operation's timeout and
// the host default. An expired call is not dispatched. At expiry the caller is answered
// deadline_exceeded at once, the call is cancelled (reason: deadline), and whatever the
// implementation still does is abandoned: its result, if it ever comes, is dropped.
#pragma once

#include <chrono>

#include "pit/pipeline.hpp"

namespace pit::policies {

class Deadline final : public Policy {
 public:
  explicit Deadline(std::chrono::milliseconds host_default) noexcept : host_default_(host_default) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "deadline"; }
  Task<Outcome> handle(Call& call, Next next) override;

 private:
  std::chrono::milliseconds host_default_;
};

}  // namespace pit::policies
