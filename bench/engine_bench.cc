// Engine throughput on one core: assessments and translations per second on pre-bound
// notices (the node binds each notice once, on intake), and the cost of binding and of the
// full explained assessment for context. Run: bash bench/run.sh
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "embedded_policies.h"
#include "engine/assess.h"
#include "engine/attribute_set.h"
#include "engine/catalog.h"
#include "engine/notice.h"
#include "engine/translate.h"

namespace sevex {
namespace {

using engine::AttributeSet;
using engine::Catalog;

const Catalog& Shipped() {
  static const Catalog* c = new Catalog(std::move(Catalog::Load(policies::Embedded(), "embedded").value()));
  return *c;
}

// 1,024 varied notices with a fixed seed: every matrix cell, every EU entity type, values on
// both sides of the thresholds, and about one attribute in eight absent.
const std::vector<AttributeSet>& Corpus() {
  static const auto* corpus = [] {
    const auto& r = Shipped().registry();
    std::mt19937 rng(42);
    const double kNumbers[] = {0, 1, 10, 20, 31, 61, 120, 1e3, 2e5, 5.1e5, 1.2e6, 2e7, 3e9};
    auto* out = new std::vector<AttributeSet>();
    for (int n = 0; n < 1024; ++n) {
      AttributeSet attrs(r.size());
      for (int slot = 0; slot < r.size(); ++slot) {
        if (rng() % 8 == 0) continue;
        const auto& def = r.def(slot);
        switch (def.type()) {
          case v1::AttributeDef::ENUM: attrs.Set(slot, rng() % def.values_size()); break;
          case v1::AttributeDef::BOOLEAN: attrs.Set(slot, rng() % 2); break;
          default: attrs.Set(slot, kNumbers[rng() % std::size(kNumbers)]);
        }
      }
      out->push_back(std::move(attrs));
    }
    return out;
  }();
  return *corpus;
}

void BM_Assess(benchmark::State& state, const char* scheme) {
  const auto* policy = Shipped().Find(scheme);
  const auto& corpus = Corpus();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy->Assess(corpus[i++ & 1023]));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Assess, au_asd, "au-asd");
BENCHMARK_CAPTURE(BM_Assess, eu_nis2, "eu-nis2");
BENCHMARK_CAPTURE(BM_Assess, uk_ncsc, "uk-ncsc");
BENCHMARK_CAPTURE(BM_Assess, us_nciss, "us-nciss");
BENCHMARK_CAPTURE(BM_Assess, jp_nisc, "jp-nisc");

// The full assessment proto: explanation, placement, clocks (what `sevex classify` prints).
void BM_AssessExplained(benchmark::State& state, const char* scheme) {
  const auto* policy = Shipped().Find(scheme);
  const auto& corpus = Corpus();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(engine::AssessNotice(Shipped(), *policy, corpus[i++ & 1023], nullptr));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_AssessExplained, au_asd, "au-asd");
BENCHMARK_CAPTURE(BM_AssessExplained, eu_nis2, "eu-nis2");

// Translation decisions: re-assess under the target when exact, else map the source level.
void BM_Translate(benchmark::State& state, const char* from_id, const char* to_id, bool with_attributes) {
  const auto* from = Shipped().Find(from_id);
  const auto* to = Shipped().Find(to_id);
  engine::Translator translator(Shipped());
  const auto& corpus = Corpus();
  std::vector<int> levels;
  for (const auto& a : corpus) levels.push_back(from->Assess(a).level);
  size_t i = 0;
  for (auto _ : state) {
    const size_t k = i++ & 1023;
    benchmark::DoNotOptimize(translator.Decide(with_attributes ? &corpus[k] : nullptr, from, levels[k], *to));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_Translate, au_to_eu_notice, "au-asd", "eu-nis2", true);
BENCHMARK_CAPTURE(BM_Translate, eu_to_au_notice, "eu-nis2", "au-asd", true);
BENCHMARK_CAPTURE(BM_Translate, au_to_eu_level, "au-asd", "eu-nis2", false);
BENCHMARK_CAPTURE(BM_Translate, eu_to_au_level, "eu-nis2", "au-asd", false);

// Intake costs for context: JSON to notice, and binding attributes to registry slots.
const std::string& NoticeJson() {
  static const std::string json = R"({"id": "9b1e77c4-2f0a-4d6e-8a53-0c4f1d2e6b72", "origin": "au.asd", "revision": 1,
    "detected_at": "2024-03-05T09:15:00Z", "title": "Known vulnerability exploited on a legacy test server",
    "classification": {"rsit_class": "intrusions", "rsit_type": "system-compromise"}, "marking": {"tlp": "GREEN"},
    "attributes": {"victim_tier": "national", "impact_kind": "extensive_compromise", "entity_type": "other",
      "direct_loss_eur": 250000, "annual_turnover_eur": 90000000, "deaths": 0, "unauthorised_access": true,
      "suspected_malicious": true, "users_affected": 12000, "union_users_total": 4000000}})";
  return json;
}

void BM_ParseNoticeJson(benchmark::State& state) {
  engine::NoticeReader reader;
  for (auto _ : state) benchmark::DoNotOptimize(reader.Parse(NoticeJson(), "bench"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseNoticeJson);

void BM_BindAttributes(benchmark::State& state) {
  const auto notices = engine::ParseNotices(NoticeJson(), "bench").value();
  for (auto _ : state) benchmark::DoNotOptimize(engine::BindAttributes(Shipped().registry(), notices[0].attributes()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BindAttributes);

}  // namespace
}  // namespace sevex

BENCHMARK_MAIN();
