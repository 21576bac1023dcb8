// listener.h — accepts peer connections and starts a server-side session for each.
//
// Each connection gets its own strand; a connection that fails (handshake, identity, protocol)
// ends alone, logged through its handler, while the listener keeps accepting.
//
//   auto listener = Listener::Create(io, endpoint, tls, options, &handler);
//   RETURN_IF_ERROR(listener->Start());
#ifndef SEVEX_TRANSPORT_LISTENER_H_
#define SEVEX_TRANSPORT_LISTENER_H_

#include <boost/asio.hpp>
#include <memory>

#include "absl/status/status.h"
#include "transport/session.h"
#include "transport/tls.h"

namespace sevex::transport {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  static std::shared_ptr<Listener> Create(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint endpoint,
                                          NodeTls& tls, const SessionOptions& options, SessionHandler* handler);
  // Binds and listens; then accepts until Stop().
  absl::Status Start();
  void Stop();
  // The bound endpoint (port 0 in the request gives a free port).
  boost::asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  Listener(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint endpoint, NodeTls& tls,
           const SessionOptions& options, SessionHandler* handler);
  void Accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint requested_;
  boost::asio::ip::tcp::acceptor acceptor_;
  NodeTls& tls_;
  SessionOptions options_;
  SessionHandler* handler_;
  boost::asio::steady_timer pause_;  // after a failed accept (EMFILE), before the next
  bool accept_failing_ = false;
};

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_LISTENER_H_
