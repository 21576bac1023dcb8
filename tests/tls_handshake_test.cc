// Mutual TLS 1.3 between nodes on 127.0.0.1 (transport/tls): a listed peer is accepted; an
// unknown id, a certificate from another CA, an expired or not-yet-valid certificate, a pin
// mismatch, a wrong expected peer, a TLS 1.2 client, a client without a certificate and a
// plaintext client are all refused during or right after the handshake, before any frame.
#include "transport/tls.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <functional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "transport/peer_identity.h"
#include "transport/pki.h"

namespace sevex::transport {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using ::testing::HasSubstr;

IssueOptions Node(std::string id, int days = 30, int64_t offset_s = 0) {
  IssueOptions o;
  o.node_id = std::move(id);
  o.days = days;
  o.not_before_offset_s = offset_s;
  return o;
}

struct Outcome {
  std::string server_error;                 // empty when the server's handshake succeeded
  absl::StatusOr<std::string> authorized = absl::UnknownError("not reached");
  std::string client_error;
};

class TlsHandshakeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sevex-tls-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_TRUE(InitCa(root_ / "a", "CA A", 30).ok());
    ASSERT_TRUE(InitCa(root_ / "b", "CA B", 30).ok());
    for (const char* id : {"server.node", "client.node", "stranger.node", "pinned.node"}) {
      ASSERT_TRUE(IssueNode(root_ / "a", Node(id)).ok());
    }
    ASSERT_TRUE(IssueNode(root_ / "a", Node("expired.node", 1, -10 * 86400)).ok());
    ASSERT_TRUE(IssueNode(root_ / "a", Node("future.node", 30, 5 * 86400)).ok());
    ASSERT_TRUE(IssueNode(root_ / "b", Node("client.node")).ok());   // same id, other CA
    ASSERT_TRUE(IssueNode(root_ / "b", Node("pinned.node")).ok());   // same id, other key
    ASSERT_TRUE(IssueNode(root_ / "b", Node("other.node")).ok());    // only CA B, pinned below
    // pinned.node again from the trusted CA A, with a new key: chains, but fails the pin.
    fs::create_directories(root_ / "a2");
    fs::copy_file(root_ / "a" / kCaKeyFile, root_ / "a2" / kCaKeyFile);
    fs::copy_file(root_ / "a" / kCaCertFile, root_ / "a2" / kCaCertFile);
    ASSERT_TRUE(IssueNode(root_ / "a2", Node("pinned.node")).ok());
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static std::string Path(const char* ca, const std::string& file) { return (root_ / ca / file).string(); }

  // The server node: trusts client.node, expired.node and future.node via CA A, pinned.node by
  // the pin of CA A's pinned.node key, and other.node by the pin of its CA B key.
  static std::unique_ptr<NodeTls> Server() {
    TlsOptions o;
    o.node_id = "server.node";
    o.cert_file = Path("a", "server.node.crt");
    o.key_file = Path("a", "server.node.key");
    for (const char* id : {"client.node", "expired.node", "future.node"}) o.peers.push_back({id, "", Path("a", "ca.crt"), ""});
    o.peers.push_back({"pinned.node", "", "", ReadCertificate(Path("a", "pinned.node.crt"))->spki_sha256});
    o.peers.push_back({"other.node", "", "", ReadCertificate(Path("b", "other.node.crt"))->spki_sha256});
    auto tls = NodeTls::Create(o);
    EXPECT_TRUE(tls.ok()) << tls.status();
    return std::move(tls).value();
  }

