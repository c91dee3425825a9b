// File: rules/named_list.h
//
// A NamedList is a set of strings that rules refer to by name: police-flagged
// fraud accounts, deny and allow lists and high-risk customers (matched
// exactly, `tx.counterparty in fraud_accounts`) and scam phrases (looked for
// inside a text, `contains_any(tx.memo, scam_phrases)`).
//
// Every entry is normalised with TextNormalizer when the list is built, so an
// entry written in traditional Chinese, full width or mixed case matches the
// same text written any other way. Texts compared against a list must be
// normalised by the caller (once per transaction, not once per list).
//
// List file format (UTF-8):
//
//   # Police notice 2024-117.       <- `#` starts a comment to end of line
//   6222 0212 3456 7890             <- one entry per line; white space inside
//   安全賬戶                           an entry is removed by normalisation
//
// Surrounding white space is trimmed, blank and comment-only lines are
// ignored, a UTF-8 byte order mark at the start is ignored and CRLF line ends
// are accepted. Duplicate entries (after normalisation) are kept once. An
// entry cannot contain `#`.

#ifndef TXSCREEN_RULES_NAMED_LIST_H_
#define TXSCREEN_RULES_NAMED_LIST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "txscreen/v1/rules.pb.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace txscreen::rules {

// Immutable after construction: every method is const and safe to call from
// any number of threads at once, so one list is shared by all the threads
// screening transactions. Not copyable; held by unique_ptr.
class NamedList {
 public:
  // Reads the list file at `path` (format above). Errors name the file and,
  // for a bad entry, the 1-based line:
  //   "<path>: cannot open file: <strerror>"
  //   "<path>: cannot read file: <strerror>"
  //   "<path>:7: invalid UTF-8"
  //   "<path>:7: entry <U+200B> is empty after normalisation"
  //   "<path>: list 'police': match must be LIST_MATCH_EXACT or
  //    LIST_MATCH_PHRASE, got LIST_MATCH_UNSPECIFIED"
  // Only the first bad entry is reported. A file without entries gives an
  // empty list, which is not an error.
  static absl::StatusOr<std::unique_ptr<NamedList>> LoadFile(
      std::string name, txscreen::v1::ListMatch match, const std::string& path);

  // Builds a list from entries given directly (for example in a rule test
  // file). Each element is one entry, `#` included; surrounding white space
  // is trimmed and a blank element is an error. `origin` names the source in
  // errors, which name the entry by 1-based position:
  //   "<origin>: list 'scam_phrases' entry 2: invalid UTF-8"
  //   "<origin>: list 'scam_phrases' entry 2: entry is blank"
  //   "<origin>: list 'scam_phrases' entry 2: entry <U+200B> is empty after
  //    normalisation"
  static absl::StatusOr<std::unique_ptr<NamedList>> FromEntries(
      std::string name, txscreen::v1::ListMatch match,
      const std::vector<std::string>& raw_entries, absl::string_view origin);

  // A copy of this list with `raw_entries` added (rule tests use it to add
  // accounts to a production list). Errors as for FromEntries().
  absl::StatusOr<std::unique_ptr<NamedList>> WithExtraEntries(
      const std::vector<std::string>& raw_entries,
      absl::string_view origin) const;

  NamedList(const NamedList&) = delete;
  NamedList& operator=(const NamedList&) = delete;
  ~NamedList();

  const std::string& name() const { return name_; }
  txscreen::v1::ListMatch match() const { return match_; }
  // The number of distinct entries after normalisation.
  size_t size() const { return entries_.size(); }

  // Whether `normalized`, which must already be normalised by
  // TextNormalizer, is one of the entries (the lookup for EXACT lists; it
  // works on PHRASE lists too). EXACT lists compare without ASCII
  // punctuation ("6230-0000-0000-0666" is "6230000000000666"). Does not
  // allocate for values up to 256 bytes.
  bool ContainsExact(absl::string_view normalized) const;

  // For PHRASE lists (empty for EXACT lists): the entry, in normalised form,
  // that occurs in `normalized_text` (already normalised by TextNormalizer)
  // and starts earliest; of several starting at the same place, the longest.
  // Empty when no entry occurs. The view points into this list and lives as
  // long as it. Does not allocate once the matcher has warmed up (RE2 grows
  // its automaton cache on the first texts it sees).
  absl::string_view FindPhraseIn(absl::string_view normalized_text) const;
  // Whether FindPhraseIn would find one; cheaper (the matcher need not say
  // where).
  bool ContainsPhraseIn(absl::string_view normalized_text) const;

 private:
  NamedList(std::string name, txscreen::v1::ListMatch match);

  // Takes entries already normalised and checked; removes duplicates and
  // builds the index and, for PHRASE lists, the matcher. `origin` prefixes
  // errors.
  static absl::StatusOr<std::unique_ptr<NamedList>> Create(
      std::string name, txscreen::v1::ListMatch match,
      std::vector<std::string> normalized_entries, absl::string_view origin);

  // For PHRASE lists: whether an entry may start somewhere in `text`, by
  // the hashes of the entries' first prefix_len_ bytes (a set of 65,536
  // bits). False means no entry occurs; true, that the matcher must look.
  // Most texts (memos) contain none, and this costs a few instructions per
  // character where the matcher costs hundreds per call.
  bool MayContainPhrase(absl::string_view text) const;
  static uint32_t PrefixHash(const char* p, size_t length);

  std::string name_;
  txscreen::v1::ListMatch match_;
  // Distinct normalised entries in first-seen order; index_ views them.
  std::vector<std::string> entries_;
  absl::flat_hash_set<absl::string_view> index_;
  // PHRASE lists with entries: all entries as one alternation of literals.
  std::unique_ptr<re2::RE2> phrases_;
  // The shortest entry's length in bytes, at most 4, and the set of the
  // hashes of every entry's first prefix_len_ bytes (MayContainPhrase).
  size_t prefix_len_ = 0;
  std::vector<uint64_t> starts_;
};

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_NAMED_LIST_H_
