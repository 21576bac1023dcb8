// shared_scale.h — the shared 0–100 severity axis and its bands (policies/shared-scale.textproto).
//
//   ASSIGN_OR_RETURN(SharedScale scale, SharedScale::Parse(text, "shared-scale.textproto"));
//   v1::SharedPlacement p = scale.Place(policy.level(v.level), &v);
#ifndef SEVEX_ENGINE_SHARED_SCALE_H_
#define SEVEX_ENGINE_SHARED_SCALE_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "engine/policy.h"
#include "sevex/v1/assessment.pb.h"
#include "sevex/v1/policy.pb.h"
#include "sevex/v1/registry.pb.h"

namespace sevex::engine {

// Immutable; thread-safe.
class SharedScale {
 public:
  // Bands must be listed from the least severe up and tile 0..100 without gap or overlap.
  static absl::StatusOr<SharedScale> Parse(absl::string_view text, const std::string& file);

  const v1::SharedScale& proto() const { return proto_; }
  // The band holding `score` (clamped to 0..100).
  const v1::SharedBand& BandAt(double score) const;
  // A level's place on the axis: its interval, the bands at both ends, and the point score
  // when `verdict` carries one.
  v1::SharedPlacement Place(const v1::Level& level, const Verdict* verdict = nullptr) const;

 private:
  v1::SharedScale proto_;
};

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_SHARED_SCALE_H_
