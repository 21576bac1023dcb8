// openssl_error.h — OpenSSL's error queue becomes an absl::Status here, and only here.
#ifndef SEVEX_TRANSPORT_OPENSSL_ERROR_H_
#define SEVEX_TRANSPORT_OPENSSL_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sevex::transport {

// Drains the calling thread's OpenSSL error queue into a status "what: reason; reason…".
absl::Status OpenSslError(absl::string_view what, absl::StatusCode code = absl::StatusCode::kInternal);

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_OPENSSL_ERROR_H_
