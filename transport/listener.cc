#include "transport/listener.h"

#include "transport/asio_error.h"

namespace sevex::transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::shared_ptr<Listener> Listener::Create(asio::io_context& io, tcp::endpoint endpoint, NodeTls& tls,
                                           const SessionOptions& options, SessionHandler* handler) {
  return std::shared_ptr<Listener>(new Listener(io, endpoint, tls, options, handler));
}

Listener::Listener(asio::io_context& io, tcp::endpoint endpoint, NodeTls& tls, const SessionOptions& options,
                   SessionHandler* handler)
    : io_(io), requested_(endpoint), acceptor_(io), tls_(tls), options_(options), handler_(handler) {}

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
    if (!ec) {
      PeerSession::Create(std::move(socket), self->tls_, self->options_, self->handler_, PeerSession::Role::kServer,
                          std::nullopt)
          ->Start();
    }
    // Out of descriptors and similar errors: keep accepting; the next attempt may succeed.
    self->Accept();
  });
}

}  // namespace sevex::transport
