#include "engine/policy_diff.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/message_differencer.h"

namespace sevex::engine {
namespace {

// First-match rules decide by order: report when rules present in both versions stand in a
// different relative order. Viewpoints are matched by name.
void ReportReorderedRules(const v1::Decision& a, const v1::Decision& b, const std::string& path,
                          std::vector<std::string>& lines) {
  if (a.has_rules() && b.has_rules()) {
    absl::flat_hash_set<std::string> in_a, in_b;
    for (const auto& r : a.rules().rule()) in_a.insert(r.id());
    for (const auto& r : b.rules().rule()) in_b.insert(r.id());
    std::vector<std::string> order_a, order_b;
    for (const auto& r : a.rules().rule()) {
      if (in_b.contains(r.id())) order_a.push_back(r.id());
    }
    for (const auto& r : b.rules().rule()) {
      if (in_a.contains(r.id())) order_b.push_back(r.id());
    }
    if (order_a != order_b) {
      lines.push_back(absl::StrCat("reordered: ", path, ".rules (first match decides): ", absl::StrJoin(order_a, ", "),
                                   " -> ", absl::StrJoin(order_b, ", ")));
    }
  }
  if (a.has_maximum() && b.has_maximum()) {
    for (const auto& va : a.maximum().viewpoint()) {
      for (const auto& vb : b.maximum().viewpoint()) {
        if (va.name() == vb.name()) {
          ReportReorderedRules(va.decision(), vb.decision(), absl::StrCat(path, ".viewpoint[", va.name(), "]"), lines);
        }
      }
    }
  }
}

}  // namespace

std::vector<std::string> DescribeChanges(const v1::SchemePolicy& old_policy,
                                         const v1::SchemePolicy& new_policy) {
  using google::protobuf::util::MessageDifferencer;
  MessageDifferencer differ;
  auto key = [&differ](const google::protobuf::Descriptor* d, const char* field, const char* by) {
    differ.TreatAsMap(d->FindFieldByName(field), d->FindFieldByName(field)->message_type()->FindFieldByName(by));
  };
  key(v1::SchemePolicy::descriptor(), "level", "id");
  key(v1::SchemePolicy::descriptor(), "define", "name");
  key(v1::Rules::descriptor(), "rule", "id");
  key(v1::Matrix::descriptor(), "row", "value");
  key(v1::WeightedScore::descriptor(), "component", "attribute");
  key(v1::WeightedScore::descriptor(), "band", "level");
  key(v1::Maximum::descriptor(), "viewpoint", "name");
  differ.TreatAsMap(v1::Level::descriptor()->FindFieldByName("clock"),
                    v1::ReportingClock::descriptor()->FindFieldByName("report"));
  // An inserted rule shifts every later index; only a change of relative order matters.
  differ.set_report_moves(false);
  std::string report;
  differ.ReportDifferencesToString(&report);
  differ.Compare(old_policy, new_policy);
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(report, '\n', absl::SkipEmpty())) {
    lines.emplace_back(absl::StripTrailingAsciiWhitespace(line));
  }
  ReportReorderedRules(old_policy.decision(), new_policy.decision(), "decision", lines);
  return lines;
}

CorpusDiff::CorpusDiff(const CompiledPolicy& old_policy, const CompiledPolicy& new_policy)
    : old_(old_policy), new_(new_policy) {
  counts_.assign(old_.level_count(), std::vector<int64_t>(new_.level_count(), 0));
}

void CorpusDiff::Add(const std::string& notice_id, const AttributeSet& attrs) {
  const int a = old_.Assess(attrs).level;
  const int b = new_.Assess(attrs).level;
  ++total_;
  ++counts_[a][b];
  const v1::Level& from = old_.level(a);
  const v1::Level& to = new_.level(b);
  if (from.id() == to.id()) return;
  // Direction on the shared axis, by anchor midpoints: level orders may differ between versions.
  const int mid_from = from.low() + from.high();
  const int mid_to = to.low() + to.high();
  const Direction d = mid_to > mid_from ? Direction::kMoreSevere
                      : mid_to < mid_from ? Direction::kLessSevere
                                          : Direction::kSameSeverity;
  ++by_direction_[static_cast<int>(d)];
  if (listed_.size() < kMaxListed) listed_.push_back({notice_id, from.id(), to.id(), d});
}

}  // namespace sevex::engine
