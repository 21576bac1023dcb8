// Integration: three states and a hub as real `sevex node` processes on 127.0.0.1.
//
//   cl.csirt ─── uk.ncsc        cl and uk are direct peers;
//        \        /             au.asd is reached only through hub.oas,
//         hub.oas ─── au.asd    which relays from any origin to any peer.
//
// Each test checks what reaches whom, in which scheme, with which receipts at the origin.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node_support.h"
#include "process_support.h"

namespace sevex::node {
namespace {

using sevex::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";
constexpr char kAu[] = "au.asd";
constexpr char kHub[] = "hub.oas";

std::string NoticeJson(const std::string& id, uint32_t revision, const std::string& marking, bool retracted = false) {
  return absl::StrCat(R"({"id": ")", id, R"(", "revision": )", revision, R"(, "detected_at": "2026-11-20T09:15:00Z",
    "title": "Known vulnerability exploited on a legacy test server )", id, R"(",
    "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"},
    "marking": )", marking, retracted ? R"(, "retracted": true)" : "", R"(,
    "attributes": {"victim_tier": "national", "impact_kind": "extensive_compromise",
                   "unauthorised_access": true, "suspected_malicious": true}})");
}

std::string Array(const std::vector<std::string>& notices) { return absl::StrCat("[", absl::StrJoin(notices, ","), "]"); }

class NodeExchangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("sevex-exchange-", ::getpid(), "-", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    LocalNetwork::Spec spec;
    spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}, {kAu, "au-asd", false, ""},
                  {kHub, "eu-nis2", true, ""}};
    spec.links = {{kCl, kUk}, {kCl, kHub}, {kUk, kHub}, {kAu, kHub}};
    auto net = LocalNetwork::Create(dir_.string(), SEVEX_BINARY, spec);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    ASSERT_TRUE(net_->StartAll().ok());
  }
  void TearDown() override {
    if (net_) {
      EXPECT_TRUE(net_->StopAll().ok()) << "every node stops with exit 0 on SIGTERM";
    }
    net_.reset();
    std::filesystem::remove_all(dir_);
  }

  v1::ApiResponse Submit(const std::string& node, const std::string& json, bool wait = true) {
    auto r = net_->Submit(node, json, wait);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ApiResponse();
  }
  // (origin/id/revision) of every notice in `node`'s inbox.
  std::multiset<std::string> Held(const std::string& node) {
    std::multiset<std::string> out;
    auto r = net_->Inbox(node);
    if (!r.ok()) return out;
    for (const auto& e : r->inbox()) out.insert(absl::StrCat(e.notice().origin(), "/", e.notice().id(), "/", e.notice().revision()));
    return out;
  }
  bool Has(const std::string& node, const std::string& origin, const std::string& id, uint32_t revision = 1) {
    return Held(node).contains(absl::StrCat(origin, "/", id, "/", revision));
  }
  // A wrong delivery would travel the queues a GREEN notice from the same origin travels after
  // it, one at a time per peer: once the marker is delivered everywhere (the submission waits for
  // every final receipt), anything sent before it has arrived, or never will.
  void Marker(const std::string& origin) {
    const std::string id = absl::StrCat("marker-", ++markers_);
    const v1::ApiResponse r = Submit(origin, NoticeJson(id, 1, R"({"tlp": "GREEN"})"));
    ASSERT_EQ(r.submitted_size(), 1);
    ASSERT_EQ(r.submitted(0).receipts_size(), 3) << "GREEN reaches every other node";
    for (const auto& receipt : r.submitted(0).receipts()) {
      ASSERT_EQ(receipt.status(), v1::Receipt::DELIVERED) << receipt.recipient();
    }
  }
  const v1::InboxEntry* Find(const v1::ApiResponse& inbox, const std::string& id, uint32_t revision = 1) {
    for (const auto& e : inbox.inbox()) {
      if (e.notice().id() == id && e.notice().revision() == revision) return &e;
    }
    return nullptr;
  }
  static std::map<std::string, v1::Receipt> ByRecipient(const v1::Submitted& s) {
    std::map<std::string, v1::Receipt> out;
    for (const auto& r : s.receipts()) out[r.recipient()] = r;
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<LocalNetwork> net_;
  int markers_ = 0;
};

