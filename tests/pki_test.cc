// transport/pki and peer_identity: the development CA, node certificates with their sevex://
// identity, pins, file permissions, and refusal of ambiguous or malformed identities.
#include "transport/pki.h"

#include <sys/stat.h>

#include <ctime>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "transport/peer_identity.h"

namespace sevex::transport {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

IssueOptions Node(std::string id, std::vector<std::string> uris = {}, int days = 365, int64_t offset_s = 0) {
  IssueOptions o;
  o.node_id = std::move(id);
  o.uris = std::move(uris);
  o.days = days;
  o.not_before_offset_s = offset_s;
  return o;
}

std::string UtcNow() {
  const std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
  return buf;
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sevex-pki-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = fs::path(tmpl) / "ca";
    ASSERT_TRUE(InitCa(dir_, "test CA", 30).ok());
  }
  void TearDown() override { fs::remove_all(dir_.parent_path()); }
  static mode_t Mode(const fs::path& p) {
    struct stat st;
    stat(p.c_str(), &st);
    return st.st_mode & 0777;
  }
  fs::path dir_;
};

TEST_F(PkiTest, CaAndNodeCertificatesCarryTheIdentity) {
  ASSERT_TRUE(IssueNode(dir_, Node("cl.csirt")).ok());
  auto node = ReadCertificate(dir_ / "cl.csirt.crt");
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ(node->node_id, "cl.csirt");
  EXPECT_EQ(node->subject, "CN=cl.csirt");
  EXPECT_EQ(node->issuer, "CN=test CA");
  EXPECT_FALSE(node->is_ca);
  EXPECT_EQ(node->spki_sha256.size(), 64u);
  auto ca = ReadCertificate(dir_ / kCaCertFile);
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(ca->is_ca);
  EXPECT_TRUE(ca->node_id.empty());
  EXPECT_NE(ca->spki_sha256, node->spki_sha256);
}

TEST_F(PkiTest, KeysAre0600AndNothingIsOverwritten) {
  ASSERT_TRUE(IssueNode(dir_, Node("au.asd")).ok());
  EXPECT_EQ(Mode(dir_ / kCaKeyFile), 0600u);
  EXPECT_EQ(Mode(dir_ / "au.asd.key"), 0600u);
  EXPECT_EQ(Mode(dir_), 0700u);
  const std::string pin = ReadCertificate(dir_ / "au.asd.crt")->spki_sha256;
  EXPECT_EQ(IssueNode(dir_, Node("au.asd")).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(InitCa(dir_, "again", 30).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadCertificate(dir_ / "au.asd.crt")->spki_sha256, pin);
}

TEST_F(PkiTest, BadNodeIdsAreRefused) {
  for (const char* id : {"", "Upper.case", "has space", ".leading", "trailing-", "a/b"}) {
    EXPECT_EQ(IssueNode(dir_, Node(id)).code(), absl::StatusCode::kInvalidArgument) << id;
  }
  EXPECT_TRUE(IsNodeId("eu-hub"));
  EXPECT_TRUE(IsNodeId("cl.csirt"));
  EXPECT_FALSE(IsNodeId(std::string(65, 'a')));
}

TEST_F(PkiTest, AmbiguousOrMissingIdentitiesAreRefused) {
  ASSERT_TRUE(IssueNode(dir_, Node("two", {"sevex://a.one", "sevex://b.two"})).ok());
  auto two = ReadCertificate(dir_ / "two.crt");
  ASSERT_TRUE(two.ok());
  EXPECT_TRUE(two->node_id.empty());
  EXPECT_THAT(two->identity_error, HasSubstr("more than one sevex:// identity"));

  ASSERT_TRUE(IssueNode(dir_, Node("none", {"https://example.org/node"})).ok());
  EXPECT_THAT(ReadCertificate(dir_ / "none.crt")->identity_error, HasSubstr("no sevex:// URI"));

  ASSERT_TRUE(IssueNode(dir_, Node("bad", {"sevex://Not_Valid"})).ok());
  EXPECT_THAT(ReadCertificate(dir_ / "bad.crt")->identity_error, HasSubstr("is not a valid node id"));
}

TEST_F(PkiTest, ValidityWindowFollowsTheOptions) {
  // Dates print as "YYYY-MM-DD HH:MM:SS UTC", which compare in time order. Issuing takes time and
  // may cross a second, so a certificate issued "now" is checked against the clock read before
  // and after it.
  ASSERT_TRUE(IssueNode(dir_, Node("expired", {}, 1, -10 * 86400)).ok());
  auto expired = ReadCertificate(dir_ / "expired.crt");
  ASSERT_TRUE(expired.ok());
  EXPECT_LT(expired->not_after, UtcNow());
  const std::string before = UtcNow();
  ASSERT_TRUE(IssueNode(dir_, Node("future", {}, 30, 2 * 86400)).ok());
  auto future = ReadCertificate(dir_ / "future.crt");
  ASSERT_TRUE(future.ok());
  ASSERT_TRUE(IssueNode(dir_, Node("current")).ok());
  auto current = ReadCertificate(dir_ / "current.crt");
  ASSERT_TRUE(current.ok());
  const std::string after = UtcNow();
  EXPECT_GT(future->not_before, after);
  EXPECT_GE(current->not_before, before);
  EXPECT_LE(current->not_before, after);
  EXPECT_GT(current->not_after, after);
}

TEST_F(PkiTest, UnreadableInputIsReported) {
  EXPECT_EQ(ReadCertificate(dir_ / "missing.crt").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadCertificate(dir_ / kCaKeyFile).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sevex::transport
