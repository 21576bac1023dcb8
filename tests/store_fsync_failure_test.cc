// store/sqlite_store through the "sevex-fault" VFS (store/sqlite_vfs.h): fsync fails, or writes
// fail as on a full disk. Commits made while it fails are reported failed to every caller, with
// the reason, and none of their units is stored — not in the running store, not after a clean
// close, not after the process dies (the WAL guard); everything committed before stays intact
// (read back, PRAGMA integrity_check); commits succeed again once the fault clears; the
// on_transaction callback sees every failure. Faults are armed in-process and through the
// control file that node processes use.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/sqlite_store.h"
#include "store/sqlite_vfs.h"
#include "store/store.h"

namespace sevex::store {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

StoredNotice Notice(const std::string& id) {
  StoredNotice n;
  n.origin = "o";
  n.notice_id = id;
  n.revision = 1;
  n.own = true;
  n.received_at_ms = 1000;
  n.envelope = absl::StrCat("envelope ", id, std::string(3000, 'e'));  // a few pages per commit
  n.translation = absl::StrCat("translation ", id);
  return n;
}

// A notice with an outbox item for peer "p" and a pending receipt, as a submission makes.
Unit Submission(const std::string& id) {
  Unit u;
  u.insert = Notice(id);
  OutboxItem item;
  item.peer = "p";
  item.key = absl::StrCat("k-", id);
  item.origin = "o";
  item.notice_id = id;
  item.revision = 1;
  item.frame = absl::StrCat("frame ", id);
  item.queued_at_ms = 1000;
  u.enqueue.push_back(item);
  u.receipts.push_back(ReceiptRow{"o", id, 1, "p", 1, "", "", "here", 1000});
  return u;
}

struct Outcome {
  absl::Status status;
  std::vector<UnitResult> results;
};

Outcome CommitAndWait(Store& store, std::vector<Unit> units) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> future = promise->get_future();
  store.Commit(std::move(units), [promise](absl::Status s, std::vector<UnitResult> r) {
    promise->set_value(Outcome{std::move(s), std::move(r)});
  });
  if (future.wait_for(30s) != std::future_status::ready) {
    ADD_FAILURE() << "commit callback not called within 30 s";
    return Outcome{absl::DeadlineExceededError("no callback"), {}};
  }
  return future.get();
}

bool Holds(Store& store, const std::string& id) {
  absl::StatusOr<std::optional<StoredNotice>> got = store.Get("o", id, 1);
  EXPECT_TRUE(got.ok()) << got.status();
  return got.ok() && got->has_value();
}

// What a reader sees, to compare before and after failures.
struct Contents {
  uint64_t notices = 0;
  std::vector<std::string> pending;
  std::vector<std::string> audit;
  bool operator==(const Contents&) const = default;
};

void PrintTo(const Contents& c, std::ostream* os) {
  *os << c.notices << " notices, pending " << ::testing::PrintToString(c.pending) << ", audit "
      << ::testing::PrintToString(c.audit);
}

Contents Read(Store& store) {
  Contents c;
  absl::StatusOr<uint64_t> n = store.NoticeCount(false);
  EXPECT_TRUE(n.ok()) << n.status();
  if (n.ok()) c.notices = *n;
  absl::StatusOr<std::vector<OutboxItem>> pending = store.PendingOutbox();
  EXPECT_TRUE(pending.ok()) << pending.status();
  if (pending.ok()) {
    for (const OutboxItem& i : *pending) c.pending.push_back(i.key);
  }
  absl::StatusOr<std::vector<AuditRow>> audit = store.Audit(0, 0);
  EXPECT_TRUE(audit.ok()) << audit.status();
  if (audit.ok()) {
    for (const AuditRow& r : *audit) c.audit.push_back(absl::StrCat(r.event, " ", r.notice_id));
  }
  return c;
}

