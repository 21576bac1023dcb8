// The gRPC baseline for `sevex bench transport`: the same 1 KiB NoticeFrames over one gRPC
// bidirectional stream with mutual TLS (client certificate required and verified), the
// receiver acking each notice, the sender keeping the same window in flight. Prints the same
// two lines as `sevex bench transport`. Built with -DSEVEX_BUILD_GRPC_BASELINE=ON.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "notice_exchange.grpc.pb.h"
#include "transport/pki.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class Service final : public sevex::bench::NoticeExchange::Service {
  grpc::Status Exchange(grpc::ServerContext*,
                        grpc::ServerReaderWriter<sevex::v1::Ack, sevex::v1::NoticeFrame>* stream) override {
    sevex::v1::NoticeFrame n;
    sevex::v1::Ack ack;
    while (stream->Read(&n)) {
      ack.set_sequence(n.sequence());
      ack.set_status(sevex::v1::Ack::ACCEPTED);
      ack.set_origin(n.origin());
      ack.set_notice_id(n.notice_id());
      ack.set_revision(n.revision());
      if (!stream->Write(ack)) break;
    }
    return grpc::Status::OK;
  }
};

}  // namespace

int main(int argc, char** argv) {
  size_t notices = 200000, size = 1024, window = 256;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    size_t* target = flag == "--notices" ? &notices : flag == "--size" ? &size : flag == "--window" ? &window : nullptr;
    if (target == nullptr || !absl::SimpleAtoi(argv[i + 1], target) || *target == 0) {
      std::cerr << "usage: grpc_baseline [--notices N] [--size BYTES] [--window W]\n";
      return 2;
    }
  }
  char tmpl[] = "/tmp/sevex-grpc-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const fs::path pki = fs::path(tmpl) / "pki";
  if (!sevex::transport::InitCa(pki, "grpc baseline CA", 1).ok()) return 1;
  for (const char* id : {"receiver.bench", "sender.bench"}) {
    sevex::transport::IssueOptions o;
    o.node_id = id;
    o.days = 1;
    o.dns_names = {"localhost"};
    if (!sevex::transport::IssueNode(pki, o).ok()) return 1;
  }
  const std::string ca = Read(pki / "ca.crt");

  grpc::SslServerCredentialsOptions server_tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  server_tls.pem_root_certs = ca;
  server_tls.pem_key_cert_pairs.push_back({Read(pki / "receiver.bench.key"), Read(pki / "receiver.bench.crt")});
  Service service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(server_tls), &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(size) + 4096);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();

  grpc::SslCredentialsOptions client_tls;
  client_tls.pem_root_certs = ca;
  client_tls.pem_private_key = Read(pki / "sender.bench.key");
  client_tls.pem_cert_chain = Read(pki / "sender.bench.crt");
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(client_tls), args);
  auto stub = sevex::bench::NoticeExchange::NewStub(channel);

  std::vector<Clock::time_point> sent_at(notices), acked_at(notices);
  std::mutex mu;
  std::condition_variable cv;
  size_t in_flight = 0;
  const auto start = Clock::now();
  grpc::ClientContext context;
  auto stream = stub->Exchange(&context);
  std::thread reader([&] {
    sevex::v1::Ack ack;
    for (size_t done = 0; done < notices && stream->Read(&ack); ++done) {
      size_t i = 0;
      if (absl::SimpleAtoi(ack.notice_id(), &i) && i < notices) acked_at[i] = Clock::now();
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      cv.notify_one();
    }
  });
  const std::string payload(size, 's');
  for (size_t i = 0; i < notices; ++i) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
    }
    sevex::v1::NoticeFrame n;
    n.set_sequence(i + 1);
    n.set_origin("sender.bench");
    n.set_notice_id(std::to_string(i));
    n.set_revision(1);
    n.set_signed_notice(payload);
    sent_at[i] = Clock::now();
    if (!stream->Write(n)) {
      std::cerr << "grpc_baseline: the stream broke\n";
      return 1;
    }
  }
  stream->WritesDone();
  reader.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const grpc::Status status = stream->Finish();
  server->Shutdown();
  fs::remove_all(tmpl);
  if (!status.ok()) {
    std::cerr << "grpc_baseline: " << status.error_message() << "\n";
    return 1;
  }
  std::vector<double> lat;
  for (size_t i = 0; i < notices; ++i) lat.push_back(std::chrono::duration<double, std::micro>(acked_at[i] - sent_at[i]).count());
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))]; };
  std::cout << absl::StrFormat(
      "grpc: %d notices of %d bytes, window %d, one gRPC bidirectional stream, mutual TLS, on 127.0.0.1\n"
      "  %.0f notices/s acknowledged (%.2f s including the handshake)\n"
      "  send-to-ack latency: p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n",
      notices, size, window, notices / seconds, seconds, pct(0.50), pct(0.99), pct(0.999), lat.back());
  return 0;
}
