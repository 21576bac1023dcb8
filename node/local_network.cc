#include "node/local_network.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/api.h"

namespace sevex::node {

namespace {

namespace fs = std::filesystem;

// Free TCP ports on 127.0.0.1 for the nodes to listen on, chosen below the kernel's ephemeral
// range (ip_local_port_range): ports the kernel hands out, to a bind() to port 0 as to every
// outgoing connection, could be taken again before a node binds them, and with hundreds of
// nodes that happens. Each port is checked free now and none is handed out twice.
class PortPicker {
 public:
  PortPicker() {
    std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
    int low = 0, high = 0;
    if (range >> low >> high && low > 2048) ephemeral_low_ = low;
    rng_.seed(static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  }

  absl::StatusOr<int> Next() {
    std::uniform_int_distribution<int> pick(1024, ephemeral_low_ - 1);
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const int port = pick(rng_);
      if (taken_.contains(port) || !Bindable(port)) continue;
      taken_.insert(port);
      return port;
    }
    return absl::UnavailableError("no free port on 127.0.0.1 below the ephemeral range");
  }

 private:
  static bool Bindable(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

  int ephemeral_low_ = 32768;
  std::set<int> taken_;
  std::mt19937 rng_;
};

// Starts `argv` with its output appended to `log` and `env` added to its environment. The child
// is sent SIGTERM when the thread that called this ends (PR_SET_PDEATHSIG, kept across exec), so
// when this process exits or is killed without stopping its children, they stop too; and so this
// is called only from a thread that lives as long as the children should.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log,
                            const std::vector<std::string>& env = {}) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // A parent that died between fork and prctl sent no signal; the child was already
    // re-parented then, and goes without starting.
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(127);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Runs the commands, up to `parallel` at a time, each to completion; the first failure is returned.
absl::Status RunAll(const std::vector<std::vector<std::string>>& commands, const std::string& log, size_t parallel) {
  absl::Status first;
  std::map<pid_t, const std::vector<std::string>*> running;
  auto reap = [&] {  // waits for one of ours: never another child (a running node) of this process
    int status = 0;
    auto it = running.begin();
    ::waitpid(it->first, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      const auto& argv = *it->second;
      first.Update(absl::InternalError(absl::StrCat(absl::StrJoin(argv.begin() + 1, argv.end(), " "), " failed; see ", log)));
    }
    running.erase(it);
  };
  for (const auto& argv : commands) {
    while (running.size() >= parallel) reap();
    absl::StatusOr<pid_t> pid = Spawn(argv, log);
    if (!pid.ok()) {
      first.Update(pid.status());
      break;
    }
    running[*pid] = &argv;
  }
  while (!running.empty()) reap();
  return first;
}

// The last error logged, else the last line of a log, for an error message (its directory may not outlive the caller).
std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  std::string error;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    last = line;
    if (line.find("\"level\":\"error\"") != std::string::npos || line.rfind("sevex ", 0) == 0) error = line;
  }
  if (!error.empty()) return error;
  return last.empty() ? absl::StrCat("nothing in ", path) : last;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalNetwork>> LocalNetwork::Create(const std::string& dir, const std::string& binary,
                                                                   const Spec& spec) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::unique_ptr<LocalNetwork> net(new LocalNetwork(fs::absolute(dir).string(), binary));
  const std::string pki = net->dir_ + "/pki";
  const std::string log = net->dir_ + "/pki.log";
  if (absl::Status s = RunAll({{binary, "pki", "init", "--dir", pki}}, log, 1); !s.ok()) return s;
  std::vector<std::vector<std::string>> issue;
  for (const auto& n : spec.nodes) {
    issue.push_back({binary, "pki", "issue", "--dir", pki, "--node-id", n.id});
    net->ids_.push_back(n.id);
  }
  // Each node's files are its own (serial numbers are random), so they can be issued in parallel.
  if (absl::Status s = RunAll(issue, log, 8); !s.ok()) return s;
  if (absl::Status s = net->WriteConfigs(spec); !s.ok()) return s;
  return net;
}

