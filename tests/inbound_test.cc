// Inbound (node/inbound.h) alone: what a listed peer may say about this node's own notices. The
// node cl.csirt holds its notice "water-1", TLP:AMBER for uk.ncsc (a direct peer) and au.asd
// (reached through the hub hub.oas), with both receipts PENDING; br.cert is another listed
// peer, sent nothing. Receipts arrive on fake sessions, over an in-memory store. A peer may
// report only on a notice this node sent, only for itself or for a final recipient this node
// routed through it, and a final state never changes (issue 22).
#include "node/inbound.h"

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/catalog.h"
#include "engine/translate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/items.h"
#include "node/signing.h"
#include "node_parts_support.h"
#include "policies/embedded_policies.h"
#include "store/memory_store.h"

namespace sevex::node {
namespace {

using sevex::testing::Eventually;
using sevex::testing::FakeChannel;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";
constexpr char kHub[] = "hub.oas";
constexpr char kAu[] = "au.asd";
constexpr char kBr[] = "br.cert";
constexpr char kId[] = "water-1";

class NoSink final : public ItemSink {
 public:
  void Enqueue(std::vector<store::OutboxItem>) override {}
};

class InboundReceiptTest : public ::testing::Test {
 protected:
  InboundReceiptTest()
      : catalog_(*engine::Catalog::Load(policies::Embedded(), "embedded:policies")),
        translator_(catalog_),
        key_(*SigningKey::FromPem(sevex::testing::NewSigningKeyPem(), "cl key")) {
    config_.set_node_id(kCl);
    config_.set_scheme("cl-ds295");
    config_.add_peers()->set_node_id(kUk);
    config_.add_peers()->set_node_id(kBr);
    auto* hub = config_.add_peers();
    hub->set_node_id(kHub);
    hub->set_relay(true);
    hub->add_reaches(kAu);
    inbound_ =
        std::make_unique<Inbound>(*io_, Inbound::Deps{config_, catalog_, translator_, keys_, *store_, sink_,
                                                      listener_, metrics_, clock_, nullptr, false});

    v1::Notice n;
    n.set_id(kId);
    n.set_origin(kCl);
    n.set_revision(1);
    n.mutable_marking()->set_tlp(v1::Marking::AMBER);
    n.mutable_marking()->add_recipients(kUk);
    n.mutable_marking()->add_recipients(kAu);
    store::Unit unit;
    unit.insert = store::StoredNotice{};
    unit.insert->origin = kCl;
    unit.insert->notice_id = kId;
    unit.insert->revision = 1;
    unit.insert->own = true;
    unit.insert->envelope = SignBatch(key_, {n.SerializeAsString()})[0].SerializeAsString();
    for (const char* to : {kUk, kAu}) {
      unit.receipts.push_back({kCl, kId, 1, to, v1::Receipt::PENDING, "", "", kCl, clock_.NowMs()});
    }
    Commit(std::move(unit));
  }
  ~InboundReceiptTest() override {
    store_->Close();
    io_.Stop();
  }

  void Commit(store::Unit unit) {
    std::promise<absl::Status> done;
    std::vector<store::Unit> units;
    units.push_back(std::move(unit));
    store_->Commit(std::move(units),
                   [&done](absl::Status s, std::vector<store::UnitResult>) { done.set_value(s); });
    ASSERT_TRUE(done.get_future().get().ok());
  }

  // `from` sends a receipt saying `recipient` got (or refused) notice `id`; the ack it gets.
  v1::Ack Report(const char* from, const std::string& recipient, v1::Receipt::Status status,
                 const std::string& id = kId) {
    v1::Receipt r;
    r.set_origin(kCl);
    r.set_notice_id(id);
    r.set_revision(1);
    r.set_recipient(recipient);
    r.set_status(status);
    r.set_reporter(from);
    if (status == v1::Receipt::REFUSED) {
      r.set_reason_code("policy");
      r.set_reason("refused by its operator");
    }
    v1::NoticeFrame frame;
    frame.set_kind(v1::NoticeFrame::RECEIPT);
    frame.set_tag(absl::StrCat("t", ++tag_));
    frame.set_origin(kCl);
    frame.set_notice_id(id);
    frame.set_revision(1);
    frame.set_signed_notice(r.SerializeAsString());
    auto& channel = channels_[from];
    if (channel == nullptr) channel = std::make_shared<FakeChannel>(from);
    const size_t before = channel->acks().size();
    inbound_->ReceiveReceipt(channel, frame);
    EXPECT_TRUE(Eventually([&] { return channel->acks().size() == before + 1; }));
    return channel->acks().empty() ? v1::Ack() : channel->acks().back();
  }

