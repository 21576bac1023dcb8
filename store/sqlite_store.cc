#include "store/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

namespace sevex::store {
namespace {

// "sevx": marks the file as ours, so that opening some other SQLite database by mistake is
// refused instead of having our tables added to it.
constexpr int64_t kApplicationId = 0x73657678;

// SQLite's quick_check over the whole file (every page and b-tree, not the indexes' contents:
// about a second per GiB): a store with a zeroed page, or bytes flipped in its structure, is
// refused with what to do, rather than used, counted wrong and written on.
absl::Status QuickCheck(sqlite3* db, const std::string& path) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(5)", -1, &raw, nullptr);
  std::vector<std::string> problems;
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  for (; rc == SQLITE_ROW; rc = sqlite3_step(raw)) {
    const unsigned char* text = sqlite3_column_text(raw, 0);
    std::string line = text == nullptr ? "" : reinterpret_cast<const char*>(text);
    if (line != "ok") problems.push_back(std::move(line));
  }
  sqlite3_finalize(raw);
  if (rc != SQLITE_DONE && problems.empty()) problems.push_back(sqlite3_errstr(rc));
  if (problems.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      path, " is damaged (SQLite's quick_check: ", absl::StrJoin(problems, "; "),
      "); the node will not use it. Keep the file for analysis, and restore the store from a backup "
      "(docs/operations.md §7.2)"));
}
// Bumped whenever the schema changes; a file with a higher number came from a newer build whose
// layout this one cannot interpret safely.
constexpr int64_t kSchemaVersion = 1;

// Created in one transaction together with application_id and user_version, so a file either
// has the whole schema and our marks, or none of them.
constexpr char kSchema[] = R"sql(
CREATE TABLE notices(
  origin TEXT NOT NULL,
  notice_id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  own INTEGER NOT NULL,
  retracted INTEGER NOT NULL,
  received_from TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  envelope BLOB NOT NULL,
  translation BLOB NOT NULL,
  PRIMARY KEY(origin, notice_id, revision));
CREATE INDEX notices_by_time ON notices(received_at_ms);

CREATE TABLE outbox(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  peer TEXT NOT NULL,
  key TEXT NOT NULL,
  kind INTEGER NOT NULL,
  origin TEXT NOT NULL,
  notice_id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  frame BLOB NOT NULL,
  queued_at_ms INTEGER NOT NULL,
  state INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '',
  settled_at_ms INTEGER NOT NULL DEFAULT 0,
  UNIQUE(peer, key));
-- Only pending items are indexed: settling one removes its entry instead of moving it. By peer,
-- so that one peer's queue is read a page at a time however long the others' are.
CREATE INDEX outbox_pending_by_peer ON outbox(peer, seq) WHERE state = 0;
CREATE INDEX outbox_by_notice ON outbox(origin, notice_id);

CREATE TABLE receipts(
  origin TEXT NOT NULL,
  notice_id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  status INTEGER NOT NULL,
  reason_code TEXT NOT NULL,
  reason TEXT NOT NULL,
  reporter TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY(origin, notice_id, revision, recipient)) WITHOUT ROWID;

CREATE TABLE audit(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  event TEXT NOT NULL,
  origin TEXT NOT NULL,
  notice_id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  peer TEXT NOT NULL,
  reason TEXT NOT NULL);
CREATE INDEX audit_by_time ON audit(time_ms);
)sql";

// Outbox states.
constexpr int kPending = 0;  // the schema's outbox_pending index names it as 0
constexpr int kDelivered = 1;
constexpr int kRefused = 2;

constexpr char kNoticeColumns[] =
    "origin, notice_id, revision, own, retracted, received_from, received_at_ms, envelope, translation";
constexpr char kOutboxColumns[] = "peer, key, kind, origin, notice_id, revision, frame, queued_at_ms";
constexpr char kReceiptColumns[] =
    "origin, notice_id, revision, recipient, status, reason_code, reason, reporter, updated_ms";
constexpr char kAuditColumns[] = "time_ms, event, origin, notice_id, revision, peer, reason";

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct CloseDb {
  // close_v2 rather than close: should a statement outlive its connection by mistake, the
  // connection lingers until it is finalised instead of failing with SQLITE_BUSY and leaking.
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStmt {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, CloseDb>;
using Stmt = std::unique_ptr<sqlite3_stmt, FinalizeStmt>;

// Maps a SQLite result code to a status naming the file and what was being done. Must be called
// before anything else runs on `db`, which would replace its error message.
absl::Status SqlError(absl::string_view path, sqlite3* db, int rc, absl::string_view op) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  if (rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_DIR_FSYNC) {
    // The disk took the write but did not confirm it durable. A commit that fails so is rolled
    // back, and the WAL guard drops its frames (store/sqlite_vfs.h).
    return absl::UnavailableError(
        absl::StrCat(path, ": ", op, ": fsync failed, the disk did not confirm the write (", detail, ")"));
  }
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(
          absl::StrCat(path, ": the store is full (disk or size limit) while ", op, ": ", detail));
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::UnavailableError(absl::StrCat(path, ": ", op, ": ", detail));
    case SQLITE_CORRUPT:
      return absl::DataLossError(absl::StrCat(path, ": ", op, ": ", detail));
    case SQLITE_NOTADB:
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is not a sevex store (", detail, "); refusing to open it"));
    default:
      return absl::InternalError(absl::StrCat(path, ": ", op, ": ", detail));
  }
}

// Resets a statement and clears its bindings when one use of it ends, whatever the outcome: the
// next use starts clean, bound buffers are no longer referenced, and a reader's WAL snapshot is
// released instead of pinning old pages and stalling checkpoints.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Binds parameters 1, 2, … in order and remembers the first failure, so call sites read as one
// expression and check once. Values are bound without copying (SQLITE_STATIC): every caller
// keeps them alive until the statement is reset.
class Binder {
 public:
  explicit Binder(sqlite3_stmt* stmt) : stmt_(stmt) {}

