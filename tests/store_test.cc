// store/sqlite_store: the node's durable state — notices read back field for field, duplicates
// (skipped enqueue and receipts, applied settle and audit), the outbox in queue order with its
// per-peer counts, one peer's queue read a page at a time after a position (and the older index
// replaced), receipt upserts that never step back to PENDING, data surviving a restart and a
// process dying without closing, refusal of files that are not sevex stores (untouched), group
// commit from many threads, a failed commit (full store) leaving no trace and not taking down
// commits grouped with it, Close() finishing what was queued, the log checkpointed while
// committing and bounded, and the times the store stamps itself taken from SqliteOptions::clock_ms.
#include "store/store.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/memory_store.h"
#include "store/sqlite_store.h"

namespace sevex::store {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr int kPending = 1;    // v1::Receipt::Status numbers
constexpr int kDelivered = 2;
constexpr int kRefused = 3;

// ---------------------------------------------------------------------------------------------
// Builders and comparisons.

// Bytes that a text-only path would mangle: an embedded NUL, high bytes, a trailing NUL.
std::string Binary(const std::string& tag) { return std::string("\x00\x01\xff\xfe", 4) + tag + std::string(1, '\0'); }

StoredNotice Notice(const std::string& origin, const std::string& id, uint32_t revision, int64_t at_ms,
                    const std::string& from = "") {
  StoredNotice n;
  n.origin = origin;
  n.notice_id = id;
  n.revision = revision;
  n.own = from.empty();
  n.received_from = from;
  n.received_at_ms = at_ms;
  n.envelope = Binary(absl::StrCat("envelope ", origin, "/", id, "/", revision));
  n.translation = Binary(absl::StrCat("translation ", origin, "/", id, "/", revision));
  return n;
}

OutboxItem Item(const std::string& peer, const std::string& key, int64_t queued_at_ms, const std::string& origin = "o",
                const std::string& id = "n", uint32_t revision = 1, ItemKind kind = ItemKind::kNotice) {
  OutboxItem item;
  item.peer = peer;
  item.key = key;
  item.kind = kind;
  item.origin = origin;
  item.notice_id = id;
  item.revision = revision;
  item.frame = Binary(absl::StrCat("frame ", peer, " ", key));
  item.queued_at_ms = queued_at_ms;
  return item;
}

ReceiptRow Receipt(const std::string& recipient, int status, int64_t updated_ms, const std::string& tag = "") {
  ReceiptRow r;
  r.origin = "o";
  r.notice_id = "n";
  r.revision = 1;
  r.recipient = recipient;
  r.status = status;
  r.reason_code = absl::StrCat("code", tag);
  r.reason = absl::StrCat("reason", tag);
  r.reporter = absl::StrCat("reporter", tag);
  r.updated_ms = updated_ms;
  return r;
}

Settle Delivered(const std::string& peer, const std::string& key) { return Settle{peer, key, true, ""}; }
Settle Refused(const std::string& peer, const std::string& key, const std::string& reason) {
  return Settle{peer, key, false, reason};
}

auto Fields(const StoredNotice& n) {
  return std::tie(n.origin, n.notice_id, n.revision, n.own, n.retracted, n.received_from, n.received_at_ms, n.envelope,
                  n.translation);
}
auto Fields(const OutboxItem& i) {
  return std::make_tuple(i.peer, i.key, static_cast<int>(i.kind), i.origin, i.notice_id, i.revision, i.frame,
                         i.queued_at_ms);
}
auto Fields(const ReceiptRow& r) {
  return std::tie(r.origin, r.notice_id, r.revision, r.recipient, r.status, r.reason_code, r.reason, r.reporter,
                  r.updated_ms);
}
auto Fields(const PeerCounts& c) { return std::tie(c.peer, c.pending, c.oldest_pending_ms, c.delivered, c.refused); }

std::vector<std::string> Keys(const std::vector<OutboxItem>& items) {
  std::vector<std::string> keys;
  for (const OutboxItem& i : items) keys.push_back(absl::StrCat(i.peer, ":", i.key));
  return keys;
}
std::vector<std::string> Events(const std::vector<AuditRow>& rows) {
  std::vector<std::string> events;
  for (const AuditRow& r : rows) events.push_back(absl::StrCat(r.event, " ", r.origin, "/", r.notice_id, "/", r.revision));
  return events;
}

struct Outcome {
  absl::Status status;
  std::vector<UnitResult> results;
  bool called = false;
};

// Commits and waits (at most 30 s) for the callback.
Outcome CommitAndWait(Store& store, std::vector<Unit> units) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> future = promise->get_future();
  store.Commit(std::move(units), [promise](absl::Status s, std::vector<UnitResult> r) {
    promise->set_value(Outcome{std::move(s), std::move(r), true});
  });
  if (future.wait_for(30s) != std::future_status::ready) {
    ADD_FAILURE() << "commit callback not called within 30 s";
    return Outcome{absl::DeadlineExceededError("no callback"), {}, false};
  }
  return future.get();
}

Unit InsertUnit(StoredNotice n) {
  Unit u;
  u.insert = std::move(n);
  return u;
}

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::set<std::string> DirEntries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// Runs SQL on a file with the plain SQLite API, independent of the store.
void RawSql(const fs::path& p, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// ---------------------------------------------------------------------------------------------
// Fixture: a fresh directory per test, removed afterwards.

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    // Parameterised tests are named "Stores/StoreContractTest.Name/memory": one directory still.
    dir_ = fs::temp_directory_path() /
           absl::StrReplaceAll(
               absl::StrCat("sevex-store-test-", getpid(), "-", info->test_suite_name(), "-", info->name()),
               {{"/", "-"}});
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "node.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> Open(const SqliteOptions& options = {}) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_.string(), options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  fs::path dir_;
  fs::path path_;
};

// The contract of store.h, which every Store keeps: the tests below marked TEST_P run on the
// SQLite store and on the in-memory one (store/memory_store.h) that the node's unit tests use,
// so that what those tests show of the node holds over SQLite too.
class StoreContractTest : public StoreTest, public ::testing::WithParamInterface<std::string> {
 protected:
  std::unique_ptr<Store> Open() {
    if (GetParam() == "memory") return OpenMemoryStore();
    return StoreTest::Open();
  }
};

