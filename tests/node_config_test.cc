// A node's configuration file (node/config.h): loaded, paths resolved against the file's
// directory, defaults filled in, and every error naming the file, line, column and field.
// The last test runs the built `sevex node` (SEVEX_BINARY) on a bad configuration.
#include "node/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPin[] = "0123456789abcdef0123456789abcdef0123456789ABCDEF0123456789abcdef";

// A good configuration; paths are relative to conf/, where the file is written.
std::string GoodConfig() {
  return absl::StrCat(R"(node_id: "cl.csirt"
listen: "127.0.0.1:7443"
cert_file: "tls/cl.csirt.crt"
key_file: "tls/cl.csirt.key"
signing_key_file: "keys/cl.csirt.sign.key"
scheme: "cl-ds295"
store_path: "state/node.db"
api_socket: "state/api.sock"
peers {
  node_id: "uk.ncsc"
  address: "127.0.0.1:7444"
  ca_file: "../shared/ca.crt"
  signing_key_file: "keys/uk.ncsc.sign.pub"
}
peers {
  node_id: "eu.hub"
  address: "[::1]:7445"
  spki_sha256: ")", kPin, R"("
  signing_key_file: "keys/eu.hub.sign.pub"
  relay: true
  reaches: "de.bsi"
}
distribution { to: "uk.ncsc" to: "de.bsi" tlp: GREEN }
)");
}

// `text` with `from` replaced by `to`, which must occur.
std::string Edit(const std::string& text, const std::string& from, const std::string& to) {
  const std::string out = absl::StrReplaceAll(text, {{from, to}});
  EXPECT_NE(out, text) << "not in the configuration: " << from;
  return out;
}

class NodeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sevex-node-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    conf_ = dir_ / "conf";
    for (const char* f : {"conf/tls/cl.csirt.crt", "conf/tls/cl.csirt.key", "conf/keys/cl.csirt.sign.key",
                          "shared/ca.crt", "conf/keys/uk.ncsc.sign.pub", "conf/keys/eu.hub.sign.pub"}) {
      Write(f, "dummy\n");
    }
    fs::create_directories(conf_ / "state");
    file_ = (conf_ / "node.textproto").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  absl::StatusOr<v1::NodeConfig> Load(const std::string& text) {
    std::ofstream(file_, std::ios::trunc) << text;
    return LoadNodeConfig(file_);
  }
  // "FILE:LINE:COL" of the `nth` occurrence (1-based) of `needle` in `text`.
  std::string At(const std::string& text, const std::string& needle, int nth = 1) const {
    size_t pos = std::string::npos;
    for (int i = 0; i < nth; ++i) {
      pos = text.find(needle, pos == std::string::npos ? 0 : pos + 1);
      if (pos == std::string::npos) {
        ADD_FAILURE() << "not in the configuration: " << needle;
        return "?";
      }
    }
    const size_t line_start = text.rfind('\n', pos);  // pos is never a newline
    const size_t column = line_start == std::string::npos ? pos + 1 : pos - line_start;
    const long line = std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n') + 1;
    return absl::StrCat(file_, ":", line, ":", column);
  }
  // "FILE:LINE:" of the first occurrence of `needle` (where the parser's column is its own).
  std::string AtLine(const std::string& text, const std::string& needle) const {
    const std::string at = At(text, needle);
    return at.substr(0, at.rfind(':') + 1);
  }
  // The one error `text` gives: must be exactly "FILE:LINE:COL: FIELD: WHY".
  void ExpectOneError(const std::string& text, const std::string& expected) {
    auto config = Load(text);
    ASSERT_FALSE(config.ok()) << "loaded:\n" << text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(config.status().message(), expected);
  }
  std::string In(const std::string& relative) const { return (conf_ / relative).string(); }

  fs::path dir_;
  fs::path conf_;
  std::string file_;
};

// ----------------------------------------------------------------------------------------------
// A good configuration.

