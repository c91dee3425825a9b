#include "rules/fx_table.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace txscreen::rules {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

using Rates = std::vector<std::pair<std::string, std::string>>;

FxTable MustCreate(std::string base, const Rates& rates) {
  absl::StatusOr<FxTable> table = FxTable::Create(std::move(base), rates);
  EXPECT_TRUE(table.ok()) << table.status();
  return *std::move(table);
}

std::string CreateError(std::string base, const Rates& rates) {
  absl::StatusOr<FxTable> table = FxTable::Create(std::move(base), rates);
  if (table.ok()) return "OK";
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(table.status().message());
}

// Converts or returns -424242 so a failure shows up as a value mismatch.
int64_t ToBase(const FxTable& fx, int64_t amount, absl::string_view currency) {
  absl::StatusOr<int64_t> converted = fx.ToBase(amount, currency);
  EXPECT_TRUE(converted.ok()) << converted.status();
  return converted.ok() ? *converted : -424242;
}

FxTable CnyTable() {
  return MustCreate("CNY", {{"USD", "7.1"},
                            {"JPY", "0.048"},
                            {"KWD", "23.5"},
                            {"HKD", "2"},
                            {"EUR", "7.12345678"}});
}

TEST(FxTableTest, Accessors) {
  FxTable fx = CnyTable();
  EXPECT_EQ(fx.base_currency(), "CNY");
  EXPECT_EQ(fx.base_minor_digits(), 2);
  EXPECT_EQ(MustCreate("JPY", {}).base_minor_digits(), 0);
  EXPECT_EQ(MustCreate("KWD", {}).base_minor_digits(), 3);
}

TEST(FxTableTest, Has) {
  FxTable fx = CnyTable();
  EXPECT_TRUE(fx.Has("USD"));
  EXPECT_TRUE(fx.Has("CNY"));  // the base, without an entry
  EXPECT_FALSE(fx.Has("GBP"));
  EXPECT_FALSE(fx.Has("usd"));
  EXPECT_FALSE(fx.Has(""));
}

TEST(FxTableTest, UsdToCny) {
  FxTable fx = CnyTable();
  // 10,000.00 USD * 7.1 = 71,000.00 CNY.
  EXPECT_EQ(ToBase(fx, 1'000'000, "USD"), 7'100'000);
  EXPECT_EQ(ToBase(fx, 100, "USD"), 710);
  EXPECT_EQ(ToBase(fx, 0, "USD"), 0);
}

