// peer_link.h — the outbound side of a peer: connect, and reconnect with jittered exponential
// backoff whenever the session ends, until Stop().
//
//   auto link = PeerLink::Create(io, tls, {"uk.ncsc", "127.0.0.1:7443", …}, options, &handler);
//   link->Start();
//   if (auto s = link->session(); s && s->open()) s->Send(notice);
#ifndef SEVEX_TRANSPORT_PEER_LINK_H_
#define SEVEX_TRANSPORT_PEER_LINK_H_

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>

#include "transport/session.h"
#include "transport/tls.h"

namespace sevex::transport {

struct BackoffOptions {
  std::chrono::milliseconds base{200};
  std::chrono::milliseconds cap{30000};
};

class PeerLink : public std::enable_shared_from_this<PeerLink>, private SessionHandler {
 public:
  // `handler` hears about every session of this link; `seed` makes the jitter repeatable.
  static std::shared_ptr<PeerLink> Create(boost::asio::io_context& io, NodeTls& tls, PeerEntry peer,
                                          const SessionOptions& options, SessionHandler* handler,
                                          BackoffOptions backoff = {}, uint64_t seed = std::random_device()());
  void Start();
  void Stop();
  // The current session, or null between sessions. Thread-safe.
  std::shared_ptr<PeerSession> session() const;
  int attempts() const { return attempts_.load(); }  // connection attempts so far

 private:
  PeerLink(boost::asio::io_context& io, NodeTls& tls, PeerEntry peer, const SessionOptions& options,
           SessionHandler* handler, BackoffOptions backoff, uint64_t seed);
  void Connect();
  void Retry();
  void OnOpen(const std::shared_ptr<PeerSession>& session) override;
  void OnNotice(const std::shared_ptr<PeerSession>& session, v1::NoticeFrame notice) override;
  void OnAck(const std::shared_ptr<PeerSession>& session, const v1::Ack& ack) override;
  void OnClose(const std::shared_ptr<PeerSession>& session, const absl::Status& reason) override;

  boost::asio::io_context& io_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  NodeTls& tls_;
  PeerEntry peer_;
  SessionOptions options_;
  SessionHandler* handler_;
  BackoffOptions backoff_;
  std::mt19937_64 rng_;
  boost::asio::steady_timer retry_;
  boost::asio::ip::tcp::resolver resolver_;
  int failures_ = 0;  // consecutive, reset when a session opens
  std::atomic<int> attempts_{0};
  bool stopped_ = false;
  mutable std::mutex mu_;
  std::shared_ptr<PeerSession> session_;
  ResumptionSlot resumption_;  // the peer's last TLS session ticket
};

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_PEER_LINK_H_
