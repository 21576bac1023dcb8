// skip_support.h — skipping a test that cannot run here, except in CI.
//
//   if (!openssl) SEVEX_SKIP_OUTSIDE_CI("no openssl command on PATH");
//
// On a developer's machine a test that needs what is not installed (the openssl command, root
// for a tmpfs) skips and says why. Under CI=true it fails instead, with the same words: CI
// installs everything the suite needs (scripts/setup.sh, .ci/run), so a skip there would only
// hide a test that no longer runs.
#ifndef SEVEX_TESTS_SKIP_SUPPORT_H_
#define SEVEX_TESTS_SKIP_SUPPORT_H_

#include <cstdlib>
#include <cstring>

#include "gtest/gtest.h"

namespace sevex::testing {

// CI is set to anything but "", "0" or "false".
inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::strcmp(ci, "0") != 0 && std::strcmp(ci, "false") != 0;
}

}  // namespace sevex::testing

// Returns from the test (or its SetUp): skipped outside CI, failed under CI. `why` is anything
// a gtest message takes (a string, a StrCat).
#define SEVEX_SKIP_OUTSIDE_CI(why)                                                                \
  do {                                                                                            \
    if (::sevex::testing::InCi()) {                                                               \
      FAIL() << why << " (CI=true: CI installs what the suite needs, so no test may skip there)"; \
    } else {                                                                                      \
      GTEST_SKIP() << why;                                                                        \
    }                                                                                             \
  } while (0)

#endif  // SEVEX_TESTS_SKIP_SUPPORT_H_
