#include "rules/named_list.h"

#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/text_normalizer.h"

namespace txscreen::rules {
namespace {

using ::testing::IsEmpty;
using ::txscreen::v1::LIST_MATCH_EXACT;
using ::txscreen::v1::LIST_MATCH_PHRASE;
using ::txscreen::v1::LIST_MATCH_UNSPECIFIED;

// Writes `contents` to a file named after the running test and returns its
// path, so tests running in parallel do not share files.
std::string WriteListFile(absl::string_view contents) {
  const testing::TestInfo* test =
      testing::UnitTest::GetInstance()->current_test_info();
  const std::string path = absl::StrCat(testing::TempDir(), "named_list_test_",
                                        test->name(), ".txt");
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  file.close();
  EXPECT_TRUE(file.good()) << path;
  return path;
}

std::string Norm(absl::string_view text) {
  return TextNormalizer::Get().Normalize(text);
}

std::unique_ptr<NamedList> MustLoad(txscreen::v1::ListMatch match,
                                    absl::string_view contents) {
  absl::StatusOr<std::unique_ptr<NamedList>> list =
      NamedList::LoadFile("test_list", match, WriteListFile(contents));
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *std::move(list) : nullptr;
}

std::unique_ptr<NamedList> MustBuild(txscreen::v1::ListMatch match,
                                     const std::vector<std::string>& entries) {
  absl::StatusOr<std::unique_ptr<NamedList>> list =
      NamedList::FromEntries("test_list", match, entries, "test");
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *std::move(list) : nullptr;
}

TEST(NamedListTest, LoadFileSkipsCommentsBlankLinesBomAndCrlf) {
  auto list = MustLoad(LIST_MATCH_EXACT,
                       "\xEF\xBB\xBF# Police notice 2024-117\r\n"
                       "\r\n"
                       "  6222021234567890  # reported 2024-03-01\r\n"
                       "   \t \r\n"
                       "# 6200000000000000\r\n"
                       "acct-0042\r\n"
                       "last-line-without-newline");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->name(), "test_list");
  EXPECT_EQ(list->match(), LIST_MATCH_EXACT);
  EXPECT_EQ(list->size(), 3u);
  EXPECT_TRUE(list->ContainsExact("6222021234567890"));
  EXPECT_TRUE(list->ContainsExact("acct-0042"));
  EXPECT_TRUE(list->ContainsExact("last-line-without-newline"));
  EXPECT_FALSE(list->ContainsExact("6200000000000000"));
  EXPECT_FALSE(list->ContainsExact(""));
}

TEST(NamedListTest, BomOnlyCountsAtTheStartOfTheFile) {
  auto list = MustLoad(LIST_MATCH_EXACT,
                       "abc\n\xEF\xBB\xBF"
                       "def\n");
  ASSERT_NE(list, nullptr);
  // U+FEFF inside the file is an invisible character, removed from entries.
  EXPECT_TRUE(list->ContainsExact("def"));
}

TEST(NamedListTest, FullWidthAccountNumbersMatchHalfWidth) {
  auto list = MustLoad(LIST_MATCH_EXACT,
                       "６２２２ ０２１２ ３４５６ ７８９０\n"
                       "6217 0000 1111 2222\n"
                       "ACCT-ＸＹＺ\n");
  ASSERT_NE(list, nullptr);
  EXPECT_TRUE(list->ContainsExact(Norm("6222021234567890")));
  EXPECT_TRUE(list->ContainsExact(Norm("６２１７００００１１１１２２２２")));
  EXPECT_TRUE(list->ContainsExact(Norm("acct-xyz")));
  EXPECT_FALSE(list->ContainsExact(Norm("6222021234567891")));
}

// A police feed writes 6230000000000666, core banking 6230-0000-0000-0666:
// one account. ASCII punctuation does not count in EXACT lists; letters,
// digits and other characters do.
TEST(NamedListTest, ExactEntriesCompareWithoutPunctuation) {
  auto list = MustLoad(LIST_MATCH_EXACT,
                       "6230000000000666\n"
                       "TEST-FRAUD-ACCT-0001\n"
                       "账户-123\n"
                       "---\n");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->size(), 3u);  // "---" has nothing left
  // Separators in the first eight bytes, after eight digits, in the tail.
  for (const char* v :
       {"6230-0000-0000-0666", "6230.0000.0000.0666", "6230/0000/0000/0666",
        "6230000000000666", "62300000:00000666", "623000000000066-6"}) {
    EXPECT_TRUE(list->ContainsExact(Norm(v))) << v;
  }
  EXPECT_TRUE(list->ContainsExact(Norm("TESTFRAUDACCT0001")));
  EXPECT_TRUE(list->ContainsExact(Norm("test_fraud_acct_0001")));
  EXPECT_TRUE(list->ContainsExact(Norm("账户123")));
  EXPECT_FALSE(list->ContainsExact(Norm("6230-0000-0000-06661")));
  EXPECT_FALSE(list->ContainsExact(Norm("TEST-FRAUD-ACCT-0010")));
  EXPECT_FALSE(list->ContainsExact(Norm("---")));
  EXPECT_FALSE(list->ContainsExact(Norm(std::string(300, '-') + "1")));
  EXPECT_FALSE(list->ContainsExact(Norm("")));
}

