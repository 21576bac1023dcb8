// The condition language (engine/expression): grammar, types, three-valued logic for absent
// attributes, definitions, and compile errors that point at the offending character.
#include "engine/expression.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace sevex::engine {
namespace {

using ::testing::HasSubstr;
using sevex::testing::Attributes;
using sevex::testing::Shipped;

const SourceLocation kWhere{"f.textproto", 3, 10};

absl::StatusOr<Expression> Compile(absl::string_view text, const Definitions& defines = {}) {
  return Expression::Compile(text, Shipped().registry(), defines, kWhere);
}

Truth Eval(absl::string_view text, absl::string_view attrs_json, const Definitions& defines = {}) {
  auto e = Compile(text, defines);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status();
  if (!e.ok()) return Truth::kUnknown;
  auto attrs = Attributes(attrs_json);
  EXPECT_TRUE(attrs.ok()) << attrs.status();
  return e->Test(*attrs);
}

std::optional<double> Number(absl::string_view text, absl::string_view attrs_json) {
  auto e = Compile(text);
  EXPECT_TRUE(e.ok()) << e.status();
  auto attrs = Attributes(attrs_json);
  EXPECT_TRUE(attrs.ok());
  return e->Number(*attrs);
}

TEST(ConditionLanguageTest, ArithmeticWithPrecedence) {
  EXPECT_EQ(Number("1 + 2 * 3", "{}"), 7);
  EXPECT_EQ(Number("(1 + 2) * 3", "{}"), 9);
  EXPECT_EQ(Number("10 - 4 - 3", "{}"), 3);       // left-associative
  EXPECT_EQ(Number("24 / 4 / 2", "{}"), 3);
  EXPECT_EQ(Number("-deaths + 5", R"({"deaths": 2})"), 3);
  EXPECT_EQ(Number("500_000 * 2", "{}"), 1e6);
  EXPECT_EQ(Number("1.5e3", "{}"), 1500);
  EXPECT_EQ(Number("0.05 * annual_turnover_eur", R"({"annual_turnover_eur": 4000000})"), 200000);
}

TEST(ConditionLanguageTest, MinAndMaxTakeTwoOrMoreArguments) {
  EXPECT_EQ(Number("min(500000, 0.05 * annual_turnover_eur)", R"({"annual_turnover_eur": 4000000})"), 200000);
  EXPECT_EQ(Number("min(500000, 0.05 * annual_turnover_eur)", R"({"annual_turnover_eur": 20000000})"), 500000);
  EXPECT_EQ(Number("max(1, 7, 3)", "{}"), 7);
  EXPECT_EQ(Number("min(4, 2, 9, 3)", "{}"), 2);
}

TEST(ConditionLanguageTest, ComparisonsAndLogic) {
  EXPECT_EQ(Eval("deaths >= 1 and deaths < 3", R"({"deaths": 2})"), Truth::kTrue);
  EXPECT_EQ(Eval("deaths == 2 or deaths != 2", R"({"deaths": 5})"), Truth::kTrue);
  EXPECT_EQ(Eval("not (deaths > 1)", R"({"deaths": 5})"), Truth::kFalse);
  EXPECT_EQ(Eval("trade_secrets_exfiltrated", R"({"trade_secrets_exfiltrated": true})"), Truth::kTrue);
  EXPECT_EQ(Eval("trade_secrets_exfiltrated == false", R"({"trade_secrets_exfiltrated": true})"), Truth::kFalse);
  // 'and' binds tighter than 'or'.
  EXPECT_EQ(Eval("true or false and false", "{}"), Truth::kTrue);
}

TEST(ConditionLanguageTest, EnumsCompareByValueAndOrderedEnumsByOrder) {
  EXPECT_EQ(Eval("victim_tier >= large", R"({"victim_tier": "national"})"), Truth::kTrue);
  EXPECT_EQ(Eval("victim_tier >= large", R"({"victim_tier": "medium"})"), Truth::kFalse);
  EXPECT_EQ(Eval("victim_tier == medium", R"({"victim_tier": "medium"})"), Truth::kTrue);
  EXPECT_EQ(Eval("entity_type in {cloud, cdn, msp}", R"({"entity_type": "cdn"})"), Truth::kTrue);
  EXPECT_EQ(Eval("entity_type in {cloud, cdn, msp}", R"({"entity_type": "dns"})"), Truth::kFalse);
  EXPECT_EQ(Eval("entity_type not in {cloud, cdn}", R"({"entity_type": "dns"})"), Truth::kTrue);
}

// Kleene logic: absent is unknown; unknown and false = false; unknown or true = true.
TEST(ConditionLanguageTest, AbsentAttributesAreUnknown) {
  EXPECT_EQ(Eval("deaths >= 1", "{}"), Truth::kUnknown);
  EXPECT_EQ(Eval("not (deaths >= 1)", "{}"), Truth::kUnknown);
  EXPECT_EQ(Eval("deaths >= 1 and victim_tier >= large", R"({"victim_tier": "small"})"), Truth::kFalse);
  EXPECT_EQ(Eval("deaths >= 1 and victim_tier >= large", R"({"victim_tier": "large"})"), Truth::kUnknown);
  EXPECT_EQ(Eval("deaths >= 1 or victim_tier >= large", R"({"victim_tier": "large"})"), Truth::kTrue);
  EXPECT_EQ(Eval("deaths >= 1 or victim_tier >= large", R"({"victim_tier": "small"})"), Truth::kUnknown);
  EXPECT_EQ(Eval("entity_type in {dns}", "{}"), Truth::kUnknown);
  EXPECT_EQ(Number("deaths + 1", "{}"), std::nullopt);
  // min() over an absent value is unknown even when the known limb would decide; policies write
  // "a > min(b, c)" as "a > b or a > c" where that matters (docs/policy-language.md).
  EXPECT_EQ(Eval("direct_loss_eur > min(500000, 0.05 * annual_turnover_eur)", R"({"direct_loss_eur": 900000})"),
            Truth::kUnknown);
  EXPECT_EQ(Eval("direct_loss_eur > 500000 or direct_loss_eur > 0.05 * annual_turnover_eur", R"({"direct_loss_eur": 900000})"),
            Truth::kTrue);
}

// 'and' / 'or' skip the right operand when the left decides; the result must not change.
TEST(ConditionLanguageTest, ShortCircuitKeepsThreeValuedResultsInEitherOrder) {
  const char* small = R"({"victim_tier": "small"})";
  const char* large = R"({"victim_tier": "large"})";
  EXPECT_EQ(Eval("victim_tier >= large and deaths >= 1", small), Truth::kFalse);    // known false: skip
  EXPECT_EQ(Eval("deaths >= 1 and victim_tier >= large", small), Truth::kFalse);    // unknown, then false
  EXPECT_EQ(Eval("victim_tier >= large and deaths >= 1", large), Truth::kUnknown);  // true, then unknown
  EXPECT_EQ(Eval("victim_tier >= large or deaths >= 1", large), Truth::kTrue);      // known true: skip
  EXPECT_EQ(Eval("deaths >= 1 or victim_tier >= large", large), Truth::kTrue);      // unknown, then true
  EXPECT_EQ(Eval("victim_tier >= large or deaths >= 1", small), Truth::kUnknown);   // false, then unknown
  // Chains and nesting: each jump lands after its own operator.
  EXPECT_EQ(Eval("false and deaths >= 1 or true", "{}"), Truth::kTrue);
  EXPECT_EQ(Eval("true or deaths >= 1 and false", "{}"), Truth::kTrue);
  EXPECT_EQ(Eval("(false or false) and (deaths >= 1 or true)", "{}"), Truth::kFalse);
  EXPECT_EQ(Eval("not (false and deaths >= 1) and (true or deaths >= 1)", "{}"), Truth::kTrue);
  Definitions defs;
  defs["guard"] = {"victim_tier >= large and deaths >= 1", {"f.textproto", 20, 9}};
  EXPECT_EQ(Eval("guard or victim_tier == small", small, defs), Truth::kTrue);
  EXPECT_EQ(Eval("victim_tier == small and guard", small, defs), Truth::kFalse);
}

TEST(ConditionLanguageTest, PresentIsNeverUnknown) {
  EXPECT_EQ(Eval("present(scheduled_maintenance)", "{}"), Truth::kFalse);
  EXPECT_EQ(Eval("present(scheduled_maintenance) and scheduled_maintenance", "{}"), Truth::kFalse);
  EXPECT_EQ(Eval("present(scheduled_maintenance) and scheduled_maintenance", R"({"scheduled_maintenance": true})"),
            Truth::kTrue);
}

TEST(ConditionLanguageTest, DivisionByZeroIsUnknown) {
  EXPECT_EQ(Eval("users_affected / union_users_total > 0.05", R"({"users_affected": 5, "union_users_total": 0})"),
            Truth::kUnknown);
  EXPECT_EQ(Eval("users_affected / union_users_total > 0.05", R"({"users_affected": 6, "union_users_total": 100})"),
            Truth::kTrue);
}

TEST(ConditionLanguageTest, DefinitionsAreInlinedAndMayUseEachOther) {
  Definitions defs;
  defs["x_users"] = {"min(1000000, 0.05 * union_users_total)", {"f.textproto", 20, 9}};
  defs["many"] = {"users_affected > x_users", {"f.textproto", 21, 9}};
  EXPECT_EQ(Eval("many", R"({"users_affected": 500001, "union_users_total": 10000000})", defs), Truth::kTrue);
  EXPECT_EQ(Eval("many", R"({"users_affected": 500000, "union_users_total": 10000000})", defs), Truth::kFalse);
  auto e = Compile("many", defs);
  ASSERT_TRUE(e.ok());
  const auto& r = Shipped().registry();
  EXPECT_EQ(e->reads(), (std::vector<int>{std::min(*r.Find("users_affected"), *r.Find("union_users_total")),
                                          std::max(*r.Find("users_affected"), *r.Find("union_users_total"))}));
}

TEST(ConditionLanguageTest, ADefinitionCycleIsAnError) {
  Definitions defs;
  defs["a"] = {"b > 1", {"f.textproto", 20, 9}};
  defs["b"] = {"a + 1", {"f.textproto", 21, 9}};
  auto e = Compile("a", defs);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("refers to itself"));
}