  Binder& Text(absl::string_view v) {
    // An empty string_view may have a null data pointer, which SQLite would bind as NULL.
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_text(stmt_, ++index_, v.empty() ? "" : v.data(), Size(v), SQLITE_STATIC);
    return *this;
  }
  Binder& Blob(absl::string_view v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_blob(stmt_, ++index_, v.empty() ? "" : v.data(), Size(v), SQLITE_STATIC);
    return *this;
  }
  Binder& Int(int64_t v) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, ++index_, v);
    return *this;
  }
  int rc() const { return rc_; }

 private:
  int Size(absl::string_view v) {
    // SQLite cannot hold more than INT_MAX bytes in one value; refuse rather than truncate.
    if (v.size() > static_cast<size_t>(INT32_MAX)) {
      rc_ = SQLITE_TOOBIG;
      return 0;
    }
    return static_cast<int>(v.size());
  }

  sqlite3_stmt* stmt_;
  int index_ = 0;
  int rc_ = SQLITE_OK;
};

std::string ColumnBytes(sqlite3_stmt* stmt, int column) {
  // blob before bytes: the documented order that avoids a conversion invalidating the pointer.
  const void* data = sqlite3_column_blob(stmt, column);
  const int size = sqlite3_column_bytes(stmt, column);
  return data != nullptr ? std::string(static_cast<const char*>(data), static_cast<size_t>(size)) : std::string();
}

uint32_t ColumnRevision(sqlite3_stmt* stmt, int column) {
  return static_cast<uint32_t>(sqlite3_column_int64(stmt, column));
}

StoredNotice ReadNotice(sqlite3_stmt* s) {
  StoredNotice n;
  n.origin = ColumnBytes(s, 0);
  n.notice_id = ColumnBytes(s, 1);
  n.revision = ColumnRevision(s, 2);
  n.own = sqlite3_column_int(s, 3) != 0;
  n.retracted = sqlite3_column_int(s, 4) != 0;
  n.received_from = ColumnBytes(s, 5);
  n.received_at_ms = sqlite3_column_int64(s, 6);
  n.envelope = ColumnBytes(s, 7);
  n.translation = ColumnBytes(s, 8);
  return n;
}

// 0 means "no limit" in the interface; SQLite's LIMIT takes a negative number for that.
int64_t SqlLimit(uint32_t limit) { return limit == 0 ? -1 : static_cast<int64_t>(limit); }

struct Request {
  std::vector<Unit> units;
  CommitCallback done;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, const SqliteOptions& options) : path_(std::move(path)), options_(options) {}
  ~SqliteStore() override { Close(); }

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // Opens both connections, checks or creates the schema, prepares every statement and starts
  // the writer. On failure the object holds whatever was opened and its destructor releases it.
  absl::Status Open();

  void Commit(std::vector<Unit> units, CommitCallback done) override;
  void Close() override;

  absl::StatusOr<std::vector<OutboxItem>> PendingOutbox() override;
  absl::StatusOr<std::vector<OutboxItem>> ReadOutboxItems(sqlite3_stmt* s, const char* what);
  absl::StatusOr<std::vector<OutboxItem>> PendingPage(absl::string_view peer, int64_t after_seq,
                                                      uint32_t limit) override;
  absl::StatusOr<PendingTail> PendingAfter(absl::string_view peer, int64_t after_seq) override;
  absl::StatusOr<std::vector<std::string>> PeersHolding(absl::string_view origin,
                                                        absl::string_view notice_id) override;
  absl::StatusOr<std::optional<StoredNotice>> Latest(absl::string_view origin, absl::string_view notice_id) override;
  absl::StatusOr<std::optional<StoredNotice>> Get(absl::string_view origin, absl::string_view notice_id,
                                                  uint32_t revision) override;
  absl::StatusOr<std::vector<StoredNotice>> Notices(int64_t since_ms, uint32_t limit) override;
  absl::StatusOr<std::vector<ReceiptRow>> Receipts(absl::string_view origin, absl::string_view notice_id,
                                                   uint32_t revision) override;
  absl::StatusOr<std::vector<PeerCounts>> OutboxCounts() override;
  absl::StatusOr<uint64_t> NoticeCount(bool own_only) override;
  absl::StatusOr<std::vector<AuditRow>> Audit(int64_t since_ms, uint32_t limit) override;

 private:
  // Statements of the writer connection, used only on the writer thread once it runs.
  struct WriterStmts {
    Stmt begin, commit, rollback;
    Stmt insert_notice, insert_outbox, settle, upsert_receipt, insert_audit;
  };
  // Statements of the reader connection, used only under reader_mu_.
  struct ReaderStmts {
    Stmt pending_outbox, pending_page, pending_after, peers_holding, latest, get, notices, receipts, outbox_counts,
        audit;
  };

  absl::StatusOr<Db> OpenConnection(absl::string_view role);
  absl::Status Exec(sqlite3* db, const char* sql, absl::string_view op);
  absl::StatusOr<int64_t> QueryInt(sqlite3* db, const char* sql, absl::string_view op);
  absl::StatusOr<Stmt> Prepare(sqlite3* db, const std::string& sql);
  absl::Status CheckOrCreateSchema();
  absl::Status IndexPendingByPeer();
  absl::Status PrepareWriter();
  absl::Status PrepareReader();

  void WriterLoop();
  // Checkpoints (SqliteOptions::checkpoint_pages): the writer connection's WAL hook, run after
  // each commit on the writer thread; the checkpointer thread; the writer's RESTART backstop.
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int frames);
  void CheckpointerLoop();
  void CheckpointWholeLog();
  absl::Status RunTransaction(std::span<const Request> batch, std::vector<std::vector<UnitResult>>* results);
  absl::Status Apply(const Unit& unit, int64_t now_ms, UnitResult* result);
  absl::Status Step(sqlite3_stmt* stmt, absl::string_view op);
  absl::Status InsertAudit(const AuditRow& row, int64_t now_ms);
  int64_t NowMs() const { return options_.clock_ms ? options_.clock_ms() : SystemClockMs(); }

  absl::Status ReaderClosed() const {
    return absl::FailedPreconditionError(absl::StrCat(path_, ": the store is closed"));
  }
  absl::Status ReadError(int rc, absl::string_view op) { return SqlError(path_, reader_db_.get(), rc, op); }

  const std::string path_;
  const SqliteOptions options_;

  // Declared before the statements so that statements are finalised first.
  Db writer_db_;
  WriterStmts w_;
  std::thread writer_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Request> queue_;  // guarded by queue_mu_
  bool stopping_ = false;      // guarded by queue_mu_

  // The checkpointer's connection and thread. Its connection is used only on its thread.
  Db checkpoint_db_;
  std::thread checkpointer_;
  std::mutex checkpoint_mu_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;    // guarded by checkpoint_mu_
  bool checkpoint_stopping_ = false;  // guarded by checkpoint_mu_
  // Held by whichever of the checkpointer and the writer is running a checkpoint, so that the
  // writer's RESTART waits for a PASSIVE run to end instead of failing with SQLITE_BUSY.
  std::mutex checkpoint_run_mu_;
  // Frames in the log after the last commit (writer thread only), and how far into the log the
  // checkpointer's last run copied (written by the checkpointer, read by the writer's hook).
  int wal_frames_ = 0;
  std::atomic<int> checkpointed_frames_{0};

  std::mutex close_mu_;  // makes Close() idempotent and safe to call from several threads
  bool closed_ = false;  // guarded by close_mu_

  std::mutex reader_mu_;
  Db reader_db_;  // guarded by reader_mu_; null once closed
  ReaderStmts r_;

  // Settled outbox items per peer, and notices stored. Counting them in the tables would read
  // every row ever written; they are counted once at Open, then as each transaction commits.
  struct Settled {
    uint64_t delivered = 0;
    uint64_t refused = 0;
  };
  struct Stored {
    uint64_t all = 0;
    uint64_t own = 0;
  };
  absl::Status CountTotals();
  std::mutex totals_mu_;
  std::map<std::string, Settled> settled_totals_;  // guarded by totals_mu_
  Stored stored_totals_;                           // guarded by totals_mu_
  std::map<std::string, Settled> txn_settled_;     // the open transaction's (writer thread only)
  Stored txn_stored_;                              // the open transaction's (writer thread only)
};

