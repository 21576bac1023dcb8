#include "node/http_endpoint.h"

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/steady_timer.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "transport/event_log.h"

namespace sevex::node {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kHeaderLimit = 8 * 1024;
constexpr size_t kBodyLimit = 4 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr int kMaxConnections = 32;
constexpr auto kAcceptPause = std::chrono::milliseconds(200);

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
    waiting_since_ms_ = NowMs();
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  // Since when it has waited for a request (0: it is answering one, or it is being closed).
  int64_t waiting_since_ms() const { return waiting_since_ms_.load(); }
  // Makes room for a newer connection: closed, on its own strand, if it still waits. Once.
  bool Evict() {
    int64_t since = waiting_since_ms_.load();
    if (since == 0 || !waiting_since_ms_.compare_exchange_strong(since, 0)) return false;
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
    });
    return true;
  }

 private:
  void OnRead(beast::error_code ec) {
    waiting_since_ms_ = 0;
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
  std::atomic<int64_t> waiting_since_ms_{0};
};

class EndpointImpl final : public HttpEndpoint, public std::enable_shared_from_this<EndpointImpl> {
 public:
  EndpointImpl(asio::io_context& io, HttpHandler handler)
      : io_(io),
        acceptor_(asio::make_strand(io)),
        pause_(acceptor_.get_executor()),
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

  // At the limit, a new connection takes the place of the one that has waited longest for a
  // request: idle connections cannot keep a scraper or /healthz out. Only when every slot is
  // answering a request is the new one closed. An accept that fails (no descriptor left:
  // EMFILE, ENFILE) pauses the loop, logged once per episode, instead of spinning.
  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](boost::system::error_code ec,
                                                                                 tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (ec) return self->PauseAccepting(ec);
      if (self->failing_) {
        self->failing_ = false;
        transport::LogEvent(transport::LogLevel::kInfo, "metrics_accept_resumed", {});
      }
      if (self->connections_->fetch_add(1) >= kMaxConnections && !self->EvictOldestIdle()) {
        self->connections_->fetch_sub(1);
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        auto c = std::make_shared<Connection>(std::move(socket), self->handler_, self->connections_);
        c->Read();
        self->open_.push_back(c);
      }
      self->Accept();
    });
  }

  // On the acceptor's strand.
  bool EvictOldestIdle() {
    std::shared_ptr<Connection> oldest;
    for (auto it = open_.begin(); it != open_.end();) {
      std::shared_ptr<Connection> c = it->lock();
      if (c == nullptr) {
        it = open_.erase(it);
        continue;
      }
      const int64_t since = c->waiting_since_ms();
      if (since != 0 && (oldest == nullptr || since < oldest->waiting_since_ms())) oldest = c;
      ++it;
    }
    return oldest != nullptr && oldest->Evict();
  }

  void PauseAccepting(const boost::system::error_code& ec) {
    if (!failing_) {
      failing_ = true;
      transport::LogEvent(transport::LogLevel::kWarning, "metrics_accept_failed",
                          {{"reason", ec.message()}, {"pause_ms", std::to_string(kAcceptPause.count())}});
    }
    pause_.expires_after(kAcceptPause);
    pause_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
      if (!e) self->Accept();
    });
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ignored;
      self->acceptor_.close(ignored);
      self->pause_.cancel();
    });
  }

 private:
  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer pause_;
  bool failing_ = false;                       // on the acceptor's strand
  std::list<std::weak_ptr<Connection>> open_;  // on the acceptor's strand
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
