#include "node/clock.h"

#include <chrono>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sevex::node {
namespace {

constexpr int64_t kMaxOffsetMs = int64_t{100} * 366 * 24 * 3600 * 1000;

absl::StatusOr<int64_t> ReadOffset() {
  const char* text = std::getenv(kClockOffsetEnv);
  if (text == nullptr || *text == '\0') return 0;
  int64_t offset = 0;
  if (!absl::SimpleAtoi(text, &offset) || offset > kMaxOffsetMs || offset < -kMaxOffsetMs) {
    return absl::InvalidArgumentError(
        absl::StrCat(kClockOffsetEnv, " '", text, "': not a whole number of milliseconds within 100 years"));
  }
  return offset;
}

const absl::StatusOr<int64_t>& Offset() {
  static const absl::StatusOr<int64_t> offset = ReadOffset();
  return offset;
}

}  // namespace

int64_t WallClockMs() {
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return now + Offset().value_or(0);
}

absl::StatusOr<int64_t> ClockOffsetMs() { return Offset(); }

int64_t SystemClock::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
             .count() +
         offset_ms_;
}

}  // namespace sevex::node