TEST(NamedListTest, TraditionalEntriesMatchSimplifiedTextAndBack) {
  auto list = MustLoad(LIST_MATCH_PHRASE,
                       "# scam phrases\n"
                       "安全賬戶\n"
                       "冻结\n"
                       "資金清查\n");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->FindPhraseIn(Norm("请立即转入安全账户")), "安全账户");
  EXPECT_EQ(list->FindPhraseIn(Norm("您的帳戶已被凍結")), "冻结");
  EXPECT_EQ(list->FindPhraseIn(Norm("配合资金 清查")), "资金清查");
  EXPECT_EQ(list->FindPhraseIn(Norm("安 全 賬 戶")), "安全账户");
  EXPECT_THAT(list->FindPhraseIn(Norm("三月房租")), IsEmpty());
  EXPECT_THAT(list->FindPhraseIn(""), IsEmpty());
  // The yes/no form agrees.
  EXPECT_TRUE(list->ContainsPhraseIn(Norm("请立即转入安全账户")));
  EXPECT_TRUE(list->ContainsPhraseIn(Norm("安 全 賬 戶")));
  EXPECT_FALSE(list->ContainsPhraseIn(Norm("三月房租")));
  EXPECT_FALSE(list->ContainsPhraseIn(""));
}

TEST(NamedListTest, DuplicatesAfterNormalisationAreKeptOnce) {
  auto list =
      MustLoad(LIST_MATCH_PHRASE,
               "安全賬戶\n安全账户\n安全 账户\nSAFE ACCOUNT\nsafeaccount\n");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->size(), 2u);
}

TEST(NamedListTest, FindPhraseInReturnsLeftmostThenLongestEntry) {
  auto list = MustBuild(LIST_MATCH_PHRASE, {"安全", "安全账户", "账户冻结"});
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->FindPhraseIn("请转入安全账户冻结"), "安全账户");
  EXPECT_EQ(list->FindPhraseIn("您的账户冻结请转入安全"), "账户冻结");
  EXPECT_EQ(list->FindPhraseIn("安全"), "安全");
}

TEST(NamedListTest, FindPhraseInReturnsViewIntoTheList) {
  auto list = MustBuild(LIST_MATCH_PHRASE, {"冻结"});
  ASSERT_NE(list, nullptr);
  std::string text = Norm("账户冻结了");
  absl::string_view found = list->FindPhraseIn(text);
  text.assign(text.size(), 'x');
  EXPECT_EQ(found, "冻结");
}

TEST(NamedListTest, PhrasesAreLiteralsNotRegularExpressions) {
  auto list = MustBuild(LIST_MATCH_PHRASE, {"a.b", "(x)", "+86", "\\d"});
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->FindPhraseIn("call +8613800000000"), "+86");
  EXPECT_EQ(list->FindPhraseIn("1a.b2"), "a.b");
  EXPECT_THAT(list->FindPhraseIn("axb x 86 d 5"), IsEmpty());
  EXPECT_EQ(list->FindPhraseIn("f(x)"), "(x)");
  EXPECT_EQ(list->FindPhraseIn("\\d"), "\\d");
}

