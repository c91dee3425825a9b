#include "rules/currency.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace txscreen::rules {
namespace {

std::string ErrorOf(const absl::StatusOr<int>& digits) {
  return digits.ok() ? "OK" : std::string(digits.status().message());
}

TEST(CurrencyMinorDigitsTest, CommonCurrencies) {
  EXPECT_EQ(*CurrencyMinorDigits("CNY"), 2);
  EXPECT_EQ(*CurrencyMinorDigits("USD"), 2);
  EXPECT_EQ(*CurrencyMinorDigits("EUR"), 2);
  EXPECT_EQ(*CurrencyMinorDigits("HKD"), 2);
  EXPECT_EQ(*CurrencyMinorDigits("GBP"), 2);
}

TEST(CurrencyMinorDigitsTest, ZeroDigitCurrencies) {
  EXPECT_EQ(*CurrencyMinorDigits("JPY"), 0);
  EXPECT_EQ(*CurrencyMinorDigits("KRW"), 0);
  EXPECT_EQ(*CurrencyMinorDigits("VND"), 0);
  EXPECT_EQ(*CurrencyMinorDigits("CLP"), 0);
  EXPECT_EQ(*CurrencyMinorDigits("ISK"), 0);
}

TEST(CurrencyMinorDigitsTest, ThreeDigitCurrencies) {
  EXPECT_EQ(*CurrencyMinorDigits("KWD"), 3);
  EXPECT_EQ(*CurrencyMinorDigits("BHD"), 3);
  EXPECT_EQ(*CurrencyMinorDigits("JOD"), 3);
  EXPECT_EQ(*CurrencyMinorDigits("OMR"), 3);
  EXPECT_EQ(*CurrencyMinorDigits("TND"), 3);
  EXPECT_EQ(*CurrencyMinorDigits("LYD"), 3);
}

// ICU follows CLDR, which drops minor units that are unused in practice even
// where ISO 4217 lists them. These pin ICU 72's answers so an ICU upgrade
// that changes them is noticed.
TEST(CurrencyMinorDigitsTest, CldrDiffersFromIsoList) {
  EXPECT_EQ(*CurrencyMinorDigits("IQD"), 0);  // ISO 4217: 3
  EXPECT_EQ(*CurrencyMinorDigits("IRR"), 0);  // ISO 4217: 2
  EXPECT_EQ(*CurrencyMinorDigits("LBP"), 0);  // ISO 4217: 2
  EXPECT_EQ(*CurrencyMinorDigits("RSD"), 0);  // ISO 4217: 2
  EXPECT_EQ(*CurrencyMinorDigits("HUF"), 2);  // cash usage is 0 in CLDR
  EXPECT_EQ(*CurrencyMinorDigits("TWD"), 2);  // cash usage is 0 in CLDR
}

TEST(CurrencyMinorDigitsTest, UnknownCode) {
  absl::StatusOr<int> digits = CurrencyMinorDigits("XYZ");
  EXPECT_EQ(digits.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorOf(digits), "unknown currency 'XYZ' (not an ISO 4217 code)");
}

// Only common, non-deprecated currencies count: no test code, no "no
// currency", no precious metals, no funds codes.
TEST(CurrencyMinorDigitsTest, UncommonCodesAreUnknown) {
  for (const char* code : {"XXX", "XTS", "XAU", "XDR", "CLF", "DEM", "FRF"}) {
    EXPECT_FALSE(IsKnownCurrency(code)) << code;
    EXPECT_EQ(
        ErrorOf(CurrencyMinorDigits(code)),
        std::string("unknown currency '") + code + "' (not an ISO 4217 code)");
  }
}

TEST(CurrencyMinorDigitsTest, MalformedCodes) {
  EXPECT_EQ(ErrorOf(CurrencyMinorDigits("usd")),
            "currency must be 3 upper-case letters (ISO 4217), got 'usd'");
  EXPECT_EQ(ErrorOf(CurrencyMinorDigits("Usd")),
            "currency must be 3 upper-case letters (ISO 4217), got 'Usd'");
  EXPECT_EQ(ErrorOf(CurrencyMinorDigits("US")),
            "currency must be 3 upper-case letters (ISO 4217), got 'US'");
  EXPECT_EQ(ErrorOf(CurrencyMinorDigits("USDX")),
            "currency must be 3 upper-case letters (ISO 4217), got 'USDX'");
  EXPECT_EQ(ErrorOf(CurrencyMinorDigits("")),
            "currency must be 3 upper-case letters (ISO 4217), got ''");
  EXPECT_EQ(ErrorOf(CurrencyMinorDigits("U1D")),
            "currency must be 3 upper-case letters (ISO 4217), got 'U1D'");
  EXPECT_EQ(ErrorOf(CurrencyMinorDigits(" USD")),
            "currency must be 3 upper-case letters (ISO 4217), got ' USD'");
  EXPECT_EQ(CurrencyMinorDigits("usd").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CurrencyMinorDigitsTest, BinaryInputIsEscapedInMessage) {
  EXPECT_EQ(
      ErrorOf(CurrencyMinorDigits(absl::string_view("U\0D", 3))),
      "currency must be 3 upper-case letters (ISO 4217), got 'U\\x00\\x44'");
  EXPECT_EQ(ErrorOf(CurrencyMinorDigits("\xc3\x9cSD")),
            "currency must be 3 upper-case letters (ISO 4217), got "
            "'\\xc3\\x9cSD'");
}

TEST(CurrencyMinorDigitsTest, LookupUsesOnlyTheViewedBytes) {
  const std::string text = "USDCNY";
  EXPECT_EQ(*CurrencyMinorDigits(absl::string_view(text).substr(0, 3)), 2);
  EXPECT_EQ(*CurrencyMinorDigits(absl::string_view(text).substr(3, 3)), 2);
}

TEST(IsKnownCurrencyTest, KnownAndUnknown) {
  EXPECT_TRUE(IsKnownCurrency("CNY"));
  EXPECT_TRUE(IsKnownCurrency("JPY"));
  EXPECT_FALSE(IsKnownCurrency("XYZ"));
  EXPECT_FALSE(IsKnownCurrency("cny"));
  EXPECT_FALSE(IsKnownCurrency(""));
}

TEST(IsWellFormedCurrencyCodeTest, ShapeOnly) {
  EXPECT_TRUE(IsWellFormedCurrencyCode("XYZ"));
  EXPECT_FALSE(IsWellFormedCurrencyCode("xyz"));
  EXPECT_FALSE(IsWellFormedCurrencyCode("XY"));
  EXPECT_FALSE(IsWellFormedCurrencyCode("X[Z"));
}

TEST(ValidateCurrencyCodeTest, SameMessagesAsLookup) {
  EXPECT_TRUE(ValidateCurrencyCode("KWD").ok());
  EXPECT_EQ(ValidateCurrencyCode("XYZ").message(),
            "unknown currency 'XYZ' (not an ISO 4217 code)");
  EXPECT_EQ(ValidateCurrencyCode("usd").message(),
            "currency must be 3 upper-case letters (ISO 4217), got 'usd'");
}

TEST(CurrencyMinorDigitsTest, ConcurrentLookups) {
  std::vector<std::thread> threads;
  std::vector<int> sums(8, 0);
  for (size_t t = 0; t < sums.size(); ++t) {
    threads.emplace_back([&sums, t] {
      for (int i = 0; i < 1000; ++i) {
        sums[t] += *CurrencyMinorDigits("KWD") + *CurrencyMinorDigits("JPY");
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int sum : sums) EXPECT_EQ(sum, 3000);
}

}  // namespace
}  // namespace txscreen::rules
