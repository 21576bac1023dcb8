// sevex bench node — two real node processes on 127.0.0.1, durable stores, end to end.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/json_writer.h"
#include "node/api.h"
#include "node/json_value.h"
#include "node/local_network.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace sevex::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kOrigin[] = "cl.bench";
constexpr char kReceiver[] = "uk.bench";

// One bench notice: national victim, extensive compromise (a high level in every scheme).
void WriteNotice(base::JsonWriter& w, const std::string& id, absl::string_view tlp,
                 const std::vector<std::string>& recipients) {
  w.BeginObject().Key("id").String(id).Key("title").String(absl::StrCat("bench notice ", id));
  w.Key("classification").BeginObject().Key("rsit_class").String("intrusions");
  w.Key("rsit_type").String("system-compromise").EndObject();
  w.Key("marking").BeginObject().Key("tlp").String(tlp);
  if (!recipients.empty()) {
    w.Key("recipients").BeginArray();
    for (const auto& r : recipients) w.String(r);
    w.EndArray();
  }
  w.EndObject();
  w.Key("attributes").BeginObject().Key("victim_tier").String("national");
  w.Key("impact_kind").String("extensive_compromise").Key("unauthorised_access").Bool(true).EndObject();
  w.EndObject();
}

std::string Notices(const std::string& prefix, size_t first, size_t count) {
  base::JsonWriter w({.layout = base::JsonWriter::Layout::kSpaced});
  w.BeginArray(base::JsonWriter::Layout::kCompact);
  for (size_t i = first; i < first + count; ++i) WriteNotice(w, absl::StrCat(prefix, i), "GREEN", {});
  w.EndArray();
  return w.Release();
}

// How long a node may take to settle one submission, and to answer at all: a node that hangs
// fails the bench with a reason instead of holding it.
constexpr uint32_t kWaitMs = 60000;
const absl::Duration kCallTimeout = absl::Milliseconds(kWaitMs) + absl::Seconds(30);

// Submits with wait: answered once the receiver has stored and acknowledged every notice and
// the origin has stored the receipts. Returns false (and says why) when something else happened.
bool SubmitAndWait(const std::string& socket, const std::string& json, std::string* error) {
  v1::ApiRequest request;
  request.mutable_submit()->set_json(json);
  request.mutable_submit()->set_wait(true);
  request.mutable_submit()->set_wait_timeout_ms(kWaitMs);
  auto r = node::CallApi(socket, request, kCallTimeout);
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

// ---------------------------------------------------------------------------------------------
// --peers N: one origin and N peer node processes.

// What the kernel says of a process: resident memory, proportional share of it, descriptors.
struct ProcessUse {
  double rss_kib = 0;
  double pss_kib = 0;
  int fds = 0;
};
ProcessUse UseOf(pid_t pid) {
  ProcessUse u;
  auto field = [](const std::string& file, const std::string& name) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(name, 0) == 0) return std::atof(line.c_str() + name.size());
    }
    return 0.0;
  };
  u.rss_kib = field(absl::StrCat("/proc/", pid, "/status"), "VmRSS:");
  u.pss_kib = field(absl::StrCat("/proc/", pid, "/smaps_rollup"), "Pss:");
  std::error_code ec;
  for (auto it = fs::directory_iterator(absl::StrCat("/proc/", pid, "/fd"), ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    ++u.fds;
  }
  return u;
}

constexpr char kHq[] = "zz.origin";  // sorts after every peer, so each peer dials it as it starts

std::string PeerId(size_t i) { return absl::StrFormat("p%03d.bench", i + 1); }

std::string NoticeJson(const std::string& id, const char* tlp, const std::vector<std::string>& recipients) {
  base::JsonWriter w({.layout = base::JsonWriter::Layout::kSpaced});
  WriteNotice(w, id, tlp, recipients);
  return w.Release();
}

