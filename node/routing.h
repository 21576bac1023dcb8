// routing.h — where a notice may go (docs/node.md §Markings): TLP 2.0 enforced at every hop,
// the origin's distribution rules, a hub's relay rules. Pure functions of the configuration,
// so each rule is tested on its own.
//
//   TLP            the origin sends to                 a relay forwards to     a node accepts from
//   CLEAR, GREEN   its distribution rules' recipients  peers its rules select  anyone allowed
//   AMBER          the named recipients, via hubs       named recipients only   a named recipient, or a hub as conduit
//   AMBER+STRICT   the named recipients, directly       nobody: never relayed   the origin itself, if named
//   RED            the named recipients, directly or    named recipients, and   only if named
//                  via a hub that is itself named       only if itself named
#ifndef SEVEX_NODE_ROUTING_H_
#define SEVEX_NODE_ROUTING_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "sevex/v1/node.pb.h"
#include "sevex/v1/notice.pb.h"

namespace sevex::node {

struct Refusal {
  std::string recipient;
  std::string code;    // "marking_forbids_relay", "no_route", "not_a_recipient"
  std::string reason;
};

// Where one notice goes from this node.
struct Plan {
  std::vector<std::string> next_hops;            // peers to send it to, each once
  std::vector<std::pair<std::string, std::string>> recipients;  // (final recipient, next hop)
  std::vector<Refusal> refused;
};

// At the origin. `holding` are peers that were sent an earlier revision: a revision or a
// retraction goes to them too (when the marking still allows).
Plan PlanFromOrigin(const v1::NodeConfig& config, const v1::Marking& marking, const std::vector<std::string>& holding);

// At a hub, for a notice it received from `sender` with `route` (origin first). `only`: the
// final recipients the sender asked this hub to serve (NoticeFrame.recipients); empty: any.
Plan PlanRelay(const v1::NodeConfig& config, const v1::Marking& marking, const std::string& origin,
               const std::vector<std::string>& route, const std::vector<std::string>& holding,
               const std::vector<std::string>& only = {});

// Whether this node may accept the notice from `sender`; PermissionDenied says why.
absl::Status MayReceive(const v1::NodeConfig& config, const v1::Marking& marking, const std::string& origin,
                        const std::string& sender);

// "TLP:AMBER+STRICT" etc.
std::string TlpName(v1::Marking::Tlp tlp);

}  // namespace sevex::node

#endif  // SEVEX_NODE_ROUTING_H_
