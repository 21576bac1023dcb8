#include "node/outbox.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "node/items.h"
#include "transport/event_log.h"

namespace sevex::node {

namespace asio = boost::asio;
using transport::Channel;
using transport::LogEvent;
using transport::LogLevel;

namespace {

std::string CodeName(const absl::Status& s) {
  return absl::AsciiStrToLower(absl::StatusCodeToString(s.code()));
}

}  // namespace

Outbox::Outbox(asio::io_context& io, store::Store& store, const Clock& clock, Metrics& metrics,
               ReceiptListener& receipts, OutboxOptions options, const std::vector<std::string>& peers)
    : io_(io),
      strand_(asio::make_strand(io)),
      store_(store),
      clock_(clock),
      metrics_(metrics),
      receipts_(receipts),
      options_(std::move(options)),
      peer_ids_(peers),
      park_timer_(strand_),
      refill_retry_(strand_) {
  for (const auto& p : peer_ids_) peers_[p];
}

absl::StatusOr<uint64_t> Outbox::Load() {
  // Items of a peer removed from the configuration wait in the store.
  uint64_t pending = 0;
  const size_t limit = options_.memory_limit;
  for (auto& [peer, ps] : peers_) {
    auto page = store_.PendingPage(peer, 0, static_cast<uint32_t>(limit));
    if (!page.ok()) return page.status();
    for (auto& item : *page) {
      ps.loaded_seq = item.seq;
      ps.pending.push_back(std::move(item));
    }
    ps.spilled = ps.pending.size() == limit;
    pending += ps.pending.size();
    if (ps.spilled) {
      auto tail = store_.PendingAfter(peer, ps.loaded_seq);
      if (!tail.ok()) return tail.status();
      pending += tail->count;
      LogEvent(LogLevel::kInfo, "queue_beyond_memory",
               {{"peer", peer},
                {"in_memory", std::to_string(ps.pending.size())},
                {"in_store_only", std::to_string(tail->count)}});
    }
  }
  return pending;
}

void Outbox::Opened(std::shared_ptr<Channel> channel, bool outbound) {
  asio::post(strand_, [this, channel = std::move(channel), outbound] {
    auto it = peers_.find(channel->peer_id());
    if (it == peers_.end()) return;
    auto& sessions = it->second.sessions;
    std::erase_if(sessions, [](const std::weak_ptr<Channel>& w) { return w.expired(); });
    if (outbound) {
      sessions.insert(sessions.begin(), channel);
    } else {
      sessions.push_back(channel);
    }
    metrics_.Count(Counter::kSessionsOpened, {channel->peer_id()});
    Pump(channel->peer_id());
  });
}

void Outbox::Closed(std::shared_ptr<Channel> channel, absl::Status reason) {
  asio::post(strand_, [this, channel = std::move(channel), reason = std::move(reason)] {
    auto it = peers_.find(channel->peer_id());
    // Opened (earlier on this strand) listed every session that got as far as Hello.
    const bool was_open =
        it != peers_.end() && std::any_of(it->second.sessions.begin(), it->second.sessions.end(),
                                          [&](const auto& w) { return w.lock() == channel; });
    if (!was_open && !reason.ok()) metrics_.Count(Counter::kHandshakeFailures, {CodeName(reason)});
    if (it == peers_.end()) return;
    PeerState& ps = it->second;
    std::erase_if(ps.sessions, [&](const std::weak_ptr<Channel>& w) {
      auto s = w.lock();
      return s == nullptr || s == channel;
    });
    if (!reason.ok()) {
      ps.last_error = std::string(reason.message());
      ps.last_error_ms = clock_.NowMs();
    }
    // What the session had in flight goes back to the front of the queue, to be sent again.
    std::vector<store::OutboxItem> back;
    for (auto i = ps.in_flight.begin(); i != ps.in_flight.end();) {
      if (i->second.channel == channel.get()) {
        back.push_back(std::move(i->second.item));
        ps.in_flight.erase(i++);
      } else {
        ++i;
      }
    }
    std::sort(back.begin(), back.end(), [](const auto& a, const auto& b) { return a.seq > b.seq; });
    for (auto& item : back) ps.pending.push_front(std::move(item));
    Pump(channel->peer_id());
  });
}

std::shared_ptr<Channel> Outbox::SessionFor(PeerState& ps) {
  for (auto& w : ps.sessions) {
    if (auto s = w.lock(); s && s->open()) return s;
  }
  return nullptr;
}

// Commits call back in the order they committed, and each posts its Enqueue from there, so the
// strand sees every peer's items in seq order.
void Outbox::Enqueue(std::vector<store::OutboxItem> items) {
  asio::post(strand_, [this, items = std::move(items)]() mutable { Add(std::move(items)); });
}

void Outbox::Add(std::vector<store::OutboxItem> items) {
  std::vector<std::string> touched;
  for (auto& item : items) {
    auto it = peers_.find(item.peer);
    if (it == peers_.end()) continue;
    PeerState& ps = it->second;
    // Not queued (the peer already had an item with this key), or taken already by a page read
    // made after this item's commit.
    if (item.seq == 0 || item.seq <= ps.loaded_seq) continue;
    if (ps.spilled || ps.pending.size() + ps.in_flight.size() >= options_.memory_limit) {
      if (!ps.spilled) {
        LogEvent(
            LogLevel::kInfo, "queue_beyond_memory",
            {{"peer", item.peer}, {"in_memory", std::to_string(ps.pending.size() + ps.in_flight.size())}});
      }
      ps.spilled = true;  // it stays in the store; a refill reads it after loaded_seq, in order
      if (ps.refilling) ps.arrived.push_back(std::move(item));
      continue;
    }
    ps.loaded_seq = item.seq;
    if (std::find(touched.begin(), touched.end(), item.peer) == touched.end()) touched.push_back(item.peer);
    ps.pending.push_back(std::move(item));
  }
  for (const auto& p : touched) Pump(p);
}

// Once a spilled queue has drained to half the limit, the next items from the store, enough to
// fill it again, read off the strand. Reading at half rather than at each ack makes each read a
// page of many items.
void Outbox::Refill(const std::string& peer, PeerState& ps) {
  const size_t held = ps.pending.size() + ps.in_flight.size();
  if (!ps.spilled || ps.refilling || held > options_.memory_limit / 2) return;
  const size_t want = options_.memory_limit - held;
  ps.refilling = true;
  asio::post(io_, [this, peer, after = ps.loaded_seq, want] {
    auto page = store_.PendingPage(peer, after, static_cast<uint32_t>(want));
    asio::post(strand_, [this, peer, want, page = std::move(page)]() mutable {
      Refilled(peer, want, std::move(page));
    });
  });
}

void Outbox::Refilled(const std::string& peer, size_t want,
                      absl::StatusOr<std::vector<store::OutboxItem>> page) {
  PeerState& ps = peers_[peer];
  ps.refilling = false;
  std::vector<store::OutboxItem> arrived = std::move(ps.arrived);
  ps.arrived.clear();
  if (!page.ok()) {
    // Nothing is lost: the items stay in the store (those that arrived meanwhile too, after
    // loaded_seq); try again later.
    if (!refill_failed_) {
      refill_failed_ = true;
      LogEvent(LogLevel::kError, "outbox_read_failed",
               {{"peer", peer}, {"reason", std::string(page.status().message())}});
    }
    refill_retry_.expires_after(options_.refill_retry);
    refill_retry_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      for (auto& [id, state] : peers_) {
        if (state.spilled) Pump(id);
      }
    });
    return;
  }
  refill_failed_ = false;
  for (auto& item : *page) {
    if (item.seq <= ps.loaded_seq) continue;
    ps.loaded_seq = item.seq;
    ps.pending.push_back(std::move(item));
  }
  // A short page reached the end of the queue as committed when it was read; what committed
  // since was noted in `arrived` (or comes to Add later, with the spill over).
  if (page->size() < want) {
    ps.spilled = false;
    for (auto& item : arrived) {
      if (item.seq <= ps.loaded_seq) continue;
      if (ps.pending.size() + ps.in_flight.size() >= options_.memory_limit) {
        ps.spilled = true;  // this one and those after it wait in the store, after loaded_seq
        break;
      }
      ps.loaded_seq = item.seq;
      ps.pending.push_back(std::move(item));
    }
    if (!ps.spilled) {
      LogEvent(LogLevel::kInfo, "queue_in_memory",
               {{"peer", peer}, {"in_memory", std::to_string(ps.pending.size() + ps.in_flight.size())}});
    }
  }
  Pump(peer);
}

