// session_fuzzer — the protocol state machine (PeerSession, transport/session.cc) driven by a
// hostile authenticated peer.
//
// For each input, a real session: a server PeerSession on 127.0.0.1 and a client that completes
// the mutual TLS 1.3 handshake as client.node (a listed peer, so everything after the handshake
// is reached), then writes the input's bytes as its whole side of the conversation and closes.
// Those bytes are frames or not: Hello or none, notices in or out of sequence and beyond the
// window, acks for sequences in flight or not, heartbeats, Goodbyes, garbage.
//
// The first byte sets up the server: bit 0, whether it acknowledges each notice at once (else
// never, so the window can be overrun); bits 1–2, how many notices it sends once the session is
// open (so that acks can be for sequences really in flight).
//
// Checked, beyond "no crash, no leak, no undefined behaviour": the session ends (a session that
// did not would hang here until libFuzzer's timeout), its handler hears OnClose exactly once and
// nothing after it, OnOpen at most once and before any notice or ack, never more notices
// unacknowledged than the window, and never an ack for more notices than were sent.
#include <stdlib.h>

#include <boost/asio.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "tests/transport_support.h"
#include "transport/event_log.h"
#include "transport/pki.h"
#include "transport/session.h"
#include "transport/tls.h"
#include "transport/tls_stream.h"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace v1 = sevex::v1;
using asio::ip::tcp;
using sevex::transport::NodeTls;
using sevex::transport::PeerSession;
using sevex::transport::SessionHandler;
using sevex::transport::SessionOptions;
using sevex::transport::TlsStream;

constexpr uint32_t kWindow = 4;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "session_fuzzer: %s\n", what);
  std::abort();
}

// The PKI, the two nodes' TLS and the listening socket, made once.
struct World {
  fs::path root;
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::unique_ptr<NodeTls> server_tls;
  std::unique_ptr<NodeTls> client_tls;

  World() {
    // The sessions' events (and protobuf's, routed to them) are not this fuzzer's output.
    sevex::transport::RouteProtobufLogs();
    sevex::transport::SetLogSink([](absl::string_view) {});
    const std::string tmpl = (fs::temp_directory_path() / "sevex-session-fuzzer-XXXXXX").string();
    std::string buffer = tmpl;
    if (::mkdtemp(buffer.data()) == nullptr) Fail("mkdtemp");
    root = buffer;
    if (!sevex::transport::InitCa(root, "fuzz CA", 30).ok()) Fail("InitCa");
    for (const char* id : {"server.node", "client.node"}) {
      sevex::transport::IssueOptions o;
      o.node_id = id;
      if (!sevex::transport::IssueNode(root, o).ok()) Fail("IssueNode");
    }
    server_tls = Tls("server.node", "client.node");
    client_tls = Tls("client.node", "server.node");
  }
  ~World() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }

  std::unique_ptr<NodeTls> Tls(const std::string& self, const std::string& peer) {
    auto tls = sevex::testing::DevPkiNodeTls(root, self, {peer});
    if (!tls.ok()) Fail("NodeTls::Create");
    return std::move(tls).value();
  }
};

World& TheWorld() {
  static World world;
  return world;
}

// What the server's session tells its owner, checked as it comes.
class Checker : public SessionHandler {
 public:
  Checker(bool ack_at_once, int notices_to_send) : ack_at_once_(ack_at_once), notices_to_send_(notices_to_send) {}

  void OnOpen(const std::shared_ptr<PeerSession>& s) override {
    if (closed_ || opened_) Fail("OnOpen twice or after OnClose");
    opened_ = true;
    for (int i = 0; i < notices_to_send_; ++i) {
      v1::NoticeFrame n;
      n.set_origin("server.node");
      n.set_notice_id("n-" + std::to_string(i));
      n.set_revision(1);
      n.set_signed_notice(std::string(64, 's'));
      if (s->Send(std::move(n)).ok()) ++sent_;
    }
  }
  void OnNotice(const std::shared_ptr<PeerSession>& s, v1::NoticeFrame n) override {
    if (closed_ || !opened_) Fail("OnNotice before OnOpen or after OnClose");
    if (++unacknowledged_ > kWindow) Fail("more notices unacknowledged than the window");
    if (ack_at_once_) {
      s->Ack(n, v1::Ack::ACCEPTED);
      --unacknowledged_;
    }
  }
  void OnAck(const std::shared_ptr<PeerSession>&, const v1::Ack&) override {
    if (closed_ || !opened_) Fail("OnAck before OnOpen or after OnClose");
    if (++acks_ > sent_) Fail("more acks than notices sent");
  }
  void OnClose(const std::shared_ptr<PeerSession>&, const absl::Status&) override {
    if (closed_) Fail("OnClose twice");
    closed_ = true;
  }
  bool closed() const { return closed_; }

 private:
  bool ack_at_once_;
  int notices_to_send_;
  bool opened_ = false;
  bool closed_ = false;
  uint32_t unacknowledged_ = 0;
  int sent_ = 0;
  int acks_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  World& w = TheWorld();
  Checker checker(/*ack_at_once=*/(data[0] & 1) != 0, /*notices_to_send=*/(data[0] >> 1) & 3);
  const asio::const_buffer stream(data + 1, size - 1);

  tcp::socket client_socket(w.io);
  client_socket.connect(w.acceptor.local_endpoint());
  tcp::socket server_socket = w.acceptor.accept(asio::make_strand(w.io));
  SessionOptions options;
  options.window = kWindow;
  std::shared_ptr<PeerSession> session = PeerSession::Create(std::move(server_socket), *w.server_tls, options,
                                                             &checker, PeerSession::Role::kServer, std::nullopt);
  session->Start();

  // The client: handshake, the input, then a close without close_notify.
  TlsStream client(std::move(client_socket), w.client_tls->client_context().native_handle());
  client.AsyncHandshake(TlsStream::kClient, [&](const boost::system::error_code& ec) {
    if (ec) Fail("the client's handshake failed");
    client.AsyncWrite(stream, [&](const boost::system::error_code&, size_t) {
      boost::system::error_code ignored;
      client.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  });
  w.io.restart();
  w.io.run();  // returns once the session has ended and nothing is pending
  if (!checker.closed()) Fail("the session did not end");
  if (session->open()) Fail("a closed session says it is open");
  return 0;
}