absl::StatusOr<Db> SqliteStore::OpenConnection(absl::string_view role) {
  // The store holds AMBER and RED notices: a new file is created readable by its owner only,
  // whatever the umask (SQLite gives the -wal and -shm files the database file's mode).
  const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
  sqlite3* raw = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the writer thread, or readers under
  // reader_mu_), so SQLite's own per-call locking would only add cost.
  const int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 options_.vfs.empty() ? nullptr : options_.vfs.c_str());
  Db db(raw);  // open_v2 may hand back a handle even when it fails; it must be closed either way
  if (rc != SQLITE_OK) return SqlError(path_, db.get(), rc, absl::StrCat("opening the ", role, " connection"));
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

absl::Status SqliteStore::Exec(sqlite3* db, const char* sql, absl::string_view op) {
  // Only fixed SQL goes through here (schema, PRAGMAs), never data.
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(path_, db, rc, op);
  return absl::OkStatus();
}

absl::StatusOr<int64_t> SqliteStore::QueryInt(sqlite3* db, const char* sql, absl::string_view op) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return SqlError(path_, db, rc, op);
  rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return SqlError(path_, db, rc, op);
  return sqlite3_column_int64(stmt.get(), 0);
}

absl::StatusOr<Stmt> SqliteStore::Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  // PERSISTENT: these statements live as long as the store, so SQLite should not take their
  // memory from its short-lived lookaside pool.
  const int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size() + 1), SQLITE_PREPARE_PERSISTENT,
                                    &raw, nullptr);
  Stmt stmt(raw);
  if (rc != SQLITE_OK) return SqlError(path_, db, rc, absl::StrCat("preparing `", sql, "`"));
  return stmt;
}

