#include "rules/currency.h"

#include <unicode/ucurr.h>
#include <unicode/uenum.h>
#include <unicode/utypes.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace txscreen::rules {
namespace {

// Every well-formed code has a slot: 26^3 entries of minor-unit digits, -1
// for codes ICU does not list. A lookup is an index, not a string hash.
constexpr int kCodes = 26 * 26 * 26;
using DigitsByCode = std::array<int8_t, kCodes>;

// Only for well-formed codes (three of A-Z).
int IndexOf(absl::string_view code) {
  return ((code[0] - 'A') * 26 + (code[1] - 'A')) * 26 + (code[2] - 'A');
}

// ICU failing here means its data library is missing or broken: every
// currency would look unknown, so fail loudly instead of rejecting all input.
[[noreturn]] void DieIcu(const char* what, UErrorCode status) {
  std::fprintf(stderr, "txscreen: ICU %s failed: %s\n", what,
               u_errorName(status));
  std::abort();
}

const DigitsByCode* BuildTable() {
  auto* table = new DigitsByCode();
  table->fill(-1);
  bool any = false;
  UErrorCode status = U_ZERO_ERROR;
  UEnumeration* codes =
      ucurr_openISOCurrencies(UCURR_COMMON | UCURR_NON_DEPRECATED, &status);
  if (U_FAILURE(status)) DieIcu("ucurr_openISOCurrencies", status);
  int32_t length = 0;
  while (const char* code = uenum_next(codes, &length, &status)) {
    if (U_FAILURE(status)) DieIcu("uenum_next", status);
    absl::string_view view(code, static_cast<size_t>(length));
    if (!IsWellFormedCurrencyCode(view)) continue;
    UChar ucode[4] = {static_cast<UChar>(code[0]), static_cast<UChar>(code[1]),
                      static_cast<UChar>(code[2]), 0};
    UErrorCode digits_status = U_ZERO_ERROR;
    const int32_t digits =
        ucurr_getDefaultFractionDigits(ucode, &digits_status);
    if (U_FAILURE(digits_status)) {
      DieIcu("ucurr_getDefaultFractionDigits", digits_status);
    }
    if (digits < 0 || digits > 9) {
      DieIcu("ucurr_getDefaultFractionDigits (digits out of range)",
             U_INVALID_FORMAT_ERROR);
    }
    (*table)[IndexOf(view)] = static_cast<int8_t>(digits);
    any = true;
  }
  if (U_FAILURE(status)) DieIcu("uenum_next", status);
  uenum_close(codes);
  if (!any) DieIcu("currency list (empty)", U_MISSING_RESOURCE_ERROR);
  return table;
}

const DigitsByCode& Table() {
  // Leaked on purpose: usable from other statics' destructors.
  static const DigitsByCode* const table = BuildTable();
  return *table;
}

// Why `code` is not a known currency; only called when it is not.
absl::Status NotACurrencyError(absl::string_view code) {
  if (!IsWellFormedCurrencyCode(code)) {
    return absl::InvalidArgumentError(
        absl::StrCat("currency must be 3 upper-case letters (ISO 4217), got '",
                     absl::CHexEscape(code), "'"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown currency '", code, "' (not an ISO 4217 code)"));
}

}  // namespace

bool IsWellFormedCurrencyCode(absl::string_view code) {
  if (code.size() != 3) return false;
  for (char c : code) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

absl::StatusOr<int> CurrencyMinorDigits(absl::string_view code) {
  if (IsWellFormedCurrencyCode(code)) {
    if (const int digits = Table()[IndexOf(code)]; digits >= 0) return digits;
  }
  return NotACurrencyError(code);
}

bool IsKnownCurrency(absl::string_view code) {
  return IsWellFormedCurrencyCode(code) && Table()[IndexOf(code)] >= 0;
}

absl::Status ValidateCurrencyCode(absl::string_view code) {
  if (IsKnownCurrency(code)) return absl::OkStatus();
  return NotACurrencyError(code);
}

}  // namespace txscreen::rules
