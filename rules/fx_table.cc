#include "rules/fx_table.h"

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "rules/currency.h"
#include "rules/money.h"

namespace txscreen::rules {
namespace {

constexpr int64_t kRateOne = 100'000'000;  // 1.0 scaled by 10^kRateDecimals
static_assert(FxTable::kRateDecimals == 8, "kRateOne must match");

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

__int128 PowerOfTen(int exponent) {
  __int128 result = 1;
  for (int i = 0; i < exponent; ++i) result *= 10;
  return result;
}

// `digits[.digits]`; anything else (commas, '+', spaces, "5.", ".5") is not
// the plain decimal a rate must be.
bool IsPlainDecimal(absl::string_view text, size_t* frac_digits) {
  size_t pos = 0;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  if (pos == 0) return false;
  *frac_digits = 0;
  if (pos == text.size()) return true;
  if (text[pos] != '.') return false;
  const size_t frac_begin = ++pos;
  while (pos < text.size() && IsDigit(text[pos])) ++pos;
  *frac_digits = pos - frac_begin;
  return pos == text.size() && *frac_digits > 0;
}

// Parses a rate into an integer scaled by 10^8. `label` names the currency
// in messages.
absl::StatusOr<int64_t> ParseRate(absl::string_view label,
                                  absl::string_view text) {
  const std::string quoted = absl::StrCat("'", absl::CHexEscape(text), "'");
  const bool negative = !text.empty() && text[0] == '-';
  const absl::string_view unsigned_text = negative ? text.substr(1) : text;
  size_t frac_digits = 0;
  if (!IsPlainDecimal(unsigned_text, &frac_digits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fx rate for ", label, ": ", quoted, " is not a decimal number"));
  }
  if (frac_digits > static_cast<size_t>(FxTable::kRateDecimals)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fx rate for ", label, ": more than ",
                     FxTable::kRateDecimals, " decimals in ", quoted));
  }
  absl::StatusOr<int64_t> scaled =
      ParseDecimalToMinor(unsigned_text, FxTable::kRateDecimals);
  if (!scaled.ok()) {
    // The text is a plain decimal with few enough decimals, so the only
    // possible failure is magnitude.
    return absl::InvalidArgumentError(
        absl::StrCat("fx rate for ", label, ": ", quoted, " is too large"));
  }
  if (negative || *scaled == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("fx rate for ", label, " must be > 0, got ", quoted));
  }
  return *scaled;
}

}  // namespace

absl::StatusOr<FxTable> FxTable::Create(
    std::string base_currency,
    const std::vector<std::pair<std::string, std::string>>& rates) {
  absl::StatusOr<int> base_digits = CurrencyMinorDigits(base_currency);
  if (!base_digits.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("fx base currency: ", base_digits.status().message()));
  }

  absl::flat_hash_map<std::string, Conversion> conversions;
  conversions.reserve(rates.size() + 1);
  for (const auto& [currency, rate_text] : rates) {
    const std::string label =
        IsWellFormedCurrencyCode(currency)
            ? currency
            : absl::StrCat("'", absl::CHexEscape(currency), "'");
    absl::StatusOr<int> digits = CurrencyMinorDigits(currency);
    if (!digits.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("fx rate for ", label, ": ", digits.status().message()));
    }
    if (conversions.contains(currency)) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate fx rate for ", label));
    }
    absl::StatusOr<int64_t> rate = ParseRate(label, rate_text);
    if (!rate.ok()) return rate.status();
    if (currency == base_currency && *rate != kRateOne) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fx rate for ", label, " (the base currency) must be 1, got '",
          absl::CHexEscape(rate_text), "'"));
    }

    // base_minor = amount * rate / 10^8 * 10^base_digits / 10^digits.
    // Fold the powers of ten into one side so the product stays exact.
    const int exponent = *base_digits - *digits - kRateDecimals;
    Conversion conversion;
    conversion.numerator = *rate;
    conversion.minor_digits = *digits;
    if (exponent >= 0) {
      conversion.numerator *= PowerOfTen(exponent);
    } else {
      conversion.denominator = PowerOfTen(-exponent);
    }
    conversions.emplace(currency, conversion);
  }
  if (!conversions.contains(base_currency)) {
    conversions.emplace(
        base_currency,
        Conversion{
            .numerator = 1, .denominator = 1, .minor_digits = *base_digits});
  }
  return FxTable(std::move(base_currency), *base_digits,
                 std::move(conversions));
}

bool FxTable::Has(absl::string_view currency) const {
  return conversions_.contains(currency);
}

absl::StatusOr<int64_t> FxTable::ToBase(int64_t amount_minor,
                                        absl::string_view currency) const {
  // The base currency converts to itself exactly (Create insists on a rate
  // of 1): no look-up, no 128-bit division, for most transactions.
  if (currency == base_currency_) return amount_minor;
  auto it = conversions_.find(currency);
  if (it == conversions_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no FX rate for ", absl::CHexEscape(currency)));
  }
  const Conversion& conversion = it->second;

  __int128 product;
  bool overflow = __builtin_mul_overflow(static_cast<__int128>(amount_minor),
                                         conversion.numerator, &product);
  __int128 result = 0;
  if (!overflow) {
    // Division truncates toward zero; round half away from zero by looking
    // at the remainder. This keeps the conversion monotonic.
    result = product / conversion.denominator;
    const __int128 remainder = product % conversion.denominator;
    const __int128 abs_remainder = remainder < 0 ? -remainder : remainder;
    if (2 * abs_remainder >= conversion.denominator) {
      result += product < 0 ? -1 : 1;
    }
    overflow = result > std::numeric_limits<int64_t>::max() ||
               result < std::numeric_limits<int64_t>::min();
  }
  if (overflow) {
    return absl::OutOfRangeError(absl::StrCat(
        "converting ",
        FormatMoney(amount_minor, currency, conversion.minor_digits), " to ",
        base_currency_, " overflows int64 minor units"));
  }
  return static_cast<int64_t>(result);
}

}  // namespace txscreen::rules
