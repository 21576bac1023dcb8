// transport/event_log: one JSON object per line by default, the same fields as text for people.
#include "transport/event_log.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sevex/v1/frame.pb.h"

namespace sevex::transport {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSink([this](absl::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override {
    SetLogSink(nullptr);
    SetLogFormat(LogFormat::kJson);
  }
  std::vector<std::string> lines_;
};

// "2026-11-23T12:15:16.195Z": UTC, milliseconds.
constexpr char kTime[] = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9][.][0-9][0-9][0-9]Z";

TEST_F(EventLogTest, JsonLinesCarryTimeLevelEventAndEscapedFields) {
  LogEvent(LogLevel::kWarning, "notice_rejected",
           {{"peer", "uk.ncsc"}, {"notice_id", "n-1"}, {"reason", "bad \"signature\"\nline two"}});
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  ASSERT_TRUE(absl::StartsWith(line, "{\"time\":\"")) << line;
  EXPECT_THAT(line.substr(9, 24), MatchesRegex(kTime));
  EXPECT_EQ(line.substr(33), R"(","level":"warning","event":"notice_rejected","peer":"uk.ncsc","notice_id":"n-1",)"
                             R"("reason":"bad \"signature\"\nline two"})"
                             "\n");
}

// A value from a peer (a certificate subject, a reason) need not be UTF-8; the line must still
// be JSON. The bad bytes were copied through before the log wrote with base::JsonWriter.
TEST_F(EventLogTest, InvalidUtf8AndControlCharactersStayValidJson) {
  LogEvent(LogLevel::kError, "session_refused", {{"subject", "CN=caf\xC3 \xE6\x97\x01\x7f \xE6\x97\xA5"}});
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_THAT(lines_[0], HasSubstr(R"("subject":"CN=caf\ufffd \ufffd\ufffd\u0001\u007f 日"})"));
}

TEST_F(EventLogTest, TextFormatQuotesOnlyWhatNeedsIt) {
  SetLogFormat(LogFormat::kText);
  LogEvent(LogLevel::kError, "store_failed", {{"peer", "au.asd"}, {"reason", "disk full"}, {"empty", ""}});
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  EXPECT_THAT(line.substr(0, 24), MatchesRegex(kTime));
  EXPECT_EQ(line.substr(24), " error store_failed peer=au.asd reason=\"disk full\" empty=\"\"\n");
}

// A frame whose string field is not UTF-8 makes protobuf log an error as it refuses the frame;
// a peer can send one. Routed, it is one event among the others, not a plain-text line.
TEST_F(EventLogTest, ProtobufsOwnMessagesBecomeEvents) {
  RouteProtobufLogs();
  v1::Hello hello;
  hello.set_node_id("uk.ncsc");
  std::string bytes = hello.SerializeAsString();
  bytes.back() = '\xff';  // the last byte of node_id
  v1::Hello parsed;
  EXPECT_FALSE(parsed.ParseFromString(bytes));
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  EXPECT_TRUE(absl::StartsWith(line, "{\"time\":\"")) << line;
  EXPECT_THAT(line, HasSubstr(R"("level":"error","event":"protobuf","source":")"));
  EXPECT_THAT(line, HasSubstr(R"("message":"String field 'sevex.v1.Hello.node_id' contains invalid UTF-8 data)"));
  EXPECT_TRUE(absl::EndsWith(line, "}\n")) << line;
}

}  // namespace
}  // namespace sevex::transport
