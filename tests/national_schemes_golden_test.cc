// Golden tests for the national schemes beyond au-asd and eu-nis2, each drawn from the source
// its policy names (../shared/reference/schemes.md summarises them). Where a scheme publishes no
// rule, the test pins sevex's documented reading (docs/schemes.md) and says so.
#include <map>

#include "absl/strings/str_cat.h"
#include "engine/assess.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace sevex {
namespace {

using google::protobuf::util::TimeUtil;
using testing::Attributes;
using testing::LevelOf;
using testing::Shipped;

const auto& kImpact = testing::kImpactKinds;
const auto& kVictim = testing::kVictimTiers;

std::string Cell(int impact, int victim, absl::string_view extra = "") {
  return absl::StrCat(R"({"impact_kind": ")", kImpact[impact], R"(", "victim_tier": ")", kVictim[victim], "\"",
                      extra.empty() ? "" : ", ", extra, "}");
}

// --- United Kingdom: NCSC categorisation (NCSC, 12 Apr 2018; blog 2023), read as a grid. ------

TEST(UkNcscGoldenTest, EveryGridCellFollowsTheDefinitions) {
  // Rows: serious impact (sustained disruption, extensive compromise), considerable risk
  // (isolated compromise, coordinated attack), preliminary indications (low-level attack),
  // unsuccessful attempt. Columns: individual … national security.
  const char* const grid[6][6] = {
      {"CAT6", "CAT5", "CAT4", "CAT3", "CAT1", "CAT1"},  // Cat 1: sustained disruption of essential services
      {"CAT6", "CAT5", "CAT4", "CAT3", "CAT2", "CAT1"},  // Cat 2: serious impact on central government / essential services
      {"CAT6", "CAT6", "CAT5", "CAT4", "CAT3", "CAT2"},  // Cat 3: considerable risk to central government
      {"CAT6", "CAT6", "CAT5", "CAT4", "CAT3", "CAT2"},  // Cat 4: considerable risk to a large organisation
      {"CAT6", "CAT6", "CAT6", "CAT5", "CAT5", "CAT4"},  // Cat 5: preliminary indications against a large org
      {"CAT6", "CAT6", "CAT6", "CAT6", "CAT6", "CAT6"},  // unsuccessful: localised
  };
  for (int i = 0; i < 6; ++i) {
    for (int v = 0; v < 6; ++v) {
      EXPECT_EQ(LevelOf("uk-ncsc", Cell(i, v)), grid[i][v]) << kImpact[i] << " x " << kVictim[v];
    }
  }
  // "Attack on an individual" is Category 6 whatever the impact; "attack on a small
  // organisation" with serious impact is Category 5; serious impact on a medium one Category 4.
  EXPECT_EQ(LevelOf("uk-ncsc", Cell(0, 0)), "CAT6");
  EXPECT_EQ(LevelOf("uk-ncsc", Cell(1, 1)), "CAT5");
  EXPECT_EQ(LevelOf("uk-ncsc", Cell(1, 2)), "CAT4");
}

// --- New Zealand: NCSC categories; no matrix published, ASD's is used (interpretation). -------

TEST(NzNcscGoldenTest, AgreesWithTheAsdMatrixOnEveryCell) {
  for (int i = 0; i < 6; ++i) {
    for (int v = 0; v < 6; ++v) EXPECT_EQ(LevelOf("nz-ncsc", Cell(i, v)), LevelOf("au-asd", Cell(i, v)));
  }
  const auto* nz = Shipped().Find("nz-ncsc");
  EXPECT_EQ(nz->level(0).name(), "National cyber emergency");
  EXPECT_EQ(nz->level(5).name(), "Minor incident");
}

// --- United States: Cyber Incident Severity Schema (PPD-41 Annex, 2016). ----------------------

