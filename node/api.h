// api.h — the node's local API: 4-byte big-endian length + one ApiRequest, answered by one
// ApiResponse, over a Unix-domain socket that only the node's user may open (mode 0600).
#ifndef SEVEX_NODE_API_H_
#define SEVEX_NODE_API_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/api_codec.h"
#include "sevex/v1/node.pb.h"

namespace sevex::node {


// One request to the node at `socket_path`. A connection error says whether the node is
// running; an error reported by the node comes back as its status. A node that has not
// answered within `timeout` (connecting, sending and reading together: a stopped or wedged
// node) fails the call with DEADLINE_EXCEEDED.
absl::StatusOr<v1::ApiResponse> CallApi(const std::string& socket_path, const v1::ApiRequest& request,
                                        absl::Duration timeout = absl::InfiniteDuration());

}  // namespace sevex::node

#endif  // SEVEX_NODE_API_H_
