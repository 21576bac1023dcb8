// Fault injection at process level: the origin's store cannot fsync (the "sevex-fault" VFS,
// armed from outside through the SEVEX_TEST_STORE_FAULTS control file). `sevex submit` is
// refused with what and why, /healthz answers 503 with the reason, acknowledgements whose
// outcome cannot be stored are retried; when fsync works again the node takes submissions
// without a restart and every notice accepted reaches the peer exactly once. A node killed while
// fsync fails does not come back with a submission it refused.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node_support.h"
#include "process_support.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
using sevex::testing::HttpGet;
using sevex::testing::HttpReply;
using sevex::testing::Sample;
using sevex::testing::WaitFor;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";

std::string NoticeJson(const std::string& id) {
  return absl::StrCat(
      R"({"id": ")", id, R"(", "title": "Compromised legacy server )", id,
      R"(", "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"},)",
      R"("marking": {"tlp": "GREEN"}, "attributes": {"victim_tier": "national", )",
      R"("impact_kind": "extensive_compromise", "unauthorised_access": true}})");
}

std::vector<std::string> Ids(const std::string& prefix, int first, int n) {
  std::vector<std::string> ids;
  for (int i = first; i < first + n; ++i) ids.push_back(absl::StrCat(prefix, i));
  return ids;
}

std::string Notices(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) out.push_back(NoticeJson(id));
  return absl::StrCat("[", absl::StrJoin(out, ","), "]");
}

// Runs the `sevex` command; its exit code and what it printed (stdout and stderr).
sevex::testing::Outcome Sevex(const std::string& args) {
  return sevex::testing::Shell(absl::StrCat("'", SEVEX_BINARY, "' ", args, " 2>&1"));
}

class NodeFsyncFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("sevex-fsync-failure-", ::getpid());
    fs::remove_all(dir_);
    LocalNetwork::Spec spec;
    spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}};
    spec.links = {{kCl, kUk}};
    auto net = LocalNetwork::Create((dir_ / "net").string(), SEVEX_BINARY, spec);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    faults_ = dir_ / "cl-store-faults";
    ASSERT_TRUE(net_->Start(kUk).ok());
    ASSERT_TRUE(StartOrigin().ok());
  }
  void TearDown() override {
    if (net_) {
      EXPECT_TRUE(net_->StopAll().ok());
    }
    net_.reset();
    fs::remove_all(dir_);
  }

  absl::Status StartOrigin() {
    return net_->Start(kCl, {}, {absl::StrCat("--test-store-faults=", faults_.string())});
  }
  void ArmFsyncFailure() { std::ofstream(faults_).close(); }
  void Disarm() { fs::remove(faults_); }

  // The peer's inbox, by id; every id at most once.
  std::multiset<std::string> Received() {
    std::multiset<std::string> ids;
    auto inbox = net_->Inbox(kUk);
    if (!inbox.ok()) return ids;
    for (const auto& e : inbox->inbox()) ids.insert(e.notice().id());
    return ids;
  }
  std::set<std::string> OwnAtOrigin() {
    std::set<std::string> ids;
    auto own = net_->Inbox(kCl, /*own=*/true);
    EXPECT_TRUE(own.ok()) << own.status();
    if (own.ok()) {
      for (const auto& e : own->inbox()) ids.insert(e.notice().id());
    }
    return ids;
  }
  int64_t Pending() {
    v1::ApiRequest request;
    request.mutable_outbox();
    auto r = net_->Call(kCl, request);
    return r.ok() && r->outbox_size() == 1 ? static_cast<int64_t>(r->outbox(0).pending()) : -1;
  }

  fs::path dir_;
  fs::path faults_;
  std::unique_ptr<LocalNetwork> net_;
};