absl::Status LocalNetwork::WriteConfigs(const Spec& spec) {
  std::map<std::string, int> ports;
  std::map<std::string, const NodeSpec*> by_id;
  PortPicker picker;
  for (const auto& n : spec.nodes) {
    auto port = picker.Next();
    if (!port.ok()) return port.status();
    ports[n.id] = *port;
    auto metrics = picker.Next();
    if (!metrics.ok()) return metrics.status();
    metrics_addresses_[n.id] = absl::StrCat("127.0.0.1:", *metrics);
    by_id[n.id] = &n;
  }
  std::map<std::string, std::set<std::string>> linked;
  for (const auto& [a, b] : spec.links) {
    if (!by_id.contains(a) || !by_id.contains(b)) return absl::InvalidArgumentError(absl::StrCat("link ", a, "-", b, ": unknown node"));
    linked[a].insert(b);
    linked[b].insert(a);
  }
  for (const auto& n : spec.nodes) {
    std::string c = absl::StrCat("node_id: \"", n.id, "\"\nlisten: \"127.0.0.1:", ports[n.id], "\"\n",
                                 "cert_file: \"pki/", n.id, ".crt\"\nkey_file: \"pki/", n.id, ".key\"\n",
                                 "signing_key_file: \"pki/", n.id, ".sign.key\"\n", "scheme: \"", n.scheme, "\"\n",
                                 "store_path: \"", n.id, ".db\"\napi_socket: \"", n.id, ".sock\"\n",
                                 "metrics_address: \"", metrics_addresses_[n.id], "\"\n",
                                 "heartbeat_seconds: 1\nidle_timeout_seconds: 5\n");
    std::set<std::string> origins;
    for (const std::string& p : linked[n.id]) {
      absl::StrAppend(&c, "peers {\n  node_id: \"", p, "\"\n");
      if (n.id < p) absl::StrAppend(&c, "  address: \"127.0.0.1:", ports[p], "\"\n");
      absl::StrAppend(&c, "  ca_file: \"pki/ca.crt\"\n  signing_key_file: \"pki/", p, ".sign.pub\"\n");
      if (by_id[p]->hub) {
        absl::StrAppend(&c, "  relay: true\n");
        for (const std::string& far : linked[p]) {
          if (far == n.id || linked[n.id].contains(far)) continue;
          absl::StrAppend(&c, "  reaches: \"", far, "\"\n");
          origins.insert(far);
        }
      }
      absl::StrAppend(&c, "}\n");
    }
    for (const std::string& o : origins) {
      absl::StrAppend(&c, "origins {\n  node_id: \"", o, "\"\n  signing_key_file: \"pki/", o, ".sign.pub\"\n}\n");
    }
    if (n.hub) absl::StrAppend(&c, "relay {\n  rules { from: \"*\" to: \"*\" }\n}\n");
    absl::StrAppend(&c, n.extra_config);
    std::ofstream out(ConfigPath(n.id), std::ios::trunc);
    out << c;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", ConfigPath(n.id)));
  }
  return absl::OkStatus();
}

LocalNetwork::~LocalNetwork() {
  for (auto& [id, pid] : pids_) {
    ::kill(pid, SIGCONT);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

std::string LocalNetwork::SocketPath(const std::string& id) const { return dir_ + "/" + id + ".sock"; }

absl::Status LocalNetwork::Start(const std::string& id, const std::vector<std::string>& env,
                                 const std::vector<std::string>& node_args) {
  if (absl::Status s = Launch(id, env, node_args); !s.ok()) return s;
  return WaitReady(id);
}

absl::Status LocalNetwork::Launch(const std::string& id, const std::vector<std::string>& env,
                                  const std::vector<std::string>& node_args) {
  if (Running(id)) return absl::FailedPreconditionError(absl::StrCat(id, " is already running"));
  std::vector<std::string> argv = {binary_, "node", "--config", ConfigPath(id)};
  argv.insert(argv.end(), node_args.begin(), node_args.end());
  absl::StatusOr<pid_t> spawned = Spawn(argv, LogPath(id), env);
  if (!spawned.ok()) return spawned.status();
  pids_[id] = *spawned;
  return absl::OkStatus();
}

// Ready when the API answers.
absl::Status LocalNetwork::WaitReady(const std::string& id) {
  const pid_t pid = Pid(id);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  v1::ApiRequest status;
  status.mutable_status();
  for (auto now = std::chrono::steady_clock::now(); now < deadline; now = std::chrono::steady_clock::now()) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      pids_.erase(id);
      return absl::InternalError(absl::StrCat(id, " exited at start (status ", st, "): ", LastLine(LogPath(id))));
    }
    // A node that takes the connection and never answers must not outlast the deadline.
    if (CallApi(SocketPath(id), status, absl::FromChrono(deadline - now)).ok()) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(id, " did not answer on its API socket in 20 s; see ", LogPath(id)));
}

