// status_macros.h — early-return helpers for absl::Status / absl::StatusOr.
//
// Debian's Abseil 20220623 ships no status_macros.h; these are named like upstream's.
// `RETURN_IF_ERROR(expr)`: `expr` is an `absl::Status`; returns it from the enclosing function
// unless it is OK. `ASSIGN_OR_RETURN(lhs, expr)`: `expr` is an `absl::StatusOr<T>`; returns its
// status unless OK, else moves the value into `lhs` (a declaration such as `auto x` or an
// existing variable). `lhs` may not contain an unparenthesised comma (write `auto`).
//
//   absl::StatusOr<Policy> Load(...) {
//     RETURN_IF_ERROR(Validate(...));
//     ASSIGN_OR_RETURN(auto registry, AttributeRegistry::Parse(text, file));
//     ...
//   }
#ifndef SEVEX_BASE_STATUS_MACROS_H_
#define SEVEX_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SEVEX_STATUS_CONCAT_INNER_(a, b) a##b
#define SEVEX_STATUS_CONCAT_(a, b) SEVEX_STATUS_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    ::absl::Status sevex_status_ = (expr);                    \
    if (!sevex_status_.ok()) return sevex_status_;            \
  } while (0)

#define SEVEX_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  SEVEX_ASSIGN_OR_RETURN_IMPL_(SEVEX_STATUS_CONCAT_(sevex_statusor_, __LINE__), lhs, expr)

#endif  // SEVEX_BASE_STATUS_MACROS_H_
