#include "transport/session.h"

#include <boost/asio/ssl/error.hpp>
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "transport/asio_error.h"
#include "transport/event_log.h"

namespace sevex::transport {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Write buffers above this capacity are released once written, not kept for the next write.
constexpr size_t kWriteBufferKept = 16 * 1024;

const char* KindName(const v1::Frame& f) {
  switch (f.kind_case()) {
    case v1::Frame::kHello: return "Hello";
    case v1::Frame::kNotice: return "Notice";
    case v1::Frame::kAck: return "Ack";
    case v1::Frame::kHeartbeat: return "Heartbeat";
    case v1::Frame::kGoodbye: return "Goodbye";
    default: return "?";
  }
}

}  // namespace

std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap,
                                  double uniform01) {
  const double ceiling = std::min<double>(static_cast<double>(cap.count()),
                                          static_cast<double>(base.count()) * std::pow(2.0, std::min(attempt, 30)));
  const double wait = ceiling / 2 + uniform01 * ceiling / 2;
  return std::chrono::milliseconds(static_cast<int64_t>(wait));
}

std::shared_ptr<PeerSession> PeerSession::Create(tcp::socket socket, NodeTls& tls, const SessionOptions& options,
                                                 SessionHandler* handler, Role role,
                                                 std::optional<std::string> expected_peer, ResumptionSlot* resumption) {
  return std::shared_ptr<PeerSession>(
      new PeerSession(std::move(socket), tls, options, handler, role, std::move(expected_peer), resumption));
}

PeerSession::PeerSession(tcp::socket socket, NodeTls& tls, const SessionOptions& options, SessionHandler* handler,
                         Role role, std::optional<std::string> expected_peer, ResumptionSlot* resumption)
    : stream_(std::move(socket),
              (role == Role::kServer ? tls.server_context() : tls.client_context()).native_handle()),
      tls_(tls),
      options_(options),
      handler_(handler),
      role_(role),
      expected_peer_(std::move(expected_peer)),
      deadline_(stream_.get_executor()),
      heartbeat_(stream_.get_executor()),
      decoder_(options.max_frame_bytes),
      resumption_(resumption) {
  // Frames are small and latency matters (acks, heartbeats); coalescing is done here, so
  // Nagle's algorithm would only add delay.
  boost::system::error_code ec;
  stream_.socket().set_option(tcp::no_delay(true), ec);
  const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
  if (!ec) remote_ = absl::StrCat(remote.address().to_string(), ":", remote.port());
}

PeerSession::~PeerSession() = default;

bool PeerSession::OnStrand() {
  using Strand = asio::strand<asio::io_context::executor_type>;
  auto executor = stream_.get_executor();
  const Strand* strand = executor.target<Strand>();
  return strand != nullptr && strand->running_in_this_thread();
}

void PeerSession::Start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->deadline_.expires_after(self->options_.handshake_timeout);
    self->deadline_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->open_ || self->finished_) return;
      self->Finish(absl::DeadlineExceededError(absl::StrCat("no TLS handshake and Hello within ",
                                                            self->options_.handshake_timeout.count(), " ms")));
    });
    if (self->role_ == Role::kClient && self->stream_.native_handle() != nullptr) {
      NodeTls::PrepareClient(self->stream_.native_handle(), self->resumption_);
    }
    self->stream_.AsyncHandshake(self->role_ == Role::kServer ? TlsStream::kServer : TlsStream::kClient,
                                 [self](const boost::system::error_code& ec) { self->OnHandshake(ec); });
  });
}

