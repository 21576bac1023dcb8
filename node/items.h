// items.h — a notice's and a receipt's shapes as the store and the wire hold them: the keys an
// outbox item is found by, the frames queued for a peer, receipt rows, audit rows. Pure
// functions, no state, callable from any thread.
//
//   store::Unit unit;
//   unit.enqueue.push_back(NoticeItem(peer, origin, id, revision, envelope, {origin}, now_ms));
//   unit.receipts.push_back(RowOf(receipt));
#ifndef SEVEX_NODE_ITEMS_H_
#define SEVEX_NODE_ITEMS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "sevex/v1/frame.pb.h"
#include "sevex/v1/node.pb.h"
#include "sevex/v1/notice.pb.h"
#include "store/store.h"

namespace sevex::node {

// The outbox key of a notice revision ("n|origin|id|revision") and of a receipt (one per
// recipient and status, so a PENDING and the DELIVERED that follows are two items).
std::string NoticeKey(const std::string& origin, const std::string& id, uint32_t revision);
std::string ReceiptKey(const v1::Receipt& r);

store::ReceiptRow RowOf(const v1::Receipt& r);
v1::Receipt ReceiptOf(const store::ReceiptRow& row);

// A notice's outbox item for `peer`: the frame as it will be sent (its sequence set by the
// session) less the envelope, which the store keeps once, in the notice row. `recipients` are
// the final recipients this hop serves (NoticeFrame.recipients).
store::OutboxItem NoticeItem(const std::string& peer, const std::string& origin, const std::string& id,
                             uint32_t revision, const std::string& envelope,
                             const std::vector<std::string>& route, int64_t now_ms,
                             const std::vector<std::string>& recipients = {});
// A receipt's outbox item for `peer`, the receipt carried in the frame's signed_notice.
store::OutboxItem ReceiptItem(const std::string& peer, const v1::Receipt& receipt, int64_t now_ms);

// `items` are the `enqueue` items of the committed units, concatenated in order: each gets the
// seq the store queued it under (0: not queued).
void SetQueued(std::vector<store::OutboxItem>& items, const std::vector<store::UnitResult>& results);

store::AuditRow AuditOf(int64_t now_ms, std::string event, const std::string& origin, const std::string& id,
                        uint32_t revision, const std::string& peer, std::string reason);

// A hub passes AMBER and RED notices that do not name it without reading them: it stores them
// to forward them, but neither translates them nor lists them in its inbox.
bool ConduitOnly(const v1::Notice& notice, const std::string& self);

}  // namespace sevex::node

#endif  // SEVEX_NODE_ITEMS_H_