TEST(UsCissGoldenTest, UkraineGridAttackWouldProbablyBeLevel4) {
  // December 2015: sustained disruption of regulated critical infrastructure, no deaths.
  auto attrs = Attributes(R"({"impact_kind": "sustained_disruption", "victim_tier": "national", "deaths": 0,
                               "considerable_health_damage": false})");
  ASSERT_TRUE(attrs.ok());
  const auto a = engine::AssessNotice(Shipped(), *Shipped().Find("us-ciss"), *attrs, nullptr);
  EXPECT_EQ(a.level(), "L4");
  EXPECT_TRUE(a.exact());
}

TEST(UsCissGoldenTest, SafetyViewpointAndTheMaximum) {
  const std::string safe = R"("deaths": 0, "considerable_health_damage": false)";
  // Reach alone.
  EXPECT_EQ(LevelOf("us-ciss", Cell(5, 0, safe)), "L0");  // unsuccessful attempt on an individual: baseline
  EXPECT_EQ(LevelOf("us-ciss", Cell(0, 5, safe)), "L5");  // sustained disruption of national security
  EXPECT_EQ(LevelOf("us-ciss", Cell(2, 4, safe)), "L3");  // isolated compromise of a national victim: significant
  // 'lives of U.S. persons': a death in a national-scale incident is L5, any death L4, health damage L3.
  EXPECT_EQ(LevelOf("us-ciss", Cell(2, 4, R"("deaths": 1, "considerable_health_damage": true)")), "L5");
  EXPECT_EQ(LevelOf("us-ciss", Cell(2, 1, R"("deaths": 1, "considerable_health_damage": false)")), "L4");
  EXPECT_EQ(LevelOf("us-ciss", Cell(4, 1, R"("deaths": 0, "considerable_health_damage": true)")), "L3");
  // The more severe viewpoint wins either way.
  EXPECT_EQ(LevelOf("us-ciss", Cell(0, 5, R"("deaths": 0, "considerable_health_damage": true)")), "L5");
}

TEST(UsCissGoldenTest, Level3AndAboveIsSignificantOnTheSharedAxis) {
  const auto* us = Shipped().Find("us-ciss");
  EXPECT_EQ(Shipped().scale().Place(us->level(*us->FindLevel("L3"))).band(), "S3");
  EXPECT_EQ(Shipped().scale().Place(us->level(*us->FindLevel("L2"))).band(), "S2");
}

// --- United States: NCISS (CISA), notional weights: the arithmetic is the scheme's. -----------

TEST(UsNcissGoldenTest, WeightedMeanAndBands) {
  const auto* us = Shipped().Find("us-nciss");
  struct Case {
    const char* attrs;
    double score;
    const char* level;
  } cases[] = {
      // weights 3, 2, 2, 1, 2 (total 10); see policies/schemes/us-nciss.textproto.
      {R"({"functional_impact": "no_impact", "information_impact": "no_impact", "recoverability": "regular",
           "observed_activity": "prepare", "activity_location": "unsuccessful"})", (0 + 0 + 0 + 5 + 0) / 10.0, "baseline_negligible"},
      {R"({"functional_impact": "no_impact_to_services", "information_impact": "suspected_not_identified",
           "recoverability": "regular", "observed_activity": "engage", "activity_location": "business_dmz"})",
       (3 * 5 + 2 * 10 + 0 + 30 + 2 * 20) / 10.0, "low"},
      {R"({"functional_impact": "significant_impact_non_critical", "information_impact": "proprietary_information_breach",
           "recoverability": "supplemented", "observed_activity": "presence", "activity_location": "business_network"})",
       (3 * 50 + 2 * 45 + 2 * 35 + 65 + 2 * 35) / 10.0, "medium"},
      {R"({"functional_impact": "significant_impact_critical", "information_impact": "critical_systems_data_breach",
           "recoverability": "extended", "observed_activity": "presence", "activity_location": "critical_systems"})",
       (3 * 85 + 2 * 70 + 2 * 70 + 65 + 2 * 90) / 10.0, "severe"},
      {R"({"functional_impact": "denial_critical_or_loss_of_control", "information_impact": "destruction_critical_system",
           "recoverability": "not_recoverable", "observed_activity": "effect", "activity_location": "safety_systems"})",
       100.0, "emergency"},
  };
  for (const auto& c : cases) {
    auto attrs = Attributes(c.attrs);
    ASSERT_TRUE(attrs.ok()) << attrs.status();
    const auto v = us->Assess(*attrs);
    ASSERT_TRUE(v.has_point);
    EXPECT_DOUBLE_EQ(v.point, c.score) << c.attrs;
    EXPECT_EQ(us->level(v.level).id(), c.level) << c.attrs;
    const auto a = engine::AssessNotice(Shipped(), *us, *attrs, nullptr);
    EXPECT_DOUBLE_EQ(a.shared().point(), c.score);  // the score is the shared point
  }
}