absl::Status SqliteStore::CheckOrCreateSchema() {
  sqlite3* db = writer_db_.get();
  // Read-only probes first: nothing may be written to a file we end up refusing, and even
  // switching the journal mode would rewrite its header.
  // A file that is not SQLite at all fails here with SQLITE_NOTADB, which SqlError reports as
  // "not a sevex store".
  ASSIGN_OR_RETURN(int64_t app_id, QueryInt(db, "PRAGMA application_id", "reading the application id"));
  ASSIGN_OR_RETURN(int64_t version, QueryInt(db, "PRAGMA user_version", "reading the schema version"));
  ASSIGN_OR_RETURN(int64_t objects, QueryInt(db, "SELECT count(*) FROM sqlite_master", "reading the schema"));

  const bool fresh = app_id == 0 && version == 0 && objects == 0;
  if (!fresh) {
    if (app_id != kApplicationId) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, " is not a sevex store (an SQLite database with application id ", app_id,
                       "); refusing to open it"));
    }
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, " was written by a newer sevex (schema version ", version,
                       "; this build reads up to ", kSchemaVersion, ")"));
    }
    if (version < kSchemaVersion) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, " has sevex schema version ", version, ", which this build cannot read"));
    }
    RETURN_IF_ERROR(QuickCheck(db, path_));
  }

  // The file is ours (or empty): now it may be written. WAL lets readers proceed while the
  // writer commits, and makes each group commit one sequential append plus one fsync.
  std::string mode;
  {
    ASSIGN_OR_RETURN(Stmt wal, Prepare(db, "PRAGMA journal_mode=WAL"));
    const int rc = sqlite3_step(wal.get());
    if (rc != SQLITE_ROW) return SqlError(path_, db, rc, "switching to the WAL journal");
    mode = ColumnBytes(wal.get(), 0);
  }  // finalised here, before the schema transaction below
  if (mode != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": cannot use the WAL journal (SQLite kept journal mode \"", mode, "\")"));
  }
  if (!fresh) return IndexPendingByPeer();

  // IMMEDIATE takes the write lock up front, so a second process creating the same file at once
  // fails cleanly instead of interleaving two schemas.
  RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "creating the schema"));
  absl::Status s = Exec(db, kSchema, "creating the schema");
  if (s.ok()) {
    s = Exec(db,
             absl::StrCat("PRAGMA application_id=", kApplicationId, "; PRAGMA user_version=", kSchemaVersion, ";")
                 .c_str(),
             "marking the schema");
  }
  if (s.ok()) s = Exec(db, "COMMIT", "creating the schema");
  if (!s.ok() && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

// Stores created before the outbox was read one peer at a time index pending items by `seq`
// alone (`outbox_pending`); a page of one peer's queue would then step over every other peer's
// pending items before it. The index is replaced once, in one transaction. The tables do not
// change, so the schema version stays: an older build opens the file as before.
absl::Status SqliteStore::IndexPendingByPeer() {
  sqlite3* db = writer_db_.get();
  ASSIGN_OR_RETURN(
      int64_t has,
      QueryInt(db,
               "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'outbox_pending_by_peer'",
               "reading the schema"));
  if (has != 0) return absl::OkStatus();  // nothing to do: nothing is written
  RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "indexing pending outbox items by peer"));
  const std::string sql =
      absl::StrCat("CREATE INDEX IF NOT EXISTS outbox_pending_by_peer ON outbox(peer, seq) WHERE state = ",
                   kPending, "; DROP INDEX IF EXISTS outbox_pending;");
  absl::Status s = Exec(db, sql.c_str(), "indexing pending outbox items by peer");
  if (s.ok()) s = Exec(db, "COMMIT", "indexing pending outbox items by peer");
  if (!s.ok() && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

absl::Status SqliteStore::PrepareWriter() {
  struct Entry {
    Stmt* stmt;
    std::string sql;
  };
  const Entry entries[] = {
      {&w_.begin, "BEGIN IMMEDIATE"},
      {&w_.commit, "COMMIT"},
      {&w_.rollback, "ROLLBACK"},
      {&w_.insert_notice,
       absl::StrCat("INSERT OR IGNORE INTO notices(", kNoticeColumns, ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)")},
      {&w_.insert_outbox, absl::StrCat("INSERT OR IGNORE INTO outbox(", kOutboxColumns,
                                       ", state) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ", kPending, ")")},
      {&w_.settle, absl::StrCat("UPDATE outbox SET state = ?, reason = ?, settled_at_ms = ? "
                                "WHERE peer = ? AND key = ? AND state = ",
                                kPending)},
      // Receipts move forward only: a PENDING row takes any report; a final one (DELIVERED or
      // REFUSED) never changes, whatever arrives later (reordered, replayed, or forged).
      {&w_.upsert_receipt,
       absl::StrCat("INSERT INTO receipts(", kReceiptColumns,
                    ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(origin, notice_id, revision, recipient) DO UPDATE SET "
                    "status = excluded.status, reason_code = excluded.reason_code, reason = excluded.reason, "
                    "reporter = excluded.reporter, updated_ms = excluded.updated_ms "
                    "WHERE receipts.status NOT IN (2, 3)")},
      {&w_.insert_audit, absl::StrCat("INSERT INTO audit(", kAuditColumns, ") VALUES(?, ?, ?, ?, ?, ?, ?)")},
  };
  for (const Entry& e : entries) {
    ASSIGN_OR_RETURN(Stmt stmt, Prepare(writer_db_.get(), e.sql));
    *e.stmt = std::move(stmt);
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::PrepareReader() {
  struct Entry {
    Stmt* stmt;
    std::string sql;
  };
  const Entry entries[] = {
      // A notice item's envelope is the notice row's: the outbox keeps only the rest of the frame.
      {&r_.pending_outbox,
       absl::StrCat("SELECT o.peer, o.key, o.kind, o.origin, o.notice_id, o.revision, o.frame, o.queued_at_ms, "
                    "n.envelope, o.seq FROM outbox AS o LEFT JOIN notices AS n ON o.kind = ",
                    static_cast<int>(ItemKind::kNotice),
                    " AND n.origin = o.origin AND n.notice_id = o.notice_id AND n.revision = o.revision "
                    "WHERE o.state = ",
                    kPending, " ORDER BY o.seq")},
      // `state = 0` as written in the partial index, so that the index serves the query: a
      // range of (peer, seq), read in order, LIMIT rows and no more.
      {&r_.pending_page,
       absl::StrCat("SELECT o.peer, o.key, o.kind, o.origin, o.notice_id, o.revision, o.frame, o.queued_at_ms, "
                    "n.envelope, o.seq FROM outbox AS o LEFT JOIN notices AS n ON o.kind = ",
                    static_cast<int>(ItemKind::kNotice),
                    " AND n.origin = o.origin AND n.notice_id = o.notice_id AND n.revision = o.revision "
                    "WHERE o.peer = ?1 AND o.state = ",
                    kPending, " AND o.seq > ?2 ORDER BY o.seq LIMIT ?3")},
      {&r_.pending_after,
       absl::StrCat("SELECT count(*), (SELECT queued_at_ms FROM outbox WHERE peer = ?1 AND state = ", kPending,
                    " AND seq > ?2 ORDER BY seq LIMIT 1) FROM outbox WHERE peer = ?1 AND state = ", kPending,
                    " AND seq > ?2")},
      {&r_.peers_holding, absl::StrCat("SELECT DISTINCT peer FROM outbox WHERE origin = ? AND notice_id = ? AND kind = ",
                                       static_cast<int>(ItemKind::kNotice), " AND state != ", kRefused,
                                       " ORDER BY peer")},
      {&r_.latest, absl::StrCat("SELECT ", kNoticeColumns,
                                " FROM notices WHERE origin = ? AND notice_id = ? ORDER BY revision DESC LIMIT 1")},
      {&r_.get,
       absl::StrCat("SELECT ", kNoticeColumns, " FROM notices WHERE origin = ? AND notice_id = ? AND revision = ?")},
      {&r_.notices, absl::StrCat("SELECT ", kNoticeColumns,
                                 " FROM notices WHERE received_at_ms >= ? ORDER BY received_at_ms, rowid LIMIT ?")},
      {&r_.receipts, absl::StrCat("SELECT ", kReceiptColumns,
                                  " FROM receipts WHERE origin = ? AND notice_id = ? AND revision = ? "
                                  "ORDER BY recipient")},
      // Pending items only, through the partial index: the settled ones, kept for ever, are
      // counted in memory (settled_totals_).
      {&r_.outbox_counts, absl::StrCat("SELECT peer, count(*), MIN(queued_at_ms) FROM outbox WHERE state = ",
                                       kPending, " GROUP BY peer")},
      {&r_.audit,
       absl::StrCat("SELECT ", kAuditColumns, " FROM audit WHERE time_ms >= ? ORDER BY seq LIMIT ?")},
  };
  for (const Entry& e : entries) {
    ASSIGN_OR_RETURN(Stmt stmt, Prepare(reader_db_.get(), e.sql));
    *e.stmt = std::move(stmt);
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::Open() {
  RETURN_IF_ERROR(RegisterStoreVfs());
  ASSIGN_OR_RETURN(Db writer, OpenConnection("writer"));
  writer_db_ = std::move(writer);
  sqlite3* w = writer_db_.get();
  // Before the probes: these only configure the connection and write nothing to the file. The
  // busy timeout matters already for the probes, as another process may hold a lock. FULL: in
  // WAL mode this fsyncs the log on every commit, so a commit we acknowledge survives power
  // loss, not only a crash of this process.
  RETURN_IF_ERROR(Exec(w, "PRAGMA busy_timeout=5000; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
                       "configuring the writer connection"));
  RETURN_IF_ERROR(CheckOrCreateSchema());
  if (options_.max_page_count > 0) {
    const std::string sql = absl::StrCat("PRAGMA max_page_count=", options_.max_page_count);
    RETURN_IF_ERROR(Exec(w, sql.c_str(), "limiting the page count"));
  }
  RETURN_IF_ERROR(PrepareWriter());
  // This replaces SQLite's automatic checkpoint, which would run inside the commit that crosses
  // its threshold and hold up every caller of that transaction and the next.
  sqlite3_wal_hook(w, &SqliteStore::OnWalCommit, this);

  ASSIGN_OR_RETURN(Db reader, OpenConnection("reader"));
  {
    std::lock_guard<std::mutex> lock(reader_mu_);
    reader_db_ = std::move(reader);
    // query_only: the read connection must never write, even through a mistake here.
    RETURN_IF_ERROR(Exec(reader_db_.get(),
                         "PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; PRAGMA query_only=ON",
                         "configuring the reader"));
    RETURN_IF_ERROR(PrepareReader());
  }

  ASSIGN_OR_RETURN(Db checkpointer, OpenConnection("checkpointer"));
  checkpoint_db_ = std::move(checkpointer);
  RETURN_IF_ERROR(Exec(checkpoint_db_.get(), "PRAGMA busy_timeout=5000", "configuring the checkpointer"));
  // A connection finds the file in WAL mode, and opens the log, only when it first reads it;
  // until then a checkpoint on it would do nothing.
  RETURN_IF_ERROR(
      QueryInt(checkpoint_db_.get(), "SELECT count(*) FROM sqlite_master", "opening the checkpointer")
          .status());

  RETURN_IF_ERROR(CountTotals());

  writer_ = std::thread([this] { WriterLoop(); });
  checkpointer_ = std::thread([this] { CheckpointerLoop(); });
  return absl::OkStatus();
}

// Once, before the writer starts: the one read of the whole outbox and of the notices.
absl::Status SqliteStore::CountTotals() {
  const std::string sql = absl::StrCat("SELECT peer, SUM(state = ", kDelivered, "), SUM(state = ", kRefused,
                                       ") FROM outbox WHERE state != ", kPending, " GROUP BY peer");
  ASSIGN_OR_RETURN(Stmt q, Prepare(writer_db_.get(), sql));
  ASSIGN_OR_RETURN(Stmt n, Prepare(writer_db_.get(), "SELECT count(*), SUM(own != 0) FROM notices"));
  std::lock_guard<std::mutex> lock(totals_mu_);
  settled_totals_.clear();
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    Settled& t = settled_totals_[ColumnBytes(q.get(), 0)];
    t.delivered = static_cast<uint64_t>(sqlite3_column_int64(q.get(), 1));
    t.refused = static_cast<uint64_t>(sqlite3_column_int64(q.get(), 2));
  }
  if (rc != SQLITE_DONE) return SqlError(path_, writer_db_.get(), rc, "counting the settled outbox items");
  rc = sqlite3_step(n.get());
  if (rc != SQLITE_ROW) return SqlError(path_, writer_db_.get(), rc, "counting the notices stored");
  // SUM of no rows is NULL, which reads as 0.
  stored_totals_.all = static_cast<uint64_t>(sqlite3_column_int64(n.get(), 0));
  stored_totals_.own = static_cast<uint64_t>(sqlite3_column_int64(n.get(), 1));
  return absl::OkStatus();
}

int SqliteStore::OnWalCommit(void* arg, sqlite3*, const char*, int frames) {
  auto* self = static_cast<SqliteStore*>(arg);
  self->wal_frames_ = frames;
  int done = self->checkpointed_frames_.load();
  if (done > frames) done = 0;  // the log started afresh since that checkpoint
  if (frames - done >= static_cast<int64_t>(self->options_.checkpoint_pages)) {
    std::lock_guard<std::mutex> lock(self->checkpoint_mu_);
    self->checkpoint_wanted_ = true;
    self->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::CheckpointerLoop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(checkpoint_mu_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_wanted_ || checkpoint_stopping_; });
      if (checkpoint_stopping_) return;
      checkpoint_wanted_ = false;
    }
    // PASSIVE: copies what it can without waiting for anyone and without holding up the writer.
    // A failure (the disk, say) loses nothing: the frames stay in the log, and a later commit
    // asks again.
    int log = 0;
    int copied = 0;
    std::lock_guard<std::mutex> running(checkpoint_run_mu_);
    if (sqlite3_wal_checkpoint_v2(checkpoint_db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) ==
        SQLITE_OK) {
      checkpointed_frames_.store(copied);
    }
  }
}

// On the writer thread, between transactions, once the log has reached wal_limit_pages: the
// rest of the log is copied (the checkpointer has done most of it) and the next commit writes
// the log from its start again. It waits for readers, which are brief, through the busy
// timeout. A checkpointer run in progress is waited for (it would make this one fail with
// SQLITE_BUSY, and under a steady stream of commits its runs can follow each other so closely
// that the log grows well past the limit); this is the only place where the writer waits for a
// checkpoint, once every wal_limit_pages. Should it still fail (a reader that outlasts the busy
// timeout, the disk), it is tried again after the next transaction.
void SqliteStore::CheckpointWholeLog() {
  int log = 0;
  int copied = 0;
  std::lock_guard<std::mutex> running(checkpoint_run_mu_);
  if (sqlite3_wal_checkpoint_v2(writer_db_.get(), nullptr, SQLITE_CHECKPOINT_RESTART, &log, &copied) == SQLITE_OK) {
    wal_frames_ = 0;
    checkpointed_frames_.store(0);
  }
}

void SqliteStore::Commit(std::vector<Unit> units, CommitCallback done) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!stopping_) {
      queue_.push_back(Request{std::move(units), std::move(done)});
      queue_cv_.notify_one();
      return;
    }
  }
  // The writer is gone or going: answer here rather than drop the callback, which would leave
  // the caller waiting forever.
  done(absl::FailedPreconditionError(absl::StrCat(path_, ": commit after the store was closed")), {});
}