INSTANTIATE_TEST_SUITE_P(Stores, StoreContractTest, ::testing::Values("sqlite", "memory"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// ---------------------------------------------------------------------------------------------
// Notices.

TEST_P(StoreContractTest, InsertedNoticesReadBackFieldForField) {
  auto store = Open();
  ASSERT_NE(store, nullptr);

  StoredNotice own = Notice("origin-a", "n1", 1, 1000);
  StoredNotice received1 = Notice("origin-b", "n2", 1, 2000, "peer-x");
  StoredNotice received3 = Notice("origin-b", "n2", 3, 3000, "peer-y");
  received3.retracted = true;
  received3.translation.clear();  // may be empty
  // Committed last but received earlier: Notices goes by time received, not by insertion.
  StoredNotice received2 = Notice("origin-b", "n2", 2, 1500, "peer-x");

  Outcome out = CommitAndWait(*store, {InsertUnit(own), InsertUnit(received1), InsertUnit(received3)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied, UnitResult::kApplied, UnitResult::kApplied));
  // Revision 2 arrives after revision 3: Latest goes by revision, not by arrival.
  out = CommitAndWait(*store, {InsertUnit(received2)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied));

  for (const StoredNotice& n : {own, received1, received2, received3}) {
    absl::StatusOr<std::optional<StoredNotice>> got = store->Get(n.origin, n.notice_id, n.revision);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(got->has_value()) << n.origin << "/" << n.notice_id << "/" << n.revision;
    EXPECT_EQ(Fields(**got), Fields(n));
  }
  absl::StatusOr<std::optional<StoredNotice>> missing = store->Get("origin-a", "n1", 2);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
  missing = store->Get("origin-b", "n1", 1);  // same id under another origin
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  absl::StatusOr<std::optional<StoredNotice>> latest = store->Latest("origin-b", "n2");
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ(Fields(**latest), Fields(received3));
  latest = store->Latest("origin-a", "n1");
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ(Fields(**latest), Fields(own));
  latest = store->Latest("origin-a", "nope");
  ASSERT_TRUE(latest.ok());
  EXPECT_FALSE(latest->has_value());

  // Notices: by time of arrival, from `since`, at most `limit`.
  absl::StatusOr<std::vector<StoredNotice>> all = store->Notices(0, 0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ(Fields((*all)[0]), Fields(own));
  EXPECT_EQ(Fields((*all)[1]), Fields(received2));
  EXPECT_EQ(Fields((*all)[2]), Fields(received1));
  EXPECT_EQ(Fields((*all)[3]), Fields(received3));
  absl::StatusOr<std::vector<StoredNotice>> since = store->Notices(2000, 0);
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ(Fields((*since)[0]), Fields(received1));
  EXPECT_EQ(Fields((*since)[1]), Fields(received3));
  absl::StatusOr<std::vector<StoredNotice>> limited = store->Notices(1001, 2);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ(Fields((*limited)[0]), Fields(received2));
  EXPECT_EQ(Fields((*limited)[1]), Fields(received1));
  absl::StatusOr<std::vector<StoredNotice>> none = store->Notices(3001, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());

  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 4u);
  count = store->NoticeCount(true);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 1u);

  // The store audits each insert itself: "submitted" for its own, "stored" for received ones.
  absl::StatusOr<std::vector<AuditRow>> audit = store->Audit(0, 0);
  ASSERT_TRUE(audit.ok());
  EXPECT_THAT(Events(*audit), ElementsAre("submitted origin-a/n1/1", "stored origin-b/n2/1", "stored origin-b/n2/3",
                                          "stored origin-b/n2/2"));
  EXPECT_EQ((*audit)[0].peer, "");
  EXPECT_EQ((*audit)[1].peer, "peer-x");
  EXPECT_EQ((*audit)[2].peer, "peer-y");
  for (const AuditRow& row : *audit) EXPECT_GT(row.time_ms, 0) << row.event;  // stamped by the store
}

TEST_P(StoreContractTest, EmptyCommitIsAnsweredWithNoResults) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Outcome out = CommitAndWait(*store, {});
  EXPECT_TRUE(out.called);
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, IsEmpty());
  out = CommitAndWait(*store, {Unit{}});
  EXPECT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied));
}

TEST_P(StoreContractTest, DuplicateSkipsEnqueueAndReceiptsButAppliesSettleAndAudit) {
  auto store = Open();
  ASSERT_NE(store, nullptr);

  const StoredNotice first = Notice("o", "n", 1, 1000, "peer-in");
  Unit u1 = InsertUnit(first);
  u1.enqueue = {Item("p1", "k1", 10), Item("p2", "k2", 20)};
  u1.receipts = {Receipt("r1", kPending, 100)};
  Outcome out = CommitAndWait(*store, {std::move(u1)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied));

  // The same (origin, notice_id, revision) again, with other bytes and from another peer.
  StoredNotice again = Notice("o", "n", 1, 5000, "peer-other");
  again.envelope = "a different envelope";
  Unit u2 = InsertUnit(again);
  u2.enqueue = {Item("p3", "k3", 30)};
  u2.receipts = {Receipt("r1", kDelivered, 200), Receipt("r2", kDelivered, 200)};
  u2.settle = {Delivered("p1", "k1")};
  u2.audit = {AuditRow{777, "delivered", "o", "n", 1, "p1", ""}};
  // And a new revision in the same commit: its result is reported in its own position.
  Unit u3 = InsertUnit(Notice("o", "n", 2, 6000, "peer-in"));
  u3.enqueue = {Item("p4", "k4", 40, "o", "n", 2)};
  out = CommitAndWait(*store, {std::move(u2), std::move(u3)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kDuplicate, UnitResult::kApplied));

  // The first copy is kept as it was.
  absl::StatusOr<std::optional<StoredNotice>> got = store->Get("o", "n", 1);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(Fields(**got), Fields(first));
  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2u);

  // Enqueue skipped (no p3), settle applied (p1 gone from pending, counted delivered).
  absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(Keys(*pending), ElementsAre("p2:k2", "p4:k4"));
  absl::StatusOr<std::vector<PeerCounts>> counts = store->OutboxCounts();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 3u);
  EXPECT_EQ(Fields((*counts)[0]), Fields(PeerCounts{"p1", 0, 0, 1, 0}));

  // Receipts skipped: r1 still PENDING as first recorded, no r2.
  absl::StatusOr<std::vector<ReceiptRow>> receipts = store->Receipts("o", "n", 1);
  ASSERT_TRUE(receipts.ok());
  ASSERT_EQ(receipts->size(), 1u);
  EXPECT_EQ(Fields((*receipts)[0]), Fields(Receipt("r1", kPending, 100)));

  // Audit: stored, then duplicate (with the peer it came from this time), the unit's own row,
  // then the new revision.
  absl::StatusOr<std::vector<AuditRow>> audit = store->Audit(0, 0);
  ASSERT_TRUE(audit.ok());
  EXPECT_THAT(Events(*audit),
              ElementsAre("stored o/n/1", "duplicate o/n/1", "delivered o/n/1", "stored o/n/2"));
  EXPECT_EQ((*audit)[0].peer, "peer-in");
  EXPECT_EQ((*audit)[1].peer, "peer-other");
  EXPECT_EQ((*audit)[2].time_ms, 777);  // a caller's time is kept
  EXPECT_EQ((*audit)[2].peer, "p1");
}

TEST_P(StoreContractTest, DuplicateWithinOneCommit) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit a = InsertUnit(Notice("o", "n", 1, 1000, "p"));
  a.enqueue = {Item("x", "k1", 1)};
  Unit b = InsertUnit(Notice("o", "n", 1, 1000, "q"));
  b.enqueue = {Item("y", "k2", 2)};
  Outcome out = CommitAndWait(*store, {std::move(a), std::move(b)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied, UnitResult::kDuplicate));
  absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(Keys(*pending), ElementsAre("x:k1"));
}

// ---------------------------------------------------------------------------------------------
// Outbox.

TEST_P(StoreContractTest, PendingOutboxInQueueOrderAndFirstQueuedItemKept) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // Peers and keys deliberately not in alphabetical order.
  const OutboxItem z1 = Item("zeta", "k9", 300, "o1", "n1", 4);
  const OutboxItem a1 = Item("alpha", "k5", 100, "o2", "n2", 1, ItemKind::kReceipt);
  const OutboxItem z2 = Item("zeta", "k1", 200, "o1", "n1", 5);
  Unit u1;
  u1.enqueue = {z1, a1};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u1)}).status.ok());
  Unit u2;
  u2.enqueue = {z2};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u2)}).status.ok());

  // Queued again for the same (peer, key): left as it is — same frame, same time, same place.
  OutboxItem z1_again = Item("zeta", "k9", 999, "o9", "n9", 9);
  z1_again.frame = "replacement frame";
  const OutboxItem a2 = Item("alpha", "k9", 400);  // same key, other peer: a separate item
  Unit u3;
  u3.enqueue = {z1_again, a2};
  Outcome out = CommitAndWait(*store, {std::move(u3)});
  ASSERT_TRUE(out.status.ok()) << out.status;

  absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 4u);
  EXPECT_EQ(Fields((*pending)[0]), Fields(z1));
  EXPECT_EQ(Fields((*pending)[1]), Fields(a1));
  EXPECT_EQ(Fields((*pending)[2]), Fields(z2));
  EXPECT_EQ(Fields((*pending)[3]), Fields(a2));
}

