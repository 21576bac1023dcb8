// policy_views.h — what `sevex policy show|matrix|diff` print.
#ifndef SEVEX_TOOLS_POLICY_VIEWS_H_
#define SEVEX_TOOLS_POLICY_VIEWS_H_

#include <string>
#include <vector>

#include "engine/catalog.h"
#include "engine/policy.h"
#include "engine/policy_diff.h"

namespace sevex::cli {

// A scheme for people: levels with anchors and clocks, decision, sources, and every
// interpretation and notional part.
std::string PolicyShowText(const engine::CompiledPolicy& policy, const engine::SharedScale& scale);

// One entry of the N x N translation table: level `from_level` of `from` expressed in `to`.
struct MatrixCell {
  const engine::CompiledPolicy* from;
  int from_level;
  const engine::CompiledPolicy* to;
  int level, most_severe, least_severe;
};
std::vector<MatrixCell> TranslationMatrix(const engine::Catalog& catalog);
std::string MatrixText(const engine::Catalog& catalog, const std::vector<MatrixCell>& cells);
std::string MatrixJson(const std::vector<MatrixCell>& cells);
// A heat map: one row per (scheme, level), one column per target scheme, each cell coloured
// by the target level's place on the shared axis and labelled with its id.
std::string MatrixSvg(const engine::Catalog& catalog, const std::vector<MatrixCell>& cells);

}  // namespace sevex::cli

#endif  // SEVEX_TOOLS_POLICY_VIEWS_H_