// PRAGMA integrity_check on the file, through SQLite's own VFS (no faults), read only.
std::string IntegrityCheck(const fs::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string error = db != nullptr ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_close(db);
    return error;
  }
  sqlite3_stmt* stmt = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      absl::StrAppend(&result, result.empty() ? "" : "; ",
                      reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
    }
  } else {
    result = sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

// Runs SQL on the file with SQLite's own VFS, beside the store.
void RawSql(const fs::path& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  const std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

// Every transaction's outcome, as on_transaction reports it.
struct TransactionLog {
  std::mutex mu;
  std::vector<absl::Status> outcomes;

  std::vector<absl::Status> Take() {
    std::lock_guard<std::mutex> lock(mu);
    return std::exchange(outcomes, {});
  }
};

class StoreFsyncFailureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / absl::StrCat("sevex-store-fsync-", getpid(), "-", info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "node.db";
  }
  void TearDown() override {
    SetStoreFaults({});
    SetStoreFaultFile("");
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> Open(const std::string& vfs = kFaultVfs, TransactionLog* log = nullptr) {
    SqliteOptions options;
    options.vfs = vfs;
    if (log != nullptr) {
      options.on_transaction = [log](double, const absl::Status& outcome) {
        std::lock_guard<std::mutex> lock(log->mu);
        log->outcomes.push_back(outcome);
      };
    }
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_.string(), options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  fs::path dir_;
  fs::path path_;
};

TEST_F(StoreFsyncFailureTest, CommitsFailWhileFsyncFailsNothingEarlierIsLostAndCommitsResumeAfter) {
  TransactionLog log;
  auto store = Open(kFaultVfs, &log);
  ASSERT_NE(store, nullptr);
  for (const char* id : {"a", "b", "c"}) ASSERT_TRUE(CommitAndWait(*store, {Submission(id)}).status.ok());
  Unit settle;
  settle.settle.push_back(Settle{"p", "k-a", true, ""});
  ASSERT_TRUE(CommitAndWait(*store, {std::move(settle)}).status.ok());
  const Contents before = Read(*store);
  ASSERT_EQ(before.notices, 3u);
  ASSERT_THAT(before.pending, ElementsAre("k-b", "k-c"));
  log.Take();
  const StoreVfsCounts counts_before = StoreVfsCountsNow();

  SetStoreFaults({.fsync = true});
  // One commit alone.
  Outcome out = CommitAndWait(*store, {Submission("f1")});
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
  EXPECT_THAT(std::string(out.status.message()),
              AllOf(HasSubstr(path_.string()), HasSubstr("committing"), HasSubstr("fsync failed")));
  EXPECT_THAT(out.results, IsEmpty());

  // Three commits grouped into one transaction (the writer is held in a callback while they
  // queue): each caller is told of the failure.
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  store->Commit({Submission("gate")}, [&entered, released](absl::Status, std::vector<UnitResult>) {
    entered.set_value();
    released.wait();
  });
  ASSERT_EQ(entered.get_future().wait_for(30s), std::future_status::ready);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Outcome> grouped(3);
  int answered = 0;
  for (int i = 0; i < 3; ++i) {
    store->Commit({Submission(absl::StrCat("g", i))}, [&, i](absl::Status s, std::vector<UnitResult> r) {
      std::lock_guard<std::mutex> lock(mu);
      grouped[i] = Outcome{std::move(s), std::move(r)};
      ++answered;
      cv.notify_all();
    });
  }
  release.set_value();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return answered == 3; }));
  }
  for (const Outcome& o : grouped) {
    EXPECT_EQ(o.status.code(), absl::StatusCode::kUnavailable) << o.status;
    EXPECT_THAT(std::string(o.status.message()), HasSubstr("fsync failed"));
    EXPECT_THAT(o.results, IsEmpty());
  }

  // Nothing of them is stored, and everything from before is as it was.
  EXPECT_EQ(Read(*store), before);
  for (const char* id : {"f1", "gate", "g0", "g1", "g2"}) EXPECT_FALSE(Holds(*store, id)) << id;
  EXPECT_EQ(IntegrityCheck(path_), "ok");

  // on_transaction saw every failed transaction (f1, gate, the group and each of its three
  // retries alone), each with the reason, and no success.
  const std::vector<absl::Status> failures = log.Take();
  EXPECT_EQ(failures.size(), 6u);
  for (const absl::Status& s : failures) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("fsync failed"));
  }
  const StoreVfsCounts counts = StoreVfsCountsNow();
  EXPECT_GE(counts.fsyncs_failed - counts_before.fsyncs_failed, 6u);
  // Each failed commit's frames were cut off the log.
  EXPECT_GE(counts.wal_tails_dropped - counts_before.wal_tails_dropped, 6u);

  // The fault clears: commits succeed, and a failed one sent again is new (it was not stored).
  SetStoreFaults({});
  out = CommitAndWait(*store, {Submission("after")});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied));
  out = CommitAndWait(*store, {Submission("f1")});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_THAT(out.results, ElementsAre(UnitResult::kApplied));
  const std::vector<absl::Status> successes = log.Take();
  ASSERT_EQ(successes.size(), 2u);
  EXPECT_TRUE(successes[0].ok() && successes[1].ok());
  EXPECT_THAT(Read(*store).pending, ElementsAre("k-b", "k-c", "k-after", "k-f1"));

  // The same from the file, after closing and reopening without faults.
  store->Close();
  EXPECT_EQ(IntegrityCheck(path_), "ok");
  store = Open(kStoreVfs);
  ASSERT_NE(store, nullptr);
  const Contents reopened = Read(*store);
  EXPECT_EQ(reopened.notices, 5u);
  EXPECT_THAT(reopened.pending, ElementsAre("k-b", "k-c", "k-after", "k-f1"));
  EXPECT_THAT(reopened.audit,
              ElementsAre("submitted a", "submitted b", "submitted c", "submitted after", "submitted f1"));
  for (const char* id : {"gate", "g0", "g1", "g2"}) EXPECT_FALSE(Holds(*store, id)) << id;
}

