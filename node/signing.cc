#include "node/signing.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/openssl_error.h"

namespace sevex::node {
namespace {

using transport::OpenSslError;

constexpr size_t kHashSize = 32;
constexpr size_t kSignatureSize = 64;
constexpr size_t kMaxKeyFileBytes = 64 * 1024;
constexpr uint32_t kMaxTreeSize = 1'000'000;
constexpr int kMaxPathEntries = 64;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free); }

// Hashing only fails when OpenSSL cannot allocate; a wrong hash would be worse than stopping.
[[noreturn]] void HashFailed() {
  std::fputs("sevex: SHA-256 through OpenSSL failed\n", stderr);
  std::abort();
}

const EVP_MD* Sha256() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

// SHA-256(tag || a || b).
std::string TaggedHash(unsigned char tag, absl::string_view a, absl::string_view b = {}) {
  // One context per thread, re-initialised for each hash: a verified batch hashes every leaf
  // and its whole path, and allocating a context each time cost more than the hashing.
  thread_local const MdCtx ctx(EVP_MD_CTX_new());
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || !EVP_DigestInit_ex(ctx.get(), Sha256(), nullptr) || !EVP_DigestUpdate(ctx.get(), &tag, 1) ||
      !EVP_DigestUpdate(ctx.get(), a.data(), a.size()) || !EVP_DigestUpdate(ctx.get(), b.data(), b.size()) ||
      !EVP_DigestFinal_ex(ctx.get(), out, &len) || len != kHashSize) {
    HashFailed();
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string NodeHash(absl::string_view left, absl::string_view right) { return TaggedHash(0x01, left, right); }

// The tree as levels: levels[0] are the leaves, each next level pairs the one below, an odd last
// node moving up unchanged. This is the RFC 6962 tree (split at the largest power of two < n)
// built bottom-up, so the root and the audit paths are the RFC's.
std::vector<std::vector<std::string>> Levels(const std::vector<std::string>& leaf_hashes) {
  std::vector<std::vector<std::string>> levels;
  levels.push_back(leaf_hashes);
  while (levels.back().size() > 1) {
    const std::vector<std::string>& below = levels.back();
    std::vector<std::string> up;
    up.reserve((below.size() + 1) / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2) up.push_back(NodeHash(below[i], below[i + 1]));
    if (below.size() % 2 == 1) up.push_back(below.back());
    levels.push_back(std::move(up));
  }
  return levels;
}

std::vector<std::string> PathFromLevels(const std::vector<std::vector<std::string>>& levels, size_t index) {
  std::vector<std::string> path;
  for (size_t level = 0; level + 1 < levels.size(); ++level, index /= 2) {
    const size_t sibling = index ^ 1;
    // No sibling: this node is the odd last one and moves up unchanged.
    if (sibling < levels[level].size()) path.push_back(levels[level][sibling]);
  }
  return path;
}

// A passphrase callback that never supplies one, so an encrypted key fails instead of
// prompting on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

// Reads a small regular file (a key file is untrusted input). O_NONBLOCK keeps a FIFO at the
// path from blocking the open; it changes nothing for a regular file.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    const std::string message = absl::StrCat(path, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(message) : absl::PermissionDeniedError(message);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  std::string text;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return absl::InternalError(absl::StrCat(path, ": ", why));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxKeyFileBytes) {
      ::close(fd);
      return absl::InvalidArgumentError(absl::StrCat(path, ": larger than 64 KiB; not a key file"));
    }
  }
  ::close(fd);
  return text;
}

absl::Status CheckEd25519(EVP_PKEY* key, absl::string_view where) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) return absl::OkStatus();
  const char* type = EVP_PKEY_get0_type_name(key);
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": the key is ", type != nullptr ? type : "of an unknown type", ", not Ed25519"));
}

absl::StatusOr<std::string> BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  if (len < 0 || (len > 0 && data == nullptr)) return absl::InternalError("reading a memory BIO");
  return std::string(data, static_cast<size_t>(len));
}

