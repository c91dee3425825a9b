// File: rules/money.h
//
// Money in txscreen is never floating point: it is an int64 count of minor
// units (fen, cents, fils) of some ISO 4217 currency; the number of minor-unit
// digits comes from rules/currency.h. This header parses and formats such
// amounts and offers the overflow-safe arithmetic used by window sums.
//
// Thread safety: all functions are pure and safe to call from any thread.

#ifndef TXSCREEN_RULES_MONEY_H_
#define TXSCREEN_RULES_MONEY_H_

#include <compare>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace txscreen::rules {

// Largest supported minor_digits: 10^18 is the largest power of ten in int64.
inline constexpr int kMaxMinorDigits = 18;

// int64 minor units of some currency; a strong type for APIs. The currency
// travels separately.
struct MoneyMinor {
  int64_t value = 0;
  auto operator<=>(const MoneyMinor&) const = default;
};

// Parses a decimal amount in major units into minor units with
// `minor_digits` fractional digits: "49999.99", 2 -> 4999999.
//
// Accepted: an optional leading '-', then either plain digits ("50000") or
// digits grouped by ',' thousands separators in the right places ("1,234.56",
// "12,345,678"), then optionally '.' and at least one digit ("0.5"). Nothing
// else: no '+', spaces, exponents, or bare "5." / ".5". Fewer fractional
// digits than `minor_digits` are zero-padded; more are an error even when the
// extra digits are zeros ("1.50" for JPY), so no amount is ever rounded.
// INT64_MIN is accepted ("-92233720368547758.08" with 2 digits).
//
// `currency` is used only to make error messages clearer.
// Errors (InvalidArgument):
//   "amount is empty"
//   "amount '12a' is not a decimal number"
//   "amount '1,23' is not a decimal number: misplaced ',' thousands separator"
//   "amount '1.234' has more decimals than CNY allows (2)"
//   "amount '1.234' has more decimals than allowed (2)"   (no currency given)
//   "amount '99999999999999999999' is too large"
//   "minor_digits must be in [0, 18], got 19"
absl::StatusOr<int64_t> ParseDecimalToMinor(absl::string_view text,
                                            int minor_digits,
                                            absl::string_view currency = "");

// Formats minor units as a decimal in major units with ',' thousands
// separators: (5200000, 2) -> "52,000.00"; (-5, 2) -> "-0.05"; (7, 0) -> "7".
// Every int64 including INT64_MIN is formatted exactly. `minor_digits`
// outside [0, kMaxMinorDigits] is clamped into that range.
std::string FormatMinor(int64_t minor, int minor_digits);

// FormatMinor plus the currency code: "52,000.00 CNY".
std::string FormatMoney(int64_t minor, absl::string_view currency,
                        int minor_digits);

// a + b clamped to [INT64_MIN, INT64_MAX]. Used by window sums so that a
// flood of huge amounts saturates instead of wrapping to a small total.
int64_t SaturatingAdd(int64_t a, int64_t b);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_MONEY_H_
