// The node API client (node/api_client.cc): a node that never answers fails the call within
// its timeout, with a status that says so; a missing node says how to find out why.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/api.h"

namespace sevex::node {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ApiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sevex-api-client-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/api.sock";
  }
  void TearDown() override {
    if (listener_ >= 0) ::close(listener_);
    fs::remove_all(dir_);
  }
  // A socket that listens (the kernel completes connections into its backlog) but whose owner
  // never answers: a stopped node.
  void Listen() {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_GE(listener_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(listener_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener_, 4), 0);
  }
  static v1::ApiRequest Status() {
    v1::ApiRequest r;
    r.mutable_status();
    return r;
  }

  std::string dir_, path_;
  int listener_ = -1;
};

TEST_F(ApiClientTest, ANodeThatNeverAnswersFailsTheCallWithinItsTimeout) {
  Listen();
  const auto start = std::chrono::steady_clock::now();
  auto r = CallApi(path_, Status(), absl::Milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("did not answer within 300ms"));
  EXPECT_GE(took, std::chrono::milliseconds(290));
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST_F(ApiClientTest, ANodeThatTakesTheRequestAndAnswersHalfFailsWithinTheTimeout) {
  Listen();
  // The node reads the request and sends two of the four length bytes, then nothing.
  std::promise<void> client_done;
  std::thread node([this, done = client_done.get_future()] {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd < 0) return;
    char buf[256];
    (void)::read(fd, buf, sizeof buf);
    const char half[2] = {0, 0};
    (void)::write(fd, half, sizeof half);
    done.wait();  // holds the connection open until the client has given up
    ::close(fd);
  });
  auto r = CallApi(path_, Status(), absl::Milliseconds(300));
  client_done.set_value();
  node.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
}

TEST_F(ApiClientTest, ANodeThatIsNotRunningSaysSo) {
  auto r = CallApi(path_, Status(), absl::Seconds(5));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("cannot reach the node at " + path_));
  EXPECT_THAT(r.status().message(), HasSubstr("is `sevex node` running"));
}

TEST_F(ApiClientTest, ANodeThatClosesWithoutAnsweringSaysSo) {
  Listen();
  std::thread node([this] {
    const int fd = ::accept(listener_, nullptr, nullptr);
    if (fd >= 0) ::close(fd);
  });
  auto r = CallApi(path_, Status(), absl::Seconds(5));
  node.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
}

}  // namespace
}  // namespace sevex::node
