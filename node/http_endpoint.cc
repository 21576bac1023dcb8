#include "node/http_endpoint.h"

#include <atomic>
#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace sevex::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kHeaderLimit = 8 * 1024;
constexpr size_t kBodyLimit = 4 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr int kMaxConnections = 32;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<const HttpHandler> handler, std::shared_ptr<std::atomic<int>> count)
      : stream_(std::move(socket)), handler_(std::move(handler)), count_(std::move(count)) {}
  ~Connection() { count_->fetch_sub(1); }

  void Read() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return Close();
    if (ec) {
      // A malformed or oversized request gets a 400 when the socket still works; a timeout or
      // reset just ends the connection.
      if (ec == beast::error::timeout || ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        return;
      }
      keep_alive_ = false;
      return Write({400, "text/plain; charset=utf-8", absl::StrCat("bad request: ", ec.message(), "\n")}, 11);
    }
    http::request<http::string_body> request = parser_->release();
    keep_alive_ = request.keep_alive();
    const unsigned version = request.version();
    HttpRequest r{std::string(request.method_string()), std::string(request.target())};
    // The handler may answer from another thread: the write goes back through the stream's strand.
    (*handler_)(r, [self = shared_from_this(), version](HttpResponse response) {
      asio::post(self->stream_.get_executor(),
                 [self, version, response = std::move(response)]() mutable { self->Write(std::move(response), version); });
    });
  }

  void Write(HttpResponse response, unsigned version) {
    auto message = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status), version);
    message->set(http::field::server, "sevex");
    message->set(http::field::content_type, response.content_type);
    message->set(http::field::cache_control, "no-store");
    message->keep_alive(keep_alive_);
    message->body() = std::move(response.body);
    message->prepare_payload();
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, *message, [self = shared_from_this(), message](beast::error_code ec, size_t) {
      if (ec) return;
      if (!self->keep_alive_) return self->Close();
      self->Read();
    });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<std::atomic<int>> count_;
  bool keep_alive_ = false;
};

class EndpointImpl final : public HttpEndpoint, public std::enable_shared_from_this<EndpointImpl> {
 public:
  EndpointImpl(asio::io_context& io, HttpHandler handler)
      : io_(io),
        acceptor_(asio::make_strand(io)),
        handler_(std::make_shared<const HttpHandler>(std::move(handler))),
        connections_(std::make_shared<std::atomic<int>>(0)) {}

  absl::Status Listen(const std::string& host, uint16_t port) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("'", host, "' is not an IP address"));
    const tcp::endpoint endpoint(address, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return absl::UnavailableError(absl::StrCat("cannot listen on ", host, ":", port, ": ", ec.message()));
    port_ = acceptor_.local_endpoint().port();
    return absl::OkStatus();
  }

  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                 tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!ec) {
        if (self->connections_->fetch_add(1) >= kMaxConnections) {
          self->connections_->fetch_sub(1);
          boost::system::error_code ignored;
          socket.close(ignored);
        } else {
          std::make_shared<Connection>(std::move(socket), self->handler_, self->connections_)->Read();
        }
      }
      self->Accept();
    });
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
    });
  }

 private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<std::atomic<int>> connections_;
  uint16_t port_ = 0;
};

}  // namespace

absl::StatusOr<std::shared_ptr<HttpEndpoint>> HttpEndpoint::Start(asio::io_context& io, const std::string& host,
                                                                  uint16_t port, HttpHandler handler) {
  auto endpoint = std::make_shared<EndpointImpl>(io, std::move(handler));
  if (absl::Status s = endpoint->Listen(host, port); !s.ok()) return s;
  endpoint->Accept();
  return endpoint;
}

}  // namespace sevex::node
