#include "rules/expr_parser.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::rules {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A compact, unambiguous rendering of a syntax tree:
//   (+ 1 (* 2 3)), (in x police), (notin x [1, 2]), f(a, b), -: (neg x)
std::string Show(const AstNode& n) {
  using K = AstNode::Kind;
  std::vector<std::string> kids;
  for (const auto& c : n.children) kids.push_back(Show(*c));
  switch (n.kind) {
    case K::kInt:
      return n.text;
    case K::kDecimal:
      return absl::StrCat("dec:", n.int_value);
    case K::kMoney:
      return absl::StrCat("money:", n.text, ":", n.currency);
    case K::kDuration:
      return absl::StrCat("dur:", n.int_value);
    case K::kString:
      return absl::StrCat("'", n.text, "'");
    case K::kBool:
      return absl::StrCat("bool:", n.int_value);
    case K::kPath:
      return n.text;
    case K::kCall:
      return absl::StrCat(n.text, "(", absl::StrJoin(kids, ", "), ")");
    case K::kUnary:
      return absl::StrCat("(", n.text == "-" ? "neg" : n.text, " ", kids[0],
                          ")");
    case K::kBinary:
      return absl::StrCat("(", n.text, " ", kids[0], " ", kids[1], ")");
    case K::kIn:
      return absl::StrCat("(", n.negated ? "notin" : "in", " ", kids[0], " ",
                          kids[1], ")");
    case K::kTuple:
      return absl::StrCat("[", absl::StrJoin(kids, ", "), "]");
  }
  return "?";
}

std::string Parse(absl::string_view text) {
  ExprError error;
  std::unique_ptr<AstNode> ast = ParseExpression(text, &error);
  if (ast == nullptr) {
    ADD_FAILURE() << "parse of <" << text << "> failed at " << error.offset
                  << ": " << error.message;
    return "";
  }
  EXPECT_EQ(error.message, "") << text;
  return Show(*ast);
}

std::unique_ptr<AstNode> ParseTree(absl::string_view text) {
  ExprError error;
  std::unique_ptr<AstNode> ast = ParseExpression(text, &error);
  EXPECT_NE(ast, nullptr) << text << ": " << error.message;
  return ast;
}

// "OFFSET: message" of a parse that must fail.
std::string Error(absl::string_view text) {
  ExprError error;
  std::unique_ptr<AstNode> ast = ParseExpression(text, &error);
  EXPECT_EQ(ast, nullptr) << "<" << text << "> parsed as " << Show(*ast);
  return absl::StrCat(error.offset, ": ", error.message);
}

constexpr int64_t kSecond = 1000000;

// --- Precedence and associativity -------------------------------------------

TEST(ExprParserTest, ProductBindsTighterThanSum) {
  EXPECT_EQ(Parse("1 + 2 * 3"), "(+ 1 (* 2 3))");
  EXPECT_EQ(Parse("1 * 2 + 3"), "(+ (* 1 2) 3)");
  EXPECT_EQ(Parse("(1 + 2) * 3"), "(* (+ 1 2) 3)");
  EXPECT_EQ(Parse("a / b - c"), "(- (/ a b) c)");
}

TEST(ExprParserTest, ArithmeticIsLeftAssociative) {
  EXPECT_EQ(Parse("1 - 2 - 3"), "(- (- 1 2) 3)");
  EXPECT_EQ(Parse("8 / 4 / 2"), "(/ (/ 8 4) 2)");
  EXPECT_EQ(Parse("8 / 4 * 2"), "(* (/ 8 4) 2)");
}

TEST(ExprParserTest, UnaryMinusBindsTighterThanProduct) {
  EXPECT_EQ(Parse("-a * b"), "(* (neg a) b)");
  EXPECT_EQ(Parse("a * -b"), "(* a (neg b))");
  EXPECT_EQ(Parse("- - 5"), "(neg (neg 5))");
  EXPECT_EQ(Parse("1 - -1"), "(- 1 (neg 1))");
}

