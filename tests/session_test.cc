// Sessions between real nodes on 127.0.0.1 (transport/session, listener, peer_link): Hello,
// notices and acks both ways, the window as back-pressure, protocol violations ending only the
// offending session while the listener keeps serving, heartbeats, idle and handshake timeouts,
// and reconnection after the peer restarts.
#include "transport/session.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/transport_support.h"
#include "transport/event_log.h"
#include "transport/listener.h"
#include "transport/peer_link.h"
#include "transport/pki.h"

namespace sevex::transport {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Reads and drops what comes until the other side closes the connection (or it fails): a raw
// client's way of waiting for the server to have dealt with what it sent. Bounded by the
// server's own handshake and idle timeouts.
template <typename Stream>
void ReadUntilClosed(Stream& s) {
  boost::system::error_code ec;
  char buf[512];
  while (!ec) s.read_some(asio::buffer(buf), ec);
}

// Records what sessions report; tests wait on it with a deadline.
class Recorder : public SessionHandler {
 public:
  std::function<void(const std::shared_ptr<PeerSession>&, const v1::NoticeFrame&)> on_notice;

  void OnOpen(const std::shared_ptr<PeerSession>& s) override { Add([&] { opened.push_back(s); }); }
  void OnNotice(const std::shared_ptr<PeerSession>& s, v1::NoticeFrame n) override {
    if (on_notice) on_notice(s, n);
    Add([&] { notices.push_back({s, n}); });
  }
  void OnAck(const std::shared_ptr<PeerSession>&, const v1::Ack& a) override { Add([&] { acks.push_back(a); }); }
  void OnClose(const std::shared_ptr<PeerSession>& s, const absl::Status& r) override {
    Add([&] { closed.push_back({s->peer_id(), r}); });
  }

  // Waits until `done()` holds (checked under the lock) or five seconds pass.
  bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 5000ms) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, limit, done);
  }
  template <typename F>
  auto Locked(F f) {
    std::lock_guard<std::mutex> lock(mu);
    return f();
  }

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::shared_ptr<PeerSession>> opened;
  std::vector<std::pair<std::shared_ptr<PeerSession>, v1::NoticeFrame>> notices;
  std::vector<v1::Ack> acks;
  std::vector<std::pair<std::string, absl::Status>> closed;

 private:
  template <typename F>
  void Add(F f) {
    {
      std::lock_guard<std::mutex> lock(mu);
      f();
    }
    cv.notify_all();
  }
};

IssueOptions Node(std::string id) {
  IssueOptions o;
  o.node_id = std::move(id);
  return o;
}

v1::NoticeFrame Notice(int i) {
  v1::NoticeFrame n;
  n.set_origin("client.node");
  n.set_notice_id("n-" + std::to_string(i));
  n.set_revision(1);
  n.set_signed_notice(std::string(1024, 'x'));
  return n;
}

class SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sevex-session-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_TRUE(InitCa(root_, "test CA", 30).ok());
    for (const char* id : {"server.node", "client.node", "other.node"}) ASSERT_TRUE(IssueNode(root_, Node(id)).ok());
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static std::unique_ptr<NodeTls> Tls(const std::string& self, std::vector<std::string> peers) {
    auto tls = sevex::testing::DevPkiNodeTls(root_, self, peers);
    EXPECT_TRUE(tls.ok()) << tls.status();
    return std::move(tls).value();
  }

  void SetUp() override {
    server_tls_ = Tls("server.node", {"client.node", "other.node"});
    client_tls_ = Tls("client.node", {"server.node"});
    work_.emplace(asio::make_work_guard(io_));
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] {
        io_.run();
        ++ran_out_;
      });
    }
  }
  void TearDown() override {
    SetLogSink(nullptr);
    if (link_) link_->Stop();
    if (listener_) listener_->Stop();
    // The sessions end on their own once link and listener are stopped; a test that left one
    // open (heartbeats keep it busy) is stopped after a second.
    work_.reset();
    const auto deadline = std::chrono::steady_clock::now() + 1s;
    while (ran_out_ < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    io_.stop();
    for (auto& t : threads_) t.join();
  }

  void Listen(SessionOptions options, uint16_t port = 0) {
    listener_ = Listener::Create(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), *server_tls_, options,
                                 &server_);
    ASSERT_TRUE(listener_->Start().ok());
  }
  void Link(SessionOptions options = {}) {
    link_ = PeerLink::Create(io_, *client_tls_,
                             {"server.node", "127.0.0.1:" + std::to_string(listener_->endpoint().port()), "", ""},
                             options, &client_, BackoffOptions{50ms, 400ms}, /*seed=*/7);
    link_->Start();
  }
  std::shared_ptr<PeerSession> OpenClientSession() {
    EXPECT_TRUE(client_.WaitFor([&] { return !client_.opened.empty(); })) << "the client session did not open";
    return client_.Locked([&] { return client_.opened.back(); });
  }

  // A TLS connection as client.node (or `id`) that writes `bytes` after the handshake.
  std::string RawTlsClient(const std::string& bytes, const std::string& id = "client.node") {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.use_certificate_chain_file((root_ / (id + ".crt")).string());
    ctx.use_private_key_file((root_ / (id + ".key")).string(), asio::ssl::context::pem);
    static constexpr unsigned char kAlpn[] = {7, 's', 'e', 'v', 'e', 'x', '/', '1'};
    SSL_CTX_set_alpn_protos(ctx.native_handle(), kAlpn, sizeof kAlpn);
    asio::ssl::stream<tcp::socket> s(io, ctx);
    boost::system::error_code ec;
    s.lowest_layer().connect(listener_->endpoint(), ec);
    if (!ec) s.handshake(asio::ssl::stream_base::client, ec);
    if (!ec) asio::write(s, asio::buffer(bytes), ec);
    const std::string outcome = ec ? ec.message() : "";
    ReadUntilClosed(s);
    return outcome;
  }

  static fs::path root_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<int> ran_out_{0};
  std::unique_ptr<NodeTls> server_tls_, client_tls_;
  Recorder server_, client_;
  std::shared_ptr<Listener> listener_;
  std::shared_ptr<PeerLink> link_;
};

fs::path SessionTest::root_;

TEST_F(SessionTest, NoticesAndAcksFlowBothWays) {
  server_.on_notice = [](const std::shared_ptr<PeerSession>& s, const v1::NoticeFrame& n) {
    s->Ack(n, v1::Ack::ACCEPTED);  // "durable" at once
  };
  Listen({});
  Link();
  auto client = OpenClientSession();
  ASSERT_TRUE(server_.WaitFor([&] { return !server_.opened.empty(); }));
  EXPECT_EQ(client->peer_id(), "server.node");
  EXPECT_EQ(server_.Locked([&] { return server_.opened[0]->peer_id(); }), "client.node");

  for (int i = 0; i < 100; ++i) ASSERT_TRUE(client->Send(Notice(i)).ok()) << i;
  ASSERT_TRUE(client_.WaitFor([&] { return client_.acks.size() == 100; }));
  client_.Locked([&] {
    for (int i = 0; i < 100; ++i) {
      EXPECT_EQ(client_.acks[i].sequence(), static_cast<uint64_t>(i + 1));
      EXPECT_EQ(client_.acks[i].status(), v1::Ack::ACCEPTED);
      EXPECT_EQ(client_.acks[i].notice_id(), "n-" + std::to_string(i));  // echoed: the fate of each notice
    }
    return 0;
  });
  EXPECT_EQ(client->in_flight(), 0u);

  // And the other way over the same session, with a rejection.
  client_.on_notice = [](const std::shared_ptr<PeerSession>& s, const v1::NoticeFrame& n) {
    s->Ack(n, v1::Ack::REJECTED, "bad_signature", "the origin signature does not verify");
  };
  auto server_side = server_.Locked([&] { return server_.opened[0]; });
  ASSERT_TRUE(server_side->Send(Notice(500)).ok());
  ASSERT_TRUE(server_.WaitFor([&] { return server_.acks.size() == 1; }));
  server_.Locked([&] {
    EXPECT_EQ(server_.acks[0].status(), v1::Ack::REJECTED);
    EXPECT_EQ(server_.acks[0].reason_code(), "bad_signature");
    return 0;
  });
}

