// File: rules/currency.h
//
// ISO 4217 currency codes and their minor-unit digits, as ICU knows them.
// There is no hand-written currency table in txscreen: the set of codes is
// ICU's "common, non-deprecated" ISO currencies and the digits are ICU's
// (CLDR's) default fraction digits ("CNY" -> 2, "JPY" -> 0, "KWD" -> 3).
//
// Note: CLDR deliberately differs from the ISO 4217 list for a few codes whose
// minor unit is unused in practice (e.g. IQD, IRR, LBP, RSD, SYP, YER are 0
// in ICU; ISO says 3 or 2). Feeds carrying such currencies must agree with the
// digits reported here.
//
// Thread safety: all functions are safe to call from any thread. The table is
// built once, on first use, and never changes afterwards.

#ifndef TXSCREEN_RULES_CURRENCY_H_
#define TXSCREEN_RULES_CURRENCY_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace txscreen::rules {

// True iff `code` is exactly three ASCII upper-case letters. Says nothing
// about whether the code is an assigned currency.
bool IsWellFormedCurrencyCode(absl::string_view code);

// Minor-unit digits of an active ISO 4217 code ("CNY" -> 2).
// Errors (InvalidArgument):
//   "currency must be 3 upper-case letters (ISO 4217), got 'usd'"
//   "unknown currency 'XYZ' (not an ISO 4217 code)"
// Hot path: a table index; does not allocate on success.
absl::StatusOr<int> CurrencyMinorDigits(absl::string_view code);

// True iff CurrencyMinorDigits(code) would succeed. Does not allocate.
bool IsKnownCurrency(absl::string_view code);

// The InvalidArgument status CurrencyMinorDigits returns for `code`, or OK
// when the code is known. For callers that want to prefix the message.
absl::Status ValidateCurrencyCode(absl::string_view code);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_CURRENCY_H_