// Submits one notice with wait; returns the number of final recipients that have it, or an error
// when any of the `expected` recipients did not get it.
absl::StatusOr<size_t> Deliver(const std::string& socket, const std::string& json, size_t expected) {
  v1::ApiRequest request;
  request.mutable_submit()->set_json(json);
  request.mutable_submit()->set_wait(true);
  request.mutable_submit()->set_wait_timeout_ms(kWaitMs);
  auto r = node::CallApi(socket, request, kCallTimeout);
  if (!r.ok()) return r.status();
  if (!r->error().empty()) return absl::InternalError(r->error());
  size_t delivered = 0;
  for (const auto& s : r->submitted()) {
    for (const auto& receipt : s.receipts()) {
      if (receipt.status() != v1::Receipt::DELIVERED) {
        return absl::InternalError(absl::StrCat(s.id(), " not delivered to ", receipt.recipient(), ": ",
                                                v1::Receipt::Status_Name(receipt.status()), " ", receipt.reason()));
      }
      ++delivered;
    }
  }
  if (delivered != expected) {
    return absl::InternalError(absl::StrCat("a notice reached ", delivered, " recipients, expected ", expected));
  }
  return delivered;
}

// Open loop: `count` submissions, the i-th due at start + i / rate, each on one of `workers`
// threads; `run(i)` returns its delivery count. Latency is measured from when each was due.
struct OpenLoop {
  std::vector<double> latency_ms;
  size_t deliveries = 0;
  absl::Status error;
};
OpenLoop RunOpenLoop(size_t count, double rate, Clock::time_point start, size_t workers,
                     const std::function<absl::StatusOr<size_t>(size_t)>& run) {
  OpenLoop out;
  out.latency_ms.resize(count);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= count) return;
        const auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / rate));
        std::this_thread::sleep_until(due);
        absl::StatusOr<size_t> n = run(i);
        out.latency_ms[i] = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
        std::lock_guard<std::mutex> lock(mu);
        if (n.ok()) {
          out.deliveries += *n;
        } else {
          out.error.Update(n.status());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  return out;
}

