#include "node/inbound.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/notice.h"
#include "node/items.h"
#include "node/routing.h"
#include "transport/event_log.h"

namespace sevex::node {

namespace asio = boost::asio;
using transport::Channel;
using transport::LogEvent;
using transport::LogLevel;

Inbound::Inbound(asio::io_context& io, Deps deps) : io_(io), deps_(std::move(deps)) {}

void Inbound::OnNotice(std::shared_ptr<Channel> channel, v1::NoticeFrame frame) {
  if (frame.kind() == v1::NoticeFrame::RECEIPT) {
    asio::post(io_, [this, channel = std::move(channel), frame = std::move(frame)]() mutable {
      ReceiveReceipt(std::move(channel), std::move(frame));
    });
  } else {
    asio::post(io_, [this, channel = std::move(channel), frame = std::move(frame)]() mutable {
      Receive(std::move(channel), std::move(frame));
    });
  }
}

void Inbound::Reject(const std::shared_ptr<Channel>& channel, const v1::NoticeFrame& frame, std::string code,
                     std::string reason) {
  LogEvent(LogLevel::kWarning, "notice_rejected",
           {{"peer", channel->peer_id()},
            {"origin", frame.origin()},
            {"notice_id", frame.notice_id()},
            {"revision", std::to_string(frame.revision())},
            {"code", code},
            {"reason", reason}});
  deps_.metrics.Count(Counter::kRejected, {channel->peer_id(), code});
  store::Unit unit;
  unit.audit.push_back(AuditOf(deps_.clock.NowMs(), "rejected", frame.origin(), frame.notice_id(),
                               frame.revision(), channel->peer_id(), absl::StrCat(code, ": ", reason)));
  deps_.store.Commit({std::move(unit)},
                     [channel, frame, code, reason](absl::Status, std::vector<store::UnitResult>) {
                       channel->Ack(frame, v1::Ack::REJECTED, code, reason);
                     });
}

void Inbound::CommitThenAck(std::shared_ptr<Channel> channel, v1::NoticeFrame frame, store::Unit unit,
                            std::function<void(bool duplicate)> after) {
  std::vector<store::OutboxItem> items = unit.enqueue;
  deps_.store.Commit({std::move(unit)}, [this, channel, frame = std::move(frame), items = std::move(items),
                                         after = std::move(after)](
                                            absl::Status s, std::vector<store::UnitResult> results) mutable {
    if (!s.ok()) {
      // Not stored, so not acknowledged: the sender keeps it and sends it again.
      LogEvent(LogLevel::kError, "store_failed",
               {{"peer", channel->peer_id()},
                {"notice_id", frame.notice_id()},
                {"reason", std::string(s.message())}});
      channel->Close("unavailable", "this node cannot store notices right now");
      return;
    }
    const bool duplicate = !results.empty() && results[0] == store::UnitResult::kDuplicate;
    channel->Ack(frame, duplicate ? v1::Ack::DUPLICATE : v1::Ack::ACCEPTED);
    if (frame.kind() != v1::NoticeFrame::RECEIPT) {
      deps_.metrics.Count(duplicate ? Counter::kDuplicates : Counter::kReceived, {channel->peer_id()});
    }
    if (after) after(duplicate);
    if (!duplicate && !items.empty()) {
      SetQueued(items, results);
      deps_.outbox.Enqueue(std::move(items));
    }
  });
}

void Inbound::Receive(std::shared_ptr<Channel> channel, v1::NoticeFrame frame) {
  const v1::NodeConfig& config = deps_.config;
  const std::string& sender = channel->peer_id();
  v1::SignedNotice envelope;
  v1::Notice notice;
  if (!envelope.ParseFromString(frame.signed_notice()) || !notice.ParseFromString(envelope.notice())) {
    return Reject(channel, frame, "malformed", "the signed notice does not parse");
  }
  if (notice.origin() != frame.origin() || notice.id() != frame.notice_id() ||
      notice.revision() != frame.revision()) {
    return Reject(channel, frame, "header_mismatch",
                  "the frame's origin, id or revision differ from the signed notice's");
  }
  if (frame.route_size() == 0 || frame.route(0) != frame.origin() ||
      frame.route(frame.route_size() - 1) != sender) {
    return Reject(channel, frame, "bad_route",
                  absl::StrCat("the route must start at the origin and end at the sender ", sender));
  }
  if (sender != frame.origin()) {
    const v1::PeerConfig* p = nullptr;
    for (const auto& c : config.peers()) {
      if (c.node_id() == sender) p = &c;
    }
    if (p == nullptr || !p->relay()) {
      return Reject(
          channel, frame, "not_a_relay",
          absl::StrCat(sender, " sent a notice of ", frame.origin(), " but is not configured as a relay"));
    }
  }
  auto key = deps_.verify_keys.find(frame.origin());
  if (key == deps_.verify_keys.end()) {
    return Reject(channel, frame, "unknown_origin",
                  absl::StrCat("no signing key is configured for origin ", frame.origin()));
  }
  if (absl::Status s = VerifyEnvelope(key->second, frame.origin(), envelope, &root_cache_); !s.ok()) {
    return Reject(channel, frame, "bad_signature", std::string(s.message()));
  }
  if (absl::Status s = MayReceive(config, notice.marking(), frame.origin(), sender); !s.ok()) {
    return Reject(channel, frame, "marking_forbids", std::string(s.message()));
  }

  const bool conduit = ConduitOnly(notice, config.node_id());
  store::StoredNotice stored;
  stored.origin = frame.origin();
  stored.notice_id = frame.notice_id();
  stored.revision = frame.revision();
  stored.retracted = notice.retracted();
  stored.received_from = sender;
  stored.received_at_ms = deps_.clock.NowMs();
  stored.envelope = frame.signed_notice();
  // Translate into this node's scheme; the origin's assessment stays untouched in the envelope.
  if (!notice.retracted() && !conduit) {
    auto attrs = engine::CheckNotice(deps_.catalog.registry(), notice);
    const std::string from = notice.origin_assessment().scheme();
    absl::StatusOr<v1::Translation> t = absl::InvalidArgumentError("no attributes");
    if (attrs.ok()) {
      t = deps_.translator.TranslateNotice(notice, *attrs, deps_.catalog.Find(from) ? from : "",
                                           config.scheme());
    }
    if (t.ok()) {
      stored.translation = t->SerializeAsString();
    } else {
      v1::Translation none;
      none.set_scheme(config.scheme());
      none.set_reason(absl::StrCat("not translated: ", t.status().message()));
      stored.translation = none.SerializeAsString();
    }
  }

  store::Unit unit;
  unit.insert = std::move(stored);
  if (config.has_relay()) {
    std::vector<std::string> route(frame.route().begin(), frame.route().end());
    std::vector<std::string> holding;
    if (notice.revision() > 1) {
      if (auto h = deps_.store.PeersHolding(frame.origin(), frame.notice_id()); h.ok()) holding = *h;
    }
    const std::vector<std::string> only(frame.recipients().begin(), frame.recipients().end());
    Plan plan = PlanRelay(config, notice.marking(), frame.origin(), route, holding, only);
    route.push_back(config.node_id());
    std::string envelope_bytes = frame.signed_notice();
    // The test seam alters only the copy in flight; the stored notice stays as received.
    if (deps_.tamper_relayed && !envelope.root_signature().empty()) {
      v1::SignedNotice broken = envelope;
      (*broken.mutable_root_signature())[0] ^= 0x01;
      envelope_bytes = broken.SerializeAsString();
    }
    const int64_t now = deps_.clock.NowMs();
    for (const auto& hop : plan.next_hops) {
      unit.enqueue.push_back(
          NoticeItem(hop, frame.origin(), frame.notice_id(), frame.revision(), envelope_bytes, route, now));
    }
    auto receipt = [&](const std::string& recipient, v1::Receipt::Status status, const std::string& code,
                       const std::string& reason) {
      v1::Receipt r;
      r.set_origin(frame.origin());
      r.set_notice_id(frame.notice_id());
      r.set_revision(frame.revision());
      r.set_recipient(recipient);
      r.set_status(status);
      r.set_reason_code(code);
      r.set_reason(reason);
      r.set_reporter(config.node_id());
      r.set_time_ms(now);
      unit.enqueue.push_back(ReceiptItem(sender, r, now));
    };
    for (const auto& [recipient, hop] : plan.recipients) receipt(recipient, v1::Receipt::PENDING, "", "");
    for (const auto& refusal : plan.refused) {
      receipt(refusal.recipient, v1::Receipt::REFUSED, refusal.code, refusal.reason);
      unit.audit.push_back(AuditOf(now, "relay_refused", frame.origin(), frame.notice_id(), frame.revision(),
                                   refusal.recipient, absl::StrCat(refusal.code, ": ", refusal.reason)));
    }
  }
  std::function<void(bool)> after;
  if (deps_.on_received && !conduit) {
    auto entry = std::make_shared<v1::InboxEntry>();
    *entry->mutable_notice() = notice;
    if (!unit.insert->translation.empty())
      entry->mutable_translation()->ParseFromString(unit.insert->translation);
    entry->set_received_from(sender);
    entry->set_received_at_ms(unit.insert->received_at_ms);
    after = [this, entry](bool duplicate) {
      if (!duplicate) asio::post(io_, [this, entry] { deps_.on_received(*entry); });
    };
  }
  CommitThenAck(std::move(channel), std::move(frame), std::move(unit), std::move(after));
}

// A receipt for one of this node's own notices may only say what the peer can know: that it,
// or a final recipient this node routed through it, received the notice, refused it, or (a hub)
// queued it; and a recipient's final state never changes. kAlreadyKnown: the same final state
// again (a replay after a reconnection) or a PENDING after it, acknowledged and not stored.
absl::StatusOr<Inbound::ReceiptCheck> Inbound::CheckOwnReceipt(const std::string& peer,
                                                               const v1::Receipt& receipt) {
  absl::StatusOr<std::optional<store::StoredNotice>> held =
      deps_.store.Get(receipt.origin(), receipt.notice_id(), receipt.revision());
  if (!held.ok()) return absl::UnavailableError(held.status().message());
  if (!held->has_value() || !(*held)->received_from.empty()) {
    return absl::NotFoundError(absl::StrCat("a receipt from ", peer, " for notice ", receipt.notice_id(),
                                            " revision ", receipt.revision(),
                                            ", which this node did not submit"));
  }
  absl::StatusOr<std::vector<store::ReceiptRow>> rows =
      deps_.store.Receipts(receipt.origin(), receipt.notice_id(), receipt.revision());
  if (!rows.ok()) return absl::UnavailableError(rows.status().message());
  const store::ReceiptRow* row = nullptr;
  for (const store::ReceiptRow& r : *rows) {
    if (r.recipient == receipt.recipient()) row = &r;
  }
  if (row == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("a receipt from ", peer, " for ", receipt.recipient(),
                                                    ", which notice ", receipt.notice_id(),
                                                    " was not sent to"));
  }
  bool via_peer = receipt.recipient() == peer;
  if (!via_peer) {
    v1::SignedNotice envelope;
    v1::Notice notice;
    if (!envelope.ParseFromString((*held)->envelope) || !notice.ParseFromString(envelope.notice())) {
      return absl::UnavailableError(
          absl::StrCat("the stored notice ", receipt.notice_id(), " does not parse"));
    }
    for (const auto& [recipient, hop] : PlanFromOrigin(deps_.config, notice.marking(), {}).recipients) {
      if (recipient == receipt.recipient() && hop == peer) via_peer = true;
    }
  }
  if (!via_peer) {
    return absl::PermissionDeniedError(absl::StrCat("a receipt from ", peer, " for ", receipt.recipient(),
                                                    ", whom this node does not reach through ", peer));
  }
  if (row->status == v1::Receipt::PENDING) return ReceiptCheck::kNew;
  // A late PENDING (a hub's, reordered after the final state) or the same final state again.
  if (receipt.status() == v1::Receipt::PENDING || row->status == receipt.status()) {
    return ReceiptCheck::kAlreadyKnown;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "a receipt from ", peer, " says ", receipt.recipient(), " ", v1::Receipt::Status_Name(receipt.status()),
      " notice ", receipt.notice_id(), " revision ", receipt.revision(), ", already ",
      v1::Receipt::Status_Name(static_cast<v1::Receipt::Status>(row->status)),
      ": a final state does not change"));
}

