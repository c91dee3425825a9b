// File: iso_date.h
//
// "YYYY-MM-DD" read into numbers without a library call: validation and
// customer.age do it for every transaction.
#ifndef TXSCREEN_RULES_ISO_DATE_H_
#define TXSCREEN_RULES_ISO_DATE_H_

#include "absl/strings/string_view.h"

namespace txscreen::rules {

// The digits of `d` when it has the shape YYYY-MM-DD (ten bytes, digits and
// two hyphens); false otherwise. Does not check that the date exists.
inline bool ParseIsoDateDigits(absl::string_view d, int* year, int* month,
                               int* day) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
  // A byte that is not a digit gives a value above 9 once taken unsigned.
  auto digit = [&](int i) {
    return static_cast<unsigned>(static_cast<unsigned char>(d[i])) - '0';
  };
  const unsigned y0 = digit(0), y1 = digit(1), y2 = digit(2), y3 = digit(3);
  const unsigned m0 = digit(5), m1 = digit(6), d0 = digit(8), d1 = digit(9);
  if ((y0 > 9) | (y1 > 9) | (y2 > 9) | (y3 > 9) | (m0 > 9) | (m1 > 9) |
      (d0 > 9) | (d1 > 9)) {
    return false;
  }
  *year = static_cast<int>(((y0 * 10 + y1) * 10 + y2) * 10 + y3);
  *month = static_cast<int>(m0 * 10 + m1);
  *day = static_cast<int>(d0 * 10 + d1);
  return true;
}

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_ISO_DATE_H_