TEST_F(NodeExchangeTest, GreenReachesEveryStateInItsOwnScheme) {
  const v1::ApiResponse r = Submit(kCl, NoticeJson("green-1", 1, R"({"tlp": "GREEN"})"));
  ASSERT_EQ(r.submitted_size(), 1);
  const v1::Submitted& s = r.submitted(0);
  EXPECT_EQ(s.assessment().scheme(), "cl-ds295");
  EXPECT_THAT(s.recipients(), ::testing::UnorderedElementsAre(kUk, kHub, kAu));
  auto receipts = ByRecipient(s);
  ASSERT_EQ(receipts.size(), 3u);
  for (const char* n : {kUk, kHub, kAu}) EXPECT_EQ(receipts[n].status(), v1::Receipt::DELIVERED) << n;
  EXPECT_EQ(receipts[kAu].reporter(), kHub) << "au's receipt came back through the hub";

  for (const auto& [node, scheme] : std::map<std::string, std::string>{{kUk, "uk-ncsc"}, {kAu, "au-asd"}, {kHub, "eu-nis2"}}) {
    auto inbox = net_->Inbox(node);
    ASSERT_TRUE(inbox.ok()) << inbox.status();
    const v1::InboxEntry* e = Find(*inbox, "green-1");
    ASSERT_NE(e, nullptr) << node;
    EXPECT_EQ(e->notice().origin(), kCl);
    EXPECT_EQ(e->notice().origin_assessment().scheme(), "cl-ds295") << "the origin's assessment travels untouched";
    EXPECT_EQ(e->notice().origin_assessment().level(), s.assessment().level());
    EXPECT_EQ(e->translation().scheme(), scheme) << node;
    EXPECT_FALSE(e->translation().level().empty()) << node << ": " << e->translation().reason();
    EXPECT_NE(e->translation().method(), v1::Translation::method_unspecified);
    EXPECT_EQ(e->received_from(), node == kAu ? kHub : kCl);
  }
}

TEST_F(NodeExchangeTest, AmberGoesOnlyToNamedStatesAndTheHubIsOnlyAConduit) {
  const v1::ApiResponse r = Submit(kUk, NoticeJson("amber-1", 1, R"({"tlp": "AMBER", "recipients": ["au.asd"]})"));
  ASSERT_EQ(r.submitted_size(), 1);
  auto receipts = ByRecipient(r.submitted(0));
  ASSERT_EQ(receipts.size(), 1u);
  EXPECT_EQ(receipts[kAu].status(), v1::Receipt::DELIVERED);
  EXPECT_TRUE(Has(kAu, kUk, "amber-1"));
  Marker(kUk);
  EXPECT_FALSE(Has(kCl, kUk, "amber-1"));
  EXPECT_FALSE(Has(kHub, kUk, "amber-1")) << "a hub that is not named does not list what it passes on";
}

TEST_F(NodeExchangeTest, AmberStrictIsNeverRelayedAndTheOriginSaysWhy) {
  const v1::ApiResponse r =
      Submit(kAu, NoticeJson("strict-1", 1, R"({"tlp": "AMBER_STRICT", "recipients": ["cl.csirt", "hub.oas"]})"));
  ASSERT_EQ(r.submitted_size(), 1);
  const v1::Submitted& s = r.submitted(0);
  EXPECT_THAT(s.recipients(), ::testing::ElementsAre(kHub));
  ASSERT_EQ(s.refused_size(), 1);
  EXPECT_THAT(s.refused(0), HasSubstr("cl.csirt"));
  auto receipts = ByRecipient(s);
  EXPECT_EQ(receipts[kHub].status(), v1::Receipt::DELIVERED);
  EXPECT_EQ(receipts[kCl].status(), v1::Receipt::REFUSED);
  EXPECT_EQ(receipts[kCl].reason_code(), "marking_forbids_relay");
  EXPECT_TRUE(Has(kHub, kAu, "strict-1"));
  Marker(kAu);
  EXPECT_FALSE(Has(kCl, kAu, "strict-1"));
  EXPECT_FALSE(Has(kUk, kAu, "strict-1"));
}

