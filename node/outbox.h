// outbox.h — per-peer delivery: which items wait for each peer, which are on their way, and what
// becomes of them when the peer answers (DESIGN.md §4: at-least-once on the wire, a bounded
// window, a slow peer never stalls the others).
//
// It owns, alone: each peer's in-memory queue (the head of its queue in the store), the items in
// flight per session, the open sessions per peer, the last error per peer, parked items (whose
// outcome could not be stored) and the refill of a queue longer than memory holds.
//
//   Outbox outbox(io, store, clock, metrics, submitter, {.node_id = "cl.csirt"}, {"uk.ncsc"});
//   ASSIGN_OR_RETURN(uint64_t pending, outbox.Load());   // before io runs
//   outbox.Opened(session, /*outbound=*/true);           // from the session handler
//   outbox.Enqueue(committed_items);                     // from a store callback
//
// Threading: every public method may be called from any thread and returns at once; the state
// lives on one strand of `io`. The store's reads (a page of a long queue, the counts behind
// `Queues`, the tail behind `Gauges`) run on `io`'s other threads, never on that strand, so a
// slow read never holds up the acks of every peer. Load() alone is synchronous, before `io` runs.
//
// Promises: an item enters memory once (from its commit, or from a page read of the store) and
// leaves when its outcome is stored; at most `memory_limit` items per peer are pending or in
// flight in memory, the rest wait in the store and are read in queue order as memory drains; an
// item whose session ends goes back to the front of its queue; an item whose outcome could not
// be stored is parked and sent again after `park_delay` (the peer answers DUPLICATE). An ack of
// an own notice stores its receipts and tells the `ReceiptListener`; an ack of a relayed notice
// queues the receipt back towards the origin.
#ifndef SEVEX_NODE_OUTBOX_H_
#define SEVEX_NODE_OUTBOX_H_

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/clock.h"
#include "node/config.h"
#include "node/delivery.h"
#include "node/metrics.h"
#include "sevex/v1/node.pb.h"
#include "store/store.h"
#include "transport/channel.h"

namespace sevex::node {

struct OutboxOptions {
  std::string node_id;                                 // this node: whose receipts are its own
  size_t memory_limit = kDefaultMaxPeerItemsInMemory;  // per peer, pending and in flight
  std::chrono::milliseconds park_delay{1000};          // before a parked item is sent again
  std::chrono::milliseconds refill_retry{1000};        // after a page of a queue could not be read
};

class Outbox final : public ItemSink {
 public:
  Outbox(boost::asio::io_context& io, store::Store& store, const Clock& clock, Metrics& metrics,
         ReceiptListener& receipts, OutboxOptions options, const std::vector<std::string>& peers);
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Reads the head of each peer's queue (at most memory_limit items). Call once, before `io`
  // runs. Returns the number of items pending for the peers, in memory and in the store.
  absl::StatusOr<uint64_t> Load();

  // Session events. `outbound`: this node dialled it (it is preferred for sending).
  void Opened(std::shared_ptr<transport::Channel> channel, bool outbound);
  void Closed(std::shared_ptr<transport::Channel> channel, absl::Status reason);
  void Acked(std::shared_ptr<transport::Channel> channel, v1::Ack ack);

  // ItemSink: committed items for the peers.
  void Enqueue(std::vector<store::OutboxItem> items) override;

  // Per configured peer: the store's counts joined with what memory knows (connected, last
  // error). `done` runs on the outbox's strand.
  void Queues(std::function<void(std::vector<v1::PeerQueue>)> done);
  // The per-peer gauges of /metrics (depth, in memory, oldest age, session up). `done` runs on
  // one of `io`'s threads.
  void Gauges(std::function<void(std::vector<GaugeSample>)> done);

  // Stops sending and says Goodbye on every open session; `done` runs once that is asked.
  void CloseSessions(std::function<void()> done);
  // Whether any session is still open; `done` runs on the strand.
  void AnyOpen(std::function<void(bool)> done);

 private:
  struct InFlight {
    store::OutboxItem item;
    const transport::Channel* channel;
  };
  // A peer's queue in memory is the head of its queue in the store: `pending` and `in_flight`
  // together hold at most memory_limit items (besides them, only parked items and items whose
  // outcome is being stored). Every item in memory has a seq at most `loaded_seq`. When
  // `spilled`, the store holds further pending items after `loaded_seq`: Enqueue leaves them
  // there and a refill reads them, in queue order, as memory drains. While a refill's read is
  // under way, items committed meanwhile are noted in `arrived`: the read may have missed them,
  // and if it ends the spill they are taken from there.
  struct PeerState {
    std::deque<store::OutboxItem> pending;
    absl::flat_hash_map<std::string, InFlight> in_flight;
    int64_t loaded_seq = 0;  // highest seq ever held in memory
    bool spilled = false;
    bool refilling = false;
    std::vector<store::OutboxItem> arrived;
    std::vector<std::weak_ptr<transport::Channel>> sessions;  // open sessions, outbound first
    std::string last_error;
    int64_t last_error_ms = 0;
  };
  struct Snapshot {
    std::string peer;
    size_t in_memory = 0;
    int64_t oldest_ms = 0;
    bool spilled = false;
    int64_t loaded_seq = 0;
    bool up = false;
  };

  // On the strand.
  void Add(std::vector<store::OutboxItem> items);
  void Refill(const std::string& peer, PeerState& ps);
  void Refilled(const std::string& peer, size_t want, absl::StatusOr<std::vector<store::OutboxItem>> page);
  void Pump(const std::string& peer);
  void Settle(const std::string& peer, const v1::Ack& ack);
  // What an answer (or a refusal of this node's own, as `too_large`) does to an item no longer
  // in flight or pending: settle it, audit, count, receipts; does not pump.
  void Finish(const std::string& peer, PeerState& ps, store::OutboxItem item, const v1::Ack& ack);
  void Park(store::OutboxItem item);
  store::CommitCallback ParkOnFailure(store::OutboxItem item);
  std::shared_ptr<transport::Channel> SessionFor(PeerState& ps);
  std::vector<Snapshot> SnapshotPeers();

  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  store::Store& store_;
  const Clock& clock_;
  Metrics& metrics_;
  ReceiptListener& receipts_;
  const OutboxOptions options_;
  const std::vector<std::string> peer_ids_;  // configured, in configuration order

  // Strand state.
  absl::flat_hash_map<std::string, PeerState> peers_;
  std::vector<store::OutboxItem> parked_;
  boost::asio::steady_timer park_timer_;
  boost::asio::steady_timer refill_retry_;
  bool refill_failed_ = false;  // logged once until a read succeeds again
  std::atomic<bool> stopping_{false};
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_OUTBOX_H_
