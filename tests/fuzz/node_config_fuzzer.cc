// node_config_fuzzer — a node's configuration file (textproto of v1::NodeConfig) read and
// checked by LoadNodeConfig, as `sevex node --config FILE --check` does.
//
// Set-up (LLVMFuzzerInitialize): a private directory under $TMPDIR laid out as the seed configs
// (tests/fuzz/corpus/node_config_fuzzer/, the examples of docs/node.md) expect it, with real
// files made by the development PKI: pki/ca.{key,crt}; for each of cl.csirt, hub.oas, uk.ncsc,
// au.asd and br.cert a TLS key and certificate pki/<id>.{key,crt}, an Ed25519 signing pair
// pki/<id>.sign.key and pki/peers/<id>.sign.pub, and its CA pki/peers/<id>-ca.crt; and data/
// for the stores and sockets. Each input is written to node.textproto in that directory, so
// relative paths in it resolve there and the seeds load.
//
// Oracle. A config that loads:
//   - passes CheckNodeConfig again as loaded (the defaults filled in keep every rule), with
//     every path absolute, and the defaults in their documented ranges (window 1–65536,
//     max_frame_bytes 4096–64 MiB, max_peer_items_in_memory 16–2^20, idle_timeout_seconds
//     longer than heartbeat_seconds > 0);
//   - round-trips: printed as textproto and loaded again, it is the same message.
// A config that does not load is refused with InvalidArgument whose message is one problem per
// line, each line starting with the file's path (and where in it).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "node/config.h"
#include "node/signing.h"
#include "transport/pki.h"

namespace {

namespace fs = std::filesystem;

fs::path& Dir() {
  static fs::path dir;
  return dir;
}

[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "node_config_fuzzer: %s\n", why.c_str());
  std::abort();
}

void Check(const absl::Status& s, const std::string& what) {
  if (!s.ok()) Fail(absl::StrCat(what, ": ", s.ToString()));
}

void WriteFile(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) Fail(absl::StrCat("cannot write ", path.string()));
}

void RemoveDir() {
  std::error_code ec;
  fs::remove_all(Dir(), ec);
}

bool IsAbsoluteOrEmpty(const std::string& p) { return p.empty() || fs::path(p).is_absolute(); }

void CheckLoaded(const sevex::v1::NodeConfig& c, const std::string& path) {
  if (absl::Status s = sevex::node::CheckNodeConfig(c, path); !s.ok()) {
    Fail(absl::StrCat("a loaded config fails its own checks:\n", s.message()));
  }
  for (const std::string* p : {&c.cert_file(), &c.key_file(), &c.signing_key_file(), &c.policy_dir(),
                               &c.store_path(), &c.api_socket(), &c.received_jsonl()}) {
    if (!IsAbsoluteOrEmpty(*p)) Fail(absl::StrCat("path not resolved: ", *p));
  }
  for (const auto& peer : c.peers()) {
    if (!IsAbsoluteOrEmpty(peer.ca_file()) || !IsAbsoluteOrEmpty(peer.signing_key_file())) {
      Fail(absl::StrCat("peer path not resolved: ", peer.ca_file(), " ", peer.signing_key_file()));
    }
  }
  for (const auto& origin : c.origins()) {
    if (!IsAbsoluteOrEmpty(origin.signing_key_file())) {
      Fail(absl::StrCat("origin path not resolved: ", origin.signing_key_file()));
    }
  }
  if (c.window() < 1 || c.window() > 65536) Fail(absl::StrCat("window ", c.window()));
  if (c.max_frame_bytes() < 4096 || c.max_frame_bytes() > (64u << 20)) {
    Fail(absl::StrCat("max_frame_bytes ", c.max_frame_bytes()));
  }
  if (c.max_peer_items_in_memory() < sevex::node::kMinPeerItemsInMemory ||
      c.max_peer_items_in_memory() > sevex::node::kMaxPeerItemsInMemory) {
    Fail(absl::StrCat("max_peer_items_in_memory ", c.max_peer_items_in_memory()));
  }
  if (c.heartbeat_seconds() == 0 || c.idle_timeout_seconds() <= c.heartbeat_seconds()) {
    Fail(absl::StrCat("heartbeat_seconds ", c.heartbeat_seconds(), ", idle_timeout_seconds ",
                      c.idle_timeout_seconds()));
  }
}

void CheckRefusal(const absl::Status& s, const std::string& path) {
  if (s.code() != absl::StatusCode::kInvalidArgument) Fail(absl::StrCat("refused with ", s.ToString()));
  if (s.message().empty()) Fail("refused without a message");
  for (absl::string_view line : absl::StrSplit(s.message(), '\n')) {
    if (!absl::StartsWith(line, absl::StrCat(path, ":"))) {
      Fail(absl::StrCat("a line of the refusal does not say where: '", line, "' in:\n", s.message()));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  Dir() = fs::temp_directory_path() / absl::StrCat("sevex-cfg-", ::getpid());
  RemoveDir();
  const fs::path pki = Dir() / "pki";
  Check(sevex::transport::InitCa(pki, "sevex fuzz CA", 3650), "InitCa");
  fs::create_directories(pki / "peers");
  fs::create_directories(Dir() / "data");
  for (const char* id : {"cl.csirt", "hub.oas", "uk.ncsc", "au.asd", "br.cert"}) {
    Check(sevex::transport::IssueNode(pki, {.node_id = id}), absl::StrCat("IssueNode ", id));
    Check(sevex::node::WriteSigningKeyPair((pki / absl::StrCat(id, ".sign.key")).string(),
                                           (pki / "peers" / absl::StrCat(id, ".sign.pub")).string()),
          absl::StrCat("WriteSigningKeyPair ", id));
    fs::copy_file(pki / sevex::transport::kCaCertFile, pki / "peers" / absl::StrCat(id, "-ca.crt"));
  }
  std::atexit(RemoveDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = (Dir() / "node.textproto").string();
  WriteFile(path, data, size);
  absl::StatusOr<sevex::v1::NodeConfig> config = sevex::node::LoadNodeConfig(path);
  if (!config.ok()) {
    CheckRefusal(config.status(), path);
    return 0;
  }
  CheckLoaded(*config, path);

  std::string printed;
  if (!google::protobuf::TextFormat::PrintToString(*config, &printed)) Fail("cannot print a loaded config");
  const std::string again_path = (Dir() / "again.textproto").string();
  WriteFile(again_path, reinterpret_cast<const uint8_t*>(printed.data()), printed.size());
  absl::StatusOr<sevex::v1::NodeConfig> again = sevex::node::LoadNodeConfig(again_path);
  if (!again.ok())
    Fail(absl::StrCat("a loaded config, printed, does not load:\n", again.status().ToString()));
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  if (!differ.Compare(*config, *again)) Fail(absl::StrCat("a loaded config does not round-trip:\n", diff));
  return 0;
}
