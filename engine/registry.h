// registry.h — the shared attribute registry (policies/attributes.textproto).
//
// The vocabulary notices carry and rules read: each attribute has a slot index, a type and,
// for enums, ordered values. Values of one notice are bound to slots by `AttributeSet`.
//
//   ASSIGN_OR_RETURN(auto registry, AttributeRegistry::Parse(text, "attributes.textproto"));
//   std::optional<int> slot = registry.Find("victim_tier");
#ifndef SEVEX_ENGINE_REGISTRY_H_
#define SEVEX_ENGINE_REGISTRY_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "sevex/v1/registry.pb.h"

namespace sevex::engine {

// Immutable after construction; safe to share between threads.
class AttributeRegistry {
 public:
  // Parses and validates a registry file: names unique and lower_snake_case, enums with
  // unique values, bounds only on numbers. Errors name file:line:col.
  static absl::StatusOr<AttributeRegistry> Parse(absl::string_view text, const std::string& file);

  int size() const { return static_cast<int>(defs_.size()); }
  const v1::AttributeDef& def(int slot) const { return defs_[slot]; }
  const std::string& name(int slot) const { return defs_[slot].name(); }

  std::optional<int> Find(absl::string_view name) const;
  // Ordinal of `value` among the values of enum attribute `slot`.
  std::optional<int> EnumOrdinal(int slot, absl::string_view value) const;
  // Text of a bound value: the enum value, "true"/"false", or the number.
  std::string Format(int slot, double value) const;

 private:
  std::vector<v1::AttributeDef> defs_;
  absl::flat_hash_map<std::string, int> by_name_;
};

// True for names like "victim_tier": a lower-case letter, then lower-case letters, digits, '_'.
bool IsIdentifier(absl::string_view name);

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_REGISTRY_H_
