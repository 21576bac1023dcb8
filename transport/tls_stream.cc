#include "transport/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <utility>

namespace sevex::transport {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Runs `handler` with `args`: later on the stream's executor when the operation finished in
// the call that started it (Asio's rule: a handler never runs inside its initiating
// function), or now when this is already a completion on that executor.
template <typename Handler, typename... Args>
void Complete(const asio::any_io_executor& executor, bool started_here, Handler handler, Args... args) {
  if (started_here) {
    asio::post(executor, [handler = std::move(handler), args...]() mutable { handler(args...); });
  } else {
    handler(args...);
  }
}

// OpenSSL's socket BIO, less what a server cannot have: its send() raises SIGPIPE when the
// peer has gone. This one sends with MSG_NOSIGNAL (as Asio does) and is otherwise the same:
// non-blocking reads and writes of the descriptor, which the BIO does not own.
int SocketWrite(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(BIO_get_fd(bio, nullptr), data, static_cast<size_t>(size), MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int SocketRead(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::recv(BIO_get_fd(bio, nullptr), data, static_cast<size_t>(size), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(bio);
  if (n == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
  return static_cast<int>(n);
}

long SocketControl(BIO* bio, int command, long /*number*/, void* pointer) {
  switch (command) {
    case BIO_C_SET_FD:
      BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(*static_cast<int*>(pointer))));
      BIO_set_init(bio, 1);
      return 1;
    case BIO_C_GET_FD:
      if (BIO_get_init(bio) != 1) return -1;
      if (pointer != nullptr)
        *static_cast<int*>(pointer) = static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
      return static_cast<long>(reinterpret_cast<intptr_t>(BIO_get_data(bio)));
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default:
      return 0;
  }
}

const BIO_METHOD* NoSignalSocket() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "sevex socket");
    if (m == nullptr || BIO_meth_set_write(m, &SocketWrite) != 1 || BIO_meth_set_read(m, &SocketRead) != 1 ||
        BIO_meth_set_ctrl(m, &SocketControl) != 1) {
      BIO_meth_free(m);
      return static_cast<BIO_METHOD*>(nullptr);
    }
    return m;
  }();
  return method;
}

// A BIO on `fd` for both directions of `ssl`, or false.
bool AttachSocket(SSL* ssl, int fd) {
  const BIO_METHOD* method = NoSignalSocket();
  BIO* bio = method == nullptr ? nullptr : BIO_new(method);
  if (bio == nullptr) return false;
  BIO_set_fd(bio, fd, BIO_NOCLOSE);
  SSL_set_bio(ssl, bio, bio);  // takes our one reference, for both directions
  return true;
}

}  // namespace

TlsStream::TlsStream(asio::ip::tcp::socket socket, SSL_CTX* context)
    : socket_(std::move(socket)), ssl_(SSL_new(context)) {
  if (ssl_ == nullptr) return;
  // Partial writes let AsyncWrite count progress record by record; released buffers are what
  // keeps an idle session small; read-ahead takes whole records (and more) in one recv.
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl_, 1);
  error_code ec;
  socket_.non_blocking(true, ec);
  if (ec || !AttachSocket(ssl_, socket_.native_handle())) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

TlsStream::Step TlsStream::Classify(int ret, asio::socket_base::wait_type* wait, error_code* ec) {
  const int sys = errno;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_NONE:
      return Step::kDone;
    case SSL_ERROR_WANT_READ:
      *wait = asio::socket_base::wait_read;
      return Step::kWait;
    case SSL_ERROR_WANT_WRITE:
      *wait = asio::socket_base::wait_write;
      return Step::kWait;
    case SSL_ERROR_ZERO_RETURN:
      *ec = asio::error::eof;
      return Step::kFailed;
    case SSL_ERROR_SYSCALL: {
      const unsigned long e = ERR_get_error();
      if (e != 0) {
        *ec = error_code(static_cast<int>(e), asio::error::get_ssl_category());
      } else if (sys != 0) {
        *ec = error_code(sys, boost::system::system_category());
      } else {
        *ec = asio::ssl::error::stream_truncated;
      }
      return Step::kFailed;
    }
    default: {
      const unsigned long e = ERR_get_error();
      *ec = ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING
                ? error_code(asio::ssl::error::stream_truncated)
                : error_code(static_cast<int>(e), asio::error::get_ssl_category());
      return Step::kFailed;
    }
  }
}