  // The stored state of each recipient's receipt, "recipient:STATUS", by recipient.
  std::vector<std::string> Stored(const std::string& id = kId) {
    std::vector<std::string> out;
    absl::StatusOr<std::vector<store::ReceiptRow>> rows = store_->Receipts(kCl, id, 1);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return out;
    for (const store::ReceiptRow& row : *rows) {
      out.push_back(absl::StrCat(row.recipient, ":",
                                 v1::Receipt::Status_Name(static_cast<v1::Receipt::Status>(row.status))));
    }
    return out;
  }

  sevex::testing::Io io_;
  sevex::testing::ManualClock clock_;
  engine::Catalog catalog_;
  engine::Translator translator_;
  SigningKey key_;
  v1::NodeConfig config_;
  absl::flat_hash_map<std::string, VerifyKey> keys_;
  std::unique_ptr<store::MemoryStore> store_ = store::OpenMemoryStore();
  NoSink sink_;
  sevex::testing::RecordingListener listener_;
  Metrics metrics_;
  std::unique_ptr<Inbound> inbound_;
  std::map<std::string, std::shared_ptr<FakeChannel>> channels_;
  uint64_t tag_ = 0;
};

TEST_F(InboundReceiptTest, APeerReportsOnItselfAndTheHubOnWhomItReaches) {
  EXPECT_EQ(Report(kUk, kUk, v1::Receipt::DELIVERED).status(), v1::Ack::ACCEPTED);
  EXPECT_EQ(Report(kHub, kAu, v1::Receipt::PENDING).status(), v1::Ack::ACCEPTED);  // queued at the hub
  EXPECT_EQ(Report(kHub, kAu, v1::Receipt::REFUSED).status(), v1::Ack::ACCEPTED);
  EXPECT_THAT(Stored(), ::testing::ElementsAre("au.asd:REFUSED", "uk.ncsc:DELIVERED"));
  EXPECT_EQ(listener_.heard().size(), 3u);
  EXPECT_EQ(metrics_.Value(Counter::kRejected, {kUk, "bad_receipt"}), 0u);
}

TEST_F(InboundReceiptTest, AFinalStateNeverChangesAndTheSameOneAgainIsAcknowledged) {
  ASSERT_EQ(Report(kUk, kUk, v1::Receipt::DELIVERED).status(), v1::Ack::ACCEPTED);
  const v1::Ack flipped = Report(kUk, kUk, v1::Receipt::REFUSED);
  EXPECT_EQ(flipped.status(), v1::Ack::REJECTED);
  EXPECT_EQ(flipped.reason_code(), "bad_receipt");
  EXPECT_THAT(flipped.reason(), ::testing::HasSubstr("already DELIVERED: a final state does not change"));
  // A replay after a reconnection: the same state, acknowledged, told to no one; and a late
  // PENDING does not step back.
  EXPECT_EQ(Report(kUk, kUk, v1::Receipt::DELIVERED).status(), v1::Ack::ACCEPTED);
  EXPECT_EQ(Report(kUk, kUk, v1::Receipt::PENDING).status(), v1::Ack::ACCEPTED);
  EXPECT_THAT(Stored(), ::testing::ElementsAre("au.asd:PENDING", "uk.ncsc:DELIVERED"));
  EXPECT_EQ(listener_.heard().size(), 1u);
  EXPECT_EQ(metrics_.Value(Counter::kRejected, {kUk, "bad_receipt"}), 1u);
}

TEST_F(InboundReceiptTest, ForgedReceiptsAreRefusedCountedAndChangeNothing) {
  struct Case {
    const char* from;
    std::string recipient;
    v1::Receipt::Status status;
    std::string id;
    std::string reason;
  } cases[] = {
      // Another listed peer, about a recipient it does not carry for this node.
      {kBr, kUk, v1::Receipt::REFUSED, kId, "whom this node does not reach through br.cert"},
      // A direct peer about a recipient reached through the hub.
      {kUk, kAu, v1::Receipt::DELIVERED, kId, "whom this node does not reach through uk.ncsc"},
      // A recipient the notice never named, and a node that does not exist.
      {kBr, kBr, v1::Receipt::DELIVERED, kId, "which notice water-1 was not sent to"},
      {kHub, "nobody.example", v1::Receipt::DELIVERED, kId, "which notice water-1 was not sent to"},
      // A notice that does not exist.
      {kUk, kUk, v1::Receipt::DELIVERED, "no-such-notice", "which this node did not submit"},
      // A status that is none of PENDING, DELIVERED, REFUSED.
      {kUk, kUk, v1::Receipt::STATUS_UNSPECIFIED, kId, "a receipt is PENDING, DELIVERED or REFUSED"},
      {kUk, kUk, static_cast<v1::Receipt::Status>(7), kId, "a receipt is PENDING, DELIVERED or REFUSED"},
  };
  uint64_t refused = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.from, " on ", c.recipient, " ", c.id));
    const v1::Ack ack = Report(c.from, c.recipient, c.status, c.id);
    EXPECT_EQ(ack.status(), v1::Ack::REJECTED);
    EXPECT_EQ(ack.reason_code(), "bad_receipt");
    EXPECT_THAT(ack.reason(), ::testing::HasSubstr(c.reason));
    ++refused;
  }
  EXPECT_THAT(Stored(), ::testing::ElementsAre("au.asd:PENDING", "uk.ncsc:PENDING"));
  EXPECT_THAT(Stored("no-such-notice"), ::testing::IsEmpty());
  EXPECT_TRUE(listener_.heard().empty());
  EXPECT_EQ(metrics_.Value(Counter::kRejected, {kBr, "bad_receipt"}) +
                metrics_.Value(Counter::kRejected, {kUk, "bad_receipt"}) +
                metrics_.Value(Counter::kRejected, {kHub, "bad_receipt"}),
            refused);
  // Every refusal is audited with the peer and the reason.
  auto audit = store_->Audit(0, 0);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(std::count_if(audit->begin(), audit->end(),
                          [](const store::AuditRow& a) {
                            return a.event == "rejected" && absl::StartsWith(a.reason, "bad_receipt: ");
                          }),
            static_cast<long>(refused));
}

TEST_F(InboundReceiptTest, AReceiptReportedInAnotherPeersNameIsRefused) {
  v1::Receipt r;
  r.set_origin(kCl);
  r.set_notice_id(kId);
  r.set_revision(1);
  r.set_recipient(kUk);
  r.set_status(v1::Receipt::DELIVERED);
  r.set_reporter(kUk);
  v1::NoticeFrame frame;
  frame.set_kind(v1::NoticeFrame::RECEIPT);
  frame.set_tag("t1");
  frame.set_origin(kCl);
  frame.set_notice_id(kId);
  frame.set_revision(1);
  frame.set_signed_notice(r.SerializeAsString());
  auto br = std::make_shared<FakeChannel>(kBr);
  inbound_->ReceiveReceipt(br, frame);
  ASSERT_TRUE(Eventually([&] { return br->acks().size() == 1; }));
  EXPECT_EQ(br->acks()[0].status(), v1::Ack::REJECTED);
  EXPECT_THAT(br->acks()[0].reason(), ::testing::HasSubstr("reported by uk.ncsc arrived from br.cert"));
  EXPECT_THAT(Stored(), ::testing::ElementsAre("au.asd:PENDING", "uk.ncsc:PENDING"));
}

}  // namespace
}  // namespace sevex::node
