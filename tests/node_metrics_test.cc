// Integration: a node's /metrics and /healthz, scraped over HTTP from real `sevex node`
// processes on 127.0.0.1 while notices flow, a peer goes away and a stranger fails to connect.
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/write.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/local_network.h"
#include "node/metrics.h"
#include "node_support.h"

namespace sevex::node {
namespace {

namespace asio = boost::asio;
using sevex::testing::HttpGet;
using sevex::testing::HttpReply;
using sevex::testing::HttpRequest;
using sevex::testing::Sample;
using sevex::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kCl[] = "cl.csirt";
constexpr char kUk[] = "uk.ncsc";

std::string Notices(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(absl::StrCat(R"({"id": ")", prefix, i, R"(", "title": "Compromised legacy server )", i,
                               R"(", "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"},)",
                               R"("marking": {"tlp": "GREEN"}, "attributes": {"victim_tier": "national", )",
                               R"("impact_kind": "extensive_compromise", "unauthorised_access": true}})"));
  }
  return absl::StrCat("[", absl::StrJoin(out, ","), "]");
}

// The node's TLS listen address, from its generated configuration.
std::string ListenAddress(const LocalNetwork& net, const std::string& id) {
  std::ifstream in(net.ConfigPath(id));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "listen: \"")) return line.substr(9, line.size() - 10);
  }
  return "";
}

class NodeMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("sevex-metrics-", ::getpid(), "-", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    LocalNetwork::Spec spec;
    spec.nodes = {{kCl, "cl-ds295", false, ""}, {kUk, "uk-ncsc", false, ""}};
    spec.links = {{kCl, kUk}};
    auto net = LocalNetwork::Create(dir_.string(), SEVEX_BINARY, spec);
    ASSERT_TRUE(net.ok()) << net.status();
    net_ = std::move(*net);
    ASSERT_TRUE(net_->StartAll().ok());
  }
  void TearDown() override {
    if (net_) {
      EXPECT_TRUE(net_->StopAll().ok());
    }
    net_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string Scrape(const std::string& id) {
    HttpReply r = HttpGet(net_->MetricsAddress(id), "/metrics");
    EXPECT_EQ(r.status, 200u) << r.error;
    EXPECT_THAT(r.content_type, HasSubstr("text/plain; version=0.0.4"));
    return r.body;
  }

  std::filesystem::path dir_;
  std::unique_ptr<LocalNetwork> net_;
};

TEST_F(NodeMetricsTest, CountersMoveAsNoticesFlow) {
  const std::string origin = net_->MetricsAddress(kCl);
  const std::string receiver = net_->MetricsAddress(kUk);
  ASSERT_FALSE(origin.empty());
  std::string before = Scrape(kCl);
  EXPECT_EQ(Sample(before, "sevex_notices_submitted_total"), 0.0);
  EXPECT_THAT(before, HasSubstr("# TYPE sevex_store_commit_seconds histogram"));
  ASSERT_TRUE(WaitFor([&] { return Sample(Scrape(kCl), "sevex_peer_session_up{peer=\"uk.ncsc\"}") == 1.0; }));

  auto r = net_->Submit(kCl, Notices("m-", 7), /*wait=*/true);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->error().empty()) << r->error();

  const std::string after = Scrape(kCl);
  EXPECT_EQ(Sample(after, "sevex_notices_submitted_total"), 7.0);
  EXPECT_EQ(Sample(after, "sevex_notices_delivered_total{peer=\"uk.ncsc\"}"), 7.0);
  EXPECT_EQ(Sample(after, "sevex_peer_queue_depth{peer=\"uk.ncsc\"}"), 0.0);
  EXPECT_GE(Sample(after, "sevex_store_commit_seconds_count").value_or(0), 1.0);
  EXPECT_GE(Sample(after, "sevex_sessions_opened_total{peer=\"uk.ncsc\"}").value_or(0), 1.0);
  const std::string received = Scrape(kUk);
  EXPECT_EQ(Sample(received, "sevex_notices_received_total{peer=\"cl.csirt\"}"), 7.0);

  // The same notices again: the submission is refused (revision already submitted), by reason.
  auto again = net_->Submit(kCl, Notices("m-", 1));
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().message(), HasSubstr("already submitted"));
  EXPECT_EQ(Sample(Scrape(kCl), "sevex_submissions_failed_total{reason=\"already_exists\"}"), 1.0);
}

