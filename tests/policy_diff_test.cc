// engine/policy_diff: structural changes between two versions of a policy, matched by key,
// and level transitions over a corpus.
#include "engine/policy_diff.h"

#include "absl/strings/str_replace.h"
#include "engine/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace sevex::engine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using sevex::testing::Shipped;
using sevex::testing::ShippedText;

std::unique_ptr<CompiledPolicy> Load(const std::string& text) {
  auto p = sevex::testing::LoadPolicy(text);
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(p).value();
}

TEST(PolicyDiffTest, IdenticalPoliciesHaveNoChanges) {
  const auto* au = Shipped().Find("au-asd");
  EXPECT_THAT(DescribeChanges(au->proto(), au->proto()), IsEmpty());
}

TEST(PolicyDiffTest, ACellChangeIsOneLine) {
  const std::string old_text = ShippedText("schemes/au-asd.textproto");
  const std::string new_text = absl::StrReplaceAll(
      old_text, {{R"(row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C3", "C2", "C1"] })",
                  R"(row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C2", "C2", "C1"] })"}});
  ASSERT_NE(old_text, new_text);
  const auto changes = DescribeChanges(Load(old_text)->proto(), Load(new_text)->proto());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_THAT(changes[0], HasSubstr("cell[3]"));
  EXPECT_THAT(changes[0], HasSubstr("\"C3\" -> \"C2\""));
}

TEST(PolicyDiffTest, AnInsertedRuleIsOneAdditionNotAShiftOfEveryRule) {
  const std::string old_text = ShippedText("schemes/eu-nis2.textproto");
  const std::string new_text = absl::StrReplaceAll(
      old_text, {{R"(    rule { id: "art3_1b_trade_secrets")",
                  "    rule { id: \"extra\" when: \"states_affected >= 3\" level: \"significant\" }\n"
                  R"(    rule { id: "art3_1b_trade_secrets")"}});
  const auto changes = DescribeChanges(Load(old_text)->proto(), Load(new_text)->proto());
  ASSERT_EQ(changes.size(), 1u) << ::testing::PrintToString(changes);
  EXPECT_THAT(changes[0], HasSubstr("added"));
  EXPECT_THAT(changes[0], HasSubstr("extra"));
}

TEST(PolicyDiffTest, ReorderedRulesAreReported) {
  const std::string old_text = ShippedText("schemes/cl-ds295.textproto");
  const std::string a = R"(    rule { id: "a_essential_service")";
  const size_t at_a = old_text.find(a);
  const size_t at_b = old_text.find(R"(    rule { id: "b_physical_integrity")");
  const size_t at_c = old_text.find(R"(    rule { id: "c_assets")");
  ASSERT_NE(at_a, std::string::npos);
  // Swap rules a and b.
  const std::string rule_a = old_text.substr(at_a, at_b - at_a);
  const std::string rule_b = old_text.substr(at_b, at_c - at_b);
  const std::string new_text = old_text.substr(0, at_a) + rule_b + rule_a + old_text.substr(at_c);
  const auto changes = DescribeChanges(Load(old_text)->proto(), Load(new_text)->proto());
  ASSERT_EQ(changes.size(), 1u) << ::testing::PrintToString(changes);
  EXPECT_THAT(changes[0], HasSubstr("reordered: decision.rules"));
  EXPECT_THAT(changes[0], HasSubstr("a_essential_service, b_physical_integrity"));
  EXPECT_THAT(changes[0], HasSubstr("-> b_physical_integrity, a_essential_service"));
}

TEST(PolicyDiffTest, AnAnchorChangeNamesTheLevel) {
  const std::string old_text = ShippedText("schemes/au-asd.textproto");
  std::string new_text = absl::StrReplaceAll(old_text, {{"id: \"C4\" name: \"Category 4\" colour: \"yellow\" low: 35",
                                                         "id: \"C4\" name: \"Category 4\" colour: \"yellow\" low: 36"},
                                                        {"id: \"C5\" name: \"Category 5\" colour: \"green\" low: 15 high: 34",
                                                         "id: \"C5\" name: \"Category 5\" colour: \"green\" low: 15 high: 35"}});
  ASSERT_NE(old_text, new_text);
  const auto changes = DescribeChanges(Load(old_text)->proto(), Load(new_text)->proto());
  ASSERT_EQ(changes.size(), 2u) << ::testing::PrintToString(changes);
  EXPECT_THAT(changes[0] + changes[1], HasSubstr("35 -> 36"));
  EXPECT_THAT(changes[0] + changes[1], HasSubstr("34 -> 35"));
}

TEST(PolicyDiffTest, CorpusCountsTransitionsAndDirections) {
  const std::string old_text = ShippedText("schemes/au-asd.textproto");
  // C3 -> C2 for extensive compromise of large victims; C2 -> C3 for isolated compromise of strategic ones.
  const std::string new_text = absl::StrReplaceAll(
      old_text, {{R"(row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C3", "C2", "C1"] })",
                  R"(row { value: "extensive_compromise"         cell: ["C6", "C5", "C4", "C2", "C2", "C1"] })"},
                 {R"(row { value: "isolated_compromise"          cell: ["C6", "C5", "C5", "C3", "C3", "C2"] })",
                  R"(row { value: "isolated_compromise"          cell: ["C6", "C5", "C5", "C3", "C3", "C3"] })"}});
  auto old_policy = Load(old_text);
  auto new_policy = Load(new_text);
  CorpusDiff diff(*old_policy, *new_policy);
  const auto& registry = Shipped().registry();
  const int impact = *registry.Find("impact_kind");
  const int victim = *registry.Find("victim_tier");
  int n = 0;
  for (int i = 0; i < 6; ++i) {
    for (int v = 0; v < 6; ++v) {
      AttributeSet attrs(registry.size());
      attrs.Set(impact, i);
      attrs.Set(victim, v);
      diff.Add("n" + std::to_string(n++), attrs);
    }
  }
  EXPECT_EQ(diff.total(), 36);
  EXPECT_EQ(diff.changed(), 2);
  EXPECT_EQ(diff.count(CorpusDiff::Direction::kMoreSevere), 1);
  EXPECT_EQ(diff.count(CorpusDiff::Direction::kLessSevere), 1);
  const int c2 = *new_policy->FindLevel("C2"), c3 = *new_policy->FindLevel("C3");
  EXPECT_EQ(diff.transitions()[c3][c2], 1);
  EXPECT_EQ(diff.transitions()[c2][c3], 1);
  ASSERT_EQ(diff.listed().size(), 2u);
  // extensive_compromise (i = 4) x large (v = 3) is notice 4 * 6 + 3.
  EXPECT_EQ(diff.listed()[0].notice_id, "n23");
  EXPECT_EQ(diff.listed()[0].from, "C2");
  EXPECT_EQ(diff.listed()[0].to, "C3");
  EXPECT_EQ(diff.listed()[1].notice_id, "n27");
  EXPECT_EQ(diff.listed()[1].direction, CorpusDiff::Direction::kMoreSevere);
}

}  // namespace
}  // namespace sevex::engine
