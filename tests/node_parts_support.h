// node_parts_support.h — for the unit tests of the node's components (outbox, submitter,
// inbound): a peer session without a socket, an io_context on threads of its own, a clock moved
// by hand, an Ed25519 key made in memory, and a wait for a condition with a deadline.
//
//   Io io;                                        // two threads run it until the test ends
//   auto uk = std::make_shared<FakeChannel>("uk.ncsc");
//   outbox.Opened(uk, true);
//   ASSERT_TRUE(Eventually([&] { return uk->sent().size() == 1; }));
#ifndef SEVEX_TESTS_NODE_PARTS_SUPPORT_H_
#define SEVEX_TESTS_NODE_PARTS_SUPPORT_H_

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "node/clock.h"
#include "node/delivery.h"
#include "sevex/v1/frame.pb.h"
#include "sevex/v1/node.pb.h"
#include "transport/channel.h"

namespace sevex::testing {

// Polls `done` every millisecond until it holds or `timeout` passes; whether it held.
inline bool Eventually(const std::function<bool()>& done,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // paces the poll of a bounded wait
  }
  return done();
}

// An io_context run by two threads for as long as the object lives.
class Io {
 public:
  Io() : guard_(boost::asio::make_work_guard(io_)) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~Io() { Stop(); }
  void Stop() {
    guard_.reset();
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  boost::asio::io_context& operator*() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

class ManualClock final : public node::Clock {
 public:
  explicit ManualClock(int64_t now_ms = 1'780'000'000'000) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Advance(int64_t ms) { now_ms_ += ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

// A session with `peer`: what is sent on it and acknowledged on it is recorded, and handed to
// `on_send` / `on_ack` when set (a test joins two components through them). `window` bounds the
// frames in flight (sent, not yet `Acked` by the test); `max_frame_bytes` refuses larger ones.
class FakeChannel final : public transport::Channel {
 public:
  explicit FakeChannel(std::string peer) : peer_(std::move(peer)) {}

  const std::string& peer_id() const override { return peer_; }
  bool open() const override { return open_.load(); }
  absl::Status Send(v1::NoticeFrame frame) override {
    std::function<void(v1::NoticeFrame)> forward;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!open_) return absl::FailedPreconditionError("closed");
      if (frame.ByteSizeLong() > max_frame_bytes)
        return absl::InvalidArgumentError("larger than the peer accepts");
      if (in_flight_ >= window) return absl::ResourceExhaustedError("window full");
      ++in_flight_;
      sent_.push_back(frame);
      forward = on_send;
    }
    if (forward) forward(std::move(frame));
    return absl::OkStatus();
  }
  void Ack(const v1::NoticeFrame& frame, v1::Ack::Status status, std::string code = "",
           std::string reason = "") override {
    v1::Ack ack;
    ack.set_tag(frame.tag());
    ack.set_origin(frame.origin());
    ack.set_notice_id(frame.notice_id());
    ack.set_revision(frame.revision());
    ack.set_status(status);
    ack.set_reason_code(code);
    ack.set_reason(reason);
    std::function<void(v1::Ack)> forward;
    {
      std::lock_guard<std::mutex> lock(mu_);
      acks_.push_back(ack);
      forward = on_ack;
    }
    if (forward) forward(std::move(ack));
  }
  void Close(std::string code, std::string reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
    closed_ = code + ": " + reason;
  }

  // The peer answered one frame: room in the window again.
  void Answered() {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_flight_ > 0) --in_flight_;
  }
  std::vector<v1::NoticeFrame> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  std::vector<v1::Ack> acks() {
    std::lock_guard<std::mutex> lock(mu_);
    return acks_;
  }
  std::string closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }
  void Drop() { open_ = false; }

  size_t window = 1000;
  size_t max_frame_bytes = 1 << 20;
  std::function<void(v1::NoticeFrame)> on_send;
  std::function<void(v1::Ack)> on_ack;

 private:
  const std::string peer_;
  std::atomic<bool> open_{true};
  std::mutex mu_;
  size_t in_flight_ = 0;
  std::vector<v1::NoticeFrame> sent_;
  std::vector<v1::Ack> acks_;
  std::string closed_;
};

// Receipts heard, by notice key.
class RecordingListener final : public node::ReceiptListener {
 public:
  void ReceiptsChanged(const std::string& key, std::vector<v1::Receipt> receipts) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : receipts) heard_.emplace_back(key, std::move(r));
  }
  std::vector<std::pair<std::string, v1::Receipt>> heard() {
    std::lock_guard<std::mutex> lock(mu_);
    return heard_;
  }

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, v1::Receipt>> heard_;
};

// A new Ed25519 private key, PEM, made in memory.
inline std::string NewSigningKeyPem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

}  // namespace sevex::testing

#endif  // SEVEX_TESTS_NODE_PARTS_SUPPORT_H_