TEST(ConditionLanguageTest, ErrorsInADefinitionPointIntoTheDefinition) {
  Definitions defs;
  defs["x"] = {"users_affectd > 1", {"f.textproto", 20, 9}};
  auto e = Compile("x", defs);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("f.textproto:20:9: unknown attribute 'users_affectd'"));
}

TEST(ConditionLanguageTest, ConstantTrueAndSameProgramAreRecognised) {
  EXPECT_TRUE(Compile("true")->IsConstantTrue());
  EXPECT_FALSE(Compile("deaths > 0")->IsConstantTrue());
  EXPECT_TRUE(Compile("deaths>0")->SameProgram(*Compile("( deaths > 0 )")));
  EXPECT_FALSE(Compile("deaths > 0")->SameProgram(*Compile("deaths > 1")));
}

struct BadCase {
  const char* text;
  const char* message;  // includes "f.textproto:3:<column>"
};

class ConditionErrorsTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConditionErrorsTest, PointsAtTheProblem) {
  auto e = Compile(GetParam().text);
  ASSERT_FALSE(e.ok()) << GetParam().text;
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()), HasSubstr(GetParam().message));
}

// The expression starts at column 10; an error at offset k is reported at column 10 + k.
INSTANTIATE_TEST_SUITE_P(
    Cases, ConditionErrorsTest,
    ::testing::Values(
        BadCase{"dethz > 1", "f.textproto:3:10: unknown attribute 'dethz' (did you mean 'deaths'?)"},
        BadCase{"deaths + true", "f.textproto:3:19: '+' expects a number, got a boolean"},
        BadCase{"victim_tier + 1", "f.textproto:3:10: '+' expects a number, got a value of victim_tier"},
        BadCase{"deaths and true", "f.textproto:3:10: 'and' expects a boolean, got a number"},
        BadCase{"entity_type >= dns", "f.textproto:3:22: entity_type is not an ordered enum"},
        BadCase{"victim_tier >= huge", "f.textproto:3:25: 'huge' is not a value of victim_tier"},
        BadCase{"deaths in {1, 2}", "f.textproto:3:10: 'in' tests an enum attribute"},
        BadCase{"victim_tier == deaths", "f.textproto:3:25: '==' compares a value of victim_tier with a number"},
        BadCase{"trade_secrets_exfiltrated > false", "f.textproto:3:36: '>' does not order booleans"},
        BadCase{"avg(1, 2)", "f.textproto:3:10: unknown function 'avg'"},
        BadCase{"min(1)", "f.textproto:3:10: min() takes at least two arguments"},
        BadCase{"(deaths > 1", "f.textproto:3:21: expected ')' to close '('"},
        BadCase{"deaths > 1)", "f.textproto:3:20: unexpected ')'"},
        BadCase{"deaths = 1", "f.textproto:3:17: '=' is not an operator; compare with '=='"},
        BadCase{"deaths > 1 && true", "f.textproto:3:21: '&' is not an operator; use 'and'"},
        BadCase{"deaths > 1 || true", "f.textproto:3:21: '|' is not an operator; use 'or'"},
        BadCase{"!deaths", "f.textproto:3:10: '!' is not an operator; negate with 'not'"},
        BadCase{"deaths > 1.2.3", "f.textproto:3:19: malformed number"},
        BadCase{"deaths > ", "f.textproto:3:19: expected a value, an attribute or '('"},
        BadCase{"deaths $ 1", "f.textproto:3:17: unexpected character '$'"},
        BadCase{"present(5)", "f.textproto:3:18: present() takes an attribute name"}));

