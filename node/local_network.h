// local_network.h — a network of real `sevex node` processes on 127.0.0.1, for the integration
// tests and `sevex bench node`: a development PKI, one configuration per node written from a
// topology, and each node's process started, killed, restarted and stopped on demand.
//
//   LocalNetwork::Spec spec;
//   spec.nodes = {{"cl.csirt", "cl-ds295"}, {"uk.ncsc", "uk-ncsc"}, {"hub.oas", "us-nciss", true}};
//   spec.links = {{"cl.csirt", "uk.ncsc"}, {"cl.csirt", "hub.oas"}, {"uk.ncsc", "hub.oas"}};
//   ASSIGN_OR_RETURN(auto net, LocalNetwork::Create("/tmp/net", "/usr/bin/sevex", spec));
//   RETURN_IF_ERROR(net->StartAll());
//   ASSIGN_OR_RETURN(v1::ApiResponse r, net->Call("cl.csirt", request));
//
// A node's process ends with the thread that started it: it is sent SIGTERM when that thread
// ends, also when the process is killed and the destructor never runs (PR_SET_PDEATHSIG). So call
// Start and StartAll from a thread that outlives the nodes, such as the main thread (a node
// paused with Pause acts on the signal only once it is continued).
//
// A state's peers are the nodes it is linked to; through a linked hub it reaches every node
// the hub is linked to and it is not, and it holds those origins' public signing keys. A hub
// relays from any origin to any peer. Of two linked nodes, the one whose id sorts first dials.
#ifndef SEVEX_NODE_LOCAL_NETWORK_H_
#define SEVEX_NODE_LOCAL_NETWORK_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sevex/v1/node.pb.h"

namespace sevex::node {

class LocalNetwork {
 public:
  struct NodeSpec {
    std::string id;
    std::string scheme;
    bool hub = false;
    std::string extra_config;  // textproto appended to the generated configuration
  };
  struct Spec {
    std::vector<NodeSpec> nodes;
    std::vector<std::pair<std::string, std::string>> links;
  };

  // Writes the PKI (by running `binary pki`) and the configurations under `dir` (created).
  static absl::StatusOr<std::unique_ptr<LocalNetwork>> Create(const std::string& dir, const std::string& binary,
                                                              const Spec& spec);
  ~LocalNetwork();  // kills whatever is still running

  // Starts the node's process and waits until its API answers. `env` adds environment variables
  // (the allocator's, say: a node reads no test seam from its environment); `node_args` are added
  // to its command line: the test seams, e.g. "--test-tamper-relay" (NodeOptions, node.h).
  absl::Status Start(const std::string& id, const std::vector<std::string>& env = {},
                     const std::vector<std::string>& node_args = {});
  // Starts the nodes' processes, then waits for each to answer: their start-ups overlap.
  absl::Status Start(const std::vector<std::string>& ids);
  absl::Status StartAll();
  // SIGKILL, no grace; waits for the process to be gone.
  void Kill(const std::string& id);
  // SIGTERM, then waits (up to `timeout_s`) for the exit status, which must be 0.
  absl::Status Stop(const std::string& id, int timeout_s = 20);
  // SIGTERM to every running node, then waits for each as Stop does.
  absl::Status StopAll();
  // SIGSTOP / SIGCONT: a node that takes nothing off the wire.
  void Pause(const std::string& id);
  void Resume(const std::string& id);
  bool Running(const std::string& id) const;
  // The node's process id while it runs; 0 otherwise.
  pid_t Pid(const std::string& id) const {
    auto it = pids_.find(id);
    return it == pids_.end() ? 0 : it->second;
  }

  // One API request; it fails with DEADLINE_EXCEEDED when the node has not answered within
  // the call timeout (none unless set: a test may pause a node and call it).
  absl::StatusOr<v1::ApiResponse> Call(const std::string& id, const v1::ApiRequest& request) const;
  void set_call_timeout(absl::Duration timeout) { call_timeout_ = timeout; }
  // Shorthands: submit JSON; the received (or own) inbox.
  absl::StatusOr<v1::ApiResponse> Submit(const std::string& id, const std::string& json, bool wait = false) const;
  absl::StatusOr<v1::ApiResponse> Inbox(const std::string& id, bool own = false) const;

  const std::string& dir() const { return dir_; }
  std::string ConfigPath(const std::string& id) const { return dir_ + "/" + id + ".textproto"; }
  std::string SocketPath(const std::string& id) const;
  std::string LogPath(const std::string& id) const { return dir_ + "/" + id + ".log"; }
  std::string StorePath(const std::string& id) const { return dir_ + "/" + id + ".db"; }
  // "127.0.0.1:port" where the node serves /metrics and /healthz.
  std::string MetricsAddress(const std::string& id) const {
    auto it = metrics_addresses_.find(id);
    return it == metrics_addresses_.end() ? "" : it->second;
  }

 private:
  LocalNetwork(std::string dir, std::string binary) : dir_(std::move(dir)), binary_(std::move(binary)) {}
  absl::Status WriteConfigs(const Spec& spec);
  absl::Status Launch(const std::string& id, const std::vector<std::string>& env = {},
                      const std::vector<std::string>& node_args = {});
  absl::Status WaitReady(const std::string& id);
  void Terminate(const std::string& id);
  absl::Status WaitStopped(const std::string& id, int timeout_s);

  std::string dir_;
  std::string binary_;
  std::map<std::string, pid_t> pids_;
  std::map<std::string, std::string> metrics_addresses_;
  std::vector<std::string> ids_;
  absl::Duration call_timeout_ = absl::InfiniteDuration();
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_LOCAL_NETWORK_H_
