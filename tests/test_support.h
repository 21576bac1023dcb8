// test_support.h — what most engine tests need: the shipped policy set, attributes from a
// JSON snippet, and inline policies loaded against the shipped registry.
#ifndef SEVEX_TESTS_TEST_SUPPORT_H_
#define SEVEX_TESTS_TEST_SUPPORT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/attribute_set.h"
#include "engine/catalog.h"
#include "engine/policy.h"
#include "sevex/v1/notice.pb.h"

namespace sevex::testing {

// The values of impact_kind, most severe first (the rows of ASD's Figure 1), and of
// victim_tier, smallest first (its columns).
inline constexpr const char* kImpactKinds[] = {"sustained_disruption", "extensive_compromise",
                                               "isolated_compromise", "coordinated_low_level_attack",
                                               "low_level_attack", "unsuccessful_attempt"};
inline constexpr const char* kVictimTiers[] = {"individual", "small", "medium", "large", "national", "strategic"};

// The policy set compiled into the binary (policies/), loaded once.
const engine::Catalog& Shipped();

// The text of a shipped policy file, e.g. "schemes/au-asd.textproto"; empty if absent.
std::string ShippedText(absl::string_view path);

// A notice from JSON; fails the test (and returns an empty notice) when it does not parse.
v1::Notice NoticeFromJson(absl::string_view json);

// Attributes bound from a JSON object of attribute values, e.g. R"({"deaths": 1})".
absl::StatusOr<engine::AttributeSet> Attributes(absl::string_view json_object);

// Loads a policy text as "test.textproto" against the shipped registry.
absl::StatusOr<std::unique_ptr<engine::CompiledPolicy>> LoadPolicy(absl::string_view text);

// The level id a shipped scheme reaches for the attributes; "<error: …>" when they do not bind.
std::string LevelOf(absl::string_view scheme, absl::string_view attributes_json);

}  // namespace sevex::testing

#endif  // SEVEX_TESTS_TEST_SUPPORT_H_
