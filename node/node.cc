#include "node/node.h"

#include <openssl/rand.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <array>
#include <chrono>
#include <future>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <deque>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/assess.h"
#include "engine/catalog.h"
#include "engine/notice.h"
#include "engine/translate.h"
#include "node/api.h"
#include "node/clock.h"
#include "node/config.h"
#include "node/http_endpoint.h"
#include "node/metrics.h"
#include "node/routing.h"
#include "node/stix_export.h"
#include "node/signing.h"
#include "policies/embedded_policies.h"
#include "sevex/v1/frame.pb.h"
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

// Every time this node stamps comes from here (node/clock.h: the system clock, shifted by the
// SEVEX_TEST_CLOCK_OFFSET_MS test seam).
int64_t NowMs() { return WallClockMs(); }

// Test seam: names a control file; while it exists, the store's fsyncs (and, if the file says
// "full", its writes) fail (store/sqlite_vfs.h).
constexpr char kStoreFaultsEnv[] = "SEVEX_TEST_STORE_FAULTS";

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

bool IsNoticeId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == ':')) return false;
  }
  return true;
}

// A status code as a metric label: "invalid_argument", "unavailable", …
std::string CodeName(const absl::Status& s) { return absl::AsciiStrToLower(absl::StatusCodeToString(s.code())); }

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

// A notice's outbox item for `peer`: the frame as it will be sent (sequence set by the session),
// less the envelope, which the store keeps once, in the notice row.
store::OutboxItem NoticeItem(const std::string& peer, const std::string& origin, const std::string& id,
                             uint32_t revision, const std::string& envelope, const std::vector<std::string>& route,
                             int64_t now, const std::vector<std::string>& recipients = {}) {
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
  item.queued_at_ms = now;
  return item;
}

store::OutboxItem ReceiptItem(const std::string& peer, const v1::Receipt& receipt, int64_t now) {
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
  item.queued_at_ms = now;
  return item;
}

// `items` are the `enqueue` items of the committed units, concatenated in order: each gets the
// seq the store queued it under (0: not queued).
void SetQueued(std::vector<store::OutboxItem>& items, const std::vector<store::UnitResult>& results) {
  size_t i = 0;
  for (const store::UnitResult& r : results) {
    for (int64_t seq : r.queued) {
      if (i < items.size()) items[i++].seq = seq;
    }
  }
}

store::AuditRow Audit(std::string event, const std::string& origin, const std::string& id, uint32_t revision,
                      const std::string& peer, std::string reason) {
  return store::AuditRow{NowMs(), std::move(event), origin, id, revision, peer, std::move(reason)};
}

// A notice prepared for submission: checked and assessed, waiting to be signed in a batch.
struct Prepared {
  v1::Notice notice;
  Plan plan;
};

struct SubmitRequestState {
  std::vector<Prepared> notices;
  std::function<void(v1::ApiResponse)> reply;
  bool wait = false;
  uint32_t wait_timeout_ms = 0;
};

// A submission answered only once each of its notices is delivered or refused everywhere.
struct Waiter {
  v1::ApiResponse response;
  std::function<void(v1::ApiResponse)> reply;
  absl::flat_hash_map<std::string, int> open;  // notice key → index in response.submitted
  std::unique_ptr<boost::asio::steady_timer> timer;
  bool done = false;
};

// A hub passes AMBER and RED notices that do not name it without reading them: it stores them
// to forward them, but neither translates them nor lists them in its inbox.
bool ConduitOnly(const v1::Notice& notice, const std::string& self) {
  const v1::Marking::Tlp tlp = notice.marking().tlp();
  if (tlp == v1::Marking::CLEAR || tlp == v1::Marking::GREEN || notice.origin() == self) return false;
  const auto& to = notice.marking().recipients();
  return std::find(to.begin(), to.end(), self) == to.end();
}

class NodeImpl final : public Node, private transport::SessionHandler {
 public:
  NodeImpl(v1::NodeConfig config, engine::Catalog catalog)
      : config_(std::move(config)),
        catalog_(std::move(catalog)),
        translator_(catalog_),
        core_(asio::make_strand(io_)),
        api_acceptor_(io_),
        signals_(io_) {}

  ~NodeImpl() override {
    Stop();
    if (received_jsonl_fd_ >= 0) ::close(received_jsonl_fd_);
  }

  absl::Status Load(bool check_only);
  absl::Status Start() override;
  void RunUntilSignal() override;
  void Stop() override;

 private:
  struct InFlight {
    store::OutboxItem item;
    const PeerSession* session;
  };
  // A peer's queue in memory is the head of its queue in the store: `pending` and `in_flight`
  // together hold at most memory_limit_ items (besides them, only parked items and items whose
  // outcome is being stored). Every item in memory has a seq at most `loaded_seq`. When
  // `spilled`, the store holds further pending items after `loaded_seq`: Enqueue leaves them
  // there and Refill reads them, in queue order, as memory drains. So an item enters memory
  // once, either from its commit (Enqueue, while not spilled) or from a page read (seq above
  // `loaded_seq`), never both; it goes back to the front of `pending` when its session ends or
  // its outcome could not be stored, and leaves when its outcome is stored.
  struct PeerState {
    std::deque<store::OutboxItem> pending;
    absl::flat_hash_map<std::string, InFlight> in_flight;
    int64_t loaded_seq = 0;  // highest seq ever held in memory
    bool spilled = false;
    std::vector<std::weak_ptr<PeerSession>> sessions;  // open sessions, outbound first
    std::string last_error;
    int64_t last_error_ms = 0;
  };

  // SessionHandler (called on each session's strand).
  void OnOpen(const std::shared_ptr<PeerSession>& session) override;
  void OnNotice(const std::shared_ptr<PeerSession>& session, v1::NoticeFrame frame) override;
  void OnAck(const std::shared_ptr<PeerSession>& session, const v1::Ack& ack) override;
  void OnClose(const std::shared_ptr<PeerSession>& session, const absl::Status& reason) override;

  // On core_.
  void Enqueue(std::vector<store::OutboxItem> items);
  void Refill(const std::string& peer, PeerState& ps);
  void Pump(const std::string& peer);
  std::shared_ptr<PeerSession> SessionFor(PeerState& ps);
  void FlushSubmissions();
  void Park(store::OutboxItem item);
  store::CommitCallback ParkOnFailure(store::OutboxItem item);
  void StartWait(v1::ApiResponse response, std::function<void(v1::ApiResponse)> reply, uint32_t timeout_ms);
  void ReceiptsChanged(const std::string& key, const std::vector<v1::Receipt>& receipts);
  void FinishWait(const std::shared_ptr<Waiter>& w);

  // Reception, on any io thread.
  void Receive(std::shared_ptr<PeerSession> session, v1::NoticeFrame frame);
  void ReceiveReceipt(std::shared_ptr<PeerSession> session, v1::NoticeFrame frame);
  void Reject(const std::shared_ptr<PeerSession>& session, const v1::NoticeFrame& frame, std::string code,
              std::string reason);
  // `after` runs once the unit is durable and acked, with whether it was a duplicate.
  void CommitThenAck(std::shared_ptr<PeerSession> session, v1::NoticeFrame frame, store::Unit unit,
                     std::function<void(bool duplicate)> after = nullptr);
  void AppendReceived(const v1::InboxEntry& entry);

  // Local API.
  void AcceptApi();
  void ServeApi(std::shared_ptr<asio::local::stream_protocol::socket> socket);
  void HandleApi(const v1::ApiRequest& request, std::function<void(v1::ApiResponse)> reply);
  void Submit(const v1::SubmitRequest& request, std::function<void(v1::ApiResponse)> reply);
  v1::ApiResponse Inbox(const v1::InboxRequest& request);
  std::vector<v1::PeerQueue> Queues();
  void ServeHttp(const HttpRequest& request, HttpRespond respond);
  // Per peer, what memory holds, taken on core_; then the gauges, completed from the store
  // (off core_) for peers whose queue does not fit in memory.
  struct PeerSnapshot {
    std::string peer;
    size_t in_memory = 0;
    int64_t oldest_ms = 0;  // queued_at_ms of the oldest item in memory; 0 when none
    bool spilled = false;
    int64_t loaded_seq = 0;
    bool up = false;
  };
  std::vector<PeerSnapshot> SnapshotPeers();  // on core_
  std::vector<GaugeSample> PeerGauges(const std::vector<PeerSnapshot>& peers);

