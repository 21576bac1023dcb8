// asio_error.h — how a Boost.Asio / Boost.System error becomes an absl::Status: UNAVAILABLE,
// with what was being done and the system's message. The transport's errors go through it; the
// node's listeners (API socket, HTTP endpoint) word their own, naming the configuration field.
#ifndef SEVEX_TRANSPORT_ASIO_ERROR_H_
#define SEVEX_TRANSPORT_ASIO_ERROR_H_

#include <boost/system/error_code.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sevex::transport {

inline absl::Status AsioError(absl::string_view what, const boost::system::error_code& ec) {
  if (!ec) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(what, ": ", ec.message()));
}

}  // namespace sevex::transport

#endif  // SEVEX_TRANSPORT_ASIO_ERROR_H_
