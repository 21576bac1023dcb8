// Node clocks that disagree (the SEVEX_TEST_CLOCK_OFFSET_MS test seam, node/clock.h): three
// states on 127.0.0.1, cl.csirt on the system clock, uk.ncsc a day behind, au.asd a day ahead,
// each linked to the other two. Exchange works exactly once in every direction and nothing is
// refused for the skew; every time a node shows is on its own clock (received_at, `inbox
// --since`, the outbox's oldest age), and no age is negative — also when a node's clock is set
// back while items wait in its outbox. A malformed offset is refused.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node_support.h"
#include "process_support.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
using sevex::testing::HttpGet;
using sevex::testing::Sample;
using sevex::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kCl[] = "cl.csirt";  // the system clock
constexpr char kUk[] = "uk.ncsc";   // a day behind
constexpr char kAu[] = "au.asd";    // a day ahead
constexpr int64_t kDayMs = 24 * 3600 * 1000;
// Generous: the machine is shared, and a node stamps a notice some time after it was sent.
constexpr int64_t kSlackMs = 120 * 1000;

int64_t SystemMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string NoticeJson(const std::string& id) {
  return absl::StrCat(
      R"({"id": ")", id, R"(", "title": "Compromised legacy server )", id,
      R"(", "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"},)",
      R"("marking": {"tlp": "GREEN"}, "attributes": {"victim_tier": "national", )",
      R"("impact_kind": "extensive_compromise", "unauthorised_access": true}})");
}

std::string Notices(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(NoticeJson(absl::StrCat(prefix, i)));
  return absl::StrCat("[", absl::StrJoin(out, ","), "]");
}

// Runs the `sevex` command with extra environment; its exit code and output.
sevex::testing::Outcome Sevex(const std::string& env, const std::string& args) {
  return sevex::testing::Shell(absl::StrCat("env ", env, " '", SEVEX_BINARY, "' ", args, " 2>&1"));
}

class NodeClockSkewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("sevex-clock-skew-", ::getpid(), "-",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    LocalNetwork::Spec spec;
    spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}, {kAu, "au-asd", false, ""}};
    spec.links = {{kCl, kUk}, {kCl, kAu}, {kUk, kAu}};
    auto net = LocalNetwork::Create(dir_.string(), SEVEX_BINARY, spec);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    for (const char* id : {kCl, kUk, kAu}) ASSERT_TRUE(Start(id).ok()) << id;
  }
  void TearDown() override {
    if (net_) {
      EXPECT_TRUE(net_->StopAll().ok());
    }
    net_.reset();
    fs::remove_all(dir_);
  }

  absl::Status Start(const std::string& id) {
    return net_->Start(id, {}, {absl::StrCat("--test-clock-offset-ms=", offsets_[id])});
  }
  // The environment that puts an operator's command on `id`'s machine: its clock.
  std::string Env(const std::string& id) { return absl::StrCat("SEVEX_TEST_CLOCK_OFFSET_MS=", offsets_[id]); }
  sevex::testing::Outcome Command(const std::string& id, const std::string& args) {
    return Sevex(Env(id), absl::StrCat(args, " --config '", net_->ConfigPath(id), "'"));
  }

  std::multiset<std::string> Received(const std::string& id) {
    std::multiset<std::string> ids;
    auto inbox = net_->Inbox(id);
    if (inbox.ok()) {
      for (const auto& e : inbox->inbox()) ids.insert(e.notice().id());
    }
    return ids;
  }

  // The OLDEST column of `sevex outbox` for `peer`, run on `node`'s machine.
  std::string OldestShown(const std::string& node, const std::string& peer) {
    const auto [code, out] = Command(node, "outbox");
    EXPECT_EQ(code, 0) << out;
    for (absl::string_view line : absl::StrSplit(out, '\n')) {
      std::vector<std::string> cols = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (cols.size() >= 6 && cols[0] == peer) return cols[3];
    }
    ADD_FAILURE() << "no line for " << peer << " in:\n" << out;
    return "";
  }

  // `node`'s gauge sevex_peer_oldest_pending_seconds for `peer`; -1e9 when it is missing.
  double OldestPendingSeconds(const std::string& node, const std::string& peer) {
    return Sample(HttpGet(net_->MetricsAddress(node), "/metrics").body,
                  absl::StrCat("sevex_peer_oldest_pending_seconds{peer=\"", peer, "\"}"))
        .value_or(-1e9);
  }

  fs::path dir_;
  std::map<std::string, int64_t> offsets_ = {{kCl, 0}, {kUk, -kDayMs}, {kAu, kDayMs}};
  std::unique_ptr<LocalNetwork> net_;
};

