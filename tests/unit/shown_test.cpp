// How procctx's messages quote what the caller gave: never a raw control
// byte on a terminal, and every byte still told apart.
#include "shown.hpp"

#include <gtest/gtest.h>

namespace {

using procctx::detail::printable;
using procctx::detail::shown;

TEST(Shown, ControlBytesAreWrittenAsEscapes) {
  EXPECT_EQ(shown("plain name"), "'plain name'");
  EXPECT_EQ(shown("a\x1b[31mred"), "'a\\033[31mred'");
  EXPECT_EQ(shown(std::string{"a\0b", 3}), "'a\\000b'");
  EXPECT_EQ(printable("tab\there\x7f\n"), "tab\\there\\177\\n");
}

TEST(Shown, ABackslashIsDoubledSoAnEscapeCannotBeFaked) {
  EXPECT_EQ(printable("a\\000b"), "a\\\\000b");
  EXPECT_NE(printable("a\\000b"), printable(std::string{"a\0b", 3}));
}

TEST(Shown, Utf8StaysAndC1ControlsAndStrayBytesAreEscaped) {
  EXPECT_EQ(printable("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82");
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\302\\23331m");                    // CSI as UTF-8: a terminal acts on it
  EXPECT_EQ(printable("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is not a control
  EXPECT_EQ(printable("\x9b"), "\\233");         // CSI as a raw byte: not UTF-8
  EXPECT_EQ(printable("\xff\xfe"), "\\377\\376");
  EXPECT_EQ(printable("\xc0\xaf"), "\\300\\257");                    // overlong
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\355\\240\\200");           // a surrogate
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\364\\220\\200\\200");  // past U+10FFFF
  EXPECT_EQ(printable("\xe2\x82"), "\\342\\202");                    // cut short
}

}  // namespace