  v1::NodeConfig config_;
  engine::Catalog catalog_;
  engine::Translator translator_;
  const engine::CompiledPolicy* own_policy_ = nullptr;
  SigningKey signing_key_;
  absl::flat_hash_map<std::string, VerifyKey> verify_keys_;
  RootCache root_cache_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<transport::NodeTls> tls_;
  transport::SessionOptions session_options_;
  bool tamper_relayed_ = false;  // test seam: a hub that breaks origin signatures
  int received_jsonl_fd_ = -1;    // config received_jsonl, opened for appending
  std::mutex received_jsonl_mu_;
  bool received_jsonl_failed_ = false;  // logged once
  Metrics metrics_;
  std::atomic<bool> store_writable_{true};             // the last store transaction committed
  std::mutex store_failure_mu_;
  std::string store_failure_;  // guarded by store_failure_mu_: why the last failed transaction failed

  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> core_;
  std::shared_ptr<transport::Listener> listener_;
  // Declared after io_, so destroyed before it: its acceptor belongs to io_.
  std::shared_ptr<HttpEndpoint> http_;  // /metrics and /healthz, when configured
  absl::flat_hash_map<std::string, std::shared_ptr<transport::PeerLink>> links_;
  asio::local::stream_protocol::acceptor api_acceptor_;
  asio::signal_set signals_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
  bool api_socket_bound_ = false;
  int64_t started_ms_ = 0;

  // core_ state.
  absl::flat_hash_map<std::string, PeerState> peers_;
  std::vector<SubmitRequestState> submit_queue_;
  bool submit_in_progress_ = false;
  absl::flat_hash_map<std::string, uint32_t> submitting_;  // notice id → highest revision being committed
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<Waiter>>> waiters_;  // by notice key
  std::vector<store::OutboxItem> parked_;  // outcome not stored: sent again when park_timer_ fires
  asio::steady_timer park_timer_{core_};
  size_t memory_limit_ = 0;                  // config max_peer_items_in_memory
  asio::steady_timer refill_retry_{core_};  // armed when a page of a queue could not be read
  bool refill_failed_ = false;              // logged once until a read succeeds again
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
  for (const auto& p : config_.peers()) tls.peers.push_back({p.node_id(), p.address(), p.ca_file(), p.spki_sha256()});
  auto node_tls = transport::NodeTls::Create(tls);
  if (!node_tls.ok()) return node_tls.status();
  tls_ = std::move(*node_tls);

  memory_limit_ = config_.max_peer_items_in_memory() != 0 ? config_.max_peer_items_in_memory()
                                                         : kDefaultMaxPeerItemsInMemory;
  session_options_.window = config_.window();
  session_options_.max_frame_bytes = config_.max_frame_bytes();
  session_options_.heartbeat_interval = std::chrono::seconds(config_.heartbeat_seconds());
  session_options_.idle_timeout = std::chrono::seconds(config_.idle_timeout_seconds());

  absl::StatusOr<int64_t> clock_offset = ClockOffsetMs();
  if (!clock_offset.ok()) return clock_offset.status();
  if (*clock_offset != 0) {
    LogEvent(LogLevel::kWarning, "test_seam",
             {{"variable", kClockOffsetEnv}, {"offset_ms", std::to_string(*clock_offset)},
              {"effect", "this node's clock is shifted; for tests only"}});
  }

  store::SqliteOptions store_options;
  store_options.clock_ms = [] { return NowMs(); };
  // Logged when the store starts failing and when it commits again, not for every failure.
  store_options.on_transaction = [this](double seconds, const absl::Status& outcome) {
    if (!outcome.ok()) {
      std::lock_guard<std::mutex> lock(store_failure_mu_);
      store_failure_ = std::string(outcome.message());
    }
    const bool was_writable = store_writable_.exchange(outcome.ok());
    if (outcome.ok()) {
      metrics_.ObserveCommit(seconds);
      if (!was_writable) LogEvent(LogLevel::kInfo, "store_writable", {{"store", config_.store_path()}});
    } else {
      metrics_.Count(Counter::kStoreCommitFailures);
      if (was_writable) {
        LogEvent(LogLevel::kError, "store_write_failed",
                 {{"store", config_.store_path()}, {"reason", std::string(outcome.message())}});
      }
    }
  };
  if (const char* faults = std::getenv(kStoreFaultsEnv); faults != nullptr && *faults != '\0') {
    store_options.vfs = store::kFaultVfs;
    store::SetStoreFaultFile(faults);
    LogEvent(LogLevel::kWarning, "test_seam",
             {{"variable", kStoreFaultsEnv}, {"file", faults},
              {"effect", "the store's fsyncs fail while this file exists; for tests only"}});
  }
  for (const auto& p : config_.peers()) peers_[p.node_id()];
  if (check_only) {
    if (!config_.received_jsonl().empty()) {
      const std::string& file = config_.received_jsonl();
      const bool exists = ::access(file.c_str(), F_OK) == 0;
      const std::string target = exists ? file : std::filesystem::path(file).parent_path().string();
      if (::access(target.empty() ? "." : target.c_str(), exists ? W_OK : W_OK | X_OK) != 0) {
        return absl::InvalidArgumentError(absl::StrCat("received_jsonl: cannot ", exists ? "append to " : "create ",
                                                       file, ": ", std::strerror(errno)));
      }
    }
    return store::CheckSqliteStore(config_.store_path());
  }
  if (!config_.received_jsonl().empty()) {
    received_jsonl_fd_ = ::open(config_.received_jsonl().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (received_jsonl_fd_ < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("received_jsonl: cannot open ", config_.received_jsonl(), ": ", std::strerror(errno)));
    }
  }
  auto store = store::OpenSqliteStore(config_.store_path(), store_options);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  const char* tamper = std::getenv("SEVEX_TEST_TAMPER_RELAY");
  tamper_relayed_ = tamper != nullptr && std::string(tamper) == "1";
  return absl::OkStatus();
}

