// The TLS configuration of a sevex listener, checked from outside with the `openssl s_client`
// command (issue 7): a real Listener on 127.0.0.1, and s_client variants that must be refused —
// TLS 1.2 only, no client certificate, a client certificate from another CA — each sending a
// valid Hello frame once it thinks it is connected. Refused means: the listener never opens a
// session and s_client receives no application data. The control, a client.node certificate
// from the trusted CA over TLS 1.3, must open a session and receive the listener's Hello, so the
// refusals cannot pass because nothing works at all.
//
// Skipped when there is no `openssl` command. Every s_client started is killed and reaped.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "skip_support.h"
#include "transport/event_log.h"
#include "transport/frame_codec.h"
#include "transport/listener.h"
#include "transport/pki.h"
#include "transport/session.h"
#include "transport/tls.h"

extern char** environ;

namespace sevex::transport {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
using namespace std::chrono_literals;

// Counts the sessions the listener opened, and how they ended.
class Recorder : public SessionHandler {
 public:
  void OnOpen(const std::shared_ptr<PeerSession>& s) override {
    std::lock_guard<std::mutex> lock(mu_);
    opened_.push_back(s->peer_id());
    cv_.notify_all();
    s->Close("shutdown", "test done");  // the control has shown what it must; end it
  }
  void OnNotice(const std::shared_ptr<PeerSession>&, v1::NoticeFrame) override {}
  void OnAck(const std::shared_ptr<PeerSession>&, const v1::Ack&) override {}
  void OnClose(const std::shared_ptr<PeerSession>&, const absl::Status&) override {}

  std::vector<std::string> opened() {
    std::lock_guard<std::mutex> lock(mu_);
    return opened_;
  }
  bool WaitOpened(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return !opened_.empty(); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> opened_;
};

std::optional<std::string> FindOpenssl() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir) / "openssl";
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return std::nullopt;
}

std::string ReadAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct ClientRun {
  std::string received;  // application data s_client printed (with -quiet, nothing else)
  std::string errors;    // s_client's standard error
  bool exited = false;   // on its own, before the deadline
};

IssueOptions Node(std::string id) {
  IssueOptions o;
  o.node_id = std::move(id);
  return o;
}

class TlsOpensslClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/sevex-openssl-client-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_TRUE(InitCa(root_ / "a", "CA A", 30).ok());
    ASSERT_TRUE(InitCa(root_ / "b", "CA B", 30).ok());
    ASSERT_TRUE(IssueNode(root_ / "a", Node("server.node")).ok());
    ASSERT_TRUE(IssueNode(root_ / "a", Node("client.node")).ok());
    ASSERT_TRUE(IssueNode(root_ / "b", Node("client.node")).ok());  // same id, untrusted CA
    // What each client sends once connected: a valid Hello as client.node.
    v1::Frame hello;
    hello.mutable_hello()->set_node_id("client.node");
    hello.mutable_hello()->add_versions(kProtocolVersion);
    hello.mutable_hello()->set_window(16);
    std::string bytes;
    ASSERT_TRUE(AppendFrame(hello, kDefaultMaxFrameBytes, &bytes).ok());
    std::ofstream(root_ / "hello.bin", std::ios::binary) << bytes;
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  void SetUp() override {
    openssl_ = FindOpenssl();
    if (!openssl_) SEVEX_SKIP_OUTSIDE_CI("no openssl command on PATH (apt-get install openssl)");
    SetLogSink([this](absl::string_view line) {  // called under the log's lock
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.emplace_back(line);
    });
    TlsOptions o;
    o.node_id = "server.node";
    o.cert_file = (root_ / "a" / "server.node.crt").string();
    o.key_file = (root_ / "a" / "server.node.key").string();
    o.peers.push_back({"client.node", "", (root_ / "a" / kCaCertFile).string(), ""});
    auto tls = NodeTls::Create(o);
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_ = std::move(tls).value();
    SessionOptions options;
    options.handshake_timeout = 3000ms;
    listener_ = Listener::Create(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), *tls_, options,
                                 &recorder_);
    ASSERT_TRUE(listener_->Start().ok());
    work_.emplace(asio::make_work_guard(io_));
    thread_ = std::thread([this] {
      io_.run();
      ran_out_ = true;
    });
  }
  void TearDown() override {
    SetLogSink(nullptr);
    if (listener_) listener_->Stop();
    work_.reset();
    if (thread_.joinable()) {
      // What the listener still has to do ends on its own; a session left open is stopped after
      // a second.
      const auto deadline = std::chrono::steady_clock::now() + 1s;
      while (!ran_out_ && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      io_.stop();
      thread_.join();
    }
  }

  // Runs `openssl s_client -quiet` against the listener with `extra` arguments, its standard
  // input the Hello frame. Waits up to ten seconds for it to end (the listener closes refused
  // connections at once, and the control's session after its Goodbye); then kills it. Always
  // reaps it.
  ClientRun SClient(const std::vector<std::string>& extra) {
    const std::string port = std::to_string(listener_->endpoint().port());
    std::vector<std::string> args = {*openssl_, "s_client", "-connect", "127.0.0.1:" + port, "-quiet",
                                     "-alpn", "sevex/1", "-CAfile", (root_ / "a" / kCaCertFile).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    const fs::path out = root_ / "stdout", err = root_ / "stderr";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, (root_ / "hello.bin").c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(spawned, 0) << "cannot start " << *openssl_;
    ClientRun run;
    if (spawned != 0) return run;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    int status = 0;
    while (true) {
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid) {
        run.exited = true;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(20ms);  // polls, up to the deadline
    }
    run.received = ReadAll(out);
    run.errors = ReadAll(err);
    return run;
  }

  std::string Cert(const char* ca, const char* id, const char* ext) { return (root_ / ca / (std::string(id) + ext)).string(); }

  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  // The refused variants: the listener refuses the TLS handshake for `why` (so s_client did
  // reach it), no session opens, no application data reaches the client.
  void ExpectRefused(const std::vector<std::string>& extra, const std::string& why) {
    const ClientRun run = SClient(extra);
    EXPECT_TRUE(run.exited) << "s_client was still connected after 10 s";
    EXPECT_EQ(run.received, "") << "application data reached a refused client; stderr:\n" << run.errors;
    // The listener logs its refusal once it has dealt with the connection: wait for that line,
    // then check that no session opened.
    const auto refused = [&] {
      for (const auto& line : Log()) {
        if (absl::StrContains(line, "\"event\":\"session_refused\"") && absl::StrContains(line, why))
          return true;
      }
      return false;
    };
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!refused() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(refused()) << "no session_refused line naming " << why << "; s_client stderr:\n"
                           << run.errors;
    EXPECT_THAT(recorder_.opened(), ::testing::IsEmpty());
  }

  static fs::path root_;
  std::optional<std::string> openssl_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<bool> ran_out_{false};
  std::unique_ptr<NodeTls> tls_;
  Recorder recorder_;
  std::shared_ptr<Listener> listener_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

fs::path TlsOpensslClientTest::root_;

TEST_F(TlsOpensslClientTest, TrustedClientOverTls13OpensASessionAndReceivesTheHello) {
  const ClientRun run = SClient({"-tls1_3", "-cert", Cert("a", "client.node", ".crt"), "-key",
                                 Cert("a", "client.node", ".key")});
  ASSERT_TRUE(recorder_.WaitOpened(5s)) << "s_client stderr:\n" << run.errors;
  EXPECT_THAT(recorder_.opened(), ::testing::ElementsAre("client.node"));
  // What s_client received is the listener's Hello frame (and its Goodbye), nothing else.
  FrameDecoder decoder(kDefaultMaxFrameBytes);
  std::vector<v1::Frame> frames;
  ASSERT_TRUE(decoder.Feed(run.received, &frames).ok());
  ASSERT_FALSE(frames.empty()) << "stderr:\n" << run.errors;
  ASSERT_TRUE(frames[0].has_hello());
  EXPECT_EQ(frames[0].hello().node_id(), "server.node");
}

TEST_F(TlsOpensslClientTest, Tls12IsRefused) {
  ExpectRefused({"-tls1_2", "-cert", Cert("a", "client.node", ".crt"), "-key", Cert("a", "client.node", ".key")},
                "unsupported protocol");
}

TEST_F(TlsOpensslClientTest, ClientWithoutCertificateIsRefused) {
  ExpectRefused({"-tls1_3"}, "peer did not return a certificate");
}

TEST_F(TlsOpensslClientTest, ClientCertificateFromAnotherCaIsRefused) {
  ExpectRefused({"-tls1_3", "-cert", Cert("b", "client.node", ".crt"), "-key", Cert("b", "client.node", ".key")},
                "certificate verification failed");
}

}  // namespace
}  // namespace sevex::transport