  // A client context presenting CA/ID's certificate and trusting CA A (the server's issuer).
  static std::unique_ptr<asio::ssl::context> Client(const char* ca, const std::string& id, bool tls12 = false,
                                                    bool with_cert = true) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    if (tls12) SSL_CTX_set_max_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    if (with_cert) {
      ctx->use_certificate_chain_file(Path(ca, id + ".crt"));
      ctx->use_private_key_file(Path(ca, id + ".key"), asio::ssl::context::pem);
    }
    ctx->load_verify_file(Path("a", "ca.crt"));
    ctx->set_verify_mode(asio::ssl::verify_peer);
    static constexpr unsigned char kAlpn[] = {7, 's', 'e', 'v', 'e', 'x', '/', '1'};
    SSL_CTX_set_alpn_protos(ctx->native_handle(), kAlpn, sizeof kAlpn);
    return ctx;
  }

  // Accepts one connection with `server` and connects with `client` (or, when null, sends
  // `plaintext` over bare TCP). Bounded to ten seconds.
  static Outcome Handshake(NodeTls& server, asio::ssl::context* client, const std::string& plaintext = "") {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    Outcome out;
    asio::ssl::stream<tcp::socket> server_stream(io, server.server_context());
    acceptor.async_accept(server_stream.lowest_layer(), [&](boost::system::error_code ec) {
      if (ec) {
        out.server_error = ec.message();
        return;
      }
      server_stream.async_handshake(asio::ssl::stream_base::server, [&](boost::system::error_code ec) {
        if (ec) {
          out.server_error = NodeTls::HandshakeFailureReason(server_stream.native_handle(), ec.message());
          return;
        }
        out.authorized = server.AuthorizePeer(server_stream.native_handle(), std::nullopt);
      });
    });
    std::unique_ptr<asio::ssl::stream<tcp::socket>> client_stream;
    tcp::socket raw(io);
    if (client != nullptr) {
      client_stream = std::make_unique<asio::ssl::stream<tcp::socket>>(io, *client);
      client_stream->lowest_layer().async_connect(acceptor.local_endpoint(), [&](boost::system::error_code ec) {
        if (ec) {
          out.client_error = ec.message();
          return;
        }
        client_stream->async_handshake(asio::ssl::stream_base::client, [&](boost::system::error_code ec) {
          if (ec) out.client_error = ec.message();
        });
      });
    } else {
      raw.async_connect(acceptor.local_endpoint(), [&](boost::system::error_code ec) {
        if (!ec) asio::async_write(raw, asio::buffer(plaintext), [](boost::system::error_code, size_t) {});
      });
    }
    io.run_for(std::chrono::seconds(10));
    return out;
  }

  static fs::path root_;
};

fs::path TlsHandshakeTest::root_;

TEST_F(TlsHandshakeTest, AListedPeerIsAccepted) {
  auto server = Server();
  auto client = Client("a", "client.node");
  const Outcome o = Handshake(*server, client.get());
  EXPECT_EQ(o.server_error, "");
  ASSERT_TRUE(o.authorized.ok()) << o.authorized.status();
  EXPECT_EQ(*o.authorized, "client.node");
  EXPECT_EQ(o.client_error, "");
}

TEST_F(TlsHandshakeTest, APinnedPeerIsAcceptedEvenWithoutACa) {
  auto server = Server();
  auto client = Client("b", "other.node");  // CA B is not trusted by the server; the key is pinned
  const Outcome o = Handshake(*server, client.get());
  EXPECT_EQ(o.server_error, "");
  ASSERT_TRUE(o.authorized.ok()) << o.authorized.status();
  EXPECT_EQ(*o.authorized, "other.node");
}

TEST_F(TlsHandshakeTest, AnUnknownIdIsRefused) {
  auto server = Server();
  auto client = Client("a", "stranger.node");  // a valid certificate from a trusted CA, not listed
  const Outcome o = Handshake(*server, client.get());
  ASSERT_FALSE(o.authorized.ok());
  EXPECT_EQ(o.authorized.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(o.authorized.status().message()), HasSubstr("sevex://stranger.node is not in the peer allow-list"));
}

