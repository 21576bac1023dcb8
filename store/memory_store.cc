#include "store/memory_store.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sevex::store {
namespace {

// Outbox states, as sqlite_store.cc numbers them.
constexpr int kPending = 0;
constexpr int kDelivered = 1;
constexpr int kRefused = 2;

// Receipt statuses (v1::Receipt::Status).
constexpr int kReceiptPending = 1;
constexpr int kReceiptDelivered = 2;
constexpr int kReceiptRefused = 3;

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using NoticeKey = std::tuple<std::string, std::string, uint32_t>;                // origin, id, revision
using ReceiptKey = std::tuple<std::string, std::string, uint32_t, std::string>;  // … recipient

struct OutboxRow {
  OutboxItem item;  // envelope empty: a notice item's is read from the notice
  int state = kPending;
  std::string reason;
  int64_t settled_at_ms = 0;
};

struct Settled {
  uint64_t delivered = 0;
  uint64_t refused = 0;
};

struct Request {
  std::vector<Unit> units;
  CommitCallback done;
};

}  // namespace

class MemoryStore::Impl {
 public:
  explicit Impl(MemoryStoreOptions options) : options_(std::move(options)) {
    writer_ = std::thread([this] { WriterLoop(); });
  }

  void Commit(std::vector<Unit> units, CommitCallback done) {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      if (!stopping_) {
        queue_.push_back(Request{std::move(units), std::move(done)});
        queue_cv_.notify_one();
        return;
      }
    }
    done(absl::FailedPreconditionError(absl::StrCat(options_.name, ": commit after the store was closed")),
         {});
  }

  void Close() {
    std::lock_guard<std::mutex> close_lock(close_mu_);
    if (closed_) return;
    closed_ = true;
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      stopping_ = true;
      paused_ = false;
    }
    queue_cv_.notify_one();
    if (writer_.joinable()) writer_.join();
    std::lock_guard<std::mutex> lock(mu_);
    reads_closed_ = true;
  }

  void FailNextCommits(int n, absl::Status error) {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (n > 0) fail_next_ += n;
    fail_next_error_ = std::move(error);
  }
  void SetCommitFailure(absl::Status error) {
    std::lock_guard<std::mutex> lock(queue_mu_);
    fail_all_error_ = std::move(error);
  }
  void SetReadFailure(absl::Status error) {
    std::lock_guard<std::mutex> lock(mu_);
    read_error_ = std::move(error);
  }
  void PauseWriter() {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (!stopping_) paused_ = true;
  }
  void ResumeWriter() {
    {
      std::lock_guard<std::mutex> lock(queue_mu_);
      paused_ = false;
    }
    queue_cv_.notify_one();
  }
  uint64_t TransactionCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return transactions_;
  }

  // Reads. Each takes mu_, so it sees whole transactions only.
  absl::StatusOr<std::vector<OutboxItem>> PendingOutbox();
  absl::StatusOr<std::vector<OutboxItem>> PendingPage(absl::string_view peer, int64_t after_seq,
                                                      uint32_t limit);
  absl::StatusOr<PendingTail> PendingAfter(absl::string_view peer, int64_t after_seq);
  absl::StatusOr<std::vector<std::string>> PeersHolding(absl::string_view origin,
                                                        absl::string_view notice_id);
  absl::StatusOr<std::optional<StoredNotice>> Latest(absl::string_view origin, absl::string_view notice_id);
  absl::StatusOr<std::optional<StoredNotice>> Get(absl::string_view origin, absl::string_view notice_id,
                                                  uint32_t revision);
  absl::StatusOr<std::vector<StoredNotice>> Notices(int64_t since_ms, uint32_t limit);
  absl::StatusOr<std::vector<ReceiptRow>> Receipts(absl::string_view origin, absl::string_view notice_id,
                                                   uint32_t revision);
  absl::StatusOr<std::vector<PeerCounts>> OutboxCounts();
  absl::StatusOr<uint64_t> NoticeCount(bool own_only);
  absl::StatusOr<std::vector<AuditRow>> Audit(int64_t since_ms, uint32_t limit);

  ~Impl() { Close(); }

 private:
  void WriterLoop();
  // Applies one unit; cannot fail (only injected failures do, and they are decided per request
  // before anything is applied, which is what makes a request atomic). Under mu_.
  void Apply(const Unit& unit, int64_t now_ms, UnitResult* result);
  void InsertAudit(const AuditRow& row, int64_t now_ms);
  OutboxItem ReadItem(const OutboxRow& row) const;  // under mu_
  // The status a read returns before reading: closed, or an injected failure. Under mu_.
  absl::Status ReadCheck() const {
    if (reads_closed_)
      return absl::FailedPreconditionError(absl::StrCat(options_.name, ": the store is closed"));
    return read_error_;
  }
  int64_t NowMs() const { return options_.clock_ms ? options_.clock_ms() : SystemClockMs(); }

  const MemoryStoreOptions options_;
  std::thread writer_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Request> queue_;     // guarded by queue_mu_
  bool stopping_ = false;         // guarded by queue_mu_
  bool paused_ = false;           // guarded by queue_mu_
  int fail_next_ = 0;             // guarded by queue_mu_
  absl::Status fail_next_error_;  // guarded by queue_mu_
  absl::Status fail_all_error_;   // guarded by queue_mu_

  std::mutex close_mu_;
  bool closed_ = false;  // guarded by close_mu_

  // The contents, guarded by mu_.
  std::mutex mu_;
  bool reads_closed_ = false;
  absl::Status read_error_;
  uint64_t transactions_ = 0;
  std::map<NoticeKey, StoredNotice> notices_;
  // (received_at_ms, insertion number) → the notice: Notices()'s order, as SQLite's
  // "ORDER BY received_at_ms, rowid".
  std::map<std::pair<int64_t, int64_t>, const StoredNotice*> notices_by_time_;
  int64_t notices_inserted_ = 0;
  uint64_t stored_all_ = 0;
  uint64_t stored_own_ = 0;
  std::map<int64_t, OutboxRow> outbox_;                                 // by seq, settled items included
  std::map<std::pair<std::string, std::string>, int64_t> outbox_keys_;  // (peer, key) → seq
  std::map<std::string, std::set<int64_t>, std::less<>> pending_by_peer_;
  std::set<int64_t> pending_;
  int64_t last_seq_ = 0;
  std::map<std::string, Settled> settled_;  // per peer, as the SQLite store's settled_totals_
  std::map<ReceiptKey, ReceiptRow> receipts_;
  std::vector<AuditRow> audit_;
};