int BenchNodePeers(const Args& args, const std::string& dir, const std::string& self) {
  size_t peers = 0, fanouts = 50, duration = 60, rate = 20;
  for (auto [name, v] : {std::pair{"peers", &peers}, {"fanouts", &fanouts}, {"duration", &duration}, {"rate", &rate}}) {
    if (!args.Has(name)) continue;
    if (!absl::SimpleAtoi(args.Get(name), v) || (*v == 0 && (std::string(name) == "peers" || std::string(name) == "rate")) || *v > 100000) {
      return Fail("bench node", absl::InvalidArgumentError(absl::StrCat("--", name, " ", args.Get(name), ": expected a positive number")));
    }
  }
  if (peers > 500) return Fail("bench node", absl::InvalidArgumentError("--peers: at most 500"));
  auto format = OutputFormat(args);
  if (!format.ok()) return Fail("bench node", format.status());
  auto progress = [&](const std::string& line) { std::cerr << "bench node: " << line << "\n"; };

  static constexpr const char* kSchemes[] = {"au-asd", "cl-ds295", "cn-cac", "eu-nis-impact", "eu-nis2",
                                             "jp-nisc", "nz-ncsc", "uk-ncsc", "us-ciss", "us-nciss"};
  node::LocalNetwork::Spec spec;
  spec.nodes.push_back({kHq, "cl-ds295", false, ""});
  std::vector<std::string> ids;
  for (size_t i = 0; i < peers; ++i) {
    ids.push_back(PeerId(i));
    spec.nodes.push_back({ids.back(), kSchemes[i % 10], false, ""});
    spec.links.push_back({ids.back(), kHq});
  }
  progress(absl::StrCat("issuing certificates and keys for ", peers + 1, " nodes"));
  auto t = Clock::now();
  auto net = node::LocalNetwork::Create(dir, self, spec);
  if (!net.ok()) return Fail("bench node", net.status());
  (*net)->set_call_timeout(kCallTimeout);
  const double pki_s = std::chrono::duration<double>(Clock::now() - t).count();
  if (absl::Status s = (*net)->Start(kHq); !s.ok()) return Fail("bench node", s);
  const std::string hq_socket = (*net)->SocketPath(kHq);
  const pid_t hq = (*net)->Pid(kHq);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const ProcessUse alone = UseOf(hq);

  // Every peer starts (their start-ups overlap), dials the origin; wait for all sessions.
  progress(absl::StrCat("starting ", peers, " peer processes"));
  t = Clock::now();
  if (absl::Status s = (*net)->Start(ids); !s.ok()) return Fail("bench node", s);
  const double start_s = std::chrono::duration<double>(Clock::now() - t).count();
  t = Clock::now();
  for (;;) {
    v1::ApiRequest status;
    status.mutable_status();
    auto r = (*net)->Call(kHq, status);
    if (!r.ok()) return Fail("bench node", r.status());
    const size_t up = std::count_if(r->status().peers().begin(), r->status().peers().end(),
                                    [](const v1::PeerQueue& q) { return q.connected(); });
    if (up == peers) break;
    if (Clock::now() - t > std::chrono::seconds(120)) {
      return Fail("bench node", absl::DeadlineExceededError(absl::StrCat(up, " of ", peers, " sessions open after 120 s")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const double sessions_s = std::chrono::duration<double>(Clock::now() - t).count();
  std::this_thread::sleep_for(std::chrono::seconds(5));  // idle: heartbeats only
  const ProcessUse idle = UseOf(hq);
  std::vector<double> peer_rss;
  for (const auto& id : ids) peer_rss.push_back(UseOf((*net)->Pid(id)).rss_kib);
  std::sort(peer_rss.begin(), peer_rss.end());

  // Fan-out: one GREEN notice at a time to every peer (no distribution rules: everywhere).
  if (fanouts > 0) progress(absl::StrCat("fan-out: ", fanouts, " notices, one at a time, each to all ", peers, " peers"));
  std::vector<double> fan_ms;
  for (size_t i = 0; i < fanouts; ++i) {
    t = Clock::now();
    auto n = Deliver(hq_socket, NoticeJson(absl::StrCat("fan-", i), "GREEN", {}), peers);
    if (!n.ok()) return Fail("bench node", n.status());
    fan_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  const Percentiles fan = fan_ms.empty() ? Percentiles{} : Of(fan_ms);

  // Mixed load: the origin at `rate` notices/s (70 % GREEN to all, 20 % AMBER to 5 named
  // peers, 10 % RED to one), and random peers at rate / 4 notices/s to the origin.
  struct Mixed {
    double seconds = 0;
    size_t origin_notices = 0, peer_notices = 0, deliveries = 0;
    Percentiles origin_ms{}, peer_ms{};
    ProcessUse peak;
    double pss_kib = 0;
  } mixed;
  if (duration > 0) {
    mixed.origin_notices = rate * duration;
    mixed.peer_notices = std::max<size_t>(1, rate * duration / 4);
    progress(absl::StrFormat("mixed load for %d s: %d notices/s from the origin, %.1f/s from the peers", duration,
                             rate, static_cast<double>(mixed.peer_notices) / duration));
    std::atomic<bool> sampling{true};
    std::thread sampler([&] {
      while (sampling) {
        const ProcessUse u = UseOf(hq);
        mixed.peak.rss_kib = std::max(mixed.peak.rss_kib, u.rss_kib);
        mixed.peak.fds = std::max(mixed.peak.fds, u.fds);
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
      }
    });
    const auto start = Clock::now() + std::chrono::milliseconds(20);
    auto pick = [&](size_t i, size_t k) {  // k distinct peers (fewer when there are fewer), spread by i
      k = std::min(k, peers);
      std::vector<std::string> out;
      for (size_t j = 0; j < k; ++j) out.push_back(ids[(i * 37 + j * (peers / k)) % peers]);
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
      return out;
    };
    OpenLoop from_peers;
    std::thread peer_load([&] {
      from_peers = RunOpenLoop(mixed.peer_notices, static_cast<double>(mixed.peer_notices) / duration, start, 16,
                               [&](size_t i) {
                                 const std::string& who = ids[(i * 7919) % peers];
                                 return Deliver((*net)->SocketPath(who),
                                                NoticeJson(absl::StrCat("m-", who, "-", i), "GREEN", {}), 1);
                               });
    });
    OpenLoop from_origin = RunOpenLoop(mixed.origin_notices, rate, start, 64, [&](size_t i) {
      const std::string id = absl::StrCat("mix-", i);
      if (i % 10 == 0 || i % 10 == 1 || i % 10 == 2) {
        const bool red = i % 10 == 0;
        const auto to = pick(i, red ? 1 : 5);
        return Deliver(hq_socket, NoticeJson(id, red ? "RED" : "AMBER", to), to.size());
      }
      return Deliver(hq_socket, NoticeJson(id, "GREEN", {}), peers);
    });
    peer_load.join();
    mixed.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    sampling = false;
    sampler.join();
    if (!from_origin.error.ok()) return Fail("bench node", from_origin.error);
    if (!from_peers.error.ok()) return Fail("bench node", from_peers.error);
    for (const auto& id : ids) mixed.pss_kib += UseOf((*net)->Pid(id)).pss_kib;
    mixed.pss_kib += UseOf(hq).pss_kib;
    mixed.origin_ms = Of(from_origin.latency_ms);
    mixed.peer_ms = Of(from_peers.latency_ms);
    mixed.deliveries = from_origin.deliveries + from_peers.deliveries;
  }

  progress("stopping");
  if (absl::Status s = (*net)->StopAll(); !s.ok()) return Fail("bench node", s);

  const double per_session_kib = (idle.rss_kib - alone.rss_kib) / peers;
  const double peer_rss_median = peer_rss[peer_rss.size() / 2];
  if (*format == "json") {
    using node::JsonValue;
    JsonValue o = JsonValue::Object();
    o.Add("peers", static_cast<int64_t>(peers))
        .Add("pki_seconds", pki_s)
        .Add("start_seconds", start_s)
        .Add("sessions_seconds", sessions_s)
        .Add("origin_alone_rss_kib", alone.rss_kib)
        .Add("origin_idle_rss_kib", idle.rss_kib)
        .Add("idle_session_kib", per_session_kib)
        .Add("origin_alone_fds", alone.fds)
        .Add("origin_idle_fds", idle.fds)
        .Add("peer_rss_kib_median", peer_rss_median)
        .Add("fanout_notices", static_cast<int64_t>(fanouts));
    if (fanouts > 0) o.Add("fanout_ms_p50", fan.p50).Add("fanout_ms_p99", fan.p99).Add("fanout_ms_max", fan.max);
    if (duration > 0) {
      o.Add("mixed_seconds", mixed.seconds)
          .Add("mixed_origin_notices", static_cast<int64_t>(mixed.origin_notices))
          .Add("mixed_peer_notices", static_cast<int64_t>(mixed.peer_notices))
          .Add("mixed_deliveries", static_cast<int64_t>(mixed.deliveries))
          .Add("mixed_deliveries_per_second", mixed.deliveries / mixed.seconds)
          .Add("mixed_origin_ms_p50", mixed.origin_ms.p50)
          .Add("mixed_origin_ms_p99", mixed.origin_ms.p99)
          .Add("mixed_origin_ms_max", mixed.origin_ms.max)
          .Add("mixed_peer_ms_p50", mixed.peer_ms.p50)
          .Add("mixed_peer_ms_p99", mixed.peer_ms.p99)
          .Add("mixed_origin_peak_rss_kib", mixed.peak.rss_kib)
          .Add("mixed_origin_peak_fds", mixed.peak.fds)
          .Add("all_processes_pss_kib", mixed.pss_kib);
    }
    std::cout << o.Write(2) << "\n";
    return kExitOk;
  }
  std::cout << absl::StrFormat(
      "node, %d peers: %d processes on 127.0.0.1, mutual TLS 1.3, SQLite WAL synchronous=FULL everywhere\n"
      "  set-up: PKI %.1f s, peer processes started in %.1f s, all %d sessions open %.1f s later\n"
      "  idle: origin RSS %.1f MiB alone, %.1f MiB with %d idle sessions = %.1f KiB per session; "
      "descriptors %d -> %d; one peer process %.1f MiB (median)\n",
      peers, peers + 1, pki_s, start_s, peers, sessions_s, alone.rss_kib / 1024, idle.rss_kib / 1024, peers,
      per_session_kib, alone.fds, idle.fds, peer_rss_median / 1024);
  if (fanouts > 0) {
    std::cout << absl::StrFormat(
        "  fan-out: one GREEN notice to all %d peers, acknowledged by all: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d notices)\n",
        peers, fan.p50, fan.p99, fan.max, fanouts);
  }
  if (duration > 0) {
    std::cout << absl::StrFormat(
        "  mixed load, %.1f s: %d notices from the origin (70%% GREEN to all, 20%% AMBER to 5, 10%% RED to 1), %d from peers;\n"
        "    %d deliveries = %.0f deliveries/s; origin's notice to its last receipt p50 %.1f ms, p99 %.1f ms, max %.1f ms;\n"
        "    a peer's notice to the origin p50 %.1f ms, p99 %.1f ms; origin peak RSS %.1f MiB, %d descriptors;\n"
        "    all %d processes: %.0f MiB (PSS)\n",
        mixed.seconds, mixed.origin_notices, mixed.peer_notices, mixed.deliveries, mixed.deliveries / mixed.seconds,
        mixed.origin_ms.p50, mixed.origin_ms.p99, mixed.origin_ms.max, mixed.peer_ms.p50, mixed.peer_ms.p99,
        mixed.peak.rss_kib / 1024, mixed.peak.fds, peers + 1, mixed.pss_kib / 1024);
  }
  return kExitOk;
}

}  // namespace

extern const Command kBenchNode;
const Command kBenchNode{
    "bench node",
    "[--notices N] [--batch B] [--clients C] [--rate R] [--paced N] | --peers N [--fanouts F] [--duration S] [--rate R] [--format json|text]",
    "Notices per second and latency end to end between node processes on 127.0.0.1.",
    "Starts `sevex node` processes with a throw-away PKI and durable stores (WAL, FULL sync).\n"
    "A notice counts when it was submitted, assessed, signed, stored at the origin, delivered,\n"
    "stored at the receiver, acknowledged, and its receipt stored at the origin.\n"
    "Without --peers, two nodes. Throughput: C clients submit batches of B until N notices, each\n"
    "answered when delivered. Latency: then single notices at R per second (open loop, --paced of\n"
    "them), each timed from its scheduled moment to its delivery receipt.\n"
    "With --peers N, one origin and N peers, each its own process with one session to the origin:\n"
    "the origin's memory and descriptors alone and with N idle sessions; fan-out, F notices one at a\n"
    "time each to all N peers, timed to the last receipt; then S seconds of mixed load, open loop:\n"
    "R notices/s from the origin (70 % GREEN to all, 20 % AMBER to 5 named peers, 10 % RED to one)\n"
    "and R/4 per second from random peers to the origin, with the origin's peak memory.",
    {{"notices", "N", "notices for the throughput run (default 100000)"},
     {"batch", "B", "notices per submission in the throughput run (default 200)"},
     {"clients", "C", "concurrent submitters in the throughput run (default 8)"},
     {"rate", "R", "notices per second in the latency run (default 1000; with --peers 20)"},
     {"paced", "N", "notices in the latency run (default 5000; 0 skips it)"},
     {"peers", "N", "one origin and N peer processes (at most 500)"},
     {"fanouts", "F", "with --peers: notices in the fan-out run (default 50)"},
     {"duration", "S", "with --peers: seconds of mixed load (default 60; 0 skips it)"},
     kFormatOption},
    0};

static int BenchNodePair(const Args& args, const std::string& dir, const std::string& self);

int BenchNode(const Args& args) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/sevex-bench-node-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) return Fail("bench node", absl::InternalError(absl::StrCat("cannot create ", tmpl)));
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{tmpl};
  std::error_code ec;
  const std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Fail("bench node", absl::InternalError("cannot find this program's path"));
  if (args.Has("peers")) return BenchNodePeers(args, tmpl, self);
  for (const char* option : {"fanouts", "duration", "format"}) {
    if (args.Has(option)) return Fail("bench node", absl::InvalidArgumentError(absl::StrCat("--", option, " goes with --peers")));
  }
  return BenchNodePair(args, tmpl, self);
}

static int BenchNodePair(const Args& args, const std::string& dir, const std::string& self) {
  size_t notices = 100000, batch = 200, clients = 8, rate = 1000, paced = 5000;
  for (auto [name, v] : {std::pair{"notices", &notices}, {"batch", &batch}, {"clients", &clients}, {"rate", &rate}, {"paced", &paced}}) {
    if (!args.Has(name)) continue;
    if (!absl::SimpleAtoi(args.Get(name), v) || (*v == 0 && std::string(name) != "paced") || *v > 100000000) {
      return Fail("bench node", absl::InvalidArgumentError(absl::StrCat("--", name, " ", args.Get(name), ": expected a positive number")));
    }
  }
  node::LocalNetwork::Spec spec;
  spec.nodes = {{kOrigin, "cl-ds295", false, ""}, {kReceiver, "uk-ncsc", false, ""}};
  spec.links = {{kOrigin, kReceiver}};
  auto net = node::LocalNetwork::Create(dir, self, spec);
  if (!net.ok()) return Fail("bench node", net.status());
  (*net)->set_call_timeout(kCallTimeout);
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
