// translate.h — a level of one scheme expressed in another (DESIGN.md §3).
//
// Two paths, and the result always says which was taken:
//   - re-assessment: the target's own rules, run on the notice's attributes, decide exactly
//     (the verdict is exact: no absent attribute could change it);
//   - interval mapping: the source level's interval on the shared axis is laid over the
//     target's levels; the target level with the largest overlap is chosen, ties going to the
//     more severe; every overlapping level is reported as possible.
//
//   Translator translator(catalog);
//   Route r = translator.Decide(&attrs, au, au_level, *eu);   // allocation-free
//   v1::Translation t = translator.Render(r, &attrs, au, au_level, *eu, nullptr);
#ifndef SEVEX_ENGINE_TRANSLATE_H_
#define SEVEX_ENGINE_TRANSLATE_H_

#include "absl/status/statusor.h"
#include "engine/attribute_set.h"
#include "engine/catalog.h"
#include "engine/policy.h"
#include "sevex/v1/assessment.pb.h"
#include "sevex/v1/notice.pb.h"

namespace sevex::engine {

// Target level indices (0 = most severe).
struct IntervalMapping {
  int level = 0;
  int most_severe = 0;
  int least_severe = 0;
};

// Maps the interval [low, high] onto `target`'s levels by overlap, ties to the more severe.
IntervalMapping MapInterval(int low, int high, const CompiledPolicy& target);

struct Route {
  bool reassessed = false;
  bool possible = true;  // false: no exact re-assessment and no source level to map
  int level = 0;
  int most_severe = 0;
  int least_severe = 0;
  Verdict verdict;  // the target's verdict, when attributes were given
};

// Stateless apart from the catalog it reads; thread-safe.
class Translator {
 public:
  explicit Translator(const Catalog& catalog) : catalog_(catalog) {}

  // The allocation-free decision. `attrs` may be null (level only); `from` may be null
  // (no source level: only re-assessment can answer).
  Route Decide(const AttributeSet* attrs, const CompiledPolicy* from, int from_level,
               const CompiledPolicy& to) const;

  v1::Translation Render(const Route& route, const AttributeSet* attrs, const CompiledPolicy* from,
                         int from_level, const CompiledPolicy& to, const v1::Notice* notice) const;

  // `sevex translate --from A --level L --to B`.
  absl::StatusOr<v1::Translation> TranslateLevel(absl::string_view from_scheme, absl::string_view level,
                                                 absl::string_view to_scheme) const;

  // `sevex translate --to B notice.json`: the source level is `from_scheme`'s assessment of the
  // notice when given, else the notice's own `origin_assessment`.
  absl::StatusOr<v1::Translation> TranslateNotice(const v1::Notice& notice, const AttributeSet& attrs,
                                                  absl::string_view from_scheme,
                                                  absl::string_view to_scheme) const;

 private:
  absl::StatusOr<const CompiledPolicy*> Scheme(absl::string_view id) const;
  const Catalog& catalog_;
};

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_TRANSLATE_H_
