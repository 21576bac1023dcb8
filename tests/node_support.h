// node_support.h — for the tests that run `sevex node` processes: waiting for what the nodes do
// in their own time, and a node's HTTP endpoint (/metrics, /healthz) as a scraper sees it.
//
//   ASSERT_TRUE(WaitFor([&] {
//     return Sample(HttpGet(net->MetricsAddress("cl.csirt"), "/metrics").body,
//                   "sevex_peer_session_up{peer=\"uk.ncsc\"}") == 1.0;
//   }));
#ifndef SEVEX_TESTS_NODE_SUPPORT_H_
#define SEVEX_TESTS_NODE_SUPPORT_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace sevex::testing {

// Calls `done` every 50 ms until it returns true or `timeout` has passed; whether it did. It is
// called once more at the deadline.
bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout = std::chrono::seconds(60));

struct HttpReply {
  unsigned status = 0;  // 0 when no response came; `error` says why
  std::string content_type;
  std::string body;
  std::string error;
};

// One HTTP/1.1 request (`method`, e.g. "GET" or "POST") for `target` on a fresh connection to
// `address` ("host:port"), within 10 s. Never throws: a node that is not (yet) listening is a
// reply with status 0, so it can be polled with WaitFor.
HttpReply HttpRequest(const std::string& address, const std::string& target, const std::string& method);
inline HttpReply HttpGet(const std::string& address, const std::string& target) {
  return HttpRequest(address, target, "GET");
}

// The value of the sample `series` — a metric's name and labels exactly as the text exposition
// format writes them, e.g. `sevex_peer_queue_depth{peer="uk.ncsc"}` — in a /metrics body.
std::optional<double> Sample(const std::string& metrics, const std::string& series);

}  // namespace sevex::testing

#endif  // SEVEX_TESTS_NODE_SUPPORT_H_
