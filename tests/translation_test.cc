// Translation between schemes (engine/translate): interval mapping by overlap with ties to the
// more severe level, and exact re-assessment when the target's rules can decide; AU <-> EU both
// ways, with the method always reported.
#include "engine/translate.h"

#include "gtest/gtest.h"
#include "test_support.h"

namespace sevex::engine {
namespace {

using sevex::testing::Attributes;
using sevex::testing::NoticeFromJson;
using sevex::testing::Shipped;

std::vector<std::string> Levels(const v1::Translation& t) { return {t.levels().begin(), t.levels().end()}; }

TEST(TranslationTest, AuLevelsIntoEuByInterval) {
  Translator tr(Shipped());
  // C3 50-69 lies inside significant (50-100); C4 35-49 inside not_significant (0-49).
  const struct { const char* au; const char* eu; } cases[] = {
      {"C1", "significant"}, {"C2", "significant"}, {"C3", "significant"},
      {"C4", "not_significant"}, {"C5", "not_significant"}, {"C6", "not_significant"}};
  for (const auto& c : cases) {
    auto t = tr.TranslateLevel("au-asd", c.au, "eu-nis2");
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(t->level(), c.eu) << c.au;
    EXPECT_EQ(t->method(), v1::Translation::interval);
    EXPECT_EQ(Levels(*t), std::vector<std::string>{c.eu});
    EXPECT_EQ(t->from_scheme(), "au-asd");
    EXPECT_EQ(t->from_level(), c.au);
  }
}

TEST(TranslationTest, EuSignificantIntoAuTiesGoToTheMoreSevere) {
  Translator tr(Shipped());
  // significant 50-100 overlaps C3 (50-69: 20 points), C2 (70-89: 20) and C1 (90-100: 11):
  // C3 and C2 tie, and the tie goes to the more severe C2.
  auto t = tr.TranslateLevel("eu-nis2", "significant", "au-asd");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->level(), "C2");
  EXPECT_EQ(Levels(*t), (std::vector<std::string>{"C1", "C2", "C3"}));
  EXPECT_EQ(t->method(), v1::Translation::interval);
  // not_significant 0-49 overlaps C4 (15 points), C5 (20) and C6 (15): C5.
  t = tr.TranslateLevel("eu-nis2", "not_significant", "au-asd");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->level(), "C5");
  EXPECT_EQ(Levels(*t), (std::vector<std::string>{"C4", "C5", "C6"}));
}

TEST(TranslationTest, NoticeIsReassessedWhenTheTargetCanDecide) {
  Translator tr(Shipped());
  // An EU DNS outage that also says who was hit and how: AU's matrix decides exactly.
  const v1::Notice n = NoticeFromJson(R"({"attributes": {"entity_type": "dns", "unavailable_minutes": 40,
      "impact_kind": "sustained_disruption", "victim_tier": "national"}})");
  auto attrs = Attributes(R"({"entity_type": "dns", "unavailable_minutes": 40, "impact_kind": "sustained_disruption", "victim_tier": "national"})");
  ASSERT_TRUE(attrs.ok());
  auto t = tr.TranslateNotice(n, *attrs, "eu-nis2", "au-asd");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->method(), v1::Translation::reassessed);
  EXPECT_EQ(t->level(), "C1");
  EXPECT_EQ(Levels(*t), std::vector<std::string>{"C1"});
  EXPECT_EQ(t->reassessment().level(), "C1");
  EXPECT_TRUE(t->reassessment().exact());
}

TEST(TranslationTest, NoticeFallsBackToTheIntervalWhenTheTargetCannotDecide) {
  Translator tr(Shipped());
  // The same outage without victim or impact: AU cannot decide, so EU's level is mapped.
  const v1::Notice n = NoticeFromJson(R"({"attributes": {"entity_type": "dns", "unavailable_minutes": 40}})");
  auto attrs = Attributes(R"({"entity_type": "dns", "unavailable_minutes": 40})");
  ASSERT_TRUE(attrs.ok());
  auto t = tr.TranslateNotice(n, *attrs, "eu-nis2", "au-asd");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->method(), v1::Translation::interval);
  EXPECT_EQ(t->from_level(), "significant");
  EXPECT_EQ(t->level(), "C2");
  EXPECT_FALSE(t->has_reassessment());
  EXPECT_FALSE(t->reason().empty());
}

