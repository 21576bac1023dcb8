// inbound.h — what a peer sends this node, from the frame to the ack (DESIGN.md §1, §4):
//
//   notice:  parse → header and route match → sender may relay → origin's signature verifies →
//            marking lets it reach this node → translate into this node's scheme → (a hub) plan
//            the next hops and PENDING/REFUSED receipts back → commit → ack → outbox, received file
//   receipt: parse → reporter is the sender → own notice: the recipient is one it was sent
//            to, the sender itself or reached through it, and still PENDING (the same final
//            state again, or a late PENDING, is acked, not stored) → store, tell the
//            ReceiptListener; another's: this node passed the notice to the sender → pass back
//            the way the notice came → commit → ack
//
// A notice or receipt is acknowledged only once it is durable; one that fails a check is refused
// (Ack REJECTED with a code and reason, audited, logged) and nothing of it is stored. A store
// that cannot commit closes the session unacknowledged, so the sender keeps the notice.
//
//   Inbound inbound(io, deps);
//   inbound.OnNotice(session, std::move(frame));   // from the session handler
//
// It owns no state between frames beyond the signature cache (RootCache, thread-safe).
// Threading: OnNotice may be called from any thread; the work runs on one of `io`'s threads
// (verification and translation are CPU work: the session's strand stays free). Receive and
// ReceiveReceipt do the same work on the calling thread, for tests.
#ifndef SEVEX_NODE_INBOUND_H_
#define SEVEX_NODE_INBOUND_H_

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "engine/catalog.h"
#include "engine/translate.h"
#include "node/clock.h"
#include "node/delivery.h"
#include "node/metrics.h"
#include "node/signing.h"
#include "sevex/v1/node.pb.h"
#include "store/store.h"
#include "transport/channel.h"

namespace sevex::node {

class Inbound {
 public:
  struct Deps {
    const v1::NodeConfig& config;  // node_id, scheme, peers (who may relay), relay (a hub)
    const engine::Catalog& catalog;
    const engine::Translator& translator;
    const absl::flat_hash_map<std::string, VerifyKey>& verify_keys;  // by origin node id
    store::Store& store;
    ItemSink& outbox;
    ReceiptListener& receipts;
    Metrics& metrics;
    const Clock& clock;
    // Called, on one of `io`'s threads, with each newly stored notice this node may read (not
    // duplicates, not notices it only passes on). May be empty.
    std::function<void(const v1::InboxEntry&)> on_received;
    // Test seam (NodeOptions::tamper_relayed): a hub that breaks the origin's signature on what
    // it forwards, so that its peers' refusal can be tested. Never set in production.
    bool tamper_relayed = false;
  };
  Inbound(boost::asio::io_context& io, Deps deps);

  // A frame from the peer of `channel`: a notice or a receipt.
  void OnNotice(std::shared_ptr<transport::Channel> channel, v1::NoticeFrame frame);

  void Receive(std::shared_ptr<transport::Channel> channel, v1::NoticeFrame frame);
  void ReceiveReceipt(std::shared_ptr<transport::Channel> channel, v1::NoticeFrame frame);

 private:
  enum class ReceiptCheck { kNew, kAlreadyKnown };
  absl::StatusOr<ReceiptCheck> CheckOwnReceipt(const std::string& peer, const v1::Receipt& receipt);
  void Reject(const std::shared_ptr<transport::Channel>& channel, const v1::NoticeFrame& frame,
              std::string code, std::string reason);
  // `after` runs once the unit is durable and acked, with whether it was a duplicate.
  void CommitThenAck(std::shared_ptr<transport::Channel> channel, v1::NoticeFrame frame, store::Unit unit,
                     std::function<void(bool duplicate)> after = nullptr);

  boost::asio::io_context& io_;
  Deps deps_;
  RootCache root_cache_;
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_INBOUND_H_
