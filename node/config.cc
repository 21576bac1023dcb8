#include "node/config.h"

#include <sys/un.h>

#include <filesystem>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/textproto.h"
#include "transport/peer_identity.h"

namespace sevex::node {

namespace {

namespace fs = std::filesystem;
constexpr size_t kMaxConfigBytes = 1 << 20;

// One step of a field path: the field's name and, for repeated fields, the index.
struct Step {
  std::string field;
  int index = -1;
};

struct Problem {
  std::vector<Step> path;
  std::string why;
};

std::string PathText(const std::vector<Step>& path) {
  std::string out;
  for (const Step& s : path) {
    if (!out.empty()) out += ".";
    out += s.field;
    if (s.index >= 0) absl::StrAppend(&out, "[", s.index, "]");
  }
  return out;
}

class Checker {
 public:
  explicit Checker(const v1::NodeConfig& c) : c_(c) {}

  std::vector<Problem> Run() {
    CheckId({{"node_id"}}, c_.node_id(), true);
    if (!c_.listen().empty()) CheckAddress({{"listen"}}, c_.listen());
    if (!c_.metrics_address().empty()) CheckAddress({{"metrics_address"}}, c_.metrics_address());
    CheckFile({{"cert_file"}}, c_.cert_file());
    CheckFile({{"key_file"}}, c_.key_file());
    CheckFile({{"signing_key_file"}}, c_.signing_key_file());
    if (c_.scheme().empty()) Add({{"scheme"}}, "is required: the node's own national scheme id, e.g. \"uk-ncsc\"");
    if (!c_.policy_dir().empty() && !fs::is_directory(c_.policy_dir())) {
      Add({{"policy_dir"}}, absl::StrCat("'", c_.policy_dir(), "' is not a directory"));
    }
    CheckParentDir({{"store_path"}}, c_.store_path());
    CheckParentDir({{"api_socket"}}, c_.api_socket());
    if (!c_.received_jsonl().empty()) CheckParentDir({{"received_jsonl"}}, c_.received_jsonl());
    if (c_.api_socket().size() >= sizeof(sockaddr_un{}.sun_path)) {
      Add({{"api_socket"}}, absl::StrCat("is ", c_.api_socket().size(), " bytes long; a Unix socket path must be under ",
                                         sizeof(sockaddr_un{}.sun_path)));
    }
    absl::flat_hash_set<std::string> peers;
    for (int i = 0; i < c_.peers_size(); ++i) {
      const v1::PeerConfig& p = c_.peers(i);
      const std::vector<Step> at{{"peers", i}};
      if (CheckId(Sub(at, "node_id"), p.node_id(), true)) {
        if (p.node_id() == c_.node_id()) Add(Sub(at, "node_id"), "is this node's own id; a node is not its own peer");
        if (!peers.insert(p.node_id()).second) Add(Sub(at, "node_id"), absl::StrCat("'", p.node_id(), "' is listed twice"));
      }
      if (!p.address().empty()) CheckAddress(Sub(at, "address"), p.address());
      if (p.ca_file().empty() == p.spki_sha256().empty()) {
        Add(at, "needs exactly one trust anchor: ca_file or spki_sha256");
      } else if (!p.ca_file().empty()) {
        CheckFile(Sub(at, "ca_file"), p.ca_file());
      } else if (p.spki_sha256().size() != 64 ||
                 !std::all_of(p.spki_sha256().begin(), p.spki_sha256().end(), [](char ch) { return absl::ascii_isxdigit(ch); })) {
        Add(Sub(at, "spki_sha256"), "must be 64 hex digits (sevex pki show prints a certificate's pin)");
      }
      CheckFile(Sub(at, "signing_key_file"), p.signing_key_file());
      if (!p.reaches().empty() && !p.relay()) Add(Sub(at, "reaches"), "is only for a hub: set relay: true as well");
      for (int j = 0; j < p.reaches_size(); ++j) {
        CheckId({{"peers", i}, {"reaches", j}}, p.reaches(j), true);
        if (p.reaches(j) == c_.node_id()) Add({{"peers", i}, {"reaches", j}}, "is this node itself");
      }
    }
    absl::flat_hash_set<std::string> origins;
    for (int i = 0; i < c_.origins_size(); ++i) {
      const v1::OriginConfig& o = c_.origins(i);
      const std::vector<Step> at{{"origins", i}};
      if (CheckId(Sub(at, "node_id"), o.node_id(), true)) {
        if (peers.contains(o.node_id())) Add(Sub(at, "node_id"), "is a peer; its signing key belongs in its peers entry");
        if (o.node_id() == c_.node_id()) Add(Sub(at, "node_id"), "is this node's own id");
        if (!origins.insert(o.node_id()).second) Add(Sub(at, "node_id"), absl::StrCat("'", o.node_id(), "' is listed twice"));
      }
      CheckFile(Sub(at, "signing_key_file"), o.signing_key_file());
    }
    absl::flat_hash_set<std::string> destinations = peers;
    for (const auto& p : c_.peers()) destinations.insert(p.reaches().begin(), p.reaches().end());
    for (int i = 0; i < c_.distribution_size(); ++i) {
      const v1::DistributionRule& r = c_.distribution(i);
      if (r.to().empty()) Add({{"distribution", i}}, "names no recipients in 'to'");
      for (int j = 0; j < r.to_size(); ++j) {
        if (r.to(j) != "*" && !destinations.contains(r.to(j))) {
          Add({{"distribution", i}, {"to", j}},
              absl::StrCat("'", r.to(j), "' is neither a peer nor reached through a hub (use \"*\" for all)"));
        }
      }
      for (int j = 0; j < r.tlp_size(); ++j) {
        if (r.tlp(j) != v1::Marking::CLEAR && r.tlp(j) != v1::Marking::GREEN) {
          Add({{"distribution", i}, {"tlp", j}},
              "only CLEAR and GREEN go by distribution rules; AMBER, AMBER_STRICT and RED go to their named recipients");
        }
      }
    }
    for (int i = 0; i < c_.relay().rules_size(); ++i) {
      const v1::RelayRule& r = c_.relay().rules(i);
      if (r.to().empty()) Add({{"relay"}, {"rules", i}}, "names no peers in 'to'");
      for (int j = 0; j < r.to_size(); ++j) {
        if (r.to(j) != "*" && !peers.contains(r.to(j))) {
          Add({{"relay"}, {"rules", i}, {"to", j}}, absl::StrCat("'", r.to(j), "' is not a peer"));
        }
      }
      for (int j = 0; j < r.from_size(); ++j) {
        if (r.from(j) != "*" && !peers.contains(r.from(j)) && !origins.contains(r.from(j))) {
          Add({{"relay"}, {"rules", i}, {"from", j}}, absl::StrCat("'", r.from(j), "' is neither a peer nor a known origin"));
        }
      }
    }
    if (c_.window() > 65536) Add({{"window"}}, "must be at most 65536");
    if (c_.max_frame_bytes() != 0 && (c_.max_frame_bytes() < 4096 || c_.max_frame_bytes() > (64u << 20))) {
      Add({{"max_frame_bytes"}}, "must be between 4096 and 67108864");
    }
    if (c_.max_peer_items_in_memory() != 0 && (c_.max_peer_items_in_memory() < kMinPeerItemsInMemory ||
                                                c_.max_peer_items_in_memory() > kMaxPeerItemsInMemory)) {
      Add({{"max_peer_items_in_memory"}}, absl::StrCat("must be between ", kMinPeerItemsInMemory, " and ",
                                                       kMaxPeerItemsInMemory, " (0 means the default, ",
                                                       kDefaultMaxPeerItemsInMemory, ")"));
    }
    if (c_.heartbeat_seconds() != 0 && c_.idle_timeout_seconds() != 0 && c_.idle_timeout_seconds() <= c_.heartbeat_seconds()) {
      Add({{"idle_timeout_seconds"}}, "must be longer than heartbeat_seconds");
    }
    return std::move(problems_);
  }

