#include "rules/text_normalizer.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::rules {
namespace {

constexpr absl::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string Norm(absl::string_view text) {
  return TextNormalizer::Get().Normalize(text);
}

TEST(TextNormalizerTest, EmptyStaysEmpty) { EXPECT_EQ(Norm(""), ""); }

TEST(TextNormalizerTest, AsciiFixedPointsAreExactlyTheUnchangedAscii) {
  const TextNormalizer& n = TextNormalizer::Get();
  EXPECT_TRUE(n.IsAsciiFixedPoint(""));
  EXPECT_TRUE(n.IsAsciiFixedPoint("6222000000000354"));
  EXPECT_TRUE(n.IsAsciiFixedPoint("dev-a8c1035f67231c58"));
  EXPECT_FALSE(n.IsAsciiFixedPoint("ABC123"));     // case folds
  EXPECT_FALSE(n.IsAsciiFixedPoint("6222 0212"));  // space goes
  EXPECT_FALSE(n.IsAsciiFixedPoint("\t"));
  EXPECT_FALSE(n.IsAsciiFixedPoint("安全账户"));
  // Every single ASCII character: fixed point exactly when it normalises
  // to itself.
  for (int c = 0; c < 0x80; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(n.IsAsciiFixedPoint(one), Norm(one) == one) << c;
  }
  // Longer texts (read eight digits at a time): fixed exactly when every
  // character is, wherever a non-digit or non-fixed byte sits.
  for (size_t length : {7, 8, 9, 16, 17, 24}) {
    for (size_t at = 0; at < length; ++at) {
      for (int c = 0; c < 0x100; ++c) {
        std::string text(length, '7');
        text[at] = static_cast<char>(c);
        const bool fixed = c < 0x80 && n.IsAsciiFixedPoint(std::string(
                                           1, static_cast<char>(c)));
        ASSERT_EQ(n.IsAsciiFixedPoint(text), fixed)
            << "length " << length << " at " << at << " byte " << c;
      }
    }
  }
}

TEST(TextNormalizerTest, FullWidthEqualsHalfWidth) {
  EXPECT_EQ(Norm("ＡＢＣ１２３"), "abc123");
  EXPECT_EQ(Norm("ＡＢＣ１２３"), Norm("abc123"));
  EXPECT_EQ(Norm("６２２２０２１２３４５６７８９０"), "6222021234567890");
  // Half-width katakana become full-width.
  EXPECT_EQ(Norm("ｶﾀｶﾅ"), Norm("カタカナ"));
}

TEST(TextNormalizerTest, CaseIsFolded) {
  EXPECT_EQ(Norm("Safe ACCOUNT"), "safeaccount");
  EXPECT_EQ(Norm("STRASSE"), Norm("straße"));
  EXPECT_EQ(Norm("ΣΊΣΥΦΟΣ"), Norm("σίσυφος"));
}

TEST(TextNormalizerTest, WhitespaceIsRemoved) {
  EXPECT_EQ(Norm("安 全 账 户"), "安全账户");
  EXPECT_EQ(Norm("safe account"), "safeaccount");
  // Tab, newline, no-break space, ideographic space, line separator.
  EXPECT_EQ(Norm("\tsafe\n\u00A0account\u3000\u2028"), "safeaccount");
  EXPECT_EQ(Norm(" \t\r\n\u3000"), "");
}

TEST(TextNormalizerTest, InvisibleFormatCharactersAreRemoved) {
  EXPECT_EQ(Norm("安\u200B全\u200C账\u200D户\u2060"), "安全账户");
  EXPECT_EQ(Norm("\uFEFFsafe\u00ADaccount"), "safeaccount");
  EXPECT_EQ(Norm("\u200B\u200B"), "");
}

TEST(TextNormalizerTest, TraditionalEqualsSimplified) {
  EXPECT_EQ(Norm("安全賬戶"), Norm("安全账户"));
  EXPECT_EQ(Norm("凍結"), Norm("冻结"));
  EXPECT_EQ(Norm("資金清查"), Norm("资金清查"));
  EXPECT_EQ(Norm("安全賬戶"), "安全账户");
  EXPECT_EQ(Norm("臺灣警察"), "台湾警察");
}

// 帐 and 账 are one in account words; traditional 帳 (which ICU makes 帐)
// too: 帳戶解凍, 帐户解冻 and 账户解冻 are one phrase.
TEST(TextNormalizerTest, ZhangVariantsAreOne) {
  EXPECT_EQ(Norm("帐户解冻"), "账户解冻");
  EXPECT_EQ(Norm("帳戶解凍"), "账户解冻");
  EXPECT_EQ(Norm("安全帐号"), Norm("安全账号"));
}

TEST(TextNormalizerTest, TransliterationCyclesSettleOnOneForm) {
  // ICU 72 maps 苎 to 苧 and 苧 back to 苎; all spellings must agree.
  EXPECT_EQ(Norm("苧"), "苎");
  EXPECT_EQ(Norm("苎"), "苎");
  EXPECT_EQ(Norm("薴"), "苎");
}

TEST(TextNormalizerTest, CompatibilityIdeographsBecomeSimplified) {
  // U+F907 is a compatibility form of 龜 (turtle); simplified 龟.
  EXPECT_EQ(Norm("\uF907"), "龟");
  // Kangxi radical U+2F08 is 人.
  EXPECT_EQ(Norm("\u2F08"), "人");
}

TEST(TextNormalizerTest, AllFoldingsTogether) {
  EXPECT_EQ(Norm(" 請 轉入\u200B安全賬戶 ＡＢＣ１２３ "),
            Norm("请转入安全账户abc123"));
}

TEST(TextNormalizerTest, ComposedAndDecomposedAccentsAreEqual) {
  EXPECT_EQ(Norm("É"), Norm("e\u0301"));
  EXPECT_EQ(Norm("Café"), Norm("CAFE\u0301"));
  // Output is decomposed.
  EXPECT_EQ(Norm("é"), "e\u0301");
}

TEST(TextNormalizerTest, CombiningMarksArePutInCanonicalOrder) {
  // U+0323 (dot below, ccc 220) sorts before U+0301 (acute, ccc 230).
  EXPECT_EQ(Norm("e\u0301\u0323"), "e\u0323\u0301");
  EXPECT_EQ(Norm("e\u0323\u0301"), "e\u0323\u0301");
  EXPECT_EQ(Norm("\u1EC7"), "e\u0323\u0302");  // ệ
  EXPECT_EQ(Norm("ê\u0323"), "e\u0323\u0302");
  // Removed white space does not separate marks.
  EXPECT_EQ(Norm("e\u0301 \u0323"), "e\u0323\u0301");
}

TEST(TextNormalizerTest, FourByteCharactersSurvive) {
  EXPECT_EQ(Norm("转账😀"), "转账😀");
  EXPECT_EQ(Norm("👍🏽"), "👍🏽");
  EXPECT_EQ(Norm("𠀀"), "𠀀");  // CJK Extension B.
  // Mathematical bold capital A (U+1D400) is a compatibility form of a.
  EXPECT_EQ(Norm("\U0001D400"), "a");
  // Tag characters (U+E0041) are invisible.
  EXPECT_EQ(Norm("a\U000E0041b"), "ab");
}

TEST(TextNormalizerTest, TruncatedSequencesBecomeReplacementPerByte) {
  // "账" is E8 B4 A6; cut after two bytes, then at the end of the string.
  EXPECT_EQ(Norm("\xE8\xB4x"), absl::StrCat(kReplacement, kReplacement, "x"));
  EXPECT_EQ(Norm("a\xE8\xB4"), absl::StrCat("a", kReplacement, kReplacement));
  EXPECT_EQ(Norm("\xF0\x9F\x98"),
            absl::StrCat(kReplacement, kReplacement, kReplacement));
  EXPECT_EQ(Norm("\xC3"), kReplacement);
}

TEST(TextNormalizerTest, LoneContinuationBytesBecomeReplacement) {
  EXPECT_EQ(Norm("\x80"), kReplacement);
  EXPECT_EQ(Norm("a\xBF\x80Z"),
            absl::StrCat("a", kReplacement, kReplacement, "z"));
}

TEST(TextNormalizerTest, OverlongAndOutOfRangeSequencesBecomeReplacement) {
  // Overlong "/" in two and three bytes.
  EXPECT_EQ(Norm("\xC0\xAF"), absl::StrCat(kReplacement, kReplacement));
  EXPECT_EQ(Norm("\xE0\x80\xAF"),
            absl::StrCat(kReplacement, kReplacement, kReplacement));
  // Encoded surrogate U+D800 and a value above U+10FFFF.
  EXPECT_EQ(Norm("\xED\xA0\x80"),
            absl::StrCat(kReplacement, kReplacement, kReplacement));
  EXPECT_EQ(Norm("\xF4\x90\x80\x80"), absl::StrCat(kReplacement, kReplacement,
                                                   kReplacement, kReplacement));
  EXPECT_EQ(Norm("\xFF\xFE"), absl::StrCat(kReplacement, kReplacement));
}

TEST(TextNormalizerTest, EmbeddedNulIsKept) {
  EXPECT_EQ(Norm(absl::string_view("a\0b", 3)), std::string("a\0b", 3));
}

TEST(TextNormalizerTest, EveryTwoByteInputIsHandled) {
  // Exercises the decoder on every prefix it can meet; nothing may crash and
  // the output must always be valid UTF-8.
  std::string out;
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const char bytes[2] = {static_cast<char>(a), static_cast<char>(b)};
      TextNormalizer::Get().Normalize(absl::string_view(bytes, 2), &out);
      ASSERT_TRUE(IsValidUtf8(out)) << a << " " << b;
    }
  }
}

