// Tests of how the CLI prints keys and values (client/safe_text.h).
#include "client/safe_text.h"

#include <gtest/gtest.h>

#include <string>

namespace kv2pc {
namespace {

TEST(SafeTextTest, PrintableAsciiIsUnchanged) {
  EXPECT_EQ(SafeText("hello, world! \"quoted\" ~{}"), "hello, world! \"quoted\" ~{}");
  EXPECT_EQ(SafeText(""), "");
}

TEST(SafeTextTest, BackslashIsDoubled) { EXPECT_EQ(SafeText("a\\b"), "a\\\\b"); }

TEST(SafeTextTest, ControlBytesAreEscaped) {
  EXPECT_EQ(SafeText(std::string("a\nb\tc\0d\x1b[31m\x7f", 13)),
            "a\\x0ab\\x09c\\x00d\\x1b[31m\\x7f");
}

TEST(SafeTextTest, ValidUtf8IsUnchanged) {
  EXPECT_EQ(SafeText("caf\xc3\xa9"), "caf\xc3\xa9");            // 2 bytes
  EXPECT_EQ(SafeText("\xe2\x82\xac"), "\xe2\x82\xac");          // euro sign, 3 bytes
  EXPECT_EQ(SafeText("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");  // emoji, 4 bytes
  EXPECT_EQ(SafeText("\xf4\x8f\xbf\xbf"), "\xf4\x8f\xbf\xbf");  // U+10FFFF
}

TEST(SafeTextTest, InvalidUtf8IsEscapedBytewise) {
  EXPECT_EQ(SafeText("\xff"), "\\xff");
  EXPECT_EQ(SafeText("\xc3"), "\\xc3");                             // truncated sequence
  EXPECT_EQ(SafeText("\xc3(x"), "\\xc3(x");                         // bad continuation
  EXPECT_EQ(SafeText("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(SafeText("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");           // overlong, 3 bytes
  EXPECT_EQ(SafeText("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate U+D800
  EXPECT_EQ(SafeText("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(SafeText("\x80ok"), "\\x80ok");                         // stray continuation byte
}

TEST(SafeTextTest, UnicodeControlsAreEscaped) {
  EXPECT_EQ(SafeText("\xc2\x85"), "\\xc2\\x85");           // U+0085 NEXT LINE (C1)
  EXPECT_EQ(SafeText("\xe2\x80\xae"), "\\xe2\\x80\\xae");  // U+202E RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(SafeText("\xe2\x80\xa8"), "\\xe2\\x80\\xa8");  // U+2028 LINE SEPARATOR
}

TEST(SafeTextTest, DifferentBytesNeverPrintTheSame) {
  // The escape of a backslash cannot be confused with an escaped byte.
  EXPECT_NE(SafeText("\\x41"), SafeText("A"));
  EXPECT_NE(SafeText("\\x0a"), SafeText("\n"));
}

}  // namespace
}  // namespace kv2pc
