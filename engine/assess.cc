#include "engine/assess.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace sevex::engine {

v1::Assessment AssessNotice(const Catalog& catalog, const CompiledPolicy& policy,
                            const AttributeSet& attrs, const v1::Notice* notice) {
  Trace trace;
  const Verdict verdict = policy.Assess(attrs, &trace);
  return RenderAssessment(catalog, policy, attrs, verdict, trace, notice);
}

v1::Assessment RenderAssessment(const Catalog& catalog, const CompiledPolicy& policy,
                                const AttributeSet& attrs, const Verdict& verdict, const Trace& trace,
                                const v1::Notice* notice) {
  using google::protobuf::util::TimeUtil;
  v1::Assessment a;
  const v1::Level& level = policy.level(verdict.level);
  a.set_scheme(policy.id());
  a.set_level(level.id());
  a.set_level_name(level.name());
  *a.mutable_shared() = catalog.scale().Place(level, &verdict);
  for (int i = verdict.most_severe; i <= verdict.least_severe; ++i) {
    a.add_possible_levels(policy.level(i).id());
  }
  a.set_exact(verdict.exact());
  for (const auto& step : trace.steps) *a.add_explanation() = step;
  std::vector<int> missing(trace.missing.begin(), trace.missing.end());
  std::sort(missing.begin(), missing.end());
  for (int slot : missing) a.add_missing_attributes(catalog.registry().name(slot));
  a.set_policy_hash(policy.hash());
  a.set_policy_version(policy.proto().version());

  // Reports owed at the reached level, with deadlines chained from detection.
  const bool timed = notice != nullptr && notice->has_detected_at();
  const auto& clocks = policy.clocks(verdict.level);
  std::vector<google::protobuf::Timestamp> deadlines(clocks.size());
  std::vector<bool> known(clocks.size(), false);
  std::vector<bool> applies(clocks.size(), false);
  for (size_t i = 0; i < clocks.size(); ++i) {
    v1::ReportingObligation o;
    const auto& c = clocks[i];
    const Truth t = c.when ? c.when->Test(attrs) : Truth::kTrue;
    if (t == Truth::kFalse) continue;
    applies[i] = true;
    o.set_report(c.proto.report());
    o.set_within(c.proto.within());
    o.set_relative_to(c.proto.relative_to().empty() ? "detection" : c.proto.relative_to());
    std::string note = c.proto.note();
    if (t == Truth::kUnknown) {
      note = absl::StrCat(note.empty() ? "" : absl::StrCat(note, "; "), "applies if ", c.proto.when(),
                          " (undetermined: the notice lacks an attribute it reads)");
    }
    o.set_note(note);
    *a.add_reporting() = std::move(o);
  }
  if (timed) {
    // Resolve chains (a report due N after another); at most |clocks| passes.
    for (size_t pass = 0; pass < clocks.size(); ++pass) {
      for (size_t i = 0; i < clocks.size(); ++i) {
        if (!applies[i] || known[i]) continue;
        const auto& rel = clocks[i].proto.relative_to();
        const auto within = TimeUtil::MinutesToDuration(clocks[i].within_minutes);
        if (rel.empty() || rel == "detection") {
          deadlines[i] = notice->detected_at() + within;
          known[i] = true;
          continue;
        }
        for (size_t j = 0; j < clocks.size(); ++j) {
          if (known[j] && clocks[j].proto.report() == rel) {
            deadlines[i] = deadlines[j] + within;
            known[i] = true;
            break;
          }
        }
      }
    }
    int out = 0;
    for (size_t i = 0; i < clocks.size(); ++i) {
      if (!applies[i]) continue;
      if (known[i]) *a.mutable_reporting(out)->mutable_deadline() = deadlines[i];
      ++out;
    }
  }
  return a;
}

}  // namespace sevex::engine