TEST_P(StoreContractTest, PendingNoticeItemCarriesTheEnvelopeOfItsStoredNoticeNotACopy) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit u;
  u.insert = Notice("o", "n", 2, 1000);
  OutboxItem notice = Item("peer-a", "o/n/2", 1000, "o", "n", 2);
  notice.envelope = "an envelope the outbox must not keep";  // what the node holds in memory
  OutboxItem other_revision = Item("peer-a", "o/n/1", 1000, "o", "n", 1);  // revision 1 not stored
  OutboxItem receipt = Item("peer-b", "r", 1000, "o", "n", 2, ItemKind::kReceipt);
  u.enqueue = {notice, other_revision, receipt};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());

  absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].frame, notice.frame);
  EXPECT_EQ((*pending)[0].envelope, Notice("o", "n", 2, 1000).envelope);  // from the notice row
  EXPECT_EQ((*pending)[1].envelope, "");  // no such notice stored: the node reports it corrupt
  EXPECT_EQ((*pending)[2].envelope, "");  // a receipt's payload is in its frame

  // The envelope is stored once: no outbox column holds it (SQLite's file says so).
  if (GetParam() == "memory") return;
  store->Close();
  store.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM outbox WHERE instr(frame, ?) > 0", -1, &stmt, nullptr),
            SQLITE_OK);
  sqlite3_bind_blob(stmt, 1, "an envelope", 11, SQLITE_STATIC);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(StoreTest, SettleRemovesFromPendingAndOutboxCountsPerPeer) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit u;
  u.enqueue = {Item("beta", "b1", 70), Item("alpha", "a1", 100), Item("alpha", "a2", 200),
               Item("alpha", "a3", 300), Item("beta", "b2", 50)};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());

  absl::StatusOr<std::vector<PeerCounts>> counts = store->OutboxCounts();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ(Fields((*counts)[0]), Fields(PeerCounts{"alpha", 3, 100, 0, 0}));
  EXPECT_EQ(Fields((*counts)[1]), Fields(PeerCounts{"beta", 2, 50, 0, 0}));

  Unit s;
  s.settle = {Delivered("alpha", "a1"), Refused("alpha", "a2", "policy says no"), Delivered("beta", "b1"),
              Delivered("beta", "b2"), Delivered("gamma", "unknown")};  // unknown: nothing to settle
  Outcome out = CommitAndWait(*store, {std::move(s)});
  ASSERT_TRUE(out.status.ok()) << out.status;

  absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(Keys(*pending), ElementsAre("alpha:a3"));
  counts = store->OutboxCounts();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 2u);  // no row for gamma
  EXPECT_EQ(Fields((*counts)[0]), Fields(PeerCounts{"alpha", 1, 300, 1, 1}));
  EXPECT_EQ(Fields((*counts)[1]), Fields(PeerCounts{"beta", 0, 0, 2, 0}));

  // A settled item stays settled: settling it again the other way, or queueing it again, changes
  // nothing.
  Unit again;
  again.settle = {Refused("alpha", "a1", "late refusal"), Refused("beta", "b2", "late refusal")};
  again.enqueue = {Item("beta", "b1", 900)};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(again)}).status.ok());
  pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(Keys(*pending), ElementsAre("alpha:a3"));
  counts = store->OutboxCounts();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ(Fields((*counts)[0]), Fields(PeerCounts{"alpha", 1, 300, 1, 1}));
  EXPECT_EQ(Fields((*counts)[1]), Fields(PeerCounts{"beta", 0, 0, 2, 0}));

  // Settled items are counted from the table when the store opens, then as they settle.
  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  counts = store->OutboxCounts();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ(Fields((*counts)[0]), Fields(PeerCounts{"alpha", 1, 300, 1, 1}));
  EXPECT_EQ(Fields((*counts)[1]), Fields(PeerCounts{"beta", 0, 0, 2, 0}));
  Unit last;
  last.settle = {Refused("alpha", "a3", "expired"), Refused("alpha", "a3", "expired")};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(last)}).status.ok());
  counts = store->OutboxCounts();
  ASSERT_TRUE(counts.ok());
  ASSERT_EQ(counts->size(), 2u);
  EXPECT_EQ(Fields((*counts)[0]), Fields(PeerCounts{"alpha", 0, 0, 1, 2}));
}

// `sevex outbox` and `status` count the outbox on every call: that must read the pending items
// through their index, never every item ever queued (kept for ever once settled).
TEST_F(StoreTest, CountingTheOutboxReadsOnlyThePendingItems) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit u;
  u.enqueue = {Item("alpha", "a1", 100), Item("alpha", "a2", 200)};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* plan = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT peer, count(*), MIN(queued_at_ms) FROM outbox "
                               "WHERE state = 0 GROUP BY peer",
                               -1, &plan, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string details;
  while (sqlite3_step(plan) == SQLITE_ROW) {
    details += reinterpret_cast<const char*>(sqlite3_column_text(plan, 3));
    details += "\n";
  }
  sqlite3_finalize(plan);
  sqlite3_close(db);
  EXPECT_THAT(details, HasSubstr("USING INDEX outbox_pending_by_peer")) << details;
}

// A node that holds only the head of a long queue in memory reads the rest a page at a time.
TEST_P(StoreContractTest, PendingPageReadsOnePeerInQueueOrderAfterAPosition) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // Two peers' items interleaved, and a notice whose envelope the page joins in.
  Unit u;
  u.insert = Notice("o", "n", 1, 1000);
  for (int i = 0; i < 6; ++i) {
    u.enqueue.push_back(Item("alpha", absl::StrCat("a", i), 100 + i, "o", "n", 1));
    u.enqueue.push_back(Item("beta", absl::StrCat("b", i), 100 + i, "o", "n", 1, ItemKind::kReceipt));
  }
  Outcome out = CommitAndWait(*store, {std::move(u)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  ASSERT_EQ(out.results.size(), 1u);
  // The commit says where each item was queued: increasing, one per enqueued item.
  const std::vector<int64_t> queued = out.results[0].queued;
  ASSERT_EQ(queued.size(), 12u);
  EXPECT_TRUE(std::is_sorted(queued.begin(), queued.end()));
  EXPECT_GT(queued[0], 0);

  absl::StatusOr<std::vector<OutboxItem>> page = store->PendingPage("alpha", 0, 4);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Keys(*page), ElementsAre("alpha:a0", "alpha:a1", "alpha:a2", "alpha:a3"));
  for (size_t i = 0; i < page->size(); ++i) {
    EXPECT_EQ((*page)[i].seq, queued[2 * i]) << "the seq the commit reported";
    EXPECT_EQ(Fields((*page)[i]), Fields(Item("alpha", absl::StrCat("a", i), 100 + i, "o", "n", 1)));
    EXPECT_EQ((*page)[i].envelope, Notice("o", "n", 1, 1000).envelope);
  }

  // Meanwhile the head is delivered, and more is queued for both peers.
  Unit more;
  more.settle = {Delivered("alpha", "a0"), Delivered("alpha", "a1"), Delivered("alpha", "a2"), Delivered("alpha", "a3")};
  more.enqueue = {Item("beta", "b6", 200), Item("alpha", "a6", 200), Item("alpha", "a7", 201)};
  out = CommitAndWait(*store, {std::move(more)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  ASSERT_EQ(out.results[0].queued.size(), 3u);
  EXPECT_GT(out.results[0].queued[1], queued.back()) << "queued later, placed later";

  // The next page starts after the last item read: neither what was read before nor what was
  // settled since comes back, and what was committed since follows in order.
  page = store->PendingPage("alpha", (*page).back().seq, 3);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Keys(*page), ElementsAre("alpha:a4", "alpha:a5", "alpha:a6"));
  EXPECT_EQ((*page)[2].seq, out.results[0].queued[1]);
  page = store->PendingPage("alpha", (*page).back().seq, 3);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Keys(*page), ElementsAre("alpha:a7")) << "a short page: the end of the queue";
  page = store->PendingPage("alpha", (*page).back().seq, 3);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, IsEmpty());

  // The other peer's queue is whole, and a peer with nothing queued has an empty page.
  page = store->PendingPage("beta", 0, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(Keys(*page), ElementsAre("beta:b0", "beta:b1", "beta:b2", "beta:b3", "beta:b4", "beta:b5", "beta:b6"));
  EXPECT_EQ((*page)[0].envelope, "") << "a receipt's payload is in its frame";
  page = store->PendingPage("gamma", 0, 100);
  ASSERT_TRUE(page.ok());
  EXPECT_THAT(*page, IsEmpty());
}