void SqliteStore::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  if (closed_) return;
  closed_ = true;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_one();
  // The writer drains the queue before it exits, so every accepted commit is answered.
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard<std::mutex> lock(checkpoint_mu_);
    checkpoint_stopping_ = true;
  }
  checkpoint_cv_.notify_one();
  if (checkpointer_.joinable()) checkpointer_.join();
  checkpoint_db_.reset();
  w_ = WriterStmts{};
  writer_db_.reset();
  std::lock_guard<std::mutex> lock(reader_mu_);
  r_ = ReaderStmts{};
  reader_db_.reset();
}

void SqliteStore::WriterLoop() {
  // Even with a limit of 0, or a single request larger than the limit, the first request is
  // always taken, so the writer never stalls.
  const size_t max_units = options_.max_units_per_commit;
  for (;;) {
    std::vector<Request> batch;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything accepted has been answered
      // Everything queued so far shares one transaction (and one fsync), up to the unit limit;
      // a request is never split, so it always commits or fails as a whole.
      size_t units = 0;
      while (!queue_.empty()) {
        const size_t n = queue_.front().units.size();
        if (!batch.empty() && units + n > max_units) break;
        units += n;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    std::vector<std::vector<UnitResult>> results;
    const absl::Status status = RunTransaction(batch, &results);
    std::vector<absl::Status> statuses(batch.size(), status);
    if (!status.ok() && batch.size() > 1) {
      // The group was rolled back as a whole. One request's failure (say, a unit too large for
      // the space left) must not fail the others that merely shared its transaction: retry each
      // on its own, in queue order, so that every caller gets its own outcome.
      results.assign(batch.size(), {});
      for (size_t i = 0; i < batch.size(); ++i) {
        std::vector<std::vector<UnitResult>> one;
        statuses[i] = RunTransaction(std::span<const Request>(&batch[i], 1), &one);
        if (statuses[i].ok()) results[i] = std::move(one[0]);
      }
    }
    // Outside the queue lock: callbacks may Commit() again or take their own locks.
    for (size_t i = 0; i < batch.size(); ++i) {
      if (statuses[i].ok()) {
        batch[i].done(absl::OkStatus(), std::move(results[i]));
      } else {
        batch[i].done(statuses[i], {});
      }
    }
    if (wal_frames_ >= static_cast<int64_t>(options_.wal_limit_pages)) CheckpointWholeLog();
  }
}

absl::Status SqliteStore::RunTransaction(std::span<const Request> batch,
                                         std::vector<std::vector<UnitResult>>* results) {
  sqlite3* db = writer_db_.get();
  const auto started = std::chrono::steady_clock::now();
  results->clear();
  results->reserve(batch.size());
  txn_settled_.clear();
  txn_stored_ = {};
  absl::Status status = Step(w_.begin.get(), "beginning a transaction");
  if (status.ok()) {
    const int64_t now_ms = NowMs();
    for (const Request& request : batch) {
      std::vector<UnitResult>& r = results->emplace_back();
      r.reserve(request.units.size());
      for (const Unit& unit : request.units) {
        UnitResult result;
        status = Apply(unit, now_ms, &result);
        if (!status.ok()) break;
        r.push_back(std::move(result));
      }
      if (!status.ok()) break;
    }
  }
  if (status.ok()) status = Step(w_.commit.get(), "committing");
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(totals_mu_);
    for (const auto& [peer, n] : txn_settled_) {
      Settled& t = settled_totals_[peer];
      t.delivered += n.delivered;
      t.refused += n.refused;
    }
    stored_totals_.all += txn_stored_.all;
    stored_totals_.own += txn_stored_.own;
  }
  if (!status.ok()) {
    results->clear();
    // SQLite may already have rolled back by itself (it does on SQLITE_FULL and some I/O
    // errors); a second ROLLBACK would only report "no transaction is active".
    if (!sqlite3_get_autocommit(db)) {
      StmtUse use(w_.rollback.get());
      sqlite3_step(w_.rollback.get());
    }
  }
  if (options_.on_transaction) {
    options_.on_transaction(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                            status);
  }
  return status;
}

