// `sevex demo` run as a user runs it: the binary with --format json. Every state must hold
// exactly what the scripted incidents' markings allow it, each entry in its own scheme; the
// refusals the markings force must be reported; nothing may be left running or on disk.
#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "process_support.h"
#include "sevex/v1/notice.pb.h"

namespace {

namespace fs = std::filesystem;
using google::protobuf::Value;

using sevex::testing::Outcome;
using sevex::testing::ProcessesMentioning;

// Runs `command` with TMPDIR=tmpdir.
Outcome Shell(const std::string& command, const std::string& tmpdir) {
  return sevex::testing::Shell(absl::StrCat("TMPDIR='", tmpdir, "' ", command));
}

const google::protobuf::Map<std::string, Value>& F(const Value& v) { return v.struct_value().fields(); }
std::string S(const Value& v, const std::string& key) { return F(v).at(key).string_value(); }

struct Expectation {
  std::set<std::string> delivered;  // final recipients
  std::set<std::string> refused;
};

// What TLP 2.0 and the federation's links let a notice reach (docs/node.md §4), computed here
// from the marking alone: CLEAR and GREEN every other node; AMBER the named recipients, relayed
// if need be; AMBER+STRICT the named recipients the origin has a session with; RED those, or
// through a hub that is itself named.
Expectation Expect(const sevex::v1::Notice& n, const std::map<std::string, std::set<std::string>>& peers,
                   const std::set<std::string>& hubs) {
  Expectation x;
  const std::string& o = n.origin();
  const auto direct = [&](const std::string& r) { return peers.at(o).contains(r); };
  switch (n.marking().tlp()) {
    case sevex::v1::Marking::CLEAR:
    case sevex::v1::Marking::GREEN:
      for (const auto& [id, _] : peers) {
        if (id != o) x.delivered.insert(id);
      }
      break;
    case sevex::v1::Marking::AMBER:
      for (const auto& r : n.marking().recipients()) {
        if (r != o) x.delivered.insert(r);
      }
      break;
    case sevex::v1::Marking::AMBER_STRICT:
      for (const auto& r : n.marking().recipients()) (direct(r) ? x.delivered : x.refused).insert(r);
      break;
    case sevex::v1::Marking::RED:
      for (const auto& r : n.marking().recipients()) {
        bool via_named_hub = false;
        for (const auto& h : hubs) {
          const bool named = std::find(n.marking().recipients().begin(), n.marking().recipients().end(), h) !=
                             n.marking().recipients().end();
          via_named_hub |= named && direct(h) && peers.at(h).contains(r);
        }
        (direct(r) || via_named_hub ? x.delivered : x.refused).insert(r);
      }
      break;
    default:
      break;
  }
  return x;
}

TEST(DemoCommand, EveryStateReceivesWhatItsMarkingsAllowInItsOwnSchemeAndNothingIsLeft) {
  char tmpl[] = "/tmp/sevex-demo-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string tmpdir = tmpl;
  const Outcome run = Shell(absl::StrCat(SEVEX_BINARY, " demo --format json --timeout 90"), tmpdir);
  ASSERT_EQ(run.exit_code, 0) << run.out;

  // Nothing left: no file under TMPDIR, no process started from there.
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(tmpdir)) left.push_back(e.path().string());
  EXPECT_THAT(left, ::testing::IsEmpty()) << "sevex demo left files behind";
  EXPECT_THAT(ProcessesMentioning(tmpdir), ::testing::IsEmpty()) << "sevex demo left node processes running";
  fs::remove_all(tmpdir);

