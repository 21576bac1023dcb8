// store.h — the node's durable state (DESIGN.md §5): the notices it holds (its own and those it
// received), the outbox with per-peer delivery state, delivery receipts, and an audit log.
//
// Writes are grouped: callers hand `Unit`s to Commit(); one writer thread applies everything
// queued so far in one transaction, makes it durable, then calls each caller back. A notice is
// thus never delayed by more than one commit, and many notices share one fsync.
//
//   store->Commit({std::move(unit)}, [](absl::Status s, std::vector<UnitResult> r) { … });
//
// Reads are synchronous and thread-safe; they see every committed unit.
#ifndef SEVEX_STORE_STORE_H_
#define SEVEX_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sevex::store {

enum class ItemKind { kNotice = 0, kReceipt = 1 };

// One item waiting for one peer (the next hop). (peer, key) is unique.
struct OutboxItem {
  // The item's place in the outbox, assigned by the store when the item is queued: items queued
  // later have higher numbers, so a peer's queue is its pending items in `seq` order. 0 on an
  // item not yet committed.
  int64_t seq = 0;
  std::string peer;
  std::string key;
  ItemKind kind = ItemKind::kNotice;
  std::string origin;
  std::string notice_id;
  uint32_t revision = 0;
  // Serialised v1::NoticeFrame. For a notice (kind kNotice) it is the frame without its
  // signed_notice, which is `envelope`: the outbox does not store the envelope a second time,
  // PendingOutbox reads it back from the notice row (the unit that enqueues a notice item also
  // inserts that notice, or the notice is already stored).
  std::string frame;
  std::string envelope;  // kNotice: the serialised v1::SignedNotice sent as the frame's signed_notice
  int64_t queued_at_ms = 0;
};

// A notice this node holds. (origin, notice_id, revision) is unique.
struct StoredNotice {
  std::string origin;
  std::string notice_id;
  uint32_t revision = 0;
  bool own = false;            // submitted at this node
  bool retracted = false;
  std::string received_from;   // the peer it came from; empty when own
  int64_t received_at_ms = 0;
  std::string envelope;        // serialised v1::SignedNotice
  std::string translation;     // serialised v1::Translation into this node's scheme; may be empty
};

// Receipt status values are v1::Receipt::Status numbers (1 pending, 2 delivered, 3 refused).
struct ReceiptRow {
  std::string origin;
  std::string notice_id;
  uint32_t revision = 0;
  std::string recipient;
  int status = 0;
  std::string reason_code;
  std::string reason;
  std::string reporter;
  int64_t updated_ms = 0;
};

struct AuditRow {
  int64_t time_ms = 0;
  std::string event;     // "submitted", "stored", "duplicate", "rejected", "delivered", "refused", …
  std::string origin;
  std::string notice_id;
  uint32_t revision = 0;
  std::string peer;
  std::string reason;
};

// An outbox item is finished: the peer acknowledged it (delivered) or refused it.
struct Settle {
  std::string peer;
  std::string key;
  bool delivered = true;
  std::string reason;  // why it was refused
};

// One logical change, applied atomically with the rest of its group commit.
struct Unit {
  // When present and a notice with the same (origin, notice_id, revision) is already stored,
  // the unit is a duplicate: its `enqueue` and `receipts` are skipped (its `settle` and
  // `audit` are still applied). The store audits "stored" or "duplicate" itself.
  std::optional<StoredNotice> insert;
  std::vector<OutboxItem> enqueue;    // an item already queued for the peer is left as it is
  std::vector<Settle> settle;
  std::vector<ReceiptRow> receipts;  // upsert; a DELIVERED or REFUSED row never changes
  std::vector<AuditRow> audit;
};

// What Commit did with one unit. Compares equal to its `kind`, so `results[0] ==
// UnitResult::kDuplicate` reads as it says.
struct UnitResult {
  enum Kind { kApplied, kDuplicate };
  Kind kind = kApplied;
  // One entry per item of the unit's `enqueue`, in order: the `seq` it was queued under, or 0
  // when it was not queued (the unit is a duplicate, or the peer already had an item with that
  // key, which is left as it was).
  std::vector<int64_t> queued;