void Outbox::Pump(const std::string& peer) {
  if (stopping_) return;
  auto found = peers_.find(peer);
  if (found == peers_.end()) return;
  PeerState& ps = found->second;
  auto session = SessionFor(ps);
  if (!session) return;
  Refill(peer, ps);
  while (!ps.pending.empty()) {
    store::OutboxItem& item = ps.pending.front();
    if (ps.in_flight.contains(item.key)) {  // already on its way (re-queued twice): drop the copy
      ps.pending.pop_front();
      continue;
    }
    v1::NoticeFrame frame;
    const bool notice = item.kind == store::ItemKind::kNotice;
    if (!frame.ParseFromString(item.frame) || (notice && item.envelope.empty())) {
      LogEvent(LogLevel::kError, "outbox_corrupt",
               {{"peer", peer},
                {"key", item.key},
                {"reason", notice && item.envelope.empty() ? "no stored notice" : "bad frame"}});
      ps.pending.pop_front();
      continue;
    }
    if (notice) frame.set_signed_notice(item.envelope);
    absl::Status s = session->Send(std::move(frame));
    if (s.ok()) {
      std::string key = item.key;
      ps.in_flight.emplace(std::move(key), InFlight{std::move(item), session.get()});
      ps.pending.pop_front();
      continue;
    }
    if (absl::IsInvalidArgument(s)) {
      // Larger than the peer accepts (its Hello said so): it can never go. Refused as if the
      // peer had refused it, so that it shows everywhere a refusal does: LAST ERROR in `sevex
      // outbox`, REFUSED receipts at the origin, the audit, the refused counter and the log.
      LogEvent(LogLevel::kWarning, "notice_too_large",
               {{"peer", peer},
                {"origin", item.origin},
                {"notice_id", item.notice_id},
                {"revision", std::to_string(item.revision)},
                {"reason", std::string(s.message())}});
      v1::Ack too_large;
      too_large.set_status(v1::Ack::REJECTED);
      too_large.set_reason_code("too_large");
      too_large.set_reason(std::string(s.message()));
      store::OutboxItem refused = std::move(item);
      ps.pending.pop_front();
      Finish(peer, ps, std::move(refused), too_large);
      continue;
    }
    break;  // window full or session closing: an ack or the next session resumes
  }
}

