// engine/json_reader: JSON into protobuf messages per the proto3 JSON mapping, with errors
// that name the field. Untrusted input: every malformed case must be refused, never crash.
#include "engine/json_reader.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "sevex/v1/assessment.pb.h"
#include "sevex/v1/notice.pb.h"
#include "sevex/v1/policy.pb.h"

namespace sevex::engine {
namespace {

using ::testing::HasSubstr;

TEST(JsonReaderTest, ReadsEveryKindOfFieldANoticeHas) {
  JsonReader reader;
  v1::Notice n;
  ASSERT_TRUE(reader
                  .Read(R"({
    "id": "7c0e0e7e-1111-4222-8333-944445555666", "origin": "cl.csirt", "revision": 3,
    "detected_at": "2026-11-20T08:00:00Z", "createdAt": "2026-11-20T09:30:00.250Z",
    "title": "t", "summary": "s",
    "classification": {"rsit_class": "availability", "rsitType": "ddos"},
    "attributes": {"victim_tier": "national", "deaths": 2, "ratio": 0.5, "flag": true, "nothing": null,
                   "list": [1, "a"], "obj": {"k": false}},
    "marking": {"tlp": "AMBER_STRICT", "recipients": ["uk.ncsc", "au.asd"]},
    "origin_assessment": {"scheme": "au-asd", "level": "C2", "shared": {"low": 0, "high": 89, "point": 12.5},
                          "exact": true, "explanation": [{"step": "cell", "outcome": "FIRED", "read": ["a=b"]}]},
    "retracted": false
  })",
                        &n)
                  .ok());
  EXPECT_EQ(n.origin(), "cl.csirt");
  EXPECT_EQ(n.revision(), 3u);
  EXPECT_EQ(google::protobuf::util::TimeUtil::ToString(n.detected_at()), "2026-11-20T08:00:00Z");
  EXPECT_EQ(n.created_at().nanos(), 250000000);
  EXPECT_EQ(n.classification().rsit_type(), "ddos");
  EXPECT_EQ(n.attributes().at("victim_tier").string_value(), "national");
  EXPECT_EQ(n.attributes().at("deaths").number_value(), 2);
  EXPECT_EQ(n.attributes().at("ratio").number_value(), 0.5);
  EXPECT_TRUE(n.attributes().at("flag").bool_value());
  EXPECT_EQ(n.attributes().at("nothing").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_EQ(n.attributes().at("list").list_value().values(1).string_value(), "a");
  EXPECT_FALSE(n.attributes().at("obj").struct_value().fields().at("k").bool_value());
  EXPECT_EQ(n.marking().tlp(), v1::Marking::AMBER_STRICT);
  ASSERT_EQ(n.marking().recipients_size(), 2);
  EXPECT_EQ(n.origin_assessment().level(), "C2");
  EXPECT_TRUE(n.origin_assessment().shared().has_low());  // proto3 optional: 0 is present
  EXPECT_EQ(n.origin_assessment().shared().low(), 0);
  EXPECT_EQ(n.origin_assessment().shared().point(), 12.5);
  EXPECT_EQ(n.origin_assessment().explanation(0).outcome(), v1::ExplanationStep::FIRED);
}

TEST(JsonReaderTest, IntegersAsStringsAndEnumsByNumber) {
  JsonReader reader;
  v1::Notice n;
  ASSERT_TRUE(reader.Read(R"({"revision": "7", "marking": {"tlp": 3}})", &n).ok());
  EXPECT_EQ(n.revision(), 7u);
  EXPECT_EQ(n.marking().tlp(), v1::Marking::AMBER);
}

TEST(JsonReaderTest, NullLeavesAFieldUnset) {
  JsonReader reader;
  v1::Notice n;
  ASSERT_TRUE(reader.Read(R"({"title": null, "marking": null})", &n).ok());
  EXPECT_EQ(n.title(), "");
  EXPECT_FALSE(n.has_marking());
}

struct Bad {
  const char* json;
  const char* message;
};

class JsonReaderRefusesTest : public ::testing::TestWithParam<Bad> {};

TEST_P(JsonReaderRefusesTest, NamesWhatIsWrong) {
  JsonReader reader;
  v1::Notice n;
  const absl::Status s = reader.Read(GetParam().json, &n);
  ASSERT_FALSE(s.ok()) << GetParam().json;
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonReaderRefusesTest,
    ::testing::Values(Bad{R"({"bogus": 1})", "bogus: unknown field of Notice"},
                      Bad{R"({"classification": {"class": "x"}})", "classification.class: unknown field"},
                      Bad{R"({"revision": -1})", "revision: not a whole number in range"},
                      Bad{R"({"revision": 1.5})", "revision: not a whole number in range"},
                      Bad{R"({"revision": 4294967296})", "revision: not a whole number in range"},
                      Bad{R"({"revision": "seven"})", "revision: not a whole number in range"},
                      Bad{R"({"revision": true})", "revision: expected a whole number, got a boolean"},
                      Bad{R"({"title": 5})", "title: expected a string, got a number"},
                      Bad{R"({"retracted": "yes"})", "retracted: expected true or false"},
                      Bad{R"({"marking": {"tlp": "AMBR"}})", "marking.tlp: 'AMBR' is not one of"},
                      Bad{R"({"marking": {"tlp": 42}})", "marking.tlp: 42 is not a value of Tlp"},
                      Bad{R"({"marking": {"recipients": "uk"}})", "marking.recipients: expected an array"},
                      Bad{R"({"marking": {"recipients": [1]}})", "marking.recipients[0]: expected a string"},
                      Bad{R"({"detected_at": "yesterday"})", "detected_at: 'yesterday' is not an RFC 3339 time"},
                      Bad{R"({"detected_at": 1700000000})", "detected_at: expected a string"},
                      Bad{R"({"attributes": []})", "attributes: expected an object"},
                      Bad{R"({"marking": []})", "marking: expected an object, got an array"},
                      Bad{R"([])", "expected an object, got an array"},
                      Bad{R"({"title": "x",})", "not valid JSON"},
                      Bad{R"({"title": "x")", "not valid JSON"},
                      Bad{"", "not valid JSON"},
                      Bad{"{\"title\": \"\xff\xfe\"}", "not valid JSON"}));

TEST(JsonReaderTest, RefusesNestingDeeperThanTheBound) {
  std::string deep;
  for (size_t i = 0; i < JsonReader::kMaxDepth + 10; ++i) deep += "[";
  for (size_t i = 0; i < JsonReader::kMaxDepth + 10; ++i) deep += "]";
  JsonReader reader;
  v1::Notice n;
  const absl::Status s = reader.Read(absl::StrCat(R"({"attributes": {"x": )", deep, "}}"), &n);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("not valid JSON"));
}