 private:
  static std::vector<Step> Sub(std::vector<Step> at, std::string field) {
    at.push_back({std::move(field), -1});
    return at;
  }
  void Add(std::vector<Step> path, std::string why) { problems_.push_back({std::move(path), std::move(why)}); }

  bool CheckId(std::vector<Step> path, const std::string& id, bool required) {
    if (id.empty()) {
      if (required) Add(std::move(path), "is required (a node id such as \"uk.ncsc\")");
      return false;
    }
    if (!transport::IsNodeId(id)) {
      Add(std::move(path), absl::StrCat("'", id, "' is not a node id (lower-case letters, digits, '.', '-')"));
      return false;
    }
    return true;
  }
  void CheckAddress(std::vector<Step> path, const std::string& text) {
    std::string host;
    uint16_t port;
    if (absl::Status s = ParseHostPort(text, &host, &port); !s.ok()) Add(std::move(path), std::string(s.message()));
  }
  void CheckFile(std::vector<Step> path, const std::string& file) {
    if (file.empty()) {
      Add(std::move(path), "is required");
    } else if (std::error_code ec; !fs::is_regular_file(file, ec)) {
      Add(std::move(path), absl::StrCat("'", file, "' is not a readable file"));
    }
  }
  void CheckParentDir(std::vector<Step> path, const std::string& file) {
    if (file.empty()) {
      Add(std::move(path), "is required");
      return;
    }
    fs::path parent = fs::path(file).parent_path();
    if (!parent.empty() && !fs::is_directory(parent)) {
      Add(std::move(path), absl::StrCat("the directory '", parent.string(), "' does not exist"));
    }
  }