absl::Status SqliteStore::Step(sqlite3_stmt* stmt, absl::string_view op) {
  StmtUse use(stmt);
  const int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return SqlError(path_, writer_db_.get(), rc, op);
  return absl::OkStatus();
}

absl::Status SqliteStore::InsertAudit(const AuditRow& row, int64_t now_ms) {
  sqlite3_stmt* s = w_.insert_audit.get();
  StmtUse use(s);
  const int rc = Binder(s)
                     .Int(row.time_ms != 0 ? row.time_ms : now_ms)
                     .Text(row.event)
                     .Text(row.origin)
                     .Text(row.notice_id)
                     .Int(row.revision)
                     .Text(row.peer)
                     .Text(row.reason)
                     .rc();
  if (rc != SQLITE_OK) return SqlError(path_, writer_db_.get(), rc, "binding an audit row");
  return Step(s, "writing an audit row");
}

absl::Status SqliteStore::Apply(const Unit& unit, int64_t now_ms, UnitResult* result) {
  sqlite3* db = writer_db_.get();
  bool duplicate = false;
  if (unit.insert.has_value()) {
    const StoredNotice& n = *unit.insert;
    sqlite3_stmt* s = w_.insert_notice.get();
    {
      StmtUse use(s);
      const int rc = Binder(s)
                         .Text(n.origin)
                         .Text(n.notice_id)
                         .Int(n.revision)
                         .Int(n.own ? 1 : 0)
                         .Int(n.retracted ? 1 : 0)
                         .Text(n.received_from)
                         .Int(n.received_at_ms)
                         .Blob(n.envelope)
                         .Blob(n.translation)
                         .rc();
      if (rc != SQLITE_OK) return SqlError(path_, db, rc, "binding a notice");
      const int step = sqlite3_step(s);
      if (step != SQLITE_DONE) return SqlError(path_, db, step, "storing a notice");
      // OR IGNORE turns "already stored" into zero changes rather than an error.
      duplicate = sqlite3_changes(db) == 0;
      if (!duplicate) {
        ++txn_stored_.all;
        if (n.own) ++txn_stored_.own;
      }
    }
    AuditRow row;
    row.event = duplicate ? "duplicate" : (n.own ? "submitted" : "stored");
    row.origin = n.origin;
    row.notice_id = n.notice_id;
    row.revision = n.revision;
    row.peer = n.received_from;
    RETURN_IF_ERROR(InsertAudit(row, now_ms));
  }
  result->kind = duplicate ? UnitResult::kDuplicate : UnitResult::kApplied;
  result->queued.assign(unit.enqueue.size(), 0);

  // A duplicate was already forwarded and receipted when it first arrived; doing it again would
  // send it twice.
  if (!duplicate) {
    size_t i = 0;
    for (const OutboxItem& item : unit.enqueue) {
      sqlite3_stmt* s = w_.insert_outbox.get();
      StmtUse use(s);
      const int rc = Binder(s)
                         .Text(item.peer)
                         .Text(item.key)
                         .Int(static_cast<int>(item.kind))
                         .Text(item.origin)
                         .Text(item.notice_id)
                         .Int(item.revision)
                         .Blob(item.frame)
                         .Int(item.queued_at_ms)
                         .rc();
      if (rc != SQLITE_OK) return SqlError(path_, db, rc, "binding an outbox item");
      RETURN_IF_ERROR(Step(s, "queueing an outbox item"));
      // seq is the rowid; OR IGNORE leaves an existing (peer, key) as it was and changes nothing.
      if (sqlite3_changes(db) == 1) result->queued[i] = sqlite3_last_insert_rowid(db);
      ++i;
    }
  }
  for (const Settle& settle : unit.settle) {
    sqlite3_stmt* s = w_.settle.get();
    StmtUse use(s);
    const int rc = Binder(s)
                       .Int(settle.delivered ? kDelivered : kRefused)
                       .Text(settle.reason)
                       .Int(now_ms)
                       .Text(settle.peer)
                       .Text(settle.key)
                       .rc();
    if (rc != SQLITE_OK) return SqlError(path_, db, rc, "binding an outbox settlement");
    RETURN_IF_ERROR(Step(s, "settling an outbox item"));
    // Only a pending item changes; a second settlement of the same item changes nothing.
    if (sqlite3_changes(db) == 1) {
      Settled& t = txn_settled_[settle.peer];
      ++(settle.delivered ? t.delivered : t.refused);
    }
  }
  if (!duplicate) {
    for (const ReceiptRow& receipt : unit.receipts) {
      sqlite3_stmt* s = w_.upsert_receipt.get();
      StmtUse use(s);
      const int rc = Binder(s)
                         .Text(receipt.origin)
                         .Text(receipt.notice_id)
                         .Int(receipt.revision)
                         .Text(receipt.recipient)
                         .Int(receipt.status)
                         .Text(receipt.reason_code)
                         .Text(receipt.reason)
                         .Text(receipt.reporter)
                         .Int(receipt.updated_ms)
                         .rc();
      if (rc != SQLITE_OK) return SqlError(path_, db, rc, "binding a receipt");
      RETURN_IF_ERROR(Step(s, "recording a receipt"));
    }
  }
  for (const AuditRow& row : unit.audit) {
    RETURN_IF_ERROR(InsertAudit(row, now_ms));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<OutboxItem>> SqliteStore::PendingOutbox() {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.pending_outbox.get();
  StmtUse use(s);
  return ReadOutboxItems(s, "reading the pending outbox");
}

// The rows of pending_outbox or pending_page (the same columns), as items.
absl::StatusOr<std::vector<OutboxItem>> SqliteStore::ReadOutboxItems(sqlite3_stmt* s, const char* what) {
  std::vector<OutboxItem> items;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    OutboxItem& item = items.emplace_back();
    item.peer = ColumnBytes(s, 0);
    item.key = ColumnBytes(s, 1);
    item.kind = static_cast<ItemKind>(sqlite3_column_int(s, 2));
    item.origin = ColumnBytes(s, 3);
    item.notice_id = ColumnBytes(s, 4);
    item.revision = ColumnRevision(s, 5);
    item.frame = ColumnBytes(s, 6);
    item.queued_at_ms = sqlite3_column_int64(s, 7);
    item.envelope = ColumnBytes(s, 8);
    item.seq = sqlite3_column_int64(s, 9);
  }
  if (rc != SQLITE_DONE) return ReadError(rc, what);
  return items;
}

absl::StatusOr<std::vector<OutboxItem>> SqliteStore::PendingPage(absl::string_view peer, int64_t after_seq,
                                                                  uint32_t limit) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.pending_page.get();
  StmtUse use(s);
  int rc = Binder(s).Text(peer).Int(after_seq).Int(std::max<uint32_t>(limit, 1)).rc();
  if (rc != SQLITE_OK) return ReadError(rc, "binding a page of a peer's queue");
  return ReadOutboxItems(s, "reading a page of a peer's queue");
}