void TlsStream::AsyncHandshake(Side side, HandshakeHandler handler) {
  if (ssl_ == nullptr) {
    Complete(get_executor(), true, std::move(handler), error_code(asio::error::no_memory));
    return;
  }
  if (side == kServer) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
  ContinueHandshake(std::move(handler), true);
}

void TlsStream::ContinueHandshake(HandshakeHandler handler, bool started_here) {
  ERR_clear_error();
  errno = 0;
  const int ret = SSL_do_handshake(ssl_);
  asio::socket_base::wait_type wait{};
  error_code ec;
  const Step step = ret == 1 ? Step::kDone : Classify(ret, &wait, &ec);
  if (step != Step::kWait) {
    Complete(get_executor(), started_here, std::move(handler), ec);
    return;
  }
  socket_.async_wait(wait, [this, handler = std::move(handler)](const error_code& ec) mutable {
    if (ec) {
      handler(ec);
      return;
    }
    ContinueHandshake(std::move(handler), false);
  });
}

void TlsStream::AsyncReadSome(asio::mutable_buffer buffer, IoHandler handler) {
  read_buffer_ = buffer;
  ContinueRead(std::move(handler), true);
}

void TlsStream::ContinueRead(IoHandler handler, bool started_here) {
  auto* data = static_cast<unsigned char*>(read_buffer_.data());
  size_t total = 0;
  asio::socket_base::wait_type wait{};
  error_code ec;
  Step step = Step::kDone;
  // Every whole record OpenSSL already holds, as far as the buffer goes; no recv beyond that.
  while (total < read_buffer_.size()) {
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_read_ex(ssl_, data + total, read_buffer_.size() - total, &n);
    step = ret == 1 ? Step::kDone : Classify(ret, &wait, &ec);
    if (step != Step::kDone) break;
    total += n;
    if (SSL_has_pending(ssl_) != 1) break;
  }
  // Data first; a failure after it (the peer's close) is sticky and ends the next read.
  if (total > 0 || read_buffer_.size() == 0) {
    Complete(get_executor(), started_here, std::move(handler), error_code(), total);
    return;
  }
  if (step == Step::kFailed) {
    Complete(get_executor(), started_here, std::move(handler), ec, size_t{0});
    return;
  }
  socket_.async_wait(wait, [this, handler = std::move(handler)](const error_code& ec) mutable {
    if (ec) {
      handler(ec, 0);
      return;
    }
    ContinueRead(std::move(handler), false);
  });
}

void TlsStream::AsyncWrite(asio::const_buffer buffer, IoHandler handler) {
  write_buffer_ = buffer;
  written_ = 0;
  ContinueWrite(std::move(handler), true);
}

void TlsStream::ContinueWrite(IoHandler handler, bool started_here) {
  const auto* data = static_cast<const unsigned char*>(write_buffer_.data());
  while (written_ < write_buffer_.size()) {
    size_t n = 0;
    ERR_clear_error();
    errno = 0;
    // After a wait, the same bytes are offered again, as OpenSSL requires.
    const int ret = SSL_write_ex(ssl_, data + written_, write_buffer_.size() - written_, &n);
    if (ret == 1) {
      written_ += n;
      continue;
    }
    asio::socket_base::wait_type wait{};
    error_code ec;
    if (Classify(ret, &wait, &ec) == Step::kFailed) {
      Complete(get_executor(), started_here, std::move(handler), ec, written_);
      return;
    }
    socket_.async_wait(wait, [this, handler = std::move(handler)](const error_code& ec) mutable {
      if (ec) {
        handler(ec, written_);
        return;
      }
      ContinueWrite(std::move(handler), false);
    });
    return;
  }
  Complete(get_executor(), started_here, std::move(handler), error_code(), written_);
}

}  // namespace sevex::transport
