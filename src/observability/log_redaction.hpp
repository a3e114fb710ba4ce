// Redaction of log fields: what must never reach a log line even when the code that logs
// it asks. A field whose key is named like a secret, or a value holding a card number, is
// written as "[redacted]". Applied to every field of every log::write; the per-call line
// has no fields and pays nothing.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "pit/log.hpp"

namespace pit::detail {

class Redactor {
 public:
  explicit Redactor(const log::Redaction& settings);

  // The field to write in place of `field`: itself, a field whose value is "[redacted]",
  // or one whose value is `scratch` (the value with its card numbers replaced).
  [[nodiscard]] log::Field apply(const log::Field& field, std::string& scratch) const;

  // A key named like a secret: one of the names (built in and configured) appears in it,
  // case and '_', '-', '.' ignored ("X-Api-Key", "db_password", "sessionCookie").
  [[nodiscard]] bool secret_key(std::string_view key) const;
  // `value` with each run of 13 to 19 digits (single spaces or dashes between them allowed)
  // that starts like a payment card (2221-2720, 3, 4, 51-55, 60, 62, 64, 65) and passes
  // the Luhn check replaced by "[redacted]". False when there is none (`out` untouched).
  static bool mask_card_numbers(std::string_view value, std::string& out);

 private:
  bool enabled_;
  std::vector<std::string> names_;  // lowercase letters and digits only, none empty
  std::array<bool, 256> first_letters_{};  // the first letters of names_
  std::size_t shortest_ = std::numeric_limits<std::size_t>::max();
};

// The names redacted by default (docs/logging.md lists them).
const std::vector<std::string_view>& builtin_secret_names();

}  // namespace pit::detail
