#include "node/metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sevex::node {
namespace {

struct Family {
  const char* name;
  const char* help;
  std::vector<const char*> labels;
};

const Family& FamilyOf(Counter c) {
  static const Family kFamilies[kCounterCount] = {
      {"sevex_notices_submitted_total", "Notices submitted at this node and stored.", {}},
      {"sevex_submissions_failed_total", "Submissions refused by this node, by reason.", {"reason"}},
      {"sevex_notices_delivered_total", "Notices the next hop acknowledged, by peer.", {"peer"}},
      {"sevex_notices_refused_total", "Notices the next hop refused, by peer and reason code.", {"peer", "reason"}},
      {"sevex_notices_received_total", "Notices received and stored, by the peer they came from.", {"peer"}},
      {"sevex_notices_duplicate_total", "Notices received again after they were stored, by peer.", {"peer"}},
      {"sevex_notices_rejected_total", "Notices this node refused to store, by peer and reason code.",
       {"peer", "reason"}},
      {"sevex_handshake_failures_total", "Sessions that ended before both sides were authenticated, by reason.",
       {"reason"}},
      {"sevex_sessions_opened_total", "Authenticated sessions opened, by peer.", {"peer"}},
      {"sevex_store_commit_failures_total", "Store transactions rolled back (disk full, I/O error).", {}},
  };
  return kFamilies[static_cast<size_t>(c)];
}

std::string Key(std::initializer_list<absl::string_view> labels) { return absl::StrJoin(labels, std::string(1, '\0')); }

std::string LabelText(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return "";
  std::vector<std::string> parts;
  for (const auto& [name, value] : labels) parts.push_back(absl::StrCat(name, "=\"", PrometheusEscape(value), "\""));
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

std::string Number(double v) {
  // Integers print without a fraction; others with enough digits to round-trip what we measure.
  if (v == static_cast<double>(static_cast<int64_t>(v))) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrCat(v);
}

}  // namespace

std::string PrometheusEscape(absl::string_view value) {
  std::string out;
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

Metrics::Metrics() = default;

void Metrics::Count(Counter counter, std::initializer_list<absl::string_view> labels, uint64_t n) {
  std::string key = Key(labels);
  std::lock_guard<std::mutex> lock(mu_);
  auto& family = series_[static_cast<size_t>(counter)];
  auto it = family.find(key);
  if (it == family.end()) {
    if (family.size() >= kMaxSeriesPerFamily) {
      std::vector<absl::string_view> other(labels.size(), "other");
      key = absl::StrJoin(other, std::string(1, '\0'));
    }
    it = family.try_emplace(std::move(key), 0).first;
  }
  it->second += n;
}

void Metrics::ObserveCommit(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++commit_count_;
  commit_sum_ += seconds;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++bucket_counts_[i];
      break;
    }
  }
}

uint64_t Metrics::Value(Counter counter, std::initializer_list<absl::string_view> labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto& family = series_[static_cast<size_t>(counter)];
  auto it = family.find(Key(labels));
  return it == family.end() ? 0 : it->second;
}

std::string Metrics::Render(const std::vector<GaugeSample>& gauges) const {
  std::string out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t c = 0; c < kCounterCount; ++c) {
      const Family& f = FamilyOf(static_cast<Counter>(c));
      absl::StrAppend(&out, "# HELP ", f.name, " ", f.help, "\n# TYPE ", f.name, " counter\n");
      if (f.labels.empty()) {
        auto it = series_[c].find("");
        absl::StrAppend(&out, f.name, " ", it == series_[c].end() ? 0 : it->second, "\n");
        continue;
      }
      for (const auto& [key, value] : series_[c]) {
        std::vector<std::string> values = absl::StrSplit(key, '\0');
        std::vector<std::pair<std::string, std::string>> labels;
        for (size_t i = 0; i < f.labels.size(); ++i) labels.emplace_back(f.labels[i], i < values.size() ? values[i] : "");
        absl::StrAppend(&out, f.name, LabelText(labels), " ", value, "\n");
      }
    }
    constexpr char kHist[] = "sevex_store_commit_seconds";
    absl::StrAppend(&out, "# HELP ", kHist, " Time to apply and fsync one group commit of the store.\n# TYPE ", kHist,
                    " histogram\n");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += bucket_counts_[i];
      absl::StrAppend(&out, kHist, "_bucket{le=\"", Number(kBuckets[i]), "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, kHist, "_bucket{le=\"+Inf\"} ", commit_count_, "\n", kHist, "_sum ", Number(commit_sum_),
                    "\n", kHist, "_count ", commit_count_, "\n");
  }
  std::vector<std::string> done;
  for (const GaugeSample& g : gauges) {
    if (std::find(done.begin(), done.end(), g.name) != done.end()) continue;
    done.push_back(g.name);
    absl::StrAppend(&out, "# HELP ", g.name, " ", g.help, "\n# TYPE ", g.name, " gauge\n");
    for (const GaugeSample& s : gauges) {
      if (s.name == g.name) absl::StrAppend(&out, s.name, LabelText(s.labels), " ", Number(s.value), "\n");
    }
  }
  return out;
}

}  // namespace sevex::node
