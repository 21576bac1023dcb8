// api_server.h — the node's local API on a Unix-domain socket (docs/node.md §7): accepts
// connections, reads length-prefixed ApiRequests (api_codec.h), hands each to the handler and
// writes its one answer back, then reads the next request on the same connection.
//
//   ApiServer api(io, "/run/sevex/cl.sock", [&](const v1::ApiRequest& r, ApiReply reply) { … });
//   RETURN_IF_ERROR(api.Start());
//   …
//   api.Close();          // no new connections
//   api.RemoveSocket();   // once `io` has stopped
//
// The socket is created mode 0600 (this user only). A stale socket file is replaced; one that a
// running process still answers on is left alone and Start fails, naming it.
//
// Threading: Start before `io` runs; Close from any thread; the handler runs on one of `io`'s
// threads and must answer through `reply` exactly once, from any thread.
#ifndef SEVEX_NODE_API_SERVER_H_
#define SEVEX_NODE_API_SERVER_H_

#include <boost/asio.hpp>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "sevex/v1/node.pb.h"

namespace sevex::node {

using ApiReply = std::function<void(v1::ApiResponse)>;

class ApiServer {
 public:
  using Handler = std::function<void(const v1::ApiRequest&, ApiReply)>;
  ApiServer(boost::asio::io_context& io, std::string socket_path, Handler handler);
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and listens (FailedPrecondition when another node serves the socket, Unavailable when
  // it cannot bind), then accepts as `io` runs.
  absl::Status Start();
  void Close();
  // Removes the socket file, only if this server bound it.
  void RemoveSocket();

 private:
  using Socket = boost::asio::local::stream_protocol::socket;
  void Accept();
  void Serve(std::shared_ptr<Socket> socket);

  boost::asio::io_context& io_;
  std::string path_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  boost::asio::steady_timer pause_;  // after a failed accept (EMFILE), before the next
  bool accept_failing_ = false;
  bool bound_ = false;
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_API_SERVER_H_
