#include "rules/money.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace txscreen::rules {
namespace {

// Error messages quote what they were given; keep a huge or binary input from
// turning into a huge or binary message.
std::string Quote(absl::string_view text) {
  constexpr size_t kMaxQuoted = 64;
  if (text.size() <= kMaxQuoted) {
    return absl::StrCat("'", absl::CHexEscape(text), "'");
  }
  return absl::StrCat("'", absl::CHexEscape(text.substr(0, kMaxQuoted)),
                      "...' (", text.size(), " bytes)");
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status NotANumber(absl::string_view text, absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat("amount ", Quote(text), " is not a decimal number", detail));
}

// `digits_and_commas` is non-empty and holds only digits and ','. With no
// ',' any digit string is fine; otherwise the first group has 1-3 digits and
// every later group exactly 3.
bool ThousandsSeparatorsWellPlaced(absl::string_view digits_and_commas) {
  if (digits_and_commas.find(',') == absl::string_view::npos) return true;
  size_t group_length = 0;
  bool first_group = true;
  for (char c : digits_and_commas) {
    if (c != ',') {
      ++group_length;
      continue;
    }
    if (first_group ? (group_length < 1 || group_length > 3)
                    : group_length != 3) {
      return false;
    }
    first_group = false;
    group_length = 0;
  }
  return group_length == 3;
}

}  // namespace

absl::StatusOr<int64_t> ParseDecimalToMinor(absl::string_view text,
                                            int minor_digits,
                                            absl::string_view currency) {
  if (minor_digits < 0 || minor_digits > kMaxMinorDigits) {
    return absl::InvalidArgumentError(
        absl::StrCat("minor_digits must be in [0, ", kMaxMinorDigits, "], got ",
                     minor_digits));
  }
  if (text.empty()) return absl::InvalidArgumentError("amount is empty");

  size_t pos = 0;
  const bool negative = text[0] == '-';
  if (negative) pos = 1;
  const size_t int_begin = pos;
  while (pos < text.size() && (IsDigit(text[pos]) || text[pos] == ',')) ++pos;
  const absl::string_view int_part = text.substr(int_begin, pos - int_begin);
  absl::string_view frac_part;
  bool has_point = false;
  if (pos < text.size() && text[pos] == '.') {
    has_point = true;
    const size_t frac_begin = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    frac_part = text.substr(frac_begin, pos - frac_begin);
  }
  if (pos != text.size() || int_part.empty() ||
      (has_point && frac_part.empty())) {
    return NotANumber(text, "");
  }
  if (!ThousandsSeparatorsWellPlaced(int_part)) {
    return NotANumber(text, ": misplaced ',' thousands separator");
  }
  if (frac_part.size() > static_cast<size_t>(minor_digits)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "amount ", Quote(text), " has more decimals than ",
        currency.empty() ? "" : absl::CHexEscape(currency),
        currency.empty() ? "allowed (" : " allows (", minor_digits, ")"));
  }

  // The magnitude of INT64_MIN is one more than INT64_MAX. Checking after
  // every digit keeps `magnitude` below 10 * 2^63, far inside 128 bits.
  const unsigned __int128 limit =
      static_cast<unsigned __int128>(std::numeric_limits<int64_t>::max()) +
      (negative ? 1 : 0);
  unsigned __int128 magnitude = 0;
  auto append_digit = [&](char c) {
    magnitude = magnitude * 10 + static_cast<unsigned>(c - '0');
    return magnitude <= limit;
  };
  bool fits = true;
  for (char c : int_part) {
    if (c != ',' && !(fits = append_digit(c))) break;
  }
  for (int i = 0; fits && i < minor_digits; ++i) {
    const size_t index = static_cast<size_t>(i);
    fits = append_digit(index < frac_part.size() ? frac_part[index] : '0');
  }
  if (!fits) {
    return absl::InvalidArgumentError(
        absl::StrCat("amount ", Quote(text), " is too large"));
  }
  const __int128 value = negative ? -static_cast<__int128>(magnitude)
                                  : static_cast<__int128>(magnitude);
  return static_cast<int64_t>(value);
}

std::string FormatMinor(int64_t minor, int minor_digits) {
  const size_t frac_digits =
      static_cast<size_t>(std::clamp(minor_digits, 0, kMaxMinorDigits));
  // Unsigned negation is well defined for INT64_MIN.
  const uint64_t magnitude = minor < 0
                                 ? uint64_t{0} - static_cast<uint64_t>(minor)
                                 : static_cast<uint64_t>(minor);
  std::string digits = absl::StrCat(magnitude);
  if (digits.size() < frac_digits + 1) {
    digits.insert(0, frac_digits + 1 - digits.size(), '0');
  }
  const size_t int_length = digits.size() - frac_digits;

  std::string out;
  out.reserve(digits.size() + digits.size() / 3 + 2);
  if (minor < 0) out.push_back('-');
  for (size_t i = 0; i < int_length; ++i) {
    if (i > 0 && (int_length - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  if (frac_digits > 0) {
    out.push_back('.');
    out.append(digits, int_length, frac_digits);
  }
  return out;
}

std::string FormatMoney(int64_t minor, absl::string_view currency,
                        int minor_digits) {
  return absl::StrCat(FormatMinor(minor, minor_digits), " ", currency);
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max()
               : std::numeric_limits<int64_t>::min();
}

}  // namespace txscreen::rules
