// attribute_set.h — one notice's attribute values, bound to registry slots.
//
// Binding validates every value against the registry once; assessment then reads values by
// slot with no lookups or allocation. Enum values are stored as their ordinal, booleans as
// 0/1, numbers as they are.
//
//   ASSIGN_OR_RETURN(AttributeSet attrs, BindAttributes(registry, notice.attributes()));
//   if (attrs.has(slot)) use(attrs.value(slot));
#ifndef SEVEX_ENGINE_ATTRIBUTE_SET_H_
#define SEVEX_ENGINE_ATTRIBUTE_SET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/registry.h"
#include "google/protobuf/map.h"
#include "google/protobuf/struct.pb.h"

namespace sevex::engine {

class AttributeSet {
 public:
  explicit AttributeSet(int size) : values_(size, 0.0), present_(size, 0) {}

  int size() const { return static_cast<int>(values_.size()); }
  bool has(int slot) const { return present_[slot] != 0; }
  double value(int slot) const { return values_[slot]; }
  void Set(int slot, double value) {
    values_[slot] = value;
    present_[slot] = 1;
  }
  void Clear(int slot) { present_[slot] = 0; }

 private:
  std::vector<double> values_;
  std::vector<uint8_t> present_;
};

// Checks each value against the registry and binds it. Errors (InvalidArgument) name the
// attribute and what was expected: an unknown name, an enum value not in the list, a string
// where a number belongs, a fraction for an INTEGER, a value outside `min`/`max`. A JSON null
// counts as absent.
absl::StatusOr<AttributeSet> BindAttributes(
    const AttributeRegistry& registry,
    const google::protobuf::Map<std::string, google::protobuf::Value>& values);

// The bound values back as protobuf values (for re-serialising a notice).
google::protobuf::Map<std::string, google::protobuf::Value> UnbindAttributes(
    const AttributeRegistry& registry, const AttributeSet& attrs);

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_ATTRIBUTE_SET_H_
