// Integration: what other invocations do to a running node — `sevex node --check` on its
// configuration, and a second instance started on it — must leave it serving; a stopped node
// fails commands in bounded time; a SIGHUP does not end a node; and a node ends with the process
// that started it, also when that process is killed.
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node_support.h"
#include "process_support.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";

// Runs the sevex binary with `args` in `dir`, `env` prefixed (e.g. "VAR=x"): its exit code,
// and its standard error in `out` (its standard output is dropped).
sevex::testing::Outcome RunSevex(const fs::path& dir, const std::string& args, const std::string& env = "") {
  return sevex::testing::Shell(absl::StrCat("cd '", dir.string(), "' && env ", env, " '", SEVEX_BINARY, "' ", args,
                                            " 2>&1 >/dev/null"));
}

// A network of one node, cl.csirt, not started, in `dir` (emptied first).
absl::StatusOr<std::unique_ptr<LocalNetwork>> OneNode(const fs::path& dir) {
  fs::remove_all(dir);
  LocalNetwork::Spec spec;
  spec.nodes = {{kCl, "cl-ds295", false, ""}};
  return LocalNetwork::Create(dir.string(), SEVEX_BINARY, spec);
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
  EXPECT_EQ(RunSevex(dir, absl::StrCat("node --config '", config, "' --check")).exit_code, 0);
  EXPECT_TRUE(fs::is_socket((*net)->SocketPath(kCl))) << "--check removed the running node's socket";
  EXPECT_TRUE((*net)->Call(kCl, status).ok());

  // A second instance on the same configuration is refused (exit 1) and changes nothing.
  EXPECT_EQ(RunSevex(dir, absl::StrCat("node --config '", config, "'")).exit_code, 1);
  EXPECT_TRUE(fs::is_socket((*net)->SocketPath(kCl))) << "a refused second instance removed the socket";
  auto r = (*net)->Call(kCl, status);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status().node_id(), kCl);

  EXPECT_TRUE((*net)->StopAll().ok());
  EXPECT_FALSE(fs::exists((*net)->SocketPath(kCl))) << "a node removes its own socket when it stops";
  net->reset();
  fs::remove_all(dir);
}

// `sevex node --check` is run before a node's first start, often as another user (root) than
// the node's: it must create nothing, and still say when the node could not open its store.
TEST(NodeLifecycleTest, CheckCreatesNoStoreAndRefusesOneTheNodeCouldNotOpen) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sevex-lifecycle-check-", ::getpid());
  auto net = OneNode(dir);
  ASSERT_TRUE(net.ok()) << net.status();
  const std::string config = (*net)->ConfigPath(kCl);
  const fs::path store = (*net)->StorePath(kCl);
  const std::string check = absl::StrCat("node --config '", config, "' --check");
  ASSERT_FALSE(fs::exists(store));

  auto [fresh, fresh_err] = RunSevex(dir, check);
  EXPECT_EQ(fresh, 0) << fresh_err;
  EXPECT_FALSE(fs::exists(store)) << "--check created the store";
  for (const char* suffix : {"-wal", "-shm"}) EXPECT_FALSE(fs::exists(store.string() + suffix)) << suffix;

  // A store the node made: checked, and left byte for byte as it was.
  ASSERT_TRUE((*net)->StartAll().ok());
  ASSERT_TRUE((*net)->StopAll().ok());
  const auto before = fs::last_write_time(store);
  const auto size = fs::file_size(store);
  auto [made, made_err] = RunSevex(dir, check);
  EXPECT_EQ(made, 0) << made_err;
  EXPECT_EQ(fs::last_write_time(store), before);
  EXPECT_EQ(fs::file_size(store), size);

  // One from a newer sevex, another application's database, and a file that is no database.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(store.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto [newer, newer_err] = RunSevex(dir, check);
  EXPECT_EQ(newer, 2) << newer_err;
  EXPECT_THAT(newer_err,
              ::testing::HasSubstr(absl::StrCat(store.string(), " was written by a newer sevex (schema version 99")));

  const fs::path other = dir / "other.db";
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA application_id=1234; CREATE TABLE t(x)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  fs::remove(store);
  fs::copy_file(other, store);
  auto [foreign, foreign_err] = RunSevex(dir, check);
  EXPECT_EQ(foreign, 2) << foreign_err;
  EXPECT_THAT(foreign_err,
              ::testing::HasSubstr("is not a sevex store (an SQLite database with application id 1234)"));

  std::ofstream(store, std::ios::trunc) << "these are not the notices you are looking for\n";
  auto [junk, junk_err] = RunSevex(dir, check);
  EXPECT_EQ(junk, 2) << junk_err;
  EXPECT_THAT(junk_err, ::testing::HasSubstr("is not a sevex store (not an SQLite database)"));

  net->reset();
  fs::remove_all(dir);
}