void MemoryStore::Impl::WriterLoop() {
  for (;;) {
    std::vector<Request> batch;
    std::vector<absl::Status> statuses;
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return (!queue_.empty() && !paused_) || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything accepted has been answered
      while (!queue_.empty()) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
        // Decided as each request is taken, so that the hooks act on requests in commit order.
        if (fail_next_ > 0) {
          --fail_next_;
          statuses.push_back(fail_next_error_);
        } else {
          statuses.push_back(fail_all_error_);
        }
      }
    }
    std::vector<std::vector<UnitResult>> results(batch.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++transactions_;
      const int64_t now_ms = NowMs();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (!statuses[i].ok()) continue;
        results[i].reserve(batch[i].units.size());
        for (const Unit& unit : batch[i].units) Apply(unit, now_ms, &results[i].emplace_back());
      }
    }
    // Outside every lock: callbacks may Commit() again, read, or call the hooks.
    for (size_t i = 0; i < batch.size(); ++i) {
      if (statuses[i].ok()) {
        batch[i].done(absl::OkStatus(), std::move(results[i]));
      } else {
        batch[i].done(statuses[i], {});
      }
    }
  }
}

void MemoryStore::Impl::InsertAudit(const AuditRow& row, int64_t now_ms) {
  AuditRow& stored = audit_.emplace_back(row);
  if (stored.time_ms == 0) stored.time_ms = now_ms;
}