TEST(UsNcissGoldenTest, AbsentCategoriesLeaveARange) {
  auto attrs = Attributes(R"({"functional_impact": "denial_critical_or_loss_of_control"})");
  ASSERT_TRUE(attrs.ok());
  const auto* us = Shipped().Find("us-nciss");
  const auto v = us->Assess(*attrs);
  EXPECT_FALSE(v.exact());
  EXPECT_FALSE(v.has_point);
  // Lowest possible: (3*100 + 0 + 0 + 5 + 0) / 10 = 30.5 -> medium; highest 100 -> emergency.
  EXPECT_EQ(us->level(v.level).id(), "medium");
  EXPECT_EQ(us->level(v.most_severe).id(), "emergency");
  EXPECT_EQ(us->level(v.least_severe).id(), "medium");
}

// --- Japan: NISC criteria (2018): the higher of the continuity and safety viewpoints. ----------

TEST(JpNiscGoldenTest, EachViewpointCombinationTakesTheHigher) {
  // Continuity outcomes L4 … L0 and safety outcomes L4, L3, L2, L0.
  const std::pair<const char*, const char*> continuity[] = {
      {R"("impact_kind": "sustained_disruption", "victim_tier": "national", "essential_service_interrupted": true)", "L4"},
      {R"("impact_kind": "isolated_compromise", "victim_tier": "national", "essential_service_interrupted": false)", "L3"},
      {R"("impact_kind": "isolated_compromise", "victim_tier": "medium", "essential_service_interrupted": false)", "L2"},
      {R"("impact_kind": "low_level_attack", "victim_tier": "small", "essential_service_interrupted": false)", "L1"},
      {R"("impact_kind": "unsuccessful_attempt", "victim_tier": "small", "essential_service_interrupted": false)", "L0"}};
  const std::pair<const char*, const char*> safety[] = {
      {R"("deaths": 5, "considerable_health_damage": true)", "L4"},
      {R"("deaths": 1, "considerable_health_damage": true)", "L3"},
      {R"("deaths": 0, "considerable_health_damage": true)", "L2"},
      {R"("deaths": 0, "considerable_health_damage": false)", "L0"}};
  const auto* jp = Shipped().Find("jp-nisc");
  for (const auto& [c_attrs, c_level] : continuity) {
    for (const auto& [s_attrs, s_level] : safety) {
      // L4 is the most severe: the higher level id is the higher level.
      const std::string expected = std::max(std::string(c_level), std::string(s_level));
      auto attrs = Attributes(absl::StrCat("{", c_attrs, ", ", s_attrs, "}"));
      ASSERT_TRUE(attrs.ok()) << attrs.status();
      const auto v = jp->Assess(*attrs);
      EXPECT_EQ(jp->level(v.level).id(), expected) << "continuity " << c_level << ", safety " << s_level;
      EXPECT_TRUE(v.exact());
    }
  }
}

// --- EU: NIS Cooperation Group impact severity (CG Publication 04/2018), read as rules. --------

