#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "transport/listener.h"
#include "transport/peer_link.h"
#include "transport/pki.h"

namespace sevex::cli {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const Command kBenchTransport{
    "bench transport",
    "[--notices N] [--size BYTES] [--window W]",
    "Notices per second and ack latency over one mutual-TLS session on 127.0.0.1.",
    "Starts a receiving and a sending node in this process with a throw-away PKI, sends N notices\n"
    "of BYTES opaque bytes keeping W in flight, the receiver acks each at once, and reports\n"
    "notices acknowledged per second and the send-to-ack latency percentiles.",
    {{"notices", "N", "notices to send (default 200000)"},
     {"size", "BYTES", "notice size (default 1024)"},
     {"window", "W", "notices in flight (default 256)"}},
    0};

// Acks every notice at once; records when each ack arrives at the sender.
class BenchHandler : public transport::SessionHandler {
 public:
  BenchHandler(size_t total, size_t size) : total_(total), sent_at_(total), acked_at_(total), payload_(size, 's') {}

  void OnOpen(const std::shared_ptr<transport::PeerSession>& session) override {
    if (session->peer_id() != "receiver.bench") return;  // the receiver's side needs nothing
    sender_ = session;
    Pump();
  }
  void OnNotice(const std::shared_ptr<transport::PeerSession>& session, v1::NoticeFrame notice) override {
    session->Ack(notice, v1::Ack::ACCEPTED);
  }
  void OnAck(const std::shared_ptr<transport::PeerSession>&, const v1::Ack& ack) override {
    size_t i = 0;
    if (absl::SimpleAtoi(ack.notice_id(), &i) && i < total_) acked_at_[i] = Clock::now();
    if (++acked_ == total_) {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cv_.notify_all();
      return;
    }
    Pump();
  }
  void OnClose(const std::shared_ptr<transport::PeerSession>&, const absl::Status& reason) override {
    if (!reason.ok() && acked_ < total_) {
      std::lock_guard<std::mutex> lock(mu_);
      error_ = reason;
      done_ = true;
      cv_.notify_all();
    }
  }
  // Sends as many notices as the window allows. Runs on the sender's strand (from OnOpen and
  // OnAck), so the loop is never run twice at once.
  void Pump() {
    while (next_ < total_) {
      v1::NoticeFrame n;
      n.set_origin("sender.bench");
      n.set_notice_id(std::to_string(next_));
      n.set_revision(1);
      n.set_signed_notice(payload_);
      sent_at_[next_] = Clock::now();
      if (!sender_->Send(std::move(n)).ok()) return;  // window full: the next ack pumps again
      ++next_;
    }
  }
  absl::Status Wait(std::chrono::seconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, limit, [&] { return done_; })) return absl::DeadlineExceededError("benchmark timed out");
    return error_;
  }
  std::vector<double> LatenciesUs() const {
    std::vector<double> out;
    out.reserve(total_);
    for (size_t i = 0; i < total_; ++i) {
      out.push_back(std::chrono::duration<double, std::micro>(acked_at_[i] - sent_at_[i]).count());
    }
    return out;
  }

 private:
  size_t total_;
  std::vector<Clock::time_point> sent_at_, acked_at_;
  std::string payload_;
  std::shared_ptr<transport::PeerSession> sender_;
  size_t next_ = 0;
  std::atomic<size_t> acked_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  absl::Status error_;
};

absl::StatusOr<size_t> Positive(const Args& args, const char* name, size_t fallback) {
  if (!args.Has(name)) return fallback;
  size_t v = 0;
  if (!absl::SimpleAtoi(args.Get(name), &v) || v == 0) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " ", args.Get(name), ": expected a positive number"));
  }
  return v;
}

