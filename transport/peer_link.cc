#include "transport/peer_link.h"

#include "absl/strings/numbers.h"

namespace sevex::transport {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::shared_ptr<PeerLink> PeerLink::Create(asio::io_context& io, NodeTls& tls, PeerEntry peer,
                                           const SessionOptions& options, SessionHandler* handler,
                                           BackoffOptions backoff, uint64_t seed) {
  return std::shared_ptr<PeerLink>(new PeerLink(io, tls, std::move(peer), options, handler, backoff, seed));
}

PeerLink::PeerLink(asio::io_context& io, NodeTls& tls, PeerEntry peer, const SessionOptions& options,
                   SessionHandler* handler, BackoffOptions backoff, uint64_t seed)
    : io_(io),
      strand_(asio::make_strand(io)),
      tls_(tls),
      peer_(std::move(peer)),
      options_(options),
      handler_(handler),
      backoff_(backoff),
      rng_(seed),
      retry_(strand_),
      resolver_(strand_) {}

void PeerLink::Start() {
  asio::dispatch(strand_, [self = shared_from_this()] { self->Connect(); });
}

void PeerLink::Stop() {
  asio::dispatch(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->retry_.cancel();
    self->resolver_.cancel();
    if (auto s = self->session()) s->Close("shutdown", "the node is stopping");
  });
}

std::shared_ptr<PeerSession> PeerLink::session() const {
  std::lock_guard<std::mutex> lock(mu_);
  return session_;
}

void PeerLink::Connect() {
  if (stopped_) return;
  ++attempts_;
  const size_t colon = peer_.address.rfind(':');
  const std::string host = colon == std::string::npos ? peer_.address : peer_.address.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : peer_.address.substr(colon + 1);
  resolver_.async_resolve(host, port, [self = shared_from_this()](const boost::system::error_code& ec,
                                                                  tcp::resolver::results_type results) {
    if (self->stopped_) return;
    if (ec) {
      self->Retry();
      return;
    }
    auto socket = std::make_shared<tcp::socket>(asio::make_strand(self->io_));
    asio::async_connect(*socket, results, [self, socket](const boost::system::error_code& ec, const tcp::endpoint&) {
      asio::dispatch(self->strand_, [self, socket, ec] {
        if (self->stopped_) return;
        if (ec) {
          self->Retry();
          return;
        }
        auto session = PeerSession::Create(std::move(*socket), self->tls_, self->options_, self.get(),
                                           PeerSession::Role::kClient, self->peer_.node_id, &self->resumption_);
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          self->session_ = session;
        }
        session->Start();
      });
    });
  });
}

void PeerLink::Retry() {
  if (stopped_) return;
  const auto wait = Backoff(failures_++, backoff_.base, backoff_.cap, std::uniform_real_distribution<double>(0, 1)(rng_));
  retry_.expires_after(wait);
  retry_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->Connect();
  });
}

void PeerLink::OnOpen(const std::shared_ptr<PeerSession>& session) {
  asio::dispatch(strand_, [self = shared_from_this()] { self->failures_ = 0; });
  handler_->OnOpen(session);
}

void PeerLink::OnNotice(const std::shared_ptr<PeerSession>& session, v1::NoticeFrame notice) {
  handler_->OnNotice(session, std::move(notice));
}

void PeerLink::OnAck(const std::shared_ptr<PeerSession>& session, const v1::Ack& ack) { handler_->OnAck(session, ack); }

void PeerLink::OnClose(const std::shared_ptr<PeerSession>& session, const absl::Status& reason) {
  handler_->OnClose(session, reason);
  asio::dispatch(strand_, [self = shared_from_this(), session] {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->session_ == session) self->session_.reset();
    }
    self->Retry();
  });
}

}  // namespace sevex::transport