absl::Status NodeImpl::Start() {
  if (!store_) return absl::FailedPreconditionError("this node was created for --check only");
  started_ms_ = NowMs();
  // The head of each peer's queue, at most memory_limit_ items; Refill reads the rest as it
  // drains. Items of a peer removed from the configuration wait in the store.
  uint64_t pending = 0;
  for (auto& [peer, ps] : peers_) {
    auto page = store_->PendingPage(peer, 0, static_cast<uint32_t>(memory_limit_));
    if (!page.ok()) return page.status();
    for (auto& item : *page) {
      ps.loaded_seq = item.seq;
      ps.pending.push_back(std::move(item));
    }
    ps.spilled = ps.pending.size() == memory_limit_;
    pending += ps.pending.size();
    if (ps.spilled) {
      auto tail = store_->PendingAfter(peer, ps.loaded_seq);
      if (!tail.ok()) return tail.status();
      pending += tail->count;
      LogEvent(LogLevel::kInfo, "queue_beyond_memory",
               {{"peer", peer},
                {"in_memory", std::to_string(ps.pending.size())},
                {"in_store_only", std::to_string(tail->count)}});
    }
  }

  // The API socket: created by this user only (0600), replacing a stale socket file.
  std::error_code ec;
  if (std::filesystem::is_socket(config_.api_socket(), ec)) {
    // A process that takes the connection and does not answer (a stopped node) still owns it.
    auto other = CallApi(config_.api_socket(), [] { v1::ApiRequest r; r.mutable_status(); return r; }(),
                         absl::Seconds(5));
    if (other.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("api_socket: another node is already serving ", config_.api_socket()));
    }
    if (absl::IsDeadlineExceeded(other.status())) {
      return absl::FailedPreconditionError(absl::StrCat("api_socket: a process listens on ", config_.api_socket(),
                                                        " but does not answer (", other.status().message(),
                                                        "); stop it, or remove the socket if it is no node"));
    }
    std::filesystem::remove(config_.api_socket(), ec);
  }
  boost::system::error_code bec;
  const mode_t old_mask = ::umask(0177);
  api_acceptor_.open(asio::local::stream_protocol(), bec);
  if (!bec) api_acceptor_.bind(asio::local::stream_protocol::endpoint(config_.api_socket()), bec);
  ::umask(old_mask);
  if (!bec) api_acceptor_.listen(asio::socket_base::max_listen_connections, bec);
  if (bec) return absl::UnavailableError(absl::StrCat("api_socket: cannot listen on ", config_.api_socket(), ": ", bec.message()));
  api_socket_bound_ = true;

  if (!config_.listen().empty()) {
    std::string host;
    uint16_t port = 0;
    if (absl::Status s = ParseHostPort(config_.listen(), &host, &port); !s.ok()) return s;
    auto address = asio::ip::make_address(host, bec);
    if (bec) return absl::InvalidArgumentError(absl::StrCat("listen: '", host, "' is not an IP address"));
    listener_ = transport::Listener::Create(io_, {address, port}, *tls_, session_options_, this);
    if (absl::Status s = listener_->Start(); !s.ok()) return absl::UnavailableError(absl::StrCat("listen: ", s.message()));
  }
  for (const auto& p : config_.peers()) {
    if (p.address().empty()) continue;
    auto link = transport::PeerLink::Create(io_, *tls_, {p.node_id(), p.address(), p.ca_file(), p.spki_sha256()},
                                            session_options_, this);
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
  AcceptApi();
  const unsigned n = std::max(2u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { io_.run(); });
  LogEvent(LogLevel::kInfo, "node_started",
           {{"node", config_.node_id()}, {"scheme", config_.scheme()}, {"listen", config_.listen()},
            {"api_socket", config_.api_socket()}, {"pending", std::to_string(pending)}});
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
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    api_acceptor_.close(ignored);
    signals_.cancel(ignored);
  });
  if (listener_) listener_->Stop();
  if (http_) http_->Stop();
  // Every write already queued is finished and its sender acknowledged.
  if (store_) store_->Close();
  // Close sessions with Goodbye, then give the Goodbyes a moment to leave.
  for (auto& [id, link] : links_) link->Stop();
  std::promise<void> closed;
  asio::post(core_, [this, &closed] {
    // Submitters still waiting for deliveries get the receipts as they stand.
    std::vector<std::shared_ptr<Waiter>> waiting;
    for (auto& [key, list] : waiters_) waiting.insert(waiting.end(), list.begin(), list.end());
    for (const auto& w : waiting) FinishWait(w);
    for (auto& [id, ps] : peers_) {
      for (auto& w : ps.sessions) {
        if (auto s = w.lock()) s->Close("shutdown", "the node is stopping");
      }
    }
    closed.set_value();
  });
  if (!threads_.empty()) closed.get_future().wait_for(std::chrono::seconds(2));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    std::promise<bool> any;
    asio::post(core_, [this, &any] {
      bool open = false;
      for (auto& [id, ps] : peers_) {
        for (auto& w : ps.sessions) {
          if (auto session = w.lock(); session && session->open()) open = true;
        }
      }
      any.set_value(open);
    });
    auto f = any.get_future();
    if (f.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready || !f.get()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  io_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // Only the socket this node bound: a --check, or a start refused because another node serves
  // the socket, must leave that node's socket alone.
  if (api_socket_bound_) {
    std::error_code ec;
    std::filesystem::remove(config_.api_socket(), ec);
  }
  if (started_ms_ != 0) LogEvent(LogLevel::kInfo, "node_stopped", {{"node", config_.node_id()}});
}

// ---------------------------------------------------------------------------------------------
// Sessions and the outbox.

void NodeImpl::OnOpen(const std::shared_ptr<PeerSession>& session) {
  asio::post(core_, [this, session] {
    auto it = peers_.find(session->peer_id());
    if (it == peers_.end()) return;
    auto link = links_.find(session->peer_id());
    const bool outbound = link != links_.end() && link->second->session() == session;
    auto& sessions = it->second.sessions;
    std::erase_if(sessions, [](const std::weak_ptr<PeerSession>& w) { return w.expired(); });
    if (outbound) {
      sessions.insert(sessions.begin(), session);
    } else {
      sessions.push_back(session);
    }
    metrics_.Count(Counter::kSessionsOpened, {session->peer_id()});
    Pump(session->peer_id());
  });
}

void NodeImpl::OnClose(const std::shared_ptr<PeerSession>& session, const absl::Status& reason) {
  asio::post(core_, [this, session, reason] {
    auto it = peers_.find(session->peer_id());
    // OnOpen (earlier on this strand) listed every session that got as far as Hello.
    const bool was_open = it != peers_.end() && std::any_of(it->second.sessions.begin(), it->second.sessions.end(),
                                                             [&](const auto& w) { return w.lock() == session; });
    if (!was_open && !reason.ok()) metrics_.Count(Counter::kHandshakeFailures, {CodeName(reason)});
    if (it == peers_.end()) return;
    PeerState& ps = it->second;
    std::erase_if(ps.sessions, [&](const std::weak_ptr<PeerSession>& w) {
      auto s = w.lock();
      return s == nullptr || s == session;
    });
    if (!reason.ok()) {
      ps.last_error = std::string(reason.message());
      ps.last_error_ms = NowMs();
    }
    // What the session had in flight goes back to the front of the queue, to be sent again.
    std::vector<store::OutboxItem> back;
    for (auto i = ps.in_flight.begin(); i != ps.in_flight.end();) {
      if (i->second.session == session.get()) {
        back.push_back(std::move(i->second.item));
        ps.in_flight.erase(i++);
      } else {
        ++i;
      }
    }
    std::sort(back.begin(), back.end(), [](const auto& a, const auto& b) { return a.seq > b.seq; });
    for (auto& item : back) ps.pending.push_front(std::move(item));
    Pump(session->peer_id());
  });
}

std::shared_ptr<PeerSession> NodeImpl::SessionFor(PeerState& ps) {
  for (auto& w : ps.sessions) {
    if (auto s = w.lock(); s && s->open()) return s;
  }
  return nullptr;
}

// On core_, once the items' commit is durable, with their seqs. Commits call back in the order
// they committed, and each posts its Enqueue to core_ from there, so Enqueue sees every peer's
// items in seq order.
void NodeImpl::Enqueue(std::vector<store::OutboxItem> items) {
  std::vector<std::string> touched;
  for (auto& item : items) {
    auto it = peers_.find(item.peer);
    if (it == peers_.end()) continue;
    PeerState& ps = it->second;
    // Not queued (the peer already had an item with this key), or taken already by a page read
    // made after this item's commit and before this call.
    if (item.seq == 0 || item.seq <= ps.loaded_seq) continue;
    if (ps.spilled || ps.pending.size() + ps.in_flight.size() >= memory_limit_) {
      if (!ps.spilled) {
        LogEvent(LogLevel::kInfo, "queue_beyond_memory",
                 {{"peer", item.peer}, {"in_memory", std::to_string(ps.pending.size() + ps.in_flight.size())}});
      }
      ps.spilled = true;  // it stays in the store; Refill reads it after loaded_seq, in order
      continue;
    }
    ps.loaded_seq = item.seq;
    if (std::find(touched.begin(), touched.end(), item.peer) == touched.end()) touched.push_back(item.peer);
    ps.pending.push_back(std::move(item));
  }
  for (const auto& p : touched) Pump(p);
}

// On core_: once a spilled queue has drained to half the limit, the next items from the store,
// enough to fill it again. Reading at half rather than at each ack makes each read a page of
// many items.
void NodeImpl::Refill(const std::string& peer, PeerState& ps) {
  const size_t held = ps.pending.size() + ps.in_flight.size();
  if (!ps.spilled || held > memory_limit_ / 2) return;
  const size_t want = memory_limit_ - held;
  auto page = store_->PendingPage(peer, ps.loaded_seq, static_cast<uint32_t>(want));
  if (!page.ok()) {
    // Nothing is lost, the items stay in the store; try again in a second.
    if (!refill_failed_) {
      refill_failed_ = true;
      LogEvent(LogLevel::kError, "outbox_read_failed",
               {{"peer", peer}, {"reason", std::string(page.status().message())}});
    }
    refill_retry_.expires_after(std::chrono::seconds(1));
    refill_retry_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      for (auto& [id, state] : peers_) {
        if (state.spilled) Pump(id);
      }
    });
    return;
  }
  refill_failed_ = false;
  for (auto& item : *page) {
    ps.loaded_seq = item.seq;
    ps.pending.push_back(std::move(item));
  }
  // A short page reached the end of the queue as committed so far; what commits later is
  // appended by Enqueue again.
  if (page->size() < want) {
    ps.spilled = false;
    LogEvent(LogLevel::kInfo, "queue_in_memory",
             {{"peer", peer}, {"in_memory", std::to_string(ps.pending.size() + ps.in_flight.size())}});
  }
}

