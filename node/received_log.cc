#include "node/received_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "node/stix_export.h"
#include "transport/event_log.h"

namespace sevex::node {

using transport::LogEvent;
using transport::LogLevel;

absl::StatusOr<std::unique_ptr<ReceivedLog>> ReceivedLog::Open(const std::string& path, std::string node_id,
                                                               std::string scheme) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("received_jsonl: cannot open ", path, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<ReceivedLog>(new ReceivedLog(path, fd, std::move(node_id), std::move(scheme)));
}

absl::Status ReceivedLog::Check(const std::string& path) {
  const bool exists = ::access(path.c_str(), F_OK) == 0;
  const std::string target = exists ? path : std::filesystem::path(path).parent_path().string();
  if (::access(target.empty() ? "." : target.c_str(), exists ? W_OK : W_OK | X_OK) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "received_jsonl: cannot ", exists ? "append to " : "create ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

ReceivedLog::~ReceivedLog() { ::close(fd_); }

void ReceivedLog::Append(const v1::InboxEntry& entry) {
  auto lines = JsonLines({entry}, {node_id_, scheme_});
  std::string line;
  if (lines.ok() && lines->size() == 1) line = (*lines)[0].Write() + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status failure;
  if (!lines.ok()) {
    failure = lines.status();
  } else {
    for (size_t done = 0; done < line.size();) {
      const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failure = absl::UnavailableError(std::strerror(errno));
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  if (!failure.ok() && !failed_) {
    failed_ = true;  // once: a full disk would otherwise log every notice
    LogEvent(
        LogLevel::kError, "received_jsonl_failed",
        {{"file", path_}, {"notice_id", entry.notice().id()}, {"reason", std::string(failure.message())}});
  } else if (failure.ok()) {
    failed_ = false;
  }
}

}  // namespace sevex::node