// Regression: a commit whose fsync failed left its frames, commit frame included, in the WAL
// after SQLite had rolled it back. Until the next commit overwrote them, a restart ran recovery
// over them, and the transaction every caller had been told failed came back.
TEST_F(StoreFsyncFailureTest, ACommitReportedFailedIsNotBroughtBackByRecoveryAfterAClose) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(CommitAndWait(*store, {Submission("kept")}).status.ok());
  SetStoreFaults({.fsync = true});
  const Outcome out = CommitAndWait(*store, {Submission("lost"), Submission("lost2")});
  ASSERT_FALSE(out.status.ok());
  // Closed while the disk still fails: the closing checkpoint fails too and the log stays.
  store->Close();
  store.reset();
  SetStoreFaults({});
  EXPECT_TRUE(fs::exists(dir_ / "node.db-wal"));

  EXPECT_EQ(IntegrityCheck(path_), "ok");
  store = Open(kStoreVfs);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(Holds(*store, "kept"));
  EXPECT_FALSE(Holds(*store, "lost"));
  EXPECT_FALSE(Holds(*store, "lost2"));
  EXPECT_THAT(Read(*store).pending, ElementsAre("k-kept"));
}

TEST_F(StoreFsyncFailureTest, ACommitReportedFailedIsNotBroughtBackByRecoveryAfterTheProcessDies) {
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) {
    // No gtest assertions here: the exit code says how far it got.
    SqliteOptions options;
    options.vfs = kFaultVfs;
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path_.string(), options);
    if (!store.ok()) _exit(2);
    std::promise<bool> kept;
    (*store)->Commit({Submission("kept")},
                     [&kept](absl::Status s, std::vector<UnitResult>) { kept.set_value(s.ok()); });
    if (!kept.get_future().get()) _exit(3);
    SetStoreFaults({.fsync = true});
    std::promise<bool> lost;
    (*store)->Commit({Submission("lost")},
                     [&lost](absl::Status s, std::vector<UnitResult>) { lost.set_value(s.ok()); });
    if (lost.get_future().get()) _exit(4);  // it should have failed
    _exit(0);                               // dies while the disk fails, both connections open
  }
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus));
  ASSERT_EQ(WEXITSTATUS(wstatus), 0);

  EXPECT_EQ(IntegrityCheck(path_), "ok");
  auto store = Open(kStoreVfs);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(Holds(*store, "kept"));
  EXPECT_FALSE(Holds(*store, "lost"));
}

