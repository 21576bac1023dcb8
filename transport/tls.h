// tls.h — a node's TLS: TLS 1.3 only, mutual authentication, ALPN "sevex/1", and the peer
// allow-list that decides who may talk to this node.
//
// One `NodeTls` per node holds the server and client `ssl::context`s (built once: certificate
// decoding is the expensive part of a handshake). After each handshake, `AuthorizePeer` checks
// the peer certificate's sevex:// identity against the allow-list: the peer must be listed, its
// certificate must chain to that peer's own trust anchor or match its pin, and an outbound
// connection must reach the node it meant to. Refusals say why, before any frame is read.
//
//   ASSIGN_OR_RETURN(auto tls, NodeTls::Create(options));
//   ssl::stream<tcp::socket> stream(socket, tls->server_context());
//   stream.handshake(ssl::stream_base::server);
//   ASSIGN_OR_RETURN(std::string peer, tls->AuthorizePeer(stream.native_handle(), std::nullopt));
#ifndef SEVEX_TRANSPORT_TLS_H_
#define SEVEX_TRANSPORT_TLS_H_

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sevex::transport {

inline constexpr char kAlpn[] = "sevex/1";

// One allowed peer. Exactly one of `ca_file` and `spki_sha256` (a pin) is its trust anchor.
struct PeerEntry {
  std::string node_id;
  std::string address;      // host:port, for outbound connections
  std::string ca_file;      // PEM file of the CA that issues this peer's certificates
  std::string spki_sha256;  // or: hex SHA-256 of the peer's public key (SubjectPublicKeyInfo)
};

struct TlsOptions {
  std::string node_id;    // this node; must match its own certificate's identity
  std::string cert_file;  // PEM chain, leaf first
  std::string key_file;   // PEM private key
  std::vector<PeerEntry> peers;
};

// The latest TLS session ticket from one peer, so that the next connection to it can resume
// instead of running a full handshake. Thread-safe; one per outbound peer link.
class ResumptionSlot {
 public:
  ResumptionSlot() = default;
  ResumptionSlot(const ResumptionSlot&) = delete;
  ResumptionSlot& operator=(const ResumptionSlot&) = delete;
  ~ResumptionSlot();
  void Store(SSL_SESSION* session);  // takes ownership
  SSL_SESSION* Take();               // a new reference, or null; the caller frees it

 private:
  std::mutex mu_;
  SSL_SESSION* session_ = nullptr;
};

// Immutable after Create(); the contexts may be shared by all sessions of the node.
class NodeTls {
 public:
  // Loads and checks the node's own certificate and key (they must match, carry `node_id`,
  // and be currently valid) and every peer's trust anchor. Errors name the file or peer.
  static absl::StatusOr<std::unique_ptr<NodeTls>> Create(const TlsOptions& options);

  boost::asio::ssl::context& server_context() { return server_; }
  boost::asio::ssl::context& client_context() { return client_; }
  const std::string& node_id() const { return node_id_; }

  // After a successful handshake on `ssl`: the peer's node id, or PermissionDenied with the
  // reason (not listed, wrong trust anchor, pin mismatch, not the expected peer, no ALPN).
  absl::StatusOr<std::string> AuthorizePeer(SSL* ssl, std::optional<absl::string_view> expected_peer) const;

  // Before a client handshake: offer the ticket in `slot` (if any) and file the tickets this
  // connection receives there.
  static void PrepareClient(SSL* ssl, ResumptionSlot* slot);

  // Why a handshake on `ssl` failed, for the log: the certificate verification error when
  // there was one, else `error` (Asio's description).
  static std::string HandshakeFailureReason(SSL* ssl, absl::string_view error);

  ~NodeTls();

 private:
  struct Peer;
  NodeTls();
  std::string node_id_;
  boost::asio::ssl::context server_;
  boost::asio::ssl::context client_;
  std::vector<std::unique_ptr<Peer>> peers_;
};

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_TLS_H_
