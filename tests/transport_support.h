// transport_support.h — for tests (and fuzzers) of transport/: the TLS of a node issued by the
// development PKI (`InitCa`, `IssueNode`) in `root`, which trusts `peers` through that CA.
#ifndef SEVEX_TESTS_TRANSPORT_SUPPORT_H_
#define SEVEX_TESTS_TRANSPORT_SUPPORT_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "transport/pki.h"
#include "transport/tls.h"

namespace sevex::testing {

inline absl::StatusOr<std::unique_ptr<transport::NodeTls>> DevPkiNodeTls(const std::filesystem::path& root,
                                                                         const std::string& self,
                                                                         const std::vector<std::string>& peers) {
  transport::TlsOptions o;
  o.node_id = self;
  o.cert_file = (root / (self + ".crt")).string();
  o.key_file = (root / (self + ".key")).string();
  for (const std::string& p : peers) o.peers.push_back({p, "", (root / transport::kCaCertFile).string(), ""});
  return transport::NodeTls::Create(o);
}

}  // namespace sevex::testing

#endif  // SEVEX_TESTS_TRANSPORT_SUPPORT_H_