int BenchTransport(const Args& args) {
  auto notices = Positive(args, "notices", 200000);
  auto size = Positive(args, "size", 1024);
  auto window = Positive(args, "window", 256);
  for (const auto* v : {&notices, &size, &window}) {
    if (!v->ok()) return Fail("bench transport", v->status());
  }
  char tmpl[] = "/tmp/sevex-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Fail("bench transport", absl::InternalError("cannot create a temporary directory"));
  const fs::path pki = fs::path(tmpl) / "pki";
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{tmpl};
  absl::Status s = transport::InitCa(pki, "sevex bench CA", 1);
  for (const char* id : {"receiver.bench", "sender.bench"}) {
    transport::IssueOptions o;
    o.node_id = id;
    o.days = 1;
    if (s.ok()) s = transport::IssueNode(pki, o);
  }
  if (!s.ok()) return Fail("bench transport", s);
  auto tls_for = [&](const std::string& self, const std::string& peer) {
    transport::TlsOptions o;
    o.node_id = self;
    o.cert_file = (pki / (self + ".crt")).string();
    o.key_file = (pki / (self + ".key")).string();
    o.peers.push_back({peer, "", (pki / transport::kCaCertFile).string(), ""});
    return transport::NodeTls::Create(o);
  };
  auto receiver_tls = tls_for("receiver.bench", "sender.bench");
  auto sender_tls = tls_for("sender.bench", "receiver.bench");
  if (!receiver_tls.ok()) return Fail("bench transport", receiver_tls.status());
  if (!sender_tls.ok()) return Fail("bench transport", sender_tls.status());

  transport::SessionOptions options;
  options.window = static_cast<uint32_t>(*window);
  options.max_frame_bytes = std::max<size_t>(transport::kDefaultMaxFrameBytes, *size + 1024);
  BenchHandler handler(*notices, *size);
  // One io_context per node, one thread each: the two ends of the session on the two cores.
  asio::io_context receiver_io, sender_io;
  auto receiver_work = asio::make_work_guard(receiver_io);
  auto sender_work = asio::make_work_guard(sender_io);
  auto listener = transport::Listener::Create(receiver_io, {asio::ip::make_address("127.0.0.1"), 0}, **receiver_tls,
                                              options, &handler);
  if (absl::Status ls = listener->Start(); !ls.ok()) return Fail("bench transport", ls);
  std::thread receiver_thread([&] { receiver_io.run(); });
  std::thread sender_thread([&] { sender_io.run(); });
  const auto start = Clock::now();
  auto link = transport::PeerLink::Create(
      sender_io, **sender_tls, {"receiver.bench", absl::StrCat("127.0.0.1:", listener->endpoint().port()), "", ""},
      options, &handler);
  link->Start();
  const absl::Status result = handler.Wait(std::chrono::seconds(600));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  link->Stop();
  listener->Stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  receiver_work.reset();
  sender_work.reset();
  receiver_io.stop();
  sender_io.stop();
  receiver_thread.join();
  sender_thread.join();
  if (!result.ok()) return Fail("bench transport", result);

  std::vector<double> lat = handler.LatenciesUs();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))]; };
  std::cout << absl::StrFormat(
      "transport: %d notices of %d bytes, window %d, one mutual-TLS 1.3 session on 127.0.0.1\n"
      "  %.0f notices/s acknowledged (%.2f s including the handshake)\n"
      "  send-to-ack latency: p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n",
      *notices, *size, *window, *notices / seconds, seconds, pct(0.50), pct(0.99), pct(0.999), lat.back());
  return kExitOk;
}

}  // namespace

// cmd_bench_node.cc
extern const Command kBenchNode;
int BenchNode(const Args& args);

int RunBench(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    std::cout << "usage: sevex bench <what> [options]\n\nwhat:\n  transport\t" << kBenchTransport.summary
              << "\n  node\t\t" << kBenchNode.summary << "\n";
    return argv.empty() ? kExitBadInput : kExitOk;
  }
  if (argv[0] != "transport" && argv[0] != "node") {
    return Fail("bench", absl::InvalidArgumentError(absl::StrCat("unknown benchmark '", argv[0], "' (known: transport, node)")));
  }
  const Command& command = argv[0] == "node" ? kBenchNode : kBenchTransport;
  auto args = ParseArgs(command, std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (!args.ok()) return Fail(command.name, args.status());
  if (args->help) {
    std::cout << Usage(command);
    return kExitOk;
  }
  return argv[0] == "node" ? BenchNode(*args) : BenchTransport(*args);
}

}  // namespace sevex::cli
