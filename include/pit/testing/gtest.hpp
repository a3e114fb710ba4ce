// pit::testing::expect_guarantees — the conformance kit in a GoogleTest test: one failure
// per failed check, each naming the check, the operation and the way in, with the kit's
// message; skipped checks are printed. Link pit::testing and GTest.
//
//   TEST(MyService, KeepsPitsGuarantees) { pit::testing::expect_guarantees(host); }
#pragma once

#include <gtest/gtest.h>

#include <iostream>

#include "pit/testing.hpp"

namespace pit::testing {

inline Report expect_guarantees(Host& host, const Hints& hints = {}) {
  Report report = check_guarantees(host, hints);
  for (const Result& r : report.results()) {
    const std::string where = r.target + (r.transport.empty() ? "" : " (" + r.transport + ")");
    if (r.verdict == Verdict::failed) {
      ADD_FAILURE() << "pit guarantee '" << r.check << "' does not hold for " << where << ":\n  " << r.message;
    } else if (r.verdict == Verdict::skipped) {
      std::cout << "[ pit kit  ] skipped " << r.check << " for " << where << ": " << r.message << "\n";
    }
  }
  std::cout << "[ pit kit  ] " << report.count(Verdict::passed) << " passed, " << report.count(Verdict::failed)
            << " failed, " << report.count(Verdict::skipped) << " skipped\n";
  return report;
}

}  // namespace pit::testing
