// File: json_util.h
//
// Text inside JSON string literals, for the small JSON bodies the service
// writes by hand (admin API responses, the rules status):
//
//   absl::StrCat("{\"error\":\"", JsonEscape(status.message()), "\"}")
//
// Thread safety: stateless.
#ifndef TXSCREEN_SERVE_JSON_UTIL_H_
#define TXSCREEN_SERVE_JSON_UTIL_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace txscreen::serve {
namespace json_internal {

// Length of the well-formed UTF-8 sequence of 2 to 4 bytes starting at
// text[i], or 0 if there is none (overlong forms, surrogates and code points
// above U+10FFFF are not well-formed).
inline size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) -> unsigned {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u;
  };
  const auto continuation = [&](size_t k, unsigned lo = 0x80,
                                unsigned hi = 0xBF) {
    return byte(k) >= lo && byte(k) <= hi;
  };
  const unsigned lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    const unsigned lo = lead == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = lead == 0xED ? 0x9F : 0xBF;
    return continuation(1, lo, hi) && continuation(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const unsigned lo = lead == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = lead == 0xF4 ? 0x8F : 0xBF;
    return continuation(1, lo, hi) && continuation(2) && continuation(3) ? 4
                                                                         : 0;
  }
  return 0;
}

}  // namespace json_internal

// `text` escaped for the inside of a JSON string literal (no surrounding
// quotes): `"` and `\` backslash-escaped, control characters as \n, \t, ...
// or \u00XX. Bytes that are not well-formed UTF-8 (text from a file in
// another encoding) become U+FFFD, so that the result is always valid JSON.
inline std::string JsonEscape(absl::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = json_internal::Utf8SequenceLength(text, i);
      if (length == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (c < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  return out;
}

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_JSON_UTIL_H_