TEST_F(TlsHandshakeTest, ACertificateFromAnotherCaIsRefused) {
  auto server = Server();
  auto client = Client("b", "client.node");  // the right id, issued by CA B
  const Outcome o = Handshake(*server, client.get());
  EXPECT_THAT(o.server_error, HasSubstr("certificate verification failed: unable to get local issuer certificate"));
  EXPECT_FALSE(o.authorized.ok());
}

TEST_F(TlsHandshakeTest, ACaTrustedForAnotherPeerDoesNotVouchForThisOne) {
  // The server also trusts CA B, but only for b.node; client.node is CA A's to vouch for.
  TlsOptions o;
  o.node_id = "server.node";
  o.cert_file = Path("a", "server.node.crt");
  o.key_file = Path("a", "server.node.key");
  o.peers.push_back({"client.node", "", Path("a", "ca.crt"), ""});
  o.peers.push_back({"b.node", "", Path("b", "ca.crt"), ""});
  auto server = NodeTls::Create(o);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = Client("b", "client.node");
  const Outcome out = Handshake(**server, client.get());
  EXPECT_EQ(out.server_error, "");  // the chain is good: CA B is in the node's trust store
  ASSERT_FALSE(out.authorized.ok());
  EXPECT_THAT(std::string(out.authorized.status().message()),
              HasSubstr("sevex://client.node's certificate is not issued by its configured CA"));
}

TEST_F(TlsHandshakeTest, APinMismatchIsRefused) {
  auto server = Server();
  // The pinned id with another key from a trusted CA: the chain verifies, the pin does not.
  auto trusted = Client("a2", "pinned.node");
  Outcome o = Handshake(*server, trusted.get());
  EXPECT_EQ(o.server_error, "");
  ASSERT_FALSE(o.authorized.ok());
  EXPECT_THAT(std::string(o.authorized.status().message()),
              HasSubstr("sevex://pinned.node presented a key that does not match its pin"));
  // The same id and another key from an untrusted CA fails verification outright.
  auto untrusted = Client("b", "pinned.node");
  o = Handshake(*server, untrusted.get());
  EXPECT_THAT(o.server_error, HasSubstr("unable to get local issuer certificate"));
  EXPECT_FALSE(o.authorized.ok());
}

TEST_F(TlsHandshakeTest, ExpiredAndNotYetValidCertificatesAreRefused) {
  auto server = Server();
  auto expired = Client("a", "expired.node");
  Outcome o = Handshake(*server, expired.get());
  EXPECT_THAT(o.server_error, HasSubstr("certificate verification failed: certificate has expired"));
  auto future = Client("a", "future.node");
  o = Handshake(*server, future.get());
  EXPECT_THAT(o.server_error, HasSubstr("certificate verification failed: certificate is not yet valid"));
}

TEST_F(TlsHandshakeTest, TheExpectedPeerMustBeTheOneReached) {
  auto server = Server();
  auto client = Client("a", "client.node");
  asio::io_context io;
  // Authorise the same handshake as if we had dialled pinned.node.
  const Outcome o = Handshake(*server, client.get());
  ASSERT_TRUE(o.authorized.ok());
  // AuthorizePeer's expectation check, on the client's own view of the server: the server's
  // certificate says server.node, which the client's allow-list must name.
  TlsOptions co;
  co.node_id = "client.node";
  co.cert_file = Path("a", "client.node.crt");
  co.key_file = Path("a", "client.node.key");
  co.peers.push_back({"server.node", "", Path("a", "ca.crt"), ""});
  co.peers.push_back({"pinned.node", "", Path("a", "ca.crt"), ""});
  auto client_tls = NodeTls::Create(co);
  ASSERT_TRUE(client_tls.ok()) << client_tls.status();
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::ssl::stream<tcp::socket> s(io, server->server_context()), c(io, (*client_tls)->client_context());
  absl::StatusOr<std::string> as_dialled = absl::UnknownError("not reached");
  absl::StatusOr<std::string> as_expected = absl::UnknownError("not reached");
  acceptor.async_accept(s.lowest_layer(), [&](boost::system::error_code ec) {
    if (!ec) s.async_handshake(asio::ssl::stream_base::server, [](boost::system::error_code) {});
  });
  c.lowest_layer().async_connect(acceptor.local_endpoint(), [&](boost::system::error_code ec) {
    ASSERT_FALSE(ec);
    c.async_handshake(asio::ssl::stream_base::client, [&](boost::system::error_code ec) {
      ASSERT_FALSE(ec) << ec.message();
      as_dialled = (*client_tls)->AuthorizePeer(c.native_handle(), "pinned.node");
      as_expected = (*client_tls)->AuthorizePeer(c.native_handle(), "server.node");
    });
  });
  io.run_for(std::chrono::seconds(10));
  ASSERT_FALSE(as_dialled.ok());
  EXPECT_THAT(std::string(as_dialled.status().message()),
              HasSubstr("connected to pinned.node but its certificate says sevex://server.node"));
  ASSERT_TRUE(as_expected.ok()) << as_expected.status();
  EXPECT_EQ(*as_expected, "server.node");
}