// The matcher is skipped when no entry's first bytes occur in the text:
// against a brute-force search, lists with entries of one to four
// characters (so the prefix the filter hashes is 1-4 bytes long, and may be
// part of a character), texts from the same few characters.
TEST(NamedListTest, PhraseSearchAgreesWithBruteForce) {
  const std::vector<std::string> alphabet = {"a",  "b",  "1",  "-",  "安",
                                             "全", "账", "户", "冻", "é"};
  std::mt19937 rng(20261206);
  auto random_text = [&](size_t max_chars) {
    std::string t;
    const size_t n = rng() % (max_chars + 1);
    for (size_t i = 0; i < n; ++i) t += alphabet[rng() % alphabet.size()];
    return t;
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> entries;
    const int count = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < count; ++i) {
      std::string e;
      while (e.empty()) e = random_text(4);
      entries.push_back(e);
    }
    auto list = NamedList::FromEntries("p", LIST_MATCH_PHRASE, entries, "t");
    ASSERT_TRUE(list.ok()) << list.status();
    for (int i = 0; i < 50; ++i) {
      const std::string text = random_text(12);
      size_t best_at = std::string::npos;
      std::string best;
      for (const std::string& e : entries) {
        const std::string n = Norm(e);
        const size_t at = text.find(n);
        if (at == std::string::npos) continue;
        if (at < best_at || (at == best_at && n.size() > best.size())) {
          best_at = at;
          best = n;
        }
      }
      SCOPED_TRACE(absl::StrCat("entries ", absl::StrJoin(entries, "|"),
                                " text ", text));
      EXPECT_EQ((*list)->ContainsPhraseIn(text), !best.empty());
      EXPECT_EQ((*list)->FindPhraseIn(text), best);
    }
  }
}

TEST(NamedListTest, EntriesGivenDirectlyKeepHash) {
  auto list = MustBuild(LIST_MATCH_EXACT, {"#42", "a#b"});
  ASSERT_NE(list, nullptr);
  EXPECT_TRUE(list->ContainsExact("#42"));
  EXPECT_TRUE(list->ContainsExact("a#b"));
}

TEST(NamedListTest, EmptyListsAreFine) {
  auto phrases = MustLoad(LIST_MATCH_PHRASE, "# nothing yet\n\n");
  ASSERT_NE(phrases, nullptr);
  EXPECT_EQ(phrases->size(), 0u);
  EXPECT_THAT(phrases->FindPhraseIn("安全账户"), IsEmpty());
  auto exact = MustBuild(LIST_MATCH_EXACT, {});
  ASSERT_NE(exact, nullptr);
  EXPECT_FALSE(exact->ContainsExact("x"));
}

TEST(NamedListTest, ExactListsDoNotMatchPhrases) {
  auto list = MustBuild(LIST_MATCH_EXACT, {"冻结"});
  ASSERT_NE(list, nullptr);
  EXPECT_THAT(list->FindPhraseIn("账户冻结"), IsEmpty());
  EXPECT_FALSE(list->ContainsExact("账户冻结"));
}

TEST(NamedListTest, WithExtraEntriesCopiesAndAdds) {
  auto base = MustBuild(LIST_MATCH_PHRASE, {"安全账户"});
  ASSERT_NE(base, nullptr);
  absl::StatusOr<std::unique_ptr<NamedList>> extended =
      base->WithExtraEntries({"凍結", "安全賬戶"}, "test file x.textproto");
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ((*extended)->name(), "test_list");
  EXPECT_EQ((*extended)->match(), LIST_MATCH_PHRASE);
  EXPECT_EQ((*extended)->size(), 2u);
  EXPECT_EQ((*extended)->FindPhraseIn("账户冻结"), "冻结");
  EXPECT_EQ((*extended)->FindPhraseIn("转入安全账户"), "安全账户");
  // The original is unchanged.
  EXPECT_EQ(base->size(), 1u);
  EXPECT_THAT(base->FindPhraseIn("账户冻结"), IsEmpty());
}

TEST(NamedListTest, WithExtraEntriesReportsBadEntries) {
  auto base = MustBuild(LIST_MATCH_EXACT, {"acct-1"});
  ASSERT_NE(base, nullptr);
  absl::StatusOr<std::unique_ptr<NamedList>> extended =
      base->WithExtraEntries({"acct-2", "\xC3"}, "test file x.textproto");
  EXPECT_EQ(extended.status(),
            absl::InvalidArgumentError("test file x.textproto: list "
                                       "'test_list' entry 2: invalid UTF-8"));
}

