// policy_loader_fuzzer — a scheme policy file (textproto) loaded and checked against the shipped
// registry, as `sevex policy check FILE` and a node's `policy_dir` do: textproto parsing with
// locations, every condition, definition and clock compiled, the whole set of checks. A policy
// that loads is assessed over an empty notice and over one where every attribute is set.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "engine/catalog.h"
#include "policies/embedded_policies.h"

namespace {

const sevex::engine::Catalog& Shipped() {
  static const sevex::engine::Catalog* catalog = [] {
    auto c = sevex::engine::Catalog::Load(sevex::policies::Embedded(), "embedded");
    if (!c.ok()) std::abort();
    return new sevex::engine::Catalog(*std::move(c));
  }();
  return *catalog;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const sevex::engine::Catalog& catalog = Shipped();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = catalog.LoadPolicy(text, "fuzz.textproto");
  if (!policy.ok()) return 0;
  const int slots = catalog.registry().size();
  sevex::engine::AttributeSet none(slots);
  sevex::engine::AttributeSet ones(slots);
  for (int i = 0; i < slots; ++i) ones.Set(i, 1);
  for (const auto* attrs : {&none, &ones}) {
    sevex::engine::Trace trace;
    const sevex::engine::Verdict v = (*policy)->Assess(*attrs, &trace);
    if (v.level < 0 || v.level >= (*policy)->level_count()) std::abort();
  }
  return 0;
}
