// Bad input and the codec's round trip (docs/testing.md).
#include "testing/checks.hpp"

namespace pit::testing::detail {

void check_bad_input(Kit& kit) { kit.skip("bad_input", nullptr, std::nullopt, "not built yet"); }
void check_codec_round_trip(Kit& kit) { kit.skip("codec_round_trip", nullptr, std::nullopt, "not built yet"); }

}  // namespace pit::testing::detail
