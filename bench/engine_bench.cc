// Engine throughput on one core (docs/performance.md; run: bash bench/run.sh).
//
// What a node does per notice, measured on pre-parsed notices (the node binds each notice's
// attributes once, on intake):
//   BM_Assess/<scheme>            CompiledPolicy::Assess, verdict only (no trace: no allocation)
//   BM_AssessExplained/<scheme>   engine::AssessNotice: the full v1::Assessment with explanation,
//                                 shared placement and reporting deadlines (what `sevex classify`
//                                 prints), for comparison with the bare verdict
//   BM_TranslateDecide/<a>-><b>/{notice,level}
//                                 Translator::Decide with the notice's attributes (re-assessment,
//                                 or interval mapping when the target cannot decide exactly) and
//                                 with the source level only (attrs = nullptr)
// and, for context, the intake costs:
//   BM_Bind                       BindAttributes from the notice's protobuf Map
//   BM_ParseNoticeJson            engine::ParseNotices on one JSON notice (one-shot reader), and
//                                 /reused_reader with one NoticeReader kept across calls
//
// The corpus is 1,024 notices generated with a fixed seed: every cell of the au-asd matrix,
// every EU entity type, numbers on both sides of every CIR 2024/2690 threshold, facts that make
// an incident significant on their own rarely true, and about one attribute in eight absent (so some verdicts are not exact). Each
// benchmark cycles through it; BM_Assess/eu-nis2/no_rule_fires through the notices no rule
// catches (all 30 rules evaluated). Counters: `paths` is how many distinct decision paths (matrix
// cells, rules, `otherwise`) the notices reach, `exact` the share of exact verdicts, `steps` the
// mean number of conditions evaluated (or cells looked up) per assessment, `reassessed` the share
// of translations decided by re-assessment.
#include <benchmark/benchmark.h>

#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "embedded_policies.h"
#include "engine/assess.h"
#include "engine/attribute_set.h"
#include "engine/catalog.h"
#include "engine/notice.h"
#include "engine/policy.h"
#include "engine/translate.h"
#include "google/protobuf/util/time_util.h"
#include "sevex/v1/notice.pb.h"