TEST_F(NodeExchangeTest, RedReachesOnlyItsNamedRecipientsAndPassesOnlyNamedHubs) {
  // Direct.
  Submit(kCl, NoticeJson("red-1", 1, R"({"tlp": "RED", "recipients": ["uk.ncsc"]})"));
  EXPECT_TRUE(Has(kUk, kCl, "red-1"));
  // Through a hub that is not named: refused at the origin.
  v1::ApiResponse r = Submit(kCl, NoticeJson("red-2", 1, R"({"tlp": "RED", "recipients": ["au.asd"]})"));
  ASSERT_EQ(r.submitted_size(), 1);
  EXPECT_EQ(r.submitted(0).recipients_size(), 0);
  EXPECT_EQ(ByRecipient(r.submitted(0))[kAu].reason_code(), "marking_forbids_relay");
  // Through a hub that is named: delivered.
  r = Submit(kCl, NoticeJson("red-3", 1, R"({"tlp": "RED", "recipients": ["au.asd", "hub.oas"]})"));
  ASSERT_EQ(r.submitted_size(), 1);
  EXPECT_EQ(ByRecipient(r.submitted(0))[kAu].status(), v1::Receipt::DELIVERED);
  EXPECT_TRUE(Has(kAu, kCl, "red-3"));
  Marker(kCl);
  for (const char* n : {kHub, kAu}) EXPECT_FALSE(Has(n, kCl, "red-1")) << n;
  EXPECT_FALSE(Has(kAu, kCl, "red-2"));
  EXPECT_FALSE(Has(kHub, kCl, "red-2"));
  EXPECT_FALSE(Has(kUk, kCl, "red-3"));
}

TEST_F(NodeExchangeTest, RevisionAndRetractionReachEveryoneWhoHadTheOriginal) {
  Submit(kCl, NoticeJson("rev-1", 1, R"({"tlp": "GREEN"})"));
  Submit(kCl, NoticeJson("rev-1", 2, R"({"tlp": "GREEN"})"));
  const v1::ApiResponse r = Submit(kCl, NoticeJson("rev-1", 3, R"({"tlp": "GREEN"})", /*retracted=*/true));
  ASSERT_EQ(r.submitted_size(), 1);
  for (const auto& [recipient, receipt] : ByRecipient(r.submitted(0))) {
    EXPECT_EQ(receipt.status(), v1::Receipt::DELIVERED) << recipient;
  }
  for (const char* n : {kUk, kHub, kAu}) {
    auto inbox = net_->Inbox(n);
    ASSERT_TRUE(inbox.ok());
    for (uint32_t rev = 1; rev <= 3; ++rev) ASSERT_NE(Find(*inbox, "rev-1", rev), nullptr) << n << " rev " << rev;
    EXPECT_TRUE(Find(*inbox, "rev-1", 3)->notice().retracted()) << n;
    EXPECT_FALSE(Find(*inbox, "rev-1", 2)->notice().retracted()) << n;
  }
  // An old revision again is refused with the next one to use.
  auto again = net_->Submit(kCl, NoticeJson("rev-1", 2, R"({"tlp": "GREEN"})"));
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("the next revision is 4"));
}

TEST_F(NodeExchangeTest, ASignatureAlteredByARelayIsRefusedWithTheReasonAtTheOrigin) {
  ASSERT_TRUE(net_->Stop(kHub).ok());
  ASSERT_TRUE(net_->Start(kHub, {}, {"--test-tamper-relay"}).ok());
  const v1::ApiResponse r = Submit(kCl, NoticeJson("tampered-1", 1, R"({"tlp": "GREEN"})"));
  ASSERT_EQ(r.submitted_size(), 1);
  auto receipts = ByRecipient(r.submitted(0));
  EXPECT_EQ(receipts[kUk].status(), v1::Receipt::DELIVERED);
  EXPECT_EQ(receipts[kHub].status(), v1::Receipt::DELIVERED);
  EXPECT_EQ(receipts[kAu].status(), v1::Receipt::REFUSED);
  EXPECT_EQ(receipts[kAu].reason_code(), "bad_signature");
  EXPECT_THAT(receipts[kAu].reason(), HasSubstr("does not verify"));
  EXPECT_FALSE(Has(kAu, kCl, "tampered-1"));

  // The operator sees it with the command.
  const sevex::testing::Outcome shown =
      sevex::testing::Shell(absl::StrCat(SEVEX_BINARY, " inbox --own --socket ", net_->SocketPath(kCl), " 2>&1"));
  EXPECT_EQ(shown.exit_code, 0) << shown.out;
  EXPECT_THAT(shown.out, HasSubstr("tampered-1"));
  EXPECT_THAT(shown.out, ::testing::ContainsRegex("au\\.asd +refused +bad_signature: the origin signature of cl\\.csirt does not verify"));
}

