// base::Printable: what a peer's strings may not do to an operator's terminal (issue 22).
#include "base/printable.h"

#include <string>

#include "gtest/gtest.h"

namespace sevex::base {
namespace {

TEST(PrintableTest, PrintableTextIsKeptAsItIs) {
  EXPECT_EQ(Printable("Ransomware at a water utility"), "Ransomware at a water utility");
  EXPECT_EQ(Printable("Caída del DNS — Ñuñoa, 40 min 🛑 東京"),
            "Caída del DNS — Ñuñoa, 40 min 🛑 東京");
  EXPECT_EQ(Printable(""), "");
}

TEST(PrintableTest, WhatATerminalActsOnIsEscaped) {
  // Clear the screen, home the cursor, then draw a fake inbox line.
  EXPECT_EQ(Printable("\x1b[2J\x1b[Hok\n2026-01-01T00:00:00Z  uk.ncsc/x rev 1"),
            "\\x1b[2J\\x1b[Hok\\n2026-01-01T00:00:00Z  uk.ncsc/x rev 1");
  EXPECT_EQ(Printable("a\rb\tc\x07"
                      "d\x7f"),
            "a\\rb\\tc\\x07d\\x7f");
  EXPECT_EQ(Printable(std::string("nul\0here", 8)), "nul\\x00here");
  // C1 controls as UTF-8 (U+009B is CSI on some terminals), and an OSC title-setting sequence.
  EXPECT_EQ(Printable("\xc2\x9b"
                      "2J"),
            "\\u009b2J");
  EXPECT_EQ(Printable("\x1b]0;owned\x07"), "\\x1b]0;owned\\x07");
}

TEST(PrintableTest, BidirectionalControlsAndSeparatorsAreEscaped) {
  EXPECT_EQ(Printable("invoice\xe2\x80\xaegnp.exe"), "invoice\\u202egnp.exe");  // U+202E RLO
  EXPECT_EQ(Printable("a\xe2\x81\xa6"
                      "b\xe2\x81\xa9"),
            "a\\u2066b\\u2069");
  EXPECT_EQ(Printable("line\xe2\x80\xa8next"), "line\\u2028next");
}

TEST(PrintableTest, BytesThatAreNotUtf8AreEscapedOneByOne) {
  EXPECT_EQ(Printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(Printable("caf\xc3"), "caf\\xc3");                       // truncated
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(Printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(Printable("\x80ok"), "\\x80ok");                         // a stray continuation byte
}

TEST(PrintableTest, ABackslashIsEscapedSoThatEveryEscapeMeansOne) {
  EXPECT_EQ(Printable("\\x1b"), "\\\\x1b");
  EXPECT_NE(Printable("\\x1b"), Printable("\x1b"));
}

}  // namespace
}  // namespace sevex::base