TEST(NamedListTest, SafeToShareBetweenThreads) {
  auto list = MustBuild(LIST_MATCH_PHRASE, {"安全账户", "冻结", "资金清查"});
  ASSERT_NE(list, nullptr);
  std::vector<std::thread> threads;
  std::vector<int> hits(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&list, &hits, t] {
      for (int i = 0; i < 1000; ++i) {
        hits[t] += list->FindPhraseIn("请配合资金清查") == "资金清查";
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int h : hits) EXPECT_EQ(h, 1000);
}

// Error messages.

TEST(NamedListErrorTest, MissingFile) {
  const std::string path = testing::TempDir() + "named_list_test_missing.txt";
  EXPECT_EQ(NamedList::LoadFile("police", LIST_MATCH_EXACT, path).status(),
            absl::NotFoundError(absl::StrCat(
                path, ": cannot open file: No such file or directory")));
}

TEST(NamedListErrorTest, DirectoryInsteadOfFile) {
  const std::string path = testing::TempDir();
  EXPECT_EQ(NamedList::LoadFile("police", LIST_MATCH_EXACT, path).status(),
            absl::FailedPreconditionError(
                absl::StrCat(path, ": cannot read file: Is a directory")));
}

TEST(NamedListErrorTest, InvalidUtf8NamesTheLine) {
  const std::string path =
      WriteListFile("# police list\n6222021234567890\nacct-\xE8\xB4\n");
  EXPECT_EQ(
      NamedList::LoadFile("police", LIST_MATCH_EXACT, path).status(),
      absl::InvalidArgumentError(absl::StrCat(path, ":3: invalid UTF-8")));
}

TEST(NamedListErrorTest, InvalidUtf8InACommentIsAnError) {
  const std::string path = WriteListFile("acct-1\r\nacct-2 # \xC0\xAF\r\n");
  EXPECT_EQ(
      NamedList::LoadFile("police", LIST_MATCH_EXACT, path).status(),
      absl::InvalidArgumentError(absl::StrCat(path, ":2: invalid UTF-8")));
}

TEST(NamedListErrorTest, InvisibleEntryNamesTheLineAndCodePoints) {
  const std::string path =
      WriteListFile("安全账户\n\xE2\x80\x8B\xEF\xBB\xBF   # looks blank\n");
  EXPECT_EQ(NamedList::LoadFile("scam", LIST_MATCH_PHRASE, path).status(),
            absl::InvalidArgumentError(
                absl::StrCat(path,
                             ":2: entry <U+200B U+FEFF> is empty after "
                             "normalisation")));
}

TEST(NamedListErrorTest, UnspecifiedMatch) {
  const std::string path = WriteListFile("acct-1\n");
  EXPECT_EQ(
      NamedList::LoadFile("police", LIST_MATCH_UNSPECIFIED, path).status(),
      absl::InvalidArgumentError(
          absl::StrCat(path,
                       ": list 'police': match must be LIST_MATCH_EXACT or "
                       "LIST_MATCH_PHRASE, got LIST_MATCH_UNSPECIFIED")));
  EXPECT_EQ(
      NamedList::FromEntries("police", static_cast<txscreen::v1::ListMatch>(7),
                             {"acct-1"}, "test file x.textproto")
          .status(),
      absl::InvalidArgumentError(
          "test file x.textproto: list 'police': match must be "
          "LIST_MATCH_EXACT or LIST_MATCH_PHRASE, got 7"));
}

TEST(NamedListErrorTest, FromEntriesNamesTheEntry) {
  auto from = [](std::vector<std::string> entries) {
    return NamedList::FromEntries("fraud_accounts", LIST_MATCH_EXACT, entries,
                                  "test file x.textproto")
        .status();
  };
  EXPECT_EQ(from({"acct-1", "acct-\xFF"}),
            absl::InvalidArgumentError("test file x.textproto: list "
                                       "'fraud_accounts' entry 2: invalid "
                                       "UTF-8"));
  EXPECT_EQ(from({""}),
            absl::InvalidArgumentError("test file x.textproto: list "
                                       "'fraud_accounts' entry 1: entry is "
                                       "blank"));
  EXPECT_EQ(from({"acct-1", " \u3000 "}),
            absl::InvalidArgumentError("test file x.textproto: list "
                                       "'fraud_accounts' entry 2: entry is "
                                       "blank"));
  EXPECT_EQ(from({"acct-1", "acct-2", " \u200D \u00AD "}),
            absl::InvalidArgumentError(
                "test file x.textproto: list 'fraud_accounts' entry 3: entry "
                "<U+200D U+0020 U+00AD> is empty after normalisation"));
}

}  // namespace
}  // namespace txscreen::rules