TEST(TextNormalizerTest, NormalizingTwiceChangesNothing) {
  const TextNormalizer& normalizer = TextNormalizer::Get();
  std::string once;
  std::string twice;
  for (char32_t c = 0; c < 0x110000; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    std::string text;
    if (c < 0x80) {
      text = std::string(1, static_cast<char>(c));
    } else {
      // Encode with the normaliser's own view of the code point: it is
      // valid UTF-8, so it decodes back to c.
      char buf[4];
      int n = 0;
      if (c < 0x800) {
        buf[n++] = static_cast<char>(0xC0 | (c >> 6));
      } else if (c < 0x10000) {
        buf[n++] = static_cast<char>(0xE0 | (c >> 12));
        buf[n++] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      } else {
        buf[n++] = static_cast<char>(0xF0 | (c >> 18));
        buf[n++] = static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        buf[n++] = static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      }
      buf[n++] = static_cast<char>(0x80 | (c & 0x3F));
      text.assign(buf, n);
    }
    ASSERT_TRUE(IsValidUtf8(text)) << std::hex << static_cast<int>(c);
    normalizer.Normalize(text, &once);
    normalizer.Normalize(once, &twice);
    ASSERT_EQ(once, twice) << "U+" << std::hex << static_cast<int>(c);
  }
}

TEST(TextNormalizerTest, OutputBufferIsReused) {
  std::string out;
  out.reserve(256);
  const char* const data = out.data();
  TextNormalizer::Get().Normalize("請轉入安全賬戶 ＡＢＣ１２３", &out);
  EXPECT_EQ(out, "请转入安全账户abc123");
  TextNormalizer::Get().Normalize("x", &out);
  EXPECT_EQ(out, "x");
  EXPECT_EQ(out.data(), data);
}

TEST(TextNormalizerTest, SafeToUseFromManyThreads) {
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&results, i] {
      results[i] = TextNormalizer::Get().Normalize("凍結 資金");
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& r : results) EXPECT_EQ(r, "冻结资金");
}

TEST(IsValidUtf8Test, AcceptsWellFormedAndRejectsIllFormed) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("abc 安全账户 😀 é"));
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xE8\xB4"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
}

}  // namespace
}  // namespace txscreen::rules