void MemoryStore::Impl::Apply(const Unit& unit, int64_t now_ms, UnitResult* result) {
  bool duplicate = false;
  if (unit.insert.has_value()) {
    const StoredNotice& n = *unit.insert;
    auto [it, inserted] = notices_.try_emplace(NoticeKey(n.origin, n.notice_id, n.revision), n);
    duplicate = !inserted;
    if (inserted) {
      notices_by_time_.emplace(std::make_pair(n.received_at_ms, ++notices_inserted_), &it->second);
      ++stored_all_;
      if (n.own) ++stored_own_;
    }
    AuditRow row;
    row.event = duplicate ? "duplicate" : (n.own ? "submitted" : "stored");
    row.origin = n.origin;
    row.notice_id = n.notice_id;
    row.revision = n.revision;
    row.peer = n.received_from;
    InsertAudit(row, now_ms);
  }
  result->kind = duplicate ? UnitResult::kDuplicate : UnitResult::kApplied;
  result->queued.assign(unit.enqueue.size(), 0);

  if (!duplicate) {
    for (size_t i = 0; i < unit.enqueue.size(); ++i) {
      const OutboxItem& item = unit.enqueue[i];
      auto [key, inserted] = outbox_keys_.try_emplace(std::make_pair(item.peer, item.key), last_seq_ + 1);
      if (!inserted) continue;  // (peer, key) already queued, pending or settled: left as it was
      const int64_t seq = ++last_seq_;
      OutboxRow& row = outbox_[seq];
      row.item = item;
      row.item.seq = seq;
      row.item.envelope.clear();
      pending_.insert(seq);
      pending_by_peer_[item.peer].insert(seq);
      result->queued[i] = seq;
    }
  }
  for (const Settle& settle : unit.settle) {
    auto key = outbox_keys_.find(std::make_pair(settle.peer, settle.key));
    if (key == outbox_keys_.end()) continue;
    OutboxRow& row = outbox_[key->second];
    if (row.state != kPending) continue;  // a second settlement changes nothing
    row.state = settle.delivered ? kDelivered : kRefused;
    row.reason = settle.reason;
    row.settled_at_ms = now_ms;
    pending_.erase(key->second);
    auto peer = pending_by_peer_.find(settle.peer);
    peer->second.erase(key->second);
    if (peer->second.empty()) pending_by_peer_.erase(peer);
    Settled& t = settled_[settle.peer];
    ++(settle.delivered ? t.delivered : t.refused);
  }
  if (!duplicate) {
    for (const ReceiptRow& receipt : unit.receipts) {
      ReceiptKey key(receipt.origin, receipt.notice_id, receipt.revision, receipt.recipient);
      auto [it, inserted] = receipts_.try_emplace(std::move(key), receipt);
      if (inserted) continue;
      // As the SQLite upsert's "WHERE receipts.status NOT IN (2, 3)": a final outcome never
      // changes; a PENDING row is replaced whole by any report.
      const bool final_outcome =
          it->second.status == kReceiptDelivered || it->second.status == kReceiptRefused;
      if (final_outcome) continue;
      it->second = receipt;
    }
  }
  for (const AuditRow& row : unit.audit) InsertAudit(row, now_ms);
}

OutboxItem MemoryStore::Impl::ReadItem(const OutboxRow& row) const {
  OutboxItem item = row.item;
  if (item.kind == ItemKind::kNotice) {
    auto n = notices_.find(NoticeKey(item.origin, item.notice_id, item.revision));
    if (n != notices_.end()) item.envelope = n->second.envelope;
  }
  return item;
}

absl::StatusOr<std::vector<OutboxItem>> MemoryStore::Impl::PendingOutbox() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  std::vector<OutboxItem> items;
  items.reserve(pending_.size());
  for (int64_t seq : pending_) items.push_back(ReadItem(outbox_.at(seq)));
  return items;
}

