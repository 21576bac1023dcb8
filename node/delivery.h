// delivery.h — the two interfaces through which the node's components hand work to each other,
// so that none calls into another's internals (node.cc wires them):
//
//   inbound ──ItemSink──▶ outbox ◀──ItemSink── submitter
//   inbound ──ReceiptListener──▶ submitter ◀──ReceiptListener── outbox
//
// `ItemSink` takes outbox items once their commit is durable (the outbox sends them);
// `ReceiptListener` hears of receipts of this node's own notices once they are durable (the
// submitter answers the submissions waiting for them). Both may be called from any thread and
// must not block: implementations post to their own executor.
#ifndef SEVEX_NODE_DELIVERY_H_
#define SEVEX_NODE_DELIVERY_H_

#include <string>
#include <vector>

#include "sevex/v1/frame.pb.h"
#include "sevex/v1/node.pb.h"
#include "store/store.h"

namespace sevex::node {

class ItemSink {
 public:
  virtual ~ItemSink() = default;
  // `items` are committed, each with the seq the store queued it under (0: not queued, which is
  // ignored). Calls from one thread arrive in commit order.
  virtual void Enqueue(std::vector<store::OutboxItem> items) = 0;
};

class ReceiptListener {
 public:
  virtual ~ReceiptListener() = default;
  // Receipts of the own notice revision `key` (NoticeKey) were committed.
  virtual void ReceiptsChanged(const std::string& key, std::vector<v1::Receipt> receipts) = 0;
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_DELIVERY_H_
