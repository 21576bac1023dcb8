#include "transport/pki.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "transport/openssl_error.h"
#include "transport/peer_identity.h"

namespace sevex::transport {
namespace {

namespace fs = std::filesystem;

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
void FreeBio(BIO* b) { BIO_free(b); }
using Bio = std::unique_ptr<BIO, Deleter<BIO, FreeBio>>;

absl::StatusOr<Key> NewP256Key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("generating an ECDSA P-256 key");
  return key;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, len);
}

// Writes `text` to a new file with `mode`; never replaces an existing file.
absl::Status WriteNew(const fs::path& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError(absl::StrCat(path.string(), " exists; not overwriting it"));
    return absl::InternalError(absl::StrCat(path.string(), ": ", std::strerror(errno)));
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return absl::InternalError(absl::StrCat(path.string(), ": ", why));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return absl::InternalError(absl::StrCat(path.string(), ": cannot write"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return OpenSslError("encoding a private key");
  }
  return BioText(bio.get());
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) return OpenSslError("encoding a certificate");
  return BioText(bio.get());
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return OpenSslError(absl::StrCat("building extension ", OBJ_nid2sn(nid), " = ", value));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return OpenSslError("adding an extension");
  return absl::OkStatus();
}

// A certificate for `key` named `cn`, valid from now + offset for `days`, with a random serial.
absl::StatusOr<Cert> NewCertificate(EVP_PKEY* key, const std::string& cn, int days, int64_t offset_s) {
  Cert cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), 2)) return OpenSslError("creating a certificate");
  BIGNUM* serial = BN_new();
  if (serial == nullptr || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()))) {
    BN_free(serial);
    return OpenSslError("choosing a serial number");
  }
  BN_free(serial);
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0)) {
    return OpenSslError("naming a certificate");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), offset_s) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), offset_s + int64_t{days} * 86400) ||
      !X509_set_pubkey(cert.get(), key)) {
    return OpenSslError("setting validity and key");
  }
  return cert;
}

absl::StatusOr<std::string> ReadSmall(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(path.string(), ": ", ec.message()));
  if (size > 64 * 1024) return absl::InvalidArgumentError(absl::StrCat(path.string(), ": larger than 64 KiB"));
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::StatusOr<Cert> LoadCert(const fs::path& path) {
  ASSIGN_OR_RETURN(auto text, ReadSmall(path));
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return OpenSslError(absl::StrCat(path.string(), ": not a PEM certificate"), absl::StatusCode::kInvalidArgument);
  return cert;
}

absl::StatusOr<Key> LoadKey(const fs::path& path) {
  ASSIGN_OR_RETURN(auto text, ReadSmall(path));
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpenSslError(absl::StrCat(path.string(), ": not a PEM private key"), absl::StatusCode::kInvalidArgument);
  return key;
}

std::string NameText(const X509_NAME* name) {
  Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  return BioText(bio.get());
}

std::string TimeText(const ASN1_TIME* t) {
  struct tm tm;
  if (!ASN1_TIME_to_tm(t, &tm)) return "?";
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace

absl::Status InitCa(const fs::path& dir, absl::string_view name, int days) {
  if (days <= 0) return absl::InvalidArgumentError("--days must be positive");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat(dir.string(), ": ", ec.message()));
  fs::permissions(dir, fs::perms::owner_all, ec);
  if (fs::exists(dir / kCaKeyFile) || fs::exists(dir / kCaCertFile)) {
    return absl::AlreadyExistsError(absl::StrCat(dir.string(), " already holds a CA; not overwriting it"));
  }
  ASSIGN_OR_RETURN(auto key, NewP256Key());
  ASSIGN_OR_RETURN(auto cert, NewCertificate(key.get(), std::string(name), days, 0));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"},
           {NID_subject_key_identifier, "hash"}}) {
    RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), nid, value));
  }
  if (!X509_sign(cert.get(), key.get(), EVP_sha256())) return OpenSslError("signing the CA certificate");
  ASSIGN_OR_RETURN(auto key_pem, KeyPem(key.get()));
  ASSIGN_OR_RETURN(auto cert_pem, CertPem(cert.get()));
  RETURN_IF_ERROR(WriteNew(dir / kCaKeyFile, key_pem, 0600));
  return WriteNew(dir / kCaCertFile, cert_pem, 0644);
}

absl::Status IssueNode(const fs::path& dir, const IssueOptions& options) {
  if (!IsNodeId(options.node_id)) {
    return absl::InvalidArgumentError(absl::StrCat("node id '", options.node_id,
                                                   "' must be 1-64 characters of a-z, 0-9, '.' and '-'"));
  }
  if (options.days <= 0) return absl::InvalidArgumentError("--days must be positive");
  ASSIGN_OR_RETURN(auto ca_key, LoadKey(dir / kCaKeyFile));
  ASSIGN_OR_RETURN(auto ca_cert, LoadCert(dir / kCaCertFile));
  const fs::path key_path = dir / (options.node_id + ".key");
  const fs::path cert_path = dir / (options.node_id + ".crt");
  if (fs::exists(key_path) || fs::exists(cert_path)) {
    return absl::AlreadyExistsError(absl::StrCat(key_path.string(), " or its certificate exists; not overwriting"));
  }
  ASSIGN_OR_RETURN(auto key, NewP256Key());
  ASSIGN_OR_RETURN(auto cert,
                   NewCertificate(key.get(), options.node_id, options.days, options.not_before_offset_s));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  std::vector<std::string> sans;
  if (options.uris.empty()) {
    sans.push_back(absl::StrCat("URI:", kIdentityScheme, options.node_id));
  } else {
    for (const auto& u : options.uris) sans.push_back(absl::StrCat("URI:", u));
  }
  for (const auto& d : options.dns_names) sans.push_back(absl::StrCat("DNS:", d));
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:FALSE"},
           {NID_key_usage, "critical,digitalSignature"},
           {NID_ext_key_usage, "serverAuth,clientAuth"},
           {NID_subject_alt_name, absl::StrJoin(sans, ",")},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"}}) {
    RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), nid, value));
  }
  if (!X509_sign(cert.get(), ca_key.get(), EVP_sha256())) return OpenSslError("signing the node certificate");
  ASSIGN_OR_RETURN(auto key_pem, KeyPem(key.get()));
  ASSIGN_OR_RETURN(auto cert_pem, CertPem(cert.get()));
  RETURN_IF_ERROR(WriteNew(key_path, key_pem, 0600));
  return WriteNew(cert_path, cert_pem, 0644);
}

absl::StatusOr<CertificateInfo> ReadCertificate(const fs::path& file) {
  ASSIGN_OR_RETURN(auto cert, LoadCert(file));
  CertificateInfo info;
  info.subject = NameText(X509_get_subject_name(cert.get()));
  info.issuer = NameText(X509_get_issuer_name(cert.get()));
  auto id = NodeIdOf(cert.get());
  if (id.ok()) {
    info.node_id = *id;
  } else {
    info.identity_error = std::string(id.status().message());
  }
  info.spki_sha256 = SpkiSha256(cert.get());
  info.not_before = TimeText(X509_get0_notBefore(cert.get()));
  info.not_after = TimeText(X509_get0_notAfter(cert.get()));
  info.is_ca = X509_check_ca(cert.get()) > 0;
  return info;
}

}  // namespace sevex::transport
