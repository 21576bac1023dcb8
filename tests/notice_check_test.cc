// Reading notices (engine/notice): one object, an array, or JSON lines; and the checks the
// schema cannot make (RSIT class, TLP recipients, attributes against the registry).
#include "engine/notice.h"

#include "absl/strings/str_cat.h"
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
      {R"({"marking": {"tlp": "RED"}})", "TLP:RED needs marking.recipients (the node ids it may reach)"},
      {R"({"marking": {"tlp": "AMBER"}})", "TLP:AMBER needs marking.recipients (the node ids it may reach)"},
      {R"({"marking": {"tlp": "AMBER_STRICT"}})", "TLP:AMBER+STRICT needs marking.recipients"},
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

// What classify accepts without a marking, an exchange refuses, in the same words as the rest.
TEST(NoticeCheckTest, AnExchangedNoticeNeedsATlpMarking) {
  const v1::Notice bare = NoticeFromJson(R"({"attributes": {"victim_tier": "large"}})");
  EXPECT_TRUE(CheckNotice(Shipped().registry(), bare).ok());
  auto attrs = CheckNoticeForExchange(Shipped().registry(), bare);
  ASSERT_FALSE(attrs.ok());
  EXPECT_EQ(attrs.status().message(), "marking.tlp is required (CLEAR, GREEN, AMBER, AMBER_STRICT or RED)");
  EXPECT_TRUE(CheckNoticeForExchange(Shipped().registry(), NoticeFromJson(R"({"marking": {"tlp": "CLEAR"}})")).ok());
}

// An id is checked where it becomes a key: in an exchange. Offline it is a label.
TEST(NoticeCheckTest, AnExchangedNoticeNeedsAnIdOfTheExchangesSyntax) {
  struct Case {
    const char* json;
    const char* message;
  } cases[] = {
      {R"({"id": "two words"})", "id 'two words' must be 1–128 letters, digits, '-', '.', '_' or ':' (a UUID)"},
      {R"({"id": "a/b"})", "id 'a/b' must be 1–128 letters"},
      {R"({"id": "esc\u001b[2Jnl\n"})", "id 'esc\\x1b[2Jnl\\n' must be"},
  };
  for (const auto& c : cases) {
    const v1::Notice n = NoticeFromJson(
        absl::StrCat(R"({"marking": {"tlp": "CLEAR"}, )", std::string(c.json).substr(1)));
    EXPECT_TRUE(CheckNotice(Shipped().registry(), n).ok()) << c.json;
    auto attrs = CheckNoticeForExchange(Shipped().registry(), n);
    ASSERT_FALSE(attrs.ok()) << c.json;
    EXPECT_THAT(std::string(attrs.status().message()), HasSubstr(c.message)) << c.json;
  }
  const v1::Notice long_id = NoticeFromJson(absl::StrCat(R"({"marking": {"tlp": "CLEAR"}, "id": ")",
                                                         std::string(100000, 'x'), R"("})"));
  auto attrs = CheckNoticeForExchange(Shipped().registry(), long_id);
  ASSERT_FALSE(attrs.ok());
  EXPECT_LT(attrs.status().message().size(), 400u) << "a long id is cut in the message";
}

TEST(NoticeCheckTest, NoticeIds) {
  EXPECT_TRUE(IsNoticeId("3f6c2a1e-9b4d-4c1a-8e2f-5a6b7c8d9e0f"));
  EXPECT_TRUE(IsNoticeId("cl.csirt:2026_11-1"));
  EXPECT_TRUE(IsNoticeId(std::string(128, 'a')));
  EXPECT_FALSE(IsNoticeId(std::string(129, 'a')));
  EXPECT_FALSE(IsNoticeId(""));
  EXPECT_FALSE(IsNoticeId("caf\xc3\xa9"));
  EXPECT_FALSE(IsNoticeId("a\nb"));
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