void PeerSession::OnHandshake(const boost::system::error_code& ec) {
  if (finished_) return;
  if (ec) {
    Finish(absl::UnauthenticatedError(
        absl::StrCat("TLS handshake failed: ", NodeTls::HandshakeFailureReason(stream_.native_handle(), ec.message()))));
    return;
  }
  auto peer = tls_.AuthorizePeer(stream_.native_handle(), expected_peer_);
  if (!peer.ok()) {
    Finish(peer.status());
    return;
  }
  peer_id_ = *peer;
  resumed_ = SSL_session_reused(stream_.native_handle()) == 1;
  last_received_ = std::chrono::steady_clock::now();
  v1::Frame hello;
  hello.mutable_hello()->set_node_id(tls_.node_id());
  hello.mutable_hello()->add_versions(kProtocolVersion);
  hello.mutable_hello()->set_window(options_.window);
  hello.mutable_hello()->set_max_frame_bytes(static_cast<uint32_t>(options_.max_frame_bytes));
  hello_sent_ = true;
  Queue(hello);
  ReadMore();
}

void PeerSession::ReadMore() {
  stream_.AsyncReadSome(asio::buffer(read_buffer_), [self = shared_from_this()](
                                                        const boost::system::error_code& ec, size_t n) {
    if (self->finished_) return;
    if (ec) {
      // A peer that drops without close_notify shows as a truncated stream: a closed session.
      self->Finish(absl::UnavailableError(absl::StrCat(
          "connection closed by sevex://", self->peer_id_, ": ",
          ec == asio::error::eof || ec == ssl::error::stream_truncated ? "closed" : ec.message())));
      return;
    }
    self->last_received_ = std::chrono::steady_clock::now();
    std::vector<v1::Frame> frames;
    const absl::Status decoded = self->decoder_.Feed(absl::string_view(self->read_buffer_.data(), n), &frames);
    self->OnFrames(frames);  // frames before a bad one are good; handle them first
    if (self->finished_ || self->closing_) return;
    if (!decoded.ok()) {
      self->Fail(decoded, decoded.code() == absl::StatusCode::kOutOfRange ? "oversized" : "malformed");
      return;
    }
    self->ReadMore();
  });
}

void PeerSession::OnFrames(std::vector<v1::Frame>& frames) {
  // Whatever the handlers queue while this read's frames are handled (acks, further notices)
  // leaves in one write afterwards.
  dispatching_ = true;
  for (const v1::Frame& f : frames) {
    if (finished_ || closing_) break;
    if (absl::Status s = Handle(f); !s.ok()) {
      dispatching_ = false;
      Fail(s, "protocol_error");
      return;
    }
  }
  dispatching_ = false;
  WriteMore();
}

absl::Status PeerSession::Handle(const v1::Frame& frame) {
  if (!open_) {
    if (frame.kind_case() != v1::Frame::kHello) {
      return absl::InvalidArgumentError(absl::StrCat("out of order: ", KindName(frame), " before Hello"));
    }
    const v1::Hello& h = frame.hello();
    if (h.node_id() != peer_id_) {
      return absl::PermissionDeniedError(
          absl::StrCat("Hello says ", h.node_id(), " but the certificate says sevex://", peer_id_));
    }
    if (std::find(h.versions().begin(), h.versions().end(), kProtocolVersion) == h.versions().end()) {
      return absl::FailedPreconditionError(absl::StrCat("no common protocol version (this node speaks ", kProtocolVersion, ")"));
    }
    if (h.window() == 0) return absl::InvalidArgumentError("Hello with a window of 0");
    peer_window_ = h.window();
    peer_max_frame_ = std::min<size_t>(options_.max_frame_bytes, h.max_frame_bytes() == 0 ? kDefaultMaxFrameBytes
                                                                                          : h.max_frame_bytes());
    open_ = true;
    ever_opened_ = true;
    deadline_.cancel();
    ArmHeartbeat();
    LogEvent(LogLevel::kInfo, "session_open",
             {{"peer", peer_id_}, {"remote", remote_}, {"role", role_ == Role::kServer ? "server" : "client"},
              {"tls", resumed_ ? "resumed" : "full handshake"}});
    handler_->OnOpen(shared_from_this());
    return absl::OkStatus();
  }
  switch (frame.kind_case()) {
    case v1::Frame::kHello:
      return absl::InvalidArgumentError("out of order: a second Hello");
    case v1::Frame::kNotice: {
      const v1::NoticeFrame& n = frame.notice();
      if (n.sequence() != next_receive_sequence_) {
        return absl::InvalidArgumentError(
            absl::StrCat("out of order: notice sequence ", n.sequence(), ", expected ", next_receive_sequence_));
      }
      if (received_unacked_ >= options_.window) {
        return absl::ResourceExhaustedError(absl::StrCat("window exceeded: more than ", options_.window, " notices unacknowledged"));
      }
      ++next_receive_sequence_;
      ++received_unacked_;
      handler_->OnNotice(shared_from_this(), n);
      return absl::OkStatus();
    }
    case v1::Frame::kAck: {
      if (in_flight_sequences_.erase(frame.ack().sequence()) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("Ack for sequence ", frame.ack().sequence(), ", which is not in flight"));
      }
      --in_flight_;
      handler_->OnAck(shared_from_this(), frame.ack());
      return absl::OkStatus();
    }
    case v1::Frame::kHeartbeat:
      if (!frame.heartbeat().reply()) {
        v1::Frame reply;
        reply.mutable_heartbeat()->set_nonce(frame.heartbeat().nonce());
        reply.mutable_heartbeat()->set_reply(true);
        Queue(reply);
      }
      return absl::OkStatus();
    case v1::Frame::kGoodbye: {
      const v1::Goodbye& g = frame.goodbye();
      Finish(g.reason_code() == "shutdown"
                 ? absl::OkStatus()
                 : absl::AbortedError(absl::StrCat("sevex://", peer_id_, " ended the session: ", g.reason_code(),
                                                   g.reason().empty() ? "" : absl::StrCat(": ", g.reason()))));
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError("a frame of no kind");
  }
}

