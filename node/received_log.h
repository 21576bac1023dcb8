// received_log.h — the received-notices file (config `received_jsonl`, docs/node.md): each
// notice this node receives and may read, appended as one JSON line (the export's jsonl form),
// whole lines only, for a SIEM or a script to tail.
//
//   ASSIGN_OR_RETURN(auto log, ReceivedLog::Open(path, "uk.ncsc", "uk-ncsc"));
//   log->Append(entry);
//
// Threading: Append may be called from any thread; lines never interleave. A write that fails
// (a full disk) is logged once, until a write succeeds again; the notice is stored regardless.
#ifndef SEVEX_NODE_RECEIVED_LOG_H_
#define SEVEX_NODE_RECEIVED_LOG_H_

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sevex/v1/node.pb.h"

namespace sevex::node {

class ReceivedLog {
 public:
  // Opens `path` for appending (created 0600). InvalidArgument naming the field when it cannot.
  static absl::StatusOr<std::unique_ptr<ReceivedLog>> Open(const std::string& path, std::string node_id,
                                                           std::string scheme);
  // What `sevex node --check` asks: could Open succeed? Creates nothing.
  static absl::Status Check(const std::string& path);
  ~ReceivedLog();

  void Append(const v1::InboxEntry& entry);

 private:
  ReceivedLog(std::string path, int fd, std::string node_id, std::string scheme)
      : path_(std::move(path)), fd_(fd), node_id_(std::move(node_id)), scheme_(std::move(scheme)) {}

  const std::string path_;
  const int fd_;
  const std::string node_id_;
  const std::string scheme_;
  std::mutex mu_;
  bool failed_ = false;  // guarded by mu_: logged once
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_RECEIVED_LOG_H_
