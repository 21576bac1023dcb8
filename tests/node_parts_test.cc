// The node's parts joined without a socket or a disk: cl.csirt's submitter and outbox, uk.ncsc's
// inbound, each over an in-memory store, one fake session between them. A notice submitted with
// --wait at cl.csirt is assessed, signed, stored, sent, verified, translated and stored at
// uk.ncsc, acknowledged, and its DELIVERED receipt answers the submission — the flow of
// DESIGN.md §1 in milliseconds. Also: a notice whose signature does not verify is refused at
// uk.ncsc, nothing of it is stored, and its receipt at cl.csirt says why.
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/catalog.h"
#include "engine/translate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/inbound.h"
#include "node/items.h"
#include "node/outbox.h"
#include "node/submitter.h"
#include "node_parts_support.h"
#include "policies/embedded_policies.h"
#include "store/memory_store.h"

namespace sevex::node {
namespace {

using sevex::testing::Eventually;
using sevex::testing::FakeChannel;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";

class ForwardSink final : public ItemSink {
 public:
  void Enqueue(std::vector<store::OutboxItem> items) override { to->Enqueue(std::move(items)); }
  ItemSink* to = nullptr;
};

class NoSink final : public ItemSink {
 public:
  void Enqueue(std::vector<store::OutboxItem>) override {}
};

class NodePartsTest : public ::testing::Test {
 protected:
  NodePartsTest()
      : catalog_(*engine::Catalog::Load(policies::Embedded(), "embedded:policies")),
        translator_(catalog_),
        cl_pem_(sevex::testing::NewSigningKeyPem()),
        cl_key_(*SigningKey::FromPem(cl_pem_, "cl key")) {
    cl_config_.set_node_id(kCl);
    cl_config_.set_scheme("cl-ds295");
    cl_config_.add_peers()->set_node_id(kUk);
    uk_config_.set_node_id(kUk);
    uk_config_.set_scheme("uk-ncsc");
    uk_config_.add_peers()->set_node_id(kCl);
  }
  ~NodePartsTest() override {
    cl_store_->Close();
    uk_store_->Close();
    io_.Stop();
  }

  void Build(const VerifyKey& cl_as_uk_knows_it) {
    uk_keys_.emplace(kCl, cl_as_uk_knows_it);
    submitter_ = std::make_unique<Submitter>(
        *io_, Submitter::Deps{cl_config_, catalog_, *catalog_.Find("cl-ds295"), cl_key_, *cl_store_,
                              to_outbox_, cl_metrics_, clock_, [] { return std::string("generated"); }});
    OutboxOptions options;
    options.node_id = kCl;
    outbox_ = std::make_unique<Outbox>(*io_, *cl_store_, clock_, cl_metrics_, *submitter_, options,
                                       std::vector<std::string>{kUk});
    ASSERT_TRUE(outbox_->Load().ok());
    to_outbox_.to = outbox_.get();
    inbound_ = std::make_unique<Inbound>(
        *io_, Inbound::Deps{uk_config_, catalog_, translator_, uk_keys_, *uk_store_, uk_outbox_, uk_receipts_,
                            uk_metrics_, clock_, nullptr, false});
    // cl.csirt's session with uk.ncsc, and uk.ncsc's end of it.
    to_uk_ = std::make_shared<FakeChannel>(kUk);
    from_cl_ = std::make_shared<FakeChannel>(kCl);
    to_uk_->on_send = [this](v1::NoticeFrame f) { inbound_->OnNotice(from_cl_, std::move(f)); };
    from_cl_->on_ack = [this](v1::Ack ack) {
      to_uk_->Answered();
      outbox_->Acked(to_uk_, std::move(ack));
    };
    outbox_->Opened(to_uk_, true);
  }

  v1::ApiResponse SubmitAndWait(const std::string& json) {
    auto answered = std::make_shared<std::promise<v1::ApiResponse>>();
    auto f = answered->get_future();
    v1::SubmitRequest request;
    request.set_json(json);
    request.set_where("notice.json");
    request.set_wait(true);
    request.set_wait_timeout_ms(20000);
    submitter_->Submit(request, [answered](v1::ApiResponse r) { answered->set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return f.get();
  }

  static constexpr char kNotice[] = R"({"id": "water-1", "title": "Ransomware at a water utility",
      "marking": {"tlp": "AMBER", "recipients": ["uk.ncsc"]},
      "attributes": {"victim_tier": "national", "impact_kind": "sustained_disruption"}})";

