// config.h — a node's configuration file (textproto of v1::NodeConfig, docs/node.md): read,
// checked field by field, relative paths resolved against the file's directory, defaults
// filled in. Every error names the file, line, column and field, and says why.
#ifndef SEVEX_NODE_CONFIG_H_
#define SEVEX_NODE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "engine/catalog.h"
#include "sevex/v1/node.pb.h"

namespace sevex::node {

inline constexpr uint32_t kDefaultWindow = 256;
inline constexpr uint32_t kDefaultMaxFrameBytes = 1 << 20;
// About 2 KB each (a signed notice): some 8 MB per peer, and well above any window.
inline constexpr uint32_t kDefaultMaxPeerItemsInMemory = 4096;
inline constexpr uint32_t kMinPeerItemsInMemory = 16;
inline constexpr uint32_t kMaxPeerItemsInMemory = 1 << 20;

// Reads and checks `path`. The scheme is only checked to be named: whether the node's policy
// set holds it is checked when the node loads (Node::Create).
absl::StatusOr<v1::NodeConfig> LoadNodeConfig(const std::string& path);

// The checks alone, on an already parsed config (paths must already be absolute or relative to
// the working directory). All errors together, one per line, each "where: field: why".
absl::Status CheckNodeConfig(const v1::NodeConfig& config, absl::string_view where);

// "host:port" split; error says what is wrong with `text`.
absl::Status ParseHostPort(absl::string_view text, std::string* host, uint16_t* port);

}  // namespace sevex::node

#endif  // SEVEX_NODE_CONFIG_H_
