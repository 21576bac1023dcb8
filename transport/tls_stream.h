// tls_stream.h — TLS on a TCP socket, driven by readiness: OpenSSL reads and writes the
// socket itself (SSL_set_fd, read-ahead on) and Asio only says when it is readable or
// writable.
//
// Why not asio::ssl::stream: it keeps two 17 KiB buffers of its own, zero-filled, and a
// 2 × 17 KiB BIO pair per connection, some 68 KiB an idle session never uses. Here an idle
// session holds only OpenSSL's state: with SSL_MODE_RELEASE_BUFFERS its record buffers are
// freed whenever they are empty.
//
// Operations follow Asio's rules: one read and one write may be outstanding at a time (a
// handshake counts as both); handlers run on the socket's executor (a session's strand),
// never inside the call that starts the operation; closing the socket completes what is
// pending with operation_aborted. Errors are Asio's: eof for a close_notify,
// ssl::error::stream_truncated for a peer gone without one, the OpenSSL error otherwise.
//
//   TlsStream stream(std::move(socket), tls.server_context().native_handle());
//   stream.AsyncHandshake(TlsStream::kServer, [&](const error_code& ec) { … });
//   stream.AsyncReadSome(asio::buffer(buf), [&](const error_code& ec, size_t n) { … });
#ifndef SEVEX_TRANSPORT_TLS_STREAM_H_
#define SEVEX_TRANSPORT_TLS_STREAM_H_

#include <openssl/ssl.h>

#include <boost/asio.hpp>
#include <cstddef>

#include "absl/functional/any_invocable.h"

namespace sevex::transport {

class TlsStream {
 public:
  enum Side { kServer, kClient };
  using HandshakeHandler = absl::AnyInvocable<void(const boost::system::error_code&)>;
  using IoHandler = absl::AnyInvocable<void(const boost::system::error_code&, size_t)>;

  // `socket` is connected; the stream takes it and a new SSL object of `context`.
  TlsStream(boost::asio::ip::tcp::socket socket, SSL_CTX* context);
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  ~TlsStream();

  // Null only when OpenSSL could not allocate one; the handshake then fails.
  SSL* native_handle() { return ssl_; }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  boost::asio::any_io_executor get_executor() { return socket_.get_executor(); }

  void AsyncHandshake(Side side, HandshakeHandler handler);
  // Reads what is ready, at least one byte, up to the buffer's size.
  void AsyncReadSome(boost::asio::mutable_buffer buffer, IoHandler handler);
  // Writes all of `buffer`, which must stay valid until the handler runs.
  void AsyncWrite(boost::asio::const_buffer buffer, IoHandler handler);

 private:
  // One SSL call's outcome: done, wait for the socket (in `wait`), or failed (in `ec`).
  enum class Step { kDone, kWait, kFailed };
  Step Classify(int ret, boost::asio::socket_base::wait_type* wait, boost::system::error_code* ec);

  // Each carries its handler: pending operations are the handler's only owner, so an
  // io_context destroyed with work pending destroys them (and whatever they keep alive).
  void ContinueHandshake(HandshakeHandler handler, bool started_here);
  void ContinueRead(IoHandler handler, bool started_here);
  void ContinueWrite(IoHandler handler, bool started_here);

  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_;
  boost::asio::mutable_buffer read_buffer_;
  boost::asio::const_buffer write_buffer_;
  size_t written_ = 0;
};

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_TLS_STREAM_H_