absl::StatusOr<std::vector<OutboxItem>> MemoryStore::Impl::PendingPage(absl::string_view peer,
                                                                       int64_t after_seq, uint32_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  std::vector<OutboxItem> items;
  auto queue = pending_by_peer_.find(peer);
  if (queue == pending_by_peer_.end()) return items;
  const size_t max = std::max<uint32_t>(limit, 1);
  for (auto it = queue->second.upper_bound(after_seq); it != queue->second.end() && items.size() < max;
       ++it) {
    items.push_back(ReadItem(outbox_.at(*it)));
  }
  return items;
}

absl::StatusOr<PendingTail> MemoryStore::Impl::PendingAfter(absl::string_view peer, int64_t after_seq) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  PendingTail tail;
  auto queue = pending_by_peer_.find(peer);
  if (queue == pending_by_peer_.end()) return tail;
  auto first = queue->second.upper_bound(after_seq);
  if (first == queue->second.end()) return tail;
  tail.count = static_cast<uint64_t>(std::distance(first, queue->second.end()));
  tail.first_queued_ms = outbox_.at(*first).item.queued_at_ms;
  return tail;
}

absl::StatusOr<std::vector<std::string>> MemoryStore::Impl::PeersHolding(absl::string_view origin,
                                                                         absl::string_view notice_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  std::set<std::string> peers;
  for (const auto& [seq, row] : outbox_) {
    if (row.item.kind == ItemKind::kNotice && row.state != kRefused && row.item.origin == origin &&
        row.item.notice_id == notice_id) {
      peers.insert(row.item.peer);
    }
  }
  return std::vector<std::string>(peers.begin(), peers.end());
}

absl::StatusOr<std::optional<StoredNotice>> MemoryStore::Impl::Latest(absl::string_view origin,
                                                                      absl::string_view notice_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  // The entry after the highest revision possible, then one back.
  auto it = notices_.upper_bound(NoticeKey(std::string(origin), std::string(notice_id), UINT32_MAX));
  if (it == notices_.begin()) return std::optional<StoredNotice>();
  --it;
  const auto& [o, id, revision] = it->first;
  if (o != origin || id != notice_id) return std::optional<StoredNotice>();
  return std::optional<StoredNotice>(it->second);
}

absl::StatusOr<std::optional<StoredNotice>> MemoryStore::Impl::Get(absl::string_view origin,
                                                                   absl::string_view notice_id,
                                                                   uint32_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  auto it = notices_.find(NoticeKey(std::string(origin), std::string(notice_id), revision));
  if (it == notices_.end()) return std::optional<StoredNotice>();
  return std::optional<StoredNotice>(it->second);
}

absl::StatusOr<std::vector<StoredNotice>> MemoryStore::Impl::Notices(int64_t since_ms, uint32_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  std::vector<StoredNotice> notices;
  for (auto it = notices_by_time_.lower_bound(std::make_pair(since_ms, int64_t{0}));
       it != notices_by_time_.end() && (limit == 0 || notices.size() < limit); ++it) {
    notices.push_back(*it->second);
  }
  return notices;
}

absl::StatusOr<std::vector<ReceiptRow>> MemoryStore::Impl::Receipts(absl::string_view origin,
                                                                    absl::string_view notice_id,
                                                                    uint32_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  std::vector<ReceiptRow> rows;
  for (auto it = receipts_.lower_bound(ReceiptKey(std::string(origin), std::string(notice_id), revision, ""));
       it != receipts_.end(); ++it) {
    const auto& [o, id, r, recipient] = it->first;
    if (o != origin || id != notice_id || r != revision) break;
    rows.push_back(it->second);
  }
  return rows;
}

absl::StatusOr<std::vector<PeerCounts>> MemoryStore::Impl::OutboxCounts() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  std::map<std::string, PeerCounts> by_peer;
  for (const auto& [peer, seqs] : pending_by_peer_) {
    PeerCounts& c = by_peer[peer];
    c.pending = seqs.size();
    int64_t oldest = INT64_MAX;
    for (int64_t seq : seqs) oldest = std::min(oldest, outbox_.at(seq).item.queued_at_ms);
    c.oldest_pending_ms = oldest;  // MIN(queued_at_ms): not necessarily the first queued
  }
  for (const auto& [peer, t] : settled_) {
    PeerCounts& c = by_peer[peer];
    c.delivered = t.delivered;
    c.refused = t.refused;
  }
  std::vector<PeerCounts> counts;
  counts.reserve(by_peer.size());
  for (auto& [peer, c] : by_peer) {
    c.peer = peer;
    counts.push_back(std::move(c));
  }
  return counts;
}

