#include "transport/tls.h"

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <cstdio>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "transport/asio_error.h"
#include "transport/openssl_error.h"
#include "transport/peer_identity.h"

namespace sevex::transport {

namespace ssl = boost::asio::ssl;

struct NodeTls::Peer {
  PeerEntry entry;
  X509_STORE* store = nullptr;  // this peer's own trust anchor, when it has a CA file
  ~Peer() { X509_STORE_free(store); }
};

namespace {

constexpr unsigned char kAlpnWire[] = {7, 's', 'e', 'v', 'e', 'x', '/', '1'};

// SSL ex_data index holding the connection's ResumptionSlot*.
int SlotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Called by OpenSSL for each session ticket a client connection receives.
int OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<ResumptionSlot*>(SSL_get_ex_data(ssl, SlotIndex()));
  if (slot == nullptr) return 0;  // not kept: OpenSSL frees it
  slot->Store(session);
  return 1;  // kept: the slot owns the reference now
}


int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
               void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnWire, sizeof kAlpnWire, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // a client that does not speak sevex/1 is refused
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Chain errors that a pinned peer's certificate may have (it need not chain to any CA we hold).
bool IsChainError(int error) {
  switch (error) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return true;
    default:
      return false;
  }
}

absl::StatusOr<X509*> ReadLeaf(const std::string& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) return absl::NotFoundError(absl::StrCat(file, ": cannot open"));
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (cert == nullptr) return OpenSslError(absl::StrCat(file, ": not a PEM certificate"), absl::StatusCode::kInvalidArgument);
  return cert;
}

absl::Status Configure(ssl::context& ctx, const TlsOptions& options, bool server) {
  SSL_CTX* native = ctx.native_handle();
  // TLS 1.3 only: a TLS 1.2 (or older) peer fails the handshake.
  if (!SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) || !SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION)) {
    return OpenSslError("restricting to TLS 1.3");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(options.cert_file, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat(options.cert_file, ": cannot use as certificate chain: ", ec.message()));
  ctx.use_private_key_file(options.key_file, ssl::context::pem, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat(options.key_file, ": cannot use as private key: ", ec.message()));
  if (!SSL_CTX_check_private_key(native)) {
    return OpenSslError(absl::StrCat(options.key_file, " does not match ", options.cert_file), absl::StatusCode::kInvalidArgument);
  }
  for (const PeerEntry& p : options.peers) {
    if (p.ca_file.empty()) continue;
    ctx.load_verify_file(p.ca_file, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("peer ", p.node_id, ": ", p.ca_file, ": ", ec.message()));
  }
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (ec) return AsioError("setting the verify mode", ec);
  if (server) {
    SSL_CTX_set_alpn_select_cb(native, &SelectAlpn, nullptr);
    static constexpr unsigned char kSessionContext[] = "sevex/1";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  } else {
    if (SSL_CTX_set_alpn_protos(native, kAlpnWire, sizeof kAlpnWire) != 0) return OpenSslError("offering ALPN sevex/1");
    // Keep TLS 1.3 tickets per peer (ResumptionSlot), not in OpenSSL's own cache.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(native, &OnNewSession);
  }
  return absl::OkStatus();
}

}  // namespace

ResumptionSlot::~ResumptionSlot() { SSL_SESSION_free(session_); }

void ResumptionSlot::Store(SSL_SESSION* session) {
  std::lock_guard<std::mutex> lock(mu_);
  SSL_SESSION_free(session_);
  session_ = session;
}

SSL_SESSION* ResumptionSlot::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (session_ == nullptr || !SSL_SESSION_is_resumable(session_)) return nullptr;
  SSL_SESSION_up_ref(session_);
  return session_;
}

void NodeTls::PrepareClient(SSL* ssl, ResumptionSlot* slot) {
  if (slot == nullptr) return;
  SSL_set_ex_data(ssl, SlotIndex(), slot);
  if (SSL_SESSION* session = slot->Take()) {
    SSL_set_session(ssl, session);
    SSL_SESSION_free(session);
  }
}

NodeTls::NodeTls() : server_(ssl::context::tls_server), client_(ssl::context::tls_client) {}
NodeTls::~NodeTls() = default;