absl::StatusOr<PendingTail> SqliteStore::PendingAfter(absl::string_view peer, int64_t after_seq) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.pending_after.get();
  StmtUse use(s);
  int rc = Binder(s).Text(peer).Int(after_seq).rc();
  if (rc != SQLITE_OK) return ReadError(rc, "binding a count of a peer's queue");
  rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) return ReadError(rc, "counting a peer's queue");
  PendingTail tail;
  tail.count = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
  tail.first_queued_ms = sqlite3_column_int64(s, 1);  // NULL (none) reads as 0
  return tail;
}

absl::StatusOr<std::vector<std::string>> SqliteStore::PeersHolding(absl::string_view origin,
                                                                   absl::string_view notice_id) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.peers_holding.get();
  StmtUse use(s);
  int rc = Binder(s).Text(origin).Text(notice_id).rc();
  if (rc != SQLITE_OK) return ReadError(rc, "binding a peers-holding query");
  std::vector<std::string> peers;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) peers.push_back(ColumnBytes(s, 0));
  if (rc != SQLITE_DONE) return ReadError(rc, "reading the peers holding a notice");
  return peers;
}

absl::StatusOr<std::optional<StoredNotice>> SqliteStore::Latest(absl::string_view origin,
                                                                absl::string_view notice_id) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.latest.get();
  StmtUse use(s);
  int rc = Binder(s).Text(origin).Text(notice_id).rc();
  if (rc != SQLITE_OK) return ReadError(rc, "binding a latest-revision query");
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return std::optional<StoredNotice>(ReadNotice(s));
  if (rc != SQLITE_DONE) return ReadError(rc, "reading the latest revision of a notice");
  return std::optional<StoredNotice>();
}

absl::StatusOr<std::optional<StoredNotice>> SqliteStore::Get(absl::string_view origin, absl::string_view notice_id,
                                                             uint32_t revision) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.get.get();
  StmtUse use(s);
  int rc = Binder(s).Text(origin).Text(notice_id).Int(revision).rc();
  if (rc != SQLITE_OK) return ReadError(rc, "binding a notice query");
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return std::optional<StoredNotice>(ReadNotice(s));
  if (rc != SQLITE_DONE) return ReadError(rc, "reading a notice");
  return std::optional<StoredNotice>();
}

