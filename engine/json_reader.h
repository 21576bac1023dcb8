// json_reader.h — JSON into protobuf messages, fast, with errors that name the field.
//
// Follows the proto3 JSON mapping for what sevex's messages use: messages, repeated and map
// fields, all scalar types (64-bit integers as numbers or strings), enums by name (or number),
// bytes as base64, google.protobuf.Timestamp / Duration as strings, and Value / Struct /
// ListValue as free JSON. Field names may be the proto name or its lowerCamel JSON name; an
// unknown field is an error. JSON null leaves a field unset (for a Value, it is a null value).
// Built on simdjson: several times faster than protobuf's own JSON parser, which matters for
// corpora of notices (`sevex policy diff`) and for intake at a node.
//
//   JsonReader reader;                       // reuse: it keeps its buffers
//   v1::Notice notice;
//   RETURN_IF_ERROR(reader.Read(text, &notice));   // "marking.tlp: 'AMBR' is not a value of …"
#ifndef SEVEX_ENGINE_JSON_READER_H_
#define SEVEX_ENGINE_JSON_READER_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace sevex::engine {

// Not thread-safe: one reader per thread.
class JsonReader {
 public:
  static constexpr size_t kMaxDepth = 64;

  JsonReader();
  ~JsonReader();
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  // Parses one JSON object into `out` (cleared first).
  absl::Status Read(absl::string_view json, google::protobuf::Message* out);

  // Parses a JSON array of objects; `add(i)` returns the message element i goes into.
  absl::Status ReadArray(absl::string_view json,
                         const std::function<google::protobuf::Message*(size_t)>& add);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_JSON_READER_H_