TEST(JsonReaderTest, ReadsArraysOfMessagesAndReusesItsBuffers) {
  JsonReader reader;
  std::vector<v1::Notice> out;
  ASSERT_TRUE(reader.ReadArray(R"([{"title": "a"}, {"title": "b"}])", [&](size_t) { return &out.emplace_back(); }).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].title(), "b");
  // A later, larger document through the same reader.
  v1::Notice big;
  const std::string title(200000, 'x');
  ASSERT_TRUE(reader.Read(absl::StrCat(R"({"title": ")", title, "\"}"), &big).ok());
  EXPECT_EQ(big.title().size(), title.size());
  // An error in the third element names its index.
  out.clear();
  const absl::Status s = reader.ReadArray(R"([{}, {}, {"title": 1}])", [&](size_t) { return &out.emplace_back(); });
  EXPECT_THAT(std::string(s.message()), HasSubstr("[2].title: expected a string"));
}

TEST(JsonReaderTest, ReadsPolicyMessagesToo) {
  // The reader is generic over messages: a scheme policy in JSON.
  JsonReader reader;
  v1::SchemePolicy p;
  ASSERT_TRUE(reader.Read(R"({"id": "x", "level": [{"id": "A", "low": 0, "high": 100}],
                              "decision": {"rules": {"otherwise": "A"}}})",
                          &p)
                  .ok());
  EXPECT_EQ(p.level(0).high(), 100);
  EXPECT_EQ(p.decision().rules().otherwise(), "A");
}

}  // namespace
}  // namespace sevex::engine
