// TlsStream (transport/tls_stream) on 127.0.0.1 with the nodes' own TLS contexts: a handshake,
// megabytes both ways with a read and a write outstanding at once, the ends of a stream
// (close_notify, a peer gone without one, a reset peer, a closed socket), and Asio's rule that
// no handler runs inside the call that started its operation.
#include "transport/tls_stream.h"

#include <signal.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl/error.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "tests/transport_support.h"
#include "transport/pki.h"
#include "transport/tls.h"

namespace sevex::transport {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using boost::system::error_code;

std::string Pattern(size_t size, char seed) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>(seed + i * 31 + i / 4093);
  return s;
}

class TlsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sevex-tls-stream-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_TRUE(InitCa(root_, "test CA", 30).ok());
    for (const char* id : {"server.node", "client.node"}) {
      IssueOptions o;
      o.node_id = id;
      ASSERT_TRUE(IssueNode(root_, o).ok());
    }
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static std::unique_ptr<NodeTls> Tls(const std::string& self, const std::string& peer) {
    auto tls = sevex::testing::DevPkiNodeTls(root_, self, {peer});
    EXPECT_TRUE(tls.ok()) << tls.status();
    return tls.ok() ? std::move(tls).value() : nullptr;
  }

  // A connected pair of streams, server and client, handshaken.
  void SetUp() override {
    // A write to a reset peer must come back as an error, never as the default SIGPIPE death.
    ::signal(SIGPIPE, SIG_DFL);
    server_tls_ = Tls("server.node", "client.node");
    client_tls_ = Tls("client.node", "server.node");
    ASSERT_NE(server_tls_, nullptr);
    ASSERT_NE(client_tls_, nullptr);
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    tcp::socket client_socket(io_);
    client_socket.connect(acceptor.local_endpoint());
    tcp::socket server_socket = acceptor.accept();
    server_.emplace(std::move(server_socket), server_tls_->server_context().native_handle());
    client_.emplace(std::move(client_socket), client_tls_->client_context().native_handle());
    ASSERT_NE(server_->native_handle(), nullptr);

    std::optional<error_code> server_done, client_done;
    Start([&] {
      server_->AsyncHandshake(TlsStream::kServer, [&](const error_code& ec) { Done(&server_done, ec); });
    });
    Start([&] {
      client_->AsyncHandshake(TlsStream::kClient, [&](const error_code& ec) { Done(&client_done, ec); });
    });
    RunUntil([&] { return server_done && client_done; });
    ASSERT_TRUE(server_done && client_done) << "the handshake did not finish";
    ASSERT_FALSE(*server_done) << server_done->message();
    ASSERT_FALSE(*client_done) << client_done->message();
    auto peer = server_tls_->AuthorizePeer(server_->native_handle(), std::nullopt);
    ASSERT_TRUE(peer.ok()) << peer.status();
    EXPECT_EQ(*peer, "client.node");
    EXPECT_EQ(SSL_version(client_->native_handle()), TLS1_3_VERSION);
  }

  // Starts an operation, noting that any handler running now would run inside its initiation.
  template <typename F>
  void Start(F f) {
    initiating_ = true;
    f();
    initiating_ = false;
  }
  template <typename T>
  void Done(std::optional<T>* slot, T value) {
    EXPECT_FALSE(initiating_) << "a handler ran inside the call that started its operation";
    *slot = std::move(value);
  }
  // Runs handlers until `done` holds, for at most ten seconds.
  template <typename F>
  void RunUntil(F done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    io_.restart();
    while (!done() && std::chrono::steady_clock::now() < deadline)
      io_.run_one_for(std::chrono::milliseconds(100));
  }

  // Reads from `stream` until `want` bytes or an error; returns what arrived and the error.
  struct Reader {
    Reader(TlsStreamTest* t, TlsStream* s, size_t w) : test(t), stream(s), want(w) {}
    TlsStreamTest* test;
    TlsStream* stream;
    size_t want;
    std::string got;
    std::string buffer = std::string(16 * 1024, '\0');
    std::optional<error_code> error;
    size_t reads = 0;
    void Next() {
      test->Start([&] {
        stream->AsyncReadSome(asio::buffer(buffer), [this](const error_code& ec, size_t n) {
          EXPECT_FALSE(test->initiating_) << "a read handler ran inside AsyncReadSome";
          ++reads;
          if (ec) {
            error = ec;
            return;
          }
          EXPECT_GT(n, 0u);
          got.append(buffer.data(), n);
          if (got.size() < want) Next();
        });
      });
    }
    bool finished() const { return error.has_value() || got.size() >= want; }
  };

  static inline fs::path root_;
  asio::io_context io_;
  std::unique_ptr<NodeTls> server_tls_, client_tls_;
  std::optional<TlsStream> server_, client_;
  bool initiating_ = false;
};

