#include "engine/masking.h"

#include "gtest/gtest.h"

namespace txscreen::engine {
namespace {

TEST(MaskDigitRunsTest, RunsOfTwelveOrMoreDigitsAreMasked) {
  EXPECT_EQ(MaskDigitRuns("6222020200112233445"), "6222****3445");
  EXPECT_EQ(MaskDigitRuns("to 123456789012."), "to 1234****9012.");
  EXPECT_EQ(MaskDigitRuns("a 6217000000000005678 b 6228480000000009999"),
            "a 6217****5678 b 6228****9999");
}

TEST(MaskDigitRunsTest, ShorterRunsStay) {
  // Phone numbers, amounts, dates and times.
  EXPECT_EQ(MaskDigitRuns("call 13812345678 about 50,000.00 on 2026-11-20"),
            "call 13812345678 about 50,000.00 on 2026-11-20");
  EXPECT_EQ(MaskDigitRuns("12345678901"), "12345678901");
  EXPECT_EQ(MaskDigitRuns(""), "");
  EXPECT_EQ(MaskDigitRuns("no digits"), "no digits");
}

TEST(MaskDigitRunsTest, FullWidthDigitsAreDigits) {
  EXPECT_EQ(MaskDigitRuns("账户６２２８４８００００００００９９９９。"),
            "账户６２２８****９９９９。");
  // Mixed widths make one run.
  EXPECT_EQ(MaskDigitRuns("6228４８００００００００9999"), "6228****9999");
  // Other characters of the same block (U+FF21, Ａ) are not digits.
  EXPECT_EQ(MaskDigitRuns("ＡＢ１２"), "ＡＢ１２");
}

TEST(MaskDigitRunsTest, TruncatedUtf8IsCopied) {
  EXPECT_EQ(MaskDigitRuns("\xEF\xBC"), "\xEF\xBC");
  EXPECT_EQ(MaskDigitRuns("1\xEF"), "1\xEF");
}

}  // namespace
}  // namespace txscreen::engine
