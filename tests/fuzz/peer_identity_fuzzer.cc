// peer_identity_fuzzer — a peer's certificate as DER or PEM bytes, parsed by OpenSSL and then
// read by sevex's identity code: the single `sevex://` URI SAN (NodeIdOf) and the SPKI pin
// (SpkiSha256). In a handshake OpenSSL has parsed the certificate already; what is fuzzed here
// is that everything sevex reads from a parsed certificate is handled, whatever it holds.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "transport/peer_identity.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const unsigned char* p = data;
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(size));
  if (cert == nullptr) {
    BIO* bio = BIO_new_mem_buf(data, static_cast<int>(size));
    cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
  }
  if (cert == nullptr) return 0;
  auto id = sevex::transport::NodeIdOf(cert);
  if (id.ok() && !sevex::transport::IsNodeId(*id)) std::abort();
  const std::string pin = sevex::transport::SpkiSha256(cert);
  if (!pin.empty() && pin.size() != 64) std::abort();
  X509_free(cert);
  return 0;
}
