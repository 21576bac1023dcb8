// submitter.h — this node's own notices, from the local API to the outbox (DESIGN.md §1):
// parse and check each notice (engine CheckNoticeForExchange, then what only the node knows: the
// origin is this node, the revision follows the last one stored), assess it under this node's
// scheme, sign everything queued as one batch, commit it as one group with its outbox items and
// PENDING or REFUSED receipts, then answer — at once, or with --wait once every recipient's
// receipt is final or the wait times out.
//
//   Submitter submitter(io, deps, {.node_id = "cl.csirt"});
//   submitter.Submit(request, [](v1::ApiResponse r) { … });   // answered exactly once
//
// It owns: the submissions being signed and committed (the batch in progress and the queue
// behind it), the revisions being committed per notice id, and the waiters of --wait.
//
// Threading: Submit and ReceiptsChanged may be called from any thread and return at once.
// Parsing, checking and assessing run on the caller's thread; revision checks, batches and
// waiters on the submitter's own strand of `io` (never the outbox's), with its store reads.
// `reply` is called once, on that strand or on the caller's thread (a notice refused before it
// reaches the strand), never while a lock is held.
//
// Promises: an invalid notice answers the whole submission with INVALID_ARGUMENT (or
// ALREADY_EXISTS for a revision already submitted) naming the submission, the notice's place in
// it and the field, and nothing of that submission is stored; a submission is answered only
// after its commit is durable; revisions of one id are taken in increasing order only, up to
// engine::kMaxRevision; a notice that would not fit a frame (config max_frame_bytes, less
// kFrameOverheadBytes) is refused, so nothing is signed that can never be sent.
#ifndef SEVEX_NODE_SUBMITTER_H_
#define SEVEX_NODE_SUBMITTER_H_

#include <atomic>
#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/catalog.h"
#include "node/clock.h"
#include "node/delivery.h"
#include "node/metrics.h"
#include "node/routing.h"
#include "node/signing.h"
#include "sevex/v1/node.pb.h"
#include "store/store.h"

namespace sevex::node {

using ApiReply = std::function<void(v1::ApiResponse)>;

class Submitter final : public ReceiptListener {
 public:
  struct Deps {
    const v1::NodeConfig& config;  // node_id, peers and hubs: who a marking lets a notice reach
    const engine::Catalog& catalog;
    const engine::CompiledPolicy& own_policy;
    const SigningKey& signing_key;
    store::Store& store;
    ItemSink& outbox;
    Metrics& metrics;
    const Clock& clock;
    std::function<std::string()> new_id;  // a fresh notice id (a random UUID in production)
  };
  // What a frame adds to a notice: the batch signature and its Merkle path (32 bytes a level),
  // the key id, the frame's header, route and recipients. Generous: a notice within the limit
  // less this always fits.
  static constexpr size_t kFrameOverheadBytes = 8192;

  Submitter(boost::asio::io_context& io, Deps deps);
  Submitter(const Submitter&) = delete;
  Submitter& operator=(const Submitter&) = delete;

  void Submit(const v1::SubmitRequest& request, ApiReply reply);
  // ReceiptListener: the waiters of that notice follow the receipts.
  void ReceiptsChanged(const std::string& key, std::vector<v1::Receipt> receipts) override;
  // No new submissions (UNAVAILABLE); every waiter is answered with the receipts as they stand.
  // `done` runs on the strand once they are.
  void Stop(std::function<void()> done);

 private:
  struct Prepared {
    v1::Notice notice;
    Plan plan;
    std::string at;  // the submission and the notice's place in it, for refusals
  };
  struct Request {
    std::vector<Prepared> notices;
    ApiReply reply;
    bool wait = false;
    uint32_t wait_timeout_ms = 0;
  };
  // A submission answered only once each of its notices is delivered or refused everywhere.
  struct Waiter {
    v1::ApiResponse response;
    ApiReply reply;
    absl::flat_hash_map<std::string, int> open;  // notice key → index in response.submitted
    std::unique_ptr<boost::asio::steady_timer> timer;
    bool done = false;
  };

  // On the strand.
  void Admit(Request request);
  void Flush();
  void Committed(absl::Status s, std::vector<Request> batch, std::vector<v1::ApiResponse> responses);
  void StartWait(v1::ApiResponse response, ApiReply reply, uint32_t timeout_ms);
  void Follow(const std::string& key, const std::vector<v1::Receipt>& receipts);
  void FinishWait(const std::shared_ptr<Waiter>& w);
  void Failed(const absl::Status& s, const ApiReply& reply);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  Deps deps_;
  std::atomic<bool> stopping_{false};

  // Strand state.
  std::vector<Request> queue_;
  bool in_progress_ = false;
  absl::flat_hash_map<std::string, uint32_t> submitting_;  // notice id → highest revision being committed
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<Waiter>>> waiters_;  // by notice key
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_SUBMITTER_H_
