// api_codec.h — the local API's one wire format (docs/node.md §7), used by both ends: a 4-byte
// big-endian length, then one serialised ApiRequest or ApiResponse of at most
// kMaxApiMessageBytes. An error travels as ApiResponse.error and .error_code (an absl code).
//
//   std::string bytes = EncodeApiMessage(request);         // header + body
//   uint32_t size = DecodeApiLength(header);                // from the 4 bytes read first
#ifndef SEVEX_NODE_API_CODEC_H_
#define SEVEX_NODE_API_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"
#include "sevex/v1/node.pb.h"

namespace sevex::node {

inline constexpr size_t kMaxApiMessageBytes = 64 << 20;
inline constexpr size_t kApiHeaderBytes = 4;

// The message with its length header. The caller checks the size against kMaxApiMessageBytes.
std::string EncodeApiMessage(const google::protobuf::MessageLite& message);
// The body length a header announces.
uint32_t DecodeApiLength(const unsigned char header[kApiHeaderBytes]);

// Status → answer, and back: the one conversion, at both ends.
v1::ApiResponse ErrorResponse(const absl::Status& status);
// OK when `response` holds no error; else its code (UNKNOWN when it names none) and message.
absl::Status StatusOf(const v1::ApiResponse& response);

}  // namespace sevex::node

#endif  // SEVEX_NODE_API_CODEC_H_