TEST_F(SessionTest, AFullWindowBlocksTheSenderWithoutGrowingMemory) {
  SessionOptions server_options;
  server_options.window = 4;
  Listen(server_options);  // the server records notices and does not ack them: not durable yet
  Link();
  auto client = OpenClientSession();
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(client->Send(Notice(i)).ok());
  const absl::Status full = client->Send(Notice(4));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(full.message()), HasSubstr("window of 4 is full"));
  // However hard the caller pushes, nothing is queued beyond the window.
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(client->Send(Notice(4)).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(client->in_flight(), 4u);
  ASSERT_TRUE(server_.WaitFor([&] { return server_.notices.size() == 4; }));
  // One ack opens one slot.
  server_.Locked([&] {
    server_.notices[0].first->Ack(server_.notices[0].second, v1::Ack::ACCEPTED);
    return 0;
  });
  ASSERT_TRUE(client_.WaitFor([&] { return client_.acks.size() == 1; }));
  EXPECT_TRUE(client->Send(Notice(4)).ok());
  EXPECT_EQ(client->Send(Notice(5)).code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(SessionTest, ProtocolViolationsEndOnlyThatSessionAndAreExplained) {
  auto lines = std::make_shared<std::vector<std::string>>();  // shared: the sink may outlive a failed test
  SetLogSink([lines](absl::string_view line) { lines->emplace_back(line); });  // called under the log's lock
  SessionOptions options;
  options.max_frame_bytes = 64 * 1024;
  options.handshake_timeout = 1500ms;  // generous: the other clients' handshakes must fit in it under load
  server_.on_notice = [](const std::shared_ptr<PeerSession>& s, const v1::NoticeFrame& n) { s->Ack(n, v1::Ack::ACCEPTED); };
  Listen(options);
  Link();
  auto client = OpenClientSession();

  // A notice before Hello.
  std::string wire;
  v1::Frame early;
  *early.mutable_notice() = Notice(1);
  ASSERT_TRUE(AppendFrame(early, kDefaultMaxFrameBytes, &wire).ok());
  EXPECT_EQ(RawTlsClient(wire), "");
  // Garbage after the handshake.
  EXPECT_EQ(RawTlsClient(std::string("\0\0\0\x03\xff\xff\xff", 7)), "");
  // An oversized frame: 1 MiB announced, 64 KiB allowed.
  EXPECT_EQ(RawTlsClient(std::string("\0\x10\0\0", 4)), "");
  // Plaintext instead of TLS.
  {
    tcp::socket raw(io_);
    raw.connect(listener_->endpoint());
    asio::write(raw, asio::buffer(std::string("GET / HTTP/1.1\r\n\r\n")));
    ReadUntilClosed(raw);
  }
  // A TLS 1.2 client, and a client whose certificate comes from a CA the server does not trust.
  {
    char other[] = "/tmp/sevex-session-other-ca-XXXXXX";
    ASSERT_NE(mkdtemp(other), nullptr);
    ASSERT_TRUE(InitCa(fs::path(other) / "ca", "other CA", 30).ok());
    ASSERT_TRUE(IssueNode(fs::path(other) / "ca", Node("client.node")).ok());
    for (int variant = 0; variant < 2; ++variant) {
      asio::io_context io;
      asio::ssl::context ctx(asio::ssl::context::tls_client);
      const fs::path dir = variant == 0 ? root_ : fs::path(other) / "ca";
      ctx.use_certificate_chain_file((dir / "client.node.crt").string());
      ctx.use_private_key_file((dir / "client.node.key").string(), asio::ssl::context::pem);
      if (variant == 0) SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
      asio::ssl::stream<tcp::socket> c(io, ctx);
      boost::system::error_code ec;
      c.lowest_layer().connect(listener_->endpoint(), ec);
      ASSERT_FALSE(ec);
      c.handshake(asio::ssl::stream_base::client, ec);
      // TLS 1.2 fails at once. In TLS 1.3 the client finishes before the server has judged its
      // certificate; the server's refusal is what the assertions below check.
      if (variant == 0) {
        EXPECT_TRUE(ec) << "a TLS 1.2 handshake must fail";
      }
      ReadUntilClosed(c);
    }
    fs::remove_all(other);
  }
  // A client that opens TCP and says nothing: the handshake timeout ends it.
  tcp::socket silent(io_);
  silent.connect(listener_->endpoint());

  ASSERT_TRUE(server_.WaitFor([&] { return server_.closed.size() >= 7; })) << server_.closed.size();
  std::string reasons;
  server_.Locked([&] {
    for (const auto& [peer, status] : server_.closed) reasons += std::string(status.message()) + "\n";
    return 0;
  });
  EXPECT_THAT(reasons, HasSubstr("out of order: Notice before Hello"));
  EXPECT_THAT(reasons, HasSubstr("malformed: a frame of 3 bytes is not a Frame"));
  EXPECT_THAT(reasons, HasSubstr("oversized: frame of 1048576 bytes announced; the maximum is 65536"));
  EXPECT_THAT(reasons, HasSubstr("TLS handshake failed"));
  EXPECT_THAT(reasons, HasSubstr("unsupported protocol"));  // TLS 1.2
  EXPECT_THAT(reasons, HasSubstr("certificate verification failed: unable to get local issuer certificate"));
  EXPECT_THAT(reasons, HasSubstr("no TLS handshake and Hello within 1500 ms"));

  // Meanwhile the good session kept working.
  ASSERT_TRUE(client->open());
  ASSERT_TRUE(client->Send(Notice(9)).ok());
  ASSERT_TRUE(client_.WaitFor([&] { return client_.acks.size() == 1; }));

  // Every refusal left one JSON log line saying why.
  SetLogSink(nullptr);  // takes the log's lock: no line is being added after this
  const std::vector<std::string> log = *lines;
  std::string refused;
  for (const auto& line : log) {
    if (line.find("\"event\":\"session_refused\"") != std::string::npos) refused += line;
  }
  EXPECT_THAT(refused, HasSubstr("\"level\":\"warning\""));
  EXPECT_THAT(refused, HasSubstr("\"remote\":\"127.0.0.1:"));
  EXPECT_THAT(refused, HasSubstr("out of order: Notice before Hello"));
  EXPECT_THAT(refused, HasSubstr("oversized: frame of 1048576 bytes announced"));
  EXPECT_THAT(refused, HasSubstr("TLS handshake failed"));
  EXPECT_THAT(refused, HasSubstr("unsupported protocol"));
  EXPECT_THAT(refused, HasSubstr("unable to get local issuer certificate"));
  EXPECT_THAT(refused, HasSubstr("no TLS handshake and Hello within"));
  bool opened = false;
  for (const auto& line : log) opened |= line.find("\"event\":\"session_open\",\"peer\":\"client.node\"") != std::string::npos;
  EXPECT_TRUE(opened);
}

TEST_F(SessionTest, HeartbeatsKeepAQuietSessionOpenAndSilenceEndsIt) {
  SessionOptions options;
  options.heartbeat_interval = 50ms;
  options.idle_timeout = 600ms;  // twelve heartbeats: missing them all takes a stalled peer, not load
  Listen(options);
  Link(options);
  auto client = OpenClientSession();
  // Not a wait: the time that passes is what is tested. More than two idle timeouts pass with no
  // notices, only heartbeats.
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(client->open());
  EXPECT_TRUE(server_.Locked([&] { return server_.closed.empty(); }));

  // A peer that completes Hello and then goes silent is closed for idleness.
  v1::Frame hello;
  hello.mutable_hello()->set_node_id("other.node");
  hello.mutable_hello()->add_versions(kProtocolVersion);
  hello.mutable_hello()->set_window(8);
  std::string wire;
  ASSERT_TRUE(AppendFrame(hello, kDefaultMaxFrameBytes, &wire).ok());
  std::promise<void> release_silent;
  std::shared_future<void> closed_by_server = release_silent.get_future().share();
  std::thread silent([&, closed_by_server] {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.use_certificate_chain_file((root_ / "other.node.crt").string());
    ctx.use_private_key_file((root_ / "other.node.key").string(), asio::ssl::context::pem);
    static constexpr unsigned char kAlpn[] = {7, 's', 'e', 'v', 'e', 'x', '/', '1'};
    SSL_CTX_set_alpn_protos(ctx.native_handle(), kAlpn, sizeof kAlpn);
    asio::ssl::stream<tcp::socket> s(io, ctx);
    s.lowest_layer().connect(listener_->endpoint());
    s.handshake(asio::ssl::stream_base::client);
    asio::write(s, asio::buffer(wire));
    closed_by_server.wait();  // reads nothing, sends nothing, until the server has closed it
  });
  const bool closed = server_.WaitFor([&] {
    for (const auto& [peer, status] : server_.closed) {
      if (peer == "other.node") return true;
    }
    return false;
  });
  release_silent.set_value();
  silent.join();
  ASSERT_TRUE(closed);
  server_.Locked([&] {
    EXPECT_THAT(std::string(server_.closed.back().second.message()), HasSubstr("nothing received from sevex://other.node"));
    return 0;
  });
}

TEST_F(SessionTest, APeerRestartIsFollowedByReconnection) {
  Listen({});
  const uint16_t port = listener_->endpoint().port();
  Link();
  auto first = OpenClientSession();
  ASSERT_TRUE(server_.WaitFor([&] { return !server_.opened.empty(); }));
  // The server goes away: listener closed, its session ended.
  listener_->Stop();
  server_.Locked([&] { return server_.opened[0]; })->Close("shutdown", "restarting");
  ASSERT_TRUE(client_.WaitFor([&] { return !client_.closed.empty(); }));
  EXPECT_TRUE(client_.Locked([&] { return client_.closed[0].second.ok(); })) << "a graceful Goodbye closes with OK";
  // A few refused reconnection attempts.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (link_->attempts() < 3 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  ASSERT_GE(link_->attempts(), 3);
  // It comes back on the same port.
  Listen({}, port);
  ASSERT_TRUE(client_.WaitFor([&] { return client_.opened.size() == 2; }, 10000ms));
  EXPECT_GE(link_->attempts(), 2);
  EXPECT_TRUE(link_->session()->open());
  EXPECT_NE(link_->session(), first);
  // The first connection ran a full handshake; the reconnection resumed its TLS session.
  EXPECT_FALSE(first->resumed());
  EXPECT_TRUE(link_->session()->resumed());
}

TEST(BackoffTest, GrowsExponentiallyWithJitterUpToTheCap) {
  using std::chrono::milliseconds;
  EXPECT_EQ(Backoff(0, milliseconds(100), milliseconds(10000), 0.0), milliseconds(50));
  EXPECT_EQ(Backoff(0, milliseconds(100), milliseconds(10000), 0.999), milliseconds(99));
  EXPECT_EQ(Backoff(3, milliseconds(100), milliseconds(10000), 0.0), milliseconds(400));
  EXPECT_EQ(Backoff(3, milliseconds(100), milliseconds(10000), 0.5), milliseconds(600));
  EXPECT_EQ(Backoff(20, milliseconds(100), milliseconds(10000), 0.0), milliseconds(5000));
  EXPECT_EQ(Backoff(1000, milliseconds(100), milliseconds(10000), 0.999), milliseconds(9995));
}

}  // namespace
}  // namespace sevex::transport
