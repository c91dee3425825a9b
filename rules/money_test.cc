#include "rules/money.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace txscreen::rules {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

std::string ErrorOf(const absl::StatusOr<int64_t>& parsed) {
  return parsed.ok() ? "OK" : std::string(parsed.status().message());
}

TEST(ParseDecimalToMinorTest, PlainAmounts) {
  EXPECT_EQ(*ParseDecimalToMinor("49999.99", 2), 4999999);
  EXPECT_EQ(*ParseDecimalToMinor("50000", 2), 5000000);
  EXPECT_EQ(*ParseDecimalToMinor("0.5", 2), 50);
  EXPECT_EQ(*ParseDecimalToMinor("0.05", 2), 5);
  EXPECT_EQ(*ParseDecimalToMinor("0", 2), 0);
  EXPECT_EQ(*ParseDecimalToMinor("007", 0), 7);
  EXPECT_EQ(*ParseDecimalToMinor("10000", 0), 10000);
  EXPECT_EQ(*ParseDecimalToMinor("1.234", 3), 1234);
  EXPECT_EQ(*ParseDecimalToMinor("1.2", 3), 1200);
  EXPECT_EQ(*ParseDecimalToMinor("0.00000001", 8), 1);
}

TEST(ParseDecimalToMinorTest, ThousandsSeparators) {
  EXPECT_EQ(*ParseDecimalToMinor("1,234.56", 2), 123456);
  EXPECT_EQ(*ParseDecimalToMinor("12,345,678", 0), 12345678);
  EXPECT_EQ(*ParseDecimalToMinor("123,456", 2), 12345600);
  EXPECT_EQ(*ParseDecimalToMinor("-1,000", 2), -100000);
}

TEST(ParseDecimalToMinorTest, Negative) {
  EXPECT_EQ(*ParseDecimalToMinor("-1.5", 2), -150);
  EXPECT_EQ(*ParseDecimalToMinor("-0.05", 2), -5);
  EXPECT_EQ(*ParseDecimalToMinor("-0", 2), 0);
}

TEST(ParseDecimalToMinorTest, Int64Limits) {
  EXPECT_EQ(*ParseDecimalToMinor("92233720368547758.07", 2), kMax);
  EXPECT_EQ(*ParseDecimalToMinor("-92233720368547758.08", 2), kMin);
  EXPECT_EQ(*ParseDecimalToMinor("9223372036854775807", 0), kMax);
  EXPECT_EQ(*ParseDecimalToMinor("-9223372036854775808", 0), kMin);
  EXPECT_EQ(*ParseDecimalToMinor("9,223,372,036,854,775,807", 0), kMax);
  EXPECT_EQ(*ParseDecimalToMinor("9.223372036854775807", 18), kMax);
}

TEST(ParseDecimalToMinorTest, TooLarge) {
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("92233720368547758.08", 2)),
            "amount '92233720368547758.08' is too large");
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("-92233720368547758.09", 2)),
            "amount '-92233720368547758.09' is too large");
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("9223372036854775808", 0)),
            "amount '9223372036854775808' is too large");
  // Overflows only once scaled to minor units.
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("100000000000000000", 2)),
            "amount '100000000000000000' is too large");
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("10", 18)), "amount '10' is too large");
  EXPECT_EQ(ParseDecimalToMinor("10", 18).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseDecimalToMinorTest, HugeInputIsTruncatedInMessage) {
  const std::string huge(100, '9');
  EXPECT_EQ(
      ErrorOf(ParseDecimalToMinor(huge, 2)),
      "amount '" + std::string(64, '9') + "...' (100 bytes) is too large");
}

TEST(ParseDecimalToMinorTest, Empty) {
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("", 2)), "amount is empty");
  EXPECT_EQ(ParseDecimalToMinor("", 2).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseDecimalToMinorTest, Junk) {
  for (const char* text :
       {"12a", "-", "+5", " 5", "5 ", "5.", ".5", "-.5", "1.2.3", "1e5", "--1",
        "1-", "0x10", "1.-2", "1.2,3", "5 CNY", "\xef\xbc\x95"}) {
    EXPECT_EQ(ErrorOf(ParseDecimalToMinor(text, 2)),
              std::string("amount '") + absl::CHexEscape(text) +
                  "' is not a decimal number")
        << text;
  }
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("12a", 2)),
            "amount '12a' is not a decimal number");
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("1\n", 2)),
            "amount '1\\n' is not a decimal number");
}

TEST(ParseDecimalToMinorTest, MisplacedThousandsSeparators) {
  for (const char* text : {"1,23", "1234,567", ",123", "1,,234", "1,234,",
                           "1,234,56", "1,2345", ",", "-,1", "12,34.5"}) {
    EXPECT_EQ(ErrorOf(ParseDecimalToMinor(text, 2)),
              std::string("amount '") + text +
                  "' is not a decimal number: misplaced ',' thousands "
                  "separator")
        << text;
  }
}

