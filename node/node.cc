// node.cc — the wiring: loads what the configuration names, builds the components and connects
// them (docs/node.md §8.4), starts and stops them in order. The node's logic lives in the
// components: Outbox (delivery per peer), Inbound (reception), Submitter (own notices),
// ApiServer (the local API), InboxView, ReceivedLog.
#include "node/node.h"

#include <openssl/rand.h>

#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/catalog.h"
#include "engine/translate.h"
#include "node/api_codec.h"
#include "node/api_server.h"
#include "node/clock.h"
#include "node/config.h"
#include "node/http_endpoint.h"
#include "node/inbound.h"
#include "node/inbox_view.h"
#include "node/metrics.h"
#include "node/outbox.h"
#include "node/received_log.h"
#include "node/signing.h"
#include "node/submitter.h"
#include "policies/embedded_policies.h"
#include "store/sqlite_store.h"
#include "store/sqlite_vfs.h"
#include "transport/event_log.h"
#include "transport/listener.h"
#include "transport/peer_link.h"
#include "transport/session.h"
#include "transport/tls.h"

namespace sevex::node {

namespace {

namespace asio = boost::asio;
using transport::LogEvent;
using transport::LogLevel;
using transport::PeerSession;

std::string NewUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) std::abort();  // no randomness: nothing safe to do
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 15];
  }
  return out;
}

void WarnSeam(const char* seam, const std::string& value, const char* effect) {
  LogEvent(LogLevel::kWarning, "test_seam", {{"seam", seam}, {"value", value}, {"effect", effect}});
}

// The outbox tells the submitter of receipts, and the submitter hands the outbox its items: the
// submitter is built first, over this sink, which forwards to the outbox once it exists.
class OutboxSink final : public ItemSink {
 public:
  void Enqueue(std::vector<store::OutboxItem> items) override { outbox->Enqueue(std::move(items)); }
  ItemSink* outbox = nullptr;
};

// Sessions reach the components through here: the transport's handler, on each session's strand.
class NodeImpl final : public Node, private transport::SessionHandler {
 public:
  NodeImpl(v1::NodeConfig config, engine::Catalog catalog, NodeOptions options)
      : config_(std::move(config)),
        options_(std::move(options)),
        clock_(options_.clock_offset_ms),
        catalog_(std::move(catalog)),
        translator_(catalog_) {}

  ~NodeImpl() override { Stop(); }

  absl::Status Load(bool check_only);
  absl::Status Start() override;
  void RunUntilSignal() override;
  void Stop() override;

 private:
  // SessionHandler.
  void OnOpen(const std::shared_ptr<PeerSession>& session) override {
    auto link = links_.find(session->peer_id());
    outbox_->Opened(session, link != links_.end() && link->second->session() == session);
  }
  void OnNotice(const std::shared_ptr<PeerSession>& session, v1::NoticeFrame frame) override {
    inbound_->OnNotice(session, std::move(frame));
  }
  void OnAck(const std::shared_ptr<PeerSession>& session, const v1::Ack& ack) override {
    outbox_->Acked(session, ack);
  }
  void OnClose(const std::shared_ptr<PeerSession>& session, const absl::Status& reason) override {
    outbox_->Closed(session, reason);
  }

  void HandleApi(const v1::ApiRequest& request, ApiReply reply);
  void ServeHttp(const HttpRequest& request, HttpRespond respond);
  void OnTransaction(double seconds, const absl::Status& outcome);

  const v1::NodeConfig config_;
  const NodeOptions options_;
  const SystemClock clock_;
  engine::Catalog catalog_;
  engine::Translator translator_;
  const engine::CompiledPolicy* own_policy_ = nullptr;
  SigningKey signing_key_;
  absl::flat_hash_map<std::string, VerifyKey> verify_keys_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<transport::NodeTls> tls_;
  transport::SessionOptions session_options_;
  std::unique_ptr<ReceivedLog> received_log_;
  Metrics metrics_;
  std::atomic<bool> store_writable_{true};  // the last store transaction committed
  std::mutex store_failure_mu_;
  std::string store_failure_;  // guarded by store_failure_mu_: why the last failed transaction failed

  // Declared before the components, so destroyed after them: they hold its executors.
  asio::io_context io_;
  OutboxSink sink_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Submitter> submitter_;
  std::unique_ptr<Inbound> inbound_;
  std::unique_ptr<ApiServer> api_;
  std::shared_ptr<transport::Listener> listener_;
  std::shared_ptr<HttpEndpoint> http_;  // /metrics and /healthz, when configured
  absl::flat_hash_map<std::string, std::shared_ptr<transport::PeerLink>> links_;
  asio::signal_set signals_{io_};
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  int64_t started_ms_ = 0;
};

