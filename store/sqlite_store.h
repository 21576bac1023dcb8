// sqlite_store.h — the Store on embedded SQLite: WAL journal, synchronous=FULL, one writer
// thread doing group commit, one read connection.
#ifndef SEVEX_STORE_SQLITE_STORE_H_
#define SEVEX_STORE_SQLITE_STORE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "store/store.h"

namespace sevex::store {

struct SqliteOptions {
  size_t max_units_per_commit = 2000;  // a larger backlog is split over several transactions
  // Fault injection (tests): SQLite's max_page_count, so that writes beyond it fail with
  // SQLITE_FULL as on a full disk. 0: no limit.
  int64_t max_page_count = 0;
  // Called on the writer thread after each transaction, committed or not, with its duration
  // (applying the units, the commit and its fsync) and whether it committed. For metrics.
  std::function<void(double seconds, bool committed)> on_transaction;
};

// Opens or creates the store at `path`. A file that is not a sevex store, or one of a newer
// schema, is refused with an error naming it; nothing is written to it.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const SqliteOptions& options = {});

}  // namespace sevex::store

#endif  // SEVEX_STORE_SQLITE_STORE_H_