// The outcome of a sent item could not be stored (the disk is full, say): the item goes back to
// its queue after a pause and is sent again; the peer answers DUPLICATE and the outcome is
// stored then. Without this the item would stay pending in the store, and its receipts at the
// origin, until the next restart.
void Outbox::Park(store::OutboxItem item) {
  parked_.push_back(std::move(item));
  if (parked_.size() > 1) return;  // the timer is already armed
  park_timer_.expires_after(options_.park_delay);
  park_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    std::vector<store::OutboxItem> items = std::move(parked_);
    parked_.clear();
    std::vector<std::string> touched;
    for (auto it = items.rbegin(); it != items.rend(); ++it) {  // keep their order at the front
      auto peer = peers_.find(it->peer);
      if (peer == peers_.end()) continue;
      if (std::find(touched.begin(), touched.end(), it->peer) == touched.end()) touched.push_back(it->peer);
      peer->second.pending.push_front(std::move(*it));
    }
    for (const auto& p : touched) Pump(p);
  });
}

store::CommitCallback Outbox::ParkOnFailure(store::OutboxItem item) {
  return [this, item = std::move(item)](absl::Status s, std::vector<store::UnitResult>) mutable {
    if (!s.ok()) asio::post(strand_, [this, item = std::move(item)]() mutable { Park(std::move(item)); });
  };
}

void Outbox::Acked(std::shared_ptr<Channel> channel, v1::Ack ack) {
  asio::post(strand_,
             [this, channel = std::move(channel), ack = std::move(ack)] { Settle(channel->peer_id(), ack); });
}

void Outbox::Settle(const std::string& peer, const v1::Ack& ack) {
  auto found = peers_.find(peer);
  if (found == peers_.end()) return;
  PeerState& ps = found->second;
  auto it = ps.in_flight.find(ack.tag());
  if (it == ps.in_flight.end()) return;
  store::OutboxItem item = std::move(it->second.item);
  ps.in_flight.erase(it);
  Finish(peer, ps, std::move(item), ack);
  Pump(peer);
}

