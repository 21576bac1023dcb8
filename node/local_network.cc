#include "node/local_network.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "node/api.h"

namespace sevex::node {

namespace {

namespace fs = std::filesystem;

// A free TCP port on 127.0.0.1, as the kernel hands one out (released before the node binds it).
absl::StatusOr<int> FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return absl::InternalError("cannot bind a port on 127.0.0.1");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// Starts `argv` with its output appended to `log` and `env` added to its environment.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const std::string& log,
                            const std::vector<std::string>& env = {}) {
  const pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
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

absl::Status Run(const std::vector<std::string>& argv, const std::string& log) {
  absl::StatusOr<pid_t> pid = Spawn(argv, log);
  if (!pid.ok()) return pid.status();
  int status = 0;
  ::waitpid(*pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(argv[0], " ", argv[1], " ", argv[2], " failed; see ", log));
  }
  return absl::OkStatus();
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
  if (absl::Status s = Run({binary, "pki", "init", "--dir", pki}, log); !s.ok()) return s;
  for (const auto& n : spec.nodes) {
    if (absl::Status s = Run({binary, "pki", "issue", "--dir", pki, "--node-id", n.id}, log); !s.ok()) return s;
    net->ids_.push_back(n.id);
  }
  if (absl::Status s = net->WriteConfigs(spec); !s.ok()) return s;
  return net;
}

absl::Status LocalNetwork::WriteConfigs(const Spec& spec) {
  std::map<std::string, int> ports;
  std::map<std::string, const NodeSpec*> by_id;
  for (const auto& n : spec.nodes) {
    auto port = FreePort();
    if (!port.ok()) return port.status();
    ports[n.id] = *port;
    auto metrics = FreePort();
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

absl::Status LocalNetwork::Start(const std::string& id, const std::vector<std::string>& env) {
  if (Running(id)) return absl::FailedPreconditionError(absl::StrCat(id, " is already running"));
  const std::string log = LogPath(id);
  absl::StatusOr<pid_t> spawned = Spawn({binary_, "node", "--config", ConfigPath(id)}, log, env);
  if (!spawned.ok()) return spawned.status();
  const pid_t pid = *spawned;
  pids_[id] = pid;
  // Ready when the API answers.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  v1::ApiRequest status;
  status.mutable_status();
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      pids_.erase(id);
      return absl::InternalError(absl::StrCat(id, " exited at start (status ", st, "); see ", log));
    }
    if (CallApi(SocketPath(id), status).ok()) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(id, " did not answer on its API socket in 20 s; see ", log));
}

absl::Status LocalNetwork::StartAll() {
  for (const auto& id : ids_) {
    if (absl::Status s = Start(id); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void LocalNetwork::Kill(const std::string& id) {
  auto it = pids_.find(id);
  if (it == pids_.end()) return;
  ::kill(it->second, SIGKILL);
  int status = 0;
  ::waitpid(it->second, &status, 0);
  pids_.erase(it);
}

absl::Status LocalNetwork::Stop(const std::string& id, int timeout_s) {
  auto it = pids_.find(id);
  if (it == pids_.end()) return absl::OkStatus();
  const pid_t pid = it->second;
  ::kill(pid, SIGCONT);
  ::kill(pid, SIGTERM);
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

absl::Status LocalNetwork::StopAll() {
  absl::Status first;
  std::vector<std::string> running;
  for (const auto& [id, pid] : pids_) running.push_back(id);
  for (const auto& id : running) first.Update(Stop(id));
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
  auto r = CallApi(SocketPath(id), request);
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