TEST(ConditionLanguageTest, NestingBeyondTheStackIsRefusedAtCompileTime) {
  std::string text = "1";
  for (int i = 0; i < Expression::kMaxStack + 5; ++i) text = absl::StrCat("1 + (", text, ")");
  auto e = Compile(absl::StrCat(text, " > 0"));
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("nests too deeply"));
}

// Found by expression_fuzzer: the parser recursed once per '(' (and 'not', '-', call), so a
// long enough run of them overflowed the stack before any check ran.
TEST(ConditionLanguageTest, DeepNestingIsRefusedBeforeItExhaustsTheStack) {
  for (const char* open : {"(", "not ", "-", "min(1, "}) {
    std::string text;
    for (int i = 0; i < 200000; ++i) text += open;
    auto e = Compile(absl::StrCat(text, "1"));
    ASSERT_FALSE(e.ok()) << open;
    EXPECT_THAT(std::string(e.status().message()), HasSubstr("nests too deeply")) << open;
  }
  std::string fine = "deaths";
  for (int i = 0; i < Expression::kMaxNesting - 1; ++i) fine = absl::StrCat("(", fine, ")");
  EXPECT_TRUE(Compile(absl::StrCat(fine, " > 0")).ok());
}

// Found by expression_fuzzer: definitions that each use the one before twice double the program
// at each step; forty of them made 2^40 steps of code.
TEST(ConditionLanguageTest, DefinitionsThatDoubleTheProgramAreRefused) {
  Definitions defs;
  defs["d0"] = {"deaths", {"f.textproto", 20, 9}};
  for (int i = 1; i <= 40; ++i) {
    defs[absl::StrCat("d", i)] = {absl::StrCat("d", i - 1, " + d", i - 1), {"f.textproto", 20 + i, 9}};
  }
  auto e = Compile("d40 > 0", defs);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()), HasSubstr("steps of compiled code"));
  EXPECT_TRUE(Compile("d8 > 0", defs).ok());  // 2^8 uses of deaths: a large but fair rule
}

}  // namespace
}  // namespace sevex::engine
