// session.h — one mutually authenticated TLS session with a peer, carrying the exchange
// protocol of docs/protocol.md: Hello both ways, NoticeFrame / Ack, Heartbeat, Goodbye.
//
// Threading: every handler of a session runs on its own strand; the public methods may be
// called from any thread (they post to the strand). `SessionHandler` callbacks run on the
// strand and must not block.
//
// Flow control: at most `window` notices are in flight (sent, not acked) per direction.
// `Send` refuses a notice when the window is full — the caller keeps it in its outbox and
// tries again after `OnAck` — so a slow peer never makes a session buffer without bound.
//
//   auto session = PeerSession::Create(std::move(socket), tls, options, &handler, Role::kServer, {});
//   session->Start();
//   ...handler.OnNotice(session, frame) → store durably → session->Ack(frame, v1::Ack::ACCEPTED);
#ifndef SEVEX_TRANSPORT_SESSION_H_
#define SEVEX_TRANSPORT_SESSION_H_

#include <boost/asio.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "sevex/v1/frame.pb.h"
#include "transport/channel.h"
#include "transport/frame_codec.h"
#include "transport/tls.h"
#include "transport/tls_stream.h"

namespace sevex::transport {

inline constexpr uint32_t kProtocolVersion = 1;

struct SessionOptions {
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
  uint32_t window = 256;  // notices this node accepts in flight from the peer
  std::chrono::milliseconds handshake_timeout{5000};  // TCP accept to Hello received
  std::chrono::milliseconds heartbeat_interval{10000};
  std::chrono::milliseconds idle_timeout{30000};      // nothing received for this long: close
};

class PeerSession;

// What a session tells its owner. All calls come from the session's strand.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // Hello exchanged: the peer is authenticated and speaks a common protocol version.
  virtual void OnOpen(const std::shared_ptr<PeerSession>& session) = 0;
  // A notice from the peer. Call session->Ack(frame, …) once it is durable (or refused).
  virtual void OnNotice(const std::shared_ptr<PeerSession>& session, v1::NoticeFrame notice) = 0;
  // The peer's verdict on a notice this node sent.
  virtual void OnAck(const std::shared_ptr<PeerSession>& session, const v1::Ack& ack) = 0;
  // The session ended; `reason` is OK for a graceful Goodbye. Called once.
  virtual void OnClose(const std::shared_ptr<PeerSession>& session, const absl::Status& reason) = 0;
};

class PeerSession final : public Channel, public std::enable_shared_from_this<PeerSession> {
 public:
  enum class Role { kServer, kClient };
  // `socket` must be connected and bound to a strand executor. A client names the peer it
  // dialled in `expected_peer`.
  // A client may pass the peer's `resumption` slot to resume its last TLS session.
  static std::shared_ptr<PeerSession> Create(boost::asio::ip::tcp::socket socket, NodeTls& tls,
                                             const SessionOptions& options, SessionHandler* handler, Role role,
                                             std::optional<std::string> expected_peer,
                                             ResumptionSlot* resumption = nullptr);
  ~PeerSession();

  // Handshake, Hello, then reading, all under the handshake timeout.
  void Start();

  // Queues a notice; the session assigns its sequence number, and the peer's Ack echoes the
  // notice's origin, id and revision. Refused when the session is not open
  // (FailedPrecondition), the peer's window is full (ResourceExhausted: retry after an ack), or
  // the frame would exceed the peer's maximum (InvalidArgument).
  absl::Status Send(v1::NoticeFrame notice) override;
  // The verdict on `notice`, received earlier from this session.
  void Ack(const v1::NoticeFrame& notice, v1::Ack::Status status, std::string reason_code = "",
           std::string reason = "") override;
  // Sends Goodbye and closes once it is written.
  void Close(std::string reason_code, std::string reason) override;

  // Thread-safe snapshots.
  const std::string& peer_id() const override { return peer_id_; }  // empty until authorised
  bool open() const override { return open_.load(); }
  bool resumed() const { return resumed_.load(); }  // the TLS session was resumed
  uint32_t in_flight() const { return in_flight_.load(); }

 private:
  PeerSession(boost::asio::ip::tcp::socket socket, NodeTls& tls, const SessionOptions& options,
              SessionHandler* handler, Role role, std::optional<std::string> expected_peer,
              ResumptionSlot* resumption);

  // True when called from this session's strand (a handler), so work need not be posted.
  bool OnStrand();
  void OnHandshake(const boost::system::error_code& ec);
  void ReadMore();
  void OnFrames(std::vector<v1::Frame>& frames);
  absl::Status Handle(const v1::Frame& frame);
  void Queue(const v1::Frame& frame);
  void WriteMore();
  void ArmHeartbeat();
  void Fail(absl::Status reason, const char* goodbye_code);
  void Finish(absl::Status reason);

  TlsStream stream_;
  NodeTls& tls_;
  SessionOptions options_;
  SessionHandler* handler_;
  Role role_;
  std::optional<std::string> expected_peer_;
  boost::asio::steady_timer deadline_;   // handshake timeout, then idle timeout
  boost::asio::steady_timer heartbeat_;
  FrameDecoder decoder_;
  std::string peer_id_;
  std::atomic<bool> open_{false};
  std::atomic<bool> resumed_{false};
  bool ever_opened_ = false;
  std::string remote_;  // "address:port" of the other end, for the log
  ResumptionSlot* resumption_;
  bool hello_sent_ = false;
  bool finished_ = false;
  bool closing_ = false;
  absl::Status close_reason_;  // a failure being reported with a Goodbye
  std::atomic<uint32_t> peer_window_{0};
  std::atomic<size_t> peer_max_frame_{0};
  std::atomic<uint32_t> in_flight_{0};      // notices sent, not yet acked
  absl::flat_hash_set<uint64_t> in_flight_sequences_;
  uint64_t next_heartbeat_ = 1;
  uint32_t received_unacked_ = 0;           // notices received, not yet acked
  uint64_t next_send_sequence_ = 1;
  uint64_t next_receive_sequence_ = 1;
  std::chrono::steady_clock::time_point last_received_;
  std::string write_pending_;   // frames queued behind the write in flight (coalesced)
  std::string write_in_flight_;
  bool writing_ = false;
  bool dispatching_ = false;  // handling a read's frames: hold writes until all are handled
  std::array<char, 16 * 1024> read_buffer_;  // one record's worth: pages an idle session never touches
};

// Exponential backoff with full jitter: attempt n waits a random time in
// [base * 2^n / 2, base * 2^n], capped at `cap`. `uniform01` is a random number in [0, 1).
std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                  double uniform01);

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_SESSION_H_