absl::StatusOr<uint64_t> MemoryStore::Impl::NoticeCount(bool own_only) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  return own_only ? stored_own_ : stored_all_;
}

absl::StatusOr<std::vector<AuditRow>> MemoryStore::Impl::Audit(int64_t since_ms, uint32_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = ReadCheck(); !s.ok()) return s;
  std::vector<AuditRow> rows;
  for (const AuditRow& row : audit_) {
    if (limit != 0 && rows.size() >= limit) break;
    if (row.time_ms >= since_ms) rows.push_back(row);
  }
  return rows;
}

MemoryStore::MemoryStore(MemoryStoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
MemoryStore::~MemoryStore() = default;

void MemoryStore::Commit(std::vector<Unit> units, CommitCallback done) {
  impl_->Commit(std::move(units), std::move(done));
}
void MemoryStore::Close() { impl_->Close(); }

absl::StatusOr<std::vector<OutboxItem>> MemoryStore::PendingOutbox() { return impl_->PendingOutbox(); }
absl::StatusOr<std::vector<OutboxItem>> MemoryStore::PendingPage(absl::string_view peer, int64_t after_seq,
                                                                 uint32_t limit) {
  return impl_->PendingPage(peer, after_seq, limit);
}
absl::StatusOr<PendingTail> MemoryStore::PendingAfter(absl::string_view peer, int64_t after_seq) {
  return impl_->PendingAfter(peer, after_seq);
}
absl::StatusOr<std::vector<std::string>> MemoryStore::PeersHolding(absl::string_view origin,
                                                                   absl::string_view notice_id) {
  return impl_->PeersHolding(origin, notice_id);
}
absl::StatusOr<std::optional<StoredNotice>> MemoryStore::Latest(absl::string_view origin,
                                                                absl::string_view notice_id) {
  return impl_->Latest(origin, notice_id);
}
absl::StatusOr<std::optional<StoredNotice>> MemoryStore::Get(absl::string_view origin,
                                                             absl::string_view notice_id, uint32_t revision) {
  return impl_->Get(origin, notice_id, revision);
}
absl::StatusOr<std::vector<StoredNotice>> MemoryStore::Notices(int64_t since_ms, uint32_t limit) {
  return impl_->Notices(since_ms, limit);
}
absl::StatusOr<std::vector<ReceiptRow>> MemoryStore::Receipts(absl::string_view origin,
                                                              absl::string_view notice_id,
                                                              uint32_t revision) {
  return impl_->Receipts(origin, notice_id, revision);
}
absl::StatusOr<std::vector<PeerCounts>> MemoryStore::OutboxCounts() { return impl_->OutboxCounts(); }
absl::StatusOr<uint64_t> MemoryStore::NoticeCount(bool own_only) { return impl_->NoticeCount(own_only); }
absl::StatusOr<std::vector<AuditRow>> MemoryStore::Audit(int64_t since_ms, uint32_t limit) {
  return impl_->Audit(since_ms, limit);
}

void MemoryStore::FailNextCommits(int n, absl::Status error) { impl_->FailNextCommits(n, std::move(error)); }
void MemoryStore::SetCommitFailure(absl::Status error) { impl_->SetCommitFailure(std::move(error)); }
void MemoryStore::SetReadFailure(absl::Status error) { impl_->SetReadFailure(std::move(error)); }
void MemoryStore::PauseWriter() { impl_->PauseWriter(); }
void MemoryStore::ResumeWriter() { impl_->ResumeWriter(); }
uint64_t MemoryStore::TransactionCount() { return impl_->TransactionCount(); }

std::unique_ptr<MemoryStore> OpenMemoryStore(MemoryStoreOptions options) {
  return std::make_unique<MemoryStore>(std::move(options));
}

}  // namespace sevex::store