// Writes `text` to a new file with exactly `mode`; never replaces an existing file. A file it
// created but could not finish is removed.
absl::Status WriteNewFile(const std::string& path, absl::string_view text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) return absl::AlreadyExistsError(absl::StrCat(path, " exists; refusing to overwrite a key"));
    return absl::PermissionDeniedError(absl::StrCat(path, ": ", std::strerror(err)));
  }
  auto fail = [&](absl::string_view doing) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    ::unlink(path.c_str());
    return absl::InternalError(absl::StrCat(path, ": ", doing, ": ", why));
  };
  // The umask may have narrowed `mode`; the key files' modes are part of the contract.
  if (::fchmod(fd, mode) != 0) return fail("setting its mode");
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("writing");
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("syncing");
  if (::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(path.c_str());
    return absl::InternalError(absl::StrCat(path, ": closing: ", why));
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Keys.

absl::StatusOr<SigningKey> SigningKey::Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<SigningKey> key = FromPem(*text, path);
  OPENSSL_cleanse(text->data(), text->size());
  return key;
}

absl::StatusOr<SigningKey> SigningKey::FromPem(absl::string_view pem, absl::string_view where) {
  if (pem.size() > kMaxKeyFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": larger than 64 KiB; not a key"));
  }
  ERR_clear_error();
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError(absl::StrCat(where, ": reading the key"));
  std::shared_ptr<EVP_PKEY> key = Share(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!key) {
    return OpenSslError(absl::StrCat(where, ": not an unencrypted PEM private key"),
                        absl::StatusCode::kInvalidArgument);
  }
  if (absl::Status s = CheckEd25519(key.get(), where); !s.ok()) return s;
  SigningKey out;
  out.key_ = std::move(key);
  return out;
}

std::string SigningKey::Sign(absl::string_view message) const {
  // Only a default-constructed key or an allocation failure ends here empty; an empty
  // signature never verifies.
  if (!key_) return "";
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(kSignatureSize, '\0');
  size_t len = signature.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      len != kSignatureSize) {
    ERR_clear_error();
    return "";
  }
  return signature;
}

std::string SigningKey::PublicKeyPem() const {
  if (!key_) return "";
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    ERR_clear_error();
    return "";
  }
  absl::StatusOr<std::string> text = BioText(bio.get());
  return text.ok() ? *std::move(text) : "";
}

absl::StatusOr<VerifyKey> VerifyKey::Load(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSmallFile(path);
  if (!text.ok()) return text.status();
  return FromPem(*text, path);
}

absl::StatusOr<VerifyKey> VerifyKey::FromPem(absl::string_view pem, absl::string_view where) {
  if (pem.size() > kMaxKeyFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": larger than 64 KiB; not a key"));
  }
  ERR_clear_error();
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError(absl::StrCat(where, ": reading the key"));
  std::shared_ptr<EVP_PKEY> key = Share(PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr));
  if (!key) return OpenSslError(absl::StrCat(where, ": not a PEM public key"), absl::StatusCode::kInvalidArgument);
  if (absl::Status s = CheckEd25519(key.get(), where); !s.ok()) return s;
  VerifyKey out;
  out.key_ = std::move(key);
  return out;
}

bool VerifyKey::Verify(absl::string_view message, absl::string_view signature) const {
  if (!key_ || signature.size() != kSignatureSize) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  const bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
                  EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                   signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                                   message.size()) == 1;
  if (!ok) ERR_clear_error();  // a bad signature is an answer, not an error to report later
  return ok;
}

