// File: rules/text_normalizer.h
//
// TextNormalizer folds text so that scam-phrase and list matching treats as
// equal the spellings fraudsters (and honest typists) use interchangeably:
//
//   - full-width and half-width forms        ＡＢＣ１２３  == abc123
//   - upper and lower case (Unicode case folding)
//   - whitespace: every Unicode white-space character is removed, so
//     "安 全 账 户" == "安全账户" and "safe account" == "safeaccount"
//   - invisible format characters (U+200B, U+200D, U+FEFF, soft hyphen, ...)
//     are removed
//   - traditional and simplified Chinese     安全賬戶 == 安全账户
//   - composed and decomposed accents        "É" == "e\u0301"
//
// Precisely: each code point c becomes
//   NFD(Traditional-Simplified(NFKC_Casefold(c)))
// with white space dropped, and the result is put in canonical order (NFD).
// The ICU work is done once per code point when the process-wide instance is
// built; Normalize() itself only looks code points up in a table.
//
// Limits: the Traditional-Simplified conversion is character by character, so
// the few traditional characters whose simplified form depends on the word are
// always given their most common simplified form. Where ICU's data maps
// characters to each other in a cycle (ICU 72: 苎 -> 苧 -> 苎) all of them
// take one form, so that normalising twice changes nothing.

#ifndef TXSCREEN_RULES_TEXT_NORMALIZER_H_
#define TXSCREEN_RULES_TEXT_NORMALIZER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace txscreen::rules {

// Returns true if `text` is well-formed UTF-8: no truncated sequences, lone
// continuation bytes, overlong encodings, surrogates or values above U+10FFFF.
bool IsValidUtf8(absl::string_view text);

// Immutable after construction; every method is const and safe to call from
// any number of threads at once.
class TextNormalizer {
 public:
  // The process-wide instance, built on the first call (about 60 ms) and never
  // destroyed. Thread-safe. Aborts if the ICU data it needs is missing, which
  // is a broken installation rather than bad input.
  static const TextNormalizer& Get();

  TextNormalizer(const TextNormalizer&) = delete;
  TextNormalizer& operator=(const TextNormalizer&) = delete;

  // Replaces *out with the normalised form of `text` (UTF-8). Never fails:
  // each byte that is not part of a well-formed UTF-8 sequence becomes
  // U+FFFD. Does not call ICU and does not allocate when out->capacity() is
  // at least the larger of the input and output lengths (outputs are rarely
  // longer than inputs), except for text holding combining marks in
  // non-canonical order, which ICU reorders on a slower path. `text` must not
  // alias *out.
  void Normalize(absl::string_view text, std::string* out) const;
  std::string Normalize(absl::string_view text) const;

  // True when Normalize(text) == text for a cheap reason: every byte is an
  // ASCII character that normalises to itself (digits, lower-case letters,
  // most punctuation), as in most account numbers and ids. Callers can then
  // use `text` as it is.
  bool IsAsciiFixedPoint(absl::string_view text) const {
    size_t i = 0;
    // Eight digits at a time while they last (account numbers are digits,
    // and digits are fixed points): every byte's high nibble 3, low nibble
    // at most 9 (adding 6 to it stays below 0x10).
    constexpr uint64_t kHigh = 0xF0F0F0F0F0F0F0F0ULL;
    constexpr uint64_t kLow = 0x0F0F0F0F0F0F0F0FULL;
    for (; i + 8 <= text.size(); i += 8) {
      uint64_t x;
      std::memcpy(&x, text.data() + i, 8);
      if ((x & kHigh) != 0x3030303030303030ULL ||
          (((x & kLow) + 0x0606060606060606ULL) & kHigh) != 0) {
        break;
      }
    }
    for (; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x80 || ((ascii_fixed_[c >> 6] >> (c & 63)) & 1) == 0) {
        return false;
      }
    }
    return true;
  }

 private:
  // How one code point is rewritten: `length` bytes of pool_ from `offset`,
  // or the input bytes themselves when kIdentity is set. The canonical
  // combining classes of the first and last code points of the replacement
  // let Normalize() notice marks that need reordering.
  struct Mapping {
    uint32_t offset = 0;
    uint8_t length = 0;
    uint8_t flags = 0;
    uint8_t lead_ccc = 0;
    uint8_t trail_ccc = 0;
  };
  static constexpr uint8_t kIdentity = 1;

  // A code point above U+FFFF that is not mapped to itself.
  struct SupplementaryMapping {
    uint32_t code_point;
    Mapping mapping;
  };

  TextNormalizer();

  // Builders, used only by the constructor. `c` is -1 for U+FFFD standing
  // in for an ill-formed byte.
  Mapping MakeMapping(int32_t c, const std::string& utf8);
  void ResolveChain(int32_t c, Mapping* mapping);

  const Mapping& Lookup(uint32_t code_point) const;
  void PutMarksInCanonicalOrder(std::string* out) const;

  std::vector<Mapping> bmp_;  // Indexed by code point, U+0000..U+FFFF.
  // Bit c: ASCII character c normalises to itself.
  uint64_t ascii_fixed_[2] = {0, 0};
  // Sorted by code_point; code points not listed map to themselves.
  std::vector<SupplementaryMapping> supplementary_;
  std::string pool_;     // UTF-8 replacements referenced by Mapping::offset.
  Mapping replacement_;  // U+FFFD, written for each ill-formed byte.
};

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_TEXT_NORMALIZER_H_
