#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "node/api.h"

#include "node/api_codec.h"

namespace sevex::node {

namespace {

// The time left before `deadline` as poll(2)'s timeout: -1 (none) for an infinite deadline.
int PollMillis(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(deadline - absl::Now(), absl::Milliseconds(1)));
  return static_cast<int>(std::clamp<int64_t>(ms, 0, std::numeric_limits<int>::max()));
}

// Waits until `fd` is ready for `events` or the deadline passes.
absl::Status Await(int fd, short events, absl::Time deadline, absl::Duration timeout) {
  pollfd p{fd, events, 0};
  while (true) {
    const int n = ::poll(&p, 1, PollMillis(deadline));
    if (n > 0) return absl::OkStatus();
    if (n == 0) {
      return absl::DeadlineExceededError(absl::StrCat("the node did not answer within ", absl::FormatDuration(timeout)));
    }
    if (errno != EINTR) return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
  }
}

absl::Status WriteAll(int fd, const char* data, size_t size, absl::Time deadline, absl::Duration timeout) {
  while (size > 0) {
    if (absl::Status s = Await(fd, POLLOUT, deadline, timeout); !s.ok()) return s;
    const ssize_t n = ::send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n <= 0) return absl::UnavailableError(absl::StrCat("writing to the node: ", std::strerror(errno)));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, char* data, size_t size, absl::Time deadline, absl::Duration timeout) {
  while (size > 0) {
    if (absl::Status s = Await(fd, POLLIN, deadline, timeout); !s.ok()) return s;
    const ssize_t n = ::recv(fd, data, size, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("reading from the node: ", std::strerror(errno)));
    if (n == 0) return absl::UnavailableError("the node closed the connection before answering");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ApiResponse> CallApi(const std::string& socket_path, const v1::ApiRequest& request,
                                        absl::Duration timeout) {
  const absl::Time deadline = timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : absl::Now() + timeout;
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("socket path '", socket_path, "' is too long"));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // A node that has stopped taking connections fills its listen backlog: connect(2) on a Unix
  // socket then blocks, for at most the send timeout.
  if (timeout != absl::InfiniteDuration()) {
    const timeval tv = absl::ToTimeval(std::max(timeout, absl::Milliseconds(1)));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == EAGAIN || errno == EINPROGRESS) {
      return absl::DeadlineExceededError(absl::StrCat("the node at ", socket_path, " did not take the connection within ",
                                                      absl::FormatDuration(timeout)));
    }
    return absl::UnavailableError(absl::StrCat("cannot reach the node at ", socket_path, ": ", std::strerror(errno),
                                               " (is `sevex node` running with this api_socket?)"));
  }
  if (const size_t body = request.ByteSizeLong(); body > kMaxApiMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request of ", body, " bytes exceeds ", kMaxApiMessageBytes));
  }
  const std::string framed = EncodeApiMessage(request);
  if (absl::Status s = WriteAll(fd, framed.data(), framed.size(), deadline, timeout); !s.ok()) return s;
  unsigned char len[kApiHeaderBytes];
  if (absl::Status s = ReadAll(fd, reinterpret_cast<char*>(len), kApiHeaderBytes, deadline, timeout); !s.ok()) {
    return s;
  }
  const uint32_t size = DecodeApiLength(len);
  if (size > kMaxApiMessageBytes) return absl::DataLossError(absl::StrCat("the node answered with ", size, " bytes"));
  std::string reply(size, '\0');
  if (absl::Status s = ReadAll(fd, reply.data(), size, deadline, timeout); !s.ok()) return s;
  v1::ApiResponse response;
  if (!response.ParseFromString(reply)) return absl::DataLossError("the node's answer does not parse");
  if (absl::Status s = StatusOf(response); !s.ok()) return s;
  return response;
}

}  // namespace sevex::node
