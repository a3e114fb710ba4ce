#include "pit/fault.hpp"

#include <array>

namespace pit {
namespace {
constexpr std::array<std::string_view, code_count> kNames = {
    "ok",        "cancelled",      "unknown",           "invalid_argument",
    "deadline_exceeded",           "not_found",         "already_exists",
    "permission_denied",           "resource_exhausted", "failed_precondition",
    "aborted",   "out_of_range",   "unimplemented",     "internal",
    "unavailable", "data_loss",    "unauthenticated",
};
}  // namespace

std::string_view to_string(Code code) noexcept {
  const auto i = static_cast<std::size_t>(code);
  return i < kNames.size() ? kNames[i] : std::string_view{"invalid"};
}

std::optional<Code> code_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Code>(i);
  }
  return std::nullopt;
}

Fault::Fault(Code code, std::string public_message)
    : code_(code), message_(std::move(public_message)) {
  what_.reserve(message_.size() + 24);
  what_.append(to_string(code_)).append(": ").append(message_);
}

Fault Fault::deadline_exceeded(std::string message) {
  return Fault{Code::deadline_exceeded, std::move(message)}.with(deadline);
}

}  // namespace pit
