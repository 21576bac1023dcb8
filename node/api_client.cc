#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "node/api.h"

namespace sevex::node {

namespace {

absl::Status WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(absl::StrCat("writing to the node: ", std::strerror(errno)));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ReadAll(int fd, char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("reading from the node: ", std::strerror(errno)));
    if (n == 0) return absl::UnavailableError("the node closed the connection before answering");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::ApiResponse> CallApi(const std::string& socket_path, const v1::ApiRequest& request) {
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
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot reach the node at ", socket_path, ": ", std::strerror(errno),
                                               " (is `sevex node` running with this api_socket?)"));
  }
  std::string body = request.SerializeAsString();
  if (body.size() > kMaxApiMessageBytes) {
    return absl::InvalidArgumentError(absl::StrCat("request of ", body.size(), " bytes exceeds ", kMaxApiMessageBytes));
  }
  const uint32_t n = static_cast<uint32_t>(body.size());
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                          static_cast<char>(n)};
  if (absl::Status s = WriteAll(fd, header, 4); !s.ok()) return s;
  if (absl::Status s = WriteAll(fd, body.data(), body.size()); !s.ok()) return s;
  unsigned char len[4];
  if (absl::Status s = ReadAll(fd, reinterpret_cast<char*>(len), 4); !s.ok()) return s;
  const uint32_t size = uint32_t{len[0]} << 24 | uint32_t{len[1]} << 16 | uint32_t{len[2]} << 8 | len[3];
  if (size > kMaxApiMessageBytes) return absl::DataLossError(absl::StrCat("the node answered with ", size, " bytes"));
  std::string reply(size, '\0');
  if (absl::Status s = ReadAll(fd, reply.data(), size); !s.ok()) return s;
  v1::ApiResponse response;
  if (!response.ParseFromString(reply)) return absl::DataLossError("the node's answer does not parse");
  if (!response.error().empty()) {
    return absl::Status(static_cast<absl::StatusCode>(response.error_code() == 0 ? 2 : response.error_code()),
                        response.error());
  }
  return response;
}

}  // namespace sevex::node