TEST_F(NodeExchangeTest, APeerThatWasDownReceivesEverythingWhenItReturns) {
  ASSERT_TRUE(net_->Stop(kAu).ok());
  std::vector<std::string> batch, batch_uk;
  for (int i = 0; i < 200; ++i) batch.push_back(NoticeJson(absl::StrCat("down-", i), 1, R"({"tlp": "GREEN"})"));
  for (int i = 0; i < 50; ++i) batch_uk.push_back(NoticeJson(absl::StrCat("down-uk-", i), 1, R"({"tlp": "CLEAR"})"));
  ASSERT_EQ(Submit(kCl, Array(batch), /*wait=*/false).submitted_size(), 200);
  ASSERT_EQ(Submit(kUk, Array(batch_uk), /*wait=*/false).submitted_size(), 50);
  EXPECT_TRUE(WaitFor([&] { return Held(kUk).size() == 200; })) << "the others are not held up";
  // The hub holds au's share meanwhile.
  v1::ApiRequest outbox;
  outbox.mutable_outbox();
  EXPECT_TRUE(WaitFor([&] {
    auto r = net_->Call(kHub, outbox);
    if (!r.ok()) return false;
    for (const auto& q : r->outbox()) {
      if (q.peer() == kAu) return q.pending() == 250 && !q.connected();
    }
    return false;
  }));
  ASSERT_TRUE(net_->Start(kAu).ok());
  EXPECT_TRUE(WaitFor([&] { return Held(kAu).size() == 250; }));
  const auto held = Held(kAu);
  EXPECT_EQ(std::set<std::string>(held.begin(), held.end()).size(), 250u) << "each exactly once";
  // And the receipts found their way back to both origins.
  EXPECT_TRUE(WaitFor([&] {
    auto own = net_->Inbox(kCl, /*own=*/true);
    if (!own.ok() || own->inbox_size() != 200) return false;
    for (const auto& e : own->inbox()) {
      for (const auto& r : e.receipts()) {
        if (r.status() != v1::Receipt::DELIVERED) return false;
      }
    }
    return true;
  }));
}

TEST_F(NodeExchangeTest, ASlowPeerDoesNotSlowTheOthers) {
  net_->Pause(kUk);  // takes nothing off the wire: its window fills and stays full
  constexpr int kBatches = 10;
  constexpr int kPerBatch = 300;
  for (int b = 0; b < kBatches; ++b) {
    std::vector<std::string> batch;
    for (int i = 0; i < kPerBatch; ++i) batch.push_back(NoticeJson(absl::StrCat("slow-", b, "-", i), 1, R"({"tlp": "GREEN"})"));
    ASSERT_EQ(Submit(kCl, Array(batch), /*wait=*/false).submitted_size(), kPerBatch);
  }
  const size_t total = kBatches * kPerBatch;
  // The bound: 3,000 notices take about a second to reach the others (a few under the
  // sanitizers); 30 s is far above that. Were uk's full window holding the others back, they
  // would wait for uk, which is resumed only after this, so the wait would run out.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor([&] { return Held(kHub).size() == total && Held(kAu).size() == total; },
                      std::chrono::seconds(30)))
      << "hub " << Held(kHub).size() << ", au " << Held(kAu).size() << " of " << total << " within 30 s";
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << total << " notices reached hub and au in " << seconds << " s with uk paused\n";
  v1::ApiRequest outbox;
  outbox.mutable_outbox();
  auto r = net_->Call(kCl, outbox);
  ASSERT_TRUE(r.ok());
  for (const auto& q : r->outbox()) {
    if (q.peer() == kUk) {
      EXPECT_GT(q.pending(), 0u) << "uk, paused, cannot have taken everything";
    } else if (q.peer() == kHub) {
      EXPECT_EQ(q.pending(), 0u);
    }
  }
  net_->Resume(kUk);
  EXPECT_TRUE(WaitFor([&] { return Held(kUk).size() == total; })) << "uk " << Held(kUk).size();
}

}  // namespace
}  // namespace sevex::node
