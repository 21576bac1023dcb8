// channel.h — a peer's session as the node's components see it: who it is, whether it is open,
// and the three things a component does with it (send a frame, acknowledge one, close). A
// `PeerSession` is one; a component's unit test gives it a fake that needs no socket.
//
// Threading: every method may be called from any thread (a session posts to its strand).
//
//   absl::Status s = channel->Send(std::move(frame));   // ResourceExhausted: window full, retry after an ack
//   channel->Ack(frame, v1::Ack::ACCEPTED);
#ifndef SEVEX_TRANSPORT_CHANNEL_H_
#define SEVEX_TRANSPORT_CHANNEL_H_

#include <string>

#include "absl/status/status.h"
#include "sevex/v1/frame.pb.h"

namespace sevex::transport {

class Channel {
 public:
  virtual ~Channel() = default;

  // The authenticated peer's node id; empty until the Hello exchange authorised it.
  virtual const std::string& peer_id() const = 0;
  virtual bool open() const = 0;
  // Queues a notice or receipt frame. Refused when the channel is not open (FailedPrecondition),
  // the peer's window is full (ResourceExhausted: retry after an ack), or the frame exceeds what
  // the peer accepts (InvalidArgument: it can never go on this channel).
  virtual absl::Status Send(v1::NoticeFrame notice) = 0;
  // The verdict on `notice`, received earlier on this channel.
  virtual void Ack(const v1::NoticeFrame& notice, v1::Ack::Status status, std::string reason_code = "",
                   std::string reason = "") = 0;
  // Says Goodbye with the reason and closes.
  virtual void Close(std::string reason_code, std::string reason) = 0;
};

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_CHANNEL_H_
