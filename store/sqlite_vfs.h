// sqlite_vfs.h — the SQLite VFSes the store opens its files with. Both wrap SQLite's "unix" VFS.
//
// "sevex" (kStoreVfs, the store's default) adds one thing, the WAL guard: when an fsync of a
// write-ahead log fails, the log's unsynced tail is cut off before SQLite reports the failure.
// That tail holds the frames of the transaction whose commit just failed, commit frame
// included. SQLite rolls the transaction back in memory and overwrites those frames with the
// next commit, but until then they sit in the file with valid checksums: a restart or a crash
// in between would run recovery over them and bring back a transaction every caller was told
// had failed. The guard is right only for logs whose every commit is synced (WAL with
// synchronous=FULL or EXTRA, as the store sets): then the unsynced tail never holds a
// committed transaction.
//
// "sevex-fault" (kFaultVfs) adds fault injection for tests: while armed, every xSync fails with
// SQLITE_IOERR_FSYNC (the data stays in the page cache, as after a real fsync error on Linux)
// and/or every xWrite fails with SQLITE_FULL. Faults are armed in-process, or from outside a
// process through a control file.
//
//   SqliteOptions options;
//   options.vfs = kFaultVfs;
//   auto store = OpenSqliteStore(path, options);
//   SetStoreFaults({.fsync = true});   // every commit fails now
//   SetStoreFaults({});                // and succeeds again
//
// Thread safety: the fault settings and counters are process-wide and may be changed from any
// thread; a file is used by one SQLite connection at a time.
#ifndef SEVEX_STORE_SQLITE_VFS_H_
#define SEVEX_STORE_SQLITE_VFS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace sevex::store {

inline constexpr char kStoreVfs[] = "sevex";
inline constexpr char kFaultVfs[] = "sevex-fault";

// Registers both VFSes with SQLite (neither becomes the default). Idempotent and thread-safe;
// OpenSqliteStore calls it. Fails only when SQLite has no "unix" VFS.
absl::Status RegisterStoreVfs();

// The faults "sevex-fault" injects. Files opened with "sevex" never fail on purpose.
struct StoreFaults {
  bool fsync = false;       // xSync fails with SQLITE_IOERR_FSYNC
  bool write_full = false;  // xWrite fails with SQLITE_FULL, as on a full disk
};

// Arms (or, with {}, disarms) faults in this process.
void SetStoreFaults(StoreFaults faults);

// Test seam for processes: while the file at `path` exists, the faults it names are armed in
// addition to SetStoreFaults' — "fsync", "full" (writes), or both; an empty file means fsync.
// It is looked at on every write and sync. An empty `path` turns the seam off.
void SetStoreFaultFile(std::string path);

// What the VFSes did since the process started.
struct StoreVfsCounts {
  uint64_t fsyncs_failed = 0;      // injected
  uint64_t writes_failed = 0;      // injected
  uint64_t wal_tails_dropped = 0;  // the WAL guard cut off an unsynced tail
};
StoreVfsCounts StoreVfsCountsNow();

}  // namespace sevex::store

#endif  // SEVEX_STORE_SQLITE_VFS_H_
