#include "engine/source_location.h"

#include "absl/strings/str_cat.h"

namespace sevex::engine {

std::string SourceLocation::ToString() const {
  if (line <= 0) return file;
  if (column <= 0) return absl::StrCat(file, ":", line);
  return absl::StrCat(file, ":", line, ":", column);
}

SourceLocation SourceLocation::Advanced(int columns) const {
  SourceLocation out = *this;
  if (out.column > 0) out.column += columns;
  return out;
}

absl::Status ErrorAt(const SourceLocation& where, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(where.ToString(), ": ", message));
}

}  // namespace sevex::engine
