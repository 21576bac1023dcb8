// HttpEndpoint (node/http_endpoint.h), the node's /metrics and /healthz listener, alone on
// 127.0.0.1: what a local scraper, or anything else on the host, can do to it.
#include "node/http_endpoint.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node_parts_support.h"
#include "node_support.h"

namespace sevex::node {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class HttpEndpointTest : public ::testing::Test {
 protected:
  HttpEndpointTest() {
    auto e = HttpEndpoint::Start(*io_, "127.0.0.1", 0, [](const HttpRequest& r, HttpRespond respond) {
      respond({200, "text/plain; charset=utf-8", absl::StrCat(r.method, " ", r.target, "\n")});
    });
    EXPECT_TRUE(e.ok()) << e.status();
    if (e.ok()) endpoint_ = *e;
  }
  ~HttpEndpointTest() override {
    if (endpoint_ != nullptr) endpoint_->Stop();
    idle_.clear();
    io_.Stop();
  }
  std::string Address() const { return absl::StrCat("127.0.0.1:", endpoint_->port()); }

  // `n` connections that send nothing, held open by the test.
  void HoldIdle(int n) {
    for (int i = 0; i < n; ++i) {
      auto s = std::make_unique<tcp::socket>(client_io_);
      s->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), endpoint_->port()));
      idle_.push_back(std::move(s));
    }
  }

  sevex::testing::Io io_;
  std::shared_ptr<HttpEndpoint> endpoint_;
  asio::io_context client_io_;
  std::vector<std::unique_ptr<tcp::socket>> idle_;
};

TEST_F(HttpEndpointTest, AnswersARequest) {
  const auto r = sevex::testing::HttpGet(Address(), "/healthz");
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_EQ(r.body, "GET /healthz\n");
}

// Issue 22: 40 idle connections held every slot (32, 10 s each), and /healthz failed every time,
// so monitoring reported the node down. A new request now takes the place of the connection that
// has waited longest.
TEST_F(HttpEndpointTest, HealthzAnswersWhileFortyIdleConnectionsHoldThePort) {
  HoldIdle(40);
  for (int i = 0; i < 5; ++i) {
    const auto r = sevex::testing::HttpGet(Address(), "/healthz");
    EXPECT_EQ(r.status, 200u) << "request " << i << ": " << r.error;
  }
}

TEST_F(HttpEndpointTest, OversizedAndMalformedRequestsGetA400AndTheListenerGoesOn) {
  for (const std::string& request :
       {absl::StrCat("GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(16 * 1024, 'a'), "\r\n\r\n"),
        std::string("NOT HTTP AT ALL\r\n\r\n"),
        absl::StrCat("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n",
                     std::string(8192, 'b'))}) {
    tcp::socket s(client_io_);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), endpoint_->port()));
    boost::system::error_code ec;
    asio::write(s, asio::buffer(request), ec);
    std::string reply;
    std::array<char, 4096> buf;
    for (;;) {
      const size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) break;
      reply.append(buf.data(), n);
    }
    EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 400")) << request.substr(0, 40);
  }
  EXPECT_EQ(sevex::testing::HttpGet(Address(), "/healthz").status, 200u);
}

// A connection that never completes its request is closed within the request timeout (5 s).
TEST_F(HttpEndpointTest, AConnectionThatSendsNothingIsClosedWithinSeconds) {
  HoldIdle(1);
  const auto start = std::chrono::steady_clock::now();
  std::array<char, 16> buf;
  boost::system::error_code ec;
  asio::write(*idle_[0], asio::buffer(std::string("GET / HT")), ec);
  idle_[0]->read_some(asio::buffer(buf), ec);  // blocks until the endpoint closes it
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

}  // namespace
}  // namespace sevex::node
