#include "node/items.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sevex::node {

std::string NoticeKey(const std::string& origin, const std::string& id, uint32_t revision) {
  return absl::StrCat("n|", origin, "|", id, "|", revision);
}

std::string ReceiptKey(const v1::Receipt& r) {
  return absl::StrCat("r|", r.origin(), "|", r.notice_id(), "|", r.revision(), "|", r.recipient(), "|",
                      static_cast<int>(r.status()));
}

store::ReceiptRow RowOf(const v1::Receipt& r) {
  store::ReceiptRow row;
  row.origin = r.origin();
  row.notice_id = r.notice_id();
  row.revision = r.revision();
  row.recipient = r.recipient();
  row.status = r.status();
  row.reason_code = r.reason_code();
  row.reason = r.reason();
  row.reporter = r.reporter();
  row.updated_ms = r.time_ms();
  return row;
}

v1::Receipt ReceiptOf(const store::ReceiptRow& row) {
  v1::Receipt r;
  r.set_origin(row.origin);
  r.set_notice_id(row.notice_id);
  r.set_revision(row.revision);
  r.set_recipient(row.recipient);
  r.set_status(static_cast<v1::Receipt::Status>(row.status));
  r.set_reason_code(row.reason_code);
  r.set_reason(row.reason);
  r.set_reporter(row.reporter);
  r.set_time_ms(row.updated_ms);
  return r;
}

store::OutboxItem NoticeItem(const std::string& peer, const std::string& origin, const std::string& id,
                             uint32_t revision, const std::string& envelope,
                             const std::vector<std::string>& route, int64_t now_ms,
                             const std::vector<std::string>& recipients) {
  store::OutboxItem item;
  item.peer = peer;
  item.key = NoticeKey(origin, id, revision);
  item.kind = store::ItemKind::kNotice;
  item.origin = origin;
  item.notice_id = id;
  item.revision = revision;
  v1::NoticeFrame f;
  f.set_origin(origin);
  f.set_notice_id(id);
  f.set_revision(revision);
  for (const auto& r : route) f.add_route(r);
  for (const auto& r : recipients) f.add_recipients(r);
  f.set_kind(v1::NoticeFrame::NOTICE);
  f.set_tag(item.key);
  item.frame = f.SerializeAsString();  // signed_notice is the envelope, added when sent
  item.envelope = envelope;
  item.queued_at_ms = now_ms;
  return item;
}

store::OutboxItem ReceiptItem(const std::string& peer, const v1::Receipt& receipt, int64_t now_ms) {
  store::OutboxItem item;
  item.peer = peer;
  item.key = ReceiptKey(receipt);
  item.kind = store::ItemKind::kReceipt;
  item.origin = receipt.origin();
  item.notice_id = receipt.notice_id();
  item.revision = receipt.revision();
  v1::NoticeFrame f;
  f.set_origin(receipt.origin());
  f.set_notice_id(receipt.notice_id());
  f.set_revision(receipt.revision());
  f.set_signed_notice(receipt.SerializeAsString());
  f.set_kind(v1::NoticeFrame::RECEIPT);
  f.set_tag(item.key);
  item.frame = f.SerializeAsString();
  item.queued_at_ms = now_ms;
  return item;
}

void SetQueued(std::vector<store::OutboxItem>& items, const std::vector<store::UnitResult>& results) {
  size_t i = 0;
  for (const store::UnitResult& r : results) {
    for (int64_t seq : r.queued) {
      if (i < items.size()) items[i++].seq = seq;
    }
  }
}

store::AuditRow AuditOf(int64_t now_ms, std::string event, const std::string& origin, const std::string& id,
                        uint32_t revision, const std::string& peer, std::string reason) {
  return store::AuditRow{now_ms, std::move(event), origin, id, revision, peer, std::move(reason)};
}

bool ConduitOnly(const v1::Notice& notice, const std::string& self) {
  const v1::Marking::Tlp tlp = notice.marking().tlp();
  if (tlp == v1::Marking::CLEAR || tlp == v1::Marking::GREEN || notice.origin() == self) return false;
  const auto& to = notice.marking().recipients();
  return std::find(to.begin(), to.end(), self) == to.end();
}

}  // namespace sevex::node
