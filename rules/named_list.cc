#include "rules/named_list.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "re2/re2.h"
#include "rules/text_normalizer.h"

namespace txscreen::rules {
namespace {

constexpr absl::string_view kByteOrderMark = "\xEF\xBB\xBF";

// Phrase lists compile to one automaton; allow more than RE2's default 8 MiB
// so that lists of thousands of phrases keep using the fast DFA.
constexpr int64_t kPhraseMatcherMaxMemory = int64_t{64} << 20;

absl::Status ValidateMatch(absl::string_view name,
                           txscreen::v1::ListMatch match,
                           absl::string_view origin) {
  if (match == txscreen::v1::LIST_MATCH_EXACT ||
      match == txscreen::v1::LIST_MATCH_PHRASE) {
    return absl::OkStatus();
  }
  const std::string match_name = txscreen::v1::ListMatch_IsValid(match)
                                     ? txscreen::v1::ListMatch_Name(match)
                                     : absl::StrCat(static_cast<int>(match));
  return absl::InvalidArgumentError(absl::StrCat(
      origin, ": list '", name,
      "': match must be LIST_MATCH_EXACT or LIST_MATCH_PHRASE, got ",
      match_name));
}

// ASCII punctuation: in an EXACT list, account numbers and ids compare by
// their letters and digits (and any non-ASCII characters), so that
// 6230-0000-0000-0666, 6230.0000.0000.0666 and 6230000000000666 are one
// account, whichever form the police feed or core banking writes.
bool IsSeparator(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x80 && !absl::ascii_isalnum(u);
}

// Whether `s` holds a separator; eight digits at a time (account numbers
// are looked up in several lists per transaction: a byte-wise scan of each
// was ~1,200 instructions per transaction).
bool HasSeparator(absl::string_view s) {
  constexpr uint64_t kHigh = 0xF0F0F0F0F0F0F0F0ULL;
  constexpr uint64_t kZeros = 0x3030303030303030ULL;  // '0' x 8
  constexpr uint64_t kSixes = 0x0606060606060606ULL;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    // Every byte is '0'-'9' when its high nibble is 3 and adding 6 keeps
    // it there (no carry leaves a byte: each low nibble is at most 0xF).
    if ((x & kHigh) == kZeros && ((x + kSixes) & kHigh) == kZeros) continue;
    for (size_t j = i; j < i + 8; ++j) {
      if (IsSeparator(s[j])) return true;
    }
  }
  for (; i < s.size(); ++i) {
    if (IsSeparator(s[i])) return true;
  }
  return false;
}

// Iterates the code points of valid UTF-8 `text`.
template <typename Fn>
void ForEachCodePoint(absl::string_view text, Fn fn) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    fn(c);
  }
}

// Removes Unicode white space from both ends of valid UTF-8 `text`.
absl::string_view TrimWhitespace(absl::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t begin = n;
  size_t end = n;
  for (size_t i = 0; i < n;) {
    const size_t start = i;
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (u_isUWhiteSpace(c)) continue;
    if (begin == n) begin = start;
    end = i;
  }
  return begin == n ? absl::string_view() : text.substr(begin, end - begin);
}

// Checks and normalises one entry. A blank entry (nothing or only white
// space) becomes "" when
// `blank_allowed` (file lines) and is an error otherwise. Error messages
// carry no location; the caller adds it.
absl::Status NormalizeEntry(absl::string_view raw, bool blank_allowed,
                            std::string* normalized) {
  normalized->clear();
  if (!IsValidUtf8(raw)) return absl::InvalidArgumentError("invalid UTF-8");
  const absl::string_view entry = TrimWhitespace(raw);
  if (entry.empty()) {
    return blank_allowed ? absl::OkStatus()
                         : absl::InvalidArgumentError("entry is blank");
  }
  TextNormalizer::Get().Normalize(entry, normalized);
  if (!normalized->empty()) return absl::OkStatus();
  // The entry is invisible, so name its code points.
  std::vector<std::string> code_points;
  ForEachCodePoint(entry, [&](UChar32 c) {
    code_points.push_back(absl::StrFormat("U+%04X", c));
  });
  return absl::InvalidArgumentError(
      absl::StrCat("entry <", absl::StrJoin(code_points, " "),
                   "> is empty after normalisation"));
}

absl::Status WithLocation(const absl::Status& status, absl::string_view where) {
  return absl::Status(status.code(),
                      absl::StrCat(where, ": ", status.message()));
}