void NodeImpl::Pump(const std::string& peer) {
  if (stopping_) return;
  PeerState& ps = peers_[peer];
  auto session = SessionFor(ps);
  if (!session) return;
  Refill(peer, ps);
  while (!ps.pending.empty()) {
    store::OutboxItem& item = ps.pending.front();
    if (ps.in_flight.contains(item.key)) {  // already on its way (re-queued twice): drop the copy
      ps.pending.pop_front();
      continue;
    }
    v1::NoticeFrame frame;
    const bool notice = item.kind == store::ItemKind::kNotice;
    if (!frame.ParseFromString(item.frame) || (notice && item.envelope.empty())) {
      LogEvent(LogLevel::kError, "outbox_corrupt",
               {{"peer", peer}, {"key", item.key}, {"reason", notice && item.envelope.empty() ? "no stored notice" : "bad frame"}});
      ps.pending.pop_front();
      continue;
    }
    if (notice) frame.set_signed_notice(item.envelope);
    absl::Status s = session->Send(std::move(frame));
    if (s.ok()) {
      std::string key = item.key;
      ps.in_flight.emplace(std::move(key), InFlight{std::move(item), session.get()});
      ps.pending.pop_front();
      continue;
    }
    if (absl::IsInvalidArgument(s)) {  // larger than the peer accepts: it can never go
      store::Unit unit;
      unit.settle.push_back({peer, item.key, false, std::string(s.message())});
      unit.audit.push_back(Audit("refused", item.origin, item.notice_id, item.revision, peer, std::string(s.message())));
      store::OutboxItem refused = std::move(item);
      ps.pending.pop_front();
      store_->Commit({std::move(unit)}, ParkOnFailure(std::move(refused)));
      continue;
    }
    break;  // window full or session closing: an ack or the next session resumes
  }
}

// On core_. The outcome of a sent item could not be stored (the disk is full, say): the item
// goes back to its queue after a pause and is sent again; the peer answers DUPLICATE and the
// outcome is stored then. Without this the item would stay pending in the store, and its
// receipts at the origin, until the next restart.
void NodeImpl::Park(store::OutboxItem item) {
  parked_.push_back(std::move(item));
  if (parked_.size() > 1) return;  // the timer is already armed
  park_timer_.expires_after(std::chrono::seconds(1));
  park_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    std::vector<store::OutboxItem> items = std::move(parked_);
    parked_.clear();
    std::vector<std::string> touched;
    for (auto it = items.rbegin(); it != items.rend(); ++it) {  // keep their order at the front
      auto peer = peers_.find(it->peer);
      if (peer == peers_.end()) continue;
      if (std::find(touched.begin(), touched.end(), it->peer) == touched.end()) touched.push_back(it->peer);
      peer->second.pending.push_front(std::move(*it));
    }
    for (const auto& p : touched) Pump(p);
  });
}

store::CommitCallback NodeImpl::ParkOnFailure(store::OutboxItem item) {
  return [this, item = std::move(item)](absl::Status s, std::vector<store::UnitResult>) mutable {
    if (!s.ok()) asio::post(core_, [this, item = std::move(item)]() mutable { Park(std::move(item)); });
  };
}

void NodeImpl::OnAck(const std::shared_ptr<PeerSession>& session, const v1::Ack& ack) {
  asio::post(core_, [this, session, ack] {
    const std::string& peer = session->peer_id();
    PeerState& ps = peers_[peer];
    auto it = ps.in_flight.find(ack.tag());
    if (it == ps.in_flight.end()) return;
    store::OutboxItem item = std::move(it->second.item);
    ps.in_flight.erase(it);
    const bool delivered = ack.status() != v1::Ack::REJECTED;
    std::string reason;
    if (!delivered) {
      reason = absl::StrCat(ack.reason_code(), ": ", ack.reason());
      ps.last_error = reason;
      ps.last_error_ms = NowMs();
    }
    store::Unit unit;
    unit.settle.push_back({peer, item.key, delivered, reason});
    if (item.kind != store::ItemKind::kNotice) {
      store_->Commit({std::move(unit)}, ParkOnFailure(std::move(item)));
      return Pump(peer);
    }
    if (delivered) {
      metrics_.Count(Counter::kDelivered, {peer});
    } else {
      metrics_.Count(Counter::kRefusedByPeer, {peer, ack.reason_code()});
    }
    unit.audit.push_back(Audit(delivered ? "delivered" : "refused", item.origin, item.notice_id, item.revision, peer,
                               delivered ? (ack.status() == v1::Ack::DUPLICATE ? "duplicate" : "") : reason));
    // The frame as sent says which final recipients this hop serves (NoticeFrame.recipients)
    // and, for a relayed notice, the route back.
    v1::NoticeFrame sent;
    if (!sent.ParseFromString(item.frame)) LogEvent(LogLevel::kError, "outbox_corrupt", {{"peer", peer}, {"key", item.key}});
    v1::Receipt r;
    r.set_origin(item.origin);
    r.set_notice_id(item.notice_id);
    r.set_revision(item.revision);
    r.set_reporter(config_.node_id());
    r.set_time_ms(NowMs());
    if (item.origin == config_.node_id()) {
      // Own notice: the peer is a final recipient, or the hub that reaches some; when the hub
      // refuses, so are the recipients behind it (they will never hear of the notice).
      for (const std::string& recipient : sent.recipients()) {
        if (delivered && recipient != peer) continue;
        r.set_recipient(recipient);
        r.set_status(delivered ? v1::Receipt::DELIVERED : v1::Receipt::REFUSED);
        r.set_reason_code(delivered ? "" : ack.reason_code());
        r.set_reason(delivered ? ""
                     : recipient == peer ? ack.reason()
                                         : absl::StrCat("the hub ", peer, " refused it: ", ack.reason()));
        unit.receipts.push_back(RowOf(r));
      }
      std::vector<v1::Receipt> changed;
      for (const auto& row : unit.receipts) changed.push_back(ReceiptOf(row));
      store_->Commit({std::move(unit)}, [this, item = std::move(item), changed = std::move(changed)](
                                            absl::Status s, std::vector<store::UnitResult>) mutable {
        if (!s.ok()) return asio::post(core_, [this, item = std::move(item)]() mutable { Park(std::move(item)); });
        if (!changed.empty()) {
          asio::post(core_, [this, key = item.key, changed = std::move(changed)] { ReceiptsChanged(key, changed); });
        }
      });
      return Pump(peer);
    }
    // Relayed: the receipt goes back one hop, to the node this one had it from.
    r.set_recipient(peer);
    r.set_status(delivered ? v1::Receipt::DELIVERED : v1::Receipt::REFUSED);
    r.set_reason_code(delivered ? "" : ack.reason_code());
    r.set_reason(delivered ? "" : ack.reason());
    if (sent.route_size() >= 2) {
      store::OutboxItem back = ReceiptItem(sent.route(sent.route_size() - 2), r, NowMs());
      unit.enqueue.push_back(back);
      store_->Commit({std::move(unit)}, [this, back, item = std::move(item)](
                                            absl::Status s, std::vector<store::UnitResult> results) mutable {
        if (!s.ok()) return asio::post(core_, [this, item = std::move(item)]() mutable { Park(std::move(item)); });
        std::vector<store::OutboxItem> queued = {std::move(back)};
        SetQueued(queued, results);
        asio::post(core_, [this, queued = std::move(queued)]() mutable { Enqueue(std::move(queued)); });
      });
    } else {
      store_->Commit({std::move(unit)}, ParkOnFailure(std::move(item)));
    }
    Pump(peer);
  });
}

