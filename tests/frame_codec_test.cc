// transport/frame_codec: 4-byte big-endian length + one Frame; incremental and bounded.
#include "transport/frame_codec.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sevex::transport {
namespace {

using ::testing::HasSubstr;

v1::Frame NoticeFrame(uint64_t sequence, size_t payload) {
  v1::Frame f;
  f.mutable_notice()->set_sequence(sequence);
  f.mutable_notice()->set_origin("cl.csirt");
  f.mutable_notice()->set_signed_notice(std::string(payload, 'x'));
  return f;
}

TEST(FrameCodecTest, RoundTripsFramesFedByteByByte) {
  std::string wire;
  ASSERT_TRUE(AppendFrame(NoticeFrame(1, 10), kDefaultMaxFrameBytes, &wire).ok());
  v1::Frame hello;
  hello.mutable_hello()->set_node_id("au.asd");
  hello.mutable_hello()->add_versions(1);
  ASSERT_TRUE(AppendFrame(hello, kDefaultMaxFrameBytes, &wire).ok());
  ASSERT_TRUE(AppendFrame(NoticeFrame(2, 1000), kDefaultMaxFrameBytes, &wire).ok());

  FrameDecoder decoder(kDefaultMaxFrameBytes);
  std::vector<v1::Frame> frames;
  for (char c : wire) ASSERT_TRUE(decoder.Feed(absl::string_view(&c, 1), &frames).ok());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].notice().sequence(), 1u);
  EXPECT_EQ(frames[1].hello().node_id(), "au.asd");
  EXPECT_EQ(frames[2].notice().signed_notice().size(), 1000u);
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameCodecTest, TheLengthIsBigEndian) {
  std::string wire;
  ASSERT_TRUE(AppendFrame(NoticeFrame(7, 300), kDefaultMaxFrameBytes, &wire).ok());
  const size_t body = wire.size() - 4;
  EXPECT_EQ(static_cast<unsigned char>(wire[0]), 0);
  EXPECT_EQ(static_cast<unsigned char>(wire[1]), 0);
  EXPECT_EQ(static_cast<unsigned char>(wire[2]), body >> 8);
  EXPECT_EQ(static_cast<unsigned char>(wire[3]), body & 0xff);
}

TEST(FrameCodecTest, PartialFramesWaitForTheRest) {
  std::string wire;
  ASSERT_TRUE(AppendFrame(NoticeFrame(1, 50), kDefaultMaxFrameBytes, &wire).ok());
  FrameDecoder decoder(kDefaultMaxFrameBytes);
  std::vector<v1::Frame> frames;
  ASSERT_TRUE(decoder.Feed(absl::string_view(wire).substr(0, 20), &frames).ok());
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(decoder.buffered(), 20u);
  ASSERT_TRUE(decoder.Feed(absl::string_view(wire).substr(20), &frames).ok());
  EXPECT_EQ(frames.size(), 1u);
}

TEST(FrameCodecTest, OversizedIsRefusedFromTheHeaderAlone) {
  FrameDecoder decoder(1024);
  std::vector<v1::Frame> frames;
  const char header[4] = {0, 0, 4, 1};  // 1025 bytes announced; no body sent
  const absl::Status s = decoder.Feed(absl::string_view(header, 4), &frames);
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(s.message()), HasSubstr("oversized: frame of 1025 bytes announced; the maximum is 1024"));
  EXPECT_EQ(decoder.buffered(), 0u);
  // The decoder stays failed.
  EXPECT_FALSE(decoder.Feed("x", &frames).ok());
  EXPECT_TRUE(frames.empty());
}

TEST(FrameCodecTest, GarbageAndEmptyFramesAreMalformed) {
  for (const std::string& wire : {std::string("\0\0\0\x03\xff\xff\xff", 7), std::string("\0\0\0\0", 4),
                                  std::string("\0\0\0\x02\x08\x01", 6) /* a field that is no kind */}) {
    FrameDecoder decoder(kDefaultMaxFrameBytes);
    std::vector<v1::Frame> frames;
    const absl::Status s = decoder.Feed(wire, &frames);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()), HasSubstr("malformed"));
    EXPECT_TRUE(frames.empty());
  }
}

TEST(FrameCodecTest, NothingFollowingABadFrameIsDelivered) {
  std::string wire;
  ASSERT_TRUE(AppendFrame(NoticeFrame(1, 5), kDefaultMaxFrameBytes, &wire).ok());
  wire += std::string("\0\0\0\x03\xff\xff\xff", 7);
  ASSERT_TRUE(AppendFrame(NoticeFrame(2, 5), kDefaultMaxFrameBytes, &wire).ok());
  FrameDecoder decoder(kDefaultMaxFrameBytes);
  std::vector<v1::Frame> frames;
  EXPECT_FALSE(decoder.Feed(wire, &frames).ok());
  ASSERT_EQ(frames.size(), 1u);  // the good frame before it, and nothing after
  EXPECT_EQ(frames[0].notice().sequence(), 1u);
}

TEST(FrameCodecTest, EncoderRefusesOversizedAndEmptyFrames) {
  std::string wire = "keep";
  EXPECT_FALSE(AppendFrame(NoticeFrame(1, 2000), 1024, &wire).ok());
  EXPECT_FALSE(AppendFrame(v1::Frame(), 1024, &wire).ok());
  EXPECT_EQ(wire, "keep");
}

}  // namespace
}  // namespace sevex::transport