TEST_F(NodeConfigTest, GoodConfigLoadsWithPathsResolvedAgainstItsDirectory) {
  auto config = Load(GoodConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->node_id(), "cl.csirt");
  EXPECT_EQ(config->scheme(), "cl-ds295");
  EXPECT_EQ(config->listen(), "127.0.0.1:7443");
  EXPECT_EQ(config->cert_file(), In("tls/cl.csirt.crt"));
  EXPECT_EQ(config->key_file(), In("tls/cl.csirt.key"));
  EXPECT_EQ(config->signing_key_file(), In("keys/cl.csirt.sign.key"));
  EXPECT_EQ(config->store_path(), In("state/node.db"));
  EXPECT_EQ(config->api_socket(), In("state/api.sock"));
  ASSERT_EQ(config->peers_size(), 2);
  EXPECT_EQ(config->peers(0).ca_file(), (dir_ / "shared/ca.crt").string());  // "../" normalised away
  EXPECT_EQ(config->peers(0).signing_key_file(), In("keys/uk.ncsc.sign.pub"));
  EXPECT_EQ(config->peers(1).signing_key_file(), In("keys/eu.hub.sign.pub"));
  EXPECT_EQ(config->peers(1).spki_sha256(), kPin);
  EXPECT_TRUE(config->peers(1).relay());
  EXPECT_EQ(config->peers(1).address(), "[::1]:7445");
  EXPECT_EQ(config->policy_dir(), "");  // unset stays unset: the embedded policies
}

TEST_F(NodeConfigTest, AbsolutePathsStayAsWritten) {
  const std::string cert = Write("elsewhere/node.crt", "dummy\n");
  auto config = Load(Edit(GoodConfig(), "\"tls/cl.csirt.crt\"", absl::StrCat("\"", cert, "\"")));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cert_file(), cert);
}

TEST_F(NodeConfigTest, DefaultsAreFilledIn) {
  auto config = Load(GoodConfig());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->window(), 256u);
  EXPECT_EQ(config->window(), kDefaultWindow);
  EXPECT_EQ(config->max_frame_bytes(), 1u << 20);
  EXPECT_EQ(config->heartbeat_seconds(), 10u);
  EXPECT_EQ(config->idle_timeout_seconds(), 30u);
  EXPECT_EQ(config->max_peer_items_in_memory(), 4096u);
  EXPECT_EQ(config->max_peer_items_in_memory(), kDefaultMaxPeerItemsInMemory);
}