TEST_F(NodeFsyncFailureTest, SubmissionsRefusedWhileFsyncFailsNothingLostExactlyOnceAfterRecovery) {
  const std::string metrics = net_->MetricsAddress(kCl);
  std::set<std::string> accepted;
  auto submit = [&](const std::vector<std::string>& ids, bool wait) {
    auto r = net_->Submit(kCl, Notices(ids), wait);
    if (r.ok()) accepted.insert(ids.begin(), ids.end());
    return r;
  };

  // Delivered while the disk works.
  ASSERT_TRUE(submit(Ids("ok-", 0, 20), /*wait=*/true).ok());
  ASSERT_TRUE(WaitFor([&] { return Received().size() == 20; }));
  // Queued while the peer is away, so that its acknowledgements arrive while fsync fails.
  ASSERT_TRUE(net_->Stop(kUk).ok());
  ASSERT_TRUE(submit(Ids("queued-", 0, 10), false).ok());
  EXPECT_EQ(Pending(), 10);

  ArmFsyncFailure();
  // The command an analyst runs: refused, saying that nothing was stored and why.
  const fs::path file = dir_ / "refused.json";
  std::ofstream(file) << NoticeJson("refused-cli");
  const auto [code, output] =
      Sevex(absl::StrCat("submit --config '", net_->ConfigPath(kCl), "' '", file.string(), "'"));
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, AllOf(HasSubstr("sevex submit: not stored"), HasSubstr("fsync failed"),
                            HasSubstr("cl.csirt.db")));
  auto refused = net_->Submit(kCl, Notices({"refused-api-0", "refused-api-1"}));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("fsync failed"));
  HttpReply health = HttpGet(metrics, "/healthz");
  EXPECT_EQ(health.status, 503u);
  EXPECT_THAT(health.body, AllOf(HasSubstr("the store cannot write"), HasSubstr("fsync failed")));

  // Reads still work, and show everything accepted before.
  EXPECT_EQ(OwnAtOrigin(), accepted);

  // The peer returns: it stores the queued notices, but the origin cannot store the outcome, so
  // they stay pending there and are sent again until it can.
  ASSERT_TRUE(net_->Start(kUk).ok());
  ASSERT_TRUE(WaitFor([&] { return Received().size() == 30; })) << Received().size();
  // The outcomes of the ten cannot be stored: after a pause the outbox sends them again, and the
  // peer answers each as a duplicate.
  const auto duplicates = [&] {
    return Sample(HttpGet(net_->MetricsAddress(kUk), "/metrics").body,
                  "sevex_notices_duplicate_total{peer=\"cl.csirt\"}")
        .value_or(0);
  };
  ASSERT_TRUE(WaitFor([&] { return duplicates() >= 10; }, std::chrono::seconds(30)))
      << "duplicates at the peer: " << duplicates();
  EXPECT_EQ(Pending(), 10);
  EXPECT_EQ(HttpGet(metrics, "/healthz").status, 503u);

  // fsync works again: no restart needed.
  Disarm();
  ASSERT_TRUE(WaitFor([&] { return Pending() == 0; })) << "outbox items stay pending after fsync recovered";
  auto after = submit(Ids("after-", 0, 10), /*wait=*/true);
  ASSERT_TRUE(after.ok()) << after.status();
  for (const auto& s : after->submitted()) {
    ASSERT_EQ(s.receipts_size(), 1);
    EXPECT_EQ(s.receipts(0).status(), v1::Receipt::DELIVERED) << s.id();
  }
  health = HttpGet(metrics, "/healthz");
  EXPECT_EQ(health.status, 200u) << health.body;
  // What was refused was not stored: the same id is a new notice now.
  ASSERT_TRUE(submit({"refused-api-0"}, /*wait=*/true).ok());

  ASSERT_TRUE(WaitFor([&] { return Received().size() == accepted.size(); }));
  const std::multiset<std::string> received = Received();
  EXPECT_EQ(std::set<std::string>(received.begin(), received.end()), accepted);
  EXPECT_EQ(received.size(), accepted.size()) << "a notice reached the peer twice";
  EXPECT_EQ(OwnAtOrigin(), accepted);
  EXPECT_EQ(Pending(), 0);
}

// Regression: a submission refused because fsync failed came back when the node restarted
// before its next successful commit (SQLite's recovery replayed the refused transaction from
// the write-ahead log), and was then delivered.
TEST_F(NodeFsyncFailureTest, ASubmissionRefusedBeforeACrashDoesNotComeBack) {
  ASSERT_TRUE(net_->Submit(kCl, Notices({"before"}), /*wait=*/true).ok());
  ArmFsyncFailure();
  auto refused = net_->Submit(kCl, Notices({"refused"}));
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("fsync failed"));
  net_->Kill(kCl);  // while the disk still fails
  Disarm();
  ASSERT_TRUE(StartOrigin().ok());

  EXPECT_EQ(OwnAtOrigin(), std::set<std::string>({"before"}));
  auto again = net_->Submit(kCl, Notices({"refused", "after"}), /*wait=*/true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->submitted(0).revision(), 1u);
  ASSERT_TRUE(WaitFor([&] { return Received().size() == 3; }));
  EXPECT_EQ(Received(), std::multiset<std::string>({"after", "before", "refused"}));
}

}  // namespace
}  // namespace sevex::node