void Outbox::Finish(const std::string& peer, PeerState& ps, store::OutboxItem item, const v1::Ack& ack) {
  const int64_t now = clock_.NowMs();
  const bool delivered = ack.status() != v1::Ack::REJECTED;
  std::string reason;
  if (!delivered) {
    reason = absl::StrCat(ack.reason_code(), ": ", ack.reason());
    ps.last_error = reason;
    ps.last_error_ms = now;
  }
  store::Unit unit;
  unit.settle.push_back({peer, item.key, delivered, reason});
  if (item.kind != store::ItemKind::kNotice) {
    store_.Commit({std::move(unit)}, ParkOnFailure(std::move(item)));
    return;
  }
  if (delivered) {
    metrics_.Count(Counter::kDelivered, {peer});
  } else {
    metrics_.Count(Counter::kRefusedByPeer, {peer, ack.reason_code()});
  }
  unit.audit.push_back(AuditOf(now, delivered ? "delivered" : "refused", item.origin, item.notice_id,
                               item.revision, peer,
                               delivered ? (ack.status() == v1::Ack::DUPLICATE ? "duplicate" : "") : reason));
  // The frame as sent says which final recipients this hop serves (NoticeFrame.recipients)
  // and, for a relayed notice, the route back.
  v1::NoticeFrame sent;
  if (!sent.ParseFromString(item.frame)) {
    LogEvent(LogLevel::kError, "outbox_corrupt", {{"peer", peer}, {"key", item.key}});
  }
  v1::Receipt r;
  r.set_origin(item.origin);
  r.set_notice_id(item.notice_id);
  r.set_revision(item.revision);
  r.set_reporter(options_.node_id);
  r.set_time_ms(now);
  if (item.origin == options_.node_id) {
    // Own notice: the peer is a final recipient, or the hub that reaches some; when the hub
    // refuses, so are the recipients behind it (they will never hear of the notice).
    for (const std::string& recipient : sent.recipients()) {
      if (delivered && recipient != peer) continue;
      r.set_recipient(recipient);
      r.set_status(delivered ? v1::Receipt::DELIVERED : v1::Receipt::REFUSED);
      r.set_reason_code(delivered ? "" : ack.reason_code());
      r.set_reason(delivered           ? ""
                   : recipient == peer ? ack.reason()
                                       : absl::StrCat("the hub ", peer, " refused it: ", ack.reason()));
      unit.receipts.push_back(RowOf(r));
    }
    std::vector<v1::Receipt> changed;
    for (const auto& row : unit.receipts) changed.push_back(ReceiptOf(row));
    store_.Commit({std::move(unit)}, [this, item = std::move(item), changed = std::move(changed)](
                                         absl::Status s, std::vector<store::UnitResult>) mutable {
      if (!s.ok())
        return asio::post(strand_, [this, item = std::move(item)]() mutable { Park(std::move(item)); });
      if (!changed.empty()) receipts_.ReceiptsChanged(item.key, std::move(changed));
    });
    return;
  }
  // Relayed: the receipt goes back one hop, to the node this one had it from.
  r.set_recipient(peer);
  r.set_status(delivered ? v1::Receipt::DELIVERED : v1::Receipt::REFUSED);
  r.set_reason_code(delivered ? "" : ack.reason_code());
  r.set_reason(delivered ? "" : ack.reason());
  if (sent.route_size() >= 2) {
    store::OutboxItem back = ReceiptItem(sent.route(sent.route_size() - 2), r, now);
    unit.enqueue.push_back(back);
    store_.Commit({std::move(unit)}, [this, back, item = std::move(item)](
                                         absl::Status s, std::vector<store::UnitResult> results) mutable {
      if (!s.ok())
        return asio::post(strand_, [this, item = std::move(item)]() mutable { Park(std::move(item)); });
      std::vector<store::OutboxItem> queued = {std::move(back)};
      SetQueued(queued, results);
      Enqueue(std::move(queued));
    });
  } else {
    store_.Commit({std::move(unit)}, ParkOnFailure(std::move(item)));
  }
}

void Outbox::Queues(std::function<void(std::vector<v1::PeerQueue>)> done) {
  asio::post(io_, [this, done = std::move(done)]() mutable {
    auto counts = store_.OutboxCounts();  // off the strand
    asio::post(strand_, [this, counts = std::move(counts), done = std::move(done)] {
      std::vector<v1::PeerQueue> out;
      for (const auto& peer : peer_ids_) {
        v1::PeerQueue q;
        q.set_peer(peer);
        if (counts.ok()) {
          for (const auto& c : *counts) {
            if (c.peer != peer) continue;
            q.set_pending(c.pending);
            q.set_oldest_pending_ms(c.oldest_pending_ms);
            q.set_delivered(c.delivered);
            q.set_refused(c.refused);
          }
        }
        PeerState& ps = peers_[peer];
        q.set_connected(SessionFor(ps) != nullptr);
        q.set_last_error(ps.last_error);
        out.push_back(std::move(q));
      }
      done(std::move(out));
    });
  });
}

