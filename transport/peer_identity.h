// peer_identity.h — who a certificate says its holder is.
//
// A node's identity is the URI subject-alternative name `sevex://<node-id>` of its certificate;
// peers may also be pinned by the SHA-256 of the certificate's SubjectPublicKeyInfo.
//
//   ASSIGN_OR_RETURN(std::string id, NodeIdOf(cert));      // "cl.csirt"
//   std::string pin = SpkiSha256(cert);                     // 64 hex digits
#ifndef SEVEX_TRANSPORT_PEER_IDENTITY_H_
#define SEVEX_TRANSPORT_PEER_IDENTITY_H_

#include <openssl/x509.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sevex::transport {

inline constexpr absl::string_view kIdentityScheme = "sevex://";

// True for node ids such as "cl.csirt" or "eu-hub": 1-64 characters of a-z, 0-9, '.', '-',
// starting and ending with a letter or digit.
bool IsNodeId(absl::string_view id);

// The node id of the certificate's single `sevex://` URI SAN. Refused (PermissionDenied) when
// there is none, more than one, or the id is malformed: an identity must be unambiguous.
absl::StatusOr<std::string> NodeIdOf(X509* cert);

// Lower-case hex SHA-256 of the certificate's DER SubjectPublicKeyInfo (the pin).
std::string SpkiSha256(X509* cert);

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_PEER_IDENTITY_H_
