#include "transport/listener.h"

#include <chrono>

#include "transport/asio_error.h"
#include "transport/event_log.h"

namespace sevex::transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::shared_ptr<Listener> Listener::Create(asio::io_context& io, tcp::endpoint endpoint, NodeTls& tls,
                                           const SessionOptions& options, SessionHandler* handler) {
  return std::shared_ptr<Listener>(new Listener(io, endpoint, tls, options, handler));
}

Listener::Listener(asio::io_context& io, tcp::endpoint endpoint, NodeTls& tls, const SessionOptions& options,
                   SessionHandler* handler)
    : io_(io),
      requested_(endpoint),
      acceptor_(io),
      tls_(tls),
      options_(options),
      handler_(handler),
      pause_(io) {}

absl::Status Listener::Start() {
  boost::system::error_code ec;
  acceptor_.open(requested_.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(requested_, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return AsioError("listening on " + requested_.address().to_string() + ":" + std::to_string(requested_.port()), ec);
  Accept();
  return absl::OkStatus();
}

void Listener::Stop() {
  asio::post(io_, [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

void Listener::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                             tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) {
      // Out of descriptors (EMFILE, ENFILE) and the like: the next attempt may succeed, but
      // not at once; retrying at once spun a core. Pause, logged once per episode.
      if (!self->accept_failing_) {
        self->accept_failing_ = true;
        LogEvent(LogLevel::kWarning, "accept_failed",
                 {{"address", self->requested_.address().to_string()}, {"reason", ec.message()}});
      }
      self->pause_.expires_after(std::chrono::milliseconds(200));
      self->pause_.async_wait([self](const boost::system::error_code& e) {
        if (!e && self->acceptor_.is_open()) self->Accept();
      });
      return;
    }
    if (self->accept_failing_) {
      self->accept_failing_ = false;
      LogEvent(LogLevel::kInfo, "accept_resumed", {{"address", self->requested_.address().to_string()}});
    }
    PeerSession::Create(std::move(socket), self->tls_, self->options_, self->handler_,
                        PeerSession::Role::kServer, std::nullopt)
        ->Start();
    self->Accept();
  });
}

}  // namespace sevex::transport