// Issue 22: a store with a page zeroed (a disk's bad sector, a bad restore) started silently.
// Now `--check` and the node's start both read it whole, refuse it, say what to do, and change
// nothing in it.
TEST(NodeLifecycleTest, ADamagedStoreIsRefusedByCheckAndAtStart) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sevex-lifecycle-damaged-", ::getpid());
  auto net = OneNode(dir);
  ASSERT_TRUE(net.ok()) << net.status();
  const std::string config = (*net)->ConfigPath(kCl);
  const fs::path store = (*net)->StorePath(kCl);
  ASSERT_TRUE((*net)->StartAll().ok());
  ASSERT_TRUE((*net)->StopAll().ok());
  ASSERT_EQ(RunSevex(dir, absl::StrCat("node --config '", config, "' --check")).exit_code, 0);

  // The last page (an index's root): zeroed.
  std::string bytes;
  {
    std::ifstream in(store, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GE(bytes.size(), 3 * 4096u);
  std::fill(bytes.end() - 4096, bytes.end(), '\0');
  std::ofstream(store, std::ios::binary | std::ios::trunc) << bytes;

  for (const std::string& how : {std::string(" --check"), std::string()}) {
    SCOPED_TRACE(how.empty() ? "start" : "--check");
    // Bounded: a node that took the store would run until stopped.
    auto [code, err] =
        sevex::testing::Shell(absl::StrCat("cd '", dir.string(), "' && timeout 30 '", SEVEX_BINARY,
                                           "' node --config '", config, "'", how, " 2>&1 >/dev/null"));
    EXPECT_NE(code, 0) << err;
    EXPECT_NE(code, 124) << "the node started on a damaged store";
    EXPECT_THAT(err,
                ::testing::HasSubstr(absl::StrCat(store.string(), " is damaged (SQLite's quick_check: ")));
    EXPECT_THAT(err, ::testing::HasSubstr("restore the store from a backup (docs/operations.md §7.2)"));
  }
  std::string after;
  {
    std::ifstream in(store, std::ios::binary);
    after.assign(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(after, bytes) << "the damaged store was written to";
  net->reset();
  fs::remove_all(dir);
}

// A node that is stopped (SIGSTOP) still has its socket, and the kernel still takes connections
// into its backlog, but it answers nothing: an operator's command fails within its timeout with
// the reason, and a second instance is refused without taking the socket. Resumed, the node
// serves as before.
TEST(NodeLifecycleTest, AStoppedNodeFailsCommandsInBoundedTimeAndKeepsItsSocket) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sevex-lifecycle-stopped-", ::getpid());
  auto net = OneNode(dir);
  ASSERT_TRUE(net.ok()) << net.status();
  ASSERT_TRUE((*net)->StartAll().ok());
  const std::string config = (*net)->ConfigPath(kCl);
  (*net)->Pause(kCl);

  auto start = std::chrono::steady_clock::now();
  auto [code, err] = RunSevex(dir, absl::StrCat("status --config '", config, "'"), "SEVEX_API_TIMEOUT=1");
  EXPECT_EQ(code, 1) << err;
  EXPECT_THAT(err, ::testing::HasSubstr("the node did not answer within 1s")) << err;
  EXPECT_THAT(err, ::testing::HasSubstr("is the node stopped or overloaded?")) << err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));

  start = std::chrono::steady_clock::now();
  auto [second, second_err] = RunSevex(dir, absl::StrCat("node --config '", config, "'"));
  EXPECT_EQ(second, 1) << second_err;
  EXPECT_THAT(second_err, ::testing::HasSubstr("but does not answer")) << second_err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_TRUE(fs::is_socket((*net)->SocketPath(kCl))) << "a refused second instance removed the socket";

  (*net)->Resume(kCl);
  v1::ApiRequest status;
  status.mutable_status();
  auto r = (*net)->Call(kCl, status);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status().node_id(), kCl);
  EXPECT_TRUE((*net)->StopAll().ok());
  net->reset();
  fs::remove_all(dir);
}

