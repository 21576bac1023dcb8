#include "transport/frame_codec.h"

#include "absl/strings/str_cat.h"

namespace sevex::transport {

absl::Status AppendFrame(const v1::Frame& frame, size_t max_frame_bytes, std::string* out) {
  if (frame.kind_case() == v1::Frame::KIND_NOT_SET) {
    return absl::InvalidArgumentError("frame has no kind");
  }
  const size_t size = frame.ByteSizeLong();
  if (size > max_frame_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("frame of ", size, " bytes exceeds the maximum of ", max_frame_bytes));
  }
  const size_t at = out->size();
  out->resize(at + kFrameHeaderBytes + size);
  auto* p = reinterpret_cast<unsigned char*>(out->data() + at);
  p[0] = static_cast<unsigned char>(size >> 24);
  p[1] = static_cast<unsigned char>(size >> 16);
  p[2] = static_cast<unsigned char>(size >> 8);
  p[3] = static_cast<unsigned char>(size);
  frame.SerializeWithCachedSizesToArray(p + kFrameHeaderBytes);
  return absl::OkStatus();
}

absl::Status FrameDecoder::Feed(absl::string_view bytes, std::vector<v1::Frame>* frames) {
  if (!failed_.ok()) return failed_;
  buffer_.append(bytes.data(), bytes.size());
  size_t at = 0;
  while (buffer_.size() - at >= kFrameHeaderBytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(buffer_.data() + at);
    const size_t size = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | size_t{p[3]};
    if (size > max_frame_bytes_) {
      failed_ = absl::OutOfRangeError(
          absl::StrCat("oversized: frame of ", size, " bytes announced; the maximum is ", max_frame_bytes_));
      buffer_.clear();
      return failed_;
    }
    if (buffer_.size() - at - kFrameHeaderBytes < size) break;
    v1::Frame frame;
    if (!frame.ParseFromArray(buffer_.data() + at + kFrameHeaderBytes, static_cast<int>(size)) ||
        frame.kind_case() == v1::Frame::KIND_NOT_SET) {
      failed_ = absl::InvalidArgumentError(absl::StrCat("malformed: a frame of ", size, " bytes is not a Frame"));
      buffer_.clear();
      return failed_;
    }
    frames->push_back(std::move(frame));
    at += kFrameHeaderBytes + size;
  }
  buffer_.erase(0, at);
  // The room a large frame needed is not kept by a session that then idles.
  if (buffer_.empty() && buffer_.capacity() > 64 * 1024) std::string().swap(buffer_);
  return absl::OkStatus();
}

}  // namespace sevex::transport
