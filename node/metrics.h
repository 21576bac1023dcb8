// metrics.h — the node's counters and the store's commit latency, rendered in the Prometheus
// text exposition format (version 0.0.4) for /metrics. Pure bookkeeping: the HTTP side is
// http_endpoint.h, the per-peer gauges are taken from the node at scrape time.
//
//   metrics.Count(Counter::kReceived, {"uk.ncsc"});
//   metrics.ObserveCommit(0.0021);
//   std::string text = metrics.Render(gauges);
//
// Label values come partly from peers (the reason code of a refusal), so each counter family
// holds at most kMaxSeriesPerFamily label sets; further ones are counted under "other".
#ifndef SEVEX_NODE_METRICS_H_
#define SEVEX_NODE_METRICS_H_

#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace sevex::node {

enum class Counter {
  kSubmitted,          // notices submitted here and stored
  kSubmissionsFailed,  // {reason} API submissions refused (invalid, revision, store failure)
  kDelivered,          // {peer} notices the next hop acknowledged
  kRefusedByPeer,      // {peer, reason} notices the next hop refused
  kReceived,           // {peer} notices received and stored
  kDuplicates,         // {peer} notices received again (already stored)
  kRejected,           // {peer, reason} notices this node refused
  kHandshakeFailures,  // {reason} sessions that ended before Hello
  kSessionsOpened,     // {peer}
  kStoreCommitFailures,  // store transactions rolled back (disk full, I/O error)
};
inline constexpr size_t kCounterCount = 10;
inline constexpr size_t kMaxSeriesPerFamily = 64;

// One sample of a gauge taken at scrape time.
struct GaugeSample {
  std::string name;  // e.g. "sevex_peer_queue_depth"
  std::string help;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

class Metrics {
 public:
  Metrics();

  // Thread-safe. `labels` are the values, in the order the counter's comment gives.
  void Count(Counter counter, std::initializer_list<absl::string_view> labels = {}, uint64_t n = 1);
  void ObserveCommit(double seconds);

  // The value of one series (tests); 0 when it was never counted.
  uint64_t Value(Counter counter, std::initializer_list<absl::string_view> labels = {}) const;

  // Every family, the commit histogram, then `gauges` (grouped by name, in the order given).
  std::string Render(const std::vector<GaugeSample>& gauges) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,  0.5,   1,     2.5};
  mutable std::mutex mu_;
  // Per family: label values joined by '\0' → count.
  std::array<std::map<std::string, uint64_t>, kCounterCount> series_;
  std::array<uint64_t, kBuckets.size()> bucket_counts_{};  // not cumulative; summed on render
  uint64_t commit_count_ = 0;
  double commit_sum_ = 0;
};

// A label value as Prometheus text needs it inside double quotes.
std::string PrometheusEscape(absl::string_view value);

}  // namespace sevex::node

#endif  // SEVEX_NODE_METRICS_H_