absl::Status PeerSession::Send(v1::NoticeFrame notice) {
  if (!open_) return absl::FailedPreconditionError("the session is not open");
  if (notice.ByteSizeLong() + 16 > peer_max_frame_) {
    return absl::InvalidArgumentError(absl::StrCat("notice of ", notice.ByteSizeLong(), " bytes exceeds sevex://", peer_id_,
                                                   "'s maximum frame of ", peer_max_frame_.load(), " bytes"));
  }
  uint32_t current = in_flight_.load();
  do {
    if (current >= peer_window_.load()) {
      return absl::ResourceExhaustedError(absl::StrCat("sevex://", peer_id_, "'s window of ", peer_window_.load(), " is full"));
    }
  } while (!in_flight_.compare_exchange_weak(current, current + 1));
  auto queue = [self = shared_from_this(), notice = std::move(notice)]() mutable {
    if (self->finished_ || self->closing_) return;
    notice.set_sequence(self->next_send_sequence_++);
    self->in_flight_sequences_.insert(notice.sequence());
    v1::Frame f;
    *f.mutable_notice() = std::move(notice);
    self->Queue(f);
  };
  // From a handler of this session (already on its strand) there is no need to post.
  if (OnStrand()) {
    queue();
  } else {
    asio::post(stream_.get_executor(), std::move(queue));
  }
  return absl::OkStatus();
}

void PeerSession::Ack(const v1::NoticeFrame& notice, v1::Ack::Status status, std::string reason_code,
                      std::string reason) {
  v1::Frame f;
  v1::Ack* ack = f.mutable_ack();
  ack->set_sequence(notice.sequence());
  ack->set_status(status);
  ack->set_reason_code(std::move(reason_code));
  ack->set_reason(std::move(reason));
  ack->set_origin(notice.origin());
  ack->set_notice_id(notice.notice_id());
  ack->set_revision(notice.revision());
  ack->set_tag(notice.tag());
  auto queue = [self = shared_from_this(), f = std::move(f)] {
    if (self->finished_ || self->closing_ || self->received_unacked_ == 0) return;
    --self->received_unacked_;
    self->Queue(f);
  };
  if (OnStrand()) {
    queue();
  } else {
    asio::post(stream_.get_executor(), std::move(queue));
  }
}

