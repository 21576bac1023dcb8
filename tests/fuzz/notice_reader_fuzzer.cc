// notice_reader_fuzzer — notice JSON (one object, an array, or JSON lines) as an analyst, a SOC
// tool or the local API might submit it: read, checked against the shipped registry, and every
// notice that checks assessed under every shipped scheme (AssessNotice: verdict, explanation,
// placement on the shared scale, reporting clocks from the notice's times).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "engine/assess.h"
#include "engine/catalog.h"
#include "engine/notice.h"
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
  static sevex::engine::NoticeReader reader;  // reused, as a node reuses it
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto notices = reader.Parse(text, "fuzz.json");
  if (!notices.ok()) return 0;
  for (const sevex::v1::Notice& notice : *notices) {
    auto attrs = sevex::engine::CheckNotice(catalog.registry(), notice);
    if (!attrs.ok()) continue;
    for (const auto& policy : catalog.policies()) {
      const sevex::v1::Assessment a = sevex::engine::AssessNotice(catalog, *policy, *attrs, &notice);
      if (!policy->FindLevel(a.level())) std::abort();
    }
  }
  return 0;
}