  bool operator==(Kind k) const { return kind == k; }
};

using CommitCallback = std::function<void(absl::Status, std::vector<UnitResult>)>;

// What waits for one peer after a position in its queue (see Store::PendingAfter).
struct PendingTail {
  uint64_t count = 0;
  int64_t first_queued_ms = 0;  // queued_at_ms of the first of them (lowest seq); 0 when none
};

// Per peer: what its outbox holds.
struct PeerCounts {
  std::string peer;
  uint64_t pending = 0;
  int64_t oldest_pending_ms = 0;  // 0 when nothing is pending
  uint64_t delivered = 0;
  uint64_t refused = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies `units` durably, then calls `done` on the writer thread with OK and one result per
  // unit, or with the error (disk full, I/O error…) and no results: then none of the units is
  // stored and the store is as it was. Must not be called after Close().
  virtual void Commit(std::vector<Unit> units, CommitCallback done) = 0;
  // Finishes every queued commit, then stops the writer. Idempotent.
  virtual void Close() = 0;

  // Every pending outbox item, in the order they were queued.
  virtual absl::StatusOr<std::vector<OutboxItem>> PendingOutbox() = 0;
  // One page of one peer's queue: its pending items with `seq` greater than `after_seq`, in
  // queue order, at most `limit` (at least 1). A node holding only part of a long queue in memory
  // reads the next part with the last `seq` it holds: an item committed since the last page is
  // found by the next one, and an item already read is never returned again.
  virtual absl::StatusOr<std::vector<OutboxItem>> PendingPage(absl::string_view peer, int64_t after_seq,
                                                              uint32_t limit) = 0;
  // How many items are pending for `peer` with `seq` greater than `after_seq`, and when the
  // first of them was queued. Reads the pending index only, not the items: about 10–20 ms of CPU
  // per 100,000 items.
  virtual absl::StatusOr<PendingTail> PendingAfter(absl::string_view peer, int64_t after_seq) = 0;
  // Peers that were sent (pending or delivered, not refused) any revision of a notice.
  virtual absl::StatusOr<std::vector<std::string>> PeersHolding(absl::string_view origin,
                                                                absl::string_view notice_id) = 0;
  // The highest revision stored of a notice; nullopt when none is stored.
  virtual absl::StatusOr<std::optional<StoredNotice>> Latest(absl::string_view origin, absl::string_view notice_id) = 0;
  virtual absl::StatusOr<std::optional<StoredNotice>> Get(absl::string_view origin, absl::string_view notice_id,
                                                          uint32_t revision) = 0;
  // Notices received or submitted at or after `since_ms`, oldest first, at most `limit` (0: all).
  virtual absl::StatusOr<std::vector<StoredNotice>> Notices(int64_t since_ms, uint32_t limit) = 0;
  // Receipts of one notice revision, by recipient.
  virtual absl::StatusOr<std::vector<ReceiptRow>> Receipts(absl::string_view origin, absl::string_view notice_id,
                                                           uint32_t revision) = 0;
  // Per peer with any outbox item, by peer: pending, oldest pending, delivered, refused. Reads
  // the pending items only; an item settling during the call may be counted as both.
  virtual absl::StatusOr<std::vector<PeerCounts>> OutboxCounts() = 0;
  // Number of notices stored; `own_only` counts those submitted here. Kept in memory: counted
  // once when the store opens, then as each transaction commits; no table is read.
  virtual absl::StatusOr<uint64_t> NoticeCount(bool own_only) = 0;
  virtual absl::StatusOr<std::vector<AuditRow>> Audit(int64_t since_ms, uint32_t limit) = 0;
};

}  // namespace sevex::store

#endif  // SEVEX_STORE_STORE_H_