// ---------------------------------------------------------------------------------------------
// Reception.

void NodeImpl::OnNotice(const std::shared_ptr<PeerSession>& session, v1::NoticeFrame frame) {
  // Verification, assessment and translation run on any thread; the session's strand stays free.
  if (frame.kind() == v1::NoticeFrame::RECEIPT) {
    asio::post(io_, [this, session, frame = std::move(frame)]() mutable { ReceiveReceipt(session, std::move(frame)); });
  } else {
    asio::post(io_, [this, session, frame = std::move(frame)]() mutable { Receive(session, std::move(frame)); });
  }
}

void NodeImpl::Reject(const std::shared_ptr<PeerSession>& session, const v1::NoticeFrame& frame, std::string code,
                      std::string reason) {
  LogEvent(LogLevel::kWarning, "notice_rejected",
           {{"peer", session->peer_id()}, {"origin", frame.origin()}, {"notice_id", frame.notice_id()},
            {"revision", std::to_string(frame.revision())}, {"code", code}, {"reason", reason}});
  metrics_.Count(Counter::kRejected, {session->peer_id(), code});
  store::Unit unit;
  unit.audit.push_back(Audit("rejected", frame.origin(), frame.notice_id(), frame.revision(), session->peer_id(),
                             absl::StrCat(code, ": ", reason)));
  store_->Commit({std::move(unit)}, [session, frame, code, reason](absl::Status, std::vector<store::UnitResult>) {
    session->Ack(frame, v1::Ack::REJECTED, code, reason);
  });
}

void NodeImpl::CommitThenAck(std::shared_ptr<PeerSession> session, v1::NoticeFrame frame, store::Unit unit,
                             std::function<void(bool duplicate)> after) {
  std::vector<store::OutboxItem> items = unit.enqueue;
  store_->Commit({std::move(unit)}, [this, session, frame = std::move(frame), items = std::move(items),
                                     after = std::move(after)](
                                        absl::Status s, std::vector<store::UnitResult> results) mutable {
    if (!s.ok()) {
      // Not stored, so not acknowledged: the sender keeps it and sends it again.
      LogEvent(LogLevel::kError, "store_failed",
               {{"peer", session->peer_id()}, {"notice_id", frame.notice_id()}, {"reason", std::string(s.message())}});
      session->Close("unavailable", "this node cannot store notices right now");
      return;
    }
    const bool duplicate = !results.empty() && results[0] == store::UnitResult::kDuplicate;
    session->Ack(frame, duplicate ? v1::Ack::DUPLICATE : v1::Ack::ACCEPTED);
    if (frame.kind() != v1::NoticeFrame::RECEIPT) {
      metrics_.Count(duplicate ? Counter::kDuplicates : Counter::kReceived, {session->peer_id()});
    }
    if (after) after(duplicate);
    if (!duplicate && !items.empty()) {
      SetQueued(items, results);
      asio::post(core_, [this, items = std::move(items)]() mutable { Enqueue(std::move(items)); });
    }
  });
}

