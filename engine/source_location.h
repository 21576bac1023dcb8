// source_location.h — where in a policy file something stands, for error messages.
//
// Every load or type error names `file:line:column` (1-based), the way compilers do, so an
// operator can jump to it.
#ifndef SEVEX_ENGINE_SOURCE_LOCATION_H_
#define SEVEX_ENGINE_SOURCE_LOCATION_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace sevex::engine {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown

  // "file:line:column", "file:line" or "file", as much as is known.
  std::string ToString() const;
  SourceLocation Advanced(int columns) const;
};

// An InvalidArgument status whose message is "file:line:col: message".
absl::Status ErrorAt(const SourceLocation& where, absl::string_view message);

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_SOURCE_LOCATION_H_
