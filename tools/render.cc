#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/time_util.h"
#include "tools/commands.h"

namespace sevex::cli {
namespace {

const char* OutcomeWord(v1::ExplanationStep::Outcome o) {
  switch (o) {
    case v1::ExplanationStep::FIRED: return "fired";
    case v1::ExplanationStep::NOT_MET: return "not met";
    case v1::ExplanationStep::UNKNOWN: return "unknown";
    case v1::ExplanationStep::CONTRIBUTED: return "counted";
    default: return "?";
  }
}

std::string Placement(const v1::SharedPlacement& p) {
  std::string out = absl::StrCat(p.band(), p.band_high() != p.band() ? absl::StrCat("..", p.band_high()) : "",
                                 " (", p.low(), "..", p.high(), ")");
  if (p.has_point()) absl::StrAppend(&out, absl::StrFormat(", score %.1f", p.point()));
  return out;
}

}  // namespace

std::string AssessmentText(const v1::Assessment& a) {
  std::string out = absl::StrCat(a.scheme(), " ", a.level(), " — ", a.level_name(), "\n");
  absl::StrAppend(&out, "  shared:   ", Placement(a.shared()), "\n");
  absl::StrAppend(&out, "  exact:    ", a.exact() ? "yes" : "no", a.exact() ? "" : absl::StrCat(" — could be ", absl::StrJoin(a.possible_levels(), ", ")), "\n");
  if (!a.missing_attributes().empty()) {
    absl::StrAppend(&out, "  absent:   ", absl::StrJoin(a.missing_attributes(), ", "), "\n");
  }
  absl::StrAppend(&out, "  because:\n");
  int not_met = 0;
  for (const auto& s : a.explanation()) {
    if (s.outcome() == v1::ExplanationStep::NOT_MET) {
      ++not_met;
      continue;
    }
    absl::StrAppend(&out, "    ", OutcomeWord(s.outcome()), "  ", s.step(), s.level().empty() ? "" : absl::StrCat(" -> ", s.level()));
    if (!s.detail().empty()) absl::StrAppend(&out, ": ", s.detail());
    if (!s.read().empty()) absl::StrAppend(&out, "  [", absl::StrJoin(s.read(), ", "), "]");
    absl::StrAppend(&out, "\n");
  }
  if (not_met > 0) {
    absl::StrAppend(&out, "    (", not_met, not_met == 1 ? " step" : " steps", " not met; --format json lists every step)\n");
  }
  if (!a.reporting().empty()) {
    absl::StrAppend(&out, "  reports owed:\n");
    for (const auto& r : a.reporting()) {
      absl::StrAppend(&out, "    ", r.report(), " within ", r.within(), " of ", r.relative_to());
      if (r.has_deadline()) absl::StrAppend(&out, " — due ", google::protobuf::util::TimeUtil::ToString(r.deadline()));
      if (!r.note().empty()) absl::StrAppend(&out, " (", r.note(), ")");
      absl::StrAppend(&out, "\n");
    }
  }
  absl::StrAppend(&out, "  policy:   ", a.scheme(), " ", a.policy_version(), " ", a.policy_hash(), "\n");
  return out;
}

std::string TranslationText(const v1::Translation& t) {
  std::string out;
  if (!t.from_scheme().empty()) absl::StrAppend(&out, t.from_scheme(), " ", t.from_level(), " -> ");
  absl::StrAppend(&out, t.scheme(), " ", t.level(), "  [",
                  t.method() == v1::Translation::reassessed ? "reassessed" : "interval", "]\n");
  absl::StrAppend(&out, "  possible: ", absl::StrJoin(t.levels(), ", "), "\n");
  absl::StrAppend(&out, "  shared:   ", Placement(t.shared()), "\n");
  absl::StrAppend(&out, "  why:      ", t.reason(), "\n");
  if (t.has_reassessment()) {
    absl::StrAppend(&out, "  re-assessment:\n");
    for (const auto& line : absl::StrSplit(AssessmentText(t.reassessment()), '\n')) {
      if (!line.empty()) absl::StrAppend(&out, "    ", line, "\n");
    }
  }
  return out;
}

}  // namespace sevex::cli
