// sevex node | submit | inbox | outbox | status — running a national node and talking to it.
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "base/printable.h"
#include "node/api.h"
#include "node/clock.h"
#include "node/config.h"
#include "node/node.h"
#include "node/routing.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "transport/event_log.h"

namespace sevex::cli {

absl::StatusOr<std::string> SocketPath(const Args& args) {
  if (args.Has("socket")) return args.Get("socket");
  if (args.Has("config")) {
    auto config = node::LoadNodeConfig(args.Get("config"));
    if (!config.ok()) return config.status();
    return config->api_socket();
  }
  if (const char* env = std::getenv("SEVEX_SOCKET"); env != nullptr && *env != '\0') return std::string(env);
  return absl::InvalidArgumentError("say which node: --socket PATH, --config FILE or $SEVEX_SOCKET");
}

absl::StatusOr<v1::ApiResponse> CallNode(const Args& args, const v1::ApiRequest& request) {
  auto socket = SocketPath(args);
  if (!socket.ok()) return socket.status();
  return CallNode(*socket, request);
}

absl::StatusOr<v1::ApiResponse> CallNode(const std::string& socket, const v1::ApiRequest& request) {
  uint32_t seconds = 60;
  if (const char* env = std::getenv("SEVEX_API_TIMEOUT"); env != nullptr && *env != '\0') {
    if (!absl::SimpleAtoi(env, &seconds) || seconds == 0 || seconds > 86400) {
      return absl::InvalidArgumentError(
          absl::StrCat("$SEVEX_API_TIMEOUT '", env, "': a whole number of seconds, 1..86400"));
    }
  }
  const absl::Duration timeout = absl::Seconds(seconds) + absl::Milliseconds(request.submit().wait_timeout_ms());
  auto response = node::CallApi(socket, request, timeout);
  if (absl::IsDeadlineExceeded(response.status())) {
    return absl::DeadlineExceededError(absl::StrCat(response.status().message(), " (", socket,
                                                    "): is the node stopped or overloaded? See its log"));
  }
  return response;
}

namespace {

// --wait: some recipient refused a notice or does not have it yet.
constexpr int kExitUndelivered = 3;

const Option kConfigOption{"config", "FILE", "the node's configuration (textproto; docs/node.md)"};
const Option kSocketOption{"socket", "PATH",
                           "the node's API socket (default: $SEVEX_SOCKET, else api_socket of --config)"};

const Command kNode{"node", "--config FILE [--check] [--log-format json|text]",
                    "Run a national node until SIGTERM or SIGINT.",
                    "The node listens for its peers, dials those with an address, takes notices on its API\n"
                    "socket and delivers them. --check only reads and checks the configuration.\n"
                    "Exit codes: 0 after a graceful stop; 2 when the configuration is wrong or what it names\n"
                    "cannot be loaded (keys, certificates, policies, store), nothing started; 1 when it cannot\n"
                    "start (a port or API socket in use). --check creates and writes nothing: a missing\n"
                    "store or received-notices file is only checked to be creatable.\n"
                    "The log goes to standard error, one JSON object per line (time, level, event and its\n"
                    "fields: peer, notice_id, reason, …); --log-format text writes the same for people.",
                    {kConfigOption, {"check", "", "check the configuration and exit"},
                     {"log-format", "json|text", "the log on standard error (default: json)"},
                     // Test seams (node.h, NodeOptions): not in --help; each logs a warning.
                     {"test-store-faults", "FILE", "", true},
                     {"test-clock-offset-ms", "MS", "", true},
                     {"test-tamper-relay", "", "", true}}};

const Command kSubmit{"submit", "[--socket PATH | --config FILE] [--wait [--timeout SECONDS]] [--format json|text] [FILE|-]",
                      "Submit notices (JSON) to the local node, which assesses, signs, stores and delivers them.",
                      "Input: one notice, a JSON array, or JSON lines. Each needs marking.tlp (and\n"
                      "marking.recipients for AMBER, AMBER_STRICT and RED); id is generated when absent;\n"
                      "a higher revision of an id revises it; \"retracted\": true withdraws it. All or\n"
                      "nothing: a bad notice stores none. Answers once the notices are durable.\n"
                      "--wait: answers only once every recipient has each notice or refused it (or the\n"
                      "timeout passed), with each recipient's receipt; exit 3 when any is refused or pending.",
                      {kSocketOption, kConfigOption, {"wait", "", "wait for delivery to every recipient"},
                       {"timeout", "SECONDS", "how long --wait waits (default: 30)"}, kFormatOption},
                      1};

const Command kInbox{"inbox", "[--socket PATH | --config FILE] [--since TIME] [--scheme own|shared|origin] [--own] [--format text|json|jsonl]",
                     "List the notices this node received, with their severity.",
                     "--since: an RFC 3339 time or a duration back from now (\"90m\", \"24h\").\n"
                     "--scheme: the severity column in text: own (this node's scheme, the default),\n"
                     "shared (the shared band) or origin (the origin's own level).\n"
                     "--own: this node's own notices instead, with each recipient's delivery state.",
                     {kSocketOption, kConfigOption, {"since", "TIME", "only notices received since"},
                      {"scheme", "own|shared|origin", "which severity to show"}, {"own", "", "own notices and receipts"},
                      {"limit", "N", "at most N notices"}, {"format", "text|json|jsonl", "output format (default: text)"}}};

const Command kOutbox{"outbox", "[--socket PATH | --config FILE] [--format text|json]",
                      "Per peer: connected, pending count, oldest pending age, last error, delivered, refused.",
                      "", {kSocketOption, kConfigOption, kFormatOption}};

const Command kStatus{"status", "[--socket PATH | --config FILE] [--format text|json]",
                      "The node's identity, scheme, notice counts and peers.", "",
                      {kSocketOption, kConfigOption, kFormatOption}};

std::string Age(int64_t since_ms) {
  if (since_ms == 0) return "-";
  // A time ahead of the clock (it was set back since, or it came from a node whose clock runs
  // ahead) counts as now: an age is never negative, as in /metrics.
  const int64_t s = std::max<int64_t>(0, node::WallClockMs() - since_ms) / 1000;
  if (s < 120) return absl::StrCat(s, "s");
  if (s < 7200) return absl::StrCat(s / 60, "m");
  return absl::StrCat(s / 3600, "h");
}

std::string Time(int64_t ms) { return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone()); }

// One line of text output, ended. Every line the node commands print goes through it: titles,
// ids, reasons and errors come from peers and files, and what a terminal would act on (an ESC
// sequence, a newline that draws a fake line) is shown escaped (base/printable.h).
std::string Line(absl::string_view text) { return absl::StrCat(base::Printable(text), "\n"); }

// "uk.ncsc        refused   bad_signature: …" — one recipient's receipt, one line.
std::string ReceiptLine(const v1::Receipt& r) {
  const char* status = r.status() == v1::Receipt::PENDING     ? "pending"
                       : r.status() == v1::Receipt::DELIVERED ? "delivered"
                       : r.status() == v1::Receipt::REFUSED   ? "refused"
                                                              : "?";
  return Line(absl::StrFormat("%-14s %-9s %s%s", r.recipient(), status, r.reason_code(),
                              r.reason().empty() ? "" : absl::StrCat(": ", r.reason())));
}

std::string Severity(const v1::InboxEntry& e, const std::string& which) {
  const v1::Assessment& a = e.notice().origin_assessment();
  if (e.notice().retracted()) return "retracted";
  if (which == "origin") return absl::StrCat(a.scheme(), " ", a.level());
  if (which == "shared") return a.shared().band().empty() ? "-" : a.shared().band();
  const v1::Translation& t = e.translation();
  if (t.level().empty()) return absl::StrCat(t.scheme(), " -");
  const char* method = t.method() == v1::Translation::reassessed ? "reassessed" : "interval";
  return absl::StrCat(t.scheme(), " ", t.level(), " (", method, ")");
}

}  // namespace