absl::Status WriteSigningKeyPair(const std::string& private_path, const std::string& public_path) {
  if (private_path == public_path) {
    return absl::InvalidArgumentError(
        absl::StrCat(private_path, ": the private and the public key cannot be the same file"));
  }
  // Refuse before writing anything, so a refusal leaves no half pair behind.
  if (Exists(private_path)) {
    return absl::AlreadyExistsError(absl::StrCat(private_path, " exists; refusing to overwrite a key"));
  }
  if (Exists(public_path)) {
    return absl::AlreadyExistsError(absl::StrCat(public_path, " exists; refusing to overwrite a key"));
  }
  ERR_clear_error();
  std::shared_ptr<EVP_PKEY> key = Share(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return OpenSslError(absl::StrCat(private_path, ": generating an Ed25519 key"));

  Bio private_bio(BIO_new(BIO_s_mem()));
  if (!private_bio ||
      PEM_write_bio_PKCS8PrivateKey(private_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError(absl::StrCat(private_path, ": encoding the private key"));
  }
  absl::StatusOr<std::string> private_pem = BioText(private_bio.get());
  if (!private_pem.ok()) return absl::InternalError(absl::StrCat(private_path, ": encoding the private key"));

  Bio public_bio(BIO_new(BIO_s_mem()));
  if (!public_bio || PEM_write_bio_PUBKEY(public_bio.get(), key.get()) != 1) {
    OPENSSL_cleanse(private_pem->data(), private_pem->size());
    return OpenSslError(absl::StrCat(public_path, ": encoding the public key"));
  }
  absl::StatusOr<std::string> public_pem = BioText(public_bio.get());
  if (!public_pem.ok()) {
    OPENSSL_cleanse(private_pem->data(), private_pem->size());
    return absl::InternalError(absl::StrCat(public_path, ": encoding the public key"));
  }

  absl::Status written = WriteNewFile(private_path, *private_pem, 0600);
  OPENSSL_cleanse(private_pem->data(), private_pem->size());
  if (!written.ok()) return written;
  written = WriteNewFile(public_path, *public_pem, 0644);
  if (!written.ok()) {
    // The private key was created just now and never used; without its public half it is
    // only a trap for the next attempt.
    ::unlink(private_path.c_str());
    return written;
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Merkle tree.

std::string LeafHash(absl::string_view data) { return TaggedHash(0x00, data); }

std::string MerkleRoot(const std::vector<std::string>& leaf_hashes) {
  if (leaf_hashes.empty()) {
    // MTH({}) = SHA-256 of the empty string.
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest("", 0, out, &len, Sha256(), nullptr) || len != kHashSize) HashFailed();
    return std::string(reinterpret_cast<const char*>(out), len);
  }
  return Levels(leaf_hashes).back().front();
}

std::vector<std::string> AuditPath(const std::vector<std::string>& leaf_hashes, size_t index) {
  if (index >= leaf_hashes.size()) return {};
  return PathFromLevels(Levels(leaf_hashes), index);
}

absl::StatusOr<std::string> RootFromPath(absl::string_view leaf_hash, uint32_t index, uint32_t size,
                                         const std::vector<std::string>& path) {
  if (size == 0) return absl::InvalidArgumentError("tree size 0");
  if (index >= size) return absl::InvalidArgumentError(absl::StrCat("leaf index ", index, " >= tree size ", size));
  if (leaf_hash.size() != kHashSize) {
    return absl::InvalidArgumentError(absl::StrCat("leaf hash of ", leaf_hash.size(), " bytes, not 32"));
  }
  // RFC 9162 §2.1.3.2.
  uint32_t fn = index;
  uint32_t sn = size - 1;
  std::string r(leaf_hash);
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& p = path[i];
    if (p.size() != kHashSize) {
      return absl::InvalidArgumentError(absl::StrCat("path element ", i, " is ", p.size(), " bytes, not 32"));
    }
    if (sn == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("path of ", path.size(), " elements is too long for leaf ", index, " of ", size));
    }
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("path of ", path.size(), " elements is too short for leaf ", index, " of ", size));
  }
  return r;
}