absl::Status NodeImpl::Load(bool check_only) {
  own_policy_ = catalog_.Find(config_.scheme());
  if (own_policy_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("scheme: unknown scheme '", config_.scheme(), "' (known: ", catalog_.SchemeIds(), ")"));
  }
  auto key = SigningKey::Load(config_.signing_key_file());
  if (!key.ok()) return key.status();
  signing_key_ = *key;
  for (const auto& p : config_.peers()) {
    auto k = VerifyKey::Load(p.signing_key_file());
    if (!k.ok()) return k.status();
    verify_keys_.emplace(p.node_id(), *k);
  }
  for (const auto& o : config_.origins()) {
    auto k = VerifyKey::Load(o.signing_key_file());
    if (!k.ok()) return k.status();
    verify_keys_.emplace(o.node_id(), *k);
  }
  // Own notices must verify too: the node signs what it checks it could verify.
  auto own_pub = VerifyKey::FromPem(signing_key_.PublicKeyPem(), config_.signing_key_file());
  if (!own_pub.ok()) return own_pub.status();
  verify_keys_.emplace(config_.node_id(), *own_pub);

  transport::TlsOptions tls;
  tls.node_id = config_.node_id();
  tls.cert_file = config_.cert_file();
  tls.key_file = config_.key_file();
  for (const auto& p : config_.peers())
    tls.peers.push_back({p.node_id(), p.address(), p.ca_file(), p.spki_sha256()});
  auto node_tls = transport::NodeTls::Create(tls);
  if (!node_tls.ok()) return node_tls.status();
  tls_ = std::move(*node_tls);

  session_options_.window = config_.window();
  session_options_.max_frame_bytes = config_.max_frame_bytes();
  session_options_.heartbeat_interval = std::chrono::seconds(config_.heartbeat_seconds());
  session_options_.idle_timeout = std::chrono::seconds(config_.idle_timeout_seconds());

  if (options_.clock_offset_ms != 0) {
    WarnSeam("clock_offset_ms", std::to_string(options_.clock_offset_ms),
             "this node's clock is shifted; for tests only");
  }
  store::SqliteOptions store_options;
  store_options.clock_ms = [this] { return clock_.NowMs(); };
  store_options.on_transaction = [this](double seconds, const absl::Status& outcome) {
    OnTransaction(seconds, outcome);
  };
  if (!options_.store_faults_file.empty()) {
    store_options.vfs = store::kFaultVfs;
    store::SetStoreFaultFile(options_.store_faults_file);
    WarnSeam("store_faults_file", options_.store_faults_file,
             "the store's fsyncs fail while this file exists; for tests only");
  }
  if (options_.tamper_relayed) {
    WarnSeam("tamper_relayed", "true",
             "this hub breaks the origin signature of what it forwards; for tests only");
  }
  if (check_only) {
    if (!config_.received_jsonl().empty()) {
      if (absl::Status s = ReceivedLog::Check(config_.received_jsonl()); !s.ok()) return s;
    }
    return store::CheckSqliteStore(config_.store_path());
  }
  if (!config_.received_jsonl().empty()) {
    auto log = ReceivedLog::Open(config_.received_jsonl(), config_.node_id(), config_.scheme());
    if (!log.ok()) return log.status();
    received_log_ = std::move(*log);
  }
  auto store = store::OpenSqliteStore(config_.store_path(), store_options);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);

  // The components, each over what it needs and nothing else.
  std::vector<std::string> peers;
  for (const auto& p : config_.peers()) peers.push_back(p.node_id());
  OutboxOptions outbox_options;
  outbox_options.node_id = config_.node_id();
  outbox_options.memory_limit = config_.max_peer_items_in_memory() != 0 ? config_.max_peer_items_in_memory()
                                                                        : kDefaultMaxPeerItemsInMemory;
  submitter_ = std::make_unique<Submitter>(io_, Submitter::Deps{config_, catalog_, *own_policy_, signing_key_,
                                                                *store_, sink_, metrics_, clock_, NewUuid});
  outbox_ = std::make_unique<Outbox>(io_, *store_, clock_, metrics_, *submitter_, outbox_options, peers);
  sink_.outbox = outbox_.get();
  Inbound::Deps inbound{
      config_,  catalog_, translator_, verify_keys_,           *store_, *outbox_, *submitter_,
      metrics_, clock_,   nullptr,     options_.tamper_relayed};
  if (received_log_)
    inbound.on_received = [log = received_log_.get()](const v1::InboxEntry& e) { log->Append(e); };
  inbound_ = std::make_unique<Inbound>(io_, std::move(inbound));
  api_ = std::make_unique<ApiServer>(
      io_, config_.api_socket(),
      [this](const v1::ApiRequest& r, ApiReply reply) { HandleApi(r, std::move(reply)); });
  return absl::OkStatus();
}