absl::Status NormalizeEntries(absl::string_view list_name,
                              const std::vector<std::string>& raw_entries,
                              absl::string_view origin,
                              std::vector<std::string>* normalized) {
  normalized->reserve(normalized->size() + raw_entries.size());
  std::string entry;
  for (size_t i = 0; i < raw_entries.size(); ++i) {
    absl::Status status =
        NormalizeEntry(raw_entries[i], /*blank_allowed=*/false, &entry);
    if (!status.ok()) {
      return WithLocation(status, absl::StrCat(origin, ": list '", list_name,
                                               "' entry ", i + 1));
    }
    normalized->push_back(entry);
  }
  return absl::OkStatus();
}

absl::Status ReadFile(const std::string& path, std::string* contents) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open file"));
  }
  contents->clear();
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents->append(buffer, n);
  }
  const int read_errno = errno;
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    return absl::ErrnoToStatus(read_errno,
                               absl::StrCat(path, ": cannot read file"));
  }
  return absl::OkStatus();
}

// MayContainPhrase: entries' first bytes hashed into 2^16 bits (8 KiB per
// phrase list).
constexpr size_t kMaxPrefix = 4;
constexpr int kStartHashBits = 16;
constexpr size_t kStartBits = size_t{1} << kStartHashBits;

}  // namespace

NamedList::NamedList(std::string name, txscreen::v1::ListMatch match)
    : name_(std::move(name)), match_(match) {}

NamedList::~NamedList() = default;

absl::StatusOr<std::unique_ptr<NamedList>> NamedList::LoadFile(
    std::string name, txscreen::v1::ListMatch match, const std::string& path) {
  absl::Status status = ValidateMatch(name, match, path);
  if (!status.ok()) return status;
  std::string contents;
  status = ReadFile(path, &contents);
  if (!status.ok()) return status;

  absl::string_view rest = contents;
  absl::ConsumePrefix(&rest, kByteOrderMark);
  std::vector<std::string> normalized;
  std::string entry;
  size_t line_number = 0;
  for (absl::string_view line : absl::StrSplit(rest, '\n')) {
    ++line_number;
    // Check the whole line, comment included: the file must be UTF-8.
    status = IsValidUtf8(line) ? absl::OkStatus()
                               : absl::InvalidArgumentError("invalid UTF-8");
    if (status.ok()) {
      // `#` is ASCII, so cutting there cannot split a UTF-8 sequence.
      status = NormalizeEntry(line.substr(0, line.find('#')),
                              /*blank_allowed=*/true, &entry);
    }
    if (!status.ok()) {
      return WithLocation(status, absl::StrCat(path, ":", line_number));
    }
    if (!entry.empty()) normalized.push_back(entry);
  }
  return Create(std::move(name), match, std::move(normalized), path);
}

absl::StatusOr<std::unique_ptr<NamedList>> NamedList::FromEntries(
    std::string name, txscreen::v1::ListMatch match,
    const std::vector<std::string>& raw_entries, absl::string_view origin) {
  absl::Status status = ValidateMatch(name, match, origin);
  if (!status.ok()) return status;
  std::vector<std::string> normalized;
  status = NormalizeEntries(name, raw_entries, origin, &normalized);
  if (!status.ok()) return status;
  return Create(std::move(name), match, std::move(normalized), origin);
}

absl::StatusOr<std::unique_ptr<NamedList>> NamedList::WithExtraEntries(
    const std::vector<std::string>& raw_entries,
    absl::string_view origin) const {
  // Existing entries are already normalised; they are not normalised again.
  std::vector<std::string> normalized = entries_;
  absl::Status status =
      NormalizeEntries(name_, raw_entries, origin, &normalized);
  if (!status.ok()) return status;
  return Create(name_, match_, std::move(normalized), origin);
}