  Value out;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(run.out, &out).ok()) << run.out;

  // The federation: five national nodes, one a hub, each in its own scheme.
  const std::map<std::string, std::string> schemes = {{"us.cisa", "us-ciss"},
                                                      {"uk.ncsc", "uk-ncsc"},
                                                      {"au.asd", "au-asd"},
                                                      {"cl.csirt", "cl-ds295"},
                                                      {"eu.hub", "eu-nis2"}};
  std::map<std::string, std::set<std::string>> peers;
  std::set<std::string> hubs;
  for (const auto& n : F(out).at("nodes").list_value().values()) {
    EXPECT_EQ(schemes.at(S(n, "id")), S(n, "scheme"));
    for (const auto& p : F(n).at("peers").list_value().values()) peers[S(n, "id")].insert(p.string_value());
    if (F(n).at("hub").bool_value()) hubs.insert(S(n, "id"));
  }
  ASSERT_EQ(peers.size(), schemes.size());
  ASSERT_EQ(hubs, std::set<std::string>{"eu.hub"});

  // The scripted incidents, read from the source tree (the binary runs its embedded copy).
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(SEVEX_SOURCE_DIR) / "examples" / "demo")) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 18u);
  std::map<std::string, std::multiset<std::string>> expected;  // state -> "origin/id rev N"
  std::map<std::string, Expectation> expected_receipts;        // "origin/id rev N" -> who
  std::set<sevex::v1::Marking::Tlp> markings;
  int retractions = 0, revisions = 0, refusals = 0;
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    sevex::v1::Notice n;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &n).ok()) << f;
    if (n.revision() == 0) n.set_revision(1);
    const std::string key = absl::StrCat(n.origin(), "/", n.id(), " rev ", n.revision());
    const Expectation x = Expect(n, peers, hubs);
    for (const auto& r : x.delivered) expected[r].insert(key);
    expected_receipts[key] = x;
    markings.insert(n.marking().tlp());
    retractions += n.retracted();
    revisions += !n.retracted() && n.revision() > 1;
    refusals += x.refused.size();
  }
  // The script exercises what the demo promises.
  EXPECT_EQ(markings.size(), 5u) << "CLEAR, GREEN, AMBER, AMBER+STRICT and RED";
  EXPECT_GE(retractions, 1);
  EXPECT_GE(revisions, 1);
  EXPECT_GE(refusals, 1);

  // Each state: exactly the expected notices, once each, translated into its own scheme.
  for (const auto& st : F(out).at("states").list_value().values()) {
    const std::string id = S(st, "id");
    EXPECT_EQ(S(st, "scheme"), schemes.at(id));
    std::multiset<std::string> got;
    for (const auto& e : F(st).at("received").list_value().values()) {
      const std::string key =
          absl::StrCat(S(e, "origin"), "/", S(e, "id"), " rev ", F(e).at("revision").number_value());
      got.insert(key);
      EXPECT_EQ(S(e, "origin_scheme"), F(e).at("retracted").bool_value() ? "" : schemes.at(S(e, "origin")))
          << id << " " << key;
      if (F(e).at("retracted").bool_value()) continue;
      EXPECT_EQ(S(e, "scheme"), schemes.at(id)) << id << " " << key;
      EXPECT_FALSE(S(e, "level").empty()) << id << " " << key;
      EXPECT_THAT(S(e, "method"), ::testing::AnyOf("reassessed", "interval")) << id << " " << key;
      EXPECT_FALSE(S(e, "origin_level").empty()) << id << " " << key;
      EXPECT_THAT(S(e, "shared_band"), ::testing::MatchesRegex("S[0-5]")) << id << " " << key;
    }
    EXPECT_EQ(got, expected[id]) << id;
  }

  // At each origin: a delivered receipt per allowed recipient, a refused one per forbidden one.
  for (const auto& s : F(out).at("submitted").list_value().values()) {
    const std::string key =
        absl::StrCat(S(s, "origin"), "/", S(s, "id"), " rev ", F(s).at("revision").number_value());
    ASSERT_TRUE(expected_receipts.contains(key)) << key;
    std::set<std::string> delivered, refused;
    for (const auto& r : F(s).at("receipts").list_value().values()) {
      if (S(r, "status") == "delivered")
        delivered.insert(S(r, "recipient"));
      else if (S(r, "status") == "refused")
        refused.insert(S(r, "recipient"));
      else
        ADD_FAILURE() << key << " -> " << S(r, "recipient") << " " << S(r, "status");
    }
    EXPECT_EQ(delivered, expected_receipts[key].delivered) << key;
    EXPECT_EQ(refused, expected_receipts[key].refused) << key;
  }
}

TEST(DemoCommand, RefusesBadOptionsWithExitTwo) {
  char tmpl[] = "/tmp/sevex-demo-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  EXPECT_EQ(Shell(absl::StrCat(SEVEX_BINARY, " demo --timeout 0 2>/dev/null"), tmpl).exit_code, 2);
  EXPECT_EQ(Shell(absl::StrCat(SEVEX_BINARY, " demo ", tmpl, "/x 2>/dev/null"), tmpl).exit_code, 2)
      << "a directory without --keep";
  EXPECT_EQ(Shell(absl::StrCat(SEVEX_BINARY, " demo --incidents /nonexistent 2>/dev/null"), tmpl).exit_code,
            2);
  // An incident whose origin is not a demo node is named in the error.
  const std::string bad = absl::StrCat(tmpl, "/bad");
  fs::create_directories(bad);
  std::ofstream(bad + "/01-x.json") << R"({"id": "x-1", "origin": "fr.anssi", "marking": {"tlp": "CLEAR"}})";
  const Outcome r = Shell(absl::StrCat(SEVEX_BINARY, " demo --incidents ", bad, " 2>&1"), tmpl);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, ::testing::HasSubstr("01-x.json: origin 'fr.anssi' is not a demo node"));
  fs::remove_all(tmpl);
}

}  // namespace