// Appends one received notice to the received_jsonl file, whole lines only.
void NodeImpl::AppendReceived(const v1::InboxEntry& entry) {
  auto lines = JsonLines({entry}, {config_.node_id(), config_.scheme()});
  std::string line;
  if (lines.ok() && lines->size() == 1) line = (*lines)[0].Write() + "\n";
  std::lock_guard<std::mutex> lock(received_jsonl_mu_);
  absl::Status failure;
  if (!lines.ok()) {
    failure = lines.status();
  } else {
    for (size_t done = 0; done < line.size();) {
      const ssize_t n = ::write(received_jsonl_fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failure = absl::UnavailableError(std::strerror(errno));
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  if (!failure.ok() && !received_jsonl_failed_) {
    received_jsonl_failed_ = true;  // once: a full disk would otherwise log every notice
    LogEvent(LogLevel::kError, "received_jsonl_failed",
             {{"file", config_.received_jsonl()}, {"notice_id", entry.notice().id()}, {"reason", std::string(failure.message())}});
  } else if (failure.ok()) {
    received_jsonl_failed_ = false;
  }
}

void NodeImpl::Receive(std::shared_ptr<PeerSession> session, v1::NoticeFrame frame) {
  const std::string& sender = session->peer_id();
  v1::SignedNotice envelope;
  v1::Notice notice;
  if (!envelope.ParseFromString(frame.signed_notice()) || !notice.ParseFromString(envelope.notice())) {
    return Reject(session, frame, "malformed", "the signed notice does not parse");
  }
  if (notice.origin() != frame.origin() || notice.id() != frame.notice_id() || notice.revision() != frame.revision()) {
    return Reject(session, frame, "header_mismatch", "the frame's origin, id or revision differ from the signed notice's");
  }
  if (frame.route_size() == 0 || frame.route(0) != frame.origin() || frame.route(frame.route_size() - 1) != sender) {
    return Reject(session, frame, "bad_route",
                  absl::StrCat("the route must start at the origin and end at the sender ", sender));
  }
  if (sender != frame.origin()) {
    const v1::PeerConfig* p = nullptr;
    for (const auto& c : config_.peers()) {
      if (c.node_id() == sender) p = &c;
    }
    if (p == nullptr || !p->relay()) {
      return Reject(session, frame, "not_a_relay",
                    absl::StrCat(sender, " sent a notice of ", frame.origin(), " but is not configured as a relay"));
    }
  }
  auto key = verify_keys_.find(frame.origin());
  if (key == verify_keys_.end()) {
    return Reject(session, frame, "unknown_origin", absl::StrCat("no signing key is configured for origin ", frame.origin()));
  }
  if (absl::Status s = VerifyEnvelope(key->second, frame.origin(), envelope, &root_cache_); !s.ok()) {
    return Reject(session, frame, "bad_signature", std::string(s.message()));
  }
  if (absl::Status s = MayReceive(config_, notice.marking(), frame.origin(), sender); !s.ok()) {
    return Reject(session, frame, "marking_forbids", std::string(s.message()));
  }

  store::StoredNotice stored;
  stored.origin = frame.origin();
  stored.notice_id = frame.notice_id();
  stored.revision = frame.revision();
  stored.retracted = notice.retracted();
  stored.received_from = sender;
  stored.received_at_ms = NowMs();
  stored.envelope = frame.signed_notice();
  // Translate into this node's scheme; the origin's assessment stays untouched in the envelope.
  if (!notice.retracted() && !ConduitOnly(notice, config_.node_id())) {
    auto attrs = engine::CheckNotice(catalog_.registry(), notice);
    const std::string from = notice.origin_assessment().scheme();
    absl::StatusOr<v1::Translation> t = absl::InvalidArgumentError("no attributes");
    if (attrs.ok()) t = translator_.TranslateNotice(notice, *attrs, catalog_.Find(from) ? from : "", config_.scheme());
    if (t.ok()) {
      stored.translation = t->SerializeAsString();
    } else {
      v1::Translation none;
      none.set_scheme(config_.scheme());
      none.set_reason(absl::StrCat("not translated: ", t.status().message()));
      stored.translation = none.SerializeAsString();
    }
  }

  store::Unit unit;
  unit.insert = std::move(stored);
  if (config_.has_relay()) {
    std::vector<std::string> route(frame.route().begin(), frame.route().end());
    std::vector<std::string> holding;
    if (notice.revision() > 1) {
      if (auto h = store_->PeersHolding(frame.origin(), frame.notice_id()); h.ok()) holding = *h;
    }
    const std::vector<std::string> only(frame.recipients().begin(), frame.recipients().end());
    Plan plan = PlanRelay(config_, notice.marking(), frame.origin(), route, holding, only);
    route.push_back(config_.node_id());
    std::string envelope_bytes = frame.signed_notice();
    // The test seam alters only the copy in flight; the stored notice stays as received.
    if (tamper_relayed_ && !envelope.root_signature().empty()) {
      v1::SignedNotice broken = envelope;
      (*broken.mutable_root_signature())[0] ^= 0x01;
      envelope_bytes = broken.SerializeAsString();
    }
    const int64_t now = NowMs();
    for (const auto& hop : plan.next_hops) {
      unit.enqueue.push_back(NoticeItem(hop, frame.origin(), frame.notice_id(), frame.revision(), envelope_bytes, route, now));
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
      r.set_reporter(config_.node_id());
      r.set_time_ms(now);
      unit.enqueue.push_back(ReceiptItem(sender, r, now));
    };
    for (const auto& [recipient, hop] : plan.recipients) receipt(recipient, v1::Receipt::PENDING, "", "");
    for (const auto& refusal : plan.refused) {
      receipt(refusal.recipient, v1::Receipt::REFUSED, refusal.code, refusal.reason);
      unit.audit.push_back(Audit("relay_refused", frame.origin(), frame.notice_id(), frame.revision(), refusal.recipient,
                                 absl::StrCat(refusal.code, ": ", refusal.reason)));
    }
  }
  std::function<void(bool)> after;
  if (received_jsonl_fd_ >= 0 && !ConduitOnly(notice, config_.node_id())) {
    auto entry = std::make_shared<v1::InboxEntry>();
    *entry->mutable_notice() = notice;
    if (!unit.insert->translation.empty()) entry->mutable_translation()->ParseFromString(unit.insert->translation);
    entry->set_received_from(sender);
    entry->set_received_at_ms(unit.insert->received_at_ms);
    after = [this, entry](bool duplicate) {
      if (!duplicate) asio::post(io_, [this, entry] { AppendReceived(*entry); });
    };
  }
  CommitThenAck(std::move(session), std::move(frame), std::move(unit), std::move(after));
}

void NodeImpl::ReceiveReceipt(std::shared_ptr<PeerSession> session, v1::NoticeFrame frame) {
  v1::Receipt receipt;
  if (!receipt.ParseFromString(frame.signed_notice()) || receipt.origin() != frame.origin() ||
      receipt.notice_id() != frame.notice_id() || receipt.revision() != frame.revision()) {
    return Reject(session, frame, "malformed", "the receipt does not parse or does not match its frame");
  }
  if (receipt.reporter() != session->peer_id()) {
    return Reject(session, frame, "bad_receipt",
                  absl::StrCat("a receipt reported by ", receipt.reporter(), " arrived from ", session->peer_id()));
  }
  store::Unit unit;
  if (receipt.origin() == config_.node_id()) {
    unit.receipts.push_back(RowOf(receipt));
    const std::string key = NoticeKey(receipt.origin(), receipt.notice_id(), receipt.revision());
    return CommitThenAck(std::move(session), std::move(frame), std::move(unit), [this, key, receipt](bool) {
      asio::post(core_, [this, key, receipt] { ReceiptsChanged(key, {receipt}); });
    });
  } else {
    // Not ours: pass it back towards the origin, the way the notice came.
    auto held = store_->Get(receipt.origin(), receipt.notice_id(), receipt.revision());
    if (!held.ok() || !held->has_value() || (*held)->received_from.empty()) {
      return Reject(session, frame, "unknown_notice", "a receipt for a notice this node did not pass on");
    }
    v1::Receipt forwarded = receipt;
    forwarded.set_reporter(config_.node_id());
    unit.enqueue.push_back(ReceiptItem((*held)->received_from, forwarded, NowMs()));
  }
  CommitThenAck(std::move(session), std::move(frame), std::move(unit));
}

// ---------------------------------------------------------------------------------------------
// Submission.

void NodeImpl::Submit(const v1::SubmitRequest& request, std::function<void(v1::ApiResponse)> reply) {
  auto fail = [&](const absl::Status& s) {
    metrics_.Count(Counter::kSubmissionsFailed, {CodeName(s)});
    v1::ApiResponse r;
    r.set_error(std::string(s.message()));
    r.set_error_code(static_cast<uint32_t>(s.code()));
    reply(std::move(r));
  };
  const std::string where = request.where().empty() ? "<submission>" : request.where();
  auto notices = engine::ParseNotices(request.json(), where);
  if (!notices.ok()) return fail(notices.status());
  if (notices->empty()) return fail(absl::InvalidArgumentError(absl::StrCat(where, ": no notices")));
  // `reply` moves into `state` only once every notice has passed: until then `fail` answers.
  SubmitRequestState state;
  state.wait = request.wait();
  state.wait_timeout_ms = request.wait_timeout_ms() == 0 ? 30000 : std::min(request.wait_timeout_ms(), 3600000u);
  const int64_t now = NowMs();
  for (size_t i = 0; i < notices->size(); ++i) {
    v1::Notice& n = (*notices)[i];
    const std::string at = notices->size() > 1 ? absl::StrCat(where, " (notice ", i + 1, ")") : where;
    if (!n.origin().empty() && n.origin() != config_.node_id()) {
      return fail(absl::InvalidArgumentError(absl::StrCat(at, ": origin '", n.origin(), "' is not this node (",
                                                          config_.node_id(), "); a node submits only its own notices")));
    }
    n.set_origin(config_.node_id());
    if (n.id().empty()) n.set_id(NewUuid());
    if (!IsNoticeId(n.id())) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat(at, ": id '", n.id(), "' must be 1–128 letters, digits, '-', '.', '_' or ':' (a UUID)")));
    }
    if (n.revision() == 0) n.set_revision(1);
    if (n.revision() > engine::kMaxRevision) {
      return fail(absl::InvalidArgumentError(absl::StrCat(at, ": revision ", n.revision(), " is above the highest, ",
                                                          engine::kMaxRevision)));
    }
    if (n.marking().tlp() == v1::Marking::TLP_UNSPECIFIED) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat(at, ": marking.tlp is required (CLEAR, GREEN, AMBER, AMBER_STRICT or RED)")));
    }
    const bool named = n.marking().tlp() == v1::Marking::AMBER || n.marking().tlp() == v1::Marking::AMBER_STRICT ||
                       n.marking().tlp() == v1::Marking::RED;
    if (named && n.marking().recipients().empty()) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat(at, ": ", TlpName(n.marking().tlp()), " needs marking.recipients (the node ids it may reach)")));
    }
    auto attrs = engine::CheckNotice(catalog_.registry(), n);
    if (!attrs.ok()) return fail(absl::InvalidArgumentError(absl::StrCat(at, ": ", attrs.status().message())));
    if (!n.retracted()) *n.mutable_origin_assessment() = engine::AssessNotice(catalog_, *own_policy_, *attrs, &n);
    n.mutable_created_at()->set_seconds(now / 1000);
    n.mutable_created_at()->set_nanos(static_cast<int32_t>(now % 1000) * 1000000);
    state.notices.push_back({std::move(n), {}});
  }
  state.reply = std::move(reply);
  // Revisions are checked and the batch signed on the core strand, in submission order.
  asio::post(core_, [this, state = std::move(state)]() mutable {
    auto fail_on_core = [&](const absl::Status& s) {
      metrics_.Count(Counter::kSubmissionsFailed, {CodeName(s)});
      v1::ApiResponse r;
      r.set_error(std::string(s.message()));
      r.set_error_code(static_cast<uint32_t>(s.code()));
      state.reply(std::move(r));
    };
    if (stopping_) return fail_on_core(absl::UnavailableError("the node is stopping"));
    absl::flat_hash_map<std::string, uint32_t> in_request;
    for (Prepared& p : state.notices) {
      const v1::Notice& n = p.notice;
      uint32_t latest = 0;
      if (auto it = submitting_.find(n.id()); it != submitting_.end()) latest = it->second;
      if (auto it = in_request.find(n.id()); it != in_request.end()) latest = std::max(latest, it->second);
      auto stored = store_->Latest(n.origin(), n.id());
      if (!stored.ok()) return fail_on_core(stored.status());
      if (stored->has_value()) latest = std::max(latest, (*stored)->revision);
      if (n.revision() <= latest) {
        return fail_on_core(absl::AlreadyExistsError(
            latest >= engine::kMaxRevision
                ? absl::StrCat("notice ", n.id(), " revision ", n.revision(), " is already submitted, and revision ",
                               latest, " is the highest: submit a new notice")
                : absl::StrCat("notice ", n.id(), " revision ", n.revision(),
                               " is already submitted; the next revision is ", latest + 1)));
      }
      if (n.retracted() && latest == 0) {
        return fail_on_core(absl::InvalidArgumentError(
            absl::StrCat("notice ", n.id(), " is a retraction of a notice this node never submitted")));
      }
      in_request[n.id()] = n.revision();
      std::vector<std::string> holding;
      if (latest > 0) {
        auto h = store_->PeersHolding(n.origin(), n.id());
        if (!h.ok()) return fail_on_core(h.status());
        holding = *h;
      }
      p.plan = PlanFromOrigin(config_, n.marking(), holding);
    }
    for (const auto& [id, rev] : in_request) submitting_[id] = std::max(submitting_[id], rev);
    submit_queue_.push_back(std::move(state));
    if (!submit_in_progress_) FlushSubmissions();
  });
}