// Every process is started first, then each is waited for: with many nodes, their start-ups overlap.
absl::Status LocalNetwork::Start(const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (absl::Status s = Launch(id); !s.ok()) return s;
  }
  for (const auto& id : ids) {
    if (absl::Status s = WaitReady(id); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LocalNetwork::StartAll() { return Start(ids_); }

void LocalNetwork::Kill(const std::string& id) {
  auto it = pids_.find(id);
  if (it == pids_.end()) return;
  ::kill(it->second, SIGKILL);
  int status = 0;
  ::waitpid(it->second, &status, 0);
  pids_.erase(it);
}

absl::Status LocalNetwork::Stop(const std::string& id, int timeout_s) {
  if (!Running(id)) return absl::OkStatus();
  Terminate(id);
  return WaitStopped(id, timeout_s);
}

void LocalNetwork::Terminate(const std::string& id) {
  const pid_t pid = Pid(id);
  if (pid == 0) return;
  ::kill(pid, SIGCONT);
  ::kill(pid, SIGTERM);
}

absl::Status LocalNetwork::WaitStopped(const std::string& id, int timeout_s) {
  const pid_t pid = Pid(id);
  if (pid == 0) return absl::OkStatus();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      Kill(id);
      return absl::DeadlineExceededError(absl::StrCat(id, " did not stop within ", timeout_s, " s of SIGTERM"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pids_.erase(id);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(id, " ended with status ", status, " after SIGTERM; see ", LogPath(id)));
  }
  return absl::OkStatus();
}

// SIGTERM to every node at once, then each is waited for: their shutdowns overlap.
absl::Status LocalNetwork::StopAll() {
  absl::Status first;
  std::vector<std::string> running;
  for (const auto& [id, pid] : pids_) running.push_back(id);
  for (const auto& id : running) Terminate(id);
  for (const auto& id : running) first.Update(WaitStopped(id, 20));
  return first;
}

void LocalNetwork::Pause(const std::string& id) {
  if (auto it = pids_.find(id); it != pids_.end()) ::kill(it->second, SIGSTOP);
}

void LocalNetwork::Resume(const std::string& id) {
  if (auto it = pids_.find(id); it != pids_.end()) ::kill(it->second, SIGCONT);
}

bool LocalNetwork::Running(const std::string& id) const { return pids_.contains(id); }

absl::StatusOr<v1::ApiResponse> LocalNetwork::Call(const std::string& id, const v1::ApiRequest& request) const {
  auto r = CallApi(SocketPath(id), request, call_timeout_);
  if (!r.ok()) return r.status();
  if (!r->error().empty()) return absl::Status(static_cast<absl::StatusCode>(r->error_code()), r->error());
  return r;
}

absl::StatusOr<v1::ApiResponse> LocalNetwork::Submit(const std::string& id, const std::string& json, bool wait) const {
  v1::ApiRequest request;
  request.mutable_submit()->set_json(json);
  request.mutable_submit()->set_wait(wait);
  return Call(id, request);
}

absl::StatusOr<v1::ApiResponse> LocalNetwork::Inbox(const std::string& id, bool own) const {
  v1::ApiRequest request;
  request.mutable_inbox()->set_own(own);
  return Call(id, request);
}

}  // namespace sevex::node