TEST_F(NodeClockSkewTest, ExchangeWorksExactlyOnceAndEachNodeShowsItsOwnClock) {
  const int64_t start = SystemMs();
  for (const char* origin : {kCl, kUk, kAu}) {
    auto r = net_->Submit(origin, Notices(absl::StrCat(origin, "-"), 5), /*wait=*/true);
    ASSERT_TRUE(r.ok()) << origin << ": " << r.status();
    for (const auto& s : r->submitted()) {
      ASSERT_EQ(s.receipts_size(), 2) << s.id();
      for (const auto& receipt : s.receipts()) {
        EXPECT_EQ(receipt.status(), v1::Receipt::DELIVERED)
            << s.id() << " to " << receipt.recipient() << ": " << receipt.reason_code() << " "
            << receipt.reason();
      }
    }
  }
  for (const char* node : {kCl, kUk, kAu}) {
    ASSERT_TRUE(WaitFor([&] { return Received(node).size() == 10; }))
        << node << " has " << Received(node).size();
  }
  const int64_t end = SystemMs();

  for (const char* node : {kCl, kUk, kAu}) {
    SCOPED_TRACE(node);
    // Exactly once, from the two others.
    std::multiset<std::string> expected;
    for (const char* origin : {kCl, kUk, kAu}) {
      if (origin == std::string(node)) continue;
      for (int i = 0; i < 5; ++i) expected.insert(absl::StrCat(origin, "-", i));
    }
    EXPECT_EQ(Received(node), expected);

    // received_at is this node's clock, whatever the sender's.
    const int64_t offset = offsets_[node];
    auto inbox = net_->Inbox(node);
    ASSERT_TRUE(inbox.ok());
    for (const auto& e : inbox->inbox()) {
      EXPECT_GE(e.received_at_ms(), start + offset - kSlackMs) << e.notice().id();
      EXPECT_LE(e.received_at_ms(), end + offset + kSlackMs) << e.notice().id();
    }
    // So is its own notices' time, and the status' start time.
    auto own = net_->Inbox(node, /*own=*/true);
    ASSERT_TRUE(own.ok());
    ASSERT_EQ(own->inbox_size(), 5);
    for (const auto& e : own->inbox()) {
      EXPECT_NEAR(static_cast<double>(e.received_at_ms()), static_cast<double>(start + offset), kSlackMs);
    }

    // `inbox --since 1h` on the node's machine lists everything just received, and nothing older
    // than an hour by that clock: the last 10 minutes, on a clock a day off from its peers'.
    const sevex::testing::Outcome received = Command(node, "inbox --since 1h --format jsonl");
    EXPECT_EQ(received.exit_code, 0) << received.out;
    EXPECT_EQ(std::count(received.out.begin(), received.out.end(), '\n'), 10) << received.out;
    const sevex::testing::Outcome own_listed = Command(node, "inbox --since 2h --own --format jsonl");
    EXPECT_EQ(own_listed.exit_code, 0) << own_listed.out;
    EXPECT_EQ(std::count(own_listed.out.begin(), own_listed.out.end(), '\n'), 5) << own_listed.out;

    // Nothing waits; nothing is old.
    for (const char* peer : {kCl, kUk, kAu}) {
      if (peer == std::string(node)) continue;
      EXPECT_EQ(OldestShown(node, peer), "-") << peer;
    }
  }
}

