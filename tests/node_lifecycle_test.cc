// Integration: what other invocations do to a running node — `sevex node --check` on its
// configuration, and a second instance started on it — must leave it serving.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/local_network.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";

// Runs the sevex binary with `args` in `dir`; returns its exit code.
int RunSevex(const fs::path& dir, const std::string& args) {
  const std::string command = absl::StrCat("cd '", dir.string(), "' && '", SEVEX_BINARY, "' ", args, " >/dev/null 2>&1");
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(NodeLifecycleTest, CheckAndASecondInstanceLeaveTheRunningNodesApiSocketAlone) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sevex-lifecycle-", ::getpid());
  fs::remove_all(dir);
  LocalNetwork::Spec spec;
  spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}};
  spec.links = {{kCl, kUk}};
  auto net = LocalNetwork::Create(dir.string(), SEVEX_BINARY, spec);
  ASSERT_TRUE(net.ok()) << net.status();
  ASSERT_TRUE((*net)->StartAll().ok());
  v1::ApiRequest status;
  status.mutable_status();
  ASSERT_TRUE((*net)->Call(kCl, status).ok());

  const std::string config = (*net)->ConfigPath(kCl);
  EXPECT_EQ(RunSevex(dir, absl::StrCat("node --config '", config, "' --check")), 0);
  EXPECT_TRUE(fs::is_socket((*net)->SocketPath(kCl))) << "--check removed the running node's socket";
  EXPECT_TRUE((*net)->Call(kCl, status).ok());

  // A second instance on the same configuration is refused (exit 1) and changes nothing.
  EXPECT_EQ(RunSevex(dir, absl::StrCat("node --config '", config, "'")), 1);
  EXPECT_TRUE(fs::is_socket((*net)->SocketPath(kCl))) << "a refused second instance removed the socket";
  auto r = (*net)->Call(kCl, status);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status().node_id(), kCl);

  EXPECT_TRUE((*net)->StopAll().ok());
  EXPECT_FALSE(fs::exists((*net)->SocketPath(kCl))) << "a node removes its own socket when it stops";
  net->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sevex::node