void Inbound::ReceiveReceipt(std::shared_ptr<Channel> channel, v1::NoticeFrame frame) {
  v1::Receipt receipt;
  if (!receipt.ParseFromString(frame.signed_notice()) || receipt.origin() != frame.origin() ||
      receipt.notice_id() != frame.notice_id() || receipt.revision() != frame.revision()) {
    return Reject(channel, frame, "malformed", "the receipt does not parse or does not match its frame");
  }
  if (receipt.reporter() != channel->peer_id()) {
    return Reject(
        channel, frame, "bad_receipt",
        absl::StrCat("a receipt reported by ", receipt.reporter(), " arrived from ", channel->peer_id()));
  }
  if (receipt.status() != v1::Receipt::PENDING && receipt.status() != v1::Receipt::DELIVERED &&
      receipt.status() != v1::Receipt::REFUSED) {
    return Reject(channel, frame, "bad_receipt",
                  absl::StrCat("a receipt with status ", static_cast<int>(receipt.status()),
                               "; a receipt is PENDING, DELIVERED or REFUSED"));
  }
  store::Unit unit;
  if (receipt.origin() == deps_.config.node_id()) {
    absl::StatusOr<ReceiptCheck> check = CheckOwnReceipt(channel->peer_id(), receipt);
    if (!check.ok()) {
      if (absl::IsUnavailable(check.status())) {
        // Not read, so not judged: the sender keeps the receipt and sends it again.
        LogEvent(LogLevel::kError, "store_failed",
                 {{"peer", channel->peer_id()},
                  {"notice_id", frame.notice_id()},
                  {"reason", std::string(check.status().message())}});
        return channel->Close("unavailable", "this node cannot read its store right now");
      }
      return Reject(channel, frame, "bad_receipt", std::string(check.status().message()));
    }
    if (*check == ReceiptCheck::kAlreadyKnown) return CommitThenAck(std::move(channel), std::move(frame), {});
    unit.receipts.push_back(RowOf(receipt));
    std::string key = NoticeKey(receipt.origin(), receipt.notice_id(), receipt.revision());
    return CommitThenAck(
        std::move(channel), std::move(frame), std::move(unit),
        [this, key = std::move(key), receipt](bool) { deps_.receipts.ReceiptsChanged(key, {receipt}); });
  }
  // Not ours: pass it back towards the origin, the way the notice came.
  auto held = deps_.store.Get(receipt.origin(), receipt.notice_id(), receipt.revision());
  if (!held.ok() || !held->has_value() || (*held)->received_from.empty()) {
    return Reject(channel, frame, "unknown_notice", "a receipt for a notice this node did not pass on");
  }
  auto holding = deps_.store.PeersHolding(receipt.origin(), receipt.notice_id());
  if (!holding.ok() || std::find(holding->begin(), holding->end(), channel->peer_id()) == holding->end()) {
    return Reject(
        channel, frame, "bad_receipt",
        absl::StrCat("a receipt from ", channel->peer_id(), " for a notice this node did not pass to it"));
  }
  v1::Receipt forwarded = receipt;
  forwarded.set_reporter(deps_.config.node_id());
  unit.enqueue.push_back(ReceiptItem((*held)->received_from, forwarded, deps_.clock.NowMs()));
  CommitThenAck(std::move(channel), std::move(frame), std::move(unit));
}

}  // namespace sevex::node
