#include "node/submitter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/assess.h"
#include "engine/notice.h"
#include "node/api_codec.h"
#include "node/config.h"
#include "node/items.h"

namespace sevex::node {

namespace asio = boost::asio;

namespace {

std::string CodeName(const absl::Status& s) {
  return absl::AsciiStrToLower(absl::StatusCodeToString(s.code()));
}

bool AnyPending(const google::protobuf::RepeatedPtrField<v1::Receipt>& receipts) {
  return std::any_of(receipts.begin(), receipts.end(),
                     [](const v1::Receipt& r) { return r.status() == v1::Receipt::PENDING; });
}

}  // namespace

Submitter::Submitter(asio::io_context& io, Deps deps)
    : strand_(asio::make_strand(io)), deps_(std::move(deps)) {}

void Submitter::Failed(const absl::Status& s, const ApiReply& reply) {
  deps_.metrics.Count(Counter::kSubmissionsFailed, {CodeName(s)});
  reply(ErrorResponse(s));
}

void Submitter::Submit(const v1::SubmitRequest& request, ApiReply reply) {
  if (stopping_) return Failed(absl::UnavailableError("the node is stopping"), reply);
  const std::string& self = deps_.config.node_id();
  const std::string where = request.where().empty() ? "<submission>" : request.where();
  auto notices = engine::ParseNotices(request.json(), where);
  if (!notices.ok()) return Failed(notices.status(), reply);
  if (notices->empty()) return Failed(absl::InvalidArgumentError(absl::StrCat(where, ": no notices")), reply);
  Request state;
  state.wait = request.wait();
  state.wait_timeout_ms =
      request.wait_timeout_ms() == 0 ? 30000 : std::min(request.wait_timeout_ms(), 3600000u);
  const int64_t now = deps_.clock.NowMs();
  for (size_t i = 0; i < notices->size(); ++i) {
    v1::Notice& n = (*notices)[i];
    const std::string at = notices->size() > 1 ? absl::StrCat(where, " (notice ", i + 1, ")") : where;
    auto refuse = [&](absl::string_view why) {
      Failed(absl::InvalidArgumentError(absl::StrCat(at, ": ", why)), reply);
    };
    if (!n.origin().empty() && n.origin() != self) {
      return refuse(absl::StrCat("origin '", n.origin(), "' is not this node (", self,
                                 "); a node submits only its own notices"));
    }
    if (n.revision() > engine::kMaxRevision) {
      return refuse(absl::StrCat("revision ", n.revision(), " is above the highest, ", engine::kMaxRevision));
    }
    auto attrs = engine::CheckNoticeForExchange(deps_.catalog.registry(), n);
    if (!attrs.ok()) return refuse(attrs.status().message());
    n.set_origin(self);
    if (n.id().empty()) n.set_id(deps_.new_id());
    if (n.revision() == 0) n.set_revision(1);
    if (!n.retracted())
      *n.mutable_origin_assessment() = engine::AssessNotice(deps_.catalog, deps_.own_policy, *attrs, &n);
    n.mutable_created_at()->set_seconds(now / 1000);
    n.mutable_created_at()->set_nanos(static_cast<int32_t>(now % 1000) * 1000000);
    // Made here, a notice too large for a frame could be stored and signed but never sent: its
    // receipts would stay PENDING. Refused instead, with the limit.
    const uint32_t max_frame =
        deps_.config.max_frame_bytes() == 0 ? kDefaultMaxFrameBytes : deps_.config.max_frame_bytes();
    if (n.ByteSizeLong() + kFrameOverheadBytes > max_frame) {
      return refuse(absl::StrCat(
          "notice ", n.id(), " is ", n.ByteSizeLong(), " bytes encoded; peers accept frames of ", max_frame,
          " bytes (max_frame_bytes), and a notice may use at most ", max_frame - kFrameOverheadBytes,
          " of them (the rest is its signature and frame): shorten its text"));
    }
    state.notices.push_back({std::move(n), {}, at});
  }
  state.reply = std::move(reply);
  // Revisions are checked and the batch signed on the strand, in submission order.
  asio::post(strand_, [this, state = std::move(state)]() mutable { Admit(std::move(state)); });
}

void Submitter::Admit(Request state) {
  if (stopping_) return Failed(absl::UnavailableError("the node is stopping"), state.reply);
  absl::flat_hash_map<std::string, uint32_t> in_request;
  for (Prepared& p : state.notices) {
    const v1::Notice& n = p.notice;
    uint32_t latest = 0;
    if (auto it = submitting_.find(n.id()); it != submitting_.end()) latest = it->second;
    if (auto it = in_request.find(n.id()); it != in_request.end()) latest = std::max(latest, it->second);
    auto stored = deps_.store.Latest(n.origin(), n.id());
    if (!stored.ok()) return Failed(stored.status(), state.reply);
    if (stored->has_value()) latest = std::max(latest, (*stored)->revision);
    if (n.revision() <= latest) {
      return Failed(absl::AlreadyExistsError(
                        latest >= engine::kMaxRevision
                            ? absl::StrCat(p.at, ": notice ", n.id(), " revision ", n.revision(),
                                           " is already submitted, and revision ", latest,
                                           " is the highest: submit a new notice")
                            : absl::StrCat(p.at, ": notice ", n.id(), " revision ", n.revision(),
                                           " is already submitted; the next revision is ", latest + 1)),
                    state.reply);
    }
    if (n.retracted() && latest == 0) {
      return Failed(absl::InvalidArgumentError(absl::StrCat(
                        p.at, ": notice ", n.id(), " is a retraction of a notice this node never submitted")),
                    state.reply);
    }
    in_request[n.id()] = n.revision();
    std::vector<std::string> holding;
    if (latest > 0) {
      auto h = deps_.store.PeersHolding(n.origin(), n.id());
      if (!h.ok()) return Failed(h.status(), state.reply);
      holding = *h;
    }
    p.plan = PlanFromOrigin(deps_.config, n.marking(), holding);
  }
  for (const auto& [id, rev] : in_request) submitting_[id] = std::max(submitting_[id], rev);
  queue_.push_back(std::move(state));
  if (!in_progress_) Flush();
}

// Signs everything queued as one batch and commits it as one group; the next batch forms while
// this one is being written.
void Submitter::Flush() {
  if (queue_.empty()) return;
  in_progress_ = true;
  std::vector<Request> batch = std::move(queue_);
  queue_.clear();
  std::vector<std::string> serialized;
  for (const auto& req : batch) {
    for (const auto& p : req.notices) serialized.push_back(p.notice.SerializeAsString());
  }
  std::vector<v1::SignedNotice> envelopes = SignBatch(deps_.signing_key, serialized);
  const std::string& self = deps_.config.node_id();
  const int64_t now = deps_.clock.NowMs();
  std::vector<store::Unit> units;
  std::vector<store::OutboxItem> items;
  std::vector<v1::ApiResponse> responses(batch.size());
  size_t k = 0;
  for (size_t r = 0; r < batch.size(); ++r) {
    for (Prepared& p : batch[r].notices) {
      v1::Notice& n = p.notice;
      const std::string envelope = envelopes[k++].SerializeAsString();
      store::Unit unit;
      store::StoredNotice stored;
      stored.origin = n.origin();
      stored.notice_id = n.id();
      stored.revision = n.revision();
      stored.own = true;
      stored.retracted = n.retracted();
      stored.received_at_ms = now;
      stored.envelope = envelope;
      unit.insert = std::move(stored);
      for (const auto& hop : p.plan.next_hops) {
        // The final recipients this hop serves: a hub passes it to those only (not to those this
        // node reaches directly), and the ack of this hop settles their receipts here.
        std::vector<std::string> via;
        for (const auto& [recipient, h] : p.plan.recipients) {
          if (h == hop) via.push_back(recipient);
        }
        unit.enqueue.push_back(
            NoticeItem(hop, n.origin(), n.id(), n.revision(), envelope, {n.origin()}, now, via));
      }
      v1::Submitted* s = responses[r].add_submitted();
      s->set_id(n.id());
      s->set_revision(n.revision());
      s->mutable_assessment()->Swap(
          n.mutable_origin_assessment());  // signed already: only the answer needs it
      for (const auto& [recipient, hop] : p.plan.recipients) {
        s->add_recipients(recipient);
        unit.receipts.push_back(
            {n.origin(), n.id(), n.revision(), recipient, v1::Receipt::PENDING, "", "", self, now});
      }
      for (const auto& refusal : p.plan.refused) {
        s->add_refused(absl::StrCat(refusal.recipient, ": ", refusal.reason));
        unit.receipts.push_back({n.origin(), n.id(), n.revision(), refusal.recipient, v1::Receipt::REFUSED,
                                 refusal.code, refusal.reason, self, now});
      }
      if (batch[r].wait) {
        for (const auto& row : unit.receipts) *s->add_receipts() = ReceiptOf(row);
      }
      items.insert(items.end(), unit.enqueue.begin(), unit.enqueue.end());
      units.push_back(std::move(unit));
    }
  }
  deps_.store.Commit(std::move(units), [this, batch = std::move(batch), responses = std::move(responses),
                                        items = std::move(items)](
                                           absl::Status s, std::vector<store::UnitResult> results) mutable {
    // The waiters first: a receipt that settles is posted to this strand after them, since the
    // outbox only hears of the items below.
    asio::post(strand_, [this, s, batch = std::move(batch), responses = std::move(responses)]() mutable {
      Committed(s, std::move(batch), std::move(responses));
    });
    // The outbox from here, not from the strand: commits call back in the order they committed,
    // and the outbox must see every peer's items in seq order, this node's own among those of the
    // notices it relays (it drops an item older than one it holds, as read from the store).
    if (s.ok()) {
      SetQueued(items, results);
      deps_.outbox.Enqueue(std::move(items));
    }
  });
}

void Submitter::Committed(absl::Status s, std::vector<Request> batch,
                          std::vector<v1::ApiResponse> responses) {
  for (size_t r = 0; r < batch.size(); ++r) {
    for (const auto& p : batch[r].notices) {
      auto it = submitting_.find(p.notice.id());
      if (it != submitting_.end() && it->second <= p.notice.revision()) submitting_.erase(it);
    }
    if (!s.ok()) {
      deps_.metrics.Count(Counter::kSubmissionsFailed, {CodeName(s)});
      batch[r].reply(ErrorResponse(absl::Status(s.code(), absl::StrCat("not stored: ", s.message()))));
      continue;
    }
    deps_.metrics.Count(Counter::kSubmitted, {}, batch[r].notices.size());
    if (batch[r].wait) {
      StartWait(std::move(responses[r]), std::move(batch[r].reply), batch[r].wait_timeout_ms);
    } else {
      batch[r].reply(std::move(responses[r]));
    }
  }
  in_progress_ = false;
  Flush();
}

void Submitter::StartWait(v1::ApiResponse response, ApiReply reply, uint32_t timeout_ms) {
  auto w = std::make_shared<Waiter>();
  w->response = std::move(response);
  w->reply = std::move(reply);
  for (int i = 0; i < w->response.submitted_size(); ++i) {
    const v1::Submitted& s = w->response.submitted(i);
    if (!AnyPending(s.receipts())) continue;  // refused at the origin, or nobody to send to
    std::string key = NoticeKey(deps_.config.node_id(), s.id(), s.revision());
    w->open[key] = i;
    waiters_[key].push_back(w);
  }
  if (w->open.empty()) return FinishWait(w);
  w->timer = std::make_unique<asio::steady_timer>(strand_, std::chrono::milliseconds(timeout_ms));
  w->timer->async_wait([this, w](const boost::system::error_code& ec) {
    if (!ec) FinishWait(w);
  });
}

void Submitter::ReceiptsChanged(const std::string& key, std::vector<v1::Receipt> receipts) {
  asio::post(strand_, [this, key, receipts = std::move(receipts)] { Follow(key, receipts); });
}

// The waiters' copies follow the committed receipts (a final state is never replaced by PENDING,
// as in the store).
void Submitter::Follow(const std::string& key, const std::vector<v1::Receipt>& receipts) {
  auto it = waiters_.find(key);
  if (it == waiters_.end()) return;
  std::vector<std::shared_ptr<Waiter>> waiting = it->second;
  for (const auto& w : waiting) {
    auto open = w->open.find(key);
    if (w->done || open == w->open.end()) continue;
    v1::Submitted* s = w->response.mutable_submitted(open->second);
    for (const v1::Receipt& r : receipts) {
      v1::Receipt* mine = nullptr;
      for (auto& m : *s->mutable_receipts()) {
        if (m.recipient() == r.recipient()) mine = &m;
      }
      if (mine == nullptr) {
        *s->add_receipts() = r;
      } else if (r.status() != v1::Receipt::PENDING || mine->status() == v1::Receipt::PENDING) {
        *mine = r;
      }
    }
    if (AnyPending(s->receipts())) continue;
    w->open.erase(open);
    std::erase(it->second, w);
    if (w->open.empty()) FinishWait(w);
  }
  if (it->second.empty()) waiters_.erase(it);
}

void Submitter::FinishWait(const std::shared_ptr<Waiter>& w) {
  if (w->done) return;
  w->done = true;
  if (w->timer) w->timer->cancel();
  for (const auto& [key, index] : w->open) {
    auto it = waiters_.find(key);
    if (it == waiters_.end()) continue;
    std::erase(it->second, w);
    if (it->second.empty()) waiters_.erase(it);
  }
  w->reply(std::move(w->response));
}

void Submitter::Stop(std::function<void()> done) {
  stopping_ = true;
  asio::post(strand_, [this, done = std::move(done)] {
    // Submitters still waiting for deliveries get the receipts as they stand.
    std::vector<std::shared_ptr<Waiter>> waiting;
    for (auto& [key, list] : waiters_) waiting.insert(waiting.end(), list.begin(), list.end());
    for (const auto& w : waiting) FinishWait(w);
    done();
  });
}

}  // namespace sevex::node