TEST_P(StoreContractTest, PendingAfterCountsTheRestOfOnePeersQueue) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit u;
  u.enqueue = {Item("alpha", "a0", 300), Item("beta", "b0", 50), Item("alpha", "a1", 200), Item("alpha", "a2", 400)};
  Outcome out = CommitAndWait(*store, {std::move(u)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  const std::vector<int64_t> queued = out.results[0].queued;

  absl::StatusOr<PendingTail> tail = store->PendingAfter("alpha", 0);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(tail->count, 3u);
  EXPECT_EQ(tail->first_queued_ms, 300) << "the first in queue order";
  tail = store->PendingAfter("alpha", queued[0]);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->count, 2u);
  EXPECT_EQ(tail->first_queued_ms, 200);

  Unit s;
  s.settle = {Delivered("alpha", "a1")};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(s)}).status.ok());
  tail = store->PendingAfter("alpha", queued[0]);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->count, 1u);
  EXPECT_EQ(tail->first_queued_ms, 400);
  tail = store->PendingAfter("alpha", queued[3]);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->count, 0u);
  EXPECT_EQ(tail->first_queued_ms, 0);
}

// The commit reports 0 for an item it did not queue, so that the node does not hold it twice.
TEST_P(StoreContractTest, CommitReportsNoPlaceForAnItemNotQueued) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit first = InsertUnit(Notice("o", "n", 1, 1000, "p"));
  first.enqueue = {Item("x", "k1", 1)};
  Outcome out = CommitAndWait(*store, {std::move(first)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  const int64_t k1 = out.results[0].queued.at(0);
  EXPECT_GT(k1, 0);

  Unit same_key;  // (x, k1) is queued already: left as it was
  same_key.enqueue = {Item("x", "k1", 2), Item("x", "k2", 3)};
  Unit duplicate = InsertUnit(Notice("o", "n", 1, 1000, "q"));  // notice stored already: enqueue skipped
  duplicate.enqueue = {Item("y", "k3", 4), Item("y", "k4", 5)};
  out = CommitAndWait(*store, {std::move(same_key), std::move(duplicate)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  ASSERT_EQ(out.results.size(), 2u);
  EXPECT_EQ(out.results[0], UnitResult::kApplied);
  ASSERT_EQ(out.results[0].queued.size(), 2u);
  EXPECT_EQ(out.results[0].queued[0], 0);
  EXPECT_GT(out.results[0].queued[1], k1);
  EXPECT_EQ(out.results[1], UnitResult::kDuplicate);
  EXPECT_THAT(out.results[1].queued, ElementsAre(0, 0)) << "one entry per enqueued item, none queued";

  absl::StatusOr<std::vector<OutboxItem>> page = store->PendingPage("x", 0, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].seq, k1);
  EXPECT_EQ((*page)[0].queued_at_ms, 1) << "the first queued item is kept";
}

// A store made before pending items were indexed by peer gets the new index when opened, in
// place of the old one, with its data as it was.
TEST_F(StoreTest, AnOlderStoreIsIndexedByPeerWhenOpened) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Unit u;
    u.enqueue = {Item("alpha", "a0", 100), Item("beta", "b0", 100), Item("alpha", "a1", 101)};
    ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());
  }
  RawSql(path_, "DROP INDEX outbox_pending_by_peer; CREATE INDEX outbox_pending ON outbox(seq) WHERE state = 0;");

  auto store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::vector<OutboxItem>> page = store->PendingPage("alpha", 0, 10);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Keys(*page), ElementsAre("alpha:a0", "alpha:a1"));
  store->Close();
  store.reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  const char* sql =
      "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE "
      "'outbox_pending%' ORDER BY name)";
  ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const unsigned char* names = sqlite3_column_text(stmt, 0);
  EXPECT_EQ(std::string(names != nullptr ? reinterpret_cast<const char*>(names) : ""), "outbox_pending_by_peer");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_P(StoreContractTest, PeersHoldingListsPendingAndDeliveredNotRefused) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit u;
  u.enqueue = {
      Item("p-pending", "k1", 1, "o", "n", 1),
      Item("p-delivered", "k2", 2, "o", "n", 2),  // another revision of the same notice
      Item("p-refused", "k3", 3, "o", "n", 1),
      Item("p-both", "k4", 4, "o", "n", 1),       // refused revision 1 …
      Item("p-both", "k5", 5, "o", "n", 2),       // … but holds revision 2
      Item("p-twice", "k6", 6, "o", "n", 1),
      Item("p-twice", "k7", 7, "o", "n", 2),
      Item("p-other-notice", "k8", 8, "o", "m", 1),
      Item("p-other-origin", "k9", 9, "o2", "n", 1),
      Item("p-receipt", "k10", 10, "o", "n", 1, ItemKind::kReceipt),  // a receipt, not the notice
  };
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());
  Unit s;
  s.settle = {Delivered("p-delivered", "k2"), Refused("p-refused", "k3", "no"), Refused("p-both", "k4", "no")};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(s)}).status.ok());

  absl::StatusOr<std::vector<std::string>> peers = store->PeersHolding("o", "n");
  ASSERT_TRUE(peers.ok()) << peers.status();
  EXPECT_THAT(*peers, ElementsAre("p-both", "p-delivered", "p-pending", "p-twice"));
  peers = store->PeersHolding("o", "m");
  ASSERT_TRUE(peers.ok());
  EXPECT_THAT(*peers, ElementsAre("p-other-notice"));
  peers = store->PeersHolding("o", "unknown");
  ASSERT_TRUE(peers.ok());
  EXPECT_THAT(*peers, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Receipts.

// A final state (DELIVERED, REFUSED) never changes, whatever comes later: a late PENDING, or a
// peer's report of another final state (issue 22: a forged receipt turned DELIVERED into REFUSED).
TEST_P(StoreContractTest, ReceiptsMoveForwardOnly) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit first;
  first.receipts = {Receipt("r-pending-then-delivered", kPending, 10, "-a"),
                    Receipt("r-refused-then-pending", kRefused, 10, "-a"),
                    Receipt("r-delivered-then-pending", kDelivered, 10, "-a"),
                    Receipt("r-pending-then-pending", kPending, 10, "-a"),
                    Receipt("r-delivered-then-refused", kDelivered, 10, "-a")};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(first)}).status.ok());
  Unit second;
  second.receipts = {Receipt("r-pending-then-delivered", kDelivered, 20, "-b"),
                     Receipt("r-refused-then-pending", kPending, 20, "-b"),
                     Receipt("r-delivered-then-pending", kPending, 20, "-b"),
                     Receipt("r-pending-then-pending", kPending, 20, "-b"),
                     Receipt("r-delivered-then-refused", kRefused, 20, "-b")};
  // Another revision of the same notice is a separate receipt.
  ReceiptRow other_revision = Receipt("r-pending-then-delivered", kRefused, 30, "-c");
  other_revision.revision = 2;
  second.receipts.push_back(other_revision);
  ASSERT_TRUE(CommitAndWait(*store, {std::move(second)}).status.ok());

  absl::StatusOr<std::vector<ReceiptRow>> rows = store->Receipts("o", "n", 1);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 5u);
  // By recipient.
  EXPECT_EQ(Fields((*rows)[0]), Fields(Receipt("r-delivered-then-pending", kDelivered, 10, "-a")));
  EXPECT_EQ(Fields((*rows)[1]), Fields(Receipt("r-delivered-then-refused", kDelivered, 10, "-a")));
  EXPECT_EQ(Fields((*rows)[2]), Fields(Receipt("r-pending-then-delivered", kDelivered, 20, "-b")));
  EXPECT_EQ(Fields((*rows)[3]), Fields(Receipt("r-pending-then-pending", kPending, 20, "-b")));
  EXPECT_EQ(Fields((*rows)[4]), Fields(Receipt("r-refused-then-pending", kRefused, 10, "-a")));

  rows = store->Receipts("o", "n", 2);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(Fields((*rows)[0]), Fields(other_revision));
  rows = store->Receipts("o", "n", 3);
  ASSERT_TRUE(rows.ok());
  EXPECT_THAT(*rows, IsEmpty());
}