absl::StatusOr<std::unique_ptr<NodeTls>> NodeTls::Create(const TlsOptions& options) {
  if (!IsNodeId(options.node_id)) return absl::InvalidArgumentError(absl::StrCat("node id '", options.node_id, "' is not valid"));
  std::unique_ptr<NodeTls> tls(new NodeTls());
  tls->node_id_ = options.node_id;

  // The node's own certificate must say who it is and be valid now.
  ASSIGN_OR_RETURN(auto leaf, ReadLeaf(options.cert_file));
  std::unique_ptr<X509, decltype(&X509_free)> own(leaf, &X509_free);
  auto own_id = NodeIdOf(own.get());
  if (!own_id.ok()) return absl::InvalidArgumentError(absl::StrCat(options.cert_file, ": ", own_id.status().message()));
  if (*own_id != options.node_id) {
    return absl::InvalidArgumentError(absl::StrCat(options.cert_file, " is for sevex://", *own_id, ", not sevex://", options.node_id));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(own.get())) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(options.cert_file, " has expired"));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(own.get())) >= 0) {
    return absl::InvalidArgumentError(absl::StrCat(options.cert_file, " is not valid yet"));
  }

  absl::flat_hash_set<std::string> ids;
  for (const PeerEntry& p : options.peers) {
    if (!IsNodeId(p.node_id)) return absl::InvalidArgumentError(absl::StrCat("peer id '", p.node_id, "' is not valid"));
    if (!ids.insert(p.node_id).second) return absl::InvalidArgumentError(absl::StrCat("peer ", p.node_id, " is listed twice"));
    if (p.ca_file.empty() == p.spki_sha256.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("peer ", p.node_id, ": give exactly one trust anchor, a CA file or a pin"));
    }
    auto peer = std::make_unique<Peer>();
    peer->entry = p;
    if (!p.ca_file.empty()) {
      peer->store = X509_STORE_new();
      if (peer->store == nullptr || X509_STORE_load_file(peer->store, p.ca_file.c_str()) != 1) {
        return OpenSslError(absl::StrCat("peer ", p.node_id, ": cannot load CA file ", p.ca_file), absl::StatusCode::kInvalidArgument);
      }
    } else if (p.spki_sha256.size() != 64) {
      return absl::InvalidArgumentError(absl::StrCat("peer ", p.node_id, ": a pin is 64 hex digits of SHA-256"));
    }
    tls->peers_.push_back(std::move(peer));
  }
  for (bool server : {true, false}) {
    auto& ctx = server ? tls->server_ : tls->client_;
    RETURN_IF_ERROR(Configure(ctx, options, server));
    // Accept chain errors only for a leaf whose key is pinned for some peer; expiry and every
    // other error still fail the handshake. Which peer it must be is checked in AuthorizePeer.
    NodeTls* self = tls.get();
    ctx.set_verify_callback([self](bool preverified, ssl::verify_context& vctx) {
      if (preverified) return true;
      X509_STORE_CTX* store = vctx.native_handle();
      if (!IsChainError(X509_STORE_CTX_get_error(store))) return false;
      const std::string pin = SpkiSha256(X509_STORE_CTX_get0_cert(store));
      for (const auto& p : self->peers_) {
        if (!p->entry.spki_sha256.empty() && p->entry.spki_sha256 == pin) return true;
      }
      return false;
    });
  }
  return tls;
}

absl::StatusOr<std::string> NodeTls::AuthorizePeer(SSL* ssl, std::optional<absl::string_view> expected_peer) const {
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (absl::string_view(reinterpret_cast<const char*>(alpn), alpn_len) != kAlpn) {
    return absl::PermissionDeniedError("ALPN sevex/1 was not negotiated");
  }
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return absl::PermissionDeniedError("the peer presented no certificate");
  ASSIGN_OR_RETURN(auto id, NodeIdOf(cert));
  // A resumed session skips certificate verification: check validity here for every session.
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
    return absl::PermissionDeniedError(absl::StrCat("sevex://", id, "'s certificate has expired"));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
    return absl::PermissionDeniedError(absl::StrCat("sevex://", id, "'s certificate is not valid yet"));
  }
  const Peer* peer = nullptr;
  for (const auto& p : peers_) {
    if (p->entry.node_id == id) peer = p.get();
  }
  if (peer == nullptr) return absl::PermissionDeniedError(absl::StrCat("sevex://", id, " is not in the peer allow-list"));
  if (expected_peer && *expected_peer != id) {
    return absl::PermissionDeniedError(absl::StrCat("connected to ", *expected_peer, " but its certificate says sevex://", id));
  }
  if (!peer->entry.spki_sha256.empty()) {
    if (SpkiSha256(cert) != peer->entry.spki_sha256) {
      return absl::PermissionDeniedError(absl::StrCat("sevex://", id, " presented a key that does not match its pin"));
    }
    return id;
  }
  // The certificate must chain to this peer's own CA, not merely to some CA we trust.
  X509_STORE_CTX* vctx = X509_STORE_CTX_new();
  if (vctx == nullptr || X509_STORE_CTX_init(vctx, peer->store, cert, SSL_get_peer_cert_chain(ssl)) != 1) {
    X509_STORE_CTX_free(vctx);
    return OpenSslError("verifying a peer certificate");
  }
  const bool ok = X509_verify_cert(vctx) == 1;
  const int error = X509_STORE_CTX_get_error(vctx);
  X509_STORE_CTX_free(vctx);
  if (!ok) {
    return absl::PermissionDeniedError(absl::StrCat("sevex://", id, "'s certificate is not issued by its configured CA (",
                                                    peer->entry.ca_file, "): ", X509_verify_cert_error_string(error)));
  }
  return id;
}

std::string NodeTls::HandshakeFailureReason(SSL* ssl, absl::string_view error) {
  const long verify = ssl == nullptr ? X509_V_OK : SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) return absl::StrCat("certificate verification failed: ", X509_verify_cert_error_string(verify));
  return std::string(error);
}

}  // namespace sevex::transport
