#include "engine/assess.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"

namespace sevex::engine {
namespace {

// `t` plus `span`; months as in Regulation (EEC, Euratom) No 1182/71 Art. 3(2)(c): the same
// day of the month, or that month's last day when it has no such day. Nullopt when `t` is not a
// valid Timestamp or the deadline falls after 9999-12-31, which a Timestamp cannot hold
// (protobuf's Timestamp arithmetic aborts the process there).
std::optional<google::protobuf::Timestamp> AddSpan(const google::protobuf::Timestamp& t, const CompiledClock& clock) {
  using google::protobuf::util::TimeUtil;
  if (t.seconds() < TimeUtil::kTimestampMinSeconds || t.seconds() > TimeUtil::kTimestampMaxSeconds ||
      t.nanos() < 0 || t.nanos() > 999999999) {
    return std::nullopt;
  }
  const absl::Time at = absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
  absl::Time result;
  if (clock.within_months == 0) {
    result = at + absl::Minutes(clock.within_minutes);
  } else {
    const absl::CivilSecond cs = absl::ToCivilSecond(at, absl::UTCTimeZone());
    const absl::CivilMonth target = absl::CivilMonth(cs) + clock.within_months;
    const int days_in_month = static_cast<int>(absl::CivilDay(target + 1) - absl::CivilDay(target));
    const absl::CivilSecond out(target.year(), target.month(), std::min<int>(cs.day(), days_in_month), cs.hour(),
                                cs.minute(), cs.second());
    result = absl::FromCivil(out, absl::UTCTimeZone()) + absl::Nanoseconds(t.nanos());
  }
  const int64_t seconds = absl::ToUnixSeconds(result);
  if (seconds > TimeUtil::kTimestampMaxSeconds) return std::nullopt;
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(t.nanos());
  return ts;
}

}  // namespace

v1::Assessment AssessNotice(const Catalog& catalog, const CompiledPolicy& policy,
                            const AttributeSet& attrs, const v1::Notice* notice) {
  Trace trace;
  const Verdict verdict = policy.Assess(attrs, &trace);
  return RenderAssessment(catalog, policy, attrs, verdict, std::move(trace), notice);
}

v1::Assessment RenderAssessment(const Catalog& catalog, const CompiledPolicy& policy,
                                const AttributeSet& attrs, const Verdict& verdict, Trace trace,
                                const v1::Notice* notice) {
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
  a.mutable_explanation()->Reserve(static_cast<int>(trace.steps.size()));
  for (auto& step : trace.steps) *a.add_explanation() = std::move(step);
  // Absent attributes matter only when they leave the level open.
  if (!verdict.exact()) {
    std::vector<int> missing(trace.missing.begin(), trace.missing.end());
    std::sort(missing.begin(), missing.end());
    for (int slot : missing) a.add_missing_attributes(catalog.registry().name(slot));
  }
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
        if (rel.empty() || rel == "detection") {
          if (auto due = AddSpan(notice->detected_at(), clocks[i])) {
            deadlines[i] = *std::move(due);
            known[i] = true;
          }
          continue;
        }
        for (size_t j = 0; j < clocks.size(); ++j) {
          if (known[j] && clocks[j].proto.report() == rel) {
            if (auto due = AddSpan(deadlines[j], clocks[i])) {
              deadlines[i] = *std::move(due);
              known[i] = true;
            }
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
