// node.h — the national node (DESIGN.md §1, §4–6): takes notices from its local API, assesses
// and signs them, stores them durably and delivers them to the peers its rules and markings
// select; receives notices, verifies, deduplicates, stores, acknowledges and translates them;
// forwards them when it is a hub; and carries delivery receipts back to each origin.
//
//   ASSIGN_OR_RETURN(v1::NodeConfig config, LoadNodeConfig("uk.textproto"));
//   ASSIGN_OR_RETURN(auto node, Node::Create(std::move(config)));
//   RETURN_IF_ERROR(node->Start());
//   node->RunUntilSignal();   // SIGTERM or SIGINT: graceful stop; SIGHUP: logged, ignored
#ifndef SEVEX_NODE_NODE_H_
#define SEVEX_NODE_NODE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sevex/v1/node.pb.h"

namespace sevex::node {

// Test seams: set by tests (through `sevex node`'s hidden --test-* flags, which log a warning),
// never read from the environment, so a production node cannot be steered by it.
struct NodeOptions {
  // While this file exists, the store's fsyncs fail (and its writes, when the file says
  // "full"): store/sqlite_vfs.h.
  std::string store_faults_file;
  // Shifts every time this node stamps (not TLS validity), so one machine can run nodes whose
  // clocks disagree.
  int64_t clock_offset_ms = 0;
  // A hub that breaks the origin signature on what it forwards, so its peers' refusal is tested.
  bool tamper_relayed = false;
};

class Node {
 public:
  // kCheck (`sevex node --check`): everything is loaded and checked as for kServe, but the
  // store and the received-notices file are only checked, never created or written, and the
  // node cannot Start.
  enum class Mode { kServe, kCheck };
  // Loads the policies, keys, certificates and store named by `config` (already checked by
  // LoadNodeConfig). Nothing is listening yet. Errors name what failed.
  static absl::StatusOr<std::unique_ptr<Node>> Create(v1::NodeConfig config, Mode mode = Mode::kServe,
                                                      NodeOptions options = {});
  virtual ~Node() = default;

  // Binds the listener and the API socket, loads the pending outbox and dials the peers.
  virtual absl::Status Start() = 0;
  // Blocks until SIGTERM or SIGINT, then stops gracefully. SIGHUP is logged and ignored.
  virtual void RunUntilSignal() = 0;
  // Graceful stop: no new sessions or submissions, queued store writes finished and
  // acknowledged, sessions closed with Goodbye. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_NODE_H_