TEST(EuNisImpactGoldenTest, ClassesAndTheTwoStateBoundary) {
  const std::string quiet = R"("deaths": 0, "essential_service_interrupted": false)";
  EXPECT_EQ(LevelOf("eu-nis-impact", Cell(1, 2, absl::StrCat(quiet, R"(, "states_affected": 1)"))), "green");
  EXPECT_EQ(LevelOf("eu-nis-impact", Cell(1, 2, absl::StrCat(quiet, R"(, "states_affected": 2)"))), "red");
  EXPECT_EQ(LevelOf("eu-nis-impact", Cell(0, 4, absl::StrCat(quiet, R"(, "states_affected": 1)"))), "red");
  EXPECT_EQ(LevelOf("eu-nis-impact", Cell(1, 3, absl::StrCat(quiet, R"(, "states_affected": 1)"))), "yellow");
  EXPECT_EQ(LevelOf("eu-nis-impact", Cell(4, 3, absl::StrCat(quiet, R"(, "states_affected": 1)"))), "green");
  EXPECT_EQ(LevelOf("eu-nis-impact", Cell(4, 1, absl::StrCat(quiet, R"(, "states_affected": 1)"))), "white");
  EXPECT_EQ(LevelOf("eu-nis-impact", Cell(4, 1, R"("deaths": 1, "states_affected": 1, "essential_service_interrupted": false)")), "red");
  EXPECT_EQ(LevelOf("eu-nis-impact", Cell(4, 1, R"("deaths": 0, "states_affected": 1, "essential_service_interrupted": true)")), "yellow");
}

// --- Chile: Ley 21.663 and D.S. 295/2024, significant effect criteria (a)-(e) and clocks. ------

constexpr char kQuietChile[] =
    R"("essential_service_interrupted": false, "deaths": 0, "considerable_health_damage": false,
       "it_asset_integrity_or_confidentiality_affected": false, "unavailable_minutes": 0, "degraded_minutes": 0,
       "unauthorised_access": false, "malicious_unauthorised_access": false, "personal_data_systems_affected": false,
       "vital_operator": false)";

// The quiet Chilean notice with one attribute's value replaced by `change` ("name": value).
std::string Chile(absl::string_view change) {
  std::string json = absl::StrCat("{", kQuietChile, "}");
  if (change.empty()) return json;
  // Replace the quiet value of one attribute.
  const std::string key = std::string(change.substr(0, change.find(':')));
  const size_t at = json.find(key);
  const size_t end = json.find_first_of(",}", at);
  return json.replace(at, end - at, std::string(change));
}

TEST(ClDs295GoldenTest, EachCriterionAloneIsSignificant) {
  EXPECT_EQ(LevelOf("cl-ds295", Chile("")), "not_significant");
  for (const char* c : {R"("essential_service_interrupted": true)", R"("deaths": 1)", R"("considerable_health_damage": true)",
                        R"("it_asset_integrity_or_confidentiality_affected": true)", R"("unavailable_minutes": 5)",
                        R"("degraded_minutes": 5)", R"("unauthorised_access": true)",
                        R"("personal_data_systems_affected": true)"}) {
    EXPECT_EQ(LevelOf("cl-ds295", Chile(c)), "significant") << c;
  }
}

TEST(ClDs295GoldenTest, ReportingClocksOfLey21663Art9) {
  const auto* cl = Shipped().Find("cl-ds295");
  auto deadlines = [&](absl::string_view attrs) {
    const v1::Notice n = testing::NoticeFromJson(absl::StrCat(R"({"detected_at": "2026-03-01T10:00:00Z", "attributes": )", attrs, "}"));
    auto bound = engine::BindAttributes(Shipped().registry(), n.attributes());
    EXPECT_TRUE(bound.ok());
    std::map<std::string, std::string> out;
    const v1::Assessment a = engine::AssessNotice(Shipped(), *cl, *bound, &n);
    for (const auto& r : a.reporting()) {
      out[r.report()] = TimeUtil::ToString(r.deadline());
    }
    return out;
  };
  // A vital operator whose essential service is hit: second report in 24 h.
  std::string vital_json = Chile(R"("essential_service_interrupted": true)");
  vital_json.replace(vital_json.find(R"("vital_operator": false)"), 23, R"("vital_operator": true)");
  auto vital = deadlines(vital_json);
  EXPECT_EQ(vital["early alert"], "2026-03-01T13:00:00Z");
  EXPECT_EQ(vital["second report"], "2026-03-02T10:00:00Z");
  EXPECT_EQ(vital["final report"], "2026-03-16T13:00:00Z");  // 15 days after the early alert
  // Anyone else: 72 h.
  auto other = deadlines(Chile(R"("unauthorised_access": true)"));
  EXPECT_EQ(other["early alert"], "2026-03-01T13:00:00Z");
  EXPECT_EQ(other["second report"], "2026-03-04T10:00:00Z");
}