// Logged when the store starts failing and when it commits again, not for every failure.
void NodeImpl::OnTransaction(double seconds, const absl::Status& outcome) {
  if (!outcome.ok()) {
    std::lock_guard<std::mutex> lock(store_failure_mu_);
    store_failure_ = std::string(outcome.message());
  }
  const bool was_writable = store_writable_.exchange(outcome.ok());
  if (outcome.ok()) {
    metrics_.ObserveCommit(seconds);
    if (!was_writable) LogEvent(LogLevel::kInfo, "store_writable", {{"store", config_.store_path()}});
    return;
  }
  metrics_.Count(Counter::kStoreCommitFailures);
  if (was_writable) {
    LogEvent(LogLevel::kError, "store_write_failed",
             {{"store", config_.store_path()}, {"reason", std::string(outcome.message())}});
  }
}

absl::Status NodeImpl::Start() {
  if (!store_) return absl::FailedPreconditionError("this node was created for --check only");
  started_ms_ = clock_.NowMs();
  absl::StatusOr<uint64_t> pending = outbox_->Load();
  if (!pending.ok()) return pending.status();
  if (absl::Status s = api_->Start(); !s.ok()) return s;
  boost::system::error_code bec;
  if (!config_.listen().empty()) {
    std::string host;
    uint16_t port = 0;
    if (absl::Status s = ParseHostPort(config_.listen(), &host, &port); !s.ok()) return s;
    auto address = asio::ip::make_address(host, bec);
    if (bec) return absl::InvalidArgumentError(absl::StrCat("listen: '", host, "' is not an IP address"));
    listener_ = transport::Listener::Create(io_, {address, port}, *tls_, session_options_, this);
    if (absl::Status s = listener_->Start(); !s.ok())
      return absl::UnavailableError(absl::StrCat("listen: ", s.message()));
  }
  for (const auto& p : config_.peers()) {
    if (p.address().empty()) continue;
    auto link = transport::PeerLink::Create(
        io_, *tls_, {p.node_id(), p.address(), p.ca_file(), p.spki_sha256()}, session_options_, this);
    links_[p.node_id()] = link;
    link->Start();
  }
  if (!config_.metrics_address().empty()) {
    std::string host;
    uint16_t port = 0;
    if (absl::Status s = ParseHostPort(config_.metrics_address(), &host, &port); !s.ok()) return s;
    auto http = HttpEndpoint::Start(io_, host, port, [this](const HttpRequest& r, HttpRespond respond) {
      ServeHttp(r, std::move(respond));
    });
    if (!http.ok()) return absl::UnavailableError(absl::StrCat("metrics_address: ", http.status().message()));
    http_ = *std::move(http);
  }
  const unsigned n = std::max(2u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { io_.run(); });
  LogEvent(LogLevel::kInfo, "node_started",
           {{"node", config_.node_id()},
            {"scheme", config_.scheme()},
            {"listen", config_.listen()},
            {"api_socket", config_.api_socket()},
            {"pending", std::to_string(*pending)}});
  return absl::OkStatus();
}

void NodeImpl::RunUntilSignal() {
  std::promise<void> signalled;
  auto done = signalled.get_future();
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  // SIGHUP would otherwise end the node at once, without the graceful stop. There is no
  // configuration reload, and a hang-up must not take a national exchange down: it is logged
  // and the node goes on.
  signals_.add(SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [this, &signalled, &on_signal](const boost::system::error_code& ec, int number) {
        if (ec) return;
        if (number != SIGHUP) {
          signalled.set_value();
          return;
        }
        LogEvent(LogLevel::kWarning, "sighup_ignored",
                 {{"node", config_.node_id()},
                  {"reason", "the configuration is not reloaded; restart the node to apply a change"}});
        signals_.async_wait(on_signal);
      };
  signals_.async_wait(on_signal);
  done.wait();
  Stop();
}

void NodeImpl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  // No new sessions or submissions.
  if (api_) api_->Close();
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
  });
  if (listener_) listener_->Stop();
  if (http_) http_->Stop();
  // Every write already queued is finished and its sender acknowledged.
  if (store_) store_->Close();
  // Close sessions with Goodbye, then give the Goodbyes a moment to leave.
  for (auto& [id, link] : links_) link->Stop();
  const bool running = !threads_.empty();
  if (submitter_ && outbox_ && running) {
    std::promise<void> answered, closed;
    // Submitters still waiting for deliveries get the receipts as they stand.
    submitter_->Stop([&answered] { answered.set_value(); });
    outbox_->CloseSessions([&closed] { closed.set_value(); });
    answered.get_future().wait_for(std::chrono::seconds(2));
    closed.get_future().wait_for(std::chrono::seconds(2));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline) {
      auto any = std::make_shared<std::promise<bool>>();
      auto f = any->get_future();
      outbox_->AnyOpen([any](bool open) { any->set_value(open); });
      if (f.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready || !f.get()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // paces the poll of a bounded wait
    }
  }
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Only the socket this node bound: a --check, or a start refused because another node serves
  // the socket, must leave that node's socket alone.
  if (api_) api_->RemoveSocket();
  if (started_ms_ != 0) LogEvent(LogLevel::kInfo, "node_stopped", {{"node", config_.node_id()}});
}

