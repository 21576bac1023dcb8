#include "engine/attribute_set.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sevex::engine {
namespace {

std::string KindOf(const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kNumberValue: return "a number";
    case google::protobuf::Value::kStringValue: return absl::StrCat("the string \"", v.string_value(), "\"");
    case google::protobuf::Value::kBoolValue: return "a boolean";
    case google::protobuf::Value::kStructValue: return "an object";
    case google::protobuf::Value::kListValue: return "a list";
    default: return "null";
  }
}

}  // namespace

absl::StatusOr<AttributeSet> BindAttributes(
    const AttributeRegistry& registry,
    const google::protobuf::Map<std::string, google::protobuf::Value>& values) {
  AttributeSet attrs(registry.size());
  std::vector<std::string> errors;
  // Sorted so that errors come out in a stable order.
  std::vector<std::string> names;
  names.reserve(values.size());
  for (const auto& [name, value] : values) names.push_back(name);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const google::protobuf::Value& value = values.at(name);
    const std::optional<int> slot = registry.Find(name);
    if (!slot) {
      errors.push_back(absl::StrCat("attribute '", name,
                                    "' is not in the attribute registry (see `sevex attributes`)"));
      continue;
    }
    if (value.kind_case() == google::protobuf::Value::kNullValue) continue;
    const v1::AttributeDef& def = registry.def(*slot);
    auto wrong = [&](absl::string_view expected) {
      errors.push_back(absl::StrCat("attribute '", name, "' must be ", expected, ", got ",
                                    KindOf(value)));
    };
    switch (def.type()) {
      case v1::AttributeDef::ENUM: {
        if (value.kind_case() != google::protobuf::Value::kStringValue) {
          wrong("one of the strings {" + absl::StrJoin(def.values(), ", ") + "}");
          break;
        }
        const std::optional<int> ordinal = registry.EnumOrdinal(*slot, value.string_value());
        if (!ordinal) {
          wrong("one of {" + absl::StrJoin(def.values(), ", ") + "}");
          break;
        }
        attrs.Set(*slot, *ordinal);
        break;
      }
      case v1::AttributeDef::BOOLEAN:
        if (value.kind_case() != google::protobuf::Value::kBoolValue) {
          wrong("true or false");
          break;
        }
        attrs.Set(*slot, value.bool_value() ? 1.0 : 0.0);
        break;
      case v1::AttributeDef::INTEGER:
      case v1::AttributeDef::DECIMAL: {
        const bool integer = def.type() == v1::AttributeDef::INTEGER;
        if (value.kind_case() != google::protobuf::Value::kNumberValue ||
            !std::isfinite(value.number_value())) {
          wrong(integer ? "a whole number" : "a number");
          break;
        }
        const double x = value.number_value();
        if (integer && x != std::floor(x)) {
          wrong("a whole number");
          break;
        }
        if ((def.has_min() && x < def.min()) || (def.has_max() && x > def.max())) {
          errors.push_back(absl::StrCat(
              "attribute '", name, "' is ", registry.Format(*slot, x), ", outside ",
              def.has_min() ? absl::StrCat(def.min()) : "-inf", "..",
              def.has_max() ? absl::StrCat(def.max()) : "inf"));
          break;
        }
        attrs.Set(*slot, x);
        break;
      }
      default:
        wrong("a value of a known type");
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  return attrs;
}

google::protobuf::Map<std::string, google::protobuf::Value> UnbindAttributes(
    const AttributeRegistry& registry, const AttributeSet& attrs) {
  google::protobuf::Map<std::string, google::protobuf::Value> out;
  for (int slot = 0; slot < attrs.size(); ++slot) {
    if (!attrs.has(slot)) continue;
    google::protobuf::Value& v = out[registry.name(slot)];
    switch (registry.def(slot).type()) {
      case v1::AttributeDef::ENUM: v.set_string_value(registry.Format(slot, attrs.value(slot))); break;
      case v1::AttributeDef::BOOLEAN: v.set_bool_value(attrs.value(slot) != 0); break;
      default: v.set_number_value(attrs.value(slot));
    }
  }
  return out;
}

}  // namespace sevex::engine