TEST(TranslationTest, AuNoticeIntoEuBothWays) {
  Translator tr(Shipped());
  // AU C2 with a loss above EUR 500 000: EU's Art. 3(1)(a) decides exactly.
  auto decided = Attributes(R"({"impact_kind": "extensive_compromise", "victim_tier": "national", "direct_loss_eur": 750000})");
  ASSERT_TRUE(decided.ok());
  auto t = tr.TranslateNotice(v1::Notice(), *decided, "au-asd", "eu-nis2");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->method(), v1::Translation::reassessed);
  EXPECT_EQ(t->level(), "significant");
  // Without EU attributes, AU C2 (70-89) maps by interval into significant.
  auto open = Attributes(R"({"impact_kind": "extensive_compromise", "victim_tier": "national"})");
  ASSERT_TRUE(open.ok());
  t = tr.TranslateNotice(v1::Notice(), *open, "au-asd", "eu-nis2");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->method(), v1::Translation::interval);
  EXPECT_EQ(t->from_level(), "C2");
  EXPECT_EQ(t->level(), "significant");
}

TEST(TranslationTest, OriginAssessmentIsTheSourceLevelWhenNoSchemeIsGiven) {
  Translator tr(Shipped());
  const v1::Notice n = NoticeFromJson(R"({"origin_assessment": {"scheme": "au-asd", "level": "C4"}, "attributes": {}})");
  AttributeSet none(Shipped().registry().size());
  auto t = tr.TranslateNotice(n, none, "", "eu-nis2");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->from_level(), "C4");
  EXPECT_EQ(t->level(), "not_significant");
}

TEST(TranslationTest, NoSourceAndNoExactReassessmentIsAnError) {
  Translator tr(Shipped());
  AttributeSet none(Shipped().registry().size());
  auto t = tr.TranslateNotice(v1::Notice(), none, "", "au-asd");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TranslationTest, UnknownSchemeAndLevelAreNamed) {
  Translator tr(Shipped());
  auto t = tr.TranslateLevel("au-asd", "C9", "eu-nis2");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("no level 'C9' (levels: C1, C2, C3, C4, C5, C6)"), absl::string_view::npos);
  t = tr.TranslateLevel("au-asd", "C1", "xx-yy");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("unknown scheme 'xx-yy'"), absl::string_view::npos);
}

TEST(MapIntervalTest, LargestOverlapAndTies) {
  auto p = sevex::testing::LoadPolicy(R"(
    id: "t" name: "t" version: "1" source { title: "t" }
    level { id: "A" name: "A" low: 60 high: 100 }
    level { id: "B" name: "B" low: 40 high: 59 }
    level { id: "C" name: "C" low: 0 high: 39 }
    decision { rules { rule { id: "a" when: "deaths >= 2" level: "A" } rule { id: "b" when: "deaths >= 1" level: "B" } otherwise: "C" } })");
  ASSERT_TRUE(p.ok()) << p.status();
  auto m = MapInterval(50, 69, **p);  // B: 10 points, A: 10 points -> tie -> A
  EXPECT_EQ((*p)->level(m.level).id(), "A");
  EXPECT_EQ(m.most_severe, 0);
  EXPECT_EQ(m.least_severe, 1);
  m = MapInterval(30, 49, **p);  // C: 10, B: 10 -> B
  EXPECT_EQ((*p)->level(m.level).id(), "B");
  m = MapInterval(35, 58, **p);  // C: 5, B: 19 -> B
  EXPECT_EQ((*p)->level(m.level).id(), "B");
  m = MapInterval(0, 100, **p);  // A: 41, B: 20, C: 40 -> A
  EXPECT_EQ((*p)->level(m.level).id(), "A");
  EXPECT_EQ(m.least_severe, 2);
  m = MapInterval(70, 70, **p);  // a point
  EXPECT_EQ((*p)->level(m.level).id(), "A");
  EXPECT_EQ(m.most_severe, m.least_severe);
}

}  // namespace
}  // namespace sevex::engine
