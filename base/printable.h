// printable.h — a string that came from a peer, a file or a user, made safe to write to a
// terminal: what a terminal would act on instead of showing is shown as an escape.
//
//   std::cout << base::Printable(notice.title()) << "\n";   // "\x1b[2J" stays on the line, inert
//
// Escaped: C0 controls and DEL ("\n", "\r", "\t", else "\x1b"), C1 controls (U+0080–U+009F, which
// some terminals read as CSI and OSC), the bidirectional controls that reorder what is shown
// (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), the line and paragraph separators
// (U+2028, U+2029), every byte that is not part of valid UTF-8 ("\xff"), and the backslash
// itself ("\\"), so that an escape in the output always means an escaped character in the input.
// Everything else, all other printable UTF-8 (accents, CJK, emoji), is kept as it is.
// Pure function, any thread.
#ifndef SEVEX_BASE_PRINTABLE_H_
#define SEVEX_BASE_PRINTABLE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace sevex::base {

std::string Printable(absl::string_view text);

}  // namespace sevex::base

#endif  // SEVEX_BASE_PRINTABLE_H_