std::vector<Outbox::Snapshot> Outbox::SnapshotPeers() {
  std::vector<Snapshot> out;
  for (const auto& peer : peer_ids_) {
    PeerState& ps = peers_[peer];
    Snapshot& snap = out.emplace_back();
    snap.peer = peer;
    snap.in_memory = ps.pending.size() + ps.in_flight.size();
    for (const auto& item : ps.pending) {
      if (snap.oldest_ms == 0 || item.queued_at_ms < snap.oldest_ms) snap.oldest_ms = item.queued_at_ms;
    }
    for (const auto& [key, f] : ps.in_flight) {
      if (snap.oldest_ms == 0 || f.item.queued_at_ms < snap.oldest_ms) snap.oldest_ms = f.item.queued_at_ms;
    }
    snap.spilled = ps.spilled;
    snap.loaded_seq = ps.loaded_seq;
    snap.up = SessionFor(ps) != nullptr;
  }
  return out;
}

// The count of a long queue's tail reads the store's index (tens of milliseconds per 100,000
// items), off the strand. An item read into memory after the snapshot is counted once, in the
// tail.
void Outbox::Gauges(std::function<void(std::vector<GaugeSample>)> done) {
  asio::post(strand_, [this, done = std::move(done)]() mutable {
    asio::post(io_, [this, peers = SnapshotPeers(), done = std::move(done)] {
      std::vector<GaugeSample> depth, memory, age, up;
      const int64_t now = clock_.NowMs();
      for (const Snapshot& snap : peers) {
        uint64_t count = snap.in_memory;
        int64_t oldest = snap.oldest_ms;
        if (snap.spilled) {
          if (auto tail = store_.PendingAfter(snap.peer, snap.loaded_seq); tail.ok()) {
            count += tail->count;
            if (oldest == 0 || (tail->first_queued_ms != 0 && tail->first_queued_ms < oldest)) {
              oldest = tail->first_queued_ms;
            }
          }
        }
        const std::vector<std::pair<std::string, std::string>> peer = {{"peer", snap.peer}};
        depth.push_back(
            {"sevex_peer_queue_depth",
             "Items queued for the peer and not yet acknowledged (pending and in flight), in memory "
             "or in the store.",
             peer, static_cast<double>(count)});
        memory.push_back(
            {"sevex_peer_queue_in_memory",
             "Of those, items held in memory (at most max_peer_items_in_memory); the rest wait in the store.",
             peer, static_cast<double>(snap.in_memory)});
        age.push_back({"sevex_peer_oldest_pending_seconds",
                       "Age of the oldest unacknowledged item for the peer; 0 when none.", peer,
                       oldest == 0 ? 0.0 : std::max<int64_t>(0, now - oldest) / 1000.0});
        up.push_back({"sevex_peer_session_up", "1 when an authenticated session with the peer is open.", peer,
                      snap.up ? 1.0 : 0.0});
      }
      std::vector<GaugeSample> all = std::move(depth);
      all.insert(all.end(), memory.begin(), memory.end());
      all.insert(all.end(), age.begin(), age.end());
      all.insert(all.end(), up.begin(), up.end());
      done(std::move(all));
    });
  });
}

void Outbox::CloseSessions(std::function<void()> done) {
  stopping_ = true;
  asio::post(strand_, [this, done = std::move(done)] {
    park_timer_.cancel();
    refill_retry_.cancel();
    for (auto& [id, ps] : peers_) {
      for (auto& w : ps.sessions) {
        if (auto s = w.lock()) s->Close("shutdown", "the node is stopping");
      }
    }
    done();
  });
}

void Outbox::AnyOpen(std::function<void(bool)> done) {
  asio::post(strand_, [this, done = std::move(done)] {
    bool open = false;
    for (auto& [id, ps] : peers_) {
      for (auto& w : ps.sessions) {
        if (auto s = w.lock(); s && s->open()) open = true;
      }
    }
    done(open);
  });
}

}  // namespace sevex::node