// ---------------------------------------------------------------------------------------------
// Audit.

TEST_P(StoreContractTest, AuditSinceAndLimit) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Unit u;
  u.audit = {AuditRow{100, "rejected", "o", "a", 1, "p", "bad signature"}, AuditRow{200, "delivered", "o", "b", 2, "q", ""},
             AuditRow{300, "refused", "o", "c", 3, "r", "policy"}};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());
  absl::StatusOr<std::vector<AuditRow>> rows = store->Audit(0, 0);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  const AuditRow& r = (*rows)[0];
  EXPECT_EQ(std::tie(r.time_ms, r.event, r.origin, r.notice_id, r.revision, r.peer, r.reason),
            std::make_tuple(int64_t{100}, std::string("rejected"), std::string("o"), std::string("a"), uint32_t{1},
                            std::string("p"), std::string("bad signature")));
  rows = store->Audit(200, 0);
  ASSERT_TRUE(rows.ok());
  EXPECT_THAT(Events(*rows), ElementsAre("delivered o/b/2", "refused o/c/3"));
  rows = store->Audit(0, 2);
  ASSERT_TRUE(rows.ok());
  EXPECT_THAT(Events(*rows), ElementsAre("rejected o/a/1", "delivered o/b/2"));
}

// The times the store fills in itself come from SqliteOptions::clock_ms (the node's clock seam).
TEST_F(StoreTest, TheStoresOwnAuditTimesComeFromItsClock) {
  SqliteOptions options;
  options.clock_ms = [] { return int64_t{4102444800000}; };  // 2100-01-01
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  Unit u = InsertUnit(Notice("o", "n", 1, 1000));
  u.audit = {AuditRow{0, "note", "o", "n", 1, "", ""}, AuditRow{7, "stamped", "o", "n", 1, "", ""}};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());
  absl::StatusOr<std::vector<AuditRow>> rows = store->Audit(4102444800000, 0);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_THAT(Events(*rows), ElementsAre("submitted o/n/1", "note o/n/1"));
  for (const AuditRow& r : *rows) EXPECT_EQ(r.time_ms, 4102444800000) << r.event;
  rows = store->Audit(0, 0);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 3u);  // and the row that brought its own time kept it
}

// ---------------------------------------------------------------------------------------------
// Durability and refusal of other files.

TEST_F(StoreTest, DataSurvivesCloseAndReopen) {
  const StoredNotice n1 = Notice("o", "n", 1, 1000);
  const StoredNotice n2 = Notice("o", "n", 2, 2000, "peer");
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Unit u = InsertUnit(n1);
    u.enqueue = {Item("p1", "k1", 10), Item("p2", "k2", 20)};
    u.receipts = {Receipt("r", kDelivered, 5)};
    Unit v = InsertUnit(n2);
    v.settle = {Refused("p1", "k1", "full")};
    ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());
    ASSERT_TRUE(CommitAndWait(*store, {std::move(v)}).status.ok());
    store->Close();
  }
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    absl::StatusOr<std::optional<StoredNotice>> latest = store->Latest("o", "n");
    ASSERT_TRUE(latest.ok());
    ASSERT_TRUE(latest->has_value());
    EXPECT_EQ(Fields(**latest), Fields(n2));
    absl::StatusOr<std::optional<StoredNotice>> got = store->Get("o", "n", 1);
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(Fields(**got), Fields(n1));
    absl::StatusOr<uint64_t> own = store->NoticeCount(true);
    ASSERT_TRUE(own.ok());
    EXPECT_EQ(*own, 1u);
    absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
    ASSERT_TRUE(pending.ok());
    EXPECT_THAT(Keys(*pending), ElementsAre("p2:k2"));
    absl::StatusOr<std::vector<PeerCounts>> counts = store->OutboxCounts();
    ASSERT_TRUE(counts.ok());
    ASSERT_EQ(counts->size(), 2u);
    EXPECT_EQ(Fields((*counts)[0]), Fields(PeerCounts{"p1", 0, 0, 0, 1}));
    absl::StatusOr<std::vector<ReceiptRow>> receipts = store->Receipts("o", "n", 1);
    ASSERT_TRUE(receipts.ok());
    ASSERT_EQ(receipts->size(), 1u);
    EXPECT_EQ(Fields((*receipts)[0]), Fields(Receipt("r", kDelivered, 5)));
    absl::StatusOr<std::vector<AuditRow>> audit = store->Audit(0, 0);
    ASSERT_TRUE(audit.ok());
    EXPECT_THAT(Events(*audit), ElementsAre("submitted o/n/1", "stored o/n/2"));

    // Still writable after reopening; a re-sent notice is still recognised as a duplicate.
    Outcome out = CommitAndWait(*store, {InsertUnit(n2), InsertUnit(Notice("o", "n", 3, 3000))});
    ASSERT_TRUE(out.status.ok()) << out.status;
    EXPECT_THAT(out.results, ElementsAre(UnitResult::kDuplicate, UnitResult::kApplied));
  }  // destroyed without an explicit Close()
  auto store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3u);
  absl::StatusOr<uint64_t> own = store->NoticeCount(true);  // n1 and revision 3, not n2
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(*own, 2u);
}

TEST_F(StoreTest, AcknowledgedCommitSurvivesProcessDeathWithoutClose) {
  const StoredNotice n = Notice("o", "crash", 1, 1000, "peer");
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // No gtest assertions here: report through the exit code only.
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_.string());
    if (!store.ok()) _exit(2);
    Unit u = InsertUnit(n);
    u.enqueue = {Item("p", "k", 1, "o", "crash", 1)};
    std::promise<bool> done;
    (*store)->Commit({std::move(u)}, [&done](absl::Status s, std::vector<UnitResult> r) {
      done.set_value(s.ok() && r.size() == 1);
    });
    if (!done.get_future().get()) _exit(3);
    _exit(0);  // dies with the writer thread running and both connections open
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);

  auto store = Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<std::optional<StoredNotice>> got = store->Get("o", "crash", 1);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(Fields(**got), Fields(n));
  absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(Keys(*pending), ElementsAre("p:k"));
}

