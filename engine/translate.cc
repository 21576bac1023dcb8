#include "engine/translate.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "engine/assess.h"

namespace sevex::engine {

IntervalMapping MapInterval(int low, int high, const CompiledPolicy& target) {
  // Integer anchors are inclusive; as lengths, [low, high] covers high - low + 1 points.
  IntervalMapping m;
  m.most_severe = target.level_count();
  m.least_severe = -1;
  int best = -1;
  for (int i = 0; i < target.level_count(); ++i) {
    const v1::Level& l = target.level(i);
    const int overlap = std::min(high, l.high()) - std::max(low, l.low()) + 1;
    if (overlap <= 0) continue;
    m.most_severe = std::min(m.most_severe, i);
    m.least_severe = std::max(m.least_severe, i);
    if (overlap > best) {  // strictly greater: ties stay with the more severe (lower index)
      best = overlap;
      m.level = i;
    }
  }
  if (best < 0) {  // cannot happen for checked policies, which tile 0..100
    m.level = m.most_severe = m.least_severe = target.level_count() - 1;
  }
  return m;
}

Route Translator::Decide(const AttributeSet* attrs, const CompiledPolicy* from, int from_level,
                         const CompiledPolicy& to) const {
  Route r;
  if (attrs != nullptr) {
    r.verdict = to.Assess(*attrs);
    if (r.verdict.exact()) {
      r.reassessed = true;
      r.level = r.most_severe = r.least_severe = r.verdict.level;
      return r;
    }
  }
  if (from == nullptr) {
    r.possible = false;
    return r;
  }
  const v1::Level& source = from->level(from_level);
  const IntervalMapping m = MapInterval(source.low(), source.high(), to);
  r.level = m.level;
  r.most_severe = m.most_severe;
  r.least_severe = m.least_severe;
  return r;
}

v1::Translation Translator::Render(const Route& route, const AttributeSet* attrs,
                                   const CompiledPolicy* from, int from_level, const CompiledPolicy& to,
                                   const v1::Notice* notice) const {
  v1::Translation t;
  t.set_scheme(to.id());
  t.set_level(to.level(route.level).id());
  for (int i = route.most_severe; i <= route.least_severe; ++i) t.add_levels(to.level(i).id());
  if (from != nullptr) {
    t.set_from_scheme(from->id());
    t.set_from_level(from->level(from_level).id());
  }
  *t.mutable_shared() = catalog_.scale().Place(to.level(route.level));
  if (route.reassessed) {
    t.set_method(v1::Translation::reassessed);
    t.set_reason(absl::StrCat("the notice carries every attribute ", to.id(),
                              "'s rules need to decide; its own rules were applied"));
    *t.mutable_reassessment() = AssessNotice(catalog_, to, *attrs, notice);
  } else {
    t.set_method(v1::Translation::interval);
    const v1::Level& s = from->level(from_level);
    std::string why = attrs == nullptr
                          ? "only a level was given"
                          : absl::StrCat(to.id(), "'s rules cannot decide exactly from the notice's attributes");
    t.set_reason(absl::StrCat(why, "; ", from->id(), " ", s.id(), " (", s.low(), "..", s.high(),
                              ") was laid over ", to.id(), "'s anchors, largest overlap chosen, ties to the more severe"));
  }
  return t;
}

absl::StatusOr<const CompiledPolicy*> Translator::Scheme(absl::string_view id) const {
  const CompiledPolicy* p = catalog_.Find(id);
  if (p == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown scheme '", id, "' (known: ", catalog_.SchemeIds(), ")"));
  }
  return p;
}

absl::StatusOr<v1::Translation> Translator::TranslateLevel(absl::string_view from_scheme, absl::string_view level,
                                                           absl::string_view to_scheme) const {
  ASSIGN_OR_RETURN(const CompiledPolicy* from, Scheme(from_scheme));
  ASSIGN_OR_RETURN(const CompiledPolicy* to, Scheme(to_scheme));
  const std::optional<int> l = from->FindLevel(level);
  if (!l) {
    std::vector<std::string> ids;
    for (const auto& lv : from->proto().level()) ids.push_back(lv.id());
    return absl::InvalidArgumentError(absl::StrCat("scheme '", from_scheme, "' has no level '", level,
                                                   "' (levels: ", absl::StrJoin(ids, ", "), ")"));
  }
  const Route r = Decide(nullptr, from, *l, *to);
  return Render(r, nullptr, from, *l, *to, nullptr);
}

absl::StatusOr<v1::Translation> Translator::TranslateNotice(const v1::Notice& notice, const AttributeSet& attrs,
                                                            absl::string_view from_scheme,
                                                            absl::string_view to_scheme) const {
  ASSIGN_OR_RETURN(const CompiledPolicy* to, Scheme(to_scheme));
  const CompiledPolicy* from = nullptr;
  int from_level = 0;
  if (!from_scheme.empty()) {
    ASSIGN_OR_RETURN(from, Scheme(from_scheme));
    from_level = from->Assess(attrs).level;
  } else if (notice.has_origin_assessment()) {
    ASSIGN_OR_RETURN(from, Scheme(notice.origin_assessment().scheme()));
    const std::optional<int> l = from->FindLevel(notice.origin_assessment().level());
    if (!l) {
      return absl::InvalidArgumentError(absl::StrCat("origin_assessment.level '", notice.origin_assessment().level(),
                                                     "' is not a level of ", from->id()));
    }
    from_level = *l;
  }
  const Route r = Decide(&attrs, from, from_level, *to);
  if (!r.possible) {
    return absl::InvalidArgumentError(absl::StrCat(
        to->id(), "'s rules cannot decide exactly from this notice's attributes, and there is no source level "
                  "to map: give --from SCHEME or a notice with origin_assessment"));
  }
  return Render(r, &attrs, from, from_level, *to, &notice);
}

}  // namespace sevex::engine
