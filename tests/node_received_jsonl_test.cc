// Integration: a node configured with received_jsonl appends every notice it receives as one
// JSON object per line, in the `sevex export --format jsonl` form — for log shippers.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node_support.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
using sevex::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";

std::string Notices(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(absl::StrCat(R"({"id": ")", prefix, i, R"(", "title": "Compromised \"legacy\" server )", i,
                               R"(", "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"},)",
                               R"("marking": {"tlp": "GREEN"}, "attributes": {"victim_tier": "national", )",
                               R"("impact_kind": "extensive_compromise", "unauthorised_access": true}})"));
  }
  return absl::StrCat("[", absl::StrJoin(out, ","), "]");
}

std::vector<std::string> Lines(const fs::path& p) {
  std::vector<std::string> lines;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

TEST(NodeReceivedJsonlTest, EveryReceivedNoticeIsOneLineAndARestartAppends) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sevex-received-jsonl-", ::getpid());
  fs::remove_all(dir);
  LocalNetwork::Spec spec;
  spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, "received_jsonl: \"uk.received.jsonl\"\n"}};
  spec.links = {{kCl, kUk}};
  auto net = LocalNetwork::Create(dir.string(), SEVEX_BINARY, spec);
  ASSERT_TRUE(net.ok()) << net.status();
  ASSERT_TRUE((*net)->StartAll().ok());
  const fs::path file = dir / "uk.received.jsonl";

  ASSERT_TRUE((*net)->Submit(kCl, Notices("j-", 12), /*wait=*/true).ok());
  // The line is written after the ack: wait for it.
  WaitFor([&] { return Lines(file).size() >= 12; }, std::chrono::seconds(10));
  std::vector<std::string> lines = Lines(file);
  ASSERT_EQ(lines.size(), 12u);
  std::set<std::string> seen;
  for (const std::string& line : lines) {
    EXPECT_EQ(line.front(), '{');
    EXPECT_EQ(line.back(), '}');
    EXPECT_THAT(line, HasSubstr(R"("origin":"cl.csirt")"));
    EXPECT_THAT(line, HasSubstr(R"(\"legacy\")"));  // escaped inside the title
    for (int i = 0; i < 12; ++i) {
      if (line.find(absl::StrCat("\"j-", i, "\"")) != std::string::npos) seen.insert(absl::StrCat("j-", i));
    }
  }
  EXPECT_EQ(seen.size(), 12u);
  struct stat st;
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // After a restart the file is appended to, not rewritten.
  ASSERT_TRUE((*net)->Stop(kUk).ok());
  ASSERT_TRUE((*net)->Start(kUk).ok());
  ASSERT_TRUE((*net)->Submit(kCl, Notices("k-", 1), /*wait=*/true).ok());
  // And nothing is written twice: a marker sent after it is the fourteenth line and the last.
  ASSERT_TRUE((*net)->Submit(kCl, Notices("m-", 1), /*wait=*/true).ok());
  WaitFor([&] { return Lines(file).size() >= 14; }, std::chrono::seconds(10));
  lines = Lines(file);
  ASSERT_EQ(lines.size(), 14u);
  EXPECT_THAT(lines[12] + lines[13], HasSubstr(R"("k-0")"));
  EXPECT_THAT(lines[12] + lines[13], HasSubstr(R"("m-0")"));

  EXPECT_TRUE((*net)->StopAll().ok());
  net->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sevex::node
