#include "rules/text_normalizer.h"

#include <unicode/normalizer2.h>
#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/uniset.h>
#include <unicode/unistr.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace txscreen::rules {
namespace {

constexpr uint32_t kBmpSize = 0x10000;

// Failing to build the tables means the ICU data is missing or broken: a bad
// installation, not bad input, so there is nothing sensible to return.
[[noreturn]] void DieBecause(const char* what, UErrorCode status) {
  std::fprintf(stderr, "txscreen: TextNormalizer: %s: %s\n", what,
               u_errorName(status));
  std::abort();
}

// Decodes the code point at p[0..n), n >= 1. Sets *length to the number of
// bytes it spans. An ill-formed sequence yields -1 with *length = 1, so that
// every byte which is not part of a well-formed sequence is reported on its
// own. The accepted ranges are those of Unicode Table 3-7, which excludes
// overlong forms, surrogates and values above U+10FFFF.
inline int32_t DecodeUtf8(const unsigned char* p, size_t n, int* length) {
  const unsigned char b0 = p[0];
  *length = 1;
  if (b0 < 0x80) return b0;
  if (b0 < 0xC2) return -1;  // Continuation byte or overlong 2-byte lead.
  if (b0 < 0xE0) {
    if (n < 2 || (p[1] & 0xC0) != 0x80) return -1;
    *length = 2;
    return ((b0 & 0x1F) << 6) | (p[1] & 0x3F);
  }
  if (b0 < 0xF0) {
    if (n < 3) return -1;
    const unsigned char low = b0 == 0xE0 ? 0xA0 : 0x80;
    const unsigned char high = b0 == 0xED ? 0x9F : 0xBF;
    if (p[1] < low || p[1] > high || (p[2] & 0xC0) != 0x80) return -1;
    *length = 3;
    return ((b0 & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
  }
  if (b0 < 0xF5) {
    if (n < 4) return -1;
    const unsigned char low = b0 == 0xF0 ? 0x90 : 0x80;
    const unsigned char high = b0 == 0xF4 ? 0x8F : 0xBF;
    if (p[1] < low || p[1] > high || (p[2] & 0xC0) != 0x80 ||
        (p[3] & 0xC0) != 0x80) {
      return -1;
    }
    *length = 4;
    return ((b0 & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) |
           (p[3] & 0x3F);
  }
  return -1;
}

// Computes the per-code-point tables with ICU. Only used while the
// process-wide instance is being built.
class MappingBuilder {
 public:
  MappingBuilder() {
    UErrorCode status = U_ZERO_ERROR;
    nfkc_casefold_ = icu::Normalizer2::getNFKCCasefoldInstance(status);
    nfd_ = icu::Normalizer2::getNFDInstance(status);
    if (U_FAILURE(status)) DieBecause("loading ICU normalizers", status);
    to_simplified_.reset(icu::Transliterator::createInstance(
        "Traditional-Simplified", UTRANS_FORWARD, status));
    if (U_FAILURE(status) || to_simplified_ == nullptr) {
      DieBecause("creating Traditional-Simplified transliterator", status);
    }
    // Running the transliterator is the slow part of the build; it can only
    // change characters in its source set, so skip everything else.
    to_simplified_->getSourceSet(simplifiable_);
  }

  // The replacement of `c` as UTF-8, white space removed.
  std::string Map(UChar32 c) const {
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeString text =
        nfkc_casefold_->normalize(icu::UnicodeString(c), status);
    if (simplifiable_.containsSome(text)) to_simplified_->transliterate(text);
    // 帐 and 账 are one character in account words (帐户 / 账户, 帐号 /
    // 账号), and ICU makes traditional 帳 into 帐: one form for matching,
    // so that a phrase list needs only 账户.
    text.findAndReplace(icu::UnicodeString(static_cast<UChar32>(0x5E10)),
                        icu::UnicodeString(static_cast<UChar32>(0x8D26)));
    text = nfd_->normalize(text, status);
    if (U_FAILURE(status)) DieBecause("normalising a code point", status);
    icu::UnicodeString kept;
    for (int32_t i = 0; i < text.length();) {
      const UChar32 x = text.char32At(i);
      i += U16_LENGTH(x);
      if (!u_isUWhiteSpace(x)) kept.append(x);
    }
    std::string utf8;
    kept.toUTF8String(utf8);
    return utf8;
  }

  // Code points above U+FFFF that may not map to themselves or that are
  // combining marks (ccc != 0).
  icu::UnicodeSet SupplementaryCandidates() const {
    UErrorCode status = U_ZERO_ERROR;
    icu::UnicodeSet set(
        u"[[:Changes_When_NFKC_Casefolded:][:NFD_Quick_Check=No:]"
        u"[:^Canonical_Combining_Class=0:]]",
        status);
    if (U_FAILURE(status)) DieBecause("building code point set", status);
    set.addAll(simplifiable_);
    set.retain(kBmpSize, 0x10FFFF);
    return set;
  }

 private:
  const icu::Normalizer2* nfkc_casefold_ = nullptr;
  const icu::Normalizer2* nfd_ = nullptr;
  std::unique_ptr<icu::Transliterator> to_simplified_;
  icu::UnicodeSet simplifiable_;
};

std::string Utf8Of(UChar32 c) {
  std::string utf8;
  icu::UnicodeString(c).toUTF8String(utf8);
  return utf8;
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    int length;
    if (DecodeUtf8(p + i, n - i, &length) < 0) return false;
    i += length;
  }
  return true;
}

const TextNormalizer& TextNormalizer::Get() {
  // Leaked on purpose: the tables are needed until the process exits.
  static const TextNormalizer* const instance = new TextNormalizer();
  return *instance;
}

TextNormalizer::TextNormalizer() : bmp_(kBmpSize) {
  const MappingBuilder builder;
  for (UChar32 c = 0; c < static_cast<UChar32>(kBmpSize); ++c) {
    // Surrogates never come out of the decoder; leave them as identities.
    if (U_IS_SURROGATE(c)) {
      bmp_[c].flags = kIdentity;
      continue;
    }
    bmp_[c] = MakeMapping(c, builder.Map(c));
  }

  const icu::UnicodeSet candidates = builder.SupplementaryCandidates();
  for (int32_t r = 0; r < candidates.getRangeCount(); ++r) {
    for (UChar32 c = candidates.getRangeStart(r);
         c <= candidates.getRangeEnd(r); ++c) {
      const Mapping mapping = MakeMapping(c, builder.Map(c));
      if ((mapping.flags & kIdentity) && mapping.lead_ccc == 0) continue;
      supplementary_.push_back({static_cast<uint32_t>(c), mapping});
    }
  }
  // UnicodeSet ranges are ascending, so supplementary_ is already sorted.

  const std::string fffd = Utf8Of(0xFFFD);
  replacement_ = MakeMapping(-1, fffd);

  for (UChar32 c = 0; c < static_cast<UChar32>(kBmpSize); ++c) {
    if (!(bmp_[c].flags & kIdentity)) ResolveChain(c, &bmp_[c]);
  }
  for (SupplementaryMapping& entry : supplementary_) {
    if (!(entry.mapping.flags & kIdentity)) {
      ResolveChain(static_cast<UChar32>(entry.code_point), &entry.mapping);
    }
  }
  for (int c = 0; c < 0x80; ++c) {
    if (bmp_[c].flags & kIdentity)
      ascii_fixed_[c >> 6] |= uint64_t{1} << (c & 63);
  }
}

TextNormalizer::Mapping TextNormalizer::MakeMapping(UChar32 c,
                                                    const std::string& utf8) {
  Mapping mapping;
  const icu::UnicodeString text = icu::UnicodeString::fromUTF8(utf8);
  if (!text.isEmpty()) {
    mapping.lead_ccc = u_getCombiningClass(text.char32At(0));
    mapping.trail_ccc = u_getCombiningClass(text.char32At(text.length() - 1));
  }
  if (c >= 0 && utf8 == Utf8Of(c)) {
    mapping.flags = kIdentity;
    mapping.length = static_cast<uint8_t>(utf8.size());
    return mapping;
  }
  if (utf8.size() > 255 || pool_.size() + utf8.size() > UINT32_MAX) {
    DieBecause("replacement does not fit the table", U_BUFFER_OVERFLOW_ERROR);
  }
  mapping.offset = static_cast<uint32_t>(pool_.size());
  mapping.length = static_cast<uint8_t>(utf8.size());
  pool_ += utf8;
  return mapping;
}

// ICU's per-character Traditional-Simplified data is not idempotent
// everywhere: ICU 72 maps 苎 to 苧 and 苧 back to 苎. Matching needs one
// normal form per character, so follow each replacement until it maps to
// itself, and settle a cycle on its smallest member.
void TextNormalizer::ResolveChain(UChar32 c, Mapping* mapping) {
  std::string current(pool_, mapping->offset, mapping->length);
  std::vector<std::string> seen = {current};
  std::string next;
  for (;;) {
    Normalize(current, &next);
    if (next == current) break;
    const auto cycle_start = std::find(seen.begin(), seen.end(), next);
    if (cycle_start != seen.end()) {
      current = *std::min_element(cycle_start, seen.end());
      break;
    }
    seen.push_back(next);
    current = next;
  }
  if (current != seen.front()) *mapping = MakeMapping(c, current);
}

const TextNormalizer::Mapping& TextNormalizer::Lookup(
    uint32_t code_point) const {
  static constexpr Mapping kUnlisted = {0, 0, kIdentity, 0, 0};
  if (code_point < kBmpSize) return bmp_[code_point];
  auto it =
      std::lower_bound(supplementary_.begin(), supplementary_.end(), code_point,
                       [](const SupplementaryMapping& entry, uint32_t value) {
                         return entry.code_point < value;
                       });
  if (it != supplementary_.end() && it->code_point == code_point) {
    return it->mapping;
  }
  return kUnlisted;
}

void TextNormalizer::Normalize(absl::string_view text, std::string* out) const {
  const char* const data = text.data();
  const auto* const p = reinterpret_cast<const unsigned char*>(data);
  const size_t n = text.size();
  const Mapping* const bmp = bmp_.data();

  // Output is written through a raw pointer into *out, sized up front to the
  // input length (outputs are rarely longer) and grown within its capacity
  // when needed; this is much faster than appending piece by piece.
  out->clear();
  out->resize(n);
  char* dst = out->data();
  size_t written = 0;
  auto write = [&](const char* bytes, size_t count) {
    if (written + count > out->size()) {
      out->resize(std::max(written + count,
                           std::min(2 * out->size() + 16, out->capacity())));
      dst = out->data();
    }
    std::memcpy(dst + written, bytes, count);
    written += count;
  };

  // Input bytes that map to themselves are copied in runs, not one by one.
  size_t run_start = 0;
  uint8_t previous_trail_ccc = 0;
  bool misordered = false;
  for (size_t i = 0; i < n;) {
    const Mapping* mapping;
    int length = 1;
    if (p[i] < 0x80) {
      mapping = &bmp[p[i]];
    } else {
      const int32_t c = DecodeUtf8(p + i, n - i, &length);
      mapping = c < 0                                ? &replacement_
                : c < static_cast<int32_t>(kBmpSize) ? &bmp[c]
                                                     : &Lookup(c);
      if (mapping->lead_ccc != 0 && previous_trail_ccc > mapping->lead_ccc) {
        misordered = true;
      }
    }
    if (mapping->flags & kIdentity) {
      previous_trail_ccc = mapping->trail_ccc;
    } else {
      if (i > run_start) write(data + run_start, i - run_start);
      if (mapping->length != 0) {
        write(pool_.data() + mapping->offset, mapping->length);
        // A removed character (white space) does not separate marks.
        previous_trail_ccc = mapping->trail_ccc;
      }
      run_start = i + length;
    }
    i += length;
  }
  if (n > run_start) write(data + run_start, n - run_start);
  out->resize(written);
  if (misordered) PutMarksInCanonicalOrder(out);
}

std::string TextNormalizer::Normalize(absl::string_view text) const {
  std::string out;
  out.reserve(text.size());
  Normalize(text, &out);
  return out;
}

// Every replacement is already decomposed, so NFD of the whole output only
// sorts runs of combining marks by combining class. Rare enough (marks typed
// in a non-canonical order) to leave to ICU.
void TextNormalizer::PutMarksInCanonicalOrder(std::string* out) const {
  if (out->size() > INT32_MAX) return;  // ICU strings are int32-indexed.
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(status);
  if (U_FAILURE(status)) DieBecause("loading NFD normalizer", status);
  const icu::UnicodeString decomposed = nfd->normalize(
      icu::UnicodeString::fromUTF8(icu::StringPiece(out->data(), out->size())),
      status);
  if (U_FAILURE(status)) DieBecause("reordering combining marks", status);
  out->clear();
  decomposed.toUTF8String(*out);
}

}  // namespace txscreen::rules
