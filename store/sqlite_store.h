// sqlite_store.h — the Store on embedded SQLite: WAL journal, synchronous=FULL, one writer
// thread doing group commit, one read connection, and a checkpointer thread with a connection
// of its own that copies the log into the database off the writer's path. Files are opened
// through the VFSes of store/sqlite_vfs.h.
#ifndef SEVEX_STORE_SQLITE_STORE_H_
#define SEVEX_STORE_SQLITE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/sqlite_vfs.h"
#include "store/store.h"

namespace sevex::store {

struct SqliteOptions {
  size_t max_units_per_commit = 2000;  // a larger backlog is split over several transactions
  // Checkpoints. Once a commit leaves at least `checkpoint_pages` pages in the write-ahead log,
  // the checkpointer thread copies the log into the database (a PASSIVE checkpoint, on its own
  // connection): the writer goes on committing meanwhile. While commits keep coming, such a
  // checkpoint cannot catch up with the end of the log, so the log cannot start afresh; once it
  // holds `wal_limit_pages` pages, the writer itself, after answering that transaction's
  // callers, waits for a checkpointer run in progress and checkpoints the whole log (RESTART)
  // before its next transaction. That bounds the log at wal_limit_pages × 4 KiB and one
  // transaction's pages; only the commits queued behind that RESTART wait for a checkpoint.
  uint32_t checkpoint_pages = 1000;
  uint32_t wal_limit_pages = 16384;
  // Fault injection (tests): SQLite's max_page_count, so that writes beyond it fail with
  // SQLITE_FULL as on a full disk. 0: no limit.
  int64_t max_page_count = 0;
  // The SQLite VFS the files are opened with: kStoreVfs (SQLite's "unix" with the WAL guard),
  // or kFaultVfs in tests, which can make fsync and writes fail (store/sqlite_vfs.h).
  std::string vfs = kStoreVfs;
  // The wall clock, in Unix milliseconds, for the times the store fills in itself (its own
  // audit rows, when an outbox item was settled). Empty: the system clock.
  std::function<int64_t()> clock_ms;
  // Called on the writer thread after each transaction, committed or not, with its duration
  // (applying the units, the commit and its fsync) and its outcome: OK, or the error every
  // caller in it was given. For metrics and health.
  std::function<void(double seconds, const absl::Status& outcome)> on_transaction;
};

// Opens or creates the store at `path`. A file that is not a sevex store, or one of a newer
// schema, is refused with an error naming it; nothing is written to it. An existing store is
// read whole first (SQLite's quick_check, about a second per GiB): a damaged one is refused
// with DATA_LOSS, saying what to do, and left as it is.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const SqliteOptions& options = {});

// For `sevex node --check`: whether the node could open the store at `path`, without creating
// or writing anything: a missing file that its directory lets this user create, or a file this
// user can read and write whose SQLite header does not belong to another application or to a
// newer schema, and that passes SQLite's quick_check (read-only; DATA_LOSS when damaged).
// Opening the store checks more (OpenSqliteStore).
absl::Status CheckSqliteStore(const std::string& path);

}  // namespace sevex::store

#endif  // SEVEX_STORE_SQLITE_STORE_H_
