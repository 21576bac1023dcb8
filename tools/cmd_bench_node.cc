// sevex bench node — two real node processes on 127.0.0.1, durable stores, end to end.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "node/api.h"
#include "node/local_network.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace sevex::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kOrigin[] = "cl.bench";
constexpr char kReceiver[] = "uk.bench";

std::string Notices(const std::string& prefix, size_t first, size_t count) {
  std::vector<std::string> out;
  for (size_t i = first; i < first + count; ++i) {
    out.push_back(absl::StrCat(R"({"id": ")", prefix, i, R"(", "title": "bench notice )", i,
                               R"(", "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"},)",
                               R"("marking": {"tlp": "GREEN"}, "attributes": {"victim_tier": "national", )",
                               R"("impact_kind": "extensive_compromise", "unauthorised_access": true}})"));
  }
  return absl::StrCat("[", absl::StrJoin(out, ","), "]");
}

// Submits with wait: answered once the receiver has stored and acknowledged every notice and
// the origin has stored the receipts. Returns false (and says why) when something else happened.
bool SubmitAndWait(const std::string& socket, const std::string& json, std::string* error) {
  v1::ApiRequest request;
  request.mutable_submit()->set_json(json);
  request.mutable_submit()->set_wait(true);
  request.mutable_submit()->set_wait_timeout_ms(60000);
  auto r = node::CallApi(socket, request);
  if (!r.ok()) {
    *error = std::string(r.status().message());
    return false;
  }
  for (const auto& s : r->submitted()) {
    for (const auto& receipt : s.receipts()) {
      if (receipt.status() != v1::Receipt::DELIVERED) {
        *error = absl::StrCat(s.id(), " not delivered to ", receipt.recipient(), ": ", receipt.reason());
        return false;
      }
    }
  }
  return true;
}

struct Percentiles {
  double p50, p99, p999, max;
};
Percentiles Of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double p) { return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]; };
  return {at(0.5), at(0.99), at(0.999), v.back()};
}

}  // namespace

extern const Command kBenchNode;
const Command kBenchNode{
    "bench node",
    "[--notices N] [--batch B] [--clients C] [--rate R] [--paced N]",
    "Notices per second and latency end to end between two node processes on 127.0.0.1.",
    "Starts two `sevex node` processes with a throw-away PKI and durable stores (WAL, FULL sync).\n"
    "A notice counts when it was submitted, assessed, signed, stored at the origin, delivered,\n"
    "stored at the receiver, acknowledged, and its receipt stored at the origin.\n"
    "Throughput: C clients submit batches of B until N notices, each answered when delivered.\n"
    "Latency: then single notices at R per second (open loop, --paced of them), each timed from\n"
    "its scheduled moment to its delivery receipt.",
    {{"notices", "N", "notices for the throughput run (default 100000)"},
     {"batch", "B", "notices per submission in the throughput run (default 200)"},
     {"clients", "C", "concurrent submitters in the throughput run (default 8)"},
     {"rate", "R", "notices per second in the latency run (default 1000)"},
     {"paced", "N", "notices in the latency run (default 5000; 0 skips it)"}},
    0};

int BenchNode(const Args& args) {
  size_t notices = 100000, batch = 200, clients = 8, rate = 1000, paced = 5000;
  for (auto [name, v] : {std::pair{"notices", &notices}, {"batch", &batch}, {"clients", &clients}, {"rate", &rate}, {"paced", &paced}}) {
    if (!args.Has(name)) continue;
    if (!absl::SimpleAtoi(args.Get(name), v) || (*v == 0 && std::string(name) != "paced") || *v > 100000000) {
      return Fail("bench node", absl::InvalidArgumentError(absl::StrCat("--", name, " ", args.Get(name), ": expected a positive number")));
    }
  }
  char tmpl[] = "/tmp/sevex-bench-node-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Fail("bench node", absl::InternalError("cannot create a temporary directory"));
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{tmpl};
  std::error_code ec;
  const std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Fail("bench node", absl::InternalError("cannot find this program's path"));
  node::LocalNetwork::Spec spec;
  spec.nodes = {{kOrigin, "cl-ds295", false, ""}, {kReceiver, "uk-ncsc", false, ""}};
  spec.links = {{kOrigin, kReceiver}};
  auto net = node::LocalNetwork::Create(tmpl, self, spec);
  if (!net.ok()) return Fail("bench node", net.status());
  if (absl::Status s = (*net)->StartAll(); !s.ok()) return Fail("bench node", s);
  const std::string socket = (*net)->SocketPath(kOrigin);

  // Throughput.
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::vector<double> batch_ms;
  std::string error;
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      for (;;) {
        const size_t first = next.fetch_add(batch);
        if (first >= notices) return;
        const std::string json = Notices("t-", first, std::min(batch, notices - first));
        const auto t0 = Clock::now();
        std::string e;
        const bool ok = SubmitAndWait(socket, json, &e);
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        std::lock_guard<std::mutex> lock(mu);
        if (!ok && error.empty()) error = e;
        batch_ms.push_back(ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!error.empty()) return Fail("bench node", absl::InternalError(error));
  const Percentiles b = Of(batch_ms);
  std::cout << absl::StrFormat(
      "node: 2 processes on 127.0.0.1, mutual TLS 1.3, SQLite WAL synchronous=FULL at both ends\n"
      "  throughput: %d notices in %.2f s = %.0f notices/s end to end (%d clients, batches of %d)\n"
      "  per batch, submit to every receipt stored: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      notices, seconds, notices / seconds, clients, batch, b.p50, b.p99, b.max);

  // Latency at a fixed rate, open loop: each notice is timed from when it was due.
  if (paced > 0) {
    std::vector<double> lat(paced);
    std::atomic<size_t> k{0};
    const auto t0 = Clock::now() + std::chrono::milliseconds(10);
    threads.clear();
    for (int w = 0; w < 32; ++w) {
      threads.emplace_back([&] {
        for (;;) {
          const size_t i = k.fetch_add(1);
          if (i >= paced) return;
          const auto due = t0 + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / rate));
          std::this_thread::sleep_until(due);
          std::string e;
          const bool ok = SubmitAndWait(socket, Notices("p-", i, 1), &e);
          lat[i] = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
          if (!ok) {
            std::lock_guard<std::mutex> lock(mu);
            if (error.empty()) error = e;
          }
        }
      });
    }
    for (auto& t : threads) t.join();
    if (!error.empty()) return Fail("bench node", absl::InternalError(error));
    const Percentiles p = Of(lat);
    std::cout << absl::StrFormat(
        "  latency at %d notices/s (%d single notices, open loop): p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n",
        rate, paced, p.p50, p.p99, p.p999, p.max);
  }
  if (absl::Status s = (*net)->StopAll(); !s.ok()) return Fail("bench node", s);
  return kExitOk;
}

}  // namespace sevex::cli
