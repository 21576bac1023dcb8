// sevex demo — five national nodes on 127.0.0.1 exchange a scripted set of incidents; each
// receiving state's inbox is printed in its own scheme.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/names.h"
#include "google/protobuf/util/json_util.h"
#include "node/json_value.h"
#include "node/local_network.h"
#include "node/stix_export.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/demo_incidents.h"

namespace sevex::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using node::JsonValue;

const Command kDemo{
    "demo",
    "[--format text|json] [--keep [DIR]] [--export DIR] [--incidents DIR] [--timeout SECONDS]",
    "Five national nodes on 127.0.0.1 exchange a scripted set of incidents; what each state received, in its "
    "own scheme.",
    "Starts us.cisa (us-ciss), uk.ncsc (uk-ncsc), au.asd (au-asd), cl.csirt (cl-ds295) and the hub\n"
    "eu.hub (eu-nis2) as `sevex node` processes with a throw-away PKI and stores in a temporary\n"
    "directory. us.cisa, uk.ncsc and au.asd are linked to each other; all four states are linked to\n"
    "the hub; cl.csirt reaches the others only through it. Each scripted incident (examples/demo/,\n"
    "built into the binary) is submitted by its origin; the demo waits until every receipt has\n"
    "settled and every queue is empty, prints each state's inbox, then stops the nodes and removes\n"
    "the directory. Progress goes to stderr. Exit 0 when everything settled, 1 when something did\n"
    "not arrive in time (the message names it), 2 on bad input.",
    {{"format", "text|json", "output format (default: text)"},
     {"keep", "", "keep configurations, PKI, stores and logs, and say where; --keep DIR: in DIR (empty)"},
     {"export", "DIR", "also write each state's inbox to DIR/<state>.stix.json and DIR/<state>.jsonl"},
     {"incidents", "DIR", "the scripted incidents: *.json in DIR, in name order (default: the built-in set)"},
     {"timeout", "SECONDS", "how long to wait for sessions, then for receipts, and for a node to answer one request (default: 60)"}},
    1};

struct DemoNode {
  const char* id;
  const char* scheme;
  bool hub;
};
constexpr DemoNode kNodes[] = {{"us.cisa", "us-ciss", false},
                               {"uk.ncsc", "uk-ncsc", false},
                               {"au.asd", "au-asd", false},
                               {"cl.csirt", "cl-ds295", false},
                               {"eu.hub", "eu-nis2", true}};
const std::vector<std::pair<std::string, std::string>> kLinks = {
    {"us.cisa", "uk.ncsc"}, {"us.cisa", "au.asd"}, {"uk.ncsc", "au.asd"}, {"us.cisa", "eu.hub"},
    {"uk.ncsc", "eu.hub"},  {"au.asd", "eu.hub"},  {"cl.csirt", "eu.hub"}};

std::atomic<bool> g_interrupted{false};
void OnSignal(int) { g_interrupted = true; }

// One line on stderr that is rewritten in place on a terminal; elsewhere, one line per phase.
class Progress {
 public:
  Progress() : tty_(::isatty(2) == 1) {}
  void Phase(const std::string& name) {
    phase_ = name;
    if (!tty_)
      std::cerr << "sevex demo: " << name << "\n";
    else
      Draw(name);
  }
  void Count(size_t done, size_t total) {
    if (tty_) Draw(absl::StrCat(phase_, " ", done, "/", total));
  }
  void Clear() {
    if (tty_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  void Draw(const std::string& text) { std::cerr << "\r\033[Ksevex demo: " << text << std::flush; }
  bool tty_;
  std::string phase_;
};

struct Incident {
  std::string file;
  std::string json;
  v1::Notice notice;
};

absl::StatusOr<std::vector<Incident>> LoadIncidents(const Args& args) {
  std::vector<DemoFile> files;
  if (args.Has("incidents")) {
    const std::string dir = args.Get("incidents");
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
      return absl::InvalidArgumentError(absl::StrCat("--incidents ", dir, ": not a directory"));
    std::vector<fs::path> paths;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().extension() == ".json") paths.push_back(e.path());
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& p : paths) {
      std::ifstream in(p);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in && !in.eof()) return absl::InvalidArgumentError(absl::StrCat(p.string(), ": cannot read"));
      files.push_back({p.string(), std::move(text)});
    }
  } else {
    files = EmbeddedDemoIncidents();
  }
  if (files.empty()) return absl::InvalidArgumentError("no scripted incidents (*.json) to run");
  std::set<std::string> ids;
  for (const auto& n : kNodes) ids.insert(n.id);
  std::vector<Incident> out;
  for (auto& f : files) {
    Incident inc{f.name, f.json, {}};
    google::protobuf::util::JsonParseOptions options;
    if (auto s = google::protobuf::util::JsonStringToMessage(f.json, &inc.notice, options); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(f.name, ": not a notice: ", s.message().as_string()));
    }
    if (!ids.contains(inc.notice.origin())) {
      return absl::InvalidArgumentError(absl::StrCat(f.name, ": origin '", inc.notice.origin(),
                                                     "' is not a demo node (", absl::StrJoin(ids, ", "),
                                                     ")"));
    }
    if (inc.notice.id().empty())
      return absl::InvalidArgumentError(absl::StrCat(f.name, ": the demo needs a fixed \"id\""));
    if (inc.notice.revision() == 0) inc.notice.set_revision(1);
    out.push_back(std::move(inc));
  }
  return out;
}

