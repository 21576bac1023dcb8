// clock.h — the wall clock of a node's machine, for the times a node stamps (submission and
// reception times, receipts, the audit log, outbox ages) and the commands that read them.
//
// A node takes its clock as a constructor argument (`Clock`, below; `sevex node
// --test-clock-offset-ms` shifts it in tests). The operator commands that show ages and read
// --since (`sevex outbox`, `inbox`) use WallClockMs, which a test shifts with
// SEVEX_TEST_CLOCK_OFFSET_MS (whole milliseconds, may be negative) to stand on a node's machine;
// a serving node never reads that variable. Only sevex's own times shift: TLS certificate
// validity is still checked against the system clock.
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

// The clock a node's components stamp times with: a constructor argument, so a unit test runs
// them on a clock it moves by hand. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;  // Unix milliseconds
};

// The system clock shifted by a fixed offset (NodeOptions::clock_offset_ms; 0 in production).
class SystemClock final : public Clock {
 public:
  explicit SystemClock(int64_t offset_ms = 0) : offset_ms_(offset_ms) {}
  int64_t NowMs() const override;

 private:
  int64_t offset_ms_;
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_CLOCK_H_
