// signing.h — origin signatures (DESIGN.md §4): Ed25519 through OpenSSL, amortised over a batch.
//
// The origin signs the root of a Merkle tree over the notices it commits together (RFC 6962
// hashing: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right)); each envelope
// carries its leaf index, the tree size and the audit path. A receiver recomputes the root and
// verifies the signature once per root (RootCache), so a batch of 100 costs one verification.
//
//   ASSIGN_OR_RETURN(SigningKey key, SigningKey::Load("cl.sign.key"));
//   std::vector<v1::SignedNotice> envelopes = SignBatch(key, serialized_notices);
//   ASSIGN_OR_RETURN(VerifyKey pub, VerifyKey::Load("cl.sign.pub"));
//   RETURN_IF_ERROR(VerifyEnvelope(pub, envelopes[0], &cache));
#ifndef SEVEX_NODE_SIGNING_H_
#define SEVEX_NODE_SIGNING_H_

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sevex/v1/node.pb.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace sevex::node {

// The domain-separation prefix of what the origin signs: prefix || 32-byte root.
inline constexpr absl::string_view kBatchSignaturePrefix{"sevex-batch-v1\0", 15};

class SigningKey {
 public:
  // A PEM Ed25519 private key file. Errors name the file.
  static absl::StatusOr<SigningKey> Load(const std::string& path);
  static absl::StatusOr<SigningKey> FromPem(absl::string_view pem, absl::string_view where);
  std::string Sign(absl::string_view message) const;  // 64 bytes
  std::string PublicKeyPem() const;
 private:
  std::shared_ptr<EVP_PKEY> key_;
};

class VerifyKey {
 public:
  // A PEM Ed25519 public key file. Errors name the file.
  static absl::StatusOr<VerifyKey> Load(const std::string& path);
  static absl::StatusOr<VerifyKey> FromPem(absl::string_view pem, absl::string_view where);
  bool Verify(absl::string_view message, absl::string_view signature) const;
 private:
  std::shared_ptr<EVP_PKEY> key_;
};

// Writes a new Ed25519 key pair as PEM: the private key 0600 (refusing to overwrite), the
// public key 0644.
absl::Status WriteSigningKeyPair(const std::string& private_path, const std::string& public_path);

// Merkle tree helpers (exposed for tests).
std::string LeafHash(absl::string_view data);
std::string MerkleRoot(const std::vector<std::string>& leaf_hashes);
std::vector<std::string> AuditPath(const std::vector<std::string>& leaf_hashes, size_t index);
// The root implied by a leaf hash and its path; error when index/size/path do not fit.
absl::StatusOr<std::string> RootFromPath(absl::string_view leaf_hash, uint32_t index, uint32_t size,
                                         const std::vector<std::string>& path);

// Signs `notices` (each a serialised v1::Notice) as one batch; one envelope per notice, in order.
std::vector<v1::SignedNotice> SignBatch(const SigningKey& key, const std::vector<std::string>& notices);

// Roots whose signature already verified, so each is verified once. Bounded; thread-safe.
class RootCache {
 public:
  explicit RootCache(size_t capacity = 4096) : capacity_(capacity) {}
  bool Contains(absl::string_view origin, absl::string_view root_and_signature);
  void Insert(absl::string_view origin, absl::string_view root_and_signature);
 private:
  std::mutex mu_;
  size_t capacity_;
  absl::flat_hash_set<std::string> seen_;
};

// OK when `envelope` is well formed and its root signature verifies under `key`; else
// Unauthenticated with the reason (bad path, wrong size, signature does not verify).
absl::Status VerifyEnvelope(const VerifyKey& key, absl::string_view origin, const v1::SignedNotice& envelope,
                            RootCache* cache);

}  // namespace sevex::node

#endif  // SEVEX_NODE_SIGNING_H_