TEST(ParseDecimalToMinorTest, TooManyDecimals) {
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("1.234", 2, "CNY")),
            "amount '1.234' has more decimals than CNY allows (2)");
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("1.234", 2)),
            "amount '1.234' has more decimals than allowed (2)");
  // Even zeros: an amount is never silently rounded or reinterpreted.
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("1.50", 0, "JPY")),
            "amount '1.50' has more decimals than JPY allows (0)");
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("1.0000", 3, "KWD")),
            "amount '1.0000' has more decimals than KWD allows (3)");
}

TEST(ParseDecimalToMinorTest, MinorDigitsOutOfRange) {
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("1", 19)),
            "minor_digits must be in [0, 18], got 19");
  EXPECT_EQ(ErrorOf(ParseDecimalToMinor("1", -1)),
            "minor_digits must be in [0, 18], got -1");
}

TEST(FormatMinorTest, Examples) {
  EXPECT_EQ(FormatMinor(5200000, 2), "52,000.00");
  EXPECT_EQ(FormatMinor(-5, 2), "-0.05");
  EXPECT_EQ(FormatMinor(7, 0), "7");
  EXPECT_EQ(FormatMinor(0, 2), "0.00");
  EXPECT_EQ(FormatMinor(0, 0), "0");
  EXPECT_EQ(FormatMinor(123, 3), "0.123");
  EXPECT_EQ(FormatMinor(-1234567, 3), "-1,234.567");
  EXPECT_EQ(FormatMinor(100, 0), "100");
  EXPECT_EQ(FormatMinor(1000, 0), "1,000");
  EXPECT_EQ(FormatMinor(999999, 2), "9,999.99");
  EXPECT_EQ(FormatMinor(1234567, 0), "1,234,567");
  EXPECT_EQ(FormatMinor(-123456, 0), "-123,456");
}

TEST(FormatMinorTest, Int64Limits) {
  EXPECT_EQ(FormatMinor(kMin, 2), "-92,233,720,368,547,758.08");
  EXPECT_EQ(FormatMinor(kMax, 2), "92,233,720,368,547,758.07");
  EXPECT_EQ(FormatMinor(kMin, 0), "-9,223,372,036,854,775,808");
  EXPECT_EQ(FormatMinor(kMin, 18), "-9.223372036854775808");
}

TEST(FormatMinorTest, DigitsAreClamped) {
  EXPECT_EQ(FormatMinor(5, -1), "5");
  EXPECT_EQ(FormatMinor(5, 25), "0.000000000000000005");
}

TEST(FormatMinorTest, RoundTripsThroughParse) {
  for (int digits : {0, 2, 3, 8, 18}) {
    for (int64_t value : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{999},
                          int64_t{1000}, int64_t{-123456789}, kMax, kMin}) {
      const std::string text = FormatMinor(value, digits);
      absl::StatusOr<int64_t> parsed = ParseDecimalToMinor(text, digits);
      ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
      EXPECT_EQ(*parsed, value) << text;
    }
  }
}

TEST(FormatMoneyTest, AppendsCurrency) {
  EXPECT_EQ(FormatMoney(5200000, "CNY", 2), "52,000.00 CNY");
  EXPECT_EQ(FormatMoney(10000, "JPY", 0), "10,000 JPY");
  EXPECT_EQ(FormatMoney(-1234, "KWD", 3), "-1.234 KWD");
}

TEST(SaturatingAddTest, InRange) {
  EXPECT_EQ(SaturatingAdd(2, 3), 5);
  EXPECT_EQ(SaturatingAdd(-2, 3), 1);
  EXPECT_EQ(SaturatingAdd(kMax, kMin), -1);
  EXPECT_EQ(SaturatingAdd(kMax, 0), kMax);
  EXPECT_EQ(SaturatingAdd(kMin, 0), kMin);
  EXPECT_EQ(SaturatingAdd(kMax - 1, 1), kMax);
}

TEST(SaturatingAddTest, Clamps) {
  EXPECT_EQ(SaturatingAdd(kMax, 1), kMax);
  EXPECT_EQ(SaturatingAdd(kMax, kMax), kMax);
  EXPECT_EQ(SaturatingAdd(kMin, -1), kMin);
  EXPECT_EQ(SaturatingAdd(kMin, kMin), kMin);
  EXPECT_EQ(SaturatingAdd(-1, kMin), kMin);
}

TEST(MoneyMinorTest, Compares) {
  EXPECT_LT(MoneyMinor{5}, MoneyMinor{6});
  EXPECT_EQ(MoneyMinor{5}, MoneyMinor{5});
  EXPECT_GT(MoneyMinor{0}, MoneyMinor{kMin});
  EXPECT_EQ(MoneyMinor{}.value, 0);
}

}  // namespace
}  // namespace txscreen::rules