int RunNode(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kNode, argv);
  if (!args.ok()) return Fail(kNode.name, args.status());
  if (args->help) {
    std::cout << Usage(kNode);
    return kExitOk;
  }
  if (!args->Has("config")) return Fail(kNode.name, absl::InvalidArgumentError("--config FILE is required"));
  if (args->Has("log-format")) {
    const std::string format = args->Get("log-format");
    if (format != "json" && format != "text") {
      return Fail(kNode.name, absl::InvalidArgumentError(absl::StrCat("--log-format: '", format, "' is not json or text")));
    }
    transport::SetLogFormat(format == "text" ? transport::LogFormat::kText : transport::LogFormat::kJson);
  }
  transport::RouteProtobufLogs();
  auto config = node::LoadNodeConfig(args->Get("config"));
  if (!config.ok()) return Fail(kNode.name, config.status());
  node::NodeOptions seams;
  seams.store_faults_file = args->Get("test-store-faults");
  seams.tamper_relayed = args->Has("test-tamper-relay");
  if (args->Has("test-clock-offset-ms")) {
    constexpr int64_t kMaxOffsetMs = int64_t{100} * 366 * 24 * 3600 * 1000;
    const std::string text = args->Get("test-clock-offset-ms");
    if (!absl::SimpleAtoi(text, &seams.clock_offset_ms) || seams.clock_offset_ms > kMaxOffsetMs ||
        seams.clock_offset_ms < -kMaxOffsetMs) {
      return Fail(kNode.name, absl::InvalidArgumentError(absl::StrCat(
                                  "--test-clock-offset-ms '", text, "': not a whole number of milliseconds within 100 years")));
    }
  }
  auto node = node::Node::Create(*config, args->Has("check") ? node::Node::Mode::kCheck : node::Node::Mode::kServe,
                                 seams);
  if (!node.ok()) {
    return Fail(kNode.name, absl::InvalidArgumentError(absl::StrCat(args->Get("config"), ": ", node.status().message())));
  }
  if (args->Has("check")) {
    std::cout << args->Get("config") << ": ok (" << config->node_id() << ", scheme " << config->scheme() << ", "
              << config->peers_size() << " peers)\n";
    return kExitOk;
  }
  if (absl::Status s = (*node)->Start(); !s.ok()) {
    std::cerr << "sevex node: " << s.message() << "\n";
    (*node)->Stop();
    return kExitInternal;
  }
  (*node)->RunUntilSignal();
  return kExitOk;
}