TEST_F(NodeClockSkewTest, OldestPendingAgeIsOnTheNodesOwnClockAndNeverNegative) {
  // uk.ncsc goes away; the two others queue notices for it, each on its own clock.
  ASSERT_TRUE(net_->Stop(kUk).ok());
  for (const char* origin : {kCl, kAu}) {
    ASSERT_TRUE(net_->Submit(origin, Notices(absl::StrCat(origin, "-"), 3)).ok()) << origin;
  }
  for (const char* node : {kCl, kAu}) {
    SCOPED_TRACE(node);
    // The items age on the node's clock: wait until the oldest is a second old.
    ASSERT_TRUE(WaitFor([&] { return OldestPendingSeconds(node, kUk) >= 1.0; }, std::chrono::seconds(30)));
    EXPECT_THAT(OldestShown(node, kUk), MatchesRegex("[0-9]+s"));
    const double age = OldestPendingSeconds(node, kUk);
    EXPECT_GE(age, 1.0);
    EXPECT_LT(age, kSlackMs / 1000.0);
  }

  // uk.ncsc returns, a day behind both: everything is delivered once, nothing is pending.
  ASSERT_TRUE(Start(kUk).ok());
  ASSERT_TRUE(WaitFor([&] { return Received(kUk).size() == 6; }));
  ASSERT_TRUE(WaitFor([&] { return OldestShown(kCl, kUk) == "-" && OldestShown(kAu, kUk) == "-"; }));
  EXPECT_EQ(Received(kUk), std::multiset<std::string>({"au.asd-0", "au.asd-1", "au.asd-2", "cl.csirt-0",
                                                       "cl.csirt-1", "cl.csirt-2"}));
}

// Regression: `sevex outbox` and `sevex status` printed a negative age ("-86398s") for items
// queued before the node's clock was set back, as when NTP corrects a clock that ran ahead.
TEST_F(NodeClockSkewTest, OldestAgeIsNotNegativeAfterTheClockIsSetBack) {
  ASSERT_TRUE(net_->Stop(kUk).ok());
  ASSERT_TRUE(net_->Submit(kAu, Notices("ahead-", 2)).ok());
  ASSERT_TRUE(net_->Stop(kAu).ok());
  offsets_[kAu] = 0;  // au.asd's clock is corrected: a day back
  ASSERT_TRUE(Start(kAu).ok());

  EXPECT_EQ(OldestShown(kAu, kUk), "0s");
  const auto [code, out] = Command(kAu, "status");
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, Not(HasSubstr(" -8"))) << out;
  const double age = OldestPendingSeconds(kAu, kUk);
  EXPECT_EQ(age, 0.0);

  // The items still go, once.
  ASSERT_TRUE(Start(kUk).ok());
  ASSERT_TRUE(WaitFor([&] { return Received(kUk).size() == 2; }));
  ASSERT_TRUE(WaitFor([&] { return OldestShown(kAu, kUk) == "-"; }));
  EXPECT_EQ(Received(kUk), std::multiset<std::string>({"ahead-0", "ahead-1"}));
}

TEST_F(NodeClockSkewTest, AMalformedOffsetIsRefusedAtStart) {
  const auto [code, out] =
      Sevex("", absl::StrCat("node --check --test-clock-offset-ms=tomorrow --config '", net_->ConfigPath(kCl), "'"));
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--test-clock-offset-ms 'tomorrow': not a whole number of milliseconds"));
}

// The serving node reads no test seam from its environment: an offset there shifts nothing.
TEST_F(NodeClockSkewTest, TheNodeIgnoresTheEnvironmentsOffset) {
  const auto [code, out] = Sevex("SEVEX_TEST_CLOCK_OFFSET_MS=tomorrow",
                                 absl::StrCat("node --check --config '", net_->ConfigPath(kCl), "'"));
  EXPECT_EQ(code, 0) << out;
}

}  // namespace
}  // namespace sevex::node