TEST_F(TlsStreamTest, MegabytesFlowBothWaysWithAReadAndAWriteOutstandingAtOnce) {
  const std::string to_client = Pattern(4 << 20, 'a');
  const std::string to_server = Pattern(3 << 20, 'q');
  Reader at_client{this, &*client_, to_client.size()};
  Reader at_server{this, &*server_, to_server.size()};
  at_client.Next();
  at_server.Next();
  std::optional<std::pair<error_code, size_t>> server_wrote, client_wrote;
  Start([&] {
    server_->AsyncWrite(asio::buffer(to_client),
                        [&](const error_code& ec, size_t n) { Done(&server_wrote, std::make_pair(ec, n)); });
  });
  Start([&] {
    client_->AsyncWrite(asio::buffer(to_server),
                        [&](const error_code& ec, size_t n) { Done(&client_wrote, std::make_pair(ec, n)); });
  });
  RunUntil([&] { return at_client.finished() && at_server.finished() && server_wrote && client_wrote; });

  ASSERT_TRUE(server_wrote && client_wrote) << "a write did not finish";
  EXPECT_FALSE(server_wrote->first) << server_wrote->first.message();
  EXPECT_EQ(server_wrote->second, to_client.size());
  EXPECT_FALSE(client_wrote->first) << client_wrote->first.message();
  EXPECT_EQ(client_wrote->second, to_server.size());
  EXPECT_FALSE(at_client.error.has_value()) << at_client.error->message();
  EXPECT_FALSE(at_server.error.has_value()) << at_server.error->message();
  EXPECT_TRUE(at_client.got == to_client)
      << "the client read " << at_client.got.size() << " bytes, not the same";
  EXPECT_TRUE(at_server.got == to_server)
      << "the server read " << at_server.got.size() << " bytes, not the same";
}

TEST_F(TlsStreamTest, ACloseNotifyEndsTheReadWithEof) {
  Reader at_server{this, &*server_, 1};
  at_server.Next();
  ERR_clear_error();
  ASSERT_GE(SSL_shutdown(client_->native_handle()), 0) << "sending close_notify";
  RunUntil([&] { return at_server.finished(); });
  ASSERT_TRUE(at_server.error.has_value());
  EXPECT_EQ(*at_server.error, error_code(asio::error::eof)) << at_server.error->message();
}

TEST_F(TlsStreamTest, APeerGoneWithoutCloseNotifyIsATruncatedStream) {
  Reader at_server{this, &*server_, 1};
  at_server.Next();
  client_->socket().shutdown(tcp::socket::shutdown_send);
  RunUntil([&] { return at_server.finished(); });
  ASSERT_TRUE(at_server.error.has_value());
  EXPECT_EQ(*at_server.error, error_code(asio::ssl::error::stream_truncated)) << at_server.error->message();
}

TEST_F(TlsStreamTest, WritingToAResetPeerFailsWithAnErrorNotASignal) {
  // The client resets the connection (linger 0). The server's read takes the reset
  // (ECONNRESET); a write after it, such as a Goodbye queued meanwhile, meets EPIPE, which
  // must come back as an error in a process that does not ignore SIGPIPE.
  Reader at_server{this, &*server_, 1};
  at_server.Next();
  client_->socket().set_option(asio::socket_base::linger(true, 0));
  client_->socket().close();
  RunUntil([&] { return at_server.finished(); });
  ASSERT_TRUE(at_server.error.has_value());
  EXPECT_EQ(*at_server.error, error_code(asio::error::connection_reset)) << at_server.error->message();

  const std::string chunk = Pattern(64 * 1024, 'z');
  std::optional<std::pair<error_code, size_t>> wrote;
  Start([&] {
    server_->AsyncWrite(asio::buffer(chunk),
                        [&](const error_code& ec, size_t n) { Done(&wrote, std::make_pair(ec, n)); });
  });
  RunUntil([&] { return wrote.has_value(); });
  ASSERT_TRUE(wrote.has_value()) << "the write did not finish";
  EXPECT_EQ(wrote->first, error_code(asio::error::broken_pipe)) << wrote->first.message();
  EXPECT_EQ(wrote->second, 0u);
}

TEST_F(TlsStreamTest, ClosingTheSocketCompletesAPendingReadOnceWithOperationAborted) {
  Reader at_server{this, &*server_, 1};
  at_server.Next();
  io_.restart();
  io_.poll();  // the read is now waiting for the socket
  ASSERT_FALSE(at_server.finished());
  server_->socket().close();
  RunUntil([&] { return at_server.finished(); });
  ASSERT_TRUE(at_server.error.has_value());
  EXPECT_EQ(*at_server.error, error_code(asio::error::operation_aborted)) << at_server.error->message();
  io_.restart();
  io_.poll();
  EXPECT_EQ(at_server.reads, 1u) << "the handler ran once";
}

TEST_F(TlsStreamTest, AHandlerNeverRunsInsideItsInitiationEvenWhenDataIsAlreadyThere) {
  const std::string message = "already here";
  std::optional<std::pair<error_code, size_t>> wrote;
  Start([&] {
    client_->AsyncWrite(asio::buffer(message),
                        [&](const error_code& ec, size_t n) { Done(&wrote, std::make_pair(ec, n)); });
  });
  // The write completes at once (the socket is writable); its handler still waits for the loop.
  EXPECT_FALSE(wrote.has_value());
  RunUntil([&] { return wrote.has_value(); });
  // Wait for the bytes to be in the server's socket, then read: again completed inside, run later.
  Reader at_server{this, &*server_, message.size()};
  at_server.Next();
  EXPECT_EQ(at_server.reads, 0u);
  RunUntil([&] { return at_server.finished(); });
  EXPECT_EQ(at_server.got, message);
}

}  // namespace
}  // namespace sevex::transport
