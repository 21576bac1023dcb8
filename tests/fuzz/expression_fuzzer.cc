// expression_fuzzer — the condition language (engine/expression.h) compiled against the shipped
// registry and run. The input's last line is the expression; each earlier line of the form
// `name := text` is a definition it may use. A compiled expression is evaluated with every
// attribute absent, 0 and 1, and must stay within its fixed stack (the evaluator checks).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "engine/catalog.h"
#include "engine/expression.h"
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
  using sevex::engine::Expression;
  const sevex::engine::AttributeRegistry& registry = Shipped().registry();
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  sevex::engine::Definitions defines;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    std::pair<absl::string_view, absl::string_view> def = absl::StrSplit(lines[i], absl::MaxSplits(" := ", 1));
    defines[std::string(def.first)] = {std::string(def.second), {"fuzz", static_cast<int>(i) + 1, 1}};
  }
  auto e = Expression::Compile(lines.back(), registry, defines,
                               {"fuzz", static_cast<int>(lines.size()), 1});
  if (!e.ok()) return 0;
  const int slots = registry.size();
  for (double value : {-1.0, 0.0, 1.0}) {
    sevex::engine::AttributeSet attrs(slots);
    if (value >= 0) {
      for (int i = 0; i < slots; ++i) attrs.Set(i, value);
    }
    if (e->type().kind == sevex::engine::ExprType::kNumber) {
      (void)e->Number(attrs);
    } else if (e->Test(attrs) > sevex::engine::Truth::kUnknown) {
      std::abort();
    }
  }
  (void)e->IsConstantTrue();
  return 0;
}