absl::StatusOr<std::vector<StoredNotice>> SqliteStore::Notices(int64_t since_ms, uint32_t limit) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.notices.get();
  StmtUse use(s);
  int rc = Binder(s).Int(since_ms).Int(SqlLimit(limit)).rc();
  if (rc != SQLITE_OK) return ReadError(rc, "binding a notice listing");
  std::vector<StoredNotice> notices;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) notices.push_back(ReadNotice(s));
  if (rc != SQLITE_DONE) return ReadError(rc, "listing notices");
  return notices;
}

absl::StatusOr<std::vector<ReceiptRow>> SqliteStore::Receipts(absl::string_view origin, absl::string_view notice_id,
                                                              uint32_t revision) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.receipts.get();
  StmtUse use(s);
  int rc = Binder(s).Text(origin).Text(notice_id).Int(revision).rc();
  if (rc != SQLITE_OK) return ReadError(rc, "binding a receipt query");
  std::vector<ReceiptRow> rows;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    ReceiptRow& row = rows.emplace_back();
    row.origin = ColumnBytes(s, 0);
    row.notice_id = ColumnBytes(s, 1);
    row.revision = ColumnRevision(s, 2);
    row.recipient = ColumnBytes(s, 3);
    row.status = sqlite3_column_int(s, 4);
    row.reason_code = ColumnBytes(s, 5);
    row.reason = ColumnBytes(s, 6);
    row.reporter = ColumnBytes(s, 7);
    row.updated_ms = sqlite3_column_int64(s, 8);
  }
  if (rc != SQLITE_DONE) return ReadError(rc, "reading receipts");
  return rows;
}

absl::StatusOr<std::vector<PeerCounts>> SqliteStore::OutboxCounts() {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.outbox_counts.get();
  StmtUse use(s);
  std::map<std::string, PeerCounts> by_peer;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    PeerCounts& c = by_peer[ColumnBytes(s, 0)];
    c.pending = static_cast<uint64_t>(sqlite3_column_int64(s, 1));
    c.oldest_pending_ms = sqlite3_column_int64(s, 2);
  }
  if (rc != SQLITE_DONE) return ReadError(rc, "counting the outbox");
  // Read a moment after the pending items: one that settled in between counts in both.
  {
    std::lock_guard<std::mutex> settled(totals_mu_);
    for (const auto& [peer, t] : settled_totals_) {
      PeerCounts& c = by_peer[peer];
      c.delivered = t.delivered;
      c.refused = t.refused;
    }
  }
  std::vector<PeerCounts> counts;
  counts.reserve(by_peer.size());
  for (auto& [peer, c] : by_peer) {
    c.peer = peer;
    counts.push_back(std::move(c));
  }
  return counts;
}

absl::StatusOr<uint64_t> SqliteStore::NoticeCount(bool own_only) {
  {
    std::lock_guard<std::mutex> lock(reader_mu_);
    if (!reader_db_) return ReaderClosed();
  }
  std::lock_guard<std::mutex> lock(totals_mu_);
  return own_only ? stored_totals_.own : stored_totals_.all;
}

absl::StatusOr<std::vector<AuditRow>> SqliteStore::Audit(int64_t since_ms, uint32_t limit) {
  std::lock_guard<std::mutex> lock(reader_mu_);
  if (!reader_db_) return ReaderClosed();
  sqlite3_stmt* s = r_.audit.get();
  StmtUse use(s);
  int rc = Binder(s).Int(since_ms).Int(SqlLimit(limit)).rc();
  if (rc != SQLITE_OK) return ReadError(rc, "binding an audit query");
  std::vector<AuditRow> rows;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    AuditRow& row = rows.emplace_back();
    row.time_ms = sqlite3_column_int64(s, 0);
    row.event = ColumnBytes(s, 1);
    row.origin = ColumnBytes(s, 2);
    row.notice_id = ColumnBytes(s, 3);
    row.revision = ColumnRevision(s, 4);
    row.peer = ColumnBytes(s, 5);
    row.reason = ColumnBytes(s, 6);
  }
  if (rc != SQLITE_DONE) return ReadError(rc, "reading the audit log");
  return rows;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const SqliteOptions& options) {
  auto store = std::make_unique<SqliteStore>(path, options);
  RETURN_IF_ERROR(store->Open());
  return store;
}

absl::Status CheckSqliteStore(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return absl::FailedPreconditionError(absl::StrCat(path, ": ", std::strerror(errno)));
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    if (::access(dir.c_str(), W_OK | X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(path, " does not exist, and this user cannot create it in ",
                                                        dir, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();  // created when the node starts
  }
  if (!S_ISREG(st.st_mode)) return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  if (::access(path.c_str(), R_OK | W_OK) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": this user cannot read and write the store: ", std::strerror(errno)));
  }
  if (st.st_size == 0) return absl::OkStatus();  // an empty file becomes a store when the node starts
  // The database header (sqlite.org/fileformat.html, 1.3): the magic string, user_version at
  // offset 60 and application_id at 68, big-endian. A store's marks may still be in its log
  // only (not yet checkpointed): a zero application id is left to the node's own check.
  unsigned char header[100] = {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat(path, ": ", std::strerror(errno)));
  const ssize_t n = ::pread(fd, header, sizeof header, 0);
  ::close(fd);
  const auto be32 = [&](size_t at) {
    return int64_t{header[at]} << 24 | int64_t{header[at + 1]} << 16 | int64_t{header[at + 2]} << 8 | header[at + 3];
  };
  if (n != static_cast<ssize_t>(sizeof header) || std::memcmp(header, "SQLite format 3", 16) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a sevex store (not an SQLite database)"));
  }
  if (const int64_t app_id = be32(68); app_id != 0 && app_id != kApplicationId) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a sevex store (an SQLite database with application id ", app_id, ")"));
  }
  if (const int64_t version = be32(60); version > kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(path, " was written by a newer sevex (schema version ", version,
                                                      "; this build reads up to ", kSchemaVersion, ")"));
  }
  // The whole file, read-only, as the node checks it when it opens the store.
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc == SQLITE_OK) sqlite3_busy_timeout(db, 5000);  // a running node may hold a lock a moment
  absl::Status checked =
      rc == SQLITE_OK
          ? QuickCheck(db, path)
          : absl::FailedPreconditionError(absl::StrCat(path, ": cannot be read: ", sqlite3_errstr(rc)));
  sqlite3_close(db);
  return checked;
}

}  // namespace sevex::store
