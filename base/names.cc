#include "base/names.h"

namespace sevex::base {

namespace {

struct TlpSpelling {
  absl::string_view upper;
  absl::string_view lower;
};

// Index: the wire value of sevex.v1.Marking.Tlp.
constexpr TlpSpelling kTlp[] = {
    {"", ""},
    {"CLEAR", "clear"},
    {"GREEN", "green"},
    {"AMBER", "amber"},
    {"AMBER+STRICT", "amber+strict"},
    {"RED", "red"},
};

// Index: the wire value of sevex.v1.Receipt.Status.
constexpr absl::string_view kReceiptStatus[] = {"", "pending", "delivered", "refused"};

template <typename T, size_t N>
const T* At(const T (&table)[N], int i) {
  return i >= 0 && static_cast<size_t>(i) < N ? &table[i] : nullptr;
}

}  // namespace

absl::string_view TlpName(int tlp) {
  const TlpSpelling* s = At(kTlp, tlp);
  return s == nullptr ? "" : s->upper;
}

absl::string_view TlpNameLower(int tlp) {
  const TlpSpelling* s = At(kTlp, tlp);
  return s == nullptr ? "" : s->lower;
}

absl::string_view ReceiptStatusName(int status) {
  const absl::string_view* s = At(kReceiptStatus, status);
  return s == nullptr ? "" : *s;
}

}  // namespace sevex::base
