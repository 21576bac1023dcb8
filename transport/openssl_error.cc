#include "transport/openssl_error.h"

#include <openssl/err.h>

#include "absl/strings/str_cat.h"

namespace sevex::transport {

absl::Status OpenSslError(absl::string_view what, absl::StatusCode code) {
  std::string message(what);
  const char* sep = ": ";
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    absl::StrAppend(&message, sep, buf);
    sep = "; ";
  }
  return absl::Status(code, message);
}

}  // namespace sevex::transport
