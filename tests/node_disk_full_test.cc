// Fault injection at process level: the disk under a node's store fills up (a small tmpfs,
// mounted for the test; it needs root and skips otherwise). Submissions are refused with a
// clear error and /healthz says why; nothing stored before is lost; when space returns the node
// takes submissions again and every notice reaches the peer exactly once.
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node_support.h"
#include "skip_support.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
using sevex::testing::HttpGet;
using sevex::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";

std::string Notices(const std::string& prefix, int first, int n) {
  std::vector<std::string> out;
  for (int i = first; i < first + n; ++i) {
    out.push_back(absl::StrCat(R"({"id": ")", prefix, i, R"(", "title": "Compromised legacy server )", i,
                               R"(", "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"},)",
                               R"("marking": {"tlp": "GREEN"}, "attributes": {"victim_tier": "national", )",
                               R"("impact_kind": "extensive_compromise", "unauthorised_access": true}})"));
  }
  return absl::StrCat("[", absl::StrJoin(out, ","), "]");
}

uint64_t FreeBytes(const fs::path& p) {
  struct statvfs st;
  return statvfs(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.f_bavail) * st.f_frsize : 0;
}

class NodeDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / absl::StrCat("sevex-disk-full-", ::getpid());
    fs::remove_all(dir_);
    disk_ = dir_ / "disk";
    fs::create_directories(disk_);
    if (::mount("tmpfs", disk_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m") != 0) {
      SEVEX_SKIP_OUTSIDE_CI("cannot mount a tmpfs for the store (needs root): " << std::strerror(errno));
    }
    mounted_ = true;
    LocalNetwork::Spec spec;
    spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}};
    spec.links = {{kCl, kUk}};
    auto net = LocalNetwork::Create((dir_ / "net").string(), SEVEX_BINARY, spec);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    // The origin's store goes on the small disk.
    std::ifstream in(net_->ConfigPath(kCl));
    std::stringstream text;
    text << in.rdbuf();
    in.close();
    const std::string moved = absl::StrReplaceAll(
        text.str(), {{absl::StrCat("store_path: \"", kCl, ".db\""), absl::StrCat("store_path: \"", (disk_ / "cl.db").string(), "\"")}});
    ASSERT_NE(moved, text.str());
    std::ofstream(net_->ConfigPath(kCl)) << moved;
    ASSERT_TRUE(net_->StartAll().ok());
  }
  void TearDown() override {
    if (net_) {
      EXPECT_TRUE(net_->StopAll().ok());
    }
    net_.reset();
    if (mounted_) ::umount2(disk_.c_str(), MNT_DETACH);
    fs::remove_all(dir_);
  }

  std::set<std::string> ReceivedIds() {
    std::set<std::string> ids;
    auto inbox = net_->Inbox(kUk);
    if (!inbox.ok()) return ids;
    for (const auto& e : inbox->inbox()) {
      EXPECT_TRUE(ids.insert(e.notice().id()).second) << "twice in the inbox: " << e.notice().id();
    }
    return ids;
  }

  fs::path dir_;
  fs::path disk_;
  bool mounted_ = false;
  std::unique_ptr<LocalNetwork> net_;
};

TEST_F(NodeDiskFullTest, SubmissionsRefusedWhileFullNothingLostAndRecoveryWhenSpaceReturns) {
  const std::string metrics = net_->MetricsAddress(kCl);
  // Some notices go through while there is room.
  int next = 0;
  ASSERT_TRUE(net_->Submit(kCl, Notices("d-", next, 50), /*wait=*/true).ok());
  next += 50;
  ASSERT_TRUE(WaitFor([&] { return ReceivedIds().size() == 50; }));

  // The peer goes away, so that what is submitted next waits in the outbox; then the disk fills:
  // a filler leaves a little room, and submissions go on until the store refuses.
  ASSERT_TRUE(net_->Stop(kUk).ok());
  const fs::path filler = disk_ / "filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(64 * 1024, 'x');
    while (FreeBytes(disk_) > 256 * 1024 && out.write(block.data(), block.size())) {
      out.flush();
    }
  }
  std::string refusal;
  for (int attempt = 0; attempt < 200 && refusal.empty(); ++attempt) {
    auto r = net_->Submit(kCl, Notices("d-", next, 20));
    if (r.ok()) {
      next += 20;
    } else {
      refusal = std::string(r.status().message());
    }
  }
  const int stored = next;
  ASSERT_FALSE(refusal.empty()) << "the store never filled";
  EXPECT_THAT(refusal, HasSubstr("not stored"));
  EXPECT_THAT(refusal, HasSubstr("full"));
  EXPECT_EQ(HttpGet(metrics, "/healthz").status, 503u);
  EXPECT_GT(stored, 50);

  // Everything acknowledged before the disk filled is still there.
  auto own = net_->Inbox(kCl, /*own=*/true);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->inbox_size(), stored);

  // The peer returns while the origin's disk is still full: it receives and stores the queued
  // notices. Whether the origin can store their outcome depends on whether SQLite still has
  // room inside the files it holds (a log checkpointed to its end is written from its start
  // again, with no new space): if it cannot, the items stay pending and /healthz says so; if it
  // can, they are settled and the store reports itself writable again. Either way nothing is
  // lost and nothing arrives twice, below.
  ASSERT_TRUE(net_->Start(kUk).ok());
  ASSERT_TRUE(WaitFor([&] { return static_cast<int>(ReceivedIds().size()) == stored; }))
      << "the peer has " << ReceivedIds().size() << " of " << stored;
  auto pending = [&]() -> int64_t {
    v1::ApiRequest request;
    request.mutable_outbox();
    auto r = net_->Call(kCl, request);
    return r.ok() && r->outbox_size() == 1 ? static_cast<int64_t>(r->outbox(0).pending()) : -1;
  };
  const int64_t pending_while_full = pending();
  ASSERT_GE(pending_while_full, 0) << "the origin's outbox cannot be read";
  if (pending_while_full == 0) {
    EXPECT_EQ(HttpGet(metrics, "/healthz").status, 200u) << "every outcome was stored, yet the store says it cannot write";
  }

  // Space returns: the outcomes are stored (the items are sent again, the peer answers that it
  // has them), submissions are taken again, and every notice is at the peer exactly once.
  fs::remove(filler);
  ASSERT_TRUE(WaitFor([&] { return pending() == 0; })) << "outbox items stay pending after the disk recovered";
  auto after = net_->Submit(kCl, Notices("d-", stored, 30), /*wait=*/true);
  ASSERT_TRUE(after.ok()) << after.status();
  const int total = stored + 30;
  EXPECT_EQ(HttpGet(metrics, "/healthz").status, 200u);
  ASSERT_TRUE(WaitFor([&] { return static_cast<int>(ReceivedIds().size()) == total; }));
  std::set<std::string> ids = ReceivedIds();
  for (int i = 0; i < total; ++i) EXPECT_TRUE(ids.contains(absl::StrCat("d-", i))) << i;
  own = net_->Inbox(kCl, /*own=*/true);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->inbox_size(), total);
}

}  // namespace
}  // namespace sevex::node