// --- China: CAC reporting measures (2025): published top thresholds, notional below. -----------

TEST(CnCacGoldenTest, PublishedEspeciallyMajorThresholds) {
  const std::string base = R"("impact_kind": "isolated_compromise", "victim_tier": "medium")";
  EXPECT_EQ(LevelOf("cn-cac", absl::StrCat("{", base, R"(, "personal_records_affected": 100000000, "direct_loss_eur": 0})")),
            "especially_major");
  EXPECT_EQ(LevelOf("cn-cac", absl::StrCat("{", base, R"(, "personal_records_affected": 99999999, "direct_loss_eur": 0})")),
            "major");
  // CNY 100 million at the notional rate of 7.8: EUR 12,820,513 is above, 12,820,512 below.
  EXPECT_EQ(LevelOf("cn-cac", absl::StrCat("{", base, R"(, "personal_records_affected": 0, "direct_loss_eur": 12820513})")),
            "especially_major");
  EXPECT_EQ(LevelOf("cn-cac", absl::StrCat("{", base, R"(, "personal_records_affected": 0, "direct_loss_eur": 12820512})")),
            "major");
}

TEST(CnCacGoldenTest, NotionalLowerTiers) {
  const std::string base = R"("impact_kind": "isolated_compromise", "victim_tier": "medium", "direct_loss_eur": 0)";
  EXPECT_EQ(LevelOf("cn-cac", absl::StrCat("{", base, R"(, "personal_records_affected": 1000000})")), "relatively_major");
  EXPECT_EQ(LevelOf("cn-cac", absl::StrCat("{", base, R"(, "personal_records_affected": 999999})")), "general");
  EXPECT_EQ(LevelOf("cn-cac", R"({"impact_kind": "sustained_disruption", "victim_tier": "national", "direct_loss_eur": 0, "personal_records_affected": 0})"),
            "major");
}

TEST(CnCacGoldenTest, ReportingWithin1h2hOr4h) {
  const auto* cn = Shipped().Find("cn-cac");
  auto reports = [&](absl::string_view who) {
    const v1::Notice n = testing::NoticeFromJson(absl::StrCat(
        R"({"detected_at": "2026-05-01T00:00:00Z", "attributes": {"personal_records_affected": 200000000, )", who, "}}"));
    auto bound = engine::BindAttributes(Shipped().registry(), n.attributes());
    EXPECT_TRUE(bound.ok());
    std::vector<std::string> out;
    const v1::Assessment a = engine::AssessNotice(Shipped(), *cn, *bound, &n);
    for (const auto& r : a.reporting()) {
      out.push_back(absl::StrCat(r.within(), " ", TimeUtil::ToString(r.deadline())));
    }
    return out;
  };
  EXPECT_EQ(reports(R"("critical_infrastructure_operator": true, "central_government_body": false)"),
            std::vector<std::string>{"1h 2026-05-01T01:00:00Z"});
  EXPECT_EQ(reports(R"("critical_infrastructure_operator": false, "central_government_body": true)"),
            std::vector<std::string>{"2h 2026-05-01T02:00:00Z"});
  EXPECT_EQ(reports(R"("critical_infrastructure_operator": false, "central_government_body": false)"),
            std::vector<std::string>{"4h 2026-05-01T04:00:00Z"});
}

}  // namespace
}  // namespace sevex
