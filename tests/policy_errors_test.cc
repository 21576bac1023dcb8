// Loading a policy checks everything `sevex policy check` promises, and every error names
// file:line:col. Each case below is a small policy with one fault at a known place.
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace sevex {
namespace {

using ::testing::HasSubstr;
using testing::LoadPolicy;

// Lines 1-4 are the header; levels start on line 5.
constexpr char kHeader[] =
    "id: \"xx\"\n"
    "name: \"test\"\n"
    "version: \"1\"\n"
    "source { title: \"t\" }\n";
constexpr char kLevels[] =
    "level { id: \"HIGH\" name: \"High\" low: 50 high: 100 }\n"  // line 5
    "level { id: \"MID\" name: \"Mid\" low: 20 high: 49 }\n"     // line 6
    "level { id: \"LOW\" name: \"Low\" low: 0 high: 19 }\n";     // line 7

std::string WithRules(const std::string& rules) {
  return absl::StrCat(kHeader, kLevels, "decision { rules {\n", rules, "} }\n");  // rules from line 9
}

std::string ErrorOf(const std::string& text) {
  auto p = LoadPolicy(text);
  if (p.ok()) return "<loaded>";
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(p.status().message());
}

TEST(PolicyErrorsTest, AValidPolicyLoads) {
  const std::string text = WithRules(
      "rule { id: \"a\" when: \"deaths >= 1\" level: \"HIGH\" }\n"
      "rule { id: \"b\" when: \"victim_tier >= large\" level: \"MID\" }\n"
      "otherwise: \"LOW\"\n");
  EXPECT_EQ(ErrorOf(text), "<loaded>");
}

TEST(PolicyErrorsTest, SyntaxErrorNamesLineAndColumn) {
  const std::string text = absl::StrCat(kHeader, "level { id: \"A\" low: 0 high: 100\n");  // unclosed, EOF on line 6
  EXPECT_THAT(ErrorOf(text), HasSubstr("test.textproto:6:1: "));
  EXPECT_THAT(ErrorOf(absl::StrCat(kHeader, "levle { id: \"A\" }\n")),
              HasSubstr("test.textproto:5:7: Message type \"sevex.v1.SchemePolicy\" has no field named \"levle\""));
}

TEST(PolicyErrorsTest, UnknownAttributePointsIntoTheCondition) {
  // line 9:  rule { id: "a" when: "dethz > 0" level: "HIGH" }
  //          col 23 is the first character inside the quotes.
  const std::string e = ErrorOf(WithRules("rule { id: \"a\" when: \"dethz > 0\" level: \"HIGH\" }\notherwise: \"LOW\"\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:9:23: unknown attribute 'dethz' (did you mean 'deaths'?)"));
}

TEST(PolicyErrorsTest, TypeErrorPointsAtTheOperand) {
  // "deaths + true": 'true' is 9 characters into the condition.
  const std::string e =
      ErrorOf(WithRules("rule { id: \"a\" when: \"deaths + true > 1\" level: \"HIGH\" }\notherwise: \"LOW\"\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:9:32: '+' expects a number, got a boolean"));
}

TEST(PolicyErrorsTest, ConditionThatIsNotABoolean) {
  const std::string e = ErrorOf(WithRules("rule { id: \"a\" when: \"deaths * 2\" level: \"HIGH\" }\notherwise: \"LOW\"\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:9:23: a condition must be true or false"));
}

TEST(PolicyErrorsTest, OrderingAnUnorderedEnum) {
  const std::string e = ErrorOf(WithRules("rule { id: \"a\" when: \"entity_type > dns\" level: \"HIGH\" }\notherwise: \"LOW\"\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:9:35: entity_type is not an ordered enum; use ==, != or 'in'"));
}

TEST(PolicyErrorsTest, UnreachableLevel) {
  const std::string e = ErrorOf(WithRules("rule { id: \"a\" when: \"deaths >= 1\" level: \"HIGH\" }\notherwise: \"LOW\"\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:6:1: level 'MID' is not reachable"));
}

TEST(PolicyErrorsTest, UnknownLevel) {
  const std::string e = ErrorOf(WithRules("rule { id: \"a\" when: \"deaths >= 1\" level: \"TOP\" }\notherwise: \"LOW\"\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:9:"));
  EXPECT_THAT(e, HasSubstr("unknown level 'TOP' (levels: HIGH, MID, LOW)"));
}

TEST(PolicyErrorsTest, ShadowedRules) {
  const std::string same = ErrorOf(WithRules(
      "rule { id: \"a\" when: \"deaths >= 1\" level: \"HIGH\" }\n"
      "rule { id: \"b\" when: \"deaths>=1\" level: \"MID\" }\n"
      "otherwise: \"LOW\"\n"));
  EXPECT_THAT(same, HasSubstr("test.textproto:10:1: rule 'b' can never fire: rule 'a' above it has the same condition"));
  const std::string always = ErrorOf(WithRules(
      "rule { id: \"a\" when: \"true\" level: \"HIGH\" }\n"
      "rule { id: \"b\" when: \"deaths >= 1\" level: \"MID\" }\n"
      "otherwise: \"LOW\"\n"));
  EXPECT_THAT(always, HasSubstr("test.textproto:10:1: rule 'b' can never fire: rule 'a' above it always holds"));
}

std::string WithLevels(const std::string& levels) {
  return absl::StrCat(kHeader, levels,
                      "decision { rules { rule { id: \"a\" when: \"deaths >= 1\" level: \"HIGH\" } "
                      "rule { id: \"b\" when: \"deaths >= 0\" level: \"MID\" } otherwise: \"LOW\" } }\n");
}

TEST(PolicyErrorsTest, GappedAnchors) {
  const std::string e = ErrorOf(WithLevels(
      "level { id: \"HIGH\" name: \"High\" low: 50 high: 100 }\n"
      "level { id: \"MID\" name: \"Mid\" low: 20 high: 45 }\n"
      "level { id: \"LOW\" name: \"Low\" low: 0 high: 19 }\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:6:1: gap: shared scores 46..49 between 'MID' and 'HIGH' belong to no level"));
}

TEST(PolicyErrorsTest, AxisNotCoveredAtEitherEnd) {
  const std::string e = ErrorOf(WithLevels(
      "level { id: \"HIGH\" name: \"High\" low: 50 high: 95 }\n"
      "level { id: \"MID\" name: \"Mid\" low: 20 high: 49 }\n"
      "level { id: \"LOW\" name: \"Low\" low: 5 high: 19 }\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:5:1: gap: the most severe level 'HIGH' ends at 95"));
  EXPECT_THAT(e, HasSubstr("test.textproto:7:1: gap: the least severe level 'LOW' starts at 5"));
}

TEST(PolicyErrorsTest, OverlappingAnchors) {
  const std::string e = ErrorOf(WithLevels(
      "level { id: \"HIGH\" name: \"High\" low: 50 high: 100 }\n"
      "level { id: \"MID\" name: \"Mid\" low: 20 high: 55 }\n"
      "level { id: \"LOW\" name: \"Low\" low: 0 high: 19 }\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:6:1: overlapping anchors: 'MID' (20..55) overlaps 'HIGH' (50..100)"));
}

TEST(PolicyErrorsTest, NonMonotoneAnchors) {
  // HIGH is listed as more severe than MID but anchored lower.
  const std::string e = ErrorOf(WithLevels(
      "level { id: \"HIGH\" name: \"High\" low: 20 high: 49 }\n"
      "level { id: \"MID\" name: \"Mid\" low: 50 high: 100 }\n"
      "level { id: \"LOW\" name: \"Low\" low: 0 high: 19 }\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:6:1: non-monotone anchors: 'HIGH' (20..49) is listed as more severe than 'MID'"));
}

TEST(PolicyErrorsTest, MatrixWithAHoleAndAShortRow) {
  const std::string text = absl::StrCat(
      kHeader, kLevels,
      "decision { matrix {\n"                                                          // line 8
      "  rows: \"recoverability\" columns: \"observed_activity\"\n"                    // line 9
      "  row { value: \"regular\" cell: [\"LOW\", \"LOW\", \"MID\", \"HIGH\"] }\n"     // line 10
      "  row { value: \"supplemented\" cell: [\"LOW\", \"MID\", \"HIGH\"] }\n"         // line 11
      "  row { value: \"not_recoverable\" cell: [\"MID\", \"HIGH\", \"HIGH\", \"HIGH\"] }\n"
      "} }\n");
  const std::string e = ErrorOf(text);
  EXPECT_THAT(e, HasSubstr("test.textproto:11:3: row 'supplemented' has 3 cells; observed_activity has 4 values"));
  EXPECT_THAT(e, HasSubstr("matrix has a hole: no row for recoverability = 'extended'"));
}

TEST(PolicyErrorsTest, ScoreBandsThatLeaveAGap) {
  const std::string text = absl::StrCat(
      kHeader, kLevels,
      "decision { score {\n"
      "  component { attribute: \"recoverability\" weight: 1 score: [0, 30, 60, 100] }\n"
      "  band { level: \"HIGH\" min: 60 } band { level: \"MID\" min: 30 } band { level: \"LOW\" min: 10 }\n"
      "} }\n");
  EXPECT_THAT(ErrorOf(text), HasSubstr("gap: scores from 0 up to 10 belong to no band"));
}

TEST(PolicyErrorsTest, ScoreComponentWithTheWrongNumberOfScores) {
  const std::string text = absl::StrCat(
      kHeader, kLevels,
      "decision { score {\n"                                                                   // line 8
      "  component { attribute: \"recoverability\" weight: 1 score: [0, 30, 100] }\n"          // line 9
      "  band { level: \"HIGH\" min: 60 } band { level: \"MID\" min: 30 } band { level: \"LOW\" min: 0 }\n"
      "} }\n");
  EXPECT_THAT(ErrorOf(text), HasSubstr("test.textproto:9:3: component 'recoverability' has 3 scores; recoverability has 4 values"));
}

TEST(PolicyErrorsTest, BadClockDuration) {
  const std::string text = absl::StrCat(
      kHeader,
      "level { id: \"HIGH\" name: \"High\" low: 50 high: 100\n"
      "  clock { report: \"r\" within: \"3 hours\" } }\n",  // line 6
      "level { id: \"LOW\" name: \"Low\" low: 0 high: 49 }\n",
      "decision { rules { rule { id: \"a\" when: \"deaths >= 1\" level: \"HIGH\" } otherwise: \"LOW\" } }\n");
  EXPECT_THAT(ErrorOf(text), HasSubstr("test.textproto:6:3: clock `within: \"3 hours\"` is not a duration"));
}

// Regression (found with policy_loader_fuzzer under UBSan): "99999999h" overflowed int when
// converted to minutes (undefined behaviour); a clock that long is refused as malformed.
TEST(PolicyErrorsTest, ClockDurationTooLongToCountIsRefused) {
  for (const char* within : {"99999999h", "2147483647w", "1491309d"}) {
    const std::string text = absl::StrCat(
        kHeader,
        "level { id: \"HIGH\" name: \"High\" low: 50 high: 100\n"
        "  clock { report: \"r\" within: \"", within, "\" } }\n",  // line 6
        "level { id: \"LOW\" name: \"Low\" low: 0 high: 49 }\n",
        "decision { rules { rule { id: \"a\" when: \"deaths >= 1\" level: \"HIGH\" } otherwise: \"LOW\" } }\n");
    EXPECT_THAT(ErrorOf(text), HasSubstr(absl::StrCat("test.textproto:6:3: clock `within: \"", within, "\"` is not a duration")));
  }
  EXPECT_EQ(engine::ParseClockMinutes("35791394h"), 35791394 * 60);  // the largest that fits
  EXPECT_EQ(engine::ParseClockMinutes("35791395h"), std::nullopt);
}

TEST(PolicyErrorsTest, EveryProblemIsReportedNotOnlyTheFirst) {
  const std::string e = ErrorOf(WithRules(
      "rule { id: \"a\" when: \"dethz > 0\" level: \"HIGH\" }\n"
      "rule { id: \"b\" when: \"victim_tier >= huge\" level: \"MID\" }\n"
      "otherwise: \"NONE\"\n"));
  EXPECT_THAT(e, HasSubstr("test.textproto:9:23: unknown attribute 'dethz'"));
  EXPECT_THAT(e, HasSubstr("test.textproto:10:38: 'huge' is not a value of victim_tier"));
  EXPECT_THAT(e, HasSubstr("test.textproto:11:1: unknown level 'NONE'"));
}

TEST(PolicyErrorsTest, TheShippedPoliciesAllLoad) {
  EXPECT_EQ(testing::Shipped().policies().size(), 10u);
}

}  // namespace
}  // namespace sevex
