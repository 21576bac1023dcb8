// http_endpoint.h — a small HTTP/1.1 server (Boost.Beast) for the node's /metrics and /healthz
// on a local address. Plain HTTP, for a scraper on the same host or management network: it
// never carries notices. Every request is bounded: 8 KiB of headers, 4 KiB of body (ignored),
// 5 s to arrive; at most 32 connections at once. At the limit a new connection takes the place
// of the one that has waited longest for a request, so idle connections cannot keep /healthz
// out; only when all 32 are answering requests is a new one closed on accept. When accepting
// fails (EMFILE), the listener pauses 200 ms and logs once, rather than spin.
//
//   auto endpoint = HttpEndpoint::Start(io, "127.0.0.1", 9464,
//       [](const HttpRequest& r, HttpRespond respond) { respond({200, "text/plain", "ok\n"}); });
#ifndef SEVEX_NODE_HTTP_ENDPOINT_H_
#define SEVEX_NODE_HTTP_ENDPOINT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"

namespace sevex::node {

struct HttpRequest {
  std::string method;  // "GET", …
  std::string target;  // "/metrics", with any query string
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// May be called from any thread, once per request.
using HttpRespond = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest&, HttpRespond)>;

class HttpEndpoint {
 public:
  virtual ~HttpEndpoint() = default;
  // Listens on host:port (port 0: any free port) and serves on `io`'s threads.
  static absl::StatusOr<std::shared_ptr<HttpEndpoint>> Start(boost::asio::io_context& io, const std::string& host,
                                                             uint16_t port, HttpHandler handler);
  virtual uint16_t port() const = 0;
  // Stops accepting; open connections end after their current request.
  virtual void Stop() = 0;
};

}  // namespace sevex::node

#endif  // SEVEX_NODE_HTTP_ENDPOINT_H_
