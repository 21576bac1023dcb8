// Submitter (node/submitter.h) over the in-memory store: every way a submission is refused, the
// revision rules, one bad notice refusing its whole batch, the answer after a durable commit
// only, --wait following receipts, a failed commit, and a stop that answers its waiters.
#include "node/submitter.h"

#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/catalog.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/items.h"
#include "node_parts_support.h"
#include "policies/embedded_policies.h"
#include "store/memory_store.h"

namespace sevex::node {
namespace {

using sevex::testing::Eventually;
using ::testing::HasSubstr;

constexpr char kSelf[] = "cl.csirt";

// Collects what the submitter hands the outbox.
class RecordingSink final : public ItemSink {
 public:
  void Enqueue(std::vector<store::OutboxItem> items) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& i : items) items_.push_back(std::move(i));
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }
  std::vector<int64_t> seqs() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<int64_t> out;
    for (const auto& i : items_) out.push_back(i.seq);
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<store::OutboxItem> items_;
};

class SubmitterTest : public ::testing::Test {
 protected:
  SubmitterTest()
      : catalog_(*engine::Catalog::Load(policies::Embedded(), "embedded:policies")),
        key_(*SigningKey::FromPem(sevex::testing::NewSigningKeyPem(), "test key")) {
    config_.set_node_id(kSelf);
    config_.set_scheme("cl-ds295");
    auto* uk = config_.add_peers();
    uk->set_node_id("uk.ncsc");
    submitter_ = std::make_unique<Submitter>(
        *io_, Submitter::Deps{config_, catalog_, *catalog_.Find("cl-ds295"), key_, *store_, sink_, metrics_,
                              clock_, [this] { return absl::StrCat("generated-", ++ids_); }});
  }
  ~SubmitterTest() override {
    store_->Close();
    io_.Stop();
  }

