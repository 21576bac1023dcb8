// event_log.h — one JSON object per line for what happens to sessions (DESIGN.md §6):
//   {"time":"2026-11-23T00:03:12.123Z","level":"warning","event":"session_refused",
//    "remote":"127.0.0.1:51234","reason":"TLS handshake failed: …"}
// The lines are written by base::JsonWriter: a value that is not valid UTF-8 (a peer's
// certificate subject, say) shows U+FFFD where its bad bytes were, and the line stays JSON.
// Lines go to standard error unless a sink is installed (the node, or a test). For people,
// SetLogFormat(kText) writes the same fields as
//   2026-11-23T00:03:12.123Z warning session_refused remote=127.0.0.1:51234 reason="TLS …"
#ifndef SEVEX_TRANSPORT_EVENT_LOG_H_
#define SEVEX_TRANSPORT_EVENT_LOG_H_

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace sevex::transport {

enum class LogLevel { kInfo, kWarning, kError };
enum class LogFormat { kJson, kText };

// Writes one line. Thread-safe; lines are never interleaved.
void LogEvent(LogLevel level, absl::string_view event,
              std::initializer_list<std::pair<absl::string_view, std::string>> fields);

// Replaces where lines go (nullptr: back to standard error). The sink is called under a lock.
void SetLogSink(std::function<void(absl::string_view line)> sink);

// Process-wide; JSON lines by default.
void SetLogFormat(LogFormat format);

// Protobuf's own log messages (e.g. "String field 'sevex.v1.Hello.node_id' contains invalid
// UTF-8 data", which a peer can provoke) become events "protobuf" with the level, `source` and
// `message`, instead of plain-text lines on standard error among the JSON ones. Process-wide.
void RouteProtobufLogs();

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_EVENT_LOG_H_
