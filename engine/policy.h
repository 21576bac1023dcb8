// policy.h — a national severity scheme, compiled from its textproto policy.
//
// Loading checks everything `sevex policy check` promises (DESIGN.md §3): schema, unknown
// attributes, type errors, levels not reachable, gapped / overlapping / non-monotone anchors,
// rules shadowed by earlier rules, matrices with holes, score bands that leave scores
// without a level. Every error names file:line:col. A policy that loads is sound to use.
//
// Assessment evaluates the compiled decision over bound attributes without allocating
// (unless a `Trace` is asked for) and says which levels remain possible given what the notice
// does not say.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<CompiledPolicy> au,
//                    CompiledPolicy::Load(text, "schemes/au-asd.textproto", registry));
//   Verdict v = au->Assess(attrs);
//   std::string level = au->level(v.level).id();
#ifndef SEVEX_ENGINE_POLICY_H_
#define SEVEX_ENGINE_POLICY_H_

#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "engine/attribute_set.h"
#include "engine/expression.h"
#include "engine/registry.h"
#include "sevex/v1/assessment.pb.h"
#include "sevex/v1/policy.pb.h"

namespace sevex::engine {

// The outcome of one assessment. Level indices count from 0, the most severe level.
struct Verdict {
  int level = 0;         // the level reached; absent attributes count as not meeting a rule
  int most_severe = 0;   // the range of levels the notice could reach had it said more
  int least_severe = 0;
  bool has_point = false;
  double point = 0;      // the score, for schemes that compute one
  bool exact() const { return most_severe == least_severe; }
};

// Records the reasoning of one assessment, for explanations. Allocates; optional.
struct Trace {
  std::vector<v1::ExplanationStep> steps;
  absl::flat_hash_set<int> missing;  // registry slots the decision needed and did not have
};

struct DecisionNode;

// A reporting clock of one level, with its condition compiled.
struct CompiledClock {
  v1::ReportingClock proto;
  int within_minutes = 0;  // one of these two is set
  int within_months = 0;   // calendar months: same day of the month, or the month's last day
  std::optional<Expression> when;
};

// Immutable after Load(); Assess() may run concurrently from many threads.
class CompiledPolicy {
 public:
  // Parses, compiles and checks a scheme policy. All problems come back together in one
  // InvalidArgument, one "file:line:col: message" per line.
  static absl::StatusOr<std::unique_ptr<CompiledPolicy>> Load(absl::string_view text,
                                                             const std::string& file,
                                                             const AttributeRegistry& registry);
  ~CompiledPolicy();

  const std::string& id() const { return proto_.id(); }
  const std::string& file() const { return file_; }
  const v1::SchemePolicy& proto() const { return proto_; }
  // "sha256:<hex>" of the policy's deterministic binary serialisation: formatting and
  // comments do not change it; any change of meaning does.
  const std::string& hash() const { return hash_; }

  int level_count() const { return proto_.level_size(); }
  const v1::Level& level(int index) const { return proto_.level(index); }
  std::optional<int> FindLevel(absl::string_view id) const;
  const std::vector<CompiledClock>& clocks(int level) const { return clocks_[level]; }

  // Every registry slot the decision reads.
  const std::vector<int>& reads() const { return reads_; }

  Verdict Assess(const AttributeSet& attrs, Trace* trace = nullptr) const;

 private:
  CompiledPolicy() = default;
  std::string file_;
  v1::SchemePolicy proto_;
  std::string hash_;
  const AttributeRegistry* registry_ = nullptr;
  std::unique_ptr<DecisionNode> decision_;
  std::vector<std::vector<CompiledClock>> clocks_;
  std::vector<int> reads_;
};

// "3h", "72h", "15d", "30m", "2w" in minutes; nullopt when malformed (or in months).
std::optional<int> ParseClockMinutes(absl::string_view text);
// "1mo", "3mo" in calendar months; nullopt otherwise.
std::optional<int> ParseClockMonths(absl::string_view text);

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_POLICY_H_