absl::StatusOr<std::unique_ptr<NamedList>> NamedList::Create(
    std::string name, txscreen::v1::ListMatch match,
    std::vector<std::string> normalized_entries, absl::string_view origin) {
  auto list = absl::WrapUnique(new NamedList(std::move(name), match));
  // index_ holds views into entries_, so entries_ must never reallocate.
  list->entries_.reserve(normalized_entries.size());
  for (std::string& entry : normalized_entries) {
    if (match == txscreen::v1::LIST_MATCH_EXACT) {
      entry.erase(std::remove_if(entry.begin(), entry.end(), IsSeparator),
                  entry.end());
      if (entry.empty()) continue;
    }
    if (list->index_.contains(entry)) continue;
    list->entries_.push_back(std::move(entry));
    list->index_.insert(list->entries_.back());
  }
  if (match != txscreen::v1::LIST_MATCH_PHRASE || list->entries_.empty()) {
    return list;
  }

  // One RE2 alternation of quoted literals rather than an RE2::Set: a Set
  // reports which patterns matched only through a std::vector and allocates
  // per call, while RE2::Match hands back the matched span from its DFAs with
  // no allocation once warm. Leftmost-longest semantics make the result
  // independent of entry order.
  std::string pattern;
  for (const std::string& entry : list->entries_) {
    if (!pattern.empty()) pattern += '|';
    pattern += RE2::QuoteMeta(entry);
  }
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingUTF8);
  options.set_longest_match(true);
  options.set_log_errors(false);
  options.set_max_mem(kPhraseMatcherMaxMemory);
  list->phrases_ = std::make_unique<RE2>(pattern, options);
  if (!list->phrases_->ok()) {
    return absl::ResourceExhaustedError(
        absl::StrCat(origin, ": phrase list '", list->name_, "' with ",
                     list->entries_.size(),
                     " entries cannot be compiled: ", list->phrases_->error()));
  }
  list->prefix_len_ = kMaxPrefix;
  for (const std::string& entry : list->entries_) {
    list->prefix_len_ = std::min(list->prefix_len_, entry.size());
  }
  list->starts_.assign(kStartBits / 64, 0);
  for (const std::string& entry : list->entries_) {
    const uint32_t h = PrefixHash(entry.data(), list->prefix_len_);
    list->starts_[h >> 6] |= uint64_t{1} << (h & 63);
  }
  return list;
}

uint32_t NamedList::PrefixHash(const char* p, size_t length) {
  uint32_t v = 0;
  if (length == kMaxPrefix) {
    std::memcpy(&v, p, kMaxPrefix);
  } else {
    for (size_t i = 0; i < length; ++i) {
      v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
    }
  }
  return (v * 0x9E3779B1u) >> (32 - kStartHashBits);
}

bool NamedList::MayContainPhrase(absl::string_view text) const {
  const size_t k = prefix_len_;
  if (text.size() < k) return false;  // every entry has at least k bytes
  const char* p = text.data();
  for (size_t i = 0; i + k <= text.size(); ++i) {
    // Entries are UTF-8 and start with a first byte, never with a
    // continuation byte (10xxxxxx): no match starts there.
    if ((static_cast<unsigned char>(p[i]) & 0xC0) == 0x80) continue;
    const uint32_t h = PrefixHash(p + i, k);
    if ((starts_[h >> 6] >> (h & 63)) & 1) return true;
  }
  return false;
}

bool NamedList::ContainsExact(absl::string_view normalized) const {
  if (match_ != txscreen::v1::LIST_MATCH_EXACT || !HasSeparator(normalized)) {
    return index_.contains(normalized);
  }
  // Separators dropped, as in the entries; on the stack unless long.
  char buffer[256];
  std::string long_key;
  char* out = buffer;
  if (normalized.size() > sizeof(buffer)) {
    long_key.resize(normalized.size());
    out = long_key.data();
  }
  size_t n = 0;
  for (char c : normalized) {
    if (!IsSeparator(c)) out[n++] = c;
  }
  return n > 0 && index_.contains(absl::string_view(out, n));
}

bool NamedList::ContainsPhraseIn(absl::string_view normalized_text) const {
  if (phrases_ == nullptr || !MayContainPhrase(normalized_text)) return false;
  const re2::StringPiece text(normalized_text.data(), normalized_text.size());
  return phrases_->Match(text, 0, text.size(), RE2::UNANCHORED, nullptr, 0);
}

absl::string_view NamedList::FindPhraseIn(
    absl::string_view normalized_text) const {
  if (phrases_ == nullptr || !MayContainPhrase(normalized_text)) return {};
  const re2::StringPiece text(normalized_text.data(), normalized_text.size());
  re2::StringPiece found;
  if (!phrases_->Match(text, 0, text.size(), RE2::UNANCHORED, &found, 1)) {
    return {};
  }
  // The match spells one of the literals exactly; return the stored copy so
  // the view outlives the caller's text.
  const auto it = index_.find(absl::string_view(found.data(), found.size()));
  return it != index_.end() ? *it
                            : absl::string_view(found.data(), found.size());
}

}  // namespace txscreen::rules
