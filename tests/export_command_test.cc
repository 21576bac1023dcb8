// `sevex export` against a running node (two real node processes on 127.0.0.1): the whole inbox
// and one notice as STIX 2.1, JSON lines, stable output, and errors that name what was wrong.
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "process_support.h"
#include "node/local_network.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using sevex::testing::Outcome;
using sevex::testing::Shell;

std::vector<const google::protobuf::Struct*> Incidents(const google::protobuf::Value& bundle) {
  std::vector<const google::protobuf::Struct*> out;
  for (const auto& o : bundle.struct_value().fields().at("objects").list_value().values()) {
    if (o.struct_value().fields().at("type").string_value() == "incident") out.push_back(&o.struct_value());
  }
  return out;
}

class ExportCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sevex-export-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    sevex::node::LocalNetwork::Spec spec;
    spec.nodes = {{"cl.csirt", "cl-ds295", false, ""}, {"uk.ncsc", "uk-ncsc", false, ""}};
    spec.links = {{"cl.csirt", "uk.ncsc"}};
    auto net = sevex::node::LocalNetwork::Create(dir_, SEVEX_BINARY, spec);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    ASSERT_TRUE(net_->StartAll().ok());
    const std::string notices = R"([
      {"id": "a-1", "title": "Port \"TOS\" intrusion", "marking": {"tlp": "AMBER", "recipients": ["uk.ncsc"]},
       "attributes": {"victim_tier": "large", "impact_kind": "isolated_compromise", "unauthorised_access": true}},
      {"id": "g-1", "title": "Bank portal DDoS", "marking": {"tlp": "GREEN"},
       "attributes": {"victim_tier": "large", "impact_kind": "coordinated_low_level_attack", "degraded_minutes": 90}}])";
    auto r = net_->Submit("cl.csirt", notices, /*wait=*/true);
    ASSERT_TRUE(r.ok()) << r.status();
    auto retraction = net_->Submit(
        "cl.csirt", R"({"id": "g-1", "revision": 2, "retracted": true, "marking": {"tlp": "GREEN"}})", true);
    ASSERT_TRUE(retraction.ok()) << retraction.status();
    for (const auto& s : retraction->submitted()) {
      for (const auto& rc : s.receipts())
        ASSERT_EQ(rc.status(), sevex::v1::Receipt::DELIVERED) << rc.reason();
    }
  }
  void TearDown() override {
    if (net_) {
      EXPECT_TRUE(net_->StopAll().ok());
    }
    net_.reset();
    fs::remove_all(dir_);
  }
  std::string Export(const std::string& options) {
    return absl::StrCat(SEVEX_BINARY, " export --socket ", net_->SocketPath("uk.ncsc"), " ", options);
  }

  std::string dir_;
  std::unique_ptr<sevex::node::LocalNetwork> net_;
};

TEST_F(ExportCommandTest, WritesTheInboxAsStixAndJsonLines) {
  const Outcome stix = Shell(Export("--format stix"));
  ASSERT_EQ(stix.exit_code, 0) << stix.out;
  google::protobuf::Value bundle;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(stix.out, &bundle).ok()) << stix.out;
  const auto incidents = Incidents(bundle);
  ASSERT_EQ(incidents.size(), 2u) << "two notices; the retraction is a version of one of them";
  // In order of arrival at uk.ncsc, which receives a batch's notices in parallel: by name.
  auto named = [&](const std::string& name) -> const google::protobuf::Struct* {
    for (const auto* i : incidents) {
      if (i->fields().at("name").string_value() == name) return i;
    }
    return nullptr;
  };
  const google::protobuf::Struct* port = named("Port \"TOS\" intrusion");
  const google::protobuf::Struct* ddos = named("Bank portal DDoS");
  ASSERT_NE(port, nullptr) << stix.out;
  ASSERT_NE(ddos, nullptr) << stix.out;
  EXPECT_FALSE(port->fields().contains("revoked"));
  ASSERT_TRUE(ddos->fields().contains("revoked"));
  EXPECT_TRUE(ddos->fields().at("revoked").bool_value());
  EXPECT_EQ(Shell(Export("--format stix")).out, stix.out) << "a re-export is byte-identical";

  const std::string out = dir_ + "/uk.jsonl";
  ASSERT_EQ(Shell(Export("--format jsonl --out " + out)).exit_code, 0);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << text;
  google::protobuf::Value first;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[0], &first).ok());
  EXPECT_EQ(first.struct_value().fields().at("scheme").string_value(), "uk-ncsc");
  EXPECT_EQ(first.struct_value().fields().at("origin_scheme").string_value(), "cl-ds295");
  const std::string stix_id = first.struct_value().fields().at("stix_id").string_value();
  EXPECT_TRUE(stix_id == port->fields().at("id").string_value() || stix_id == ddos->fields().at("id").string_value())
      << "each JSON line names its notice's STIX incident: " << stix_id;
}

TEST_F(ExportCommandTest, ExportsOneNoticeById) {
  const Outcome one = Shell(Export("--id cl.csirt/a-1"));
  ASSERT_EQ(one.exit_code, 0) << one.out;
  google::protobuf::Value bundle;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(one.out, &bundle).ok());
  const auto incidents = Incidents(bundle);
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_THAT(incidents[0]->fields().at("external_references").DebugString(), HasSubstr("cl.csirt/a-1"));
}

TEST_F(ExportCommandTest, ErrorsSayWhatWasWrong) {
  Outcome r = Shell(Export("--id cl.csirt/nope 2>&1"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("--id cl.csirt/nope: uk.ncsc has received no such notice"));
  r = Shell(Export("--id nope 2>&1"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("use ORIGIN/ID"));
  r = Shell(Export("--format xml 2>&1"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.out, HasSubstr("--format 'xml': use stix or jsonl"));
  r = Shell(absl::StrCat(SEVEX_BINARY, " export --socket ", dir_, "/absent.sock 2>&1"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.exit_code, 2);
}

}  // namespace