TEST_F(NodeMetricsTest, QueueOfADeadPeerAndFailedHandshakesShow) {
  ASSERT_TRUE(WaitFor([&] { return Sample(Scrape(kCl), "sevex_peer_session_up{peer=\"uk.ncsc\"}") == 1.0; }));
  ASSERT_TRUE(net_->Stop(kUk).ok());
  ASSERT_TRUE(WaitFor([&] { return Sample(Scrape(kCl), "sevex_peer_session_up{peer=\"uk.ncsc\"}") == 0.0; }));
  ASSERT_TRUE(net_->Submit(kCl, Notices("q-", 3)).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        return Sample(Scrape(kCl), "sevex_peer_oldest_pending_seconds{peer=\"uk.ncsc\"}").value_or(0) >= 1.0;
      },
      std::chrono::seconds(30)));
  const std::string text = Scrape(kCl);
  EXPECT_EQ(Sample(text, "sevex_peer_queue_depth{peer=\"uk.ncsc\"}"), 3.0);
  EXPECT_GE(Sample(text, "sevex_peer_oldest_pending_seconds{peer=\"uk.ncsc\"}").value_or(0), 1.0);

  // A stranger that speaks plaintext to the TLS port fails the handshake.
  const double failures_before =
      Sample(text, "sevex_handshake_failures_total{reason=\"unauthenticated\"}").value_or(0);
  {
    const std::string listen = ListenAddress(*net_, kCl);
    ASSERT_FALSE(listen.empty());
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    asio::ip::tcp::resolver resolver(io);
    const size_t colon = listen.rfind(':');
    asio::connect(s, resolver.resolve(listen.substr(0, colon), listen.substr(colon + 1)));
    asio::write(s, asio::buffer(std::string("GET / HTTP/1.0\r\n\r\n")));
    char buf[256];
    boost::system::error_code ec;
    s.read_some(asio::buffer(buf), ec);  // the node answers with a TLS alert or closes
  }
  EXPECT_TRUE(WaitFor([&] {
    return Sample(Scrape(kCl), "sevex_handshake_failures_total{reason=\"unauthenticated\"}").value_or(0) >
           failures_before;
  }));

  // The peer returns and its queue drains.
  ASSERT_TRUE(net_->Start(kUk).ok());
  EXPECT_TRUE(WaitFor([&] { return Sample(Scrape(kCl), "sevex_peer_queue_depth{peer=\"uk.ncsc\"}") == 0.0; }));
  EXPECT_EQ(Sample(Scrape(kCl), "sevex_notices_delivered_total{peer=\"uk.ncsc\"}"), 3.0);
}

TEST_F(NodeMetricsTest, HealthzAndWhatIsNotServed) {
  const std::string address = net_->MetricsAddress(kCl);
  HttpReply health = HttpGet(address, "/healthz");
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(HttpGet(address, "/metrics?name=x").status, 200u);
  EXPECT_EQ(HttpGet(address, "/").status, 404u);
  EXPECT_EQ(HttpGet(address, "/notices").status, 404u);
  EXPECT_EQ(HttpRequest(address, "/metrics", "POST").status, 405u);

  // Garbage instead of HTTP gets a 400 or a closed connection, and the endpoint keeps serving.
  {
    asio::io_context io;
    asio::ip::tcp::socket s(io);
    asio::ip::tcp::resolver resolver(io);
    const size_t colon = address.rfind(':');
    asio::connect(s, resolver.resolve(address.substr(0, colon), address.substr(colon + 1)));
    asio::write(s, asio::buffer(std::string("\x16\x03\x01 not http at all\r\n\r\n")));
    std::string answer(512, '\0');
    boost::system::error_code ec;
    const size_t n = s.read_some(asio::buffer(answer), ec);
    if (!ec) {
      EXPECT_THAT(answer.substr(0, n), HasSubstr("400"));
    }
  }
  EXPECT_EQ(HttpGet(address, "/healthz").status, 200u);
}

// Pure bookkeeping: label sets from peers are bounded, and values are escaped.
TEST(MetricsTest, LabelSetsAreBoundedAndEscaped) {
  Metrics m;
  for (size_t i = 0; i < kMaxSeriesPerFamily + 10; ++i) m.Count(Counter::kRefusedByPeer, {"p", absl::StrCat("code", i)});
  EXPECT_EQ(m.Value(Counter::kRefusedByPeer, {"p", "code0"}), 1u);
  EXPECT_EQ(m.Value(Counter::kRefusedByPeer, {"other", "other"}), 10u);
  m.Count(Counter::kRejected, {"uk", "a\"b\\c\nd"});
  const std::string text = m.Render({});
  EXPECT_THAT(text, HasSubstr("sevex_notices_rejected_total{peer=\"uk\",reason=\"a\\\"b\\\\c\\nd\"} 1"));
  m.ObserveCommit(0.003);
  m.ObserveCommit(0.2);
  const std::string h = m.Render({});
  EXPECT_THAT(h, HasSubstr("sevex_store_commit_seconds_bucket{le=\"0.002\"} 0\n"));
  EXPECT_THAT(h, HasSubstr("sevex_store_commit_seconds_bucket{le=\"0.005\"} 1\n"));
  EXPECT_THAT(h, HasSubstr("sevex_store_commit_seconds_bucket{le=\"0.25\"} 2\n"));
  EXPECT_THAT(h, HasSubstr("sevex_store_commit_seconds_count 2\n"));
  EXPECT_THAT(h, HasSubstr("sevex_notices_submitted_total 0\n"));
}

}  // namespace
}  // namespace sevex::node