std::vector<v1::SignedNotice> SignBatch(const SigningKey& key, const std::vector<std::string>& notices) {
  if (notices.empty()) return {};
  std::vector<std::string> leaves;
  leaves.reserve(notices.size());
  for (const std::string& notice : notices) leaves.push_back(LeafHash(notice));
  const std::vector<std::vector<std::string>> levels = Levels(leaves);
  const std::string& root = levels.back().front();
  const std::string signature = key.Sign(absl::StrCat(kBatchSignaturePrefix, root));

  std::vector<v1::SignedNotice> envelopes;
  envelopes.reserve(notices.size());
  for (size_t i = 0; i < notices.size(); ++i) {
    v1::SignedNotice& envelope = envelopes.emplace_back();
    envelope.set_notice(notices[i]);
    envelope.set_root_signature(signature);
    envelope.set_leaf_index(static_cast<uint32_t>(i));
    envelope.set_tree_size(static_cast<uint32_t>(notices.size()));
    for (std::string& sibling : PathFromLevels(levels, i)) envelope.add_path(std::move(sibling));
  }
  return envelopes;
}

// ---------------------------------------------------------------------------------------------
// Verification.

namespace {

// origin '\0' root signature. VerifyEnvelope always passes 96 bytes after the origin, so the
// key's length fixes where the origin ends even if an origin held a NUL.
std::string CacheKey(absl::string_view origin, absl::string_view root_and_signature) {
  return absl::StrCat(origin, absl::string_view("\0", 1), root_and_signature);
}

}  // namespace

bool RootCache::Contains(absl::string_view origin, absl::string_view root_and_signature) {
  const std::string key = CacheKey(origin, root_and_signature);
  std::lock_guard<std::mutex> lock(mu_);
  return seen_.contains(key);
}

void RootCache::Insert(absl::string_view origin, absl::string_view root_and_signature) {
  if (capacity_ == 0) return;
  std::string key = CacheKey(origin, root_and_signature);
  std::lock_guard<std::mutex> lock(mu_);
  if (seen_.size() >= capacity_ && !seen_.contains(key)) seen_.clear();
  seen_.insert(std::move(key));
}

absl::Status VerifyEnvelope(const VerifyKey& key, absl::string_view origin, const v1::SignedNotice& envelope,
                            RootCache* cache) {
  const uint32_t size = envelope.tree_size();
  const uint32_t index = envelope.leaf_index();
  if (size == 0 || size > kMaxTreeSize) {
    return absl::UnauthenticatedError(
        absl::StrCat("a notice from ", origin, " claims tree size ", size, ", outside 1..", kMaxTreeSize));
  }
  if (index >= size) {
    return absl::UnauthenticatedError(
        absl::StrCat("a notice from ", origin, " claims leaf ", index, " of a tree of ", size));
  }
  if (envelope.path_size() > kMaxPathEntries) {
    return absl::UnauthenticatedError(absl::StrCat("a notice from ", origin, " carries an audit path of ",
                                                   envelope.path_size(), " hashes, more than ", kMaxPathEntries));
  }
  const std::vector<std::string> path(envelope.path().begin(), envelope.path().end());
  absl::StatusOr<std::string> root = RootFromPath(LeafHash(envelope.notice()), index, size, path);
  if (!root.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("a notice from ", origin, " has a bad audit path: ", root.status().message()));
  }
  const std::string& signature = envelope.root_signature();
  if (signature.size() != kSignatureSize) {
    return absl::UnauthenticatedError(absl::StrCat("a notice from ", origin, " carries a root signature of ",
                                                   signature.size(), " bytes, not ", kSignatureSize));
  }
  const std::string root_and_signature = absl::StrCat(*root, signature);
  if (cache != nullptr && cache->Contains(origin, root_and_signature)) return absl::OkStatus();
  if (!key.Verify(absl::StrCat(kBatchSignaturePrefix, *root), signature)) {
    return absl::UnauthenticatedError(absl::StrCat("the origin signature of ", origin, " does not verify"));
  }
  if (cache != nullptr) cache->Insert(origin, root_and_signature);
  return absl::OkStatus();
}

}  // namespace sevex::node