  sevex::testing::Io io_;
  sevex::testing::ManualClock clock_;
  engine::Catalog catalog_;
  engine::Translator translator_;
  std::string cl_pem_;
  SigningKey cl_key_;
  v1::NodeConfig cl_config_, uk_config_;
  std::unique_ptr<store::MemoryStore> cl_store_ = store::OpenMemoryStore();
  std::unique_ptr<store::MemoryStore> uk_store_ = store::OpenMemoryStore();
  Metrics cl_metrics_, uk_metrics_;
  ForwardSink to_outbox_;
  NoSink uk_outbox_;
  sevex::testing::RecordingListener uk_receipts_;
  absl::flat_hash_map<std::string, VerifyKey> uk_keys_;
  std::unique_ptr<Submitter> submitter_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Inbound> inbound_;
  std::shared_ptr<FakeChannel> to_uk_, from_cl_;
};

TEST_F(NodePartsTest, ANoticeGoesFromSubmissionToTheReceiversInboxAndItsReceiptComesBack) {
  Build(*VerifyKey::FromPem(cl_key_.PublicKeyPem(), "cl pub"));
  const v1::ApiResponse r = SubmitAndWait(kNotice);
  ASSERT_TRUE(r.error().empty()) << r.error();
  ASSERT_EQ(r.submitted_size(), 1);
  ASSERT_EQ(r.submitted(0).receipts_size(), 1);
  EXPECT_EQ(r.submitted(0).receipts(0).recipient(), kUk);
  EXPECT_EQ(r.submitted(0).receipts(0).status(), v1::Receipt::DELIVERED);

  // At uk.ncsc: stored once, from cl.csirt, translated into its own scheme.
  auto held = uk_store_->Get(kCl, "water-1", 1);
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(held->has_value());
  EXPECT_EQ((*held)->received_from, kCl);
  v1::Translation t;
  ASSERT_TRUE(t.ParseFromString((*held)->translation));
  EXPECT_EQ(t.scheme(), "uk-ncsc");
  EXPECT_FALSE(t.level().empty()) << t.DebugString();
  EXPECT_EQ(uk_metrics_.Value(Counter::kReceived, {kCl}), 1u);
  // At cl.csirt: the receipt is stored, the outbox item settled.
  auto receipts = cl_store_->Receipts(kCl, "water-1", 1);
  ASSERT_TRUE(receipts.ok());
  ASSERT_EQ(receipts->size(), 1u);
  EXPECT_EQ((*receipts)[0].status, v1::Receipt::DELIVERED);
  ASSERT_TRUE(Eventually([&] {
    auto counts = cl_store_->OutboxCounts();
    return counts.ok() && counts->size() == 1 && (*counts)[0].delivered == 1 && (*counts)[0].pending == 0;
  }));

  // Sent again (a reconnect after a lost ack): a duplicate at uk.ncsc, stored once.
  auto again = to_uk_->sent();
  ASSERT_EQ(again.size(), 1u);
  inbound_->Receive(from_cl_, again[0]);
  ASSERT_TRUE(Eventually([&] { return from_cl_->acks().size() == 2; }));
  EXPECT_EQ(from_cl_->acks()[1].status(), v1::Ack::DUPLICATE);
  EXPECT_EQ(uk_store_->NoticeCount(false).value_or(0), 1u);
}

TEST_F(NodePartsTest, ANoticeWhoseSignatureDoesNotVerifyIsRefusedAndNothingOfItStored) {
  const SigningKey other = *SigningKey::FromPem(sevex::testing::NewSigningKeyPem(), "other");
  Build(*VerifyKey::FromPem(other.PublicKeyPem(), "not cl's key"));
  const v1::ApiResponse r = SubmitAndWait(kNotice);
  ASSERT_TRUE(r.error().empty()) << r.error();
  ASSERT_EQ(r.submitted(0).receipts_size(), 1);
  EXPECT_EQ(r.submitted(0).receipts(0).status(), v1::Receipt::REFUSED);
  EXPECT_EQ(r.submitted(0).receipts(0).reason_code(), "bad_signature");
  EXPECT_EQ(uk_store_->NoticeCount(false).value_or(99), 0u);
  EXPECT_EQ(uk_metrics_.Value(Counter::kRejected, {kCl, "bad_signature"}), 1u);
}

}  // namespace
}  // namespace sevex::node