// Signs everything queued as one batch and commits it as one group; the next batch forms
// while this one is being written.
void NodeImpl::FlushSubmissions() {
  if (submit_queue_.empty()) return;
  submit_in_progress_ = true;
  std::vector<SubmitRequestState> batch = std::move(submit_queue_);
  submit_queue_.clear();
  std::vector<std::string> serialized;
  for (const auto& req : batch) {
    for (const auto& p : req.notices) serialized.push_back(p.notice.SerializeAsString());
  }
  std::vector<v1::SignedNotice> envelopes = SignBatch(signing_key_, serialized);
  const int64_t now = NowMs();
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
        unit.enqueue.push_back(NoticeItem(hop, n.origin(), n.id(), n.revision(), envelope, {n.origin()}, now, via));
      }
      v1::Submitted* s = responses[r].add_submitted();
      s->set_id(n.id());
      s->set_revision(n.revision());
      s->mutable_assessment()->Swap(n.mutable_origin_assessment());  // signed already: only the answer needs it
      for (const auto& [recipient, hop] : p.plan.recipients) {
        s->add_recipients(recipient);
        unit.receipts.push_back({n.origin(), n.id(), n.revision(), recipient, v1::Receipt::PENDING, "", "",
                                 config_.node_id(), now});
      }
      for (const auto& refusal : p.plan.refused) {
        s->add_refused(absl::StrCat(refusal.recipient, ": ", refusal.reason));
        unit.receipts.push_back({n.origin(), n.id(), n.revision(), refusal.recipient, v1::Receipt::REFUSED,
                                 refusal.code, refusal.reason, config_.node_id(), now});
      }
      if (batch[r].wait) {
        for (const auto& row : unit.receipts) *s->add_receipts() = ReceiptOf(row);
      }
      items.insert(items.end(), unit.enqueue.begin(), unit.enqueue.end());
      units.push_back(std::move(unit));
    }
  }
  store_->Commit(std::move(units), [this, batch = std::move(batch), responses = std::move(responses),
                                    items = std::move(items)](absl::Status s,
                                                              std::vector<store::UnitResult> results) mutable {
    if (s.ok()) SetQueued(items, results);
    asio::post(core_, [this, s, batch = std::move(batch), responses = std::move(responses),
                       items = std::move(items)]() mutable {
      for (size_t r = 0; r < batch.size(); ++r) {
        for (const auto& p : batch[r].notices) {
          auto it = submitting_.find(p.notice.id());
          if (it != submitting_.end() && it->second <= p.notice.revision()) submitting_.erase(it);
        }
        if (s.ok()) metrics_.Count(Counter::kSubmitted, {}, batch[r].notices.size());
        if (!s.ok()) metrics_.Count(Counter::kSubmissionsFailed, {CodeName(s)});
        if (s.ok() && batch[r].wait) {
          StartWait(std::move(responses[r]), std::move(batch[r].reply), batch[r].wait_timeout_ms);
        } else if (s.ok()) {
          batch[r].reply(std::move(responses[r]));
        } else {
          v1::ApiResponse e;
          e.set_error(absl::StrCat("not stored: ", s.message()));
          e.set_error_code(static_cast<uint32_t>(s.code()));
          batch[r].reply(std::move(e));
        }
      }
      if (s.ok()) Enqueue(std::move(items));
      submit_in_progress_ = false;
      FlushSubmissions();
    });
  });
}

void NodeImpl::StartWait(v1::ApiResponse response, std::function<void(v1::ApiResponse)> reply, uint32_t timeout_ms) {
  auto w = std::make_shared<Waiter>();
  w->response = std::move(response);
  w->reply = std::move(reply);
  for (int i = 0; i < w->response.submitted_size(); ++i) {
    const v1::Submitted& s = w->response.submitted(i);
    const bool pending = std::any_of(s.receipts().begin(), s.receipts().end(),
                                     [](const v1::Receipt& r) { return r.status() == v1::Receipt::PENDING; });
    if (!pending) continue;  // refused at the origin, or nobody to send to
    std::string key = NoticeKey(config_.node_id(), s.id(), s.revision());
    w->open[key] = i;
    waiters_[key].push_back(w);
  }
  if (w->open.empty()) return FinishWait(w);
  w->timer = std::make_unique<asio::steady_timer>(core_, std::chrono::milliseconds(timeout_ms));
  w->timer->async_wait([this, w](const boost::system::error_code& ec) {
    if (!ec) FinishWait(w);
  });
}

// On core_, after receipts of an own notice were committed: the waiters' copies follow them
// (a final state is never replaced by PENDING, as in the store).
void NodeImpl::ReceiptsChanged(const std::string& key, const std::vector<v1::Receipt>& receipts) {
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
    const bool pending = std::any_of(s->receipts().begin(), s->receipts().end(),
                                     [](const v1::Receipt& r) { return r.status() == v1::Receipt::PENDING; });
    if (pending) continue;
    w->open.erase(open);
    std::erase(it->second, w);
    if (w->open.empty()) FinishWait(w);
  }
  if (it->second.empty()) waiters_.erase(it);
}