int RunSubmit(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kSubmit, argv);
  if (!args.ok()) return Fail(kSubmit.name, args.status());
  if (args->help) {
    std::cout << Usage(kSubmit);
    return kExitOk;
  }
  auto format = OutputFormat(*args);
  if (!format.ok()) return Fail(kSubmit.name, format.status());
  std::string where;
  auto text = ReadInput(args->positional, &where);
  if (!text.ok()) return Fail(kSubmit.name, text.status());
  v1::ApiRequest request;
  request.mutable_submit()->set_json(std::move(*text));
  request.mutable_submit()->set_where(where);
  if (args->Has("timeout") && !args->Has("wait")) {
    return Fail(kSubmit.name, absl::InvalidArgumentError("--timeout goes with --wait"));
  }
  if (args->Has("wait")) {
    uint32_t seconds = 30;
    if (args->Has("timeout") && (!absl::SimpleAtoi(args->Get("timeout"), &seconds) || seconds == 0 || seconds > 3600)) {
      return Fail(kSubmit.name, absl::InvalidArgumentError(
                                    absl::StrCat("--timeout '", args->Get("timeout"), "': a whole number of seconds, 1..3600")));
    }
    request.mutable_submit()->set_wait(true);
    request.mutable_submit()->set_wait_timeout_ms(seconds * 1000);
  }
  auto response = CallNode(*args, request);
  if (!response.ok()) return Fail(kSubmit.name, response.status());
  bool all_delivered = true;
  for (const auto& s : response->submitted()) {
    for (const auto& r : s.receipts()) all_delivered &= r.status() == v1::Receipt::DELIVERED;
    if (*format == "json") {
      std::cout << ToJson(s, false) << "\n";
      continue;
    }
    std::string line = absl::StrCat(s.id(), " rev ", s.revision(), ": ", s.assessment().scheme(), " ",
                                    s.assessment().level());
    if (!s.assessment().shared().band().empty())
      absl::StrAppend(&line, " (shared ", s.assessment().shared().band(), ")");
    absl::StrAppend(&line, " -> ", s.recipients().empty() ? "nobody" : absl::StrJoin(s.recipients(), ", "));
    std::cout << Line(line);
    if (s.receipts().empty()) {
      for (const auto& r : s.refused()) std::cout << Line(absl::StrCat("  not sent to ", r));
    }
    for (const auto& r : s.receipts()) std::cout << "  " << ReceiptLine(r);
  }
  return all_delivered ? kExitOk : kExitUndelivered;
}

