// pki.h — a development certificate authority for sevex nodes (`sevex pki`).
//
// For trying sevex out and for tests: production nodes use certificates from their national
// PKI. Keys are ECDSA P-256, written 0600, never overwritten. A node certificate carries its
// identity as the URI SAN `sevex://<node-id>` and may serve as TLS client and server.
//
//   RETURN_IF_ERROR(InitCa("pki", "sevex development CA", 3650));
//   RETURN_IF_ERROR(IssueNode("pki", {.node_id = "cl.csirt"}));   // pki/cl.csirt.{key,crt}
#ifndef SEVEX_TRANSPORT_PKI_H_
#define SEVEX_TRANSPORT_PKI_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sevex::transport {

inline constexpr char kCaKeyFile[] = "ca.key";
inline constexpr char kCaCertFile[] = "ca.crt";

// Creates DIR (0700) with ca.key and ca.crt. Refuses (AlreadyExists) to overwrite either.
absl::Status InitCa(const std::filesystem::path& dir, absl::string_view name, int days);

struct IssueOptions {
  std::string node_id;                // required: the sevex:// identity
  int days = 365;                     // validity
  int64_t not_before_offset_s = 0;    // shifts the validity window (tests: expired, not yet valid)
  std::vector<std::string> uris;      // URI SANs; empty means {"sevex://" + node_id}
  std::vector<std::string> dns_names; // DNS SANs, for clients that check a host name (gRPC)
};

// Issues DIR/<node-id>.key and DIR/<node-id>.crt signed by the CA in DIR.
absl::Status IssueNode(const std::filesystem::path& dir, const IssueOptions& options);

struct CertificateInfo {
  std::string subject;
  std::string issuer;
  std::string node_id;       // empty when the certificate has no valid sevex:// identity
  std::string identity_error;
  std::string spki_sha256;   // the pin
  std::string not_before;    // "2026-11-22 10:00:00 UTC"
  std::string not_after;
  bool is_ca = false;
};

// Reads a PEM certificate (bounded to 64 KiB).
absl::StatusOr<CertificateInfo> ReadCertificate(const std::filesystem::path& file);

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_PKI_H_