// "AMBER+STRICT"; "-" for no marking.
std::string TlpShort(v1::Marking::Tlp tlp) {
  const absl::string_view name = base::TlpName(tlp);
  return name.empty() ? "-" : std::string(name);
}

// "delivered"; "?" for a status without a name.
std::string ReceiptStatus(v1::Receipt::Status s) {
  const absl::string_view name = base::ReceiptStatusName(s);
  return name.empty() ? "?" : std::string(name);
}

std::string Placement(const v1::SharedPlacement& p) {
  if (p.band().empty()) return "-";
  if (p.has_point()) return absl::StrFormat("%s %.0f", p.band(), p.point());
  if (p.has_low() && p.has_high()) return absl::StrCat(p.band(), " ", p.low(), "..", p.high());
  return p.band();
}

// SIGKILL to this process's children whose command line names `dir` (the demo's nodes).
void KillChildrenNaming(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != ::getpid()) continue;
    std::ifstream in(e.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(dir) != std::string::npos) ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL);
  }
}

// Waits until `done` says so, polling; false when the deadline passed or the user interrupted.
template <typename F>
bool WaitFor(Clock::time_point deadline, F done) {
  for (;;) {
    if (done()) return true;
    if (g_interrupted || Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

struct Results {
  std::map<std::string, std::vector<v1::InboxEntry>> received;  // by state
  std::map<std::string, std::vector<v1::InboxEntry>> own;       // by origin, with receipts
};

// Everything from starting the nodes to reading their inboxes. The caller stops and removes.
absl::Status RunFederation(node::LocalNetwork& net, const std::vector<Incident>& incidents, int timeout_s,
                           Progress& progress, const std::string& export_dir, Results* results) {
  progress.Phase("starting 5 nodes");
  size_t started = 0;
  for (const auto& n : kNodes) {
    if (g_interrupted) return absl::CancelledError("interrupted");
    if (absl::Status s = net.Start(n.id); !s.ok()) return s;
    progress.Count(++started, std::size(kNodes));
  }

  // Sessions: every link open in both directions' view.
  progress.Phase("opening sessions");
  std::vector<std::string> down;
  const auto sessions_open = [&] {
    down.clear();
    for (const auto& n : kNodes) {
      v1::ApiRequest r;
      r.mutable_status();
      auto s = net.Call(n.id, r);
      if (!s.ok()) {
        down.push_back(absl::StrCat(n.id, " (API: ", s.status().message(), ")"));
        continue;
      }
      for (const auto& p : s->status().peers()) {
        if (!p.connected() && n.id < p.peer()) down.push_back(absl::StrCat(n.id, "-", p.peer()));
      }
    }
    progress.Count(kLinks.size() - std::min(down.size(), kLinks.size()), kLinks.size());
    return down.empty();
  };
  if (!WaitFor(Clock::now() + std::chrono::seconds(timeout_s), sessions_open)) {
    if (g_interrupted) return absl::CancelledError("interrupted");
    return absl::DeadlineExceededError(
        absl::StrCat("sessions not open after ", timeout_s, " s: ", absl::StrJoin(down, ", ")));
  }

  progress.Phase(absl::StrCat("submitting ", incidents.size(), " notices"));
  size_t submitted = 0;
  for (const auto& inc : incidents) {
    if (g_interrupted) return absl::CancelledError("interrupted");
    auto r = net.Submit(inc.notice.origin(), inc.json);
    if (!r.ok())
      return absl::Status(r.status().code(), absl::StrCat(inc.file, ": ", inc.notice.origin(),
                                                          " refused it: ", r.status().message()));
    progress.Count(++submitted, incidents.size());
  }

  // Settled: every origin holds a final receipt for every recipient of every revision it
  // submitted, and no node has anything left in a queue (relayed copies and receipts included).
  progress.Phase("waiting for receipts");
  std::vector<std::string> pending;
  const auto settled = [&] {
    pending.clear();
    size_t final_receipts = 0, receipts = 0;
    std::set<std::pair<std::string, uint32_t>> seen;
    for (const auto& n : kNodes) {
      auto own = net.Inbox(n.id, /*own=*/true);
      if (!own.ok()) {
        pending.push_back(absl::StrCat(n.id, " (API: ", own.status().message(), ")"));
        continue;
      }
      for (const auto& e : own->inbox()) {
        seen.insert({absl::StrCat(e.notice().origin(), "/", e.notice().id()), e.notice().revision()});
        for (const auto& r : e.receipts()) {
          ++receipts;
          if (r.status() == v1::Receipt::DELIVERED || r.status() == v1::Receipt::REFUSED) {
            ++final_receipts;
          } else {
            pending.push_back(absl::StrCat(e.notice().origin(), "/", e.notice().id(), " rev ",
                                           e.notice().revision(), " -> ", r.recipient(), " (",
                                           ReceiptStatus(r.status()), ")"));
          }
        }
      }
      v1::ApiRequest q;
      q.mutable_outbox();
      auto out = net.Call(n.id, q);
      if (!out.ok()) {
        pending.push_back(absl::StrCat(n.id, " (API: ", out.status().message(), ")"));
        continue;
      }
      for (const auto& p : out->outbox()) {
        if (p.pending() > 0)
          pending.push_back(absl::StrCat(n.id, " queue to ", p.peer(), ": ", p.pending(), " item(s)"));
      }
    }
    for (const auto& inc : incidents) {
      if (!seen.contains({absl::StrCat(inc.notice.origin(), "/", inc.notice.id()), inc.notice.revision()})) {
        pending.push_back(absl::StrCat(inc.file, ": not among ", inc.notice.origin(), "'s own notices"));
      }
    }
    progress.Count(final_receipts, receipts);
    return pending.empty();
  };
  if (!WaitFor(Clock::now() + std::chrono::seconds(timeout_s), settled)) {
    if (g_interrupted) return absl::CancelledError("interrupted");
    if (pending.size() > 12) pending.resize(12), pending.push_back("…");
    return absl::DeadlineExceededError(
        absl::StrCat("not settled after ", timeout_s, " s: ", absl::StrJoin(pending, "; ")));
  }

  progress.Phase("reading the inboxes");
  for (const auto& n : kNodes) {
    auto in = net.Inbox(n.id, false);
    if (!in.ok()) return in.status();
    results->received[n.id].assign(in->inbox().begin(), in->inbox().end());
    auto own = net.Inbox(n.id, true);
    if (!own.ok()) return own.status();
    results->own[n.id].assign(own->inbox().begin(), own->inbox().end());
  }

  if (!export_dir.empty()) {
    progress.Phase(absl::StrCat("exporting to ", export_dir));
    std::error_code ec;
    fs::create_directories(export_dir, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("--export ", export_dir, ": ", ec.message()));
    for (const auto& n : kNodes) {
      const node::ExportSource source{n.id, n.scheme};
      auto bundle = node::StixBundle(results->received[n.id], source);
      if (!bundle.ok()) return bundle.status();
      auto lines = node::JsonLines(results->received[n.id], source);
      if (!lines.ok()) return lines.status();
      std::ofstream stix(fs::path(export_dir) / absl::StrCat(n.id, ".stix.json"));
      stix << bundle->Write(2) << "\n";
      std::ofstream jsonl(fs::path(export_dir) / absl::StrCat(n.id, ".jsonl"));
      for (const auto& l : *lines) jsonl << l.Write() << "\n";
      if (!stix || !jsonl)
        return absl::InternalError(absl::StrCat("cannot write the exports of ", n.id, " under ", export_dir));
    }
  }
  return absl::OkStatus();
}

JsonValue ResultsJson(const std::vector<Incident>& incidents, const Results& results, double seconds,
                      const std::string& kept) {
  JsonValue nodes = JsonValue::Array();
  for (const auto& n : kNodes) {
    JsonValue peers = JsonValue::Array();
    for (const auto& [a, b] : kLinks) {
      if (a == n.id) peers.Push(b);
      if (b == n.id) peers.Push(a);
    }
    nodes.Push(JsonValue::Object()
                   .Add("id", n.id)
                   .Add("scheme", n.scheme)
                   .Add("hub", n.hub)
                   .Add("peers", std::move(peers)));
  }
  JsonValue submitted = JsonValue::Array();
  for (const auto& inc : incidents) {
    const v1::Notice& n = inc.notice;
    JsonValue o = JsonValue::Object();
    o.Add("file", inc.file).Add("origin", n.origin()).Add("id", n.id()).Add("revision", n.revision());
    o.Add("retracted", n.retracted()).Add("tlp", TlpShort(n.marking().tlp()));
    JsonValue recipients = JsonValue::Array();
    for (const auto& r : n.marking().recipients()) recipients.Push(r);
    o.Add("recipients", std::move(recipients));
    JsonValue receipts = JsonValue::Array();
    auto it = results.own.find(n.origin());
    if (it != results.own.end()) {
      for (const auto& e : it->second) {
        if (e.notice().id() != n.id() || e.notice().revision() != n.revision()) continue;
        o.Add("level", e.notice().origin_assessment().level());
        for (const auto& r : e.receipts()) {
          JsonValue rj = JsonValue::Object();
          rj.Add("recipient", r.recipient()).Add("status", ReceiptStatus(r.status()));
          if (!r.reason_code().empty()) rj.Add("reason_code", r.reason_code());
          receipts.Push(std::move(rj));
        }
      }
    }
    o.Add("receipts", std::move(receipts));
    submitted.Push(std::move(o));
  }
  JsonValue states = JsonValue::Array();
  for (const auto& n : kNodes) {
    JsonValue received = JsonValue::Array();
    for (const auto& e : results.received.at(n.id)) {
      const v1::Notice& x = e.notice();
      const v1::Assessment& a = x.origin_assessment();
      const v1::Translation& t = e.translation();
      JsonValue o = JsonValue::Object();
      o.Add("origin", x.origin())
          .Add("id", x.id())
          .Add("revision", x.revision())
          .Add("retracted", x.retracted());
      o.Add("tlp", TlpShort(x.marking().tlp()))
          .Add("title", x.title())
          .Add("received_from", e.received_from());
      o.Add("origin_scheme", a.scheme()).Add("origin_level", a.level()).Add("shared_band", a.shared().band());
      if (a.shared().has_low()) o.Add("shared_low", a.shared().low());
      if (a.shared().has_high()) o.Add("shared_high", a.shared().high());
      if (a.shared().has_point()) o.Add("shared_point", a.shared().point());
      o.Add("scheme", t.scheme()).Add("level", t.level());
      o.Add("method", t.method() == v1::Translation::reassessed ? "reassessed"
                      : t.method() == v1::Translation::interval ? "interval"
                                                                : "");
      received.Push(std::move(o));
    }
    states.Push(
        JsonValue::Object().Add("id", n.id).Add("scheme", n.scheme).Add("received", std::move(received)));
  }
  JsonValue out = JsonValue::Object();
  out.Add("nodes", std::move(nodes)).Add("submitted", std::move(submitted)).Add("states", std::move(states));
  out.Add("wall_seconds", seconds);
  if (!kept.empty()) out.Add("kept", kept);
  return out;
}

void PrintText(const std::vector<Incident>& incidents, const Results& results, double seconds,
               const std::string& kept) {
  size_t revisions = 0, retractions = 0;
  for (const auto& inc : incidents) {
    if (inc.notice.retracted())
      ++retractions;
    else if (inc.notice.revision() > 1)
      ++revisions;
  }
  const auto count = [](size_t n, const char* one, const char* many) {
    return absl::StrCat(n, " ", n == 1 ? one : many);
  };
  std::cout << "sevex demo: 5 national nodes on 127.0.0.1, mutual TLS 1.3; "
            << count(incidents.size(), "notice", "notices") << " submitted ("
            << count(incidents.size() - revisions - retractions, "incident", "incidents") << ", "
            << count(revisions, "revision", "revisions") << ", "
            << count(retractions, "retraction", "retractions")
            << ")\n  us.cisa, uk.ncsc, au.asd linked to each other; every state linked to the hub eu.hub; "
               "cl.csirt reaches the others through it\n";
  for (const auto& n : kNodes) {
    const auto& got = results.received.at(n.id);
    std::cout << absl::StrFormat("\n%s (%s%s) received %d\n", n.id, n.scheme, n.hub ? ", hub" : "",
                                 got.size());
    if (got.empty()) continue;
    std::cout << absl::StrFormat("  %-9s %-8s %3s  %-12s %-24s %-10s %-16s %-10s  %s\n", "FROM", "NOTICE",
                                 "REV", "TLP", "ORIGIN LEVEL", "SHARED", "OWN LEVEL", "METHOD", "TITLE");
    for (const auto& e : got) {
      const v1::Notice& x = e.notice();
      const v1::Translation& t = e.translation();
      const std::string origin_level =
          x.retracted() ? "retracted"
                        : absl::StrCat(x.origin_assessment().scheme(), " ", x.origin_assessment().level());
      const std::string method = x.retracted()                               ? ""
                                 : t.method() == v1::Translation::reassessed ? "reassessed"
                                                                             : "interval";
      std::string title = x.retracted() ? "(withdraws the earlier revisions)" : x.title();
      if (title.size() > 60) title = absl::StrCat(title.substr(0, 57), "...");
      std::cout << absl::StrFormat("  %-9s %-8s %3d  %-12s %-24s %-10s %-16s %-10s  %s\n", x.origin(),
                                   x.id().substr(0, 8), x.revision(), TlpShort(x.marking().tlp()),
                                   origin_level,
                                   x.retracted() ? "-" : Placement(x.origin_assessment().shared()),
                                   x.retracted() ? "-" : t.level(), method, title);
    }
  }
  std::cout << absl::StrFormat("\n%-9s %-9s %8s %6s %6s %6s %13s %4s %8s   %5s %8s\n", "STATE", "SCHEME",
                               "RECEIVED", "CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED", "RETRACT",
                               "SENT", "REFUSED");
  std::vector<std::string> refusals;
  for (const auto& n : kNodes) {
    std::map<v1::Marking::Tlp, int> by;
    int retracts = 0;
    for (const auto& e : results.received.at(n.id)) {
      ++by[e.notice().marking().tlp()];
      retracts += e.notice().retracted();
    }
    int refused = 0;
    for (const auto& e : results.own.at(n.id)) {
      for (const auto& r : e.receipts()) {
        if (r.status() != v1::Receipt::REFUSED) continue;
        ++refused;
        refusals.push_back(absl::StrCat(n.id, "/", e.notice().id().substr(0, 8), " rev ",
                                        e.notice().revision(), " ", TlpShort(e.notice().marking().tlp()),
                                        " -> ", r.recipient(), ": ", r.reason_code(),
                                        r.reason().empty() ? "" : absl::StrCat(" (", r.reason(), ")")));
      }
    }
    std::cout << absl::StrFormat("%-9s %-9s %8d %6d %6d %6d %13d %4d %8d   %5d %8d\n", n.id, n.scheme,
                                 results.received.at(n.id).size(), by[v1::Marking::CLEAR],
                                 by[v1::Marking::GREEN], by[v1::Marking::AMBER],
                                 by[v1::Marking::AMBER_STRICT], by[v1::Marking::RED], retracts,
                                 results.own.at(n.id).size(), refused);
  }
  if (!refusals.empty()) {
    std::cout << "\nrefused (the markings forbid the route):\n";
    for (const auto& r : refusals) std::cout << "  " << r << "\n";
  }
  std::cout << absl::StrFormat("\nsettled in %.1f s; nodes stopped; %s\n", seconds,
                               kept.empty() ? "nothing left on disk" : absl::StrCat("kept in ", kept));
}

}  // namespace

int RunDemo(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kDemo, argv);
  if (!args.ok()) return Fail(kDemo.name, args.status());
  if (args->help) {
    std::cout << Usage(kDemo);
    return kExitOk;
  }
  auto format = OutputFormat(*args);
  if (!format.ok()) return Fail(kDemo.name, format.status());
  int timeout_s = 60;
  if (args->Has("timeout") &&
      (!absl::SimpleAtoi(args->Get("timeout"), &timeout_s) || timeout_s < 1 || timeout_s > 3600)) {
    return Fail(kDemo.name,
                absl::InvalidArgumentError(absl::StrCat("--timeout '", args->Get("timeout"),
                                                        "': a whole number of seconds, 1..3600")));
  }
  // `--keep DIR`: the parser reads --keep as a flag and DIR as the one positional argument.
  if (!args->positional.empty() && !args->Has("keep")) {
    return Fail(kDemo.name,
                absl::InvalidArgumentError(absl::StrCat("unexpected argument '", args->positional[0],
                                                        "' (a directory goes after --keep)")));
  }
  auto incidents = LoadIncidents(*args);
  if (!incidents.ok()) return Fail(kDemo.name, incidents.status());

  std::error_code ec;
  const std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Fail(kDemo.name, absl::InternalError("cannot find this program's path (/proc/self/exe)"));

  std::string dir;
  const bool keep = args->Has("keep");
  if (!args->positional.empty()) {
    dir = fs::absolute(args->positional[0]).string();
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec)) {
      return Fail(kDemo.name, absl::InvalidArgumentError(absl::StrCat("--keep ", dir, ": not empty")));
    }
  } else {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/sevex-demo-XXXXXX");
    if (mkdtemp(tmpl.data()) == nullptr)
      return Fail(kDemo.name, absl::InternalError(absl::StrCat("cannot create ", tmpl)));
    dir = tmpl;
  }

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  // A node that dies while the demo writes to its API socket must fail that call, not the demo.
  ::signal(SIGPIPE, SIG_IGN);

  Progress progress;
  const auto start = Clock::now();
  Results results;
  absl::Status status;
  // A node that takes a request and never answers fails that call after --timeout seconds.
  // Should anything else hang (a node that does not stop), the watchdog, past every bounded wait
  // (sessions, receipts, start and stop), kills the demo's own node processes; the blocked call
  // then fails and the demo cleans up.
  const int overall_s = 2 * timeout_s + 60;
  std::atomic<bool> finished{false}, overdue{false};
  std::thread watchdog([&] {
    const auto deadline = start + std::chrono::seconds(overall_s);
    while (!finished) {
      if (Clock::now() > deadline) {
        overdue = true;
        KillChildrenNaming(dir);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  {
    node::LocalNetwork::Spec spec;
    for (const auto& n : kNodes) spec.nodes.push_back({n.id, n.scheme, n.hub, ""});
    spec.links = kLinks;
    progress.Phase("making a throw-away PKI and configurations");
    auto net = node::LocalNetwork::Create(dir, self, spec);
    if (!net.ok()) {
      status = net.status();
    } else {
      (*net)->set_call_timeout(absl::Seconds(timeout_s));
      status = RunFederation(**net, *incidents, timeout_s, progress, args->Get("export"), &results);
      progress.Phase("stopping the nodes");
      absl::Status stopped = (*net)->StopAll();  // the destructor kills whatever did not stop
      if (status.ok()) status = stopped;
    }
  }
  finished = true;
  watchdog.join();
  if (overdue) {
    status = absl::DeadlineExceededError(absl::StrCat("the nodes did not answer within ", overall_s,
                                                      " s; they were killed (", status.message(), ")"));
  }
  progress.Clear();
  if (!status.ok() && !keep) {
    // The directory goes away: show what the nodes said last, so the failure can be read.
    for (const auto& n : kNodes) {
      std::ifstream log(fs::path(dir) / absl::StrCat(n.id, ".log"));
      std::vector<std::string> lines;
      for (std::string line; std::getline(log, line);) {
        lines.push_back(line);
        if (lines.size() > 4) lines.erase(lines.begin());
      }
      for (const auto& l : lines) std::cerr << "  " << n.id << ".log: " << l << "\n";
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!keep) fs::remove_all(dir, ec);
  if (!status.ok()) {
    if (keep) std::cerr << "sevex demo: configurations, stores and node logs kept in " << dir << "\n";
    return Fail(kDemo.name, status);
  }
  if (*format == "json") {
    std::cout << ResultsJson(*incidents, results, seconds, keep ? dir : "").Write(2) << "\n";
  } else {
    PrintText(*incidents, results, seconds, keep ? dir : "");
  }
  return kExitOk;
}

}  // namespace sevex::cli