  v1::ApiResponse Submit(const std::string& json, bool wait = false, uint32_t wait_ms = 0) {
    auto answered = std::make_shared<std::promise<v1::ApiResponse>>();
    auto f = answered->get_future();
    v1::SubmitRequest request;
    request.set_json(json);
    request.set_where("notice.json");
    request.set_wait(wait);
    request.set_wait_timeout_ms(wait_ms);
    submitter_->Submit(request, [answered](v1::ApiResponse r) { answered->set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return f.get();
  }
  size_t Stored() { return store_->NoticeCount(true).value_or(999); }
  static std::string Notice(const std::string& fields) {
    return absl::StrCat(R"({"marking": {"tlp": "CLEAR"}, "attributes": {"victim_tier": "large"})",
                        fields.empty() ? "" : ", ", fields, "}");
  }

  sevex::testing::Io io_;
  sevex::testing::ManualClock clock_;
  engine::Catalog catalog_;
  SigningKey key_;
  v1::NodeConfig config_;
  // Called by the store's writer thread once per transaction; a test may hold up `io_` there.
  std::function<void()> on_transaction_;
  std::mutex on_transaction_mu_;
  std::unique_ptr<store::MemoryStore> store_ =
      store::OpenMemoryStore({.name = "memory store", .clock_ms = [this] {
                                std::lock_guard<std::mutex> lock(on_transaction_mu_);
                                if (on_transaction_) std::exchange(on_transaction_, nullptr)();
                                return clock_.NowMs();
                              }});
  RecordingSink sink_;
  Metrics metrics_;
  int ids_ = 0;
  std::unique_ptr<Submitter> submitter_;
};

TEST_F(SubmitterTest, AValidNoticeIsAssessedSignedStoredAndQueued) {
  const v1::ApiResponse r = Submit(Notice(R"("id": "n-1")"));
  ASSERT_TRUE(r.error().empty()) << r.error();
  ASSERT_EQ(r.submitted_size(), 1);
  EXPECT_EQ(r.submitted(0).id(), "n-1");
  EXPECT_EQ(r.submitted(0).revision(), 1u);
  EXPECT_EQ(r.submitted(0).assessment().scheme(), "cl-ds295");
  EXPECT_THAT(r.submitted(0).recipients(), ::testing::ElementsAre("uk.ncsc"));
  EXPECT_EQ(Stored(), 1u) << "answered only once durable";
  EXPECT_TRUE(Eventually([&] { return sink_.size() == 1; })) << "queued from the commit callback";
  auto receipts = store_->Receipts(kSelf, "n-1", 1);
  ASSERT_TRUE(receipts.ok());
  ASSERT_EQ(receipts->size(), 1u);
  EXPECT_EQ((*receipts)[0].status, v1::Receipt::PENDING);
}

TEST_F(SubmitterTest, ANoticeWithoutIdGetsOne) {
  const v1::ApiResponse r = Submit(Notice(""));
  ASSERT_TRUE(r.error().empty()) << r.error();
  EXPECT_EQ(r.submitted(0).id(), "generated-1");
}

TEST_F(SubmitterTest, EveryInvalidNoticeIsRefusedWithWhereAndWhy) {
  struct Case {
    std::string json;
    std::string message;
  } cases[] = {
      {Notice(R"("origin": "eu.hub")"), "notice.json: origin 'eu.hub' is not this node (cl.csirt)"},
      {R"({"attributes": {}})", "notice.json: marking.tlp is required"},
      {R"({"marking": {"tlp": "AMBER"}})", "notice.json: TLP:AMBER needs marking.recipients"},
      {R"({"marking": {"tlp": "RED"}})", "notice.json: TLP:RED needs marking.recipients"},
      {Notice(R"("id": "bad id")"), "notice.json: id 'bad id' must be 1–128 letters"},
      {R"({"marking": {"tlp": "CLEAR"}, "attributes": {"nope": 1}})",
       "attribute 'nope' is not in the attribute registry"},
      {Notice(R"("revision": 4294967295)"),
       "notice.json: revision 4294967295 is above the highest, 2147483647"},
      {Notice(R"("id": "r-1", "retracted": true)"),
       "notice.json: notice r-1 is a retraction of a notice this node never submitted"},
      {"", "notice.json"},
      {"[]", "notice.json: no notices"},
      {"{", "notice.json"},
  };
  for (const auto& c : cases) {
    const v1::ApiResponse r = Submit(c.json);
    EXPECT_THAT(r.error(), HasSubstr(c.message)) << c.json;
    EXPECT_EQ(r.error_code(), static_cast<uint32_t>(absl::StatusCode::kInvalidArgument)) << c.json;
  }
  EXPECT_EQ(Stored(), 0u);
  EXPECT_GE(metrics_.Value(Counter::kSubmissionsFailed, {"invalid_argument"}), std::size(cases));
}

TEST_F(SubmitterTest, RevisionsGoUpOnlyAndTheHighestDoesNotWrap) {
  ASSERT_TRUE(Submit(Notice(R"("id": "v", "revision": 2)")).error().empty());
  v1::ApiResponse r = Submit(Notice(R"("id": "v", "revision": 2)"));
  EXPECT_EQ(r.error(), "notice.json: notice v revision 2 is already submitted; the next revision is 3");
  EXPECT_EQ(r.error_code(), static_cast<uint32_t>(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(Submit(Notice(R"("id": "v", "revision": 1)")).error(), HasSubstr("the next revision is 3"));
  ASSERT_TRUE(Submit(Notice(R"("id": "v", "revision": 3, "retracted": true)")).error().empty());
  ASSERT_TRUE(Submit(Notice(R"("id": "top", "revision": 2147483647)")).error().empty());
  EXPECT_EQ(
      Submit(Notice(R"("id": "top", "revision": 2147483647)")).error(),
      "notice.json: notice top revision 2147483647 is already submitted, and revision 2147483647 is the "
      "highest: submit a new notice");
}

// Found by submission_fuzzer: the refusals made on the strand (a revision already submitted, a
// retraction of nothing) did not say which submission and which notice in it, as every other
// refusal does (submitter.h).
TEST_F(SubmitterTest, RefusalsOfRevisionsNameTheSubmissionAndTheNotice) {
  const std::string twice = absl::StrCat("[", Notice(R"("id": "t")"), ",", Notice(R"("id": "t")"), "]");
  v1::ApiResponse r = Submit(twice);
  EXPECT_EQ(r.error(),
            "notice.json (notice 2): notice t revision 1 is already submitted; the next revision is 2");
  EXPECT_EQ(r.error_code(), static_cast<uint32_t>(absl::StatusCode::kAlreadyExists));
  const std::string retraction =
      absl::StrCat("[", Notice(R"("id": "a")"), ",", Notice(R"("id": "never", "retracted": true)"), "]");
  r = Submit(retraction);
  EXPECT_EQ(r.error(),
            "notice.json (notice 2): notice never is a retraction of a notice this node never submitted");
  EXPECT_EQ(r.error_code(), static_cast<uint32_t>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Stored(), 0u);
}

// Issue 22: a notice larger than a frame was signed and stored, could never be sent, and its
// receipts stayed PENDING for ever. Refused at submission, naming the limit.
TEST_F(SubmitterTest, ANoticeTooLargeForAFrameIsRefusedNamingTheLimit) {
  config_.set_max_frame_bytes(64 * 1024);
  const std::string big(64 * 1024, 'x');
  v1::ApiResponse r = Submit(Notice(absl::StrCat(R"("id": "big", "summary": ")", big, R"(")")));
  EXPECT_THAT(r.error(), HasSubstr("notice.json: notice big is "));
  EXPECT_THAT(r.error(), HasSubstr("peers accept frames of 65536 bytes (max_frame_bytes)"));
  EXPECT_EQ(r.error_code(), static_cast<uint32_t>(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(Stored(), 0u);
  // Just within the limit: accepted.
  const std::string fits(64 * 1024 - Submitter::kFrameOverheadBytes - 4096, 'x');  // room for the assessment
  r = Submit(Notice(absl::StrCat(R"("id": "fits", "summary": ")", fits, R"(")")));
  EXPECT_TRUE(r.error().empty()) << r.error();
}

TEST_F(SubmitterTest, OneBadNoticeRefusesItsWholeBatch) {
  const std::string batch =
      absl::StrCat("[", Notice(R"("id": "b1")"), ",", Notice(R"("id": "b2")"), R"(,{"id": "b3"}])");
  v1::ApiResponse r = Submit(batch);
  EXPECT_THAT(r.error(), HasSubstr("notice.json (notice 3): marking.tlp is required"));
  const std::string twice = absl::StrCat("[", Notice(R"("id": "t")"), ",", Notice(R"("id": "t")"), "]");
  EXPECT_THAT(Submit(twice).error(), HasSubstr("notice t revision 1 is already submitted"));
  EXPECT_EQ(Stored(), 0u);
  EXPECT_EQ(sink_.size(), 0u);
}

TEST_F(SubmitterTest, AFailedCommitIsAnsweredAndStoresNothing) {
  store_->FailNextCommits(1);
  v1::ApiResponse r = Submit(Notice(R"("id": "f")"));
  EXPECT_THAT(r.error(), HasSubstr("not stored: "));
  EXPECT_EQ(r.error_code(), static_cast<uint32_t>(absl::StatusCode::kUnavailable));
  EXPECT_EQ(Stored(), 0u);
  EXPECT_TRUE(Submit(Notice(R"("id": "f")")).error().empty()) << "the revision is free again";
}

TEST_F(SubmitterTest, WaitIsAnsweredWhenTheReceiptsAreFinal) {
  auto answered = std::make_shared<std::promise<v1::ApiResponse>>();
  auto f = answered->get_future();
  v1::SubmitRequest request;
  request.set_json(Notice(R"("id": "w")"));
  request.set_wait(true);
  request.set_wait_timeout_ms(60000);
  submitter_->Submit(request, [answered](v1::ApiResponse r) { answered->set_value(std::move(r)); });
  ASSERT_TRUE(Eventually([&] { return sink_.size() == 1; }));
  EXPECT_EQ(f.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout)
      << "answered before delivery";
  v1::Receipt delivered;
  delivered.set_origin(kSelf);
  delivered.set_notice_id("w");
  delivered.set_revision(1);
  delivered.set_recipient("uk.ncsc");
  delivered.set_status(v1::Receipt::DELIVERED);
  submitter_->ReceiptsChanged(NoticeKey(kSelf, "w", 1), {delivered});
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const v1::ApiResponse r = f.get();
  ASSERT_EQ(r.submitted_size(), 1);
  ASSERT_EQ(r.submitted(0).receipts_size(), 1);
  EXPECT_EQ(r.submitted(0).receipts(0).status(), v1::Receipt::DELIVERED);
}

// The outbox drops an item older than one it already holds (it may have read it from the store),
// so it must hear of items in the order they committed: the submitter hands them over from the
// commit itself, not later from its strand, where a relayed item committed meanwhile would
// overtake them. The io threads are held up right after the submission commits, and an item
// committed then (as the inbound side relays one) must still reach the sink second.
TEST_F(SubmitterTest, ItemsReachTheOutboxInTheOrderTheyCommitted) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  {
    std::lock_guard<std::mutex> lock(on_transaction_mu_);
    on_transaction_ = [this, released] {
      for (int i = 0; i < 2; ++i) boost::asio::post(*io_, [released] { released.wait(); });
    };
  }
  auto answered = std::make_shared<std::promise<v1::ApiResponse>>();
  v1::SubmitRequest request;
  request.set_json(Notice(R"("id": "o-1")"));
  submitter_->Submit(request, [answered](v1::ApiResponse r) { answered->set_value(std::move(r)); });
  ASSERT_TRUE(Eventually([&] { return Stored() == 1; }));

  v1::Receipt r;
  r.set_origin("uk.ncsc");
  r.set_notice_id("relayed");
  r.set_revision(1);
  r.set_recipient(kSelf);
  r.set_status(v1::Receipt::DELIVERED);
  store::Unit unit;
  unit.enqueue.push_back(ReceiptItem("uk.ncsc", r, clock_.NowMs()));
  std::promise<void> relayed;
  store_->Commit({unit},
                 [&, items = unit.enqueue](absl::Status s, std::vector<store::UnitResult> results) mutable {
                   EXPECT_TRUE(s.ok()) << s;
                   SetQueued(items, results);
                   sink_.Enqueue(std::move(items));
                   relayed.set_value();
                 });
  relayed.get_future().wait();
  release.set_value();
  ASSERT_TRUE(answered->get_future().get().error().empty());
  ASSERT_TRUE(Eventually([&] { return sink_.size() == 2; }));
  EXPECT_THAT(sink_.seqs(), ::testing::ElementsAre(1, 2));
}

TEST_F(SubmitterTest, StopAnswersWaitersWithTheReceiptsAsTheyStandAndRefusesNewOnes) {
  auto answered = std::make_shared<std::promise<v1::ApiResponse>>();
  auto f = answered->get_future();
  v1::SubmitRequest request;
  request.set_json(Notice(R"("id": "s")"));
  request.set_wait(true);
  request.set_wait_timeout_ms(60000);
  submitter_->Submit(request, [answered](v1::ApiResponse r) { answered->set_value(std::move(r)); });
  ASSERT_TRUE(Eventually([&] { return sink_.size() == 1; }));
  std::promise<void> stopped;
  submitter_->Stop([&] { stopped.set_value(); });
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(f.get().submitted(0).receipts(0).status(), v1::Receipt::PENDING);
  stopped.get_future().wait();
  EXPECT_EQ(Submit(Notice("")).error(), "the node is stopping");
}

}  // namespace
}  // namespace sevex::node