namespace sevex {
namespace {

using engine::AttributeSet;
using engine::Catalog;
using engine::CompiledPolicy;

constexpr size_t kCorpusSize = 1024;  // a power of two: the index wraps with a mask
constexpr size_t kMask = kCorpusSize - 1;

// The embedded policy set, loaded once. A set that does not load (a policy being edited) makes
// every benchmark skip with the loader's message rather than crash.
const absl::StatusOr<Catalog>& Shipped() {
  static const auto* catalog =
      new absl::StatusOr<Catalog>(Catalog::Load(policies::Embedded(), "embedded:policies"));
  return *catalog;
}

// The catalog and the named schemes, or false after SkipWithError.
bool Setup(benchmark::State& state, std::initializer_list<std::pair<const char*, const CompiledPolicy**>> want) {
  const auto& catalog = Shipped();
  if (!catalog.ok()) {
    state.SkipWithError(("the embedded policies do not load: " + std::string(catalog.status().message())).c_str());
    return false;
  }
  for (const auto& [id, out] : want) {
    *out = catalog->Find(id);
    if (*out == nullptr) {
      state.SkipWithError(("no scheme '" + std::string(id) + "' in the embedded policies (have: " +
                           catalog->SchemeIds() + ")")
                              .c_str());
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// The corpus.

class CorpusBuilder {
 public:
  explicit CorpusBuilder(const engine::AttributeRegistry& registry) : r_(registry), rng_(20261122) {}

  std::vector<AttributeSet> Build() {
    std::vector<AttributeSet> corpus;
    corpus.reserve(kCorpusSize);
    for (size_t i = 0; i < kCorpusSize; ++i) corpus.push_back(Notice(i));
    return corpus;
  }

 private:
  // Values straddling the thresholds the schemes test (CIR 2024/2690 Art. 3-14 and others).
  static constexpr double kUnavailable[] = {0, 0, 0, 0, 15, 20, 21, 30, 31, 120};
  static constexpr double kUnavailableWeek[] = {0, 0, 30, 60, 61, 240};
  static constexpr double kDegraded[] = {0, 0, 0, 30, 60, 61, 180};
  static constexpr double kResponse[] = {0.05, 2, 10, 10.5, 30};
  static constexpr double kUsers[] = {0, 50, 100, 101, 5000, 150000, 200000, 200001, 999999, 1000001};
  static constexpr double kUnionUsers[] = {1e4, 1e5, 4e6, 2e7, 4.5e8};
  static constexpr double kLoss[] = {0, 0, 1e3, 1e4, 5e4, 1e5, 499999, 500000, 500001, 2e6};
  static constexpr double kTurnover[] = {2e6, 1e7, 1e8, 1e9, 1e10};
  static constexpr double kRecurring[] = {1, 1, 1, 2, 3};
  static constexpr double kDnsWrong[] = {0, 10, 999, 1000, 5000};
  static constexpr double kDnsTotal[] = {1e3, 1e5, 1e6};
  static constexpr double kGeneric[] = {0, 1, 3, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};

  AttributeSet Notice(size_t i) {
    AttributeSet a(r_.size());
    // Every attribute gets a random value, one in eight absent; those au-asd and eu-nis2 read are
    // then set again below, from values that exercise their cells and thresholds.
    for (int slot = 0; slot < r_.size(); ++slot) {
      if (Chance(8)) continue;
      const auto& def = r_.def(slot);
      switch (def.type()) {
        case v1::AttributeDef::ENUM: a.Set(slot, rng_() % def.values_size()); break;
        case v1::AttributeDef::BOOLEAN: a.Set(slot, Chance(4) ? 1 : 0); break;
        default: a.Set(slot, Pick(kGeneric));
      }
    }
    // au-asd: the 36 cells in turn; one notice in sixteen lacks the row, one the column.
    SetEnum(a, "impact_kind", static_cast<int>(i % 36 / 6), i % 16 == 7);
    SetEnum(a, "victim_tier", static_cast<int>(i % 6), i % 16 == 11);
    // eu-nis2: the 11 entity types in turn (coprime with 36: every cell meets every type).
    SetEnum(a, "entity_type", static_cast<int>(i % 11), i % 16 == 3);
    SetNumber(a, "unavailable_minutes", Pick(kUnavailable));
    SetNumber(a, "unavailable_minutes_week", Pick(kUnavailableWeek));
    SetNumber(a, "degraded_minutes", Pick(kDegraded));
    SetNumber(a, "avg_response_seconds", Pick(kResponse));
    SetNumber(a, "users_affected", Pick(kUsers));
    SetNumber(a, "union_users_total", Pick(kUnionUsers));
    SetNumber(a, "direct_loss_eur", Pick(kLoss));
    SetNumber(a, "annual_turnover_eur", Pick(kTurnover));
    SetNumber(a, "deaths", Chance(64) ? 1 : 0);
    SetNumber(a, "recurring_incidents_6_months", Pick(kRecurring));
    SetNumber(a, "recurring_loss_eur", Pick(kLoss));
    SetNumber(a, "dns_names_incorrect", Pick(kDnsWrong));
    SetNumber(a, "dns_names_total", Pick(kDnsTotal));
    // Facts that make a notice significant on their own are rare; most notices are not.
    SetBool(a, "scheduled_maintenance", 32);
    SetBool(a, "trade_secrets_exfiltrated", 32);
    SetBool(a, "considerable_health_damage", 64);
    SetBool(a, "malicious_unauthorised_access", 16);
    SetBool(a, "suspected_malicious", 2);
    SetBool(a, "misconfiguration", 4);
    SetBool(a, "physical_access_compromised", 16);
    SetBool(a, "it_asset_integrity_or_confidentiality_affected", 4);
    return a;
  }

  bool Chance(int one_in) { return rng_() % one_in == 0; }
  template <size_t N>
  double Pick(const double (&values)[N]) {
    return values[rng_() % N];
  }
  // Present with probability 7/8 (and never when `absent`).
  void SetNumber(AttributeSet& a, const char* name, double value) {
    const std::optional<int> slot = r_.Find(name);
    if (!slot) return;
    a.Clear(*slot);
    if (!Chance(8)) a.Set(*slot, value);
  }
  void SetBool(AttributeSet& a, const char* name, int true_one_in) {
    const bool value = Chance(true_one_in);
    SetNumber(a, name, value ? 1 : 0);
  }
  void SetEnum(AttributeSet& a, const char* name, int ordinal, bool absent) {
    const std::optional<int> slot = r_.Find(name);
    if (!slot) return;
    a.Clear(*slot);
    if (!absent && ordinal < r_.def(*slot).values_size()) a.Set(*slot, ordinal);
  }

  const engine::AttributeRegistry& r_;
  std::mt19937_64 rng_;
};

const std::vector<AttributeSet>& Corpus() {
  static const auto* corpus = new std::vector<AttributeSet>(CorpusBuilder(Shipped()->registry()).Build());
  return *corpus;
}

// Whether no rule of a rules decision held, so that every rule was evaluated.
bool OtherwiseDecided(const engine::Trace& trace) {
  for (const auto& step : trace.steps) {
    if (step.step() == "otherwise" && step.outcome() == v1::ExplanationStep::FIRED) return true;
  }
  return false;
}

// What the corpus exercises under `policy`, computed with a trace outside the timed loop:
// distinct decision paths reached, the share of exact verdicts, and the mean number of steps
// (conditions evaluated, matrix cells looked up) per assessment.
void CorpusCounters(benchmark::State& state, const CompiledPolicy& policy,
                    const std::vector<const AttributeSet*>& notices) {
  absl::flat_hash_set<std::string> paths;
  int exact = 0;
  size_t steps = 0;
  for (const AttributeSet* a : notices) {
    engine::Trace trace;
    const engine::Verdict v = policy.Assess(*a, &trace);
    exact += v.exact();
    steps += trace.steps.size();
    for (const auto& step : trace.steps) {
      if (step.outcome() == v1::ExplanationStep::FIRED) paths.insert(step.step());
    }
  }
  state.counters["paths"] = static_cast<double>(paths.size());
  state.counters["exact"] = static_cast<double>(exact) / notices.size();
  state.counters["steps"] = static_cast<double>(steps) / notices.size();
}

// ---------------------------------------------------------------------------------------------
// Assessment.

// `only_otherwise`: only the notices no rule catches (every rule evaluated: the slowest path
// of a rules decision, and the commonest in practice, since most incidents are not significant).
void BM_Assess(benchmark::State& state, const char* scheme, bool only_otherwise) {
  const CompiledPolicy* policy = nullptr;
  if (!Setup(state, {{scheme, &policy}})) return;
  std::vector<const AttributeSet*> notices;
  for (const AttributeSet& a : Corpus()) {
    engine::Trace trace;
    if (only_otherwise) policy->Assess(a, &trace);
    if (!only_otherwise || OtherwiseDecided(trace)) notices.push_back(&a);
  }
  if (notices.empty()) {
    state.SkipWithError("no notice of the corpus takes this path");
    return;
  }
  const size_t n = notices.size();
  size_t i = 0;
  for (auto _ : state) {
    engine::Verdict v = policy->Assess(*notices[i]);
    benchmark::DoNotOptimize(v);
    if (++i == n) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  CorpusCounters(state, *policy, notices);
  state.counters["notices"] = static_cast<double>(n);
}

void BM_AssessExplained(benchmark::State& state, const char* scheme) {
  const CompiledPolicy* policy = nullptr;
  if (!Setup(state, {{scheme, &policy}})) return;
  const auto& corpus = Corpus();
  // With a detection time, so that the reporting deadlines are computed too.
  v1::Notice notice;
  *notice.mutable_detected_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(1709630100);
  size_t i = 0;
  for (auto _ : state) {
    v1::Assessment a = engine::AssessNotice(*Shipped(), *policy, corpus[i++ & kMask], &notice);
    benchmark::DoNotOptimize(a);
  }
  state.SetItemsProcessed(state.iterations());
}

// ---------------------------------------------------------------------------------------------
// Translation.

void BM_TranslateDecide(benchmark::State& state, const char* from_id, const char* to_id, bool with_attributes) {
  const CompiledPolicy* from = nullptr;
  const CompiledPolicy* to = nullptr;
  if (!Setup(state, {{from_id, &from}, {to_id, &to}})) return;
  const engine::Translator translator(*Shipped());
  const auto& corpus = Corpus();
  // The source level of each notice: its assessment under the source scheme (as a received
  // notice's origin_assessment would say).
  std::vector<int> levels;
  levels.reserve(corpus.size());
  for (const AttributeSet& a : corpus) levels.push_back(from->Assess(a).level);
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ & kMask;
    engine::Route r = translator.Decide(with_attributes ? &corpus[k] : nullptr, from, levels[k], *to);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  int reassessed = 0;
  for (size_t k = 0; k < corpus.size(); ++k) {
    reassessed += translator.Decide(with_attributes ? &corpus[k] : nullptr, from, levels[k], *to).reassessed;
  }
  state.counters["reassessed"] = static_cast<double>(reassessed) / corpus.size();
}

// ---------------------------------------------------------------------------------------------
// Intake, for context.

constexpr char kNoticeJson[] = R"({"id": "9b1e77c4-2f0a-4d6e-8a53-0c4f1d2e6b72", "origin": "au.asd", "revision": 1,
  "detected_at": "2024-03-05T09:15:00Z", "title": "Known vulnerability exploited on a legacy test server",
  "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"}, "marking": {"tlp": "GREEN"},
  "attributes": {"victim_tier": "national", "impact_kind": "extensive_compromise", "entity_type": "cloud",
    "unavailable_minutes": 45, "degraded_minutes": 120, "users_affected": 12000, "union_users_total": 4000000,
    "direct_loss_eur": 250000, "annual_turnover_eur": 90000000, "deaths": 0,
    "it_asset_integrity_or_confidentiality_affected": true, "suspected_malicious": true}})";

void BM_Bind(benchmark::State& state) {
  if (!Setup(state, {})) return;
  const auto notices = engine::ParseNotices(kNoticeJson, "bench");
  if (!notices.ok()) {
    state.SkipWithError(std::string(notices.status().message()).c_str());
    return;
  }
  const auto& values = (*notices)[0].attributes();
  const auto& registry = Shipped()->registry();
  for (auto _ : state) {
    absl::StatusOr<AttributeSet> attrs = engine::BindAttributes(registry, values);
    benchmark::DoNotOptimize(attrs);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["attributes"] = static_cast<double>(values.size());
}

void BM_ParseNoticeJson(benchmark::State& state) {
  for (auto _ : state) {
    auto notices = engine::ParseNotices(kNoticeJson, "bench");
    benchmark::DoNotOptimize(notices);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * (sizeof(kNoticeJson) - 1));
}

void BM_ParseNoticeJsonReused(benchmark::State& state) {
  engine::NoticeReader reader;
  for (auto _ : state) {
    auto notices = reader.Parse(kNoticeJson, "bench");
    benchmark::DoNotOptimize(notices);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * (sizeof(kNoticeJson) - 1));
}

void RegisterAll() {
  // Registered by name (not BENCHMARK_CAPTURE) so that names carry the scheme ids as written.
  for (const char* scheme : {"au-asd", "eu-nis2"}) {
    benchmark::RegisterBenchmark((std::string("BM_Assess/") + scheme).c_str(), BM_Assess, scheme, false);
  }
  benchmark::RegisterBenchmark("BM_Assess/eu-nis2/no_rule_fires", BM_Assess, "eu-nis2", true);
  // Other shipped schemes, one of each decision kind (matrix, score, maximum), for context.
  for (const char* scheme : {"uk-ncsc", "us-nciss", "jp-nisc"}) {
    benchmark::RegisterBenchmark((std::string("BM_Assess/") + scheme).c_str(), BM_Assess, scheme, false);
  }
  for (const char* scheme : {"au-asd", "eu-nis2"}) {
    benchmark::RegisterBenchmark((std::string("BM_AssessExplained/") + scheme).c_str(), BM_AssessExplained, scheme);
  }
  const std::pair<const char*, const char*> pairs[] = {{"au-asd", "eu-nis2"}, {"eu-nis2", "au-asd"}};
  for (const auto& [from, to] : pairs) {
    for (const bool with_attributes : {true, false}) {
      const std::string name = std::string("BM_TranslateDecide/") + from + "->" + to +
                               (with_attributes ? "/notice" : "/level");
      benchmark::RegisterBenchmark(name.c_str(), BM_TranslateDecide, from, to, with_attributes);
    }
  }
  benchmark::RegisterBenchmark("BM_Bind", BM_Bind);
  benchmark::RegisterBenchmark("BM_ParseNoticeJson", BM_ParseNoticeJson);
  benchmark::RegisterBenchmark("BM_ParseNoticeJson/reused_reader", BM_ParseNoticeJsonReused);
}

}  // namespace
}  // namespace sevex

int main(int argc, char** argv) {
  sevex::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