TEST_F(TlsHandshakeTest, Tls12IsRefused) {
  auto server = Server();
  auto client = Client("a", "client.node", /*tls12=*/true);
  const Outcome o = Handshake(*server, client.get());
  EXPECT_THAT(o.server_error, HasSubstr("unsupported protocol"));
  EXPECT_FALSE(o.authorized.ok());
}

TEST_F(TlsHandshakeTest, AClientWithoutACertificateIsRefused) {
  auto server = Server();
  auto client = Client("a", "client.node", false, /*with_cert=*/false);
  const Outcome o = Handshake(*server, client.get());
  EXPECT_THAT(o.server_error, HasSubstr("peer did not return a certificate"));
  EXPECT_FALSE(o.authorized.ok());
}

TEST_F(TlsHandshakeTest, PlaintextIsRefused) {
  auto server = Server();
  const Outcome o = Handshake(*server, nullptr, "GET / HTTP/1.0\r\n\r\n");
  EXPECT_FALSE(o.server_error.empty());
  EXPECT_THAT(o.server_error, ::testing::AnyOf(HasSubstr("http request"), HasSubstr("wrong version number")));
  EXPECT_FALSE(o.authorized.ok());
}

TEST_F(TlsHandshakeTest, BadNodeConfigurationIsRefusedAtCreate) {
  TlsOptions o;
  o.node_id = "client.node";  // but the certificate is server.node's
  o.cert_file = Path("a", "server.node.crt");
  o.key_file = Path("a", "server.node.key");
  auto tls = NodeTls::Create(o);
  ASSERT_FALSE(tls.ok());
  EXPECT_THAT(std::string(tls.status().message()), HasSubstr("is for sevex://server.node, not sevex://client.node"));
  o.node_id = "server.node";
  o.key_file = Path("a", "client.node.key");  // a key that does not match
  EXPECT_THAT(std::string(NodeTls::Create(o).status().message()), HasSubstr("key values mismatch"));
  o.key_file = Path("a", "server.node.key");
  o.peers = {{"x.node", "", "", ""}};
  EXPECT_THAT(std::string(NodeTls::Create(o).status().message()), HasSubstr("give exactly one trust anchor"));
  o.peers = {{"x.node", "", Path("a", "ca.crt"), ""}, {"x.node", "", Path("a", "ca.crt"), ""}};
  EXPECT_THAT(std::string(NodeTls::Create(o).status().message()), HasSubstr("listed twice"));
  o.peers = {};
  o.cert_file = Path("a", "expired.node.crt");
  o.key_file = Path("a", "expired.node.key");
  o.node_id = "expired.node";
  EXPECT_THAT(std::string(NodeTls::Create(o).status().message()), HasSubstr("has expired"));
}

}  // namespace
}  // namespace sevex::transport
