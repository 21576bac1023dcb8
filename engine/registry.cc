#include "engine/registry.h"

#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"
#include "engine/textproto.h"

namespace sevex::engine {

bool IsIdentifier(absl::string_view name) {
  if (name.empty() || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

absl::StatusOr<AttributeRegistry> AttributeRegistry::Parse(absl::string_view text,
                                                           const std::string& file) {
  v1::AttributeRegistry proto;
  ASSIGN_OR_RETURN(TextProtoFile parsed, TextProtoFile::Parse(text, file, &proto));
  std::vector<std::string> errors;
  AttributeRegistry registry;
  for (int i = 0; i < proto.attribute_size(); ++i) {
    const v1::AttributeDef& def = proto.attribute(i);
    const std::string at = parsed.Locate(parsed.root(), proto, "attribute", i).ToString();
    auto error = [&](absl::string_view message) {
      errors.push_back(absl::StrCat(at, ": attribute '", def.name(), "': ", message));
    };
    if (!IsIdentifier(def.name())) {
      error("name must be lower_snake_case (a-z, 0-9, _), starting with a letter");
    }
    if (registry.by_name_.contains(def.name())) error("defined twice");
    if (def.meaning().empty()) error("needs a one-line `meaning`");
    switch (def.type()) {
      case v1::AttributeDef::ENUM: {
        if (def.values_size() < 1) error("an ENUM needs `values`");
        if (def.values_size() > 64) error("an ENUM may have at most 64 values");
        absl::flat_hash_set<std::string> seen;
        for (const std::string& v : def.values()) {
          if (!IsIdentifier(v)) error(absl::StrCat("value '", v, "' must be lower_snake_case"));
          if (!seen.insert(v).second) error(absl::StrCat("value '", v, "' listed twice"));
        }
        if (def.has_min() || def.has_max()) error("`min`/`max` apply to numbers only");
        break;
      }
      case v1::AttributeDef::INTEGER:
      case v1::AttributeDef::DECIMAL:
      case v1::AttributeDef::BOOLEAN:
        if (def.values_size() > 0 || def.ordered()) {
          error("`values` and `ordered` apply to ENUM only");
        }
        if (def.type() == v1::AttributeDef::BOOLEAN && (def.has_min() || def.has_max())) {
          error("`min`/`max` apply to numbers only");
        }
        break;
      default:
        error("needs a `type` (ENUM, INTEGER, DECIMAL or BOOLEAN)");
    }
    registry.by_name_.emplace(def.name(), registry.size());
    registry.defs_.push_back(def);
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return registry;
}

std::optional<int> AttributeRegistry::Find(absl::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<int> AttributeRegistry::EnumOrdinal(int slot, absl::string_view value) const {
  const auto& values = defs_[slot].values();
  for (int i = 0; i < values.size(); ++i) {
    if (values[i] == value) return i;
  }
  return std::nullopt;
}

std::string AttributeRegistry::Format(int slot, double value) const {
  const v1::AttributeDef& def = defs_[slot];
  switch (def.type()) {
    case v1::AttributeDef::ENUM: {
      const int i = static_cast<int>(value);
      if (i >= 0 && i < def.values_size()) return def.values(i);
      return absl::StrCat("#", i);
    }
    case v1::AttributeDef::BOOLEAN:
      return value != 0 ? "true" : "false";
    default:
      if (value == std::floor(value) && std::fabs(value) < 1e15) {
        return absl::StrCat(static_cast<int64_t>(value));
      }
      return absl::StrFormat("%g", value);
  }
}

}  // namespace sevex::engine
