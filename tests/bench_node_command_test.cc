// `sevex bench node --peers N` as an operator runs it: real node processes on 127.0.0.1, every
// notice of the fan-out and of the mixed load accounted for, one descriptor per session, and
// nothing left running or on disk afterwards.
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "process_support.h"

namespace {

namespace fs = std::filesystem;
using sevex::testing::Outcome;
using sevex::testing::ProcessesMentioning;
using sevex::testing::Shell;
using ::testing::HasSubstr;

class BenchNodeCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sevex-bench-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    tmpdir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(tmpdir_); }

  Outcome Bench(const std::string& options) {
    return Shell(absl::StrCat("TMPDIR='", tmpdir_, "' ", SEVEX_BINARY, " bench node ", options));
  }

  std::string tmpdir_;
};

double Number(const google::protobuf::Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  EXPECT_NE(it, s.fields().end()) << key;
  return it == s.fields().end() ? -1 : it->second.number_value();
}

TEST_F(BenchNodeCommandTest, FourPeersEveryDeliveryAccountedForAndNothingLeft) {
  const Outcome run = Bench("--peers 4 --fanouts 3 --duration 2 --rate 10 --format json 2>/dev/null");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  google::protobuf::Struct out;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &out).ok()) << run.out;

  EXPECT_EQ(Number(out, "peers"), 4);
  // Each peer's session is one descriptor at the origin.
  EXPECT_EQ(Number(out, "origin_idle_fds") - Number(out, "origin_alone_fds"), 4);
  EXPECT_GT(Number(out, "origin_idle_rss_kib"), Number(out, "origin_alone_rss_kib") * 0.5);
  // Fan-out: three notices, each timed to its fourth receipt.
  EXPECT_EQ(Number(out, "fanout_notices"), 3);
  EXPECT_GT(Number(out, "fanout_ms_p50"), 0);
  EXPECT_LE(Number(out, "fanout_ms_p50"), Number(out, "fanout_ms_max"));
  // Mixed load, 2 s at 10/s: 20 origin notices, of every ten one RED (one recipient), two
  // AMBER (five named, so all four here) and seven GREEN (all four); and 20 / 4 = 5 notices
  // from peers to the origin. Every one was delivered (a missing receipt fails the run).
  EXPECT_EQ(Number(out, "mixed_origin_notices"), 20);
  EXPECT_EQ(Number(out, "mixed_peer_notices"), 5);
  EXPECT_EQ(Number(out, "mixed_deliveries"), 2 * 1 + 4 * 4 + 14 * 4 + 5);
  EXPECT_GT(Number(out, "mixed_origin_ms_p99"), 0);
  EXPECT_GT(Number(out, "all_processes_pss_kib"), 0);

  EXPECT_THAT(ProcessesMentioning(tmpdir_), ::testing::IsEmpty());
  EXPECT_TRUE(fs::is_empty(tmpdir_)) << "the bench's directory is removed";
}

TEST_F(BenchNodeCommandTest, TextReportNamesWhatItMeasured) {
  const Outcome run = Bench("--peers 2 --fanouts 2 --duration 0 2>/dev/null");
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("node, 2 peers: 3 processes on 127.0.0.1"));
  EXPECT_THAT(run.out, HasSubstr("KiB per session"));
  EXPECT_THAT(run.out, HasSubstr("fan-out: one GREEN notice to all 2 peers"));
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("mixed load")));
  EXPECT_THAT(ProcessesMentioning(tmpdir_), ::testing::IsEmpty());
}

TEST_F(BenchNodeCommandTest, BadOptionsAreRefusedBeforeAnythingStarts) {
  Outcome r = Bench("--peers 0 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("--peers 0: expected a positive number"));
  r = Bench("--peers 501 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("--peers: at most 500"));
  r = Bench("--peers 2 --rate 0 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("--rate 0"));
  r = Bench("--fanouts 3 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("--fanouts goes with --peers"));
  EXPECT_TRUE(fs::is_empty(tmpdir_));
}

}  // namespace
