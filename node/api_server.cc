#include "node/api_server.h"

#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "node/api.h"
#include "node/api_codec.h"
#include "transport/event_log.h"

namespace sevex::node {

namespace asio = boost::asio;

ApiServer::ApiServer(asio::io_context& io, std::string socket_path, Handler handler)
    : io_(io), path_(std::move(socket_path)), handler_(std::move(handler)), acceptor_(io), pause_(io) {}

absl::Status ApiServer::Start() {
  std::error_code ec;
  if (std::filesystem::is_socket(path_, ec)) {
    // A process that takes the connection and does not answer (a stopped node) still owns it.
    v1::ApiRequest status;
    status.mutable_status();
    auto other = CallApi(path_, status, absl::Seconds(5));
    if (other.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("api_socket: another node is already serving ", path_));
    }
    if (absl::IsDeadlineExceeded(other.status())) {
      return absl::FailedPreconditionError(absl::StrCat("api_socket: a process listens on ", path_,
                                                        " but does not answer (", other.status().message(),
                                                        "); stop it, or remove the socket if it is no node"));
    }
    std::filesystem::remove(path_, ec);
  }
  boost::system::error_code bec;
  const mode_t old_mask = ::umask(0177);
  acceptor_.open(asio::local::stream_protocol(), bec);
  if (!bec) acceptor_.bind(asio::local::stream_protocol::endpoint(path_), bec);
  ::umask(old_mask);
  if (!bec) acceptor_.listen(asio::socket_base::max_listen_connections, bec);
  if (bec)
    return absl::UnavailableError(absl::StrCat("api_socket: cannot listen on ", path_, ": ", bec.message()));
  bound_ = true;
  Accept();
  return absl::OkStatus();
}

void ApiServer::Close() {
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    pause_.cancel();
  });
}

void ApiServer::RemoveSocket() {
  if (!bound_) return;
  bound_ = false;
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

void ApiServer::Accept() {
  acceptor_.async_accept([this](const boost::system::error_code& ec, Socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;  // the node is stopping
    if (ec) {
      // Out of descriptors (EMFILE, ENFILE): the listener pauses and tries again, logged once,
      // rather than spin or stop accepting for good.
      if (!accept_failing_) {
        accept_failing_ = true;
        transport::LogEvent(transport::LogLevel::kWarning, "api_accept_failed",
                            {{"socket", path_}, {"reason", ec.message()}});
      }
      pause_.expires_after(std::chrono::milliseconds(200));
      pause_.async_wait([this](const boost::system::error_code& e) {
        if (!e && acceptor_.is_open()) Accept();
      });
      return;
    }
    if (accept_failing_) {
      accept_failing_ = false;
      transport::LogEvent(transport::LogLevel::kInfo, "api_accept_resumed", {{"socket", path_}});
    }
    Serve(std::make_shared<Socket>(std::move(socket)));
    Accept();
  });
}

void ApiServer::Serve(std::shared_ptr<Socket> socket) {
  auto header = std::make_shared<std::array<unsigned char, kApiHeaderBytes>>();
  asio::async_read(
      *socket, asio::buffer(*header), [this, socket, header](const boost::system::error_code& ec, size_t) {
        if (ec) return;
        const uint32_t size = DecodeApiLength(header->data());
        if (size > kMaxApiMessageBytes) return;  // closing the socket tells the client
        auto body = std::make_shared<std::string>(size, '\0');
        asio::async_read(
            *socket, asio::buffer(*body), [this, socket, body](const boost::system::error_code& ec, size_t) {
              if (ec) return;
              ApiReply reply = [this, socket](v1::ApiResponse response) {
                auto out = std::make_shared<std::string>(EncodeApiMessage(response));
                asio::async_write(*socket, asio::buffer(*out),
                                  [this, socket, out](const boost::system::error_code& ec, size_t) {
                                    if (!ec) Serve(socket);
                                  });
              };
              v1::ApiRequest request;
              if (!request.ParseFromString(*body)) {
                return reply(
                    ErrorResponse(absl::InvalidArgumentError("the request does not parse as an ApiRequest")));
              }
              handler_(request, std::move(reply));
            });
      });
}

}  // namespace sevex::node