TEST(ExprParserTest, ComparisonBindsLooserThanArithmetic) {
  EXPECT_EQ(Parse("a + 1 > b * 2"), "(> (+ a 1) (* b 2))");
  EXPECT_EQ(Parse("a == b"), "(== a b)");
  EXPECT_EQ(Parse("a != b"), "(!= a b)");
  EXPECT_EQ(Parse("a <= b"), "(<= a b)");
  EXPECT_EQ(Parse("a >= b"), "(>= a b)");
  EXPECT_EQ(Parse("a < b"), "(< a b)");
  EXPECT_EQ(Parse("a > b"), "(> a b)");
}

TEST(ExprParserTest, AndBindsTighterThanOr) {
  EXPECT_EQ(Parse("a or b and c"), "(or a (and b c))");
  EXPECT_EQ(Parse("a and b or c"), "(or (and a b) c)");
  EXPECT_EQ(Parse("a and b and c"), "(and (and a b) c)");
  EXPECT_EQ(Parse("a or b or c"), "(or (or a b) c)");
  EXPECT_EQ(Parse("(a or b) and c"), "(and (or a b) c)");
}

TEST(ExprParserTest, SymbolicLogicalOperatorsMeanTheSame) {
  EXPECT_EQ(Parse("a && b || !c"), Parse("a and b or not c"));
  EXPECT_EQ(Parse("a && b || !c"), "(or (and a b) (not c))");
}

TEST(ExprParserTest, NotBindsLooserThanComparisonAndTighterThanAnd) {
  EXPECT_EQ(Parse("not a == b"), "(not (== a b))");
  EXPECT_EQ(Parse("not a and b"), "(and (not a) b)");
  EXPECT_EQ(Parse("not not a"), "(not (not a))");
  EXPECT_EQ(Parse("a == 1 and b != 2 or not c"),
            "(or (and (== a 1) (!= b 2)) (not c))");
}

TEST(ExprParserTest, NodeOffsetsAreOperatorPositions) {
  auto ast = ParseTree("tx.amount >= 50000 CNY");
  ASSERT_NE(ast, nullptr);
  EXPECT_EQ(ast->offset, 10);
  EXPECT_EQ(ast->children[0]->offset, 0);
  EXPECT_EQ(ast->children[1]->offset, 13);
  auto logic = ParseTree("a  or  b");
  ASSERT_NE(logic, nullptr);
  EXPECT_EQ(logic->offset, 3);
  EXPECT_EQ(logic->children[1]->offset, 7);
}

// --- in / not in and tuples
// ---------------------------------------------------

TEST(ExprParserTest, InWithListName) {
  EXPECT_EQ(Parse("tx.counterparty.account_id in police"),
            "(in tx.counterparty.account_id police)");
}

TEST(ExprParserTest, NotInIsOneNegatedNode) {
  EXPECT_EQ(Parse("x not in police"), "(notin x police)");
  EXPECT_EQ(Parse("x not in ('A', 'B')"), "(notin x ['A', 'B'])");
  auto ast = ParseTree("x not in police");
  ASSERT_NE(ast, nullptr);
  EXPECT_EQ(ast->kind, AstNode::Kind::kIn);
  EXPECT_TRUE(ast->negated);
  EXPECT_EQ(ast->offset, 2);  // at 'not'
}

TEST(ExprParserTest, LeadingNotNegatesTheWholeIn) {
  EXPECT_EQ(Parse("not x in police"), "(not (in x police))");
}