TEST(FxTableTest, ZeroDigitSourceCurrency) {
  FxTable fx = CnyTable();
  // 10,000 yen * 0.048 = 480.00 CNY.
  EXPECT_EQ(ToBase(fx, 10'000, "JPY"), 48'000);
  // 10,001 yen = 480.048 CNY = 48,004.8 fen.
  EXPECT_EQ(ToBase(fx, 10'001, "JPY"), 48'005);
  // 1 yen = 4.8 fen.
  EXPECT_EQ(ToBase(fx, 1, "JPY"), 5);
  EXPECT_EQ(ToBase(fx, -1, "JPY"), -5);
}

TEST(FxTableTest, ThreeDigitSourceCurrency) {
  FxTable fx = CnyTable();
  // 1.234 KWD * 23.5 = 28.999 CNY = 2,899.9 fen.
  EXPECT_EQ(ToBase(fx, 1234, "KWD"), 2900);
  EXPECT_EQ(ToBase(fx, -1234, "KWD"), -2900);
  // 0.001 KWD = 2.35 fen.
  EXPECT_EQ(ToBase(fx, 1, "KWD"), 2);
  // 1.000 KWD = 23.50 CNY exactly.
  EXPECT_EQ(ToBase(fx, 1000, "KWD"), 2350);
}

TEST(FxTableTest, EightDecimalRate) {
  FxTable fx = CnyTable();
  // 10,000.00 EUR * 7.12345678 = 71,234.5678 CNY = 7,123,456.78 fen.
  EXPECT_EQ(ToBase(fx, 1'000'000, "EUR"), 7'123'457);
  // 1.00 EUR = 712.345678 fen.
  EXPECT_EQ(ToBase(fx, 100, "EUR"), 712);
}

TEST(FxTableTest, RoundsHalfAwayFromZero) {
  FxTable fx = CnyTable();
  // 0.05 USD = 35.5 fen; 0.15 USD = 106.5 fen; 0.01 USD = 7.1 fen.
  EXPECT_EQ(ToBase(fx, 5, "USD"), 36);
  EXPECT_EQ(ToBase(fx, -5, "USD"), -36);
  EXPECT_EQ(ToBase(fx, 15, "USD"), 107);
  EXPECT_EQ(ToBase(fx, -15, "USD"), -107);
  EXPECT_EQ(ToBase(fx, 1, "USD"), 7);
  EXPECT_EQ(ToBase(fx, -1, "USD"), -7);

  FxTable jpy = MustCreate("JPY", {{"USD", "150"}});
  // 0.01 USD = 1.5 yen, 0.03 USD = 4.5 yen.
  EXPECT_EQ(ToBase(jpy, 1, "USD"), 2);
  EXPECT_EQ(ToBase(jpy, -1, "USD"), -2);
  EXPECT_EQ(ToBase(jpy, 3, "USD"), 5);
  EXPECT_EQ(ToBase(jpy, -3, "USD"), -5);

  FxTable kwd = MustCreate("KWD", {{"CNY", "0.0425"}});
  // 1.00 CNY = 0.0425 KWD = 42.5 fils.
  EXPECT_EQ(ToBase(kwd, 100, "CNY"), 43);
  EXPECT_EQ(ToBase(kwd, -100, "CNY"), -43);
}

TEST(FxTableTest, ZeroDigitBaseCurrency) {
  FxTable fx = MustCreate("JPY", {{"USD", "150.25"}, {"CNY", "21.13"}});
  // 1.00 USD = 150.25 yen; 0.50 USD = 75.125 yen; 0.02 USD = 3.005 yen.
  EXPECT_EQ(ToBase(fx, 100, "USD"), 150);
  EXPECT_EQ(ToBase(fx, 50, "USD"), 75);
  EXPECT_EQ(ToBase(fx, 2, "USD"), 3);
  // 10,000.00 USD = 1,502,500 yen.
  EXPECT_EQ(ToBase(fx, 1'000'000, "USD"), 1'502'500);
  // 1.00 CNY = 21.13 yen.
  EXPECT_EQ(ToBase(fx, 100, "CNY"), 21);
}

TEST(FxTableTest, BaseCurrencyConvertsUnchanged) {
  FxTable implicit = CnyTable();
  FxTable explicit_one = MustCreate("CNY", {{"CNY", "1"}, {"USD", "7.1"}});
  FxTable explicit_decimal = MustCreate("CNY", {{"CNY", "1.00000000"}});
  for (int64_t amount :
       {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{5'000'000}, kMax, kMin}) {
    EXPECT_EQ(ToBase(implicit, amount, "CNY"), amount);
    EXPECT_EQ(ToBase(explicit_one, amount, "CNY"), amount);
    EXPECT_EQ(ToBase(explicit_decimal, amount, "CNY"), amount);
  }
}

TEST(FxTableTest, SmallestRate) {
  FxTable fx = MustCreate("CNY", {{"USD", "0.00000001"}});
  EXPECT_EQ(ToBase(fx, 1, "USD"), 0);
  // 50,000,000.00 USD * 0.00000001 = 0.50 CNY.
  EXPECT_EQ(ToBase(fx, 5'000'000'000, "USD"), 50);
}

TEST(FxTableTest, UnknownCurrencyIsNotFound) {
  FxTable fx = CnyTable();
  absl::StatusOr<int64_t> converted = fx.ToBase(100, "GBP");
  EXPECT_EQ(converted.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(converted.status().message(), "no FX rate for GBP");
  EXPECT_EQ(fx.ToBase(100, "usd").status().message(), "no FX rate for usd");
}

TEST(FxTableTest, Overflow) {
  FxTable fx = CnyTable();
  absl::StatusOr<int64_t> converted = fx.ToBase(kMax, "USD");
  EXPECT_EQ(converted.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(converted.status().message(),
            "converting 92,233,720,368,547,758.07 USD to CNY overflows int64 "
            "minor units");
  EXPECT_EQ(fx.ToBase(kMin, "USD").status().message(),
            "converting -92,233,720,368,547,758.08 USD to CNY overflows "
            "int64 minor units");
  EXPECT_EQ(fx.ToBase(kMax, "KWD").status().message(),
            "converting 9,223,372,036,854,775.807 KWD to CNY overflows int64 "
            "minor units");

  // HKD converts at exactly 2: the boundary is kMax / 2.
  EXPECT_EQ(ToBase(fx, kMax / 2, "HKD"), kMax - 1);
  EXPECT_EQ(ToBase(fx, kMin / 2, "HKD"), kMin);
  EXPECT_EQ(fx.ToBase(kMax / 2 + 1, "HKD").status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(fx.ToBase(kMin / 2 - 1, "HKD").status().code(),
            absl::StatusCode::kOutOfRange);

  // Converting to fewer minor digits shrinks even the extremes.
  FxTable jpy = MustCreate("JPY", {{"USD", "1"}});
  EXPECT_EQ(ToBase(jpy, kMax, "USD"), 92'233'720'368'547'758);
  EXPECT_EQ(ToBase(jpy, kMin, "USD"), -92'233'720'368'547'758);
}

TEST(FxTableTest, Deterministic) {
  FxTable a = CnyTable();
  FxTable b = CnyTable();
  FxTable copy = a;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> amounts(-1'000'000'000'000,
                                                 1'000'000'000'000);
  for (int i = 0; i < 10'000; ++i) {
    const int64_t amount = amounts(rng);
    for (const char* currency : {"USD", "JPY", "KWD", "EUR", "CNY"}) {
      const int64_t first = ToBase(a, amount, currency);
      EXPECT_EQ(ToBase(a, amount, currency), first);
      EXPECT_EQ(ToBase(b, amount, currency), first);
      EXPECT_EQ(ToBase(copy, amount, currency), first);
    }
  }
}

TEST(FxTableTest, Monotonic) {
  const FxTable tables[] = {
      CnyTable(),
      MustCreate("JPY", {{"USD", "150.25"}, {"KWD", "487.12345678"}}),
      MustCreate("KWD", {{"CNY", "0.0425"}, {"JPY", "0.00205"}}),
  };
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> small(-100'000, 100'000);
  std::uniform_int_distribution<int64_t> large(-1'000'000'000'000'000,
                                               1'000'000'000'000'000);
  for (const FxTable& fx : tables) {
    for (const char* currency : {"USD", "JPY", "KWD", "EUR", "CNY"}) {
      if (!fx.Has(currency)) continue;
      // Every adjacent pair around zero, where rounding direction flips.
      for (int64_t a = -3000; a < 3000; ++a) {
        ASSERT_LE(ToBase(fx, a, currency), ToBase(fx, a + 1, currency))
            << currency << " " << a;
      }
      for (int i = 0; i < 5000; ++i) {
        for (auto* dist : {&small, &large}) {
          int64_t a = (*dist)(rng);
          int64_t b = (*dist)(rng);
          if (a > b) std::swap(a, b);
          ASSERT_LE(ToBase(fx, a, currency), ToBase(fx, b, currency))
              << currency << " " << a << " " << b;
        }
      }
    }
  }
}

// A threshold converted once compares like the original: every amount at or
// above 10,000 USD converts at or above the converted threshold, and every
// amount below converts at or below it.
TEST(FxTableTest, ConvertedThresholdKeepsOrder) {
  FxTable fx = CnyTable();
  const int64_t threshold = ToBase(fx, 1'000'000, "USD");  // 10,000.00 USD
  EXPECT_EQ(threshold, 7'100'000);
  for (int64_t amount = 990'000; amount <= 1'010'000; ++amount) {
    const int64_t converted = ToBase(fx, amount, "USD");
    if (amount >= 1'000'000) {
      ASSERT_GE(converted, threshold) << amount;
    } else {
      ASSERT_LT(converted, threshold) << amount;
    }
  }
}

// The order is kept but not always strictly: when the base has coarser
// units, distinct amounts can round to the same base amount.
TEST(FxTableTest, RoundingCanMergeAdjacentAmounts) {
  FxTable fx = MustCreate("JPY", {{"KRW", "0.1"}});
  // 9,995 won = 999.5 yen -> 1,000 yen, same as 10,000 won.
  EXPECT_EQ(ToBase(fx, 9'995, "KRW"), 1'000);
  EXPECT_EQ(ToBase(fx, 10'000, "KRW"), 1'000);
  EXPECT_EQ(ToBase(fx, 9'994, "KRW"), 999);
}

TEST(FxTableTest, SharedBetweenThreads) {
  const FxTable fx = CnyTable();
  std::vector<std::thread> threads;
  std::vector<int64_t> sums(8, 0);
  for (size_t t = 0; t < sums.size(); ++t) {
    threads.emplace_back([&fx, &sums, t] {
      for (int i = 0; i < 1000; ++i) sums[t] += *fx.ToBase(1'000'000, "USD");
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int64_t sum : sums) EXPECT_EQ(sum, 7'100'000'000);
}

TEST(FxTableCreateTest, RateErrors) {
  EXPECT_EQ(CreateError("CNY", {{"USD", "7,1"}}),
            "fx rate for USD: '7,1' is not a decimal number");
  EXPECT_EQ(CreateError("CNY", {{"USD", "7,100"}}),
            "fx rate for USD: '7,100' is not a decimal number");
  EXPECT_EQ(CreateError("CNY", {{"USD", ""}}),
            "fx rate for USD: '' is not a decimal number");
  for (const char* text : {" 7.1", "7.1 ", "7.", ".5", "+7", "7e2", "seven",
                           "--7", "-", "7.1.1"}) {
    EXPECT_EQ(
        CreateError("CNY", {{"USD", text}}),
        std::string("fx rate for USD: '") + text + "' is not a decimal number");
  }
  EXPECT_EQ(CreateError("CNY", {{"USD", "0"}}),
            "fx rate for USD must be > 0, got '0'");
  EXPECT_EQ(CreateError("CNY", {{"USD", "0.00000000"}}),
            "fx rate for USD must be > 0, got '0.00000000'");
  EXPECT_EQ(CreateError("CNY", {{"USD", "-7.1"}}),
            "fx rate for USD must be > 0, got '-7.1'");
  EXPECT_EQ(CreateError("CNY", {{"USD", "-0"}}),
            "fx rate for USD must be > 0, got '-0'");
  EXPECT_EQ(CreateError("CNY", {{"USD", "7.123456789"}}),
            "fx rate for USD: more than 8 decimals in '7.123456789'");
  EXPECT_EQ(CreateError("CNY", {{"USD", "0.000000001"}}),
            "fx rate for USD: more than 8 decimals in '0.000000001'");
  EXPECT_EQ(CreateError("CNY", {{"USD", "100000000000"}}),
            "fx rate for USD: '100000000000' is too large");
  EXPECT_EQ(CreateError("CNY", {{"USD", "92233720368.54775807"}}), "OK");
  EXPECT_EQ(CreateError("CNY", {{"USD", "92233720368.54775808"}}),
            "fx rate for USD: '92233720368.54775808' is too large");
  EXPECT_EQ(CreateError("CNY", {{"USD", "7\n"}}),
            "fx rate for USD: '7\\n' is not a decimal number");
}

TEST(FxTableCreateTest, CurrencyErrors) {
  EXPECT_EQ(CreateError("CNY", {{"usd", "7.1"}}),
            "fx rate for 'usd': currency must be 3 upper-case letters "
            "(ISO 4217), got 'usd'");
  EXPECT_EQ(CreateError("CNY", {{"", "7.1"}}),
            "fx rate for '': currency must be 3 upper-case letters "
            "(ISO 4217), got ''");
  EXPECT_EQ(CreateError("CNY", {{"XYZ", "7.1"}}),
            "fx rate for XYZ: unknown currency 'XYZ' (not an ISO 4217 code)");
  EXPECT_EQ(CreateError("CNY", {{"USD", "7.1"}, {"USD", "7.1"}}),
            "duplicate fx rate for USD");
  EXPECT_EQ(CreateError("CNY", {{"USD", "7.1"}, {"USD", "7.2"}}),
            "duplicate fx rate for USD");
}

TEST(FxTableCreateTest, BaseCurrencyErrors) {
  EXPECT_EQ(CreateError("XYZ", {}),
            "fx base currency: unknown currency 'XYZ' (not an ISO 4217 code)");
  EXPECT_EQ(CreateError("cny", {}),
            "fx base currency: currency must be 3 upper-case letters "
            "(ISO 4217), got 'cny'");
  EXPECT_EQ(CreateError("CNY", {{"CNY", "7.1"}}),
            "fx rate for CNY (the base currency) must be 1, got '7.1'");
  EXPECT_EQ(CreateError("CNY", {{"CNY", "1.00000001"}}),
            "fx rate for CNY (the base currency) must be 1, got '1.00000001'");
  EXPECT_EQ(CreateError("CNY", {{"CNY", "1"}, {"CNY", "1"}}),
            "duplicate fx rate for CNY");
  EXPECT_EQ(CreateError("CNY", {{"CNY", "1,0"}}),
            "fx rate for CNY: '1,0' is not a decimal number");
}

}  // namespace
}  // namespace txscreen::rules