// On one of io_'s threads. Nothing here blocks a strand: the inbox and the counts read the
// store on this thread or the outbox's reader, never on the outbox's or submitter's strand.
void NodeImpl::HandleApi(const v1::ApiRequest& request, ApiReply reply) {
  switch (request.kind_case()) {
    case v1::ApiRequest::kSubmit:
      return submitter_->Submit(request.submit(), std::move(reply));
    case v1::ApiRequest::kInbox:
      return reply(InboxResponse(*store_, config_.node_id(), request.inbox()));
    case v1::ApiRequest::kOutbox:
      return outbox_->Queues([reply = std::move(reply)](std::vector<v1::PeerQueue> queues) {
        v1::ApiResponse r;
        for (auto& q : queues) *r.add_outbox() = std::move(q);
        reply(std::move(r));
      });
    case v1::ApiRequest::kStatus:
      return outbox_->Queues([this, reply = std::move(reply)](std::vector<v1::PeerQueue> queues) {
        v1::ApiResponse r;
        v1::NodeStatus* st = r.mutable_status();
        st->set_node_id(config_.node_id());
        st->set_scheme(config_.scheme());
        st->set_started_ms(started_ms_);
        st->set_policy_origin(catalog_.origin());
        // Kept in memory by the store: no table is read.
        if (auto n = store_->NoticeCount(false); n.ok()) st->set_notices_stored(*n);
        if (auto n = store_->NoticeCount(true); n.ok()) st->set_own_notices(*n);
        for (auto& q : queues) *st->add_peers() = std::move(q);
        reply(std::move(r));
      });
    default:
      return reply(ErrorResponse(absl::InvalidArgumentError("empty request")));
  }
}

void NodeImpl::ServeHttp(const HttpRequest& request, HttpRespond respond) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path != "/metrics" && path != "/healthz") {
    return respond(
        {404, "text/plain; charset=utf-8", "not found: this endpoint serves /metrics and /healthz\n"});
  }
  if (request.method != "GET") return respond({405, "text/plain; charset=utf-8", "only GET is served\n"});
  if (path == "/healthz") {
    if (stopping_) return respond({503, "text/plain; charset=utf-8", "stopping\n"});
    if (!store_writable_) {
      std::string reason;
      {
        std::lock_guard<std::mutex> lock(store_failure_mu_);
        reason = store_failure_;
      }
      return respond({503, "text/plain; charset=utf-8",
                      absl::StrCat("the store cannot write: ", reason,
                                   "\nnotices are refused until a write succeeds\n")});
    }
    return respond({200, "text/plain; charset=utf-8", "ok\n"});
  }
  outbox_->Gauges([this, respond = std::move(respond)](std::vector<GaugeSample> gauges) {
    respond({200, "text/plain; version=0.0.4; charset=utf-8", metrics_.Render(gauges)});
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Node::Create(v1::NodeConfig config, Mode mode, NodeOptions options) {
  absl::StatusOr<engine::Catalog> catalog = absl::UnknownError("");
  if (config.policy_dir().empty()) {
    catalog = engine::Catalog::Load(policies::Embedded(), "embedded:policies");
  } else {
    auto files = engine::ReadPolicyDirectory(config.policy_dir());
    if (!files.ok()) return files.status();
    catalog = engine::Catalog::Load(*files, config.policy_dir());
  }
  if (!catalog.ok()) return catalog.status();
  auto node = std::make_unique<NodeImpl>(std::move(config), std::move(*catalog), std::move(options));
  if (absl::Status s = node->Load(mode == Mode::kCheck); !s.ok()) return s;
  return node;
}

}  // namespace sevex::node
