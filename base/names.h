// names.h — the one spelling of each enum value that several modules print: TLP markings and
// receipt statuses.
//
//   base::TlpName(n.marking().tlp())            // "AMBER+STRICT"
//   base::ReceiptStatusName(r.status())         // "delivered"
//
// Why here, keyed by number, and not beside the proto enums: base/ may not depend on proto/
// (DESIGN.md §2), and proto/ holds only the generated code of the wire format. The numbers are
// the enums' wire values (notice.proto `Marking.Tlp`, node.proto `Receipt.Status`), which proto
// compatibility fixes for good; a proto enum converts to `int` at the call. tests/names_test.cc
// walks the proto descriptors, so a value added to either enum without a name here fails there.
#ifndef SEVEX_BASE_NAMES_H_
#define SEVEX_BASE_NAMES_H_

#include "absl/strings/string_view.h"

namespace sevex::base {

// The FIRST TLP 2.0 label without its "TLP:" prefix: "CLEAR", "GREEN", "AMBER", "AMBER+STRICT",
// "RED" for 1–5. Empty for 0 (TLP_UNSPECIFIED: no marking) and any other number; callers choose
// what to show then.
absl::string_view TlpName(int tlp);

// The same in lower case ("amber+strict"), as STIX's TLP 2.0 marking definitions spell it.
absl::string_view TlpNameLower(int tlp);

// "pending", "delivered", "refused" for 1–3 (`Receipt.Status`). Empty for 0
// (STATUS_UNSPECIFIED) and any other number.
absl::string_view ReceiptStatusName(int status);

}  // namespace sevex::base

#endif  // SEVEX_BASE_NAMES_H_