// There is no configuration reload: a SIGHUP (a closed terminal, a `kill -HUP` by habit) must
// neither end the node nor skip its graceful stop. It is logged, and the node goes on serving.
TEST(NodeLifecycleTest, ASighupIsLoggedAndTheNodeGoesOnServing) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sevex-lifecycle-hup-", ::getpid());
  auto net = OneNode(dir);
  ASSERT_TRUE(net.ok()) << net.status();
  ASSERT_TRUE((*net)->StartAll().ok());
  v1::ApiRequest status;
  status.mutable_status();
  const auto logged = [&] {
    std::ifstream in((*net)->LogPath(kCl));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  for (int i = 0; i < 2; ++i) {  // the handler is armed again after each
    ASSERT_EQ(::kill((*net)->Pid(kCl), SIGHUP), 0);
    const auto seen = [&] {
      const std::string log = logged();
      size_t n = 0;
      for (size_t at = log.find("\"sighup_ignored\""); at != std::string::npos;
           at = log.find("\"sighup_ignored\"", at + 1)) {
        ++n;
      }
      return n;
    };
    const size_t want = static_cast<size_t>(i + 1);
    EXPECT_TRUE(sevex::testing::WaitFor([&] { return seen() == want; }, std::chrono::seconds(10)))
        << seen() << " sighup_ignored lines after " << i + 1 << " SIGHUPs:\n" << logged();
    auto r = (*net)->Call(kCl, status);
    ASSERT_TRUE(r.ok()) << "the node did not survive SIGHUP: " << r.status();
    EXPECT_EQ(r->status().node_id(), kCl);
  }
  EXPECT_THAT(logged(), ::testing::HasSubstr("restart the node to apply a change"));
  EXPECT_TRUE((*net)->StopAll().ok()) << "the graceful stop after SIGHUP must still exit 0";
  EXPECT_THAT(logged(), ::testing::HasSubstr("\"node_stopped\""));
  net->reset();
  fs::remove_all(dir);
}

// SIGKILL to every process whose command line mentions `needle`, by its pid.
void KillProcessesMentioning(const std::string& needle) {
  for (const std::string& p : sevex::testing::ProcessesMentioning(needle)) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(p.substr(0, p.find(':')), &pid) && pid > 0) ::kill(pid, SIGKILL);
  }
}

// Regression: `sevex bench node` runs that crashed left their node processes running, some 800
// of them. Here a process starts two nodes and is killed with SIGKILL, so that nothing of its
// own cleans up: the nodes must end by themselves.
TEST(NodeLifecycleTest, NodesEndWhenTheProcessThatStartedThemIsKilled) {
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("sevex-orphans-", ::getpid());
  fs::remove_all(dir);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t starter = ::fork();
  ASSERT_GE(starter, 0);
  if (starter == 0) {
    // The starter: no test assertions here, only the exit code or a byte on the pipe.
    ::close(ready[0]);
    LocalNetwork::Spec spec;
    spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}};
    spec.links = {{kCl, kUk}};
    auto net = LocalNetwork::Create(dir.string(), SEVEX_BINARY, spec);
    if (!net.ok() || !(*net)->StartAll().ok()) ::_exit(1);
    const char started = 1;
    if (::write(ready[1], &started, 1) != 1) ::_exit(1);
    for (;;) ::pause();  // until killed
  }
  ::close(ready[1]);
  // Whatever happens below, the starter and its nodes do not outlive the test, nor does `dir`.
  struct Cleanup {
    pid_t starter;
    fs::path dir;
    ~Cleanup() {
      if (starter > 0) {  // never 0: kill(0, …) would signal the whole process group
        ::kill(starter, SIGKILL);
        ::waitpid(starter, nullptr, 0);
      }
      KillProcessesMentioning(dir.string());
      fs::remove_all(dir);
    }
  } cleanup{starter, dir};

  pollfd p{ready[0], POLLIN, 0};
  char started = 0;
  const bool up = ::poll(&p, 1, 60 * 1000) == 1 && ::read(ready[0], &started, 1) == 1 && started == 1;
  ::close(ready[0]);
  ASSERT_TRUE(up) << "the starter did not start its nodes; see the logs in " << dir;
  ASSERT_EQ(sevex::testing::ProcessesMentioning(dir.string()).size(), 2u)
      << absl::StrJoin(sevex::testing::ProcessesMentioning(dir.string()), "\n");

  ASSERT_EQ(::kill(starter, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(starter, &status, 0), starter);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  cleanup.starter = 0;  // reaped; nothing to kill

  EXPECT_TRUE(sevex::testing::WaitFor(
      [&] { return sevex::testing::ProcessesMentioning(dir.string()).empty(); }, std::chrono::seconds(10)))
      << "still running after their parent was killed:\n"
      << absl::StrJoin(sevex::testing::ProcessesMentioning(dir.string()), "\n");
  // They stopped as on SIGTERM, in order: a node removes its API socket as it stops.
  EXPECT_FALSE(fs::exists(dir / "cl.csirt.sock"));
  EXPECT_FALSE(fs::exists(dir / "uk.ncsc.sock"));
}

}  // namespace
}  // namespace sevex::node
