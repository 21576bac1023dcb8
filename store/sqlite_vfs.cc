#include "store/sqlite_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace sevex::store {
namespace {

// Per VFS: whether it injects faults.
struct VfsConfig {
  bool faults = false;
};
const VfsConfig kStoreConfig{false};
const VfsConfig kFaultConfig{true};

sqlite3_vfs* real_vfs = nullptr;  // "unix"; set once, before either VFS is registered
sqlite3_vfs store_vfs;
sqlite3_vfs fault_vfs;

std::atomic<bool> armed_fsync{false};
std::atomic<bool> armed_write_full{false};
std::atomic<bool> has_fault_file{false};
std::mutex fault_file_mu;
std::string fault_file;  // guarded by fault_file_mu

std::atomic<uint64_t> fsyncs_failed{0};
std::atomic<uint64_t> writes_failed{0};
std::atomic<uint64_t> wal_tails_dropped{0};

StoreFaults Armed() {
  StoreFaults f{armed_fsync.load(), armed_write_full.load()};
  if (!has_fault_file.load()) return f;
  std::string path;
  {
    std::lock_guard<std::mutex> lock(fault_file_mu);
    path = fault_file;
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return f;  // no file: no faults from it
  char buf[256];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  const std::string_view text(buf, n > 0 ? static_cast<size_t>(n) : 0);
  const bool fsync = text.find("fsync") != std::string_view::npos;
  const bool full = text.find("full") != std::string_view::npos;
  f.fsync |= fsync || !full;
  f.write_full |= full;
  return f;
}

// The file object SQLite allocates (szOsFile bytes) for our VFSes: ours first, then the real
// VFS's file at kRealOffset.
struct GuardFile {
  sqlite3_file base;  // first: SQLite sees this
  sqlite3_file* real;
  bool wal;     // a write-ahead log (SQLITE_OPEN_WAL)
  bool faults;  // opened through "sevex-fault"
  // The lowest offset written through this handle since its last successful xSync; -1: none.
  sqlite3_int64 unsynced_from;
};
constexpr int kRealOffset = static_cast<int>((sizeof(GuardFile) + alignof(std::max_align_t) - 1) /
                                             alignof(std::max_align_t) * alignof(std::max_align_t));

GuardFile* Guard(sqlite3_file* f) { return reinterpret_cast<GuardFile*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Guard(f)->real; }

// The log's unsynced tail holds only frames of transactions whose commit has not been synced,
// that is, has failed (see the header). Cutting it off means a later recovery cannot replay
// them. The truncation is not synced either: it protects against a restart and a process
// crash, which see the page cache; after a power loss with a disk that fails fsync, nothing
// written since the last good fsync can be vouched for either way.
void DropUnsyncedTail(GuardFile* g) {
  sqlite3_int64 size = 0;
  if (g->real->pMethods->xFileSize(g->real, &size) != SQLITE_OK) return;
  if (size > g->unsynced_from) {
    if (g->real->pMethods->xTruncate(g->real, g->unsynced_from) != SQLITE_OK)
      return;  // tried again on the next failure
    ++wal_tails_dropped;
  }
  g->unsynced_from = -1;
}

int Close(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }

int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, offset);
}

int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 offset) {
  GuardFile* g = Guard(f);
  if (g->faults && Armed().write_full) {
    ++writes_failed;
    return SQLITE_FULL;
  }
  // Before the write: a write that fails half-way has still changed the file.
  if (g->wal && (g->unsynced_from < 0 || offset < g->unsynced_from)) g->unsynced_from = offset;
  return g->real->pMethods->xWrite(g->real, buf, n, offset);
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  GuardFile* g = Guard(f);
  const int rc = g->real->pMethods->xTruncate(g->real, size);
  if (rc == SQLITE_OK && g->unsynced_from >= size) g->unsynced_from = -1;  // that tail is gone
  return rc;
}

int Sync(sqlite3_file* f, int flags) {
  GuardFile* g = Guard(f);
  int rc;
  if (g->faults && Armed().fsync) {
    ++fsyncs_failed;
    rc = SQLITE_IOERR_FSYNC;
  } else {
    rc = g->real->pMethods->xSync(g->real, flags);
  }
  if (rc == SQLITE_OK) {
    g->unsynced_from = -1;
  } else if (g->wal && g->unsynced_from >= 0) {
    DropUnsyncedTail(g);
  }
  return rc;
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }

// Version 2: the wal-index in shared memory. Passed through untouched.
int ShmMap(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  if (Real(f)->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return Real(f)->pMethods->xShmMap(Real(f), page, page_size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  if (Real(f)->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) {
  if (Real(f)->pMethods->iVersion >= 2) Real(f)->pMethods->xShmBarrier(Real(f));
}
int ShmUnmap(sqlite3_file* f, int delete_flag) {
  if (Real(f)->pMethods->iVersion < 2) return SQLITE_OK;
  return Real(f)->pMethods->xShmUnmap(Real(f), delete_flag);
}

// Version 3: memory-mapped reads of the database file. Without them SQLite uses xRead.
int Fetch(sqlite3_file* f, sqlite3_int64 offset, int n, void** out) {
  if (Real(f)->pMethods->iVersion < 3) {
    *out = nullptr;
    return SQLITE_OK;
  }
  return Real(f)->pMethods->xFetch(Real(f), offset, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  if (Real(f)->pMethods->iVersion < 3) return SQLITE_OK;
  return Real(f)->pMethods->xUnfetch(Real(f), offset, p);
}

const sqlite3_io_methods kMethods = {
    3,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    Fetch,
    Unfetch,
};

int Open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  GuardFile* g = Guard(f);
  g->base.pMethods = nullptr;  // SQLite calls xClose only when this is set
  g->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kRealOffset);
  g->real->pMethods = nullptr;
  g->wal = (flags & SQLITE_OPEN_WAL) != 0;
  g->faults = static_cast<const VfsConfig*>(vfs->pAppData)->faults;
  g->unsynced_from = -1;
  const int rc = real_vfs->xOpen(real_vfs, name, g->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // A VFS that sets pMethods on failure expects xClose; SQLite will not call ours.
    if (g->real->pMethods != nullptr) g->real->pMethods->xClose(g->real);
    return rc;
  }
  g->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}
void* DlOpen(sqlite3_vfs*, const char* name) { return real_vfs->xDlOpen(real_vfs, name); }
void DlError(sqlite3_vfs*, int n, char* out) { real_vfs->xDlError(real_vfs, n, out); }
void (*DlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return real_vfs->xDlSym(real_vfs, handle, symbol);
}
void DlClose(sqlite3_vfs*, void* handle) { real_vfs->xDlClose(real_vfs, handle); }
int Randomness(sqlite3_vfs*, int n, char* out) { return real_vfs->xRandomness(real_vfs, n, out); }
int Sleep(sqlite3_vfs*, int microseconds) { return real_vfs->xSleep(real_vfs, microseconds); }
int CurrentTime(sqlite3_vfs*, double* out) { return real_vfs->xCurrentTime(real_vfs, out); }
int GetLastError(sqlite3_vfs*, int n, char* out) {
  return real_vfs->xGetLastError != nullptr ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) { return real_vfs->xCurrentTimeInt64(real_vfs, out); }
int SetSystemCall(sqlite3_vfs*, const char* name, sqlite3_syscall_ptr call) {
  return real_vfs->xSetSystemCall(real_vfs, name, call);
}
sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs*, const char* name) {
  return real_vfs->xGetSystemCall(real_vfs, name);
}
const char* NextSystemCall(sqlite3_vfs*, const char* name) {
  return real_vfs->xNextSystemCall(real_vfs, name);
}

void Fill(sqlite3_vfs* vfs, const char* name, const VfsConfig* config) {
  *vfs = sqlite3_vfs{};
  vfs->iVersion = std::min(real_vfs->iVersion, 3);
  vfs->szOsFile = kRealOffset + real_vfs->szOsFile;
  vfs->mxPathname = real_vfs->mxPathname;
  vfs->zName = name;
  vfs->pAppData = const_cast<VfsConfig*>(config);  // read only
  vfs->xOpen = Open;
  vfs->xDelete = Delete;
  vfs->xAccess = Access;
  vfs->xFullPathname = FullPathname;
  vfs->xDlOpen = DlOpen;
  vfs->xDlError = DlError;
  vfs->xDlSym = DlSym;
  vfs->xDlClose = DlClose;
  vfs->xRandomness = Randomness;
  vfs->xSleep = Sleep;
  vfs->xCurrentTime = CurrentTime;
  vfs->xGetLastError = GetLastError;
  if (vfs->iVersion >= 2) vfs->xCurrentTimeInt64 = CurrentTimeInt64;
  if (vfs->iVersion >= 3) {
    vfs->xSetSystemCall = SetSystemCall;
    vfs->xGetSystemCall = GetSystemCall;
    vfs->xNextSystemCall = NextSystemCall;
  }
}

}  // namespace

absl::Status RegisterStoreVfs() {
  static const absl::Status registered = [] {
    real_vfs = sqlite3_vfs_find("unix");
    if (real_vfs == nullptr)
      return absl::InternalError("SQLite has no \"unix\" VFS for the store to build on");
    Fill(&store_vfs, kStoreVfs, &kStoreConfig);
    Fill(&fault_vfs, kFaultVfs, &kFaultConfig);
    for (sqlite3_vfs* vfs : {&store_vfs, &fault_vfs}) {
      if (const int rc = sqlite3_vfs_register(vfs, /*makeDflt=*/0); rc != SQLITE_OK) {
        return absl::InternalError(std::string("registering the SQLite VFS ") + vfs->zName + ": " +
                                   sqlite3_errstr(rc));
      }
    }
    return absl::OkStatus();
  }();
  return registered;
}

void SetStoreFaults(StoreFaults faults) {
  armed_fsync = faults.fsync;
  armed_write_full = faults.write_full;
}

void SetStoreFaultFile(std::string path) {
  std::lock_guard<std::mutex> lock(fault_file_mu);
  has_fault_file = !path.empty();
  fault_file = std::move(path);
}

StoreVfsCounts StoreVfsCountsNow() {
  return {fsyncs_failed.load(), writes_failed.load(), wal_tails_dropped.load()};
}

}  // namespace sevex::store
