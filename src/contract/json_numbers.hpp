// Number rules: which JSON numbers are exact integers, and how a number is read as a double.
// (The range checks of each C++ type are the decode_* functions of pit/json.hpp.)
#pragma once

#include <cstdint>
#include <string_view>

namespace pit::json::detail {

// Boost.JSON reports every number written with a fraction or an exponent as a double, and
// so is an integer literal too large for 64 bits. "1.0" or "2e3" is still an exact
// integer; this recovers it from the text without rounding, so that integer fields accept
// it while 1.5 or 1.00000000000000000001 stay doubles (and are type errors for them).
struct ExactInteger {
  bool exact = false;  // an integer whose magnitude fits 64 bits
  bool negative = false;
  std::uint64_t magnitude = 0;
};

ExactInteger exact_integer(std::string_view text) noexcept;

// The value of `text`, a JSON number that Boost.JSON read as `parsed`, read again correctly
// rounded: Boost.JSON 1.81's own conversion can be off by an ulp or more near the ends of
// the range (-1.7973862697246313e308 came back as ...311e308), so what a peer encoded
// exactly would not decode to itself. An underflow keeps Boost's value (0); an overflow is
// an infinity, which the caller refuses.
double correctly_rounded(std::string_view text, double parsed) noexcept;

}  // namespace pit::json::detail