TEST_F(StoreTest, NewStoreFilesAreReadableByTheirOwnerOnly) {
  const mode_t old_mask = ::umask(0022);
  auto store = Open();
  ::umask(old_mask);
  ASSERT_NE(store, nullptr);
  Unit u;
  u.insert = Notice("o", "n", 1, 1000);
  ASSERT_TRUE(CommitAndWait(*store, {std::move(u)}).status.ok());
  for (const fs::path& p : {path_, fs::path(path_.string() + "-wal"), fs::path(path_.string() + "-shm")}) {
    struct stat st;
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << p;
  }
}

// Issue 22: a store with a zeroed page started silently, counted notices it did not hold and
// went on writing. Now the node's open and `sevex node --check` refuse it and say what to do,
// and leave the file as it was, for analysis.
TEST_F(StoreTest, ADamagedStoreIsRefusedWithWhatToDoAndLeftAsItWas) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    std::vector<Unit> units;
    for (int i = 0; i < 2000; ++i)
      units.push_back(InsertUnit(Notice("o", absl::StrCat("n-", i), 1, 1000 + i)));
    ASSERT_TRUE(CommitAndWait(*store, std::move(units)).status.ok());
    store->Close();
  }
  ASSERT_TRUE(CheckSqliteStore(path_.string()).ok());
  std::string bytes = ReadBytes(path_);
  const size_t pages = bytes.size() / 4096;
  ASSERT_GT(pages, 20u) << "the store is too small to damage in its middle";
  std::fill(bytes.begin() + (pages / 2) * 4096, bytes.begin() + (pages / 2 + 1) * 4096, '\0');
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  for (const absl::Status& s : {OpenSqliteStore(path_.string()).status(), CheckSqliteStore(path_.string())}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(absl::StrCat(path_.string(), " is damaged")));
    EXPECT_THAT(std::string(s.message()), HasSubstr("restore the store from a backup (docs/operations.md"));
  }
  EXPECT_EQ(ReadBytes(path_), bytes);
}

TEST_F(StoreTest, RefusesTextFileAndLeavesItUntouched) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += absl::StrCat("line ", i, ": this is a text file, not a database\n");
  {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_.string());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path_.string()));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("not a sevex store"));
  EXPECT_EQ(ReadBytes(path_), text);
  EXPECT_THAT(DirEntries(dir_), ElementsAre("node.db"));  // no journal or WAL left beside it
}

TEST_F(StoreTest, RefusesOtherSqliteDatabaseAndLeavesItUntouched) {
  RawSql(path_, "CREATE TABLE people(name TEXT); INSERT INTO people VALUES('ada'), ('grace');");
  const std::string before = ReadBytes(path_);
  ASSERT_FALSE(before.empty());

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_.string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path_.string()));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("not a sevex store"));
  EXPECT_EQ(ReadBytes(path_), before);  // not even switched to WAL
  EXPECT_THAT(DirEntries(dir_), ElementsAre("node.db"));
}

TEST_F(StoreTest, RefusesOtherSqliteDatabaseInWalModeAndLeavesItUntouched) {
  RawSql(path_, "PRAGMA journal_mode=WAL; CREATE TABLE people(name TEXT); INSERT INTO people VALUES('ada');");
  const std::string before = ReadBytes(path_);
  const std::set<std::string> entries_before = DirEntries(dir_);

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_.string());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path_.string()));
  EXPECT_EQ(ReadBytes(path_), before);
  EXPECT_EQ(DirEntries(dir_), entries_before);
}

TEST_F(StoreTest, RefusesStoreOfNewerSchemaAndLeavesItUntouched) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(CommitAndWait(*store, {InsertUnit(Notice("o", "n", 1, 1))}).status.ok());
  }
  RawSql(path_, "PRAGMA user_version=2");
  const std::string before = ReadBytes(path_);

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_.string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(path_.string()));
  EXPECT_THAT(std::string(store.status().message()), HasSubstr("newer"));
  EXPECT_EQ(ReadBytes(path_), before);
}

TEST_F(StoreTest, OpenFailsWithPathWhenDirectoryMissing) {
  const fs::path nowhere = dir_ / "no-such-dir" / "node.db";
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(nowhere.string());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(std::string(store.status().message()), HasSubstr(nowhere.string()));
  EXPECT_FALSE(fs::exists(dir_ / "no-such-dir"));
}

// ---------------------------------------------------------------------------------------------
// Group commit.

TEST_F(StoreTest, ConcurrentCommitsFromManyThreadsAllAnswered) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 6;
  constexpr int kCommitsPerThread = 60;

  std::mutex mu;
  std::condition_variable cv;
  int answered = 0;
  int failures = 0;
  std::vector<std::string> problems;
  size_t expected_units = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kCommitsPerThread; ++i) expected_units += 1 + (i % 3);
  }

  // A reader runs throughout: reads are never refused and never see the count go down.
  std::atomic<bool> stop_reader{false};
  std::atomic<int> read_errors{0};
  std::atomic<int> went_down{0};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!stop_reader.load()) {
      absl::StatusOr<uint64_t> n = store->NoticeCount(false);
      absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
      if (!n.ok() || !pending.ok()) {
        ++read_errors;
        continue;
      }
      if (*n < last) ++went_down;
      last = *n;
    }
  });

  const std::thread::id test_thread = std::this_thread::get_id();
  std::atomic<int> on_caller_thread{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kCommitsPerThread; ++i) {
        const size_t n_units = 1 + (i % 3);
        std::vector<Unit> units;
        for (size_t j = 0; j < n_units; ++j) {
          const std::string id = absl::StrCat("t", t, "-c", i, "-u", j);
          Unit u = InsertUnit(Notice(absl::StrCat("origin", t), id, 1, 1000 + i, t % 2 == 0 ? "" : "peer"));
          u.enqueue = {Item(absl::StrCat("peer", t), id, i, absl::StrCat("origin", t), id, 1)};
          u.audit = {AuditRow{0, "note", absl::StrCat("origin", t), id, 1, "", ""}};
          units.push_back(std::move(u));
        }
        const std::thread::id caller = std::this_thread::get_id();
        store->Commit(std::move(units), [&, n_units, caller, t, i](absl::Status s, std::vector<UnitResult> r) {
          if (std::this_thread::get_id() == caller || std::this_thread::get_id() == test_thread) ++on_caller_thread;
          std::lock_guard<std::mutex> lock(mu);
          if (!s.ok() || r.size() != n_units ||
              std::count(r.begin(), r.end(), UnitResult::kApplied) != static_cast<long>(n_units)) {
            ++failures;
            problems.push_back(absl::StrCat("thread ", t, " commit ", i, ": ", s.ToString(), ", ", r.size(), " results"));
          }
          ++answered;
          cv.notify_all();
        });
      }
    });
  }
  for (std::thread& w : writers) w.join();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return answered == kThreads * kCommitsPerThread; }))
        << answered << " of " << kThreads * kCommitsPerThread << " answered";
    EXPECT_EQ(failures, 0) << ::testing::PrintToString(problems);
  }
  stop_reader = true;
  reader.join();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_EQ(went_down.load(), 0);
  EXPECT_EQ(on_caller_thread.load(), 0);  // answered on the writer thread

  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, expected_units);
  absl::StatusOr<uint64_t> own = store->NoticeCount(true);
  ASSERT_TRUE(own.ok());
  EXPECT_GT(*own, 0u);
  EXPECT_LT(*own, expected_units);

  // Every item is pending, and each thread's items are in the order that thread committed them.
  absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), expected_units);
  for (int t = 0; t < kThreads; ++t) {
    std::vector<std::string> got;
    for (const OutboxItem& item : *pending) {
      if (item.peer == absl::StrCat("peer", t)) got.push_back(item.key);
    }
    std::vector<std::string> want;
    for (int i = 0; i < kCommitsPerThread; ++i) {
      for (int j = 0; j < 1 + (i % 3); ++j) want.push_back(absl::StrCat("t", t, "-c", i, "-u", j));
    }
    EXPECT_EQ(got, want) << "thread " << t;
  }
  absl::StatusOr<std::vector<AuditRow>> audit = store->Audit(0, 0);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->size(), 2 * expected_units);  // one "submitted"/"stored" and one "note" each

  // All of it is on disk.
  store->Close();
  store = Open();
  ASSERT_NE(store, nullptr);
  count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, expected_units);
}

