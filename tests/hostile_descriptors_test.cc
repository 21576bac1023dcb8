// Hostile (issue 22): a node out of file descriptors. A real `sevex node` on 127.0.0.1 whose
// open-file limit is lowered (prlimit) to just above what it holds; 40 connections to its
// metrics port then leave every accept failing with EMFILE. The accept loop used to retry at
// once, spinning a core (62–99 % measured); it must pause, log once, stay near idle, and take
// connections again once descriptors are free.
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node_support.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

constexpr char kCl[] = "cl.csirt";

// User and system CPU time of `pid` so far, in seconds (/proc/PID/stat fields 14 and 15).
double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const size_t close = stat.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return -1;
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
  double utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtod(f[11], &utime) || !absl::SimpleAtod(f[12], &stime)) return -1;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

size_t OpenDescriptors(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(absl::StrCat("/proc/", pid, "/fd"))) ++n;
  return n;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(HostileDescriptorsTest, AtEmfileTheNodePausesAcceptingLogsOnceAndRecovers) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sevex-hostile-fds-", ::getpid());
  fs::remove_all(dir);
  LocalNetwork::Spec spec;
  spec.nodes = {{kCl, "cl-ds295", false, ""}};
  auto net = LocalNetwork::Create(dir.string(), SEVEX_BINARY, spec);
  ASSERT_TRUE(net.ok()) << net.status();
  ASSERT_TRUE((*net)->StartAll().ok());
  const pid_t pid = (*net)->Pid(kCl);
  const std::string metrics = (*net)->MetricsAddress(kCl);
  ASSERT_EQ(sevex::testing::HttpGet(metrics, "/healthz").status, 200u);

  // The soft limit only: the hard one could not be raised back without privilege.
  rlimit old{};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, nullptr, &old), 0) << std::strerror(errno);
  const rlimit low{OpenDescriptors(pid) + 4, old.rlim_max};
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &low, nullptr), 0) << std::strerror(errno);

  asio::io_context io;
  const size_t colon = metrics.rfind(':');
  const tcp::endpoint to(asio::ip::make_address(metrics.substr(0, colon)),
                         static_cast<uint16_t>(std::stoi(metrics.substr(colon + 1))));
  std::vector<std::unique_ptr<tcp::socket>> held;
  for (int i = 0; i < 40; ++i) {
    auto s = std::make_unique<tcp::socket>(io);
    s->connect(to);  // the kernel completes it into the backlog, accepted or not
    held.push_back(std::move(s));
  }
  ASSERT_TRUE(sevex::testing::WaitFor(
      [&] { return Count(ReadFile((*net)->LogPath(kCl)), "\"metrics_accept_failed\"") >= 1; },
      std::chrono::seconds(10)))
      << "the node never ran out of descriptors:\n"
      << ReadFile((*net)->LogPath(kCl));

  // Two seconds at EMFILE, within the 5 s the held connections stay idle.
  const double before = CpuSeconds(pid);
  std::this_thread::sleep_for(std::chrono::seconds(2));  // the interval CPU is measured over
  const double used = CpuSeconds(pid) - before;
  std::printf("CPU at EMFILE: %.2f s in 2 s\n", used);
  EXPECT_LT(used, 0.3) << "the accept loop spins";
  EXPECT_EQ(Count(ReadFile((*net)->LogPath(kCl)), "\"metrics_accept_failed\""), 1u);

  // Descriptors free again: it accepts, and says so.
  held.clear();
  EXPECT_TRUE(sevex::testing::WaitFor(
      [&] { return sevex::testing::HttpGet(metrics, "/healthz").status == 200; }, std::chrono::seconds(20)));
  EXPECT_TRUE(sevex::testing::WaitFor(
      [&] { return Count(ReadFile((*net)->LogPath(kCl)), "\"metrics_accept_resumed\"") == 1; },
      std::chrono::seconds(10)));
  ASSERT_EQ(::prlimit(pid, RLIMIT_NOFILE, &old, nullptr), 0);
  EXPECT_TRUE((*net)->StopAll().ok());
  net->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sevex::node
