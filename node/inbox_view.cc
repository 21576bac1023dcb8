#include "node/inbox_view.h"

#include "node/api_codec.h"
#include "node/items.h"

namespace sevex::node {

v1::ApiResponse InboxResponse(store::Store& store, const std::string& node_id,
                              const v1::InboxRequest& request) {
  v1::ApiResponse r;
  auto rows = store.Notices(request.since_ms(), 0);
  if (!rows.ok()) return ErrorResponse(rows.status());
  for (const auto& row : *rows) {
    if (row.own != request.own()) continue;
    if (request.limit() != 0 && static_cast<uint32_t>(r.inbox_size()) >= request.limit()) break;
    v1::SignedNotice envelope;
    v1::Notice notice;
    if (!envelope.ParseFromString(row.envelope) || !notice.ParseFromString(envelope.notice())) {
      notice.set_origin(row.origin);
      notice.set_id(row.notice_id);
      notice.set_revision(row.revision);
    } else if (ConduitOnly(notice, node_id)) {
      continue;
    }
    v1::InboxEntry* e = r.add_inbox();
    *e->mutable_notice() = std::move(notice);
    if (!row.translation.empty()) e->mutable_translation()->ParseFromString(row.translation);
    e->set_received_from(row.received_from);
    e->set_received_at_ms(row.received_at_ms);
    if (row.own) {
      if (auto receipts = store.Receipts(row.origin, row.notice_id, row.revision); receipts.ok()) {
        for (const auto& rc : *receipts) *e->add_receipts() = ReceiptOf(rc);
      }
    }
  }
  return r;
}

}  // namespace sevex::node