TEST(ExprParserTest, TupleElementsAreExpressions) {
  EXPECT_EQ(Parse("tx.type in ('CASH_DEPOSIT', \"CASH_WITHDRAWAL\")"),
            "(in tx.type ['CASH_DEPOSIT', 'CASH_WITHDRAWAL'])");
  EXPECT_EQ(Parse("x in (1)"), "(in x [1])");
  EXPECT_EQ(Parse("x in (1 + 1, 2 CNY, 5m)"),
            "(in x [(+ 1 1), money:2:CNY, dur:300000000])");
  auto ast = ParseTree("x in  (1, 2)");
  ASSERT_NE(ast, nullptr);
  EXPECT_EQ(ast->offset, 2);
  EXPECT_EQ(ast->children[1]->kind, AstNode::Kind::kTuple);
  EXPECT_EQ(ast->children[1]->offset, 6);
}

TEST(ExprParserTest, InBindsLikeAComparison) {
  EXPECT_EQ(Parse("a in l and b"), "(and (in a l) b)");
  EXPECT_EQ(Parse("a + 1 in (2)"), "(in (+ a 1) [2])");
}

// --- Calls
// ----------------------------------------------------------------------

TEST(ExprParserTest, Calls) {
  EXPECT_EQ(Parse("f()"), "f()");
  EXPECT_EQ(Parse("contains_any(tx.memo, scam_phrases)"),
            "contains_any(tx.memo, scam_phrases)");
  EXPECT_EQ(Parse("max(a, b + 1) > 2"), "(> max(a, (+ b 1)) 2)");
  EXPECT_EQ(Parse("f(g(x), (1))"), "f(g(x), 1)");
}

// --- Literals
// ---------------------------------------------------------------------

