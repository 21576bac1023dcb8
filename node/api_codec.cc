#include "node/api_codec.h"

namespace sevex::node {

std::string EncodeApiMessage(const google::protobuf::MessageLite& message) {
  std::string out(kApiHeaderBytes, '\0');
  message.AppendToString(&out);
  const uint32_t n = static_cast<uint32_t>(out.size() - kApiHeaderBytes);
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  return out;
}

uint32_t DecodeApiLength(const unsigned char header[kApiHeaderBytes]) {
  return uint32_t{header[0]} << 24 | uint32_t{header[1]} << 16 | uint32_t{header[2]} << 8 | header[3];
}

v1::ApiResponse ErrorResponse(const absl::Status& status) {
  v1::ApiResponse r;
  r.set_error(std::string(status.message()));
  r.set_error_code(static_cast<uint32_t>(status.code()));
  return r;
}

absl::Status StatusOf(const v1::ApiResponse& response) {
  if (response.error().empty()) return absl::OkStatus();
  const uint32_t code = response.error_code();
  return absl::Status(
      code == 0 || code > 16 ? absl::StatusCode::kUnknown : static_cast<absl::StatusCode>(code),
      response.error());
}

}  // namespace sevex::node