TEST_F(StoreTest, RequestLargerThanUnitLimitIsCommittedWhole) {
  SqliteOptions options;
  options.max_units_per_commit = 3;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  std::vector<Unit> units;
  for (int i = 0; i < 10; ++i) units.push_back(InsertUnit(Notice("o", absl::StrCat("n", i), 1, i)));
  Outcome big;
  Outcome small;
  std::promise<void> both;
  std::atomic<int> left{2};
  store->Commit(std::move(units), [&](absl::Status s, std::vector<UnitResult> r) {
    big = Outcome{s, std::move(r), true};
    if (--left == 0) both.set_value();
  });
  store->Commit({InsertUnit(Notice("o", "m", 1, 1))}, [&](absl::Status s, std::vector<UnitResult> r) {
    small = Outcome{s, std::move(r), true};
    if (--left == 0) both.set_value();
  });
  ASSERT_EQ(both.get_future().wait_for(30s), std::future_status::ready);
  ASSERT_TRUE(big.status.ok()) << big.status;
  EXPECT_EQ(big.results.size(), 10u);
  ASSERT_TRUE(small.status.ok()) << small.status;
  EXPECT_EQ(small.results.size(), 1u);
  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 11u);
}

// The log is copied into the database by the checkpointer thread while the store is open and
// committing, and it stays bounded: the database file grows (pages were checkpointed without a
// close), the log file stays near wal_limit_pages, and everything
// is there after a reopen. With SQLite's own automatic checkpoint turned off and nothing in its
// place, the database file would stay at its schema's few pages and the log would hold all.
TEST_F(StoreTest, LogIsCheckpointedWhileCommittingAndStaysBounded) {
  SqliteOptions options;
  options.checkpoint_pages = 40;
  options.wal_limit_pages = 200;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);
  const uintmax_t schema_only = fs::file_size(path_);
  const fs::path wal = path_.string() + "-wal";
  constexpr int kNotices = 600;
  uintmax_t largest_wal = 0;
  for (int i = 0; i < kNotices; ++i) {
    StoredNotice n = Notice("o", absl::StrCat("n", i), 1, i);
    n.envelope = std::string(3000, static_cast<char>('a' + i % 26));  // one 4 KiB page each
    ASSERT_TRUE(CommitAndWait(*store, {InsertUnit(std::move(n))}).status.ok());
    largest_wal = std::max(largest_wal, fs::file_size(wal));
  }
  // A frame is a 4 KiB page and a 24-byte header; one transaction here writes a few frames. Once
  // the log holds wal_limit_pages, the writer waits for a checkpointer run in progress and then
  // restarts the log before its next transaction, so it never holds more than the limit and the
  // transaction that reached it.
  EXPECT_LE(largest_wal, (options.wal_limit_pages + 16) * (4096u + 24u) + 32u);
  // Checkpoints finish off the writer's thread: wait for the database to catch up.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (fs::file_size(path_) < schema_only + kNotices / 2 * 4096u && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // polls, up to the deadline
  }
  EXPECT_GE(fs::file_size(path_), schema_only + kNotices / 2 * 4096u);
  store->Close();
  store = Open(options);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, static_cast<uint64_t>(kNotices));
  absl::StatusOr<std::optional<StoredNotice>> last = store->Get("o", absl::StrCat("n", kNotices - 1), 1);
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->envelope, std::string(3000, static_cast<char>('a' + (kNotices - 1) % 26)));
}

TEST_F(StoreTest, CallbackMayCommitAgain) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  std::promise<Outcome> inner;
  store->Commit({InsertUnit(Notice("o", "first", 1, 1))}, [&](absl::Status s, std::vector<UnitResult>) {
    if (!s.ok()) {
      inner.set_value(Outcome{s, {}, true});
      return;
    }
    store->Commit({InsertUnit(Notice("o", "second", 1, 2))}, [&](absl::Status s2, std::vector<UnitResult> r2) {
      inner.set_value(Outcome{s2, std::move(r2), true});
    });
  });
  std::future<Outcome> f = inner.get_future();
  ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
  Outcome out = f.get();
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied));
  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2u);
}

// ---------------------------------------------------------------------------------------------
// Failed commits (a full store, through max_page_count).

// Everything a reader can see, to compare before and after a failed commit.
struct Snapshot {
  uint64_t notices = 0;
  std::vector<std::string> pending;
  std::vector<std::tuple<std::string, uint64_t, int64_t, uint64_t, uint64_t>> counts;
  std::vector<std::string> audit;
  size_t receipts = 0;

  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(Store& store) {
  Snapshot s;
  absl::StatusOr<uint64_t> n = store.NoticeCount(false);
  EXPECT_TRUE(n.ok()) << n.status();
  if (n.ok()) s.notices = *n;
  absl::StatusOr<std::vector<OutboxItem>> pending = store.PendingOutbox();
  EXPECT_TRUE(pending.ok()) << pending.status();
  if (pending.ok()) s.pending = Keys(*pending);
  absl::StatusOr<std::vector<PeerCounts>> counts = store.OutboxCounts();
  EXPECT_TRUE(counts.ok()) << counts.status();
  if (counts.ok()) {
    for (const PeerCounts& c : *counts) s.counts.emplace_back(c.peer, c.pending, c.oldest_pending_ms, c.delivered, c.refused);
  }
  absl::StatusOr<std::vector<AuditRow>> audit = store.Audit(0, 0);
  EXPECT_TRUE(audit.ok()) << audit.status();
  if (audit.ok()) s.audit = Events(*audit);
  absl::StatusOr<std::vector<ReceiptRow>> receipts = store.Receipts("o", "n", 1);
  EXPECT_TRUE(receipts.ok()) << receipts.status();
  if (receipts.ok()) s.receipts = receipts->size();
  return s;
}

void PrintTo(const Snapshot& s, std::ostream* os) {
  *os << s.notices << " notices, pending " << ::testing::PrintToString(s.pending) << ", audit "
      << ::testing::PrintToString(s.audit) << ", " << s.receipts << " receipts";
}

// A unit too large for a store limited to `max_page_count` pages of 4 KiB.
Unit Oversized(const std::string& id) {
  StoredNotice n = Notice("o", id, 1, 5000);
  n.envelope = std::string(2 << 20, 'x');  // 2 MiB
  return InsertUnit(std::move(n));
}

TEST_F(StoreTest, FailedCommitLeavesNoTraceAndStoreKeepsWorking) {
  SqliteOptions options;
  options.max_page_count = 100;  // ~400 KiB
  auto store = Open(options);
  ASSERT_NE(store, nullptr);

  Unit setup = InsertUnit(Notice("o", "n", 1, 1000, "in"));
  setup.enqueue = {Item("p1", "k1", 10), Item("p2", "k2", 20)};
  setup.receipts = {Receipt("r", kPending, 1)};
  ASSERT_TRUE(CommitAndWait(*store, {std::move(setup)}).status.ok());
  const Snapshot before = Take(*store);
  ASSERT_EQ(before.notices, 1u);

  // Small units first, which on their own would fit, then one that cannot.
  Unit small = InsertUnit(Notice("o", "small", 1, 2000));
  small.enqueue = {Item("p3", "k3", 30)};
  small.settle = {Delivered("p1", "k1")};
  small.receipts = {Receipt("r2", kDelivered, 2)};
  small.audit = {AuditRow{0, "note", "o", "small", 1, "", ""}};
  Unit dup = InsertUnit(Notice("o", "n", 1, 1000, "in"));  // a duplicate, whose settle would apply
  dup.settle = {Refused("p2", "k2", "no")};
  Outcome out = CommitAndWait(*store, {std::move(small), std::move(dup), Oversized("big")});
  ASSERT_TRUE(out.called);
  EXPECT_FALSE(out.status.ok());
  EXPECT_EQ(out.status.code(), absl::StatusCode::kResourceExhausted) << out.status;
  EXPECT_THAT(std::string(out.status.message()), HasSubstr(path_.string()));
  EXPECT_THAT(out.results, IsEmpty());

  // As it was: no partial units.
  EXPECT_EQ(Take(*store), before);
  for (const char* id : {"small", "big"}) {
    absl::StatusOr<std::optional<StoredNotice>> got = store->Get("o", id, 1);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_FALSE(got->has_value()) << id;
  }

  // A later commit that fits is applied.
  Unit later = InsertUnit(Notice("o", "later", 1, 3000));
  later.settle = {Delivered("p1", "k1")};
  out = CommitAndWait(*store, {std::move(later)});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied));
  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2u);
  absl::StatusOr<std::vector<OutboxItem>> pending = store->PendingOutbox();
  ASSERT_TRUE(pending.ok());
  EXPECT_THAT(Keys(*pending), ElementsAre("p2:k2"));

  // And so is the one that failed, should it be retried: it did not half-exist. (Another
  // oversized one fails again, cleanly.)
  out = CommitAndWait(*store, {Oversized("big2")});
  EXPECT_EQ(out.status.code(), absl::StatusCode::kResourceExhausted) << out.status;
  out = CommitAndWait(*store, {InsertUnit(Notice("o", "small", 1, 2000))});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied));

  // The same on disk, after reopening without the limit.
  store->Close();
  store = Open();
  ASSERT_NE(store, nullptr);
  count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 3u);
  for (const char* id : {"big", "big2"}) {
    absl::StatusOr<std::optional<StoredNotice>> got = store->Get("o", id, 1);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value()) << id;
  }
  absl::StatusOr<std::vector<AuditRow>> audit = store->Audit(0, 0);
  ASSERT_TRUE(audit.ok());
  EXPECT_THAT(Events(*audit), ElementsAre("stored o/n/1", "submitted o/later/1", "submitted o/small/1"));
}