TEST_F(NodeConfigTest, ExplicitValuesAreKeptAndIdleDefaultFollowsHeartbeat) {
  auto config = Load(absl::StrCat(GoodConfig(), "window: 64\nmax_frame_bytes: 65536\nheartbeat_seconds: 20\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->window(), 64u);
  EXPECT_EQ(config->max_frame_bytes(), 65536u);
  EXPECT_EQ(config->heartbeat_seconds(), 20u);
  EXPECT_EQ(config->idle_timeout_seconds(), 60u);
}

TEST_F(NodeConfigTest, PeerItemsInMemoryWithinItsRangeAreKept) {
  for (uint32_t n : {16u, 100u, 1048576u}) {
    auto config = Load(absl::StrCat(GoodConfig(), "max_peer_items_in_memory: ", n, "\n"));
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->max_peer_items_in_memory(), n);
  }
}

// ----------------------------------------------------------------------------------------------
// Each kind of error: file, line, column, field, why.

TEST_F(NodeConfigTest, MissingNodeIdNamesTheFileAndField) {
  const std::string text = Edit(GoodConfig(), "node_id: \"cl.csirt\"\n", "");
  // An absent field has no line to point at: the file alone.
  ExpectOneError(text, absl::StrCat(file_, ": node_id: is required (a node id such as \"uk.ncsc\")"));
}

TEST_F(NodeConfigTest, BadNodeId) {
  const std::string text = Edit(GoodConfig(), "node_id: \"cl.csirt\"", "node_id: \"CL_csirt\"");
  ExpectOneError(text, absl::StrCat(At(text, "node_id: \"CL_csirt\""),
                                    ": node_id: 'CL_csirt' is not a node id (lower-case letters, digits, '.', '-')"));
}

TEST_F(NodeConfigTest, BadPeerNodeId) {
  const std::string text = Edit(GoodConfig(), "node_id: \"eu.hub\"", "node_id: \"EU_Hub\"");
  ExpectOneError(text, absl::StrCat(At(text, "node_id: \"EU_Hub\""),
                                    ": peers[1].node_id: 'EU_Hub' is not a node id (lower-case letters, digits, '.', '-')"));
}

TEST_F(NodeConfigTest, DuplicatePeer) {
  const std::string text = Edit(GoodConfig(), "node_id: \"eu.hub\"", "node_id: \"uk.ncsc\"");
  ExpectOneError(text, absl::StrCat(At(text, "node_id: \"uk.ncsc\"", 2), ": peers[1].node_id: 'uk.ncsc' is listed twice"));
}

TEST_F(NodeConfigTest, PeerEqualToSelf) {
  const std::string text = Edit(GoodConfig(), "node_id: \"eu.hub\"", "node_id: \"cl.csirt\"");
  ExpectOneError(text, absl::StrCat(At(text, "node_id: \"cl.csirt\"", 2),
                                    ": peers[1].node_id: is this node's own id; a node is not its own peer"));
}

TEST_F(NodeConfigTest, PeerWithBothTrustAnchors) {
  const std::string text =
      Edit(GoodConfig(), "  address: \"[::1]:7445\"\n", "  address: \"[::1]:7445\"\n  ca_file: \"../shared/ca.crt\"\n");
  ExpectOneError(text, absl::StrCat(At(text, "peers {", 2), ": peers[1]: needs exactly one trust anchor: ca_file or spki_sha256"));
}

TEST_F(NodeConfigTest, PeerWithNeitherTrustAnchor) {
  const std::string text = Edit(GoodConfig(), "  ca_file: \"../shared/ca.crt\"\n", "");
  ExpectOneError(text, absl::StrCat(At(text, "peers {", 1), ": peers[0]: needs exactly one trust anchor: ca_file or spki_sha256"));
}

TEST_F(NodeConfigTest, BadSpkiPin) {
  const std::string why = ": peers[1].spki_sha256: must be 64 hex digits (sevex pki show prints a certificate's pin)";
  const std::string short_pin = Edit(GoodConfig(), kPin, "abc123");
  ExpectOneError(short_pin, absl::StrCat(At(short_pin, "spki_sha256:"), why));
  std::string not_hex_pin(kPin);
  not_hex_pin[10] = 'g';
  const std::string not_hex = Edit(GoodConfig(), kPin, not_hex_pin);
  ExpectOneError(not_hex, absl::StrCat(At(not_hex, "spki_sha256:"), why));
}

TEST_F(NodeConfigTest, MissingFiles) {
  const std::string cert = Edit(GoodConfig(), "tls/cl.csirt.crt", "tls/missing.crt");
  ExpectOneError(cert, absl::StrCat(At(cert, "cert_file:"), ": cert_file: '", In("tls/missing.crt"),
                                    "' is not a readable file"));
  const std::string ca = Edit(GoodConfig(), "../shared/ca.crt", "../shared/nope.crt");
  ExpectOneError(ca, absl::StrCat(At(ca, "ca_file:"), ": peers[0].ca_file: '", (dir_ / "shared/nope.crt").string(),
                                  "' is not a readable file"));
  const std::string key = Edit(GoodConfig(), "keys/eu.hub.sign.pub", "keys");  // a directory, not a file
  ExpectOneError(key, absl::StrCat(At(key, "signing_key_file: \"keys\""), ": peers[1].signing_key_file: '", In("keys"),
                                   "' is not a readable file"));
}

TEST_F(NodeConfigTest, MissingRequiredFileFieldOfAPeer) {
  auto config = Load(Edit(GoodConfig(), "  signing_key_file: \"keys/uk.ncsc.sign.pub\"\n", ""));
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), StartsWith(file_));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr(": peers[0].signing_key_file: is required"));
}

TEST_F(NodeConfigTest, ReachesWithoutRelay) {
  const std::string text = Edit(GoodConfig(), "  relay: true\n", "");
  ExpectOneError(text, absl::StrCat(At(text, "reaches:"), ": peers[1].reaches: is only for a hub: set relay: true as well"));
}

TEST_F(NodeConfigTest, DistributionToAnUnknownNode) {
  const std::string text = Edit(GoodConfig(), "to: \"de.bsi\"", "to: \"xx.cert\"");
  ExpectOneError(text, absl::StrCat(At(text, "to: \"xx.cert\""), ": distribution[0].to[1]: 'xx.cert' is neither a peer "
                                                                  "nor reached through a hub (use \"*\" for all)"));
}

TEST_F(NodeConfigTest, DistributionWithAmber) {
  const std::string text = Edit(GoodConfig(), "tlp: GREEN", "tlp: GREEN tlp: AMBER");
  ExpectOneError(text, absl::StrCat(At(text, "tlp: AMBER"), ": distribution[0].tlp[1]: only CLEAR and GREEN go by "
                                                             "distribution rules; AMBER, AMBER_STRICT and RED go to their "
                                                             "named recipients"));
}

TEST_F(NodeConfigTest, RelayRuleToANonPeer) {
  const std::string text = absl::StrCat(GoodConfig(), "relay {\n  rules { from: \"*\" to: \"uk.ncsc\" }\n"
                                                      "  rules { from: \"uk.ncsc\" to: \"de.bsi\" }\n}\n");
  // de.bsi is reached through the hub but is not this node's peer: a relay forwards to peers only.
  ExpectOneError(text, absl::StrCat(At(text, "to: \"de.bsi\"", 2), ": relay.rules[1].to[0]: 'de.bsi' is not a peer"));
}