void PeerSession::Close(std::string reason_code, std::string reason) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), reason_code = std::move(reason_code),
                                      reason = std::move(reason)] {
    if (self->finished_ || self->closing_) return;
    v1::Frame f;
    f.mutable_goodbye()->set_reason_code(reason_code);
    f.mutable_goodbye()->set_reason(reason);
    self->Queue(f);
    self->closing_ = true;
    self->deadline_.expires_after(std::chrono::seconds(2));
    self->deadline_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec) self->Finish(absl::OkStatus());
    });
  });
}

void PeerSession::Queue(const v1::Frame& frame) {
  if (finished_) return;
  const size_t limit = peer_max_frame_ == 0 ? kDefaultMaxFrameBytes : peer_max_frame_.load();
  if (absl::Status s = AppendFrame(frame, limit, &write_pending_); !s.ok()) {
    Finish(absl::InternalError(absl::StrCat("cannot encode a frame: ", s.message())));
    return;
  }
  WriteMore();
}

void PeerSession::WriteMore() {
  if (writing_ || dispatching_ || write_pending_.empty() || finished_) return;
  // Everything queued while the previous write was in flight goes out in one write.
  std::swap(write_in_flight_, write_pending_);
  write_pending_.clear();
  writing_ = true;
  stream_.AsyncWrite(asio::buffer(write_in_flight_),
                     [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                       self->writing_ = false;
                       // A burst's buffer is not kept by a session that then idles.
                       if (self->write_in_flight_.capacity() > kWriteBufferKept) {
                         std::string().swap(self->write_in_flight_);
                       } else {
                         self->write_in_flight_.clear();
                       }
                       if (self->finished_) return;
                       if (ec) {
                         self->Finish(absl::UnavailableError(
                             absl::StrCat("write to sevex://", self->peer_id_, " failed: ", ec.message())));
                         return;
                       }
                       if (self->closing_ && self->write_pending_.empty()) {
                         self->Finish(absl::OkStatus());
                         return;
                       }
                       self->WriteMore();
                     });
}

void PeerSession::ArmHeartbeat() {
  heartbeat_.expires_after(options_.heartbeat_interval);
  heartbeat_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->finished_ || self->closing_) return;
    if (std::chrono::steady_clock::now() - self->last_received_ > self->options_.idle_timeout) {
      self->Fail(absl::DeadlineExceededError(absl::StrCat("nothing received from sevex://", self->peer_id_, " for ",
                                                          self->options_.idle_timeout.count(), " ms")),
                 "idle_timeout");
      return;
    }
    v1::Frame f;
    f.mutable_heartbeat()->set_nonce(self->next_heartbeat_++);
    self->Queue(f);
    self->ArmHeartbeat();
  });
}

void PeerSession::Fail(absl::Status reason, const char* goodbye_code) {
  if (finished_) return;
  if (!hello_sent_ || goodbye_code == nullptr) {
    Finish(reason);
    return;
  }
  // Tell the peer why, then close; give the Goodbye a second to leave.
  v1::Frame f;
  f.mutable_goodbye()->set_reason_code(goodbye_code);
  f.mutable_goodbye()->set_reason(std::string(reason.message()));
  Queue(f);
  closing_ = true;
  deadline_.expires_after(std::chrono::seconds(1));
  deadline_.async_wait([self = shared_from_this(), reason](const boost::system::error_code&) { self->Finish(reason); });
  // Finish with the failure, not OK, once the Goodbye is written.
  close_reason_ = reason;
}

void PeerSession::Finish(absl::Status reason) {
  if (finished_) return;
  if (!close_reason_.ok() && reason.ok()) reason = close_reason_;
  finished_ = true;
  open_ = false;
  deadline_.cancel();
  heartbeat_.cancel();
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  // A session that never opened was refused (handshake, identity, Hello); one that did ended.
  if (reason.ok()) {
    LogEvent(LogLevel::kInfo, "session_closed", {{"peer", peer_id_}, {"remote", remote_}});
  } else {
    LogEvent(LogLevel::kWarning, ever_opened_ ? "session_ended" : "session_refused",
             {{"peer", peer_id_}, {"remote", remote_}, {"reason", std::string(reason.message())}});
  }
  handler_->OnClose(shared_from_this(), reason);
}

}  // namespace sevex::transport
