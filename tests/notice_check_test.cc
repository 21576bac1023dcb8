// Reading notices (engine/notice): one object, an array, or JSON lines; and the checks the
// schema cannot make (RSIT class, TLP recipients, attributes against the registry).
#include "engine/notice.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test_support.h"

namespace sevex::engine {
namespace {

using ::testing::HasSubstr;
using sevex::testing::NoticeFromJson;
using sevex::testing::Shipped;

TEST(NoticeReadingTest, OneObjectAnArrayOrJsonLines) {
  auto one = ParseNotices(R"({"title": "a"})", "in");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  auto array = ParseNotices(R"([{"title": "a"}, {"title": "b"}, {"title": "c"}])", "in");
  ASSERT_TRUE(array.ok());
  ASSERT_EQ(array->size(), 3u);
  EXPECT_EQ((*array)[2].title(), "c");
  auto lines = ParseNotices("{\"title\": \"a\"}\n\n  {\"title\": \"b\"}\n", "in");
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 2u);
  EXPECT_EQ((*lines)[1].title(), "b");
}

TEST(NoticeReadingTest, ErrorsNameTheSourceAndPosition) {
  auto bad_line = ParseNotices("{\"title\": \"a\"}\n{\"title\": 3}\n", "notices.jsonl");
  ASSERT_FALSE(bad_line.ok());
  EXPECT_THAT(std::string(bad_line.status().message()), HasSubstr("notices.jsonl:2: title: expected a string"));
  auto bad_element = ParseNotices(R"([{"title": "a"}, {"bogus": 1}])", "notices.json");
  ASSERT_FALSE(bad_element.ok());
  EXPECT_THAT(std::string(bad_element.status().message()), HasSubstr("notices.json: [1].bogus: unknown field"));
  auto empty = ParseNotices("  \n ", "x");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("x: no notice in the input"));
}

TEST(NoticeCheckTest, AcceptsAWellFormedNotice) {
  const v1::Notice n = NoticeFromJson(R"({"classification": {"rsit_class": "availability"},
      "marking": {"tlp": "AMBER", "recipients": ["uk.ncsc"]}, "attributes": {"victim_tier": "large", "deaths": 0}})");
  auto attrs = CheckNotice(Shipped().registry(), n);
  ASSERT_TRUE(attrs.ok()) << attrs.status();
  EXPECT_TRUE(attrs->has(*Shipped().registry().Find("victim_tier")));
  EXPECT_EQ(attrs->value(*Shipped().registry().Find("victim_tier")), 3);  // the ordinal of "large"
  EXPECT_FALSE(attrs->has(*Shipped().registry().Find("impact_kind")));
}

TEST(NoticeCheckTest, RefusesWhatTheSchemaCannot) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"classification": {"rsit_class": "ddos"}})", "classification.rsit_class 'ddos' is not an RSIT class"},
      {R"({"marking": {"tlp": "RED"}})", "marking TLP:RED needs `recipients`"},
      {R"({"marking": {"tlp": "GREEN", "recipients": ["uk.ncsc"]}})", "marking.recipients applies to AMBER, AMBER_STRICT and RED only"},
      {R"({"attributes": {"unknown_thing": 1}})", "attribute 'unknown_thing' is not in the attribute registry"},
      {R"({"attributes": {"users_affected": 2.5}})", "attribute 'users_affected' must be a whole number"},
      {R"({"attributes": {"direct_loss_eur": "lots"}})", "attribute 'direct_loss_eur' must be a number, got the string \"lots\""},
      {R"({"attributes": {"suspected_malicious": "yes"}})", "attribute 'suspected_malicious' must be true or false"},
      {R"({"attributes": {"entity_type": "bank"}})", "attribute 'entity_type' must be one of {dns, tld"},
      {R"({"attributes": {"victim_tier": ["large"]}})", "got a list"},
      {R"({"attributes": {"deaths": -3}})", "attribute 'deaths' is -3, outside 0..inf"},
  };
  for (const auto& c : cases) {
    auto attrs = CheckNotice(Shipped().registry(), NoticeFromJson(c.json));
    ASSERT_FALSE(attrs.ok()) << c.json;
    EXPECT_EQ(attrs.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(attrs.status().message()), HasSubstr(c.message)) << c.json;
  }
}

TEST(NoticeCheckTest, NullAttributesCountAsAbsent) {
  auto attrs = CheckNotice(Shipped().registry(), NoticeFromJson(R"({"attributes": {"deaths": null}})"));
  ASSERT_TRUE(attrs.ok());
  EXPECT_FALSE(attrs->has(*Shipped().registry().Find("deaths")));
}

TEST(NoticeCheckTest, EveryProblemIsReported) {
  auto attrs = CheckNotice(Shipped().registry(),
                           NoticeFromJson(R"({"classification": {"rsit_class": "x"}, "attributes": {"a_b": 1, "deaths": "x"}})"));
  ASSERT_FALSE(attrs.ok());
  const std::string m(attrs.status().message());
  EXPECT_THAT(m, HasSubstr("rsit_class 'x'"));
  EXPECT_THAT(m, HasSubstr("attribute 'a_b'"));
  EXPECT_THAT(m, HasSubstr("attribute 'deaths'"));
}

}  // namespace
}  // namespace sevex::engine