  const v1::NodeConfig& c_;
  std::vector<Problem> problems_;
};

void Resolve(const fs::path& base, std::string* path) {
  if (path->empty() || fs::path(*path).is_absolute()) return;
  *path = (base / *path).lexically_normal().string();
}

}  // namespace

absl::Status ParseHostPort(absl::string_view text, std::string* host, uint16_t* port) {
  const size_t colon = text.rfind(':');
  uint32_t p = 0;
  if (colon == absl::string_view::npos || colon == 0 || !absl::SimpleAtoi(text.substr(colon + 1), &p) || p > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not host:port (e.g. 127.0.0.1:7443)"));
  }
  *host = std::string(text.substr(0, colon));
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  *port = static_cast<uint16_t>(p);
  return absl::OkStatus();
}

absl::Status CheckNodeConfig(const v1::NodeConfig& config, absl::string_view where) {
  std::vector<std::string> lines;
  for (const Problem& p : Checker(config).Run()) lines.push_back(absl::StrCat(where, ": ", PathText(p.path), ": ", p.why));
  if (lines.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

absl::StatusOr<v1::NodeConfig> LoadNodeConfig(const std::string& path) {
  auto text = engine::ReadFileBounded(path, kMaxConfigBytes);
  if (!text.ok()) return text.status();
  v1::NodeConfig config;
  auto file = engine::TextProtoFile::Parse(*text, path, &config);
  if (!file.ok()) return file.status();

  const fs::path base = fs::absolute(path).parent_path();
  for (std::string* p : {config.mutable_cert_file(), config.mutable_key_file(), config.mutable_signing_key_file(),
                         config.mutable_policy_dir(), config.mutable_store_path(), config.mutable_api_socket(),
                         config.mutable_received_jsonl()}) {
    Resolve(base, p);
  }
  for (auto& peer : *config.mutable_peers()) {
    Resolve(base, peer.mutable_ca_file());
    Resolve(base, peer.mutable_signing_key_file());
  }
  for (auto& origin : *config.mutable_origins()) Resolve(base, origin.mutable_signing_key_file());

  std::vector<std::string> lines;
  for (const Problem& p : Checker(config).Run()) {
    // Walk the path through the parse tree to point at the field's line and column.
    const engine::TextProtoFile::Tree* tree = file->root();
    const google::protobuf::Message* msg = &config;
    engine::SourceLocation at{path, 0, 0};
    for (const Step& step : p.path) {
      if (tree == nullptr || msg == nullptr) break;
      const auto* field = msg->GetDescriptor()->FindFieldByName(step.field);
      if (field == nullptr) break;
      // A repeated field named as a whole (peers[i].reaches) points at its first value: protobuf's
      // ParseInfoTree aborts on index -1 for a repeated field.
      if (field->is_repeated() && step.index < 0) {
        at = file->Locate(tree, *msg, step.field, 0);
        break;
      }
      at = file->Locate(tree, *msg, step.field, step.index);
      if (field->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) break;
      const auto* refl = msg->GetReflection();
      tree = file->Nested(tree, *msg, step.field, step.index);
      msg = step.index >= 0 ? &refl->GetRepeatedMessage(*msg, field, step.index) : &refl->GetMessage(*msg, field);
    }
    lines.push_back(absl::StrCat(at.ToString(), ": ", PathText(p.path), ": ", p.why));
  }
  if (!lines.empty()) return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));

  if (config.window() == 0) config.set_window(kDefaultWindow);
  if (config.max_frame_bytes() == 0) config.set_max_frame_bytes(kDefaultMaxFrameBytes);
  if (config.max_peer_items_in_memory() == 0) config.set_max_peer_items_in_memory(kDefaultMaxPeerItemsInMemory);
  if (config.heartbeat_seconds() == 0) config.set_heartbeat_seconds(10);
  if (config.idle_timeout_seconds() == 0) config.set_idle_timeout_seconds(std::max<uint32_t>(30, 3 * config.heartbeat_seconds()));
  return config;
}

}  // namespace sevex::node
