#include "transport/event_log.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/json_writer.h"
#include "google/protobuf/stubs/logging.h"

namespace sevex::transport {
namespace {

std::mutex& Mutex() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

std::function<void(absl::string_view)>& Sink() {
  static auto* sink = new std::function<void(absl::string_view)>;
  return *sink;
}

std::atomic<LogFormat> g_format{LogFormat::kJson};

// A value for the text format: bare when it is one plain word, otherwise quoted as JSON is.
std::string TextValue(absl::string_view value) {
  const bool plain = !value.empty() && std::all_of(value.begin(), value.end(), [](unsigned char c) {
    return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
  });
  return plain ? std::string(value) : base::JsonString(value);
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    default: return "error";
  }
}

}  // namespace

void LogEvent(LogLevel level, absl::string_view event,
              std::initializer_list<std::pair<absl::string_view, std::string>> fields) {
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string line;
  if (g_format.load(std::memory_order_relaxed) == LogFormat::kText) {
    line = absl::StrCat(time, " ", LevelName(level), " ", TextValue(event));
    for (const auto& [key, value] : fields) absl::StrAppend(&line, " ", key, "=", TextValue(value));
    line += "\n";
  } else {
    base::JsonWriter w;
    w.BeginObject().Key("time").String(time).Key("level").String(LevelName(level)).Key("event").String(event);
    for (const auto& [key, value] : fields) w.Key(key).String(value);
    w.EndObject();
    line = w.Release();
    line += "\n";
  }
  std::lock_guard<std::mutex> lock(Mutex());
  if (Sink()) {
    Sink()(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

void SetLogFormat(LogFormat format) { g_format = format; }

void SetLogSink(std::function<void(absl::string_view line)> sink) {
  std::lock_guard<std::mutex> lock(Mutex());
  Sink() = std::move(sink);
}

void RouteProtobufLogs() {
  google::protobuf::SetLogHandler([](google::protobuf::LogLevel level, const char* filename, int line,
                                     const std::string& message) {
    LogEvent(level == google::protobuf::LOGLEVEL_INFO      ? LogLevel::kInfo
             : level == google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarning
                                                           : LogLevel::kError,
             "protobuf", {{"source", absl::StrCat(filename, ":", line)}, {"message", message}});
  });
}

}  // namespace sevex::transport
