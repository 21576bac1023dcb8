// frame_codec.h — frames on the wire: a 4-byte big-endian length, then one `v1::Frame`.
//
// The decoder is incremental (feed it whatever the socket delivered) and bounded: a length
// above the maximum is refused as soon as its 4 bytes arrive, before any body is buffered.
//
//   FrameDecoder decoder(1 << 20);
//   std::vector<v1::Frame> frames;
//   if (absl::Status s = decoder.Feed(bytes, &frames); !s.ok()) end_session(s);
#ifndef SEVEX_TRANSPORT_FRAME_CODEC_H_
#define SEVEX_TRANSPORT_FRAME_CODEC_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "sevex/v1/frame.pb.h"

namespace sevex::transport {

inline constexpr size_t kDefaultMaxFrameBytes = 1 << 20;
inline constexpr size_t kFrameHeaderBytes = 4;

// Appends the encoded frame to `out`. A frame larger than `max_frame_bytes`, or with no kind
// set, is refused (InvalidArgument) and nothing is appended.
absl::Status AppendFrame(const v1::Frame& frame, size_t max_frame_bytes, std::string* out);

// Not thread-safe; one per session.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Consumes `bytes`, appending every complete frame to `frames`. Errors (the session must
  // end): "oversized" (OutOfRange) when a length exceeds the maximum, "malformed"
  // (InvalidArgument) when a body does not parse or sets no kind. After an error the decoder
  // refuses all further input.
  absl::Status Feed(absl::string_view bytes, std::vector<v1::Frame>* frames);

  // Bytes received but not yet part of a complete frame.
  size_t buffered() const { return buffer_.size(); }

 private:
  size_t max_frame_bytes_;
  std::string buffer_;
  absl::Status failed_;
};

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_FRAME_CODEC_H_
