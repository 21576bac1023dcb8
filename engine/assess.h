// assess.h — a notice's full assessment under one scheme: level, shared placement, the levels
// still possible, the explanation, the policy's hash and the reports owed.
//
//   v1::Assessment a = AssessNotice(catalog, *catalog.Find("eu-nis2"), attrs, &notice);
#ifndef SEVEX_ENGINE_ASSESS_H_
#define SEVEX_ENGINE_ASSESS_H_

#include "engine/attribute_set.h"
#include "engine/catalog.h"
#include "engine/policy.h"
#include "sevex/v1/assessment.pb.h"
#include "sevex/v1/notice.pb.h"

namespace sevex::engine {

// `notice` may be null; when it carries `detected_at`, reporting deadlines are computed.
v1::Assessment AssessNotice(const Catalog& catalog, const CompiledPolicy& policy,
                            const AttributeSet& attrs, const v1::Notice* notice);

// Renders an already computed verdict the same way; the trace's steps are moved into it.
v1::Assessment RenderAssessment(const Catalog& catalog, const CompiledPolicy& policy,
                                const AttributeSet& attrs, const Verdict& verdict, Trace trace,
                                const v1::Notice* notice);

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_ASSESS_H_