TEST_F(NodeConfigTest, BadListenAddress) {
  for (const char* bad : {"localhost", ":7443", "127.0.0.1:99999"}) {
    SCOPED_TRACE(bad);
    const std::string text = Edit(GoodConfig(), "\"127.0.0.1:7443\"", absl::StrCat("\"", bad, "\""));
    ExpectOneError(text, absl::StrCat(At(text, "listen:"), ": listen: '", bad, "' is not host:port (e.g. 127.0.0.1:7443)"));
  }
}

TEST_F(NodeConfigTest, BadPeerAddress) {
  const std::string text = Edit(GoodConfig(), "\"127.0.0.1:7444\"", "\"uk.example\"");
  ExpectOneError(text, absl::StrCat(At(text, "address:"),
                                    ": peers[0].address: 'uk.example' is not host:port (e.g. 127.0.0.1:7443)"));
}

TEST_F(NodeConfigTest, ApiSocketPathTooLong) {
  const std::string name = absl::StrCat("state/", std::string(110, 's'), ".sock");
  const std::string text = Edit(GoodConfig(), "state/api.sock", name);
  const std::string resolved = In(name);
  ExpectOneError(text, absl::StrCat(At(text, "api_socket:"), ": api_socket: is ", resolved.size(),
                                    " bytes long; a Unix socket path must be under 108"));
}

TEST_F(NodeConfigTest, ApiSocketInAMissingDirectory) {
  const std::string text = Edit(GoodConfig(), "state/api.sock", "run/api.sock");
  ExpectOneError(text, absl::StrCat(At(text, "api_socket:"), ": api_socket: the directory '", In("run"),
                                    "' does not exist"));
}

TEST_F(NodeConfigTest, IdleTimeoutNotLongerThanHeartbeat) {
  for (const char* idle : {"10", "5"}) {
    const std::string text = absl::StrCat(GoodConfig(), "heartbeat_seconds: 10\nidle_timeout_seconds: ", idle, "\n");
    ExpectOneError(text, absl::StrCat(At(text, "idle_timeout_seconds:"),
                                      ": idle_timeout_seconds: must be longer than heartbeat_seconds"));
  }
}

TEST_F(NodeConfigTest, PeerItemsInMemoryOutOfRange) {
  for (const char* n : {"1", "15", "1048577", "4000000000"}) {
    const std::string text = absl::StrCat(GoodConfig(), "max_peer_items_in_memory: ", n, "\n");
    ExpectOneError(text, absl::StrCat(At(text, "max_peer_items_in_memory:"),
                                      ": max_peer_items_in_memory: must be between 16 and 1048576 (0 means the "
                                      "default, 4096)"));
  }
}

TEST_F(NodeConfigTest, SeveralErrorsAreReportedTogether) {
  std::string text = Edit(GoodConfig(), "\"127.0.0.1:7443\"", "\"nowhere\"");
  text = Edit(text, "tls/cl.csirt.key", "tls/missing.key");
  text = Edit(text, "node_id: \"eu.hub\"", "node_id: \"uk.ncsc\"");
  text = Edit(text, "to: \"de.bsi\"", "to: \"xx.cert\"");
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            absl::StrJoin({absl::StrCat(At(text, "listen:"), ": listen: 'nowhere' is not host:port (e.g. 127.0.0.1:7443)"),
                           absl::StrCat(At(text, "key_file:"), ": key_file: '", In("tls/missing.key"),
                                        "' is not a readable file"),
                           absl::StrCat(At(text, "node_id: \"uk.ncsc\"", 2), ": peers[1].node_id: 'uk.ncsc' is listed twice"),
                           absl::StrCat(At(text, "to: \"xx.cert\""), ": distribution[0].to[1]: 'xx.cert' is neither a "
                                                                     "peer nor reached through a hub (use \"*\" for all)")},
                          "\n"));
}

TEST_F(NodeConfigTest, UnknownFieldIsReportedWithItsLocation) {
  const std::string text = Edit(GoodConfig(), "  relay: true\n", "  relay: true\n  colour: \"blue\"\n");
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), StartsWith(AtLine(text, "colour:")));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("no field named \"colour\""));
}

TEST_F(NodeConfigTest, SyntaxErrorIsReportedWithItsLocation) {
  const std::string text = Edit(GoodConfig(), "scheme: \"cl-ds295\"", "scheme \"cl-ds295\"");
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), StartsWith(AtLine(text, "\"cl-ds295\"")));
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("Expected \":\""));
}

