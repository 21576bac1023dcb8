#include "engine/policy.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "engine/textproto.h"

namespace sevex::engine {

// ---------------------------------------------------------------------------------------------
// Compiled decision tree.

struct CompiledRule {
  std::string id;
  Expression when;
  int level;
};
struct RulesNode {
  std::vector<CompiledRule> rules;
  int otherwise = -1;
};
struct MatrixNode {
  int row_slot = -1;
  int col_slot = -1;
  int columns = 0;
  std::vector<int> cells;  // [row ordinal * columns + column ordinal] -> level index
};
struct ScoreNode {
  struct Component {
    int slot;
    double weight;
    std::vector<double> score;  // per enum ordinal
    double lo, hi;              // min and max of `score`
  };
  std::vector<Component> components;
  double total_weight = 0;
  std::vector<std::pair<double, int>> bands;  // (min, level), sorted by min, descending
};
struct MaximumNode {
  std::vector<std::pair<std::string, std::unique_ptr<DecisionNode>>> viewpoints;
};
struct DecisionNode {
  std::variant<RulesNode, MatrixNode, ScoreNode, MaximumNode> kind;
};

namespace {

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

bool IsSchemeId(absl::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool IsLevelId(absl::string_view id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Compiles one policy file, collecting every problem rather than stopping at the first.
class Loader {
 public:
  using Tree = TextProtoFile::Tree;

  Loader(const TextProtoFile& file, const AttributeRegistry& registry,
         const v1::SchemePolicy& policy)
      : file_(file), registry_(registry), policy_(policy) {}

  std::vector<std::string>& errors() { return errors_; }
  const absl::flat_hash_set<int>& reads() const { return reads_; }

  void Error(const SourceLocation& at, absl::string_view message) {
    errors_.push_back(absl::StrCat(at.ToString(), ": ", message));
  }

  void CheckHeader() {
    const Tree* root = file_.root();
    if (!IsSchemeId(policy_.id())) {
      Error(file_.Locate(root, policy_, "id"),
            absl::StrCat("scheme id '", policy_.id(), "' must be lower-case letters, digits and '-' (e.g. \"au-asd\")"));
    }
    if (policy_.name().empty()) Error(file_.Locate(root, policy_, "id"), "the policy needs a `name`");
    if (policy_.version().empty()) Error(file_.Locate(root, policy_, "id"), "the policy needs a `version`");
    if (policy_.source_size() == 0) {
      Error(file_.Locate(root, policy_, "id"), "the policy needs at least one `source` document");
    }
  }

  void CheckLevels() {
    const Tree* root = file_.root();
    if (policy_.level_size() == 0) {
      Error(SourceLocation{file_.file(), 0, 0}, "the policy declares no `level`");
      return;
    }
    for (int i = 0; i < policy_.level_size(); ++i) {
      const v1::Level& l = policy_.level(i);
      const SourceLocation at = file_.Locate(root, policy_, "level", i);
      if (!IsLevelId(l.id())) {
        Error(at, absl::StrCat("level id '", l.id(), "' must be letters, digits and '_'"));
      } else if (!level_index_.emplace(l.id(), i).second) {
        Error(at, absl::StrCat("level '", l.id(), "' is declared twice"));
      }
      if (l.name().empty()) Error(at, absl::StrCat("level '", l.id(), "' needs a `name`"));
      if (l.low() < 0 || l.high() > 100 || l.low() > l.high()) {
        Error(at, absl::StrCat("level '", l.id(), "' anchor ", l.low(), "..", l.high(),
                               " is not an interval within the shared axis 0..100"));
      }
    }
    // Levels are listed most severe first; their anchors must tile 0..100 downwards.
    if (policy_.level(0).high() != 100) {
      Error(file_.Locate(root, policy_, "level", 0),
            absl::StrCat("gap: the most severe level '", policy_.level(0).id(), "' ends at ",
                         policy_.level(0).high(), "; shared scores ", policy_.level(0).high() + 1,
                         "..100 belong to no level"));
    }
    const int last = policy_.level_size() - 1;
    if (policy_.level(last).low() != 0) {
      Error(file_.Locate(root, policy_, "level", last),
            absl::StrCat("gap: the least severe level '", policy_.level(last).id(), "' starts at ",
                         policy_.level(last).low(), "; shared scores 0..", policy_.level(last).low() - 1,
                         " belong to no level"));
    }
    for (int i = 0; i + 1 < policy_.level_size(); ++i) {
      const v1::Level& more = policy_.level(i);
      const v1::Level& less = policy_.level(i + 1);
      const SourceLocation at = file_.Locate(root, policy_, "level", i + 1);
      if (less.low() >= more.low() || less.high() >= more.high()) {
        Error(at, absl::StrCat("non-monotone anchors: '", more.id(), "' (", more.low(), "..", more.high(),
                               ") is listed as more severe than '", less.id(), "' (", less.low(), "..",
                               less.high(), ") but is not anchored higher; list levels most severe first"));
      } else if (less.high() >= more.low()) {
        Error(at, absl::StrCat("overlapping anchors: '", less.id(), "' (", less.low(), "..", less.high(),
                               ") overlaps '", more.id(), "' (", more.low(), "..", more.high(), ")"));
      } else if (less.high() + 1 < more.low()) {
        Error(at, absl::StrCat("gap: shared scores ", less.high() + 1, "..", more.low() - 1,
                               " between '", less.id(), "' and '", more.id(), "' belong to no level"));
      }
    }
  }

  void CollectDefinitions() {
    const Tree* root = file_.root();
    for (int i = 0; i < policy_.define_size(); ++i) {
      const v1::Definition& d = policy_.define(i);
      const SourceLocation at = file_.Locate(root, policy_, "define", i);
      if (!IsIdentifier(d.name())) {
        Error(at, absl::StrCat("definition name '", d.name(), "' must be lower_snake_case"));
        continue;
      }
      if (registry_.Find(d.name())) {
        Error(at, absl::StrCat("definition '", d.name(), "' has the name of a registry attribute"));
        continue;
      }
      const Tree* tree = file_.Nested(root, policy_, "define", i);
      Definition def{d.expr(), file_.LocateStringContent(tree, d, "expr", -1, d.expr())};
      if (!defines_.emplace(d.name(), std::move(def)).second) {
        Error(at, absl::StrCat("definition '", d.name(), "' is declared twice"));
      }
    }
    // Compile each once on its own so that an unused definition is still checked.
    for (int i = 0; i < policy_.define_size(); ++i) {
      const v1::Definition& d = policy_.define(i);
      auto it = defines_.find(d.name());
      if (it == defines_.end()) continue;
      (void)CompileExpression(d.expr(), it->second.where, /*want_bool=*/false, /*note_reads=*/false);
    }
  }

  std::optional<Expression> CompileExpression(absl::string_view text, const SourceLocation& at,
                                              bool want_bool, bool note_reads = true) {
    if (text.empty()) {
      Error(at, "empty expression");
      return std::nullopt;
    }
    absl::StatusOr<Expression> e = Expression::Compile(text, registry_, defines_, at);
    if (!e.ok()) {
      errors_.emplace_back(e.status().message());
      return std::nullopt;
    }
    if (want_bool && e->type().kind != ExprType::kBool) {
      Error(at, absl::StrCat("a condition must be true or false, but '", text, "' is ",
                             e->type().kind == ExprType::kNumber ? "a number" : "an enum value"));
      return std::nullopt;
    }
    if (note_reads) reads_.insert(e->reads().begin(), e->reads().end());
    return std::move(e).value();
  }

  std::optional<int> LevelRef(absl::string_view id, const SourceLocation& at) {
    auto it = level_index_.find(id);
    if (it == level_index_.end()) {
      std::vector<std::string> ids;
      for (const auto& l : policy_.level()) ids.push_back(l.id());
      Error(at, absl::StrCat("unknown level '", id, "' (levels: ", absl::StrJoin(ids, ", "), ")"));
      return std::nullopt;
    }
    return it->second;
  }

  std::optional<int> EnumAttribute(absl::string_view name, const SourceLocation& at, bool ordered,
                                   absl::string_view role) {
    const std::optional<int> slot = registry_.Find(name);
    if (!slot) {
      Error(at, absl::StrCat("unknown attribute '", name, "' as ", role));
      return std::nullopt;
    }
    const v1::AttributeDef& def = registry_.def(*slot);
    if (def.type() != v1::AttributeDef::ENUM || (ordered && !def.ordered())) {
      Error(at, absl::StrCat(role, " '", name, "' must be ", ordered ? "an ordered enum" : "an enum",
                             " attribute"));
      return std::nullopt;
    }
    reads_.insert(*slot);
    return slot;
  }

  std::unique_ptr<DecisionNode> CompileDecision(const v1::Decision& d, const Tree* tree,
                                                const SourceLocation& at, std::vector<bool>& reach) {
    auto node = std::make_unique<DecisionNode>();
    switch (d.kind_case()) {
      case v1::Decision::kRules:
        node->kind = CompileRules(d.rules(), file_.Nested(tree, d, "rules"), at, reach);
        break;
      case v1::Decision::kMatrix:
        node->kind = CompileMatrix(d.matrix(), file_.Nested(tree, d, "matrix"), file_.Locate(tree, d, "matrix"), reach);
        break;
      case v1::Decision::kScore:
        node->kind = CompileScore(d.score(), file_.Nested(tree, d, "score"), file_.Locate(tree, d, "score"), reach);
        break;
      case v1::Decision::kMaximum: {
        MaximumNode max;
        const Tree* mtree = file_.Nested(tree, d, "maximum");
        if (d.maximum().viewpoint_size() == 0) Error(file_.Locate(tree, d, "maximum"), "`maximum` needs at least one `viewpoint`");
        for (int i = 0; i < d.maximum().viewpoint_size(); ++i) {
          const auto& vp = d.maximum().viewpoint(i);
          const Tree* vtree = file_.Nested(mtree, d.maximum(), "viewpoint", i);
          const SourceLocation vat = file_.Locate(mtree, d.maximum(), "viewpoint", i);
          if (vp.name().empty()) Error(vat, "a viewpoint needs a `name`");
          max.viewpoints.emplace_back(vp.name(),
                                      CompileDecision(vp.decision(), file_.Nested(vtree, vp, "decision"), vat, reach));
        }
        node->kind = std::move(max);
        break;
      }
      default:
        Error(at, "a decision needs one of `rules`, `matrix`, `score` or `maximum`");
    }
    return node;
  }

  RulesNode CompileRules(const v1::Rules& rules, const Tree* tree, const SourceLocation& at,
                         std::vector<bool>& reach) {
    RulesNode node;
    absl::flat_hash_set<std::string> ids;
    std::optional<std::string> always;  // id of an earlier rule that always holds
    for (int i = 0; i < rules.rule_size(); ++i) {
      const v1::Rules::Rule& r = rules.rule(i);
      const SourceLocation rat = file_.Locate(tree, rules, "rule", i);
      const Tree* rtree = file_.Nested(tree, rules, "rule", i);
      if (r.id().empty()) {
        Error(rat, "a rule needs an `id`");
      } else if (!ids.insert(r.id()).second) {
        Error(rat, absl::StrCat("rule id '", r.id(), "' is used twice"));
      }
      const std::optional<int> level = LevelRef(r.level(), file_.Locate(rtree, r, "level"));
      std::optional<Expression> when = CompileExpression(
          r.when(), file_.LocateStringContent(rtree, r, "when", -1, r.when()), /*want_bool=*/true);
      if (!level || !when) continue;
      if (always) {
        Error(rat, absl::StrCat("rule '", r.id(), "' can never fire: rule '", *always,
                                "' above it always holds"));
        continue;
      }
      for (const CompiledRule& earlier : node.rules) {
        if (earlier.when.SameProgram(*when)) {
          Error(rat, absl::StrCat("rule '", r.id(), "' can never fire: rule '", earlier.id,
                                  "' above it has the same condition"));
          break;
        }
      }
      node.rules.push_back(CompiledRule{r.id(), std::move(*when), *level});
      reach[*level] = true;
      if (node.rules.back().when.IsConstantTrue()) always = r.id();
    }
    if (rules.otherwise().empty()) {
      Error(at, "`rules` needs `otherwise`: the level when no rule fires");
    } else if (std::optional<int> o = LevelRef(rules.otherwise(), file_.Locate(tree, rules, "otherwise"))) {
      node.otherwise = *o;
      if (!always) reach[*o] = true;
    }
    return node;
  }

  MatrixNode CompileMatrix(const v1::Matrix& m, const Tree* tree, const SourceLocation& at,
                           std::vector<bool>& reach) {
    MatrixNode node;
    const std::optional<int> rows = EnumAttribute(m.rows(), file_.Locate(tree, m, "rows"), true, "matrix rows");
    const std::optional<int> cols = EnumAttribute(m.columns(), file_.Locate(tree, m, "columns"), true, "matrix columns");
    if (!rows || !cols) return node;
    node.row_slot = *rows;
    node.col_slot = *cols;
    const auto& row_values = registry_.def(*rows).values();
    const auto& col_values = registry_.def(*cols).values();
    node.columns = col_values.size();
    node.cells.assign(row_values.size() * col_values.size(), -1);
    std::vector<bool> seen(row_values.size(), false);
    for (int i = 0; i < m.row_size(); ++i) {
      const v1::Matrix::Row& row = m.row(i);
      const SourceLocation rat = file_.Locate(tree, m, "row", i);
      const std::optional<int> ordinal = registry_.EnumOrdinal(*rows, row.value());
      if (!ordinal) {
        Error(rat, absl::StrCat("'", row.value(), "' is not a value of ", m.rows(), " (one of: ",
                                absl::StrJoin(row_values, ", "), ")"));
        continue;
      }
      if (seen[*ordinal]) {
        Error(rat, absl::StrCat("row '", row.value(), "' appears twice"));
        continue;
      }
      seen[*ordinal] = true;
      if (row.cell_size() != col_values.size()) {
        Error(rat, absl::StrCat("row '", row.value(), "' has ", row.cell_size(), " cells; ", m.columns(),
                                " has ", col_values.size(), " values (", absl::StrJoin(col_values, ", "), ")"));
        continue;
      }
      const Tree* rtree = file_.Nested(tree, m, "row", i);
      for (int c = 0; c < row.cell_size(); ++c) {
        if (std::optional<int> level = LevelRef(row.cell(c), file_.Locate(rtree, row, "cell", c))) {
          node.cells[*ordinal * node.columns + c] = *level;
          reach[*level] = true;
        }
      }
    }
    for (int r = 0; r < row_values.size(); ++r) {
      if (!seen[r]) {
        Error(at, absl::StrCat("matrix has a hole: no row for ", m.rows(), " = '", row_values[r], "'"));
      }
    }
    return node;
  }

  ScoreNode CompileScore(const v1::WeightedScore& s, const Tree* tree, const SourceLocation& at,
                         std::vector<bool>& reach) {
    ScoreNode node;
    double lo = 0, hi = 0;
    for (int i = 0; i < s.component_size(); ++i) {
      const auto& c = s.component(i);
      const SourceLocation cat = file_.Locate(tree, s, "component", i);
      const std::optional<int> slot = EnumAttribute(c.attribute(), cat, false, "score component");
      if (!slot) continue;
      if (!(c.weight() > 0)) {
        Error(cat, absl::StrCat("component '", c.attribute(), "' needs a positive `weight`"));
        continue;
      }
      const int values = registry_.def(*slot).values_size();
      if (c.score_size() != values) {
        Error(cat, absl::StrCat("component '", c.attribute(), "' has ", c.score_size(), " scores; ",
                                c.attribute(), " has ", values, " values (",
                                absl::StrJoin(registry_.def(*slot).values(), ", "), ")"));
        continue;
      }
      ScoreNode::Component comp{*slot, c.weight(), {c.score().begin(), c.score().end()}, 0, 0};
      comp.lo = *std::min_element(comp.score.begin(), comp.score.end());
      comp.hi = *std::max_element(comp.score.begin(), comp.score.end());
      lo += comp.weight * comp.lo;
      hi += comp.weight * comp.hi;
      node.total_weight += comp.weight;
      node.components.push_back(std::move(comp));
    }
    if (node.components.empty()) {
      Error(at, "`score` needs at least one valid `component`");
      return node;
    }
    lo /= node.total_weight;
    hi /= node.total_weight;
    absl::flat_hash_set<int> levels;
    for (int i = 0; i < s.band_size(); ++i) {
      const auto& b = s.band(i);
      const Tree* btree = file_.Nested(tree, s, "band", i);
      const std::optional<int> level = LevelRef(b.level(), file_.Locate(btree, b, "level"));
      if (!level) continue;
      if (!levels.insert(*level).second) {
        Error(file_.Locate(tree, s, "band", i), absl::StrCat("level '", b.level(), "' has two bands"));
        continue;
      }
      node.bands.emplace_back(b.min(), *level);
    }
    std::sort(node.bands.begin(), node.bands.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i + 1 < node.bands.size(); ++i) {
      if (node.bands[i].second > node.bands[i + 1].second) {
        Error(at, absl::StrCat("score bands are not monotone: '", policy_.level(node.bands[i].second).id(),
                               "' starts at a higher score than the more severe '",
                               policy_.level(node.bands[i + 1].second).id(), "'"));
      }
    }
    if (node.bands.empty() || node.bands.back().first > lo) {
      Error(at, absl::StrFormat("gap: scores from %g up to %g belong to no band", lo,
                                node.bands.empty() ? hi : node.bands.back().first));
      return node;
    }
    for (size_t i = 0; i < node.bands.size(); ++i) {
      // Band i holds [min_i, min_{i-1}); it is reachable when that meets [lo, hi].
      const double top = i == 0 ? std::numeric_limits<double>::infinity() : node.bands[i - 1].first;
      if (node.bands[i].first <= hi && top > lo) reach[node.bands[i].second] = true;
    }
    return node;
  }

  void CompileClocks(std::vector<std::vector<CompiledClock>>& out) {
    const Tree* root = file_.root();
    out.resize(policy_.level_size());
    for (int i = 0; i < policy_.level_size(); ++i) {
      const v1::Level& l = policy_.level(i);
      const Tree* ltree = file_.Nested(root, policy_, "level", i);
      absl::flat_hash_set<std::string> reports;
      for (const auto& c : l.clock()) reports.insert(c.report());
      for (int k = 0; k < l.clock_size(); ++k) {
        const v1::ReportingClock& c = l.clock(k);
        const SourceLocation at = file_.Locate(ltree, l, "clock", k);
        const Tree* ctree = file_.Nested(ltree, l, "clock", k);
        CompiledClock clock{c, 0, 0, std::nullopt};
        if (c.report().empty()) Error(at, "a clock needs a `report` name");
        const std::optional<int> minutes = ParseClockMinutes(c.within());
        const std::optional<int> months = ParseClockMonths(c.within());
        if (minutes) {
          clock.within_minutes = *minutes;
        } else if (months) {
          clock.within_months = *months;
        } else {
          Error(at, absl::StrCat("clock `within: \"", c.within(), "\"` is not a duration like \"3h\", \"72h\", \"15d\", \"30m\", \"2w\" or \"1mo\""));
        }
        if (!c.relative_to().empty() && c.relative_to() != "detection" && !reports.contains(c.relative_to())) {
          Error(at, absl::StrCat("clock `relative_to: \"", c.relative_to(),
                                 "\"` is neither \"detection\" nor a report of this level"));
        }
        if (!c.when().empty()) {
          clock.when = CompileExpression(c.when(), file_.LocateStringContent(ctree, c, "when", -1, c.when()), true);
        }
        out[i].push_back(std::move(clock));
      }
    }
  }

 private:
  const TextProtoFile& file_;
  const AttributeRegistry& registry_;
  const v1::SchemePolicy& policy_;
  Definitions defines_;
  absl::flat_hash_map<std::string, int> level_index_;
  std::vector<std::string> errors_;
  absl::flat_hash_set<int> reads_;
};

// ---------------------------------------------------------------------------------------------
// Evaluation.

class Evaluator {
 public:
  Evaluator(const CompiledPolicy& policy, const AttributeRegistry& registry, const AttributeSet& attrs,
            Trace* trace)
      : policy_(policy), registry_(registry), attrs_(attrs), trace_(trace) {}

  Verdict Eval(const DecisionNode& node) {
    return std::visit([this](const auto& n) { return EvalNode(n); }, node.kind);
  }

 private:
  void Read(v1::ExplanationStep& step, const std::vector<int>& slots) {
    for (int slot : slots) {
      if (attrs_.has(slot)) {
        step.add_read(absl::StrCat(registry_.name(slot), "=", registry_.Format(slot, attrs_.value(slot))));
      } else {
        step.add_read(absl::StrCat(registry_.name(slot), "=<absent>"));
        // Only an undecided step makes an absent attribute matter.
        if (step.outcome() == v1::ExplanationStep::UNKNOWN) trace_->missing.insert(slot);
      }
    }
  }

  v1::ExplanationStep& Step(std::string step, v1::ExplanationStep::Outcome outcome, std::string detail,
                            int level) {
    v1::ExplanationStep& s = trace_->steps.emplace_back();
    s.set_step(std::move(step));
    s.set_outcome(outcome);
    s.set_detail(std::move(detail));
    if (level >= 0) s.set_level(policy_.level(level).id());
    return s;
  }

  Verdict EvalNode(const RulesNode& n) {
    Verdict v;
    int most = n.otherwise;
    for (const CompiledRule& r : n.rules) {
      const Truth t = r.when.Test(attrs_);
      if (trace_ != nullptr) {
        auto& s = Step(absl::StrCat("rule ", r.id),
                       t == Truth::kTrue    ? v1::ExplanationStep::FIRED
                       : t == Truth::kFalse ? v1::ExplanationStep::NOT_MET
                                            : v1::ExplanationStep::UNKNOWN,
                       r.when.text(), r.level);
        Read(s, r.when.reads());
      }
      if (t == Truth::kFalse) continue;
      most = std::min(most, r.level);
      if (t == Truth::kTrue) {
        v.level = v.least_severe = r.level;
        v.most_severe = most;
        return v;
      }
    }
    if (trace_ != nullptr) Step("otherwise", v1::ExplanationStep::FIRED, "no rule held", n.otherwise);
    v.level = v.least_severe = n.otherwise;
    v.most_severe = std::min(most, n.otherwise);
    return v;
  }

  Verdict EvalNode(const MatrixNode& n) {
    const auto& rows = registry_.def(n.row_slot).values();
    const auto& cols = registry_.def(n.col_slot).values();
    const bool has_row = attrs_.has(n.row_slot), has_col = attrs_.has(n.col_slot);
    const int r0 = has_row ? static_cast<int>(attrs_.value(n.row_slot)) : 0;
    const int r1 = has_row ? r0 : rows.size() - 1;
    const int c0 = has_col ? static_cast<int>(attrs_.value(n.col_slot)) : 0;
    const int c1 = has_col ? c0 : cols.size() - 1;
    Verdict v;
    v.most_severe = policy_.level_count();
    v.least_severe = -1;
    for (int r = r0; r <= r1; ++r) {
      for (int c = c0; c <= c1; ++c) {
        const int level = n.cells[r * n.columns + c];
        v.most_severe = std::min(v.most_severe, level);
        v.least_severe = std::max(v.least_severe, level);
      }
    }
    // With an axis unknown, the reached level is the least severe the notice could be.
    v.level = v.least_severe;
    if (trace_ != nullptr) {
      const std::string row = has_row ? rows[r0] : "*";
      const std::string col = has_col ? cols[c0] : "*";
      auto& s = Step(absl::StrCat("cell [", registry_.name(n.row_slot), "=", row, ", ",
                                  registry_.name(n.col_slot), "=", col, "]"),
                     v.exact() ? v1::ExplanationStep::FIRED : v1::ExplanationStep::UNKNOWN,
                     v.exact() ? "matrix cell"
                               : absl::StrCat("an axis is absent: levels ", policy_.level(v.most_severe).id(),
                                              "..", policy_.level(v.least_severe).id(), " possible; the least severe is taken"),
                     v.level);
      Read(s, {n.row_slot, n.col_slot});
    }
    return v;
  }

  int BandLevel(const ScoreNode& n, double score) const {
    for (const auto& [min, level] : n.bands) {
      if (score >= min) return level;
    }
    return n.bands.empty() ? 0 : n.bands.back().second;
  }

  Verdict EvalNode(const ScoreNode& n) {
    double lo = 0, hi = 0;
    bool complete = true;
    for (const auto& c : n.components) {
      if (attrs_.has(c.slot)) {
        const double s = c.score[static_cast<int>(attrs_.value(c.slot))];
        lo += c.weight * s;
        hi += c.weight * s;
      } else {
        complete = false;
        lo += c.weight * c.lo;
        hi += c.weight * c.hi;
      }
      if (trace_ != nullptr) {
        auto& s = Step(absl::StrCat("component ", registry_.name(c.slot)),
                       attrs_.has(c.slot) ? v1::ExplanationStep::CONTRIBUTED : v1::ExplanationStep::UNKNOWN,
                       attrs_.has(c.slot)
                           ? absl::StrFormat("weight %g x score %g", c.weight,
                                             c.score[static_cast<int>(attrs_.value(c.slot))])
                           : absl::StrFormat("weight %g x score %g..%g (absent)", c.weight, c.lo, c.hi),
                       -1);
        Read(s, {c.slot});
      }
    }
    lo /= n.total_weight;
    hi /= n.total_weight;
    Verdict v;
    v.level = v.least_severe = BandLevel(n, lo);
    v.most_severe = BandLevel(n, hi);
    if (complete) {
      v.has_point = true;
      v.point = lo;
    }
    if (trace_ != nullptr) {
      Step("score", complete ? v1::ExplanationStep::FIRED : v1::ExplanationStep::UNKNOWN,
           complete ? absl::StrFormat("weighted mean = %.2f", lo)
                    : absl::StrFormat("weighted mean between %.2f and %.2f; the lower is taken", lo, hi),
           v.level);
    }
    return v;
  }

  Verdict EvalNode(const MaximumNode& n) {
    Verdict v;
    v.level = v.most_severe = v.least_severe = policy_.level_count() - 1;
    for (const auto& [name, node] : n.viewpoints) {
      const size_t first = trace_ != nullptr ? trace_->steps.size() : 0;
      const Verdict sub = Eval(*node);
      if (trace_ != nullptr) {
        for (size_t i = first; i < trace_->steps.size(); ++i) {
          trace_->steps[i].set_step(absl::StrCat(name, ": ", trace_->steps[i].step()));
        }
        Step(absl::StrCat("viewpoint ", name), v1::ExplanationStep::CONTRIBUTED,
             sub.exact() ? "" : "not exact: attributes absent", sub.level);
      }
      if (sub.level < v.level) {
        v.level = sub.level;
        v.has_point = sub.has_point;
        v.point = sub.point;
      }
      v.most_severe = std::min(v.most_severe, sub.most_severe);
      v.least_severe = std::min(v.least_severe, sub.least_severe);
    }
    if (trace_ != nullptr) {
      Step("maximum", v1::ExplanationStep::FIRED, "the most severe viewpoint decides", v.level);
    }
    return v;
  }

  const CompiledPolicy& policy_;
  const AttributeRegistry& registry_;
  const AttributeSet& attrs_;
  Trace* trace_;
};

}  // namespace

std::optional<int> ParseClockMinutes(absl::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  int n = 0;
  if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &n) || n <= 0 ||
      !absl::ascii_isdigit(static_cast<unsigned char>(text[0]))) {
    return std::nullopt;
  }
  int per = 0;  // minutes per unit
  switch (unit) {
    case 'm': per = 1; break;
    case 'h': per = 60; break;
    case 'd': per = 60 * 24; break;
    case 'w': per = 60 * 24 * 7; break;
    default: return std::nullopt;
  }
  // A duration whose minutes do not fit an int is malformed, not an overflow.
  if (n > std::numeric_limits<int>::max() / per) return std::nullopt;
  return n * per;
}

std::optional<int> ParseClockMonths(absl::string_view text) {
  if (text.size() < 3 || !absl::EndsWith(text, "mo")) return std::nullopt;
  int n = 0;
  if (!absl::SimpleAtoi(text.substr(0, text.size() - 2), &n) || n <= 0 ||
      !absl::ascii_isdigit(static_cast<unsigned char>(text[0]))) {
    return std::nullopt;
  }
  return n;
}

CompiledPolicy::~CompiledPolicy() = default;

absl::StatusOr<std::unique_ptr<CompiledPolicy>> CompiledPolicy::Load(absl::string_view text,
                                                                    const std::string& file,
                                                                    const AttributeRegistry& registry) {
  std::unique_ptr<CompiledPolicy> policy(new CompiledPolicy());
  policy->file_ = file;
  policy->registry_ = &registry;
  ASSIGN_OR_RETURN(TextProtoFile parsed, TextProtoFile::Parse(text, file, &policy->proto_));
  const v1::SchemePolicy& proto = policy->proto_;

  Loader loader(parsed, registry, proto);
  loader.CheckHeader();
  loader.CheckLevels();
  loader.CollectDefinitions();
  std::vector<bool> reach(proto.level_size(), false);
  const auto* root = parsed.root();
  if (!proto.has_decision()) {
    loader.Error(SourceLocation{file, 0, 0}, "the policy has no `decision`");
  } else {
    policy->decision_ = loader.CompileDecision(proto.decision(), parsed.Nested(root, proto, "decision"),
                                               parsed.Locate(root, proto, "decision"), reach);
  }
  loader.CompileClocks(policy->clocks_);
  if (loader.errors().empty()) {
    for (int i = 0; i < proto.level_size(); ++i) {
      if (!reach[i]) {
        loader.Error(parsed.Locate(root, proto, "level", i),
                     absl::StrCat("level '", proto.level(i).id(),
                                  "' is not reachable: no rule, matrix cell or score band leads to it"));
      }
    }
  }
  if (!loader.errors().empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(loader.errors(), "\n"));
  }
  policy->reads_.assign(loader.reads().begin(), loader.reads().end());
  std::sort(policy->reads_.begin(), policy->reads_.end());
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    proto.SerializeToCodedStream(&coded);
  }
  policy->hash_ = absl::StrCat("sha256:", Sha256Hex(bytes));
  return policy;
}

std::optional<int> CompiledPolicy::FindLevel(absl::string_view id) const {
  for (int i = 0; i < proto_.level_size(); ++i) {
    if (proto_.level(i).id() == id) return i;
  }
  return std::nullopt;
}

Verdict CompiledPolicy::Assess(const AttributeSet& attrs, Trace* trace) const {
  Evaluator evaluator(*this, *registry_, attrs, trace);
  return evaluator.Eval(*decision_);
}

}  // namespace sevex::engine
