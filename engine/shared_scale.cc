#include "engine/shared_scale.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "engine/textproto.h"

namespace sevex::engine {

absl::StatusOr<SharedScale> SharedScale::Parse(absl::string_view text, const std::string& file) {
  SharedScale scale;
  ASSIGN_OR_RETURN(TextProtoFile parsed, TextProtoFile::Parse(text, file, &scale.proto_));
  std::vector<std::string> errors;
  const auto& bands = scale.proto_.band();
  if (bands.empty()) errors.push_back(absl::StrCat(file, ": the shared scale has no `band`"));
  int expected_low = 0;
  for (int i = 0; i < bands.size(); ++i) {
    const auto& b = bands[i];
    const std::string at = parsed.Locate(parsed.root(), scale.proto_, "band", i).ToString();
    if (b.id().empty()) errors.push_back(absl::StrCat(at, ": a band needs an `id`"));
    if (b.low() != expected_low) {
      errors.push_back(absl::StrCat(at, ": band '", b.id(), "' starts at ", b.low(), "; expected ",
                                    expected_low, " (bands go from the least severe up, without gap or overlap)"));
    }
    if (b.high() < b.low()) errors.push_back(absl::StrCat(at, ": band '", b.id(), "' ends before it starts"));
    expected_low = b.high() + 1;
  }
  if (!bands.empty() && bands[bands.size() - 1].high() != 100) {
    errors.push_back(absl::StrCat(file, ": the last band must end at 100"));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return scale;
}

const v1::SharedBand& SharedScale::BandAt(double score) const {
  const double s = std::clamp(score, 0.0, 100.0);
  for (const auto& b : proto_.band()) {
    if (s < b.high() + 1) return b;
  }
  return proto_.band(proto_.band_size() - 1);
}

v1::SharedPlacement SharedScale::Place(const v1::Level& level, const Verdict* verdict) const {
  v1::SharedPlacement p;
  p.set_low(level.low());
  p.set_high(level.high());
  if (verdict != nullptr && verdict->has_point) {
    p.set_point(verdict->point);
    p.set_band(BandAt(verdict->point).id());
    p.set_band_high(p.band());
  } else {
    p.set_band(BandAt(level.low()).id());
    p.set_band_high(BandAt(level.high()).id());
  }
  return p;
}

}  // namespace sevex::engine
