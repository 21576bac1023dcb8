#include "node_support.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace sevex::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

HttpReply HttpRequest(const std::string& address, const std::string& target, const std::string& method) {
  HttpReply reply;
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    reply.error = "address without a port: " + address;
    return reply;
  }
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    reply.error = "unknown method " + method;
    return reply;
  }
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  beast::error_code ec;
  const auto endpoints = resolver.resolve(address.substr(0, colon), address.substr(colon + 1), ec);
  if (!ec) stream.connect(endpoints, ec);
  http::request<http::string_body> request(verb, target, 11);
  request.set(http::field::host, address);
  if (!ec) http::write(stream, request, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  if (!ec) http::read(stream, buffer, response, ec);
  if (ec) {
    reply.error = ec.message();
    return reply;
  }
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  reply.status = response.result_int();
  reply.content_type = std::string(response[http::field::content_type]);
  reply.body = std::move(response.body());
  return reply;
}

std::optional<double> Sample(const std::string& metrics, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::StartsWith(line, series + " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
  }
  return std::nullopt;
}

}  // namespace sevex::testing