int RunInbox(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kInbox, argv);
  if (!args.ok()) return Fail(kInbox.name, args.status());
  if (args->help) {
    std::cout << Usage(kInbox);
    return kExitOk;
  }
  const std::string format = args->Get("format", "text");
  if (format != "text" && format != "json" && format != "jsonl") {
    return Fail(kInbox.name, absl::InvalidArgumentError(absl::StrCat("--format '", format, "': use text, json or jsonl")));
  }
  const std::string scheme = args->Get("scheme", "own");
  if (scheme != "own" && scheme != "shared" && scheme != "origin") {
    return Fail(kInbox.name, absl::InvalidArgumentError(absl::StrCat("--scheme '", scheme, "': use own, shared or origin")));
  }
  v1::ApiRequest request;
  if (args->Has("since")) {
    const std::string since = args->Get("since");
    absl::Time t;
    absl::Duration d;
    std::string err;
    if (absl::ParseDuration(since, &d)) {
      t = absl::FromUnixMillis(node::WallClockMs()) - d;  // the node's machine's clock
    } else if (!absl::ParseTime(absl::RFC3339_full, since, &t, &err)) {
      return Fail(kInbox.name, absl::InvalidArgumentError(
                                   absl::StrCat("--since '", since, "': neither a duration (24h) nor an RFC 3339 time")));
    }
    request.mutable_inbox()->set_since_ms(absl::ToUnixMillis(t));
  }
  if (args->Has("limit")) {
    uint32_t limit = 0;
    if (!absl::SimpleAtoi(args->Get("limit"), &limit)) {
      return Fail(kInbox.name, absl::InvalidArgumentError("--limit must be a whole number"));
    }
    request.mutable_inbox()->set_limit(limit);
  } else {
    request.mutable_inbox();
  }
  const bool own = args->Has("own");
  request.mutable_inbox()->set_own(own);
  auto response = CallNode(*args, request);
  if (!response.ok()) return Fail(kInbox.name, response.status());
  std::vector<const v1::InboxEntry*> entries;
  for (const auto& e : response->inbox()) entries.push_back(&e);
  if (format == "json") {
    v1::ApiResponse out;
    for (const auto* e : entries) *out.add_inbox() = *e;
    std::cout << ToJson(out, true) << "\n";
    return kExitOk;
  }
  if (format == "jsonl") {
    for (const auto* e : entries) std::cout << ToJson(*e, false) << "\n";
    return kExitOk;
  }
  for (const auto* e : entries) {
    const v1::Notice& n = e->notice();
    std::cout << Line(absl::StrFormat("%s  %s/%s rev %d  %s  %s", Time(e->received_at_ms()), n.origin(),
                                      n.id(), n.revision(), node::TlpName(n.marking().tlp()),
                                      own ? "" : absl::StrCat("from ", e->received_from())));
    std::cout << Line(absl::StrCat("  ", n.title().empty() ? "(untitled)" : n.title()));
    if (own) {
      std::cout << Line(
          absl::StrCat("  ", n.origin_assessment().scheme(), " ", n.origin_assessment().level()));
      for (const auto& r : e->receipts()) std::cout << "    " << ReceiptLine(r);
    } else {
      std::cout << Line(absl::StrCat("  ", Severity(*e, scheme)));
    }
  }
  if (entries.empty()) std::cout << (own ? "no own notices\n" : "the inbox is empty\n");
  return kExitOk;
}

namespace {
void PrintQueues(const google::protobuf::RepeatedPtrField<v1::PeerQueue>& queues) {
  std::cout << absl::StrFormat("%-16s %-9s %8s %7s %9s %7s  %s\n", "PEER", "SESSION", "PENDING", "OLDEST", "DELIVERED",
                               "REFUSED", "LAST ERROR");
  for (const auto& q : queues) {
    std::cout << Line(
        absl::StrFormat("%-16s %-9s %8d %7s %9d %7d  %s", q.peer(), q.connected() ? "open" : "down",
                        q.pending(), Age(q.oldest_pending_ms()), q.delivered(), q.refused(), q.last_error()));
  }
}
}  // namespace

int RunOutbox(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kOutbox, argv);
  if (!args.ok()) return Fail(kOutbox.name, args.status());
  if (args->help) {
    std::cout << Usage(kOutbox);
    return kExitOk;
  }
  auto format = OutputFormat(*args);
  if (!format.ok()) return Fail(kOutbox.name, format.status());
  v1::ApiRequest request;
  request.mutable_outbox();
  auto response = CallNode(*args, request);
  if (!response.ok()) return Fail(kOutbox.name, response.status());
  if (*format == "json") {
    for (const auto& q : response->outbox()) std::cout << ToJson(q, false) << "\n";
  } else {
    PrintQueues(response->outbox());
  }
  return kExitOk;
}

int RunStatus(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kStatus, argv);
  if (!args.ok()) return Fail(kStatus.name, args.status());
  if (args->help) {
    std::cout << Usage(kStatus);
    return kExitOk;
  }
  auto format = OutputFormat(*args);
  if (!format.ok()) return Fail(kStatus.name, format.status());
  v1::ApiRequest request;
  request.mutable_status();
  auto response = CallNode(*args, request);
  if (!response.ok()) return Fail(kStatus.name, response.status());
  const v1::NodeStatus& s = response->status();
  if (*format == "json") {
    std::cout << ToJson(s, true) << "\n";
    return kExitOk;
  }
  std::cout << Line(absl::StrCat("node      ", s.node_id()))
            << Line(absl::StrCat("scheme    ", s.scheme(), " (policies: ", s.policy_origin(), ")"))
            << Line(absl::StrCat("up since  ", Time(s.started_ms())))
            << Line(absl::StrCat("notices   ", s.notices_stored(), " stored, ", s.own_notices(), " own"))
            << "\n";
  PrintQueues(s.peers());
  return kExitOk;
}

}  // namespace sevex::cli