namespace {

TEST(DemoCommand, KeepDirKeepsConfigurationsStoresAndLogsButNoProcess) {
  char tmpl[] = "/tmp/sevex-demo-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string kept = absl::StrCat(tmpl, "/kept");
  const Outcome run = Shell(absl::StrCat(SEVEX_BINARY, " demo --keep ", kept, " 2>/dev/null"), tmpl);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, ::testing::HasSubstr(absl::StrCat("kept in ", kept)));
  for (const char* id : {"us.cisa", "uk.ncsc", "au.asd", "cl.csirt", "eu.hub"}) {
    EXPECT_TRUE(fs::exists(fs::path(kept) / absl::StrCat(id, ".textproto"))) << id;
    EXPECT_TRUE(fs::exists(fs::path(kept) / absl::StrCat(id, ".db"))) << id;
    EXPECT_TRUE(fs::exists(fs::path(kept) / absl::StrCat(id, ".log"))) << id;
    EXPECT_FALSE(fs::exists(fs::path(kept) / absl::StrCat(id, ".sock")))
        << id << ": the node did not stop cleanly";
  }
  EXPECT_THAT(ProcessesMentioning(kept), ::testing::IsEmpty());
  // A second run does not reuse a directory that holds something.
  EXPECT_EQ(Shell(absl::StrCat(SEVEX_BINARY, " demo --keep ", kept, " 2>/dev/null"), tmpl).exit_code, 2);
  fs::remove_all(tmpl);
}

TEST(DemoCommand, AnInterruptedDemoStopsItsNodesAndRemovesItsDirectory) {
  char tmpl[] = "/tmp/sevex-demo-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string tmpdir = tmpl;
  // SIGINT to the demo alone (not its nodes) once its first node is up.
  const std::string script =
      absl::StrCat(SEVEX_BINARY, " demo >/dev/null 2>&1 & pid=$!; for i in $(seq 100); do ls ", tmpdir,
                   "/sevex-demo-*/*.sock >/dev/null 2>&1 && break; sleep 0.1; done; kill -INT $pid; wait "
                   "$pid; echo exit=$?");
  const Outcome run = Shell(absl::StrCat("bash -c '", script, "'"), tmpdir);
  EXPECT_THAT(run.out, ::testing::HasSubstr("exit=1")) << run.out;
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(tmpdir)) left.push_back(e.path().string());
  EXPECT_THAT(left, ::testing::IsEmpty());
  EXPECT_THAT(ProcessesMentioning(tmpdir), ::testing::IsEmpty());
  fs::remove_all(tmpdir);
}

}  // namespace

namespace {

// A node that stops answering (here: SIGSTOP) must not block the demo: each API call gives up
// after --timeout seconds (20 s while a node starts), and the demo ends with the reason, well
// before its watchdog (2 x --timeout + 60 s) would have to kill anything.
TEST(DemoCommand, ANodeThatStopsAnsweringEndsTheDemoInBoundedTime) {
  char tmpl[] = "/tmp/sevex-demo-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string tmpdir = tmpl;
  const std::string script = absl::StrCat(
      SEVEX_BINARY, " demo --timeout 1 2>&1 & pid=$!; for i in $(seq 200); do ls ", tmpdir,
      "/sevex-demo-*/us.cisa.sock >/dev/null 2>&1 && break; sleep 0.05; done; node=$(pgrep -P $pid -f ", tmpdir,
      "/sevex-demo-.*/[u]s.cisa.textproto); [ -n \"$node\" ] && kill -STOP $node; SECONDS=0; wait $pid; echo exit=$? "
      "after=$SECONDS");
  const Outcome run = Shell(absl::StrCat("bash -c '", script, "'"), tmpdir);
  EXPECT_THAT(run.out, ::testing::HasSubstr("exit=1 ")) << run.out;
  EXPECT_THAT(run.out, ::testing::HasSubstr("did not answer")) << run.out;
  EXPECT_THAT(run.out, ::testing::Not(::testing::HasSubstr("were killed"))) << run.out;
  const size_t at = run.out.find("after=");
  ASSERT_NE(at, std::string::npos);
  EXPECT_LE(std::stoi(run.out.substr(at + 6)), 45);
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(tmpdir)) left.push_back(e.path().string());
  EXPECT_THAT(left, ::testing::IsEmpty());
  EXPECT_THAT(ProcessesMentioning(tmpdir), ::testing::IsEmpty());
  fs::remove_all(tmpdir);
}

}  // namespace
