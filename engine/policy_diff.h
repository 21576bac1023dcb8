// policy_diff.h — what changes between two versions of a scheme policy, and which notices
// change level because of it (`sevex policy diff OLD NEW --corpus FILE`).
//
//   std::vector<std::string> changes = DescribeChanges(old_policy.proto(), new_policy.proto());
//   CorpusDiff diff(old_policy, new_policy);
//   for (...) diff.Add(notice_id, attrs);      // allocation-free unless the level changes
//   diff.transitions();  diff.changed();
#ifndef SEVEX_ENGINE_POLICY_DIFF_H_
#define SEVEX_ENGINE_POLICY_DIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/attribute_set.h"
#include "engine/policy.h"
#include "sevex/v1/policy.pb.h"

namespace sevex::engine {

// One line per difference, e.g. `modified: level[id: "C4"].low: 35 -> 40`. Levels, rules,
// matrix rows, score components and bands, definitions and viewpoints are matched by their
// key (id, value, attribute, level, name), not by position, so an inserted rule shows as one
// addition. Empty when the two are the same.
std::vector<std::string> DescribeChanges(const v1::SchemePolicy& old_policy,
                                         const v1::SchemePolicy& new_policy);

// Counts, over a corpus, how each notice's level moves from the old policy to the new one.
// A notice changes level when the two level ids differ.
class CorpusDiff {
 public:
  static constexpr size_t kMaxListed = 1000;  // changed notices kept for the report

  CorpusDiff(const CompiledPolicy& old_policy, const CompiledPolicy& new_policy);

  void Add(const std::string& notice_id, const AttributeSet& attrs);

  // Compared by the midpoints of the two levels' anchors on the shared axis.
  enum class Direction { kMoreSevere = 0, kLessSevere = 1, kSameSeverity = 2 };
  struct Change {
    std::string notice_id;
    std::string from;
    std::string to;
    Direction direction;
  };
  int64_t total() const { return total_; }
  int64_t changed() const { return by_direction_[0] + by_direction_[1] + by_direction_[2]; }
  int64_t count(Direction d) const { return by_direction_[static_cast<int>(d)]; }
  // counts[old level index][new level index]
  const std::vector<std::vector<int64_t>>& transitions() const { return counts_; }
  // The first kMaxListed changed notices.
  const std::vector<Change>& listed() const { return listed_; }

 private:
  const CompiledPolicy& old_;
  const CompiledPolicy& new_;
  std::vector<std::vector<int64_t>> counts_;
  int64_t total_ = 0;
  int64_t by_direction_[3] = {0, 0, 0};
  std::vector<Change> listed_;
};

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_POLICY_DIFF_H_
