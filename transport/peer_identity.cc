#include "transport/peer_identity.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"

namespace sevex::transport {

bool IsNodeId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(id.front()) || !alnum(id.back())) return false;
  for (char c : id) {
    if (!alnum(c) && c != '.' && c != '-') return false;
  }
  return true;
}

absl::StatusOr<std::string> NodeIdOf(X509* cert) {
  if (cert == nullptr) return absl::PermissionDeniedError("no certificate");
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return absl::PermissionDeniedError("certificate has no subject alternative name");
  std::string found;
  int count = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    const absl::string_view text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)), ASN1_STRING_length(uri));
    if (!absl::StartsWith(text, kIdentityScheme)) continue;
    ++count;
    found = std::string(text.substr(kIdentityScheme.size()));
  }
  GENERAL_NAMES_free(names);
  if (count == 0) return absl::PermissionDeniedError("certificate has no sevex:// URI subject alternative name");
  if (count > 1) return absl::PermissionDeniedError("certificate has more than one sevex:// identity");
  if (!IsNodeId(found)) {
    return absl::PermissionDeniedError(absl::StrCat("certificate identity 'sevex://", absl::CHexEscape(found),
                                                    "' is not a valid node id"));
  }
  return found;
}

std::string SpkiSha256(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(der, len, digest, &size, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

}  // namespace sevex::transport