TEST_F(StoreTest, FailedCommitDoesNotFailCommitsGroupedWithIt) {
  SqliteOptions options;
  options.max_page_count = 100;
  auto store = Open(options);
  ASSERT_NE(store, nullptr);

  // Hold the writer inside a callback so that the next commits queue up and are grouped into
  // one transaction.
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  store->Commit({InsertUnit(Notice("o", "gate", 1, 1))}, [&entered, released](absl::Status, std::vector<UnitResult>) {
    entered.set_value();
    released.wait();
  });
  ASSERT_EQ(entered.get_future().wait_for(30s), std::future_status::ready);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<Outcome> outcomes(3);
  int answered = 0;
  auto record = [&](int i) {
    return [&, i](absl::Status s, std::vector<UnitResult> r) {
      std::lock_guard<std::mutex> lock(mu);
      outcomes[i] = Outcome{std::move(s), std::move(r), true};
      ++answered;
      cv.notify_all();
    };
  };
  store->Commit({InsertUnit(Notice("o", "before", 1, 2))}, record(0));
  store->Commit({InsertUnit(Notice("o", "ok", 1, 3)), Oversized("big")}, record(1));
  store->Commit({InsertUnit(Notice("o", "after", 1, 4))}, record(2));
  release.set_value();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return answered == 3; }));
  }
  EXPECT_TRUE(outcomes[0].status.ok()) << outcomes[0].status;
  EXPECT_THAT(outcomes[0].results, ElementsAre(UnitResult::kApplied));
  EXPECT_EQ(outcomes[1].status.code(), absl::StatusCode::kResourceExhausted) << outcomes[1].status;
  EXPECT_THAT(outcomes[1].results, IsEmpty());
  EXPECT_TRUE(outcomes[2].status.ok()) << outcomes[2].status;
  EXPECT_THAT(outcomes[2].results, ElementsAre(UnitResult::kApplied));

  // What was answered is what is stored.
  for (const auto& [id, stored] : std::vector<std::pair<std::string, bool>>{
           {"gate", true}, {"before", true}, {"ok", false}, {"big", false}, {"after", true}}) {
    absl::StatusOr<std::optional<StoredNotice>> got = store->Get("o", id, 1);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->has_value(), stored) << id;
  }
}

// ---------------------------------------------------------------------------------------------
// Close.

TEST_F(StoreTest, CloseFinishesQueuedCommitsAndIsIdempotent) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  constexpr int kQueued = 100;

  std::atomic<int> ok{0};
  std::atomic<int> answered{0};
  std::promise<void> entered;
  // The first callback holds the writer for a while, so the commits below are still queued when
  // Close() is called.
  store->Commit({InsertUnit(Notice("o", "first", 1, 0))}, [&](absl::Status s, std::vector<UnitResult> r) {
    if (s.ok() && r.size() == 1) ++ok;
    ++answered;
    entered.set_value();
    std::this_thread::sleep_for(300ms);  // holds the writer: not a wait
  });
  ASSERT_EQ(entered.get_future().wait_for(30s), std::future_status::ready);
  for (int i = 0; i < kQueued; ++i) {
    store->Commit({InsertUnit(Notice("o", absl::StrCat("q", i), 1, i + 1))},
                  [&](absl::Status s, std::vector<UnitResult> r) {
                    if (s.ok() && r.size() == 1) ++ok;
                    ++answered;
                  });
  }
  // Two threads close at once; both return only when everything is answered.
  std::atomic<int> answered_when_other_closed{-1};
  std::thread other([&] {
    store->Close();
    answered_when_other_closed = answered.load();
  });
  store->Close();
  EXPECT_EQ(answered.load(), kQueued + 1);
  EXPECT_EQ(ok.load(), kQueued + 1);
  other.join();
  EXPECT_EQ(answered_when_other_closed.load(), kQueued + 1);
  store->Close();  // and again: nothing happens

  // After Close: a commit is answered at once with an error, reads fail cleanly.
  bool called = false;
  absl::Status late;
  store->Commit({InsertUnit(Notice("o", "late", 1, 0))}, [&](absl::Status s, std::vector<UnitResult> r) {
    called = true;
    late = s;
    EXPECT_THAT(r, IsEmpty());
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(late.code(), absl::StatusCode::kFailedPrecondition) << late;
  EXPECT_THAT(std::string(late.message()), HasSubstr(path_.string()));
  absl::StatusOr<uint64_t> count = store->NoticeCount(false);
  EXPECT_FALSE(count.ok());
  EXPECT_FALSE(store->PendingOutbox().ok());
  EXPECT_FALSE(store->Latest("o", "first").ok());

  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  count = store->NoticeCount(false);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, static_cast<uint64_t>(kQueued + 1));
  absl::StatusOr<std::optional<StoredNotice>> late_notice = store->Get("o", "late", 1);
  ASSERT_TRUE(late_notice.ok());
  EXPECT_FALSE(late_notice->has_value());
}

}  // namespace
}  // namespace sevex::store
