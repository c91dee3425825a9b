// File: rules/fx_table.h
//
// Exchange rates into one base currency, applied with exact integer
// arithmetic. A rule pack compares amounts in its base currency (CNY for the
// cn pack); FxTable turns a transaction's amount in any listed currency into
// base-currency minor units.
//
// Example:
//   absl::StatusOr<FxTable> fx =
//       FxTable::Create("CNY", {{"USD", "7.1"}, {"JPY", "0.048"}});
//   fx->ToBase(1'000'000, "USD");  // 10,000.00 USD -> 7,100,000 fen
//
// Thread safety: immutable after Create; a const FxTable may be shared by any
// number of threads without locking.

#ifndef TXSCREEN_RULES_FX_TABLE_H_
#define TXSCREEN_RULES_FX_TABLE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace txscreen::rules {

class FxTable {
 public:
  // Rates are stored as integers scaled by 10^kRateDecimals.
  static constexpr int kRateDecimals = 8;

  // `base_currency` must be a known ISO 4217 code (rules/currency.h).
  // `rates` holds (currency, rate) pairs where rate = units of the base
  // currency for ONE unit of `currency`, written as a plain decimal string
  // ("7.1000", "0.0482"): digits with an optional '.', at most 8 decimals, no
  // sign, exponent or thousands separator, and > 0. The base currency always
  // converts at 1 without an entry; an entry for it must have value 1
  // ("1", "1.00").
  //
  // Errors (InvalidArgument), each naming the currency and the value:
  //   "fx base currency: unknown currency 'XYZ' (not an ISO 4217 code)"
  //   "fx rate for 'usd': currency must be 3 upper-case letters (ISO 4217),
  //    got 'usd'"
  //   "fx rate for XYZ: unknown currency 'XYZ' (not an ISO 4217 code)"
  //   "fx rate for USD: '7,1' is not a decimal number"
  //   "fx rate for USD must be > 0, got '0'"       (also for '-7.1')
  //   "fx rate for USD: more than 8 decimals in '7.123456789'"
  //   "fx rate for USD: '100000000000' is too large"
  //   "fx rate for CNY (the base currency) must be 1, got '7.1'"
  //   "duplicate fx rate for USD"
  static absl::StatusOr<FxTable> Create(
      std::string base_currency,
      const std::vector<std::pair<std::string, std::string>>& rates);

  FxTable(const FxTable&) = default;
  FxTable& operator=(const FxTable&) = default;
  FxTable(FxTable&&) = default;
  FxTable& operator=(FxTable&&) = default;

  const std::string& base_currency() const { return base_currency_; }
  int base_minor_digits() const { return base_minor_digits_; }

  // True iff ToBase accepts `currency` (the base currency always).
  bool Has(absl::string_view currency) const;

  // Converts `amount_minor` (minor units of `currency`) into minor units of
  // the base currency: amount * rate, scaled for both currencies' minor
  // digits, computed exactly in 128 bits and rounded half away from zero.
  // Deterministic and monotonic: a <= b implies ToBase(a) <= ToBase(b), so
  // "converted amount >= converted threshold" holds whenever "amount >=
  // threshold" does. (Not strictly monotonic: rounding may map two adjacent
  // amounts to the same base amount.) The base currency converts unchanged.
  //
  // Errors:
  //   NotFound   "no FX rate for EUR"
  //   OutOfRange "converting 92,233,720,368,547,758.07 USD to CNY overflows
  //               int64 minor units"
  // Hot path: does not allocate on success.
  absl::StatusOr<int64_t> ToBase(int64_t amount_minor,
                                 absl::string_view currency) const;

 private:
  // How to convert one currency: result = round(amount * numerator /
  // denominator), with numerator = rate * 10^k and denominator = 10^m chosen
  // so that both fit in 128 bits.
  struct Conversion {
    __int128 numerator = 1;
    __int128 denominator = 1;
    int minor_digits = 0;  // of the source currency, for error messages
  };

  FxTable(std::string base_currency, int base_minor_digits,
          absl::flat_hash_map<std::string, Conversion> conversions)
      : base_currency_(std::move(base_currency)),
        base_minor_digits_(base_minor_digits),
        conversions_(std::move(conversions)) {}

  std::string base_currency_;
  int base_minor_digits_ = 0;
  // Keyed by currency code; absl's string hash is transparent, so lookup by
  // absl::string_view builds no std::string.
  absl::flat_hash_map<std::string, Conversion> conversions_;
};

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_FX_TABLE_H_
