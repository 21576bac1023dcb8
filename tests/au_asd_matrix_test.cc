// au-asd against ASD Cyber Threat Report 2023-24, Figure 1 (cyber security incident
// categorisation matrix), transcribed here independently of policies/schemes/au-asd.textproto.
#include "absl/strings/str_cat.h"
#include "engine/assess.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace sevex {
namespace {

using testing::Attributes;
using testing::LevelOf;
using testing::Shipped;

const auto& kImpact = testing::kImpactKinds;
const auto& kVictim = testing::kVictimTiers;
// Figure 1, rows top to bottom, columns: members of the public; small organisation / sole trader;
// medium organisation / schools / local government; state government / academia / large
// organisation / supply chain; federal government / regulated critical infrastructure; national
// security / systems of national significance.
const char* const kFigure1[6][6] = {
    {"C6", "C5", "C4", "C3", "C1", "C1"},  // sustained disruption of essential systems and services
    {"C6", "C5", "C4", "C3", "C2", "C1"},  // extensive compromise
    {"C6", "C5", "C5", "C3", "C3", "C2"},  // isolated compromise
    {"C6", "C6", "C5", "C4", "C3", "C3"},  // coordinated low-level malicious attack
    {"C6", "C6", "C5", "C4", "C4", "C3"},  // low-level malicious attack
    {"C6", "C6", "C6", "C6", "C6", "C6"},  // unsuccessful low-level malicious attack
};

class AsdFigure1Test : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(AsdFigure1Test, CellMatchesTheReport) {
  const auto [row, column] = GetParam();
  const std::string attrs = absl::StrCat(R"({"impact_kind": ")", kImpact[row], R"(", "victim_tier": ")",
                                         kVictim[column], R"("})");
  EXPECT_EQ(LevelOf("au-asd", attrs), kFigure1[row][column]) << kImpact[row] << " x " << kVictim[column];
}

INSTANTIATE_TEST_SUITE_P(AllCells, AsdFigure1Test, ::testing::Combine(::testing::Range(0, 6), ::testing::Range(0, 6)),
                         [](const auto& info) {
                           return absl::StrCat(kImpact[std::get<0>(info.param)], "_x_", kVictim[std::get<1>(info.param)]);
                         });

// ASD Cyber Threat Report 2023-24: the single C2 of FY2023-24 was a known vulnerability exploited
// on a legacy, unpatched test server — extensive compromise of a federal / regulated CI network.
TEST(AsdExamplesTest, FY2023_24_C2LegacyTestServer) {
  auto attrs = Attributes(R"({"impact_kind": "extensive_compromise", "victim_tier": "national"})");
  ASSERT_TRUE(attrs.ok()) << attrs.status();
  const auto* au = Shipped().Find("au-asd");
  const v1::Assessment a = engine::AssessNotice(Shipped(), *au, *attrs, nullptr);
  EXPECT_EQ(a.level(), "C2");
  EXPECT_TRUE(a.exact());
  EXPECT_EQ(a.shared().band(), "S4");
  EXPECT_EQ(a.shared().low(), 70);
  EXPECT_EQ(a.shared().high(), 89);
  ASSERT_EQ(a.explanation_size(), 1);
  EXPECT_EQ(a.explanation(0).outcome(), v1::ExplanationStep::FIRED);
  EXPECT_EQ(a.explanation(0).read(0), "impact_kind=extensive_compromise");
  EXPECT_EQ(a.explanation(0).read(1), "victim_tier=national");
  EXPECT_EQ(a.policy_hash(), au->hash());
  EXPECT_EQ(a.policy_hash().substr(0, 7), "sha256:");
  EXPECT_EQ(a.policy_hash().size(), 7u + 64u);
}

TEST(AsdExamplesTest, AbsentVictimLeavesTheRowOpenAndTakesItsLeastSevereCell) {
  auto attrs = Attributes(R"({"impact_kind": "extensive_compromise"})");
  ASSERT_TRUE(attrs.ok());
  const auto* au = Shipped().Find("au-asd");
  const v1::Assessment a = engine::AssessNotice(Shipped(), *au, *attrs, nullptr);
  EXPECT_EQ(a.level(), "C6");
  EXPECT_FALSE(a.exact());
  EXPECT_EQ(std::vector<std::string>(a.possible_levels().begin(), a.possible_levels().end()),
            (std::vector<std::string>{"C1", "C2", "C3", "C4", "C5", "C6"}));
  ASSERT_EQ(a.missing_attributes_size(), 1);
  EXPECT_EQ(a.missing_attributes(0), "victim_tier");
  EXPECT_EQ(a.explanation(0).outcome(), v1::ExplanationStep::UNKNOWN);
}

TEST(AsdExamplesTest, AbsentImpactOnASmallVictimIsC5OrC6) {
  auto attrs = Attributes(R"({"victim_tier": "small"})");
  ASSERT_TRUE(attrs.ok());
  const auto v = Shipped().Find("au-asd")->Assess(*attrs);
  const auto* au = Shipped().Find("au-asd");
  EXPECT_EQ(au->level(v.most_severe).id(), "C5");
  EXPECT_EQ(au->level(v.least_severe).id(), "C6");
  EXPECT_EQ(au->level(v.level).id(), "C6");
}

// Anchors: reference/schemes.md §1 (C6 0-14, C5 15-34, C4 35-49, C3 50-69, C2 70-89, C1 90-100).
TEST(AsdExamplesTest, LevelsAnchorOnTheSharedAxis) {
  const auto* au = Shipped().Find("au-asd");
  const std::pair<int, int> expected[] = {{90, 100}, {70, 89}, {50, 69}, {35, 49}, {15, 34}, {0, 14}};
  const char* bands[][2] = {{"S5", "S5"}, {"S4", "S4"}, {"S3", "S3"}, {"S2", "S2"}, {"S1", "S2"}, {"S0", "S1"}};
  ASSERT_EQ(au->level_count(), 6);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(au->level(i).id(), absl::StrCat("C", i + 1));
    EXPECT_EQ(au->level(i).low(), expected[i].first);
    EXPECT_EQ(au->level(i).high(), expected[i].second);
    const auto p = Shipped().scale().Place(au->level(i));
    EXPECT_EQ(p.band(), bands[i][0]);
    EXPECT_EQ(p.band_high(), bands[i][1]);
  }
}

// SOCI Act (second-hand): critical incidents 12 h, other relevant incidents 72 h.
TEST(AsdExamplesTest, ReportingDeadlinesFromDetection) {
  const v1::Notice n = testing::NoticeFromJson(
      R"({"detected_at": "2026-11-20T08:00:00Z", "attributes": {"impact_kind": "sustained_disruption", "victim_tier": "strategic"}})");
  auto attrs = engine::BindAttributes(Shipped().registry(), n.attributes());
  ASSERT_TRUE(attrs.ok());
  const v1::Assessment a = engine::AssessNotice(Shipped(), *Shipped().Find("au-asd"), *attrs, &n);
  ASSERT_EQ(a.level(), "C1");
  ASSERT_EQ(a.reporting_size(), 1);
  EXPECT_EQ(a.reporting(0).within(), "12h");
  EXPECT_EQ(a.reporting(0).deadline().seconds(), n.detected_at().seconds() + 12 * 3600);
}

}  // namespace
}  // namespace sevex