TEST(ExprParserTest, IntegerLiterals) {
  auto ast = ParseTree("9223372036854775807");
  ASSERT_NE(ast, nullptr);
  EXPECT_EQ(ast->kind, AstNode::Kind::kInt);
  EXPECT_EQ(ast->int_value, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(Parse("0"), "0");
}

TEST(ExprParserTest, DecimalLiteralsAreScaledByAMillion) {
  EXPECT_EQ(Parse("0.8"), "dec:800000");
  EXPECT_EQ(Parse("1.000001"), "dec:1000001");
  EXPECT_EQ(Parse("12.5"), "dec:12500000");
  EXPECT_EQ(Parse("0.000000"), "dec:0");
  auto ast = ParseTree("0.80");
  ASSERT_NE(ast, nullptr);
  EXPECT_EQ(ast->kind, AstNode::Kind::kDecimal);
  EXPECT_EQ(ast->text, "0.80");
}

TEST(ExprParserTest, MoneyLiterals) {
  EXPECT_EQ(Parse("50000 CNY"), "money:50000:CNY");
  EXPECT_EQ(Parse("49999.99 CNY"), "money:49999.99:CNY");
  EXPECT_EQ(Parse("10000   USD"), "money:10000:USD");
  EXPECT_EQ(Parse("tx.amount >= 50000 CNY"), "(>= tx.amount money:50000:CNY)");
  EXPECT_EQ(Parse("(1 CNY)"), "money:1:CNY");
  EXPECT_EQ(Parse("1 CNY+2 CNY"), "(+ money:1:CNY money:2:CNY)");
}

TEST(ExprParserTest, OnlyThreeUpperCaseLettersMakeACurrency) {
  EXPECT_EQ(Error("50000 cny"),
            "6: unexpected 'cny' after a complete expression");
  EXPECT_EQ(Error("5 USDX"),
            "2: unexpected 'USDX' after a complete expression");
  EXPECT_EQ(Error("5 US"), "2: unexpected 'US' after a complete expression");
}

TEST(ExprParserTest, CurrencyGluedToTheNumberIsAnError) {
  EXPECT_EQ(Error("50000CNY"),
            "0: invalid number '50000CNY' (a currency needs a space: 50000 "
            "CNY; durations use s, m, h, d)");
  EXPECT_EQ(Error("x == 1.5x"),
            "5: invalid number '1.5x' (a currency needs a space: 50000 CNY; "
            "durations use s, m, h, d)");
}

TEST(ExprParserTest, DurationLiterals) {
  EXPECT_EQ(Parse("90s"), absl::StrCat("dur:", 90 * kSecond));
  EXPECT_EQ(Parse("5m"), absl::StrCat("dur:", 300 * kSecond));
  EXPECT_EQ(Parse("24h"), absl::StrCat("dur:", 86400 * kSecond));
  EXPECT_EQ(Parse("30d"), absl::StrCat("dur:", 30 * 86400 * kSecond));
  EXPECT_EQ(Parse("1h30m"), absl::StrCat("dur:", 5400 * kSecond));
  EXPECT_EQ(Parse("tx.account_age < 30d"),
            absl::StrCat("(< tx.account_age dur:", 30 * 86400 * kSecond, ")"));
  EXPECT_EQ(Parse("(5m)"), absl::StrCat("dur:", 300 * kSecond));
}

// Bug: ParseDurationLiteral's overflow check compares the next part's count
// with max / unit - total, mixing a count with microseconds, so every
// compound literal whose earlier parts exceed about 42 minutes (before an
// 'h' part) or 42 hours (before an 'm' part) is rejected as invalid.
TEST(ExprParserTest, CompoundDurationsWithLargeLeadingParts) {
  int64_t us = 0;
  EXPECT_TRUE(ParseDurationLiteral("2d12h", &us));
  EXPECT_EQ(us, 60 * 3600 * kSecond);
  EXPECT_TRUE(ParseDurationLiteral("1d2h3m4s", &us));
  EXPECT_EQ(us, (86400 + 7200 + 180 + 4) * kSecond);
  EXPECT_TRUE(ParseDurationLiteral("2d30m", &us));
  EXPECT_EQ(us, (2 * 86400 + 1800) * kSecond);
  EXPECT_EQ(Parse("1d12h"), absl::StrCat("dur:", 36 * 3600 * kSecond));
  // Still rejected: a sum that does not fit in int64 microseconds.
  EXPECT_FALSE(ParseDurationLiteral("106751991d1d", &us));
}

TEST(ExprParserTest, InvalidDurations) {
  EXPECT_EQ(Error("5min"),
            "0: invalid number '5min' (a currency needs a space: 50000 CNY; "
            "durations use s, m, h, d)");
  EXPECT_EQ(Error("x < 1h30min"),
            "4: invalid duration '1h30min' (write e.g. 90s, 5m, 24h, 30d)");
  EXPECT_EQ(Error("5m5"),
            "0: invalid duration '5m5' (write e.g. 90s, 5m, 24h, 30d)");
  EXPECT_EQ(Error("1h2x"),
            "0: invalid duration '1h2x' (write e.g. 90s, 5m, 24h, 30d)");
}

TEST(ExprParserTest, ParseDurationLiteral) {
  int64_t us = -1;
  EXPECT_TRUE(ParseDurationLiteral("0s", &us));
  EXPECT_EQ(us, 0);
  EXPECT_TRUE(ParseDurationLiteral("1h30m", &us));
  EXPECT_EQ(us, 5400 * kSecond);
  // The largest whole number of days that fits in int64 microseconds.
  EXPECT_TRUE(ParseDurationLiteral("106751991d", &us));
  EXPECT_EQ(us, int64_t{106751991} * 86400 * kSecond);

  us = 7;
  for (const char* bad : {"", "5", "m", "5 m", "-5m", "5min", "5M", "1.5h",
                          "h5", "106751992d", "99999999999s", "5m5"}) {
    EXPECT_FALSE(ParseDurationLiteral(bad, &us)) << bad;
  }
  EXPECT_EQ(us, 7);  // untouched on failure
}

TEST(ExprParserTest, StringsWithBothQuoteKinds) {
  EXPECT_EQ(Parse("'single'"), "'single'");
  EXPECT_EQ(Parse("\"double\""), "'double'");
  EXPECT_EQ(Parse("'say \"hi\"'"), "'say \"hi\"'");
  EXPECT_EQ(Parse("\"it's\""), "'it's'");
  EXPECT_EQ(Parse("''"), "''");
  EXPECT_EQ(Parse("tx.memo == '安全账户'"), "(== tx.memo '安全账户')");
}

TEST(ExprParserTest, StringEscapes) {
  EXPECT_EQ(Parse(R"('it\'s')"), "'it's'");
  EXPECT_EQ(Parse(R"("say \"hi\"")"), "'say \"hi\"'");
  EXPECT_EQ(Parse(R"('back\\slash')"), R"('back\slash')");
  EXPECT_EQ(Parse(R"('\"')"), "'\"'");
  EXPECT_EQ(Error(R"(x == 'a\nb')"), "7: unknown escape '\\n' in text");
  EXPECT_EQ(Error(R"('\t')"), "1: unknown escape '\\t' in text");
}

TEST(ExprParserTest, BoolLiteralsAndPaths) {
  EXPECT_EQ(Parse("true"), "bool:1");
  EXPECT_EQ(Parse("false"), "bool:0");
  EXPECT_EQ(Parse("tx.counterparty.region_code"),
            "tx.counterparty.region_code");
  EXPECT_EQ(Parse("_x.y_2"), "_x.y_2");
}

TEST(ExprParserTest, PathDoesNotSwallowATrailingDot) {
  EXPECT_EQ(Error("tx."), "2: unexpected character '.'");
  EXPECT_EQ(Error("tx.1"), "2: unexpected character '.'");
}

// --- Errors
// -------------------------------------------------------------------------

TEST(ExprParserTest, UnterminatedText) {
  EXPECT_EQ(Error("tx.memo == 'abc"),
            "11: unterminated text: missing closing quote");
  EXPECT_EQ(Error("\"abc'"), "0: unterminated text: missing closing quote");
  // A backslash at the very end does not escape the (missing) quote.
  EXPECT_EQ(Error("'abc\\"), "0: unterminated text: missing closing quote");
  EXPECT_EQ(Error("'abc\\'"), "0: unterminated text: missing closing quote");
}

TEST(ExprParserTest, SingleEqualsSuggestsDoubleEquals) {
  EXPECT_EQ(Error("tx.amount = 5"), "10: unexpected '='; use '==' to compare");
  EXPECT_EQ(Error("a =b"), "2: unexpected '='; use '==' to compare");
}

TEST(ExprParserTest, NonAsciiOutsideQuotes) {
  EXPECT_EQ(Error("tx.memo == 安全账户"),
            "11: unexpected non-ASCII character; text must be quoted");
  // The offset counts bytes: two Chinese characters inside quotes are 6.
  // Full-width punctuation, as a Chinese input method types it, is named
  // with the half-width character meant.
  EXPECT_EQ(Error("'安全' ＝ x"),
            "9: unexpected full-width ＝ (U+FF1D): use the half-width = "
            "instead");
  EXPECT_EQ(Error("tx.cash and（tx.amount > 5）"),
            "11: unexpected full-width （ (U+FF08): use the half-width ( "
            "instead");
  EXPECT_EQ(Error("tx.cash　and tx.cross_border"),
            "7: unexpected full-width 　 (U+3000): use a half-width space "
            "instead");
  EXPECT_EQ(Error("tx.memo == ‘x’"),
            "11: unexpected full-width ‘ (U+2018): use the half-width ' "
            "instead");
}

TEST(ExprParserTest, OtherUnexpectedCharacters) {
  EXPECT_EQ(Error("a # b"), "2: unexpected character '#'");
  EXPECT_EQ(Error("a % b"), "2: unexpected character '%'");
  EXPECT_EQ(Error("a & b"), "2: unexpected character '&'");
  EXPECT_EQ(Error("5."), "1: unexpected character '.'");
}

TEST(ExprParserTest, MissingValue) {
  EXPECT_EQ(Error("tx.amount >"),
            "11: unexpected end of expression: a value is missing");
  EXPECT_EQ(Error("a and"),
            "5: unexpected end of expression: a value is missing");
  EXPECT_EQ(Error("a and or b"), "6: unexpected 'or': a value is missing");
  EXPECT_EQ(Error("1 + * 2"), "4: unexpected '*': a value is missing");
  EXPECT_EQ(Error("()"), "1: unexpected ')': a value is missing");
  EXPECT_EQ(Error("in police"), "0: unexpected 'in': a value is missing");
  EXPECT_EQ(Error("not"),
            "3: unexpected end of expression: a value is missing");
  EXPECT_EQ(Error("f(1,)"), "4: unexpected ')': a value is missing");
  EXPECT_EQ(Error("-"), "1: unexpected end of expression: a value is missing");
}

TEST(ExprParserTest, TrailingTokens) {
  EXPECT_EQ(Error("a b"), "2: unexpected 'b' after a complete expression");
  EXPECT_EQ(Error("1 == 2 == 3"),
            "7: unexpected '==' after a complete expression");
  EXPECT_EQ(Error("f(1) )"), "5: unexpected ')' after a complete expression");
  EXPECT_EQ(Error("x not 5"),
            "2: unexpected 'not' after a complete expression");
  EXPECT_EQ(Error("a < b < c"),
            "6: unexpected '<' after a complete expression");
}

TEST(ExprParserTest, TrailingTextIsQuotedOnce) {
  // Bug: Describe() wraps a text token in quotes and the message wraps it
  // again, giving "unexpected ''x'' after a complete expression".
  std::string message = Error("a 'x'");
  EXPECT_THAT(message, HasSubstr("after a complete expression"));
  EXPECT_THAT(message, Not(HasSubstr("''x''")));
}

TEST(ExprParserTest, EmptyExpression) {
  EXPECT_EQ(Error(""), "0: empty expression");
  EXPECT_EQ(Error("   \t\n"), "0: empty expression");
}

TEST(ExprParserTest, NumberTooLarge) {
  EXPECT_EQ(Error("x > 9223372036854775808"),
            "4: number '9223372036854775808' is too large");
  // Money literals are range-checked by the compiler, not the parser.
  EXPECT_EQ(Parse("99999999999999999999999 CNY"),
            "money:99999999999999999999999:CNY");
  EXPECT_EQ(Error("9999999999999.5"),
            "0: number '9999999999999.5' is too large");
  EXPECT_EQ(Parse("922337203685.5"), "dec:922337203685500000");
}

TEST(ExprParserTest, MoreThanSixDecimals) {
  EXPECT_EQ(Error("x > 0.1234567"),
            "4: number '0.1234567' has more than 6 decimals");
}

TEST(ExprParserTest, UnclosedParenthesesAndLists) {
  EXPECT_EQ(Error("(1 + 2"), "6: expected ')', got 'end of expression'");
  EXPECT_EQ(Error("(1 + 2 3)"), "7: expected ')', got '3'");
  EXPECT_EQ(Error("f(1 2)"),
            "4: expected ',' or ')' in the call of f, got '2'");
  EXPECT_EQ(Error("f(1"),
            "3: expected ',' or ')' in the call of f, got 'end of expression'");
  EXPECT_EQ(Error("x in (1 2)"),
            "8: expected ',' or ')' in the value list, got '2'");
  EXPECT_EQ(Error("x in ('a'"),
            "9: expected ',' or ')' in the value list, got 'end of "
            "expression'");
  EXPECT_EQ(Error("x in 5"),
            "5: expected a list name or ( values ) after 'in', got '5'");
  EXPECT_EQ(Error("x in"),
            "4: expected a list name or ( values ) after 'in', got 'end of "
            "expression'");
}

TEST(ExprParserTest, ErrorIsClearedOnSuccess) {
  ExprError error{3, "stale"};
  EXPECT_NE(ParseExpression("1", &error), nullptr);
  EXPECT_EQ(error.offset, 0);
  EXPECT_EQ(error.message, "");
}

}  // namespace
}  // namespace txscreen::rules