void NodeImpl::FinishWait(const std::shared_ptr<Waiter>& w) {
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

// ---------------------------------------------------------------------------------------------
// Local API.

void NodeImpl::AcceptApi() {
  api_acceptor_.async_accept([this](const boost::system::error_code& ec, asio::local::stream_protocol::socket socket) {
    if (ec) return;  // closed: the node is stopping
    ServeApi(std::make_shared<asio::local::stream_protocol::socket>(std::move(socket)));
    AcceptApi();
  });
}

void NodeImpl::ServeApi(std::shared_ptr<asio::local::stream_protocol::socket> socket) {
  auto header = std::make_shared<std::array<unsigned char, 4>>();
  asio::async_read(*socket, asio::buffer(*header), [this, socket, header](const boost::system::error_code& ec, size_t) {
    if (ec) return;
    const uint32_t size = uint32_t{(*header)[0]} << 24 | uint32_t{(*header)[1]} << 16 | uint32_t{(*header)[2]} << 8 |
                          (*header)[3];
    if (size > kMaxApiMessageBytes) return;  // closing the socket tells the client
    auto body = std::make_shared<std::string>(size, '\0');
    asio::async_read(*socket, asio::buffer(*body), [this, socket, body](const boost::system::error_code& ec, size_t) {
      if (ec) return;
      v1::ApiRequest request;
      auto reply = [this, socket](v1::ApiResponse response) {
        auto out = std::make_shared<std::string>(4, '\0');
        const std::string bytes = response.SerializeAsString();
        const uint32_t n = static_cast<uint32_t>(bytes.size());
        (*out)[0] = static_cast<char>(n >> 24);
        (*out)[1] = static_cast<char>(n >> 16);
        (*out)[2] = static_cast<char>(n >> 8);
        (*out)[3] = static_cast<char>(n);
        out->append(bytes);
        asio::async_write(*socket, asio::buffer(*out), [this, socket, out](const boost::system::error_code& ec, size_t) {
          if (!ec) ServeApi(socket);
        });
      };
      if (!request.ParseFromString(*body)) {
        v1::ApiResponse r;
        r.set_error("the request does not parse as an ApiRequest");
        r.set_error_code(static_cast<uint32_t>(absl::StatusCode::kInvalidArgument));
        return reply(std::move(r));
      }
      HandleApi(request, std::move(reply));
    });
  });
}

void NodeImpl::HandleApi(const v1::ApiRequest& request, std::function<void(v1::ApiResponse)> reply) {
  switch (request.kind_case()) {
    case v1::ApiRequest::kSubmit:
      return Submit(request.submit(), std::move(reply));
    case v1::ApiRequest::kInbox:
      return reply(Inbox(request.inbox()));
    case v1::ApiRequest::kOutbox:
    case v1::ApiRequest::kStatus: {
      const bool status = request.kind_case() == v1::ApiRequest::kStatus;
      asio::post(core_, [this, status, reply = std::move(reply)] {
        v1::ApiResponse r;
        std::vector<v1::PeerQueue> queues = Queues();
        if (status) {
          v1::NodeStatus* st = r.mutable_status();
          st->set_node_id(config_.node_id());
          st->set_scheme(config_.scheme());
          st->set_started_ms(started_ms_);
          st->set_policy_origin(catalog_.origin());
          if (auto n = store_->NoticeCount(false); n.ok()) st->set_notices_stored(*n);
          if (auto n = store_->NoticeCount(true); n.ok()) st->set_own_notices(*n);
          for (auto& q : queues) *st->add_peers() = std::move(q);
        } else {
          for (auto& q : queues) *r.add_outbox() = std::move(q);
        }
        reply(std::move(r));
      });
      return;
    }
    default: {
      v1::ApiResponse r;
      r.set_error("empty request");
      r.set_error_code(static_cast<uint32_t>(absl::StatusCode::kInvalidArgument));
      return reply(std::move(r));
    }
  }
}

// On core_: the store's counts joined with what only memory knows (connection, last error).
std::vector<v1::PeerQueue> NodeImpl::Queues() {
  std::vector<v1::PeerQueue> out;
  auto counts = store_->OutboxCounts();
  for (const auto& p : config_.peers()) {
    v1::PeerQueue q;
    q.set_peer(p.node_id());
    if (counts.ok()) {
      for (const auto& c : *counts) {
        if (c.peer != p.node_id()) continue;
        q.set_pending(c.pending);
        q.set_oldest_pending_ms(c.oldest_pending_ms);
        q.set_delivered(c.delivered);
        q.set_refused(c.refused);
      }
    }
    PeerState& ps = peers_[p.node_id()];
    q.set_connected(SessionFor(ps) != nullptr);
    q.set_last_error(ps.last_error);
    out.push_back(std::move(q));
  }
  return out;
}

std::vector<NodeImpl::PeerSnapshot> NodeImpl::SnapshotPeers() {
  std::vector<PeerSnapshot> out;
  for (const auto& p : config_.peers()) {
    PeerState& ps = peers_[p.node_id()];
    PeerSnapshot& snap = out.emplace_back();
    snap.peer = p.node_id();
    snap.in_memory = ps.pending.size() + ps.in_flight.size();
    for (const auto& item : ps.pending) {
      if (snap.oldest_ms == 0 || item.queued_at_ms < snap.oldest_ms) snap.oldest_ms = item.queued_at_ms;
    }
    for (const auto& [key, f] : ps.in_flight) {
      if (snap.oldest_ms == 0 || f.item.queued_at_ms < snap.oldest_ms) snap.oldest_ms = f.item.queued_at_ms;
    }
    snap.spilled = ps.spilled;
    snap.loaded_seq = ps.loaded_seq;
    snap.up = SessionFor(ps) != nullptr;
  }
  return out;
}

// Off core_: the count of a long queue's tail reads the store's index (tens of milliseconds per
// 100,000 items), which must not hold up the sessions. An item read into memory after the
// snapshot is counted once, in the tail.
std::vector<GaugeSample> NodeImpl::PeerGauges(const std::vector<PeerSnapshot>& peers) {
  std::vector<GaugeSample> depth, memory, age, up;
  const int64_t now = NowMs();
  for (const PeerSnapshot& snap : peers) {
    uint64_t count = snap.in_memory;
    int64_t oldest = snap.oldest_ms;
    if (snap.spilled) {
      if (auto tail = store_->PendingAfter(snap.peer, snap.loaded_seq); tail.ok()) {
        count += tail->count;
        if (oldest == 0 || (tail->first_queued_ms != 0 && tail->first_queued_ms < oldest)) {
          oldest = tail->first_queued_ms;
        }
      }
    }
    const std::vector<std::pair<std::string, std::string>> peer = {{"peer", snap.peer}};
    depth.push_back({"sevex_peer_queue_depth",
                     "Items queued for the peer and not yet acknowledged (pending and in flight), in memory "
                     "or in the store.",
                     peer, static_cast<double>(count)});
    memory.push_back({"sevex_peer_queue_in_memory",
                      "Of those, items held in memory (at most max_peer_items_in_memory); the rest wait in the store.",
                      peer, static_cast<double>(snap.in_memory)});
    age.push_back({"sevex_peer_oldest_pending_seconds", "Age of the oldest unacknowledged item for the peer; 0 when none.",
                   peer, oldest == 0 ? 0.0 : std::max<int64_t>(0, now - oldest) / 1000.0});
    up.push_back({"sevex_peer_session_up", "1 when an authenticated session with the peer is open.", peer,
                  snap.up ? 1.0 : 0.0});
  }
  std::vector<GaugeSample> all = std::move(depth);
  all.insert(all.end(), memory.begin(), memory.end());
  all.insert(all.end(), age.begin(), age.end());
  all.insert(all.end(), up.begin(), up.end());
  return all;
}

void NodeImpl::ServeHttp(const HttpRequest& request, HttpRespond respond) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path != "/metrics" && path != "/healthz") {
    return respond({404, "text/plain; charset=utf-8", "not found: this endpoint serves /metrics and /healthz\n"});
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
  asio::post(core_, [this, respond = std::move(respond)]() mutable {
    asio::post(io_, [this, peers = SnapshotPeers(), respond = std::move(respond)] {
      respond({200, "text/plain; version=0.0.4; charset=utf-8", metrics_.Render(PeerGauges(peers))});
    });
  });
}

v1::ApiResponse NodeImpl::Inbox(const v1::InboxRequest& request) {
  v1::ApiResponse r;
  auto rows = store_->Notices(request.since_ms(), 0);
  if (!rows.ok()) {
    r.set_error(std::string(rows.status().message()));
    r.set_error_code(static_cast<uint32_t>(rows.status().code()));
    return r;
  }
  for (const auto& row : *rows) {
    if (row.own != request.own()) continue;
    if (request.limit() != 0 && static_cast<uint32_t>(r.inbox_size()) >= request.limit()) break;
    v1::SignedNotice envelope;
    v1::Notice notice;
    if (!envelope.ParseFromString(row.envelope) || !notice.ParseFromString(envelope.notice())) {
      notice.set_origin(row.origin);
      notice.set_id(row.notice_id);
      notice.set_revision(row.revision);
    } else if (ConduitOnly(notice, config_.node_id())) {
      continue;
    }
    v1::InboxEntry* e = r.add_inbox();
    *e->mutable_notice() = std::move(notice);
    if (!row.translation.empty()) e->mutable_translation()->ParseFromString(row.translation);
    e->set_received_from(row.received_from);
    e->set_received_at_ms(row.received_at_ms);
    if (row.own) {
      if (auto receipts = store_->Receipts(row.origin, row.notice_id, row.revision); receipts.ok()) {
        for (const auto& rc : *receipts) *e->add_receipts() = ReceiptOf(rc);
      }
    }
  }
  return r;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Node>> Node::Create(v1::NodeConfig config, Mode mode) {
  absl::StatusOr<engine::Catalog> catalog = absl::UnknownError("");
  if (config.policy_dir().empty()) {
    catalog = engine::Catalog::Load(policies::Embedded(), "embedded:policies");
  } else {
    auto files = engine::ReadPolicyDirectory(config.policy_dir());
    if (!files.ok()) return files.status();
    catalog = engine::Catalog::Load(*files, config.policy_dir());
  }
  if (!catalog.ok()) return catalog.status();
  auto node = std::make_unique<NodeImpl>(std::move(config), std::move(*catalog));
  if (absl::Status s = node->Load(mode == Mode::kCheck); !s.ok()) return s;
  return node;
}

}  // namespace sevex::node
