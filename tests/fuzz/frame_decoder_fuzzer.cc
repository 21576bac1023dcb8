// frame_decoder_fuzzer — the frame decoder fed a hostile byte stream in arbitrary pieces.
//
// The input's first byte picks the maximum frame size and seeds the split of the rest into
// chunks, as the socket might deliver them. Checked, beyond "no crash": the decoder gives the
// same frames and the same verdict whatever the chunking; it never buffers a body beyond the
// maximum; and every frame it accepts encodes back (AppendFrame) to a stream that decodes to
// the same frame.
//
// What the session then does with the frames (transport/session.cc) is session_fuzzer's.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "google/protobuf/util/message_differencer.h"
#include "transport/frame_codec.h"

namespace {

using sevex::transport::AppendFrame;
using sevex::transport::FrameDecoder;
using sevex::transport::kFrameHeaderBytes;
namespace v1 = sevex::v1;

struct Decoded {
  std::vector<v1::Frame> frames;
  absl::Status status;
};

Decoded DecodeInChunks(absl::string_view stream, size_t max_frame_bytes, uint32_t seed) {
  FrameDecoder decoder(max_frame_bytes);
  Decoded out;
  size_t at = 0;
  while (at < stream.size() && out.status.ok()) {
    seed = seed * 1103515245u + 12345u;
    // Mostly small pieces (a header split across reads), now and then a large one.
    size_t piece = (seed >> 16) % 8 == 0 ? (seed >> 8) % 4096 + 1 : (seed >> 16) % 7 + 1;
    if (seed == 0) piece = stream.size();
    piece = std::min(piece, stream.size() - at);
    out.status = decoder.Feed(stream.substr(at, piece), &out.frames);
    at += piece;
    if (decoder.buffered() > max_frame_bytes + kFrameHeaderBytes) std::abort();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr size_t kMaxima[] = {0, 16, 256, 4096, 1 << 20};
  const size_t max_frame_bytes = kMaxima[data[0] % 5];
  const uint32_t seed = data[0] / 5;
  const absl::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  Decoded whole = DecodeInChunks(stream, max_frame_bytes, 0);
  Decoded chunked = DecodeInChunks(stream, max_frame_bytes, seed + 1);
  if (whole.frames.size() != chunked.frames.size()) std::abort();
  if (whole.status.code() != chunked.status.code()) std::abort();

  std::string encoded;
  for (size_t i = 0; i < whole.frames.size(); ++i) {
    const v1::Frame& f = whole.frames[i];
    if (f.kind_case() == v1::Frame::KIND_NOT_SET) std::abort();
    if (!google::protobuf::util::MessageDifferencer::Equals(f, chunked.frames[i])) std::abort();
    // A frame that was accepted may re-encode larger (unknown fields are kept, but a varint may
    // shrink or grow); only when it still fits must encoding succeed.
    if (f.ByteSizeLong() <= max_frame_bytes) {
      if (!AppendFrame(f, max_frame_bytes, &encoded).ok()) std::abort();
    } else if (AppendFrame(f, max_frame_bytes, &encoded).ok()) {
      std::abort();
    }
  }
  Decoded again = DecodeInChunks(encoded, max_frame_bytes, seed + 7);
  if (!again.status.ok()) std::abort();
  size_t j = 0;
  for (const v1::Frame& f : whole.frames) {
    if (f.ByteSizeLong() > max_frame_bytes) continue;
    if (j >= again.frames.size() || !google::protobuf::util::MessageDifferencer::Equals(f, again.frames[j])) {
      std::abort();
    }
    ++j;
  }
  if (j != again.frames.size()) std::abort();
  return 0;
}