TEST_F(NodeConfigTest, WrongValueTypeIsReportedWithItsLocation) {
  const std::string text = absl::StrCat(GoodConfig(), "window: \"many\"\n");
  auto config = Load(text);
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), StartsWith(AtLine(text, "\"many\"")));
}

TEST_F(NodeConfigTest, MissingConfigFileIsNotFound) {
  auto config = LoadNodeConfig((dir_ / "none.textproto").string());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(config.status().message()), StartsWith((dir_ / "none.textproto").string()));
}

TEST_F(NodeConfigTest, CheckNodeConfigPrefixesWhereAndListsEveryError) {
  auto good = Load(GoodConfig());
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_TRUE(CheckNodeConfig(*good, "cfg").ok());

  v1::NodeConfig bad = *good;
  bad.mutable_peers(0)->set_node_id("cl.csirt");
  bad.mutable_peers(1)->clear_relay();
  const absl::Status s = CheckNodeConfig(bad, "cfg");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "cfg: peers[0].node_id: is this node's own id; a node is not its own peer\n"
            "cfg: peers[1].reaches: is only for a hub: set relay: true as well\n"
            "cfg: distribution[0].to[0]: 'uk.ncsc' is neither a peer nor reached through a hub (use \"*\" for all)");
}

// ----------------------------------------------------------------------------------------------
// ParseHostPort.

TEST(ParseHostPort, AcceptsIpv4AndBracketedIpv6) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:7443", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 7443);
  ASSERT_TRUE(ParseHostPort("[::1]:7443", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 7443);
  ASSERT_TRUE(ParseHostPort("node.example:65535", &host, &port).ok());
  EXPECT_EQ(host, "node.example");
  EXPECT_EQ(port, 65535);
}

TEST(ParseHostPort, RejectsWhatIsNotHostPort) {
  for (const char* bad : {"x", ":1", "h:99999", "h:", "h:port", "h:-1"}) {
    std::string host = "unchanged";
    uint16_t port = 1;
    const absl::Status s = ParseHostPort(bad, &host, &port);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(s.message(), absl::StrCat("'", bad, "' is not host:port (e.g. 127.0.0.1:7443)"));
    EXPECT_EQ(host, "unchanged") << bad;
    EXPECT_EQ(port, 1) << bad;
  }
}

// ----------------------------------------------------------------------------------------------
// `sevex node --config BAD`: exit 2, the error on stderr, nothing started or created.

struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

CommandResult RunSevex(const std::string& args) {
  const std::string cmd = absl::StrCat(SEVEX_BINARY, " ", args, " 2>&1");
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::set<std::string> Tree(const fs::path& root) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) out.insert(fs::relative(e.path(), root).string());
  return out;
}

TEST_F(NodeConfigTest, SevexNodeWithABadConfigExitsTwoNamingTheFieldAndStartsNothing) {
  const std::string text = Edit(GoodConfig(), "node_id: \"eu.hub\"", "node_id: \"uk.ncsc\"");
  std::ofstream(file_, std::ios::trunc) << text;
  const std::set<std::string> before = Tree(dir_);

  const CommandResult r = RunSevex(absl::StrCat("node --config ", file_));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_EQ(r.output, absl::StrCat("sevex node: ", At(text, "node_id: \"uk.ncsc\"", 2),
                                   ": peers[1].node_id: 'uk.ncsc' is listed twice\n"));
  EXPECT_FALSE(fs::exists(In("state/node.db")));
  EXPECT_FALSE(fs::exists(In("state/api.sock")));
  EXPECT_TRUE(fs::is_empty(In("state")));
  EXPECT_EQ(Tree(dir_), before);  // nothing created anywhere under the temp dir
}

TEST_F(NodeConfigTest, SevexNodeCheckWithABadConfigAlsoExitsTwo) {
  const std::string text = Edit(GoodConfig(), "  relay: true\n", "");
  std::ofstream(file_, std::ios::trunc) << text;
  const CommandResult r = RunSevex(absl::StrCat("node --check --config ", file_));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  // Exactly the one error: no abort, no log noise from the parser, no "ok".
  EXPECT_EQ(r.output, absl::StrCat("sevex node: ", At(text, "reaches:"),
                                   ": peers[1].reaches: is only for a hub: set relay: true as well\n"));
  EXPECT_TRUE(fs::is_empty(In("state")));
}

}  // namespace
}  // namespace sevex::node
