// The conformance kit on the README's service: its program compiled here as it stands
// (examples/readme/main.cpp, which readme_example_matches holds equal to the README), its
// main() renamed so this test's runs instead, and the kit run on the host the README builds
// (production defaults: in-process only) with what the kit cannot guess: a valid request
// and a caller with the scope reserve requires.
#include <gtest/gtest.h>

#define main readme_main  // NOLINT: the README's main(), kept as written but not this binary's
#include "readme/main.cpp"
#undef main

#include "pit/testing/gtest.hpp"

namespace {

TEST(ReadmeKit, the_readme_service_keeps_pits_guarantees) {
  pit::Host host;  // as the README's main(): production defaults
  host.serve<Inventory, InventoryService>();
  pit::testing::Hints hints;
  hints.requests["shop.v1.Inventory/reserve"] = R"({"sku":"apple","quantity":2})";
  hints.identity = pit::service_identity("readme-kit", {"inventory.reserve"});
  const pit::testing::Report report = pit::testing::expect_guarantees(host, hints);
  EXPECT_GT(report.count(pit::testing::Verdict::passed), 0U);
  // The README's service commits no contract lock: evolution says so, skipped.
  for (const auto& r : report.of("evolution")) EXPECT_NE(r.verdict, pit::testing::Verdict::failed) << r.message;
  host.stop();
}

TEST(ReadmeKit, the_readme_program_still_runs) { EXPECT_EQ(readme_main(), 0); }

}  // namespace
