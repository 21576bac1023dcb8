// memory_store.h — the Store in memory, for unit tests of the node's components (LevelDB's
// helpers/memenv is the model): the same contract as the SQLite store (store/store.h,
// store/sqlite_store.cc), with nothing on disk, plus hooks that make commits or reads fail so that
// a component's failure paths (parking a notice, retrying a refill) run in a millisecond test.
//
//   std::unique_ptr<MemoryStore> store = OpenMemoryStore();
//   store->FailNextCommits(1);  // the next Commit() is answered with UnavailableError
//   component.Submit(notice);   // … and the test checks that the component parks it
//
// What it promises, rule for rule as sqlite_store.cc does it (tests/store_contract_test.cc runs
// the same tests against both):
//   - group commit: Commit() queues; one writer thread takes everything queued so far, applies it
//     as one transaction, then calls each `done` on that thread, in commit order. A request is
//     applied whole or not at all; a request that fails does not fail the others taken with it
//     (the SQLite store rolls the group back and retries each request on its own, which comes to
//     the same outcome).
//   - insert: (origin, notice_id, revision) is stored once; a second insert makes the unit a
//     duplicate, whose `enqueue` and `receipts` are skipped and whose `settle` and `audit` are
//     applied. The store audits "submitted" (own), "stored" or "duplicate" itself, with its
//     clock's time, the notice's key and `received_from` as the peer.
//   - enqueue: (peer, key) is unique among all items ever queued, settled ones included; an item
//     gets the next `seq` (1, 2, …, never reused), or 0 in `UnitResult::queued` when not queued.
//     A notice item's `envelope` is not kept: reads return the stored notice's envelope (empty
//     when that revision is not stored); a receipt item's envelope reads back empty.
//   - settle: changes a pending item only; a second settlement of an item changes nothing.
//   - receipts: upsert by (origin, notice_id, revision, recipient); a PENDING (1) report does not
//     replace DELIVERED (2) or REFUSED (3); every other report replaces what was there.
//   - audit rows: `time_ms` 0 is filled in with the store's clock, read once per transaction.
//   - reads: the orders of the SQLite queries (queue order by `seq`; notices by received_at_ms,
//     then insertion; receipts by recipient; peers by name, bytewise; audit in insertion order).
//   - Close(): answers every queued commit, stops the writer, and is idempotent; afterwards reads
//     fail with FailedPreconditionError and Commit() is answered at once, on the calling thread,
//     with FailedPreconditionError.
//
// Thread safety: every method may be called from any thread. Reads and the writer's transactions
// take one mutex, so a read sees a transaction entirely or not at all. Callbacks run on the
// writer thread with no lock held: they may read, Commit() again or call the hooks, but not
// Close() (as with the SQLite store, Close() joins the writer thread).
//
// Not durable: the contents live as long as the object. Crash and disk behaviour belong to the
// SQLite store's own tests (tests/store_test.cc, tests/store_fsync_failure_test.cc).
#ifndef SEVEX_STORE_MEMORY_STORE_H_
#define SEVEX_STORE_MEMORY_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "store/store.h"

namespace sevex::store {

struct MemoryStoreOptions {
  // Names the store in its error messages, as the path does for the SQLite store.
  std::string name = "memory store";
  // The wall clock, in Unix milliseconds, for the times the store fills in itself (its own audit
  // rows, audit rows given with time_ms 0, when an outbox item was settled). Empty: the system
  // clock. Called on the writer thread, once per transaction.
  std::function<int64_t()> clock_ms;
};

// The in-memory Store. The hooks below are for tests; a store whose hooks are never called
// behaves as a SQLite store that never fails.
class MemoryStore final : public Store {
 public:
  explicit MemoryStore(MemoryStoreOptions options = {});
  ~MemoryStore() override;  // Close()s

  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  void Commit(std::vector<Unit> units, CommitCallback done) override;
  void Close() override;

  absl::StatusOr<std::vector<OutboxItem>> PendingOutbox() override;
  absl::StatusOr<std::vector<OutboxItem>> PendingPage(absl::string_view peer, int64_t after_seq,
                                                      uint32_t limit) override;
  absl::StatusOr<PendingTail> PendingAfter(absl::string_view peer, int64_t after_seq) override;
  absl::StatusOr<std::vector<std::string>> PeersHolding(absl::string_view origin,
                                                        absl::string_view notice_id) override;
  absl::StatusOr<std::optional<StoredNotice>> Latest(absl::string_view origin,
                                                     absl::string_view notice_id) override;
  absl::StatusOr<std::optional<StoredNotice>> Get(absl::string_view origin, absl::string_view notice_id,
                                                  uint32_t revision) override;
  absl::StatusOr<std::vector<StoredNotice>> Notices(int64_t since_ms, uint32_t limit) override;
  absl::StatusOr<std::vector<ReceiptRow>> Receipts(absl::string_view origin, absl::string_view notice_id,
                                                   uint32_t revision) override;
  absl::StatusOr<std::vector<PeerCounts>> OutboxCounts() override;
  absl::StatusOr<uint64_t> NoticeCount(bool own_only) override;
  absl::StatusOr<std::vector<AuditRow>> Audit(int64_t since_ms, uint32_t limit) override;

  // ---- Test hooks. Each takes effect for the requests the writer takes after the call.

  // The next `n` Commit() requests the writer takes (in commit order) fail with `error`, as a
  // transaction on a full or failing disk does: each such `done` gets `error` and no results,
  // and none of its units changes anything. Requests taken with them succeed as usual. Adds to
  // the requests still to fail from an earlier call; the last call's `error` is used. `error`
  // must not be OK. The default reads like the SQLite store's failing fsync; pass
  // absl::ResourceExhaustedError(…) to look like its full disk.
  void FailNextCommits(int n, absl::Status error = absl::UnavailableError(
                                  "memory store: injected failure: the disk did not confirm the write"));
  // While `error` is not OK, every request fails with it, as on a disk that stays full; OK ends
  // that (requests counted by FailNextCommits then fail first).
  void SetCommitFailure(absl::Status error);
  // While `error` is not OK, every read (PendingOutbox … Audit, NoticeCount included) returns
  // it. OK ends that. A closed store reports being closed first.
  void SetReadFailure(absl::Status error);
  // While paused, the writer takes nothing from the queue: commits wait, in order, so that a test
  // can queue several requests and see them grouped, or observe a component while its commit is
  // in flight. Close() resumes the writer, so that it answers everything queued.
  void PauseWriter();
  void ResumeWriter();
  // Transactions the writer has run so far (one per group taken from the queue), for tests of
  // grouping.
  uint64_t TransactionCount();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A new, empty, open store. Returns the class so that tests can reach the hooks; it converts to
// std::unique_ptr<Store>.
std::unique_ptr<MemoryStore> OpenMemoryStore(MemoryStoreOptions options = {});

}  // namespace sevex::store

#endif  // SEVEX_STORE_MEMORY_STORE_H_