// Right after a checkpoint that emptied the log, the next commit starts the log afresh: the
// failure then hits the new log's header, and cutting the log back loses nothing, since all of
// it is in the database file.
TEST_F(StoreFsyncFailureTest, AFailureRightAfterACheckpointLosesNothing) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  for (const char* id : {"a", "b"}) ASSERT_TRUE(CommitAndWait(*store, {Submission(id)}).status.ok());
  RawSql(path_, "PRAGMA wal_checkpoint(TRUNCATE)");
  SetStoreFaults({.fsync = true});
  ASSERT_FALSE(CommitAndWait(*store, {Submission("lost")}).status.ok());
  store->Close();
  store.reset();
  SetStoreFaults({});

  EXPECT_EQ(IntegrityCheck(path_), "ok");
  store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(Holds(*store, "a"));
  EXPECT_TRUE(Holds(*store, "b"));
  EXPECT_FALSE(Holds(*store, "lost"));
  ASSERT_TRUE(CommitAndWait(*store, {Submission("c")}).status.ok());
  EXPECT_THAT(Read(*store).pending, ElementsAre("k-a", "k-b", "k-c"));
}

TEST_F(StoreFsyncFailureTest, WritesFailingAsOnAFullDiskAreRefusedThenRecovered) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(CommitAndWait(*store, {Submission("a")}).status.ok());
  const Contents before = Read(*store);
  SetStoreFaults({.write_full = true});
  const Outcome out = CommitAndWait(*store, {Submission("full")});
  EXPECT_EQ(out.status.code(), absl::StatusCode::kResourceExhausted) << out.status;
  EXPECT_THAT(std::string(out.status.message()), HasSubstr("full"));
  EXPECT_EQ(Read(*store), before);
  SetStoreFaults({});
  ASSERT_TRUE(CommitAndWait(*store, {Submission("b")}).status.ok());
  EXPECT_FALSE(Holds(*store, "full"));
  EXPECT_EQ(IntegrityCheck(path_), "ok");
}

// The seam node processes use: faults while the control file exists, the kind it names.
TEST_F(StoreFsyncFailureTest, FaultsFollowTheControlFile) {
  const fs::path control = dir_ / "faults";
  SetStoreFaultFile(control.string());
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(CommitAndWait(*store, {Submission("a")}).status.ok());

  std::ofstream(control).close();  // empty: fsync fails
  Outcome out = CommitAndWait(*store, {Submission("x")});
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
  EXPECT_THAT(std::string(out.status.message()), HasSubstr("fsync failed"));

  const fs::path next = dir_ / "faults.next";
  std::ofstream(next) << "full\n";
  fs::rename(next, control);
  out = CommitAndWait(*store, {Submission("y")});
  EXPECT_EQ(out.status.code(), absl::StatusCode::kResourceExhausted) << out.status;

  fs::remove(control);
  out = CommitAndWait(*store, {Submission("b")});
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(Read(*store).notices, 2u);
  EXPECT_FALSE(Holds(*store, "x"));
  EXPECT_FALSE(Holds(*store, "y"));
}

// Files opened through "sevex" (the store's default) never fail on purpose.
TEST_F(StoreFsyncFailureTest, TheDefaultVfsInjectsNothing) {
  auto store = Open(kStoreVfs);
  ASSERT_NE(store, nullptr);
  SetStoreFaults({.fsync = true, .write_full = true});
  const Outcome out = CommitAndWait(*store, {Submission("a")});
  EXPECT_TRUE(out.status.ok()) << out.status;
}

}  // namespace
}  // namespace sevex::store
