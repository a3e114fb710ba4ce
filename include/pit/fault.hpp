// pit::Fault — the one failure type of every call.
//
// A fault has a canonical code (the closed set of the 17 gRPC codes), a public message
// that callers may see, and an internal cause that only ever goes to the log. The two are
// separate fields on purpose: nothing that is not meant for the caller can leak by
// string concatenation.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pit {

// The 17 canonical codes, with gRPC's numbering.
enum class Code : std::uint8_t {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
  unauthenticated = 16,
};
inline constexpr int code_count = 17;

// "not_found", "deadline_exceeded", ...; "invalid" for a value outside the set.
std::string_view to_string(Code code) noexcept;
// The inverse of to_string; nullopt for anything that is not one of the 17 names.
std::optional<Code> code_from_string(std::string_view name) noexcept;

class Fault final : public std::exception {
 public:
  // Flags tell a caller (or a client policy) what it may do next.
  enum Flag : std::uint8_t {
    retryable = 1U << 0,  // safe to retry: the operation did not take effect
    rejected = 1U << 1,   // refused before dispatch (admission, pool full): never ran
    deadline = 1U << 2,   // caused by a deadline, here or downstream
    // An `internal` fault that stands for a failure already recorded: the hop that masked
    // it logged the original code, message and cause under the call's correlation id (and
    // counted it). Set by the runtime; it crosses the wire, and every hop above passes the
    // fault on as `internal` without a record of its own. On a fault that an
    // implementation raises itself it changes nothing.
    masked = 1U << 3,
  };

  // Where the fault was raised. The runtime's own faults (decode errors, deadlines,
  // rejections) are part of every operation's contract; faults raised by an
  // implementation must be declared by the operation or they are masked.
  enum class Origin : std::uint8_t { runtime, implementation, remote };

  struct Detail {
    std::string key;
    std::string value;
  };

  Fault(Code code, std::string public_message);

  static Fault cancelled(std::string message) { return {Code::cancelled, std::move(message)}; }
  static Fault unknown(std::string message) { return {Code::unknown, std::move(message)}; }
  static Fault invalid_argument(std::string message) {
    return {Code::invalid_argument, std::move(message)};
  }
  static Fault deadline_exceeded(std::string message);
  static Fault not_found(std::string message) { return {Code::not_found, std::move(message)}; }
  static Fault already_exists(std::string message) {
    return {Code::already_exists, std::move(message)};
  }
  static Fault permission_denied(std::string message) {
    return {Code::permission_denied, std::move(message)};
  }
  static Fault resource_exhausted(std::string message) {
    return {Code::resource_exhausted, std::move(message)};
  }
  static Fault failed_precondition(std::string message) {
    return {Code::failed_precondition, std::move(message)};
  }
  static Fault aborted(std::string message) { return {Code::aborted, std::move(message)}; }
  static Fault out_of_range(std::string message) { return {Code::out_of_range, std::move(message)}; }
  static Fault unimplemented(std::string message) {
    return {Code::unimplemented, std::move(message)};
  }
  static Fault internal(std::string message) { return {Code::internal, std::move(message)}; }
  static Fault unavailable(std::string message) { return {Code::unavailable, std::move(message)}; }
  static Fault data_loss(std::string message) { return {Code::data_loss, std::move(message)}; }
  static Fault unauthenticated(std::string message) {
    return {Code::unauthenticated, std::move(message)};
  }

  [[nodiscard]] Code code() const noexcept { return code_; }
  // What the caller may see.
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  // What only the log may see (exception type and text, downstream detail). Empty if none.
  [[nodiscard]] const std::string& cause() const noexcept { return cause_; }
  [[nodiscard]] const std::vector<Detail>& details() const noexcept { return details_; }
  [[nodiscard]] bool has(Flag flag) const noexcept { return (flags_ & flag) != 0; }
  [[nodiscard]] std::uint8_t flags() const noexcept { return flags_; }
  [[nodiscard]] Origin origin() const noexcept { return origin_; }
  // The correlation id of the call that produced the fault; set by the runtime.
  [[nodiscard]] const std::string& correlation_id() const noexcept { return correlation_id_; }

  // Builders; each returns *this so a fault reads as one expression:
  //   throw pit::Fault::unavailable("inventory is down").with(pit::Fault::retryable);
  Fault& with(Flag flag) & noexcept {
    flags_ |= flag;
    return *this;
  }
  Fault&& with(Flag flag) && noexcept { return std::move(with(flag)); }
  Fault& with_cause(std::string cause) & {
    cause_ = std::move(cause);
    return *this;
  }
  Fault&& with_cause(std::string cause) && { return std::move(with_cause(std::move(cause))); }
  Fault& with_detail(std::string key, std::string value) & {
    details_.push_back({std::move(key), std::move(value)});
    return *this;
  }
  Fault&& with_detail(std::string key, std::string value) && {
    return std::move(with_detail(std::move(key), std::move(value)));
  }
  Fault& from(Origin origin) & noexcept {
    origin_ = origin;
    return *this;
  }
  Fault&& from(Origin origin) && noexcept { return std::move(from(origin)); }
  void set_correlation_id(std::string id) { correlation_id_ = std::move(id); }

  // std::exception: the code and the public message only, never the cause.
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

 private:
  Code code_;
  std::uint8_t flags_ = 0;
  Origin origin_ = Origin::implementation;
  std::string message_;
  std::string cause_;
  std::string correlation_id_;
  std::vector<Detail> details_;
  std::string what_;
};

}  // namespace pit
