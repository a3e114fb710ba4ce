// The conformance kit's checks, one function each, in the order they run (checks.cpp
// lists them with what each proves; docs/testing.md is the checklist they implement).
// A check records one result per operation and way in (Kit::pass/fail/skip), or one for
// the host; it never throws for what it finds.
#pragma once

#include <string_view>
#include <vector>

#include "testing/kit.hpp"

namespace pit::testing::detail {

using CheckFunction = void (*)(Kit&);
struct CheckEntry {
  std::string_view name;
  std::string_view proves;
  CheckFunction run;
};
const std::vector<CheckEntry>& registry();

// checks/faults.cpp
void check_fault_masking(Kit& kit);
void check_declared_faults(Kit& kit);
void check_deadlines(Kit& kit);
// checks/input.cpp
void check_bad_input(Kit& kit);
void check_codec_round_trip(Kit& kit);
// checks/observability.cpp
void check_call_logs(Kit& kit);
void check_metrics(Kit& kit);
void check_overload(Kit& kit);
// checks/access.cpp
void check_identity(Kit& kit);
void check_evolution(Kit& kit);

}  // namespace pit::testing::detail
