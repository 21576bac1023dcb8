// clock.h — the wall clock of a node's machine, for the times a node stamps (submission and
// reception times, receipts, the audit log, outbox ages) and the commands that read them.
//
// Test seam: SEVEX_TEST_CLOCK_OFFSET_MS (whole milliseconds, may be negative) shifts this clock,
// so that one machine can run nodes whose clocks disagree. It is read once, on first use; the
// node refuses to start when it is malformed, and logs a warning when it is set. It shifts only
// sevex's own times: TLS certificate validity is still checked against the system clock.
//
//   const int64_t now = node::WallClockMs();
#ifndef SEVEX_NODE_CLOCK_H_
#define SEVEX_NODE_CLOCK_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace sevex::node {

inline constexpr char kClockOffsetEnv[] = "SEVEX_TEST_CLOCK_OFFSET_MS";

// The system clock plus the offset, in Unix milliseconds. A malformed offset counts as 0.
int64_t WallClockMs();

// The offset from SEVEX_TEST_CLOCK_OFFSET_MS: 0 when unset, an error naming the variable when
// it is not a whole number of milliseconds within ±100 years.
absl::StatusOr<int64_t> ClockOffsetMs();

}  // namespace sevex::node

#endif  // SEVEX_NODE_CLOCK_H_
