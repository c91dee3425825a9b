#include "rules/expr_compiler.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/fx_table.h"
#include "rules/named_list.h"
#include "txscreen/v1/rules.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::rules {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kSecond = 1000000;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;

std::unique_ptr<NamedList> MakeList(std::string name,
                                    txscreen::v1::ListMatch match,
                                    const std::vector<std::string>& entries) {
  absl::StatusOr<std::unique_ptr<NamedList>> list =
      NamedList::FromEntries(std::move(name), match, entries, "test");
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *std::move(list) : nullptr;
}

class ExprCompilerTest : public testing::Test {
 protected:
  ExprCompilerTest() {
    absl::StatusOr<FxTable> fx =
        FxTable::Create("CNY", {{"USD", "7.1"}, {"JPY", "0.048"}});
    EXPECT_TRUE(fx.ok()) << fx.status();
    fx_ = std::make_unique<FxTable>(*std::move(fx));
    scope_.fx = fx_.get();
    scope_.params["cash_threshold"] = {MoneyType(), 5000000, ""};
    scope_.params["band"] = {DecimalType(), 800000, ""};
    scope_.params["parts"] = {IntType(), 3, ""};
    scope_.params["zero"] = {IntType(), 0, ""};
    scope_.params["label"] = {StringType(), 0, "Hello World"};
    scope_.params["new_account_age"] = {DurationType(), 30 * kDay, ""};
    scope_.windows["cash_day"] = {0, MoneyType()};
    scope_.windows["count_5m"] = {1, IntType()};
    scope_.scores["fraud"] = 0;
    police_ = MakeList("police", txscreen::v1::LIST_MATCH_EXACT,
                       {"6222 0212 3456 7890", "ABC123"});
    phrases_ = MakeList("scam_phrases", txscreen::v1::LIST_MATCH_PHRASE,
                        {"安全賬戶", "转账解冻", "safe account"});
    scope_.lists["police"] = police_.get();
    scope_.lists["scam_phrases"] = phrases_.get();

    tx_.set_channel(txscreen::v1::CHANNEL_COUNTER);
    tx_.set_type(txscreen::v1::TRANSACTION_TYPE_TRANSFER_OUT);
    tx_.set_direction(txscreen::v1::DIRECTION_OUT);
    tx_.set_currency("CNY");
    tx_.set_amount_minor(3);
    tx_.set_region_code("110101");
    tx_.set_account_region_code("110105");
    tx_.mutable_customer()->set_kind(txscreen::v1::CUSTOMER_KIND_INDIVIDUAL);
    ctx_.tx = &tx_;
    ctx_.amount_base = 5200000;  // 52,000.00 CNY
    ctx_.occurred_at_us = 1795000000 * kSecond;
    ctx_.windows = windows_.data();
    ctx_.scores = {0};
  }

  ExprPtr Compile(absl::string_view text) { return Compile(text, scope_); }
  ExprPtr Compile(absl::string_view text, const ExprScope& scope) {
    ExprError error;
    ExprPtr e = CompileExpression(text, scope, &error);
    EXPECT_NE(e, nullptr) << "<" << text << "> at " << error.offset << ": "
                          << error.message;
    return e;
  }

  // scope_ with `shared` counting the subexpressions `texts` repeat (as the
  // pack loader counts them over a whole pack).
  template <size_t N>
  ExprScope SharingScope(const char* const (&texts)[N],
                         SharedSubexpressions* shared) {
    for (const char* text : texts) {
      ExprError error;
      std::unique_ptr<AstNode> ast = ParseExpression(text, &error);
      EXPECT_NE(ast, nullptr) << text;
      if (ast != nullptr) shared->Count(*ast);
    }
    ExprScope scope = scope_;
    scope.shared = shared;
    return scope;
  }

  // "OFFSET: message" of an expression that must not compile.
  std::string Error(absl::string_view text) { return Error(text, scope_); }
  std::string Error(absl::string_view text, const ExprScope& scope) {
    ExprError error;
    ExprPtr e = CompileExpression(text, scope, &error);
    EXPECT_EQ(e, nullptr) << "<" << text << "> compiled";
    return absl::StrCat(error.offset, ": ", error.message);
  }

  int64_t Int(absl::string_view text) {
    ExprPtr e = Compile(text);
    if (e == nullptr) return -424242;
    EXPECT_TRUE(e->type().is_scalar()) << text;
    ctx_.ResetCaches();
    return e->EvalInt(ctx_);
  }
  bool Bool(absl::string_view text) {
    ExprPtr e = Compile(text);
    if (e == nullptr) return false;
    EXPECT_EQ(e->type(), BoolType()) << text;
    ctx_.ResetCaches();
    return e->EvalBool(ctx_);
  }
  std::string Str(absl::string_view text) {
    ExprPtr e = Compile(text);
    if (e == nullptr) return "<error>";
    EXPECT_TRUE(e->type().is_string()) << text;
    ctx_.ResetCaches();
    return std::string(e->EvalString(ctx_));
  }
  std::string Type(absl::string_view text) {
    ExprPtr e = Compile(text);
    return e == nullptr ? "<error>" : TypeName(e->type());
  }
  bool Constant(absl::string_view text) {
    ExprPtr e = Compile(text);
    return e != nullptr && e->IsConstant();
  }

  ExprScope FilterScope() const {
    ExprScope s = scope_;
    s.allow_history = false;
    s.allow_windows = false;
    s.allow_scores = false;
    return s;
  }

  std::unique_ptr<FxTable> fx_;
  std::unique_ptr<NamedList> police_;
  std::unique_ptr<NamedList> phrases_;
  ExprScope scope_;
  txscreen::v1::Transaction tx_;
  std::array<int64_t, 2> windows_ = {0, 0};
  EvalContext ctx_;
};

// --- Specialised comparisons (expr_nodes.cc picks them by shape)
// --------------------------------------------------------------

TEST_F(ExprCompilerTest, ConstantOnEitherSideComparesTheSame) {
  tx_.set_amount_minor(3);  // tx.amount_minor is an int field
  const struct {
    const char* op;
    bool below, equal, above;  // 3 op 2, 3 op 3, 3 op 4
  } kOps[] = {{"==", false, true, false}, {"!=", true, false, true},
              {"<", false, false, true},  {"<=", false, true, true},
              {">", true, false, false},  {">=", true, true, false}};
  for (const auto& o : kOps) {
    for (int k : {2, 3, 4}) {
      const bool want = k == 2 ? o.below : k == 3 ? o.equal : o.above;
      EXPECT_EQ(Bool(absl::StrCat("tx.amount_minor ", o.op, " ", k)), want)
          << o.op << " " << k;
      // k op 3 is the mirror: 3 op' k.
      const bool mirrored = k == 2 ? o.above : k == 3 ? o.equal : o.below;
      EXPECT_EQ(Bool(absl::StrCat(k, " ", o.op, " tx.amount_minor")), mirrored)
          << k << " " << o.op;
      // A computed left side against a constant.
      EXPECT_EQ(Bool(absl::StrCat("tx.amount_minor + 0 ", o.op, " ", k)), want);
      // Two computed sides.
      EXPECT_EQ(Bool(absl::StrCat("tx.amount_minor ", o.op, " ", k,
                                  " + tx.amount_minor - tx.amount_minor")),
                want);
    }
  }
}

TEST_F(ExprCompilerTest, ScaledConstantsBeyondInt64StillCompare) {
  // An int compared with a decimal is scaled by 10^6: this constant times
  // the scale no longer fits in 64 bits, so the comparison stays in 128.
  tx_.set_amount_minor(5);
  EXPECT_TRUE(Bool("tx.amount_minor * 1.0 < 9223372036854775807"));
  EXPECT_FALSE(Bool("tx.amount_minor * 1.0 > 9223372036854775807"));
  EXPECT_TRUE(Bool("tx.amount_minor * 1.0 > -9223372036854775807"));
  EXPECT_TRUE(Bool("tx.amount_minor > 0.5"));
  EXPECT_FALSE(Bool("tx.amount_minor < 4.5"));
}

TEST_F(ExprCompilerTest, TextEqualityWithTheConstantOnEitherSide) {
  EXPECT_TRUE(Bool("tx.currency == 'CNY'"));
  EXPECT_TRUE(Bool("'CNY' == tx.currency"));
  EXPECT_FALSE(Bool("'CNY' != tx.currency"));
  EXPECT_TRUE(Bool("tx.currency != 'CN'"));
  EXPECT_FALSE(Bool("tx.currency == 'CNY '"));
  EXPECT_TRUE(Bool("tx.currency < 'USD'"));  // ordering: not specialised
  EXPECT_TRUE(Bool("'USD' > tx.currency"));
}

TEST_F(ExprCompilerTest, EnumSetsAreBitTests) {
  EXPECT_TRUE(Bool("tx.type in ('TRANSFER_OUT', 'PAYMENT')"));
  EXPECT_FALSE(Bool("tx.type not in ('TRANSFER_OUT', 'PAYMENT')"));
  EXPECT_FALSE(Bool("tx.type in ('CASH_DEPOSIT')"));
  tx_.set_type(static_cast<txscreen::v1::TransactionType>(70));  // unknown
  EXPECT_FALSE(Bool("tx.type in ('TRANSFER_OUT', 'PAYMENT')"));
  EXPECT_TRUE(Bool("tx.type not in ('TRANSFER_OUT', 'PAYMENT')"));
  // Values outside 0..63 take the general set.
  tx_.set_amount_minor(100);
  EXPECT_TRUE(Bool("tx.amount_minor in (5, 100)"));
  EXPECT_FALSE(Bool("tx.amount_minor in (5, 63)"));
  tx_.set_amount_minor(63);
  EXPECT_TRUE(Bool("tx.amount_minor in (5, 63)"));
  tx_.set_amount_minor(-1);
  EXPECT_FALSE(Bool("tx.amount_minor in (5, 63)"));
}

// --- Shared subexpressions
// --------------------------------------------------------------

TEST_F(ExprCompilerTest, SharedSubexpressionsKeepTheirValueUntilReset) {
  SharedSubexpressions shared;
  const char* kTexts[] = {"window.count_5m + 1 > 3", "window.count_5m + 1 > 3",
                          "score.fraud + 1 > 3", "score.fraud + 1 > 3"};
  const ExprScope scope = SharingScope(kTexts, &shared);
  ExprPtr window = Compile(kTexts[0], scope);
  ExprPtr window_again = Compile(kTexts[1], scope);
  ExprPtr score = Compile(kTexts[2], scope);
  ExprPtr score_again = Compile(kTexts[3], scope);
  ASSERT_TRUE(window && window_again && score && score_again);
  // The window comparison and its sum share slots; nothing of the score
  // does (scores change while rules are evaluated).
  EXPECT_EQ(shared.slots_used(), 2);

  windows_[1] = 3;
  ctx_.scores = {3};
  ctx_.ResetCaches();
  EXPECT_TRUE(window->EvalBool(ctx_));
  EXPECT_TRUE(score->EvalBool(ctx_));
  windows_[1] = 0;
  ctx_.scores = {0};
  EXPECT_TRUE(window_again->EvalBool(ctx_));  // kept for the transaction
  EXPECT_FALSE(score_again->EvalBool(ctx_));  // read afresh
  ctx_.ResetCaches();
  EXPECT_FALSE(window_again->EvalBool(ctx_));
}

// define.NAME compiles the definition in place: its type, its value, its
// errors (pointing at the reference), and shared when used twice.
TEST_F(ExprCompilerTest, DefinitionsCompileInPlace) {
  std::vector<std::unique_ptr<AstNode>> asts;
  ExprScope scope = scope_;
  auto define = [&](const std::string& name, const std::string& text) {
    ExprError error;
    asts.push_back(ParseExpression(text, &error));
    ASSERT_NE(asts.back(), nullptr) << text << ": " << error.message;
    scope.defines[name] = asts.back().get();
  };
  define("big", "tx.amount >= 50000 CNY");
  define("big_out", "define.big and tx.direction == 'OUT'");
  define("cash_share", "window.cash_day");
  define("loop_a", "define.loop_b or true");
  define("loop_b", "define.loop_a");
  define("bad", "tx.amount > 3");
  // Each level uses the one below four times: 4^6 uses in all.
  define("wide0", "tx.cash");
  for (int i = 1; i <= 6; ++i) {
    const std::string below = absl::StrCat("define.wide", i - 1);
    define(absl::StrCat("wide", i),
           absl::StrCat(below, " and ", below, " and ", below, " and ", below));
  }
  ExprPtr e = Compile("define.big_out and not tx.cash", scope);
  ASSERT_NE(e, nullptr);
  ctx_.ResetCaches();
  EXPECT_TRUE(e->EvalBool(ctx_));  // 52,000.00 CNY out, not cash
  ctx_.amount_base = 4999999;
  ctx_.ResetCaches();
  EXPECT_FALSE(e->EvalBool(ctx_));
  // Any type; in a template hole too.
  ExprPtr money = Compile("define.cash_share + 1 CNY", scope);
  ASSERT_NE(money, nullptr);
  EXPECT_EQ(money->type(), MoneyType());

  EXPECT_EQ(Error("define.bigg", scope),
            "0: unknown definition 'define.bigg' (did you mean "
            "'define.big'?)");
  EXPECT_EQ(Error("tx.cash or define.loop_a", scope),
            "11: in define.loop_a: in define.loop_b: definition 'loop_a' "
            "uses itself (loop_a -> loop_b -> loop_a)");
  EXPECT_EQ(Error("tx.cash and define.bad", scope),
            "12: in define.bad: cannot compare money with int: write the "
            "amount with a currency, e.g. 50000 CNY");
  EXPECT_THAT(Error("define.wide6", scope),
              ::testing::HasSubstr("definitions used more than 1000 times"));
  {
    SharedSubexpressions counted;
    ExprError error;
    std::unique_ptr<AstNode> ast = ParseExpression("define.wide6", &error);
    counted.Count(*ast, &scope.defines);  // stops; no hang
  }
  // Where windows cannot be read, neither can a definition that reads one.
  ExprScope filter = scope;
  filter.allow_windows = false;
  EXPECT_EQ(Error("tx.cash and define.cash_share > 0 CNY", filter),
            "12: in define.cash_share: window filters cannot read window "
            "features");

  // Used twice, it is evaluated once per transaction.
  SharedSubexpressions shared;
  for (const char* text : {"define.big_out", "define.big_out or tx.cash"}) {
    ExprError error;
    std::unique_ptr<AstNode> ast = ParseExpression(text, &error);
    ASSERT_NE(ast, nullptr);
    shared.Count(*ast, &scope.defines);
  }
  scope.shared = &shared;
  ExprPtr first = Compile("define.big_out", scope);
  ExprPtr second = Compile("define.big_out or tx.cash", scope);
  ASSERT_TRUE(first && second);
  // The definition, and each of its compound parts (as for any expression
  // written twice).
  EXPECT_EQ(shared.slots_used(), 3);
  ctx_.amount_base = 5200000;
  ctx_.ResetCaches();
  EXPECT_TRUE(first->EvalBool(ctx_));
  ctx_.amount_base = 0;  // the second reads the value the first kept
  EXPECT_TRUE(second->EvalBool(ctx_));
}

// and / or / not read a shared operand's value from the context once it is
// known (no virtual call); before that they evaluate it, which stores it.
TEST_F(ExprCompilerTest, LogicalOperatorsReadSharedOperandsOnceKnown) {
  SharedSubexpressions shared;
  const char* kTexts[] = {"window.count_5m + 1 > 3 and tx.amount_minor > 0",
                          "window.count_5m + 1 > 3 or tx.amount_minor < 0",
                          "not (window.count_5m + 1 > 3)",
                          "window.count_5m + 1 > 3"};
  const ExprScope scope = SharingScope(kTexts, &shared);
  ExprPtr conjunction = Compile(kTexts[0], scope);
  ExprPtr disjunction = Compile(kTexts[1], scope);
  ExprPtr negation = Compile(kTexts[2], scope);
  ExprPtr plain = Compile(kTexts[3], scope);
  ASSERT_TRUE(conjunction && disjunction && negation && plain);
  tx_.set_amount_minor(100);
  for (int64_t count : {3, 0, 5, 1}) {
    SCOPED_TRACE(count);
    const bool above = count + 1 > 3;
    windows_[1] = count;
    ctx_.ResetCaches();
    // First use inside `and`: evaluated there and kept.
    EXPECT_EQ(conjunction->EvalBool(ctx_), above);
    windows_[1] = above ? 0 : 10;  // too late: the value is kept
    EXPECT_EQ(disjunction->EvalBool(ctx_), above);
    EXPECT_EQ(negation->EvalBool(ctx_), !above);
    EXPECT_EQ(plain->EvalBool(ctx_), above);
    // First use inside `not`.
    windows_[1] = count;
    ctx_.ResetCaches();
    EXPECT_EQ(negation->EvalBool(ctx_), !above);
    windows_[1] = above ? 0 : 10;
    EXPECT_EQ(conjunction->EvalBool(ctx_), above);
  }
}

// and / or decide from the shared operands already known before walking
// the others: whatever order the expressions of a pack are evaluated in,
// each gives what it gives on its own, without sharing.
TEST_F(ExprCompilerTest, LogicalOperatorsDecideAsWithoutSharing) {
  SharedSubexpressions shared;
  const char* kTexts[] = {
      "tx.amount_minor > 100 and tx.cash and tx.cross_border",
      "tx.cash or tx.cross_border or tx.amount_minor < 50",
      "tx.amount_minor > 100 and (tx.cash or tx.amount_minor < 50)",
      "not (tx.amount_minor > 100) or tx.cross_border",
      "(tx.amount_minor > 100 or tx.cash) and (tx.cross_border or "
      "tx.amount_minor < 50)",
      "tx.cross_border and tx.amount_minor > 100",
      "tx.amount_minor < 50 or tx.amount_minor > 100",
      "tx.cash and not tx.cross_border and tx.amount_minor > 100",
      "(tx.cash or tx.cross_border or tx.amount_minor < 50) and "
      "(tx.amount_minor > 100 and tx.cash and tx.cross_border)"};
  const ExprScope scope = SharingScope(kTexts, &shared);
  std::vector<ExprPtr> sharing;
  std::vector<ExprPtr> alone;
  for (const char* text : kTexts) {
    sharing.push_back(Compile(text, scope));
    alone.push_back(Compile(text));
    ASSERT_TRUE(sharing.back() && alone.back()) << text;
  }
  ASSERT_GE(shared.slots_used(), 4);
  std::vector<size_t> order(sharing.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 random(7);
  for (int64_t amount : {10, 75, 200}) {
    for (int bits = 0; bits < 4; ++bits) {
      tx_.set_amount_minor(amount);
      tx_.set_cash(bits & 1);
      tx_.set_cross_border(bits & 2);
      std::vector<bool> expected;
      for (const ExprPtr& e : alone) {
        ctx_.ResetCaches();
        expected.push_back(e->EvalBool(ctx_));
      }
      for (int round = 0; round < 20; ++round) {
        std::shuffle(order.begin(), order.end(), random);
        ctx_.ResetCaches();
        for (size_t i : order) {
          EXPECT_EQ(sharing[i]->EvalBool(ctx_), expected[i])
              << kTexts[i] << " amount " << amount << " bits " << bits;
        }
      }
    }
  }
}

// --- Unknown names
// --------------------------------------------------------------

TEST_F(ExprCompilerTest, UnknownFieldSuggestsTheClosest) {
  EXPECT_EQ(Error("tx.amonut >= 50000 CNY"),
            "0: unknown field 'tx.amonut' (did you mean 'tx.amount'?)");
  EXPECT_EQ(Error("tx.cash and tx.counterparty.acount_id == 'x'"),
            "12: unknown field 'tx.counterparty.acount_id' (did you mean "
            "'tx.counterparty.account_id'?)");
  EXPECT_EQ(Error("customer.agee > 60"),
            "0: unknown field 'customer.agee' (did you mean 'customer.age'?)");
}

TEST_F(ExprCompilerTest, UnknownFieldWithoutACloseName) {
  EXPECT_EQ(Error("tx.zzzzzzzzzz"), "0: unknown field 'tx.zzzzzzzzzz'");
}

TEST_F(ExprCompilerTest, UnknownWindowParamScoreAndName) {
  EXPECT_EQ(Error("window.cash_dya > 0"),
            "0: unknown window 'window.cash_dya' (did you mean "
            "'window.cash_day'?)");
  EXPECT_EQ(Error("tx.amount >= param.cash_treshold"),
            "13: unknown parameter 'param.cash_treshold' (did you mean "
            "'param.cash_threshold'?)");
  EXPECT_EQ(Error("score.frau > 1"),
            "0: unknown score 'score.frau' (did you mean 'score.fraud'?)");
  EXPECT_EQ(Error("polise"),
            "0: unknown name 'polise' (did you mean 'police'?)");
}

TEST_F(ExprCompilerTest, UnknownList) {
  EXPECT_EQ(Error("contains_any(tx.memo, scam_phrase)"),
            "22: unknown list 'scam_phrase' (did you mean 'scam_phrases'?)");
  EXPECT_EQ(Error("tx.account_id in polise"),
            "17: unknown list 'polise' (did you mean 'police'?)");
  EXPECT_EQ(Error("tx.account_id in zzzzzzzz"), "17: unknown list 'zzzzzzzz'");
}

TEST_F(ExprCompilerTest, UnknownFunctionListsTheFunctions) {
  std::string message = Error("contain(tx.memo, 'x')");
  EXPECT_THAT(message, StartsWith("0: unknown function 'contain' (did you "
                                  "mean 'contains'?); functions: abs, "
                                  "contains, contains_any, days, hours, "));
  for (const char* f :
       {"max", "min", "minutes", "present", "province", "starts_with"}) {
    EXPECT_THAT(message, HasSubstr(absl::StrCat(" ", f))) << f;
  }
  EXPECT_THAT(Error("tx.cash or frobnicate()"),
              StartsWith("11: unknown function 'frobnicate'; functions: abs, "
                         "contains, "));
}

// --- Type errors
// --------------------------------------------------------------------

TEST_F(ExprCompilerTest, MoneyComparedWithIntSaysToWriteACurrency) {
  EXPECT_EQ(Error("tx.amount >= 50000"),
            "10: cannot compare money with int: write the amount with a "
            "currency, e.g. 50000 CNY");
  EXPECT_EQ(Error("50000 < tx.amount"),
            "6: cannot compare int with money: write the amount with a "
            "currency, e.g. 50000 CNY");
  EXPECT_EQ(Error("tx.amount > 0.5"),
            "10: cannot compare money with decimal: write the amount with a "
            "currency, e.g. 50000 CNY");
}

TEST_F(ExprCompilerTest, DurationComparedWithIntSaysToWriteAUnit) {
  EXPECT_EQ(Error("tx.account_age < 30"),
            "15: cannot compare duration with int: write a duration with a "
            "unit, e.g. 30d");
}

TEST_F(ExprCompilerTest, OtherMismatchedComparisons) {
  EXPECT_EQ(Error("tx.memo == 5"), "8: cannot compare text with int");
  EXPECT_EQ(Error("tx.occurred_at > 0"), "15: cannot compare time with int");
  EXPECT_EQ(Error("tx.cash == 1"), "8: cannot compare bool with int");
}

TEST_F(ExprCompilerTest, BoolCannotBeOrdered) {
  EXPECT_EQ(Error("tx.cash < true"),
            "8: cannot order true/false; use == or !=");
  EXPECT_TRUE(Bool("tx.cash == false"));
  EXPECT_TRUE(Bool("tx.cash != true"));
}

TEST_F(ExprCompilerTest, EnumUnknownValueSuggestsAndListsValues) {
  EXPECT_EQ(Error("tx.channel == 'COUNTR'"),
            "14: unknown Channel 'COUNTR' (did you mean 'COUNTER'?); one of "
            "COUNTER, ATM, MOBILE, ONLINE, VTM, POS, PHONE");
  EXPECT_EQ(Error("tx.type in ('CASH_DEPOSIT', 'CASH_DEPOST')"),
            "28: unknown TransactionType 'CASH_DEPOST' (did you mean "
            "'CASH_DEPOSIT'?); one of CASH_DEPOSIT, CASH_WITHDRAWAL, "
            "TRANSFER_OUT, TRANSFER_IN, PAYMENT, FX_EXCHANGE, REVERSAL");
  EXPECT_EQ(Error("customer.kind == 'PERSON'"),
            "17: unknown CustomerKind 'PERSON'; one of INDIVIDUAL, ENTITY");
}

TEST_F(ExprCompilerTest, UnspecifiedIsNotAnEnumValue) {
  EXPECT_THAT(Error("tx.channel == 'UNSPECIFIED'"),
              StartsWith("14: unknown Channel 'UNSPECIFIED'"));
  EXPECT_THAT(Error("tx.channel == 'CHANNEL_UNSPECIFIED'"),
              StartsWith("14: unknown Channel 'CHANNEL_UNSPECIFIED'"));
}

TEST_F(ExprCompilerTest, AnOperandOfTheWrongTypeIsPointedAtWhereItStarts) {
  // Not at its operator: "tx.amount + 5 CNY" starts at "tx".
  EXPECT_THAT(Error("tx.cash and tx.amount + 5 CNY"),
              StartsWith("12: the right side of 'and' must be "));
  EXPECT_THAT(Error("not tx.amount * 2"), StartsWith("4: "));
  EXPECT_THAT(Error("tx.amount - 5 CNY or tx.cash"), StartsWith("0: "));
  EXPECT_THAT(Error("contains(tx.amount + 1 CNY, 'x')"),
              StartsWith("9: contains() needs text, got money"));
}

TEST_F(ExprCompilerTest, EnumMisuse) {
  EXPECT_EQ(Error("tx.channel < 'ATM'"),
            "11: cannot order enum Channel values; use == or !=");
  EXPECT_EQ(Error("tx.channel == 1"),
            "14: compare enum Channel with a quoted value name, e.g. "
            "'COUNTER'");
  EXPECT_EQ(Error("tx.channel == tx.direction"),
            "14: compare enum Channel with a quoted value name, e.g. "
            "'COUNTER'");
  EXPECT_EQ(Error("tx.channel in (1)"),
            "15: the values after 'in' must be quoted Channel names");
  // A value name without quotes, on either side, short or full.
  EXPECT_EQ(Error("tx.channel == COUNTER"),
            "14: write the Channel value quoted: 'COUNTER'");
  EXPECT_EQ(Error("DIRECTION_OUT != tx.direction"),
            "0: write the Direction value quoted: 'DIRECTION_OUT'");
  // A bare name that is no value of the enum stays unknown.
  EXPECT_THAT(Error("tx.channel == TELEPATHY"),
              StartsWith("14: unknown name 'TELEPATHY'"));
}

TEST_F(ExprCompilerTest, WrongArity) {
  EXPECT_EQ(Error("abs(1, 2) > 0"), "0: abs() takes 1 argument, got 2");
  EXPECT_EQ(Error("min(1) > 0"), "0: min() takes 2 arguments, got 1");
  EXPECT_EQ(Error("max()"), "0: max() takes 2 arguments, got 0");
  EXPECT_EQ(Error("present()"), "0: present() takes 1 argument, got 0");
  EXPECT_EQ(Error("contains(tx.memo)"),
            "0: contains() takes 2 arguments, got 1");
  EXPECT_EQ(Error("starts_with(tx.memo)"),
            "0: starts_with() takes 2 arguments, got 1");
  EXPECT_EQ(Error("contains_any(tx.memo)"),
            "0: contains_any() takes 2 arguments, got 1");
  EXPECT_EQ(Error("province(tx.region_code, 2)"),
            "0: province() takes 1 argument, got 2");
  EXPECT_EQ(Error("tx.cash and days(1d, 2d) > 0"),
            "12: days() takes 1 argument, got 2");
  EXPECT_EQ(Error("hours() > 0"), "0: hours() takes 1 argument, got 0");
  EXPECT_EQ(Error("minutes() > 0"), "0: minutes() takes 1 argument, got 0");
}

TEST_F(ExprCompilerTest, ListKindMismatch) {
  EXPECT_EQ(Error("tx.memo in scam_phrases"),
            "11: list 'scam_phrases' is a phrase list; use "
            "contains_any(text, scam_phrases)");
  EXPECT_EQ(Error("contains_any(tx.memo, police)"),
            "22: list 'police' is an exact list; use 'value in police'");
}

TEST_F(ExprCompilerTest, ListMisuse) {
  EXPECT_EQ(Error("police"),
            "0: list 'police' can only be used after 'in' or in "
            "contains_any(text, police)");
  EXPECT_EQ(Error("tx.account_id == police"),
            "17: list 'police' can only be used after 'in' or in "
            "contains_any(text, police)");
  EXPECT_EQ(Error("contains_any(tx.memo, 'safe')"),
            "22: expected a list name, as in contains_any(tx.memo, "
            "scam_phrases)");
  EXPECT_EQ(Error("tx.amount in police"),
            "0: 'in LIST' needs text on the left, got money");
  EXPECT_EQ(Error("contains_any(tx.amount, scam_phrases)"),
            "13: contains_any() needs text, got money");
}

TEST_F(ExprCompilerTest, WindowFilterScopeRestrictions) {
  ExprScope filter = FilterScope();
  EXPECT_EQ(Error("history.has_previous", filter),
            "0: window filters cannot read history.* (only tx.*, customer.* "
            "and param.*)");
  EXPECT_EQ(Error("tx.cash and window.cash_day > 0", filter),
            "12: window filters cannot read window features");
  EXPECT_EQ(Error("score.fraud > 1", filter),
            "0: scores can only be read by rule conditions");
  EXPECT_EQ(Error("present(history.since_previous)", filter),
            "8: window filters cannot read history.*");
  // What filters may read.
  EXPECT_NE(Compile("tx.cash and customer.age >= param.parts and "
                    "tx.amount >= param.cash_threshold",
                    filter),
            nullptr);
  // Reading a window at all is the error, whatever its name (the pack's
  // window filters are compiled before the windows are known).
  EXPECT_EQ(Error("window.nope > 0", filter),
            "0: window filters cannot read window features");
}

TEST_F(ExprCompilerTest, DivisionByConstantZero) {
  EXPECT_EQ(Error("tx.amount / 0"), "10: division by zero");
  EXPECT_EQ(Error("tx.amount / param.zero"), "10: division by zero");
  EXPECT_EQ(Error("tx.amount_minor / (1 - 1) > 0"), "16: division by zero");
  EXPECT_EQ(Error("1.5 / 0.0 > 1"), "4: division by zero");
}

TEST_F(ExprCompilerTest, LogicalOperandsMustBeBool) {
  EXPECT_EQ(Error("not tx.amount"),
            "4: the operand of 'not' must be bool, got money");
  EXPECT_EQ(Error("tx.amount and tx.cash"),
            "0: the left side of 'and' must be bool, got money");
  EXPECT_EQ(Error("tx.cash or 1"),
            "11: the right side of 'or' must be bool, got int");
  EXPECT_EQ(Error("tx.cash && tx.memo"),
            "11: the right side of 'and' must be bool, got text");
}

TEST_F(ExprCompilerTest, ChainsOfAndOrKeepPrecedenceOrderAndShortCircuit) {
  // A chain of one operator is one node; the messages still name the side.
  EXPECT_EQ(Error("tx.cash and tx.cross_border and tx.amount and tx.cash"),
            "32: the right side of 'and' must be bool, got money");
  EXPECT_EQ(Error("tx.amount or tx.cash or tx.cash"),
            "0: the left side of 'or' must be bool, got money");
  tx_.set_cash(true);
  tx_.set_cross_border(false);
  EXPECT_TRUE(Bool("tx.cash and not tx.cross_border and tx.cash"));
  EXPECT_FALSE(Bool("tx.cash and tx.cross_border and tx.cash"));
  EXPECT_TRUE(Bool("tx.cross_border or tx.cross_border or tx.cash"));
  EXPECT_FALSE(Bool("tx.cross_border or tx.cross_border or not tx.cash"));
  // `and` binds tighter: false or (true and true) or false.
  EXPECT_TRUE(
      Bool("tx.cross_border or tx.cash and tx.cash or tx.cross_border"));
  EXPECT_FALSE(Bool("(tx.cross_border or tx.cash) and tx.cross_border"));
  // Evaluation stops at the first operand that decides: the division after
  // it never runs.
  tx_.set_amount_minor(0);
  for (const char* text :
       {"tx.cross_border and tx.cash and 10 / tx.amount_minor == 0",
        "tx.cash or tx.cross_border or 10 / tx.amount_minor == 0"}) {
    ExprPtr e = Compile(text);
    ASSERT_NE(e, nullptr);
    ctx_.ResetCaches();
    e->EvalInt(ctx_);
    EXPECT_EQ(ctx_.division_by_zero, 0) << text;
  }
  ExprPtr e = Compile("tx.cash and tx.cash and 10 / tx.amount_minor == 0");
  ASSERT_NE(e, nullptr);
  ctx_.ResetCaches();
  EXPECT_EQ(e->EvalInt(ctx_), 1);
  EXPECT_EQ(ctx_.division_by_zero, 1);
}

TEST_F(ExprCompilerTest, NegationNeedsANumber) {
  EXPECT_EQ(Error("-tx.memo"), "0: cannot negate text");
  EXPECT_EQ(Error("-tx.cash"), "0: cannot negate bool");
  EXPECT_EQ(Error("-tx.occurred_at"), "0: cannot negate time");
}

TEST_F(ExprCompilerTest, ArithmeticTypeErrors) {
  EXPECT_EQ(Error("tx.amount + 5"), "10: cannot apply '+' to money and int");
  EXPECT_EQ(Error("tx.memo * 2"), "8: cannot apply '*' to text and int");
  EXPECT_EQ(Error("tx.amount * tx.amount"),
            "10: cannot apply '*' to money and money");
  EXPECT_EQ(Error("2 / tx.amount"), "2: cannot apply '/' to int and money");
  EXPECT_EQ(Error("tx.occurred_at + tx.occurred_at"),
            "15: cannot apply '+' to time and time");
  EXPECT_EQ(Error("1d - tx.occurred_at"),
            "3: cannot apply '-' to duration and time");
  EXPECT_EQ(Error("tx.cash + tx.cash"), "8: cannot apply '+' to bool and bool");
  EXPECT_EQ(Error("1h * 1h"), "3: cannot apply '*' to duration and duration");
  EXPECT_EQ(Error("tx.amount / 1h"),
            "10: cannot apply '/' to money and duration");
}

TEST_F(ExprCompilerTest, FunctionArgumentTypes) {
  EXPECT_EQ(Error("min(tx.amount, 5)"),
            "0: min() needs two numbers of the same type, got money and int");
  EXPECT_EQ(Error("max(tx.cash, tx.cash)"),
            "0: max() needs two numbers of the same type, got bool and bool");
  EXPECT_EQ(Error("max(tx.memo, tx.memo)"),
            "0: max() needs two numbers of the same type, got text and text");
  EXPECT_EQ(Error("abs(tx.memo)"), "0: abs() needs a number, got text");
  EXPECT_EQ(Error("abs(tx.occurred_at)"), "0: abs() needs a number, got time");
  EXPECT_EQ(Error("days(5) > 1"),
            "5: the argument of days() must be duration, got int");
  EXPECT_EQ(Error("hours(tx.amount) > 1"),
            "6: the argument of hours() must be duration, got money");
  EXPECT_EQ(Error("contains(tx.memo, tx.memo)"),
            "18: contains() needs quoted text as its second argument");
  EXPECT_EQ(Error("starts_with(tx.memo, 1)"),
            "21: starts_with() needs quoted text as its second argument");
  EXPECT_EQ(Error("contains(tx.memo, ' \t')"),
            "18: contains() needs non-empty text");
  EXPECT_EQ(Error("contains(tx.amount, 'x')"),
            "9: contains() needs text, got money");
  EXPECT_EQ(Error("starts_with(1, 'x')"),
            "12: starts_with() needs text, got int");
  EXPECT_EQ(Error("province(tx.amount) == '11'"),
            "9: province() needs text, got money");
}

TEST_F(ExprCompilerTest, PresentTakesABuiltinField) {
  EXPECT_EQ(Error("present(1)"),
            "8: present() takes a field of tx.*, customer.* or history.*");
  EXPECT_EQ(Error("present(tx.memoo)"),
            "8: unknown field 'tx.memoo' (did you mean 'tx.memo'?)");
}

TEST_F(ExprCompilerTest, PresentOfAWindowDoesNotSuggestItself) {
  // Bug: present() looks only at built-in fields but suggests from every
  // name, so a window (or param) gets "unknown field 'window.cash_day'
  // (did you mean 'window.cash_day'?)".
  std::string message = Error("present(window.cash_day)");
  EXPECT_THAT(message, Not(HasSubstr("did you mean 'window.cash_day'")));
  std::string param = Error("present(param.parts)");
  EXPECT_THAT(param, Not(HasSubstr("did you mean 'param.parts'")));
}

TEST_F(ExprCompilerTest, ValueListErrors) {
  EXPECT_EQ(Error("tx.memo in ('a', 1)"),
            "17: the values after 'in' must be quoted text");
  EXPECT_EQ(Error("tx.amount in (1 CNY, 2)"),
            "21: the values after 'in' must be money constants");
  EXPECT_EQ(Error("tx.amount_minor in (tx.amount_minor)"),
            "20: the values after 'in' must be int constants");
}

TEST_F(ExprCompilerTest, TupleOutsideInIsRejected) {
  // The parser never builds one, but CompileAst is public.
  AstNode tuple;
  tuple.kind = AstNode::Kind::kTuple;
  tuple.offset = 3;
  ExprError error;
  EXPECT_EQ(CompileAst(tuple, scope_, &error), nullptr);
  EXPECT_EQ(error.offset, 3);
  EXPECT_EQ(error.message, "a value list ( ... ) can only follow 'in'");
}

TEST_F(ExprCompilerTest, MoneyLiteralErrors) {
  EXPECT_EQ(Error("tx.amount > 5 XYZ"),
            "12: unknown currency 'XYZ' (not an ISO 4217 code)");
  EXPECT_EQ(Error("tx.amount > 1.234 CNY"),
            "12: amount '1.234' has more decimals than CNY allows (2)");
  EXPECT_EQ(Error("tx.amount > 1.5 JPY"),
            "12: amount '1.5' has more decimals than JPY allows (0)");
  EXPECT_EQ(Error("tx.amount > 5 EUR"), "12: no FX rate for EUR");
  EXPECT_EQ(Error("99999999999999999999999 CNY"),
            "0: amount '99999999999999999999999' is too large");
  EXPECT_THAT(Error("92233720368547758 USD"), HasSubstr("overflows"));
  ExprScope no_fx = scope_;
  no_fx.fx = nullptr;
  EXPECT_EQ(Error("tx.amount > 5 CNY", no_fx),
            "12: money needs the pack's FX table");
}

// --- Evaluation: literals and arithmetic
// ---------------------------------------------

TEST_F(ExprCompilerTest, MoneyLiteralsAreConvertedToBaseMinorUnits) {
  EXPECT_EQ(Int("50000 CNY"), 5000000);
  EXPECT_EQ(Int("49999.99 CNY"), 4999999);
  EXPECT_EQ(Int("10000 USD"), 7100000);
  EXPECT_EQ(Int("1000 JPY"), 4800);
  EXPECT_EQ(Type("1 CNY"), "money");
}

TEST_F(ExprCompilerTest, ResultTypes) {
  EXPECT_EQ(Type("tx.amount * 0.8"), "money");
  EXPECT_EQ(Type("0.8 * tx.amount"), "money");
  EXPECT_EQ(Type("tx.amount / tx.amount"), "decimal");
  EXPECT_EQ(Type("tx.amount / 2"), "money");
  EXPECT_EQ(Type("1 + 0.5"), "decimal");
  EXPECT_EQ(Type("2 * 3"), "int");
  EXPECT_EQ(Type("1h / 30m"), "decimal");
  EXPECT_EQ(Type("2 * 1h"), "duration");
  EXPECT_EQ(Type("days(1d)"), "int");
  EXPECT_EQ(Type("tx.occurred_at - tx.occurred_at"), "duration");
  EXPECT_EQ(Type("tx.occurred_at - 1h"), "time");
  EXPECT_EQ(Type("1h + tx.occurred_at"), "time");
  EXPECT_EQ(Type("province(tx.region_code)"), "text");
  EXPECT_EQ(Type("tx.channel"), "enum Channel");
  EXPECT_EQ(Type("tx.amount_minor in (1, 2)"), "bool");
  EXPECT_EQ(Type("window.count_5m"), "int");
  EXPECT_EQ(Type("score.fraud"), "int");
}

TEST_F(ExprCompilerTest, MoneyTimesDecimalAndInt) {
  ctx_.amount_base = 5000000;
  EXPECT_EQ(Int("tx.amount * 0.8"), 4000000);
  EXPECT_EQ(Int("0.5 * tx.amount"), 2500000);
  EXPECT_EQ(Int("tx.amount * 2"), 10000000);
  EXPECT_EQ(Int("2 * tx.amount"), 10000000);
  EXPECT_EQ(Int("param.cash_threshold * param.band"), 4000000);
  EXPECT_TRUE(Bool("tx.amount >= param.cash_threshold * param.band"));
}

TEST_F(ExprCompilerTest, MoneyDivision) {
  ctx_.amount_base = 5200000;
  EXPECT_EQ(Int("tx.amount / param.cash_threshold"), 1040000);  // 1.04
  EXPECT_EQ(Int("tx.amount / 3"), 1733333);                     // truncated
  EXPECT_EQ(Int("tx.amount / 0.5"), 10400000);
  EXPECT_TRUE(Bool("tx.amount / param.cash_threshold > 1.03"));
}

TEST_F(ExprCompilerTest, IntAndDecimalArithmetic) {
  EXPECT_EQ(Int("3 / 2"), 1);
  EXPECT_EQ(Int("-7 / 2"), -3);
  EXPECT_EQ(Int("3.0 / 2"), 1500000);
  EXPECT_EQ(Int("1 / 0.5"), 2000000);
  EXPECT_EQ(Int("1 / 3.0"), 333333);
  EXPECT_EQ(Int("0.5 * 0.5"), 250000);
  EXPECT_EQ(Int("2 * 0.25"), 500000);
  EXPECT_EQ(Int("0.25 * 2"), 500000);
  EXPECT_EQ(Int("1 + 0.5"), 1500000);
  EXPECT_EQ(Int("0.5 - 1"), -500000);
  EXPECT_EQ(Int("1.5 / 0.5"), 3000000);
  EXPECT_EQ(Int("2 + 3 * 4 - 1"), 13);
}

TEST_F(ExprCompilerTest, DurationArithmetic) {
  EXPECT_EQ(Int("1h / 30m"), 2000000);
  EXPECT_EQ(Int("1h / 2"), 30 * 60 * kSecond);
  EXPECT_EQ(Int("1h * 1.5"), 90 * 60 * kSecond);
  EXPECT_EQ(Int("2 * 1h + 30m"), 150 * 60 * kSecond);
  EXPECT_EQ(Int("1h / 0.5"), 2 * kHour);
}

TEST_F(ExprCompilerTest, IntComparesWithDecimal) {
  tx_.set_amount_minor(3);
  EXPECT_TRUE(Bool("tx.amount_minor > 2.5"));
  EXPECT_TRUE(Bool("2.5 < tx.amount_minor"));
  EXPECT_TRUE(Bool("tx.amount_minor == 3.0"));
  EXPECT_TRUE(Bool("tx.amount_minor > 2.999999"));
  EXPECT_TRUE(Bool("tx.amount_minor < 3.000001"));
  EXPECT_FALSE(Bool("tx.amount_minor >= 3.000001"));
}

TEST_F(ExprCompilerTest, TimeArithmetic) {
  const int64_t t = ctx_.occurred_at_us;
  EXPECT_EQ(Int("tx.occurred_at - tx.occurred_at"), 0);
  EXPECT_EQ(Int("(tx.occurred_at + 1h) - tx.occurred_at"), kHour);
  EXPECT_EQ(Int("1h + tx.occurred_at"), t + kHour);
  EXPECT_EQ(Int("tx.occurred_at - 1d"), t - kDay);
  EXPECT_TRUE(Bool("tx.occurred_at - (tx.occurred_at - 2h) > 90m"));
}

TEST_F(ExprCompilerTest, DurationUnits) {
  ctx_.account_age_known = true;
  ctx_.account_age_us = 36 * kHour;
  EXPECT_EQ(Int("days(tx.account_age)"), 1);
  EXPECT_EQ(Int("hours(tx.account_age)"), 36);
  EXPECT_EQ(Int("minutes(tx.account_age)"), 36 * 60);
  EXPECT_EQ(Int("hours(90m)"), 1);
  EXPECT_EQ(Int("minutes(90s)"), 1);
  EXPECT_TRUE(Bool("tx.account_age < param.new_account_age"));
}

TEST_F(ExprCompilerTest, ConstantArithmeticSaturates) {
  EXPECT_EQ(Int("9223372036854775807 + 1"), kMax);
  EXPECT_EQ(Int("-9223372036854775807 - 10"), kMin);
  EXPECT_EQ(Int("9223372036854775807 * 9223372036854775807"), kMax);
  EXPECT_EQ(Int("-9223372036854775807 * 9223372036854775807"), kMin);
  EXPECT_EQ(Int("-(-9223372036854775807 - 1)"), kMax);
  EXPECT_EQ(Int("abs(-9223372036854775807 - 1)"), kMax);
  EXPECT_EQ(Int("(-9223372036854775807 - 1) / -1"), kMax);
  EXPECT_EQ(Int("9223372036854775807 * 1.5"), kMax);
}

TEST_F(ExprCompilerTest, RuntimeArithmeticSaturates) {
  ctx_.amount_base = kMax;
  EXPECT_EQ(Int("tx.amount + 1 CNY"), kMax);
  EXPECT_EQ(Int("tx.amount * 2"), kMax);
  EXPECT_EQ(Int("tx.amount * 1.5"), kMax);
  EXPECT_EQ(Int("-tx.amount - 1 CNY"), kMin);
  EXPECT_EQ(Int("tx.amount / 0.5"), kMax);
  EXPECT_TRUE(Bool("tx.amount + 1 CNY > param.cash_threshold"));
  ctx_.amount_base = kMin;
  EXPECT_EQ(Int("-tx.amount"), kMax);
  EXPECT_EQ(Int("abs(tx.amount)"), kMax);
  EXPECT_EQ(Int("tx.amount - 1 CNY"), kMin);
}

TEST_F(ExprCompilerTest, RuntimeDivisionByZeroGivesZeroAndIsCounted) {
  tx_.set_amount_minor(0);
  ExprPtr e = Compile("10 / tx.amount_minor");
  ASSERT_NE(e, nullptr);
  ctx_.ResetCaches();
  EXPECT_EQ(e->EvalInt(ctx_), 0);
  EXPECT_EQ(ctx_.division_by_zero, 1);
  EXPECT_EQ(e->EvalInt(ctx_), 0);
  EXPECT_EQ(ctx_.division_by_zero, 2);
  ctx_.ResetCaches();
  EXPECT_EQ(ctx_.division_by_zero, 0);

  windows_[0] = 0;
  ExprPtr ratio = Compile("tx.amount / window.cash_day > 1.5");
  ASSERT_NE(ratio, nullptr);
  EXPECT_FALSE(ratio->EvalBool(ctx_));
  EXPECT_EQ(ctx_.division_by_zero, 1);

  tx_.set_amount_minor(4);
  ctx_.ResetCaches();
  EXPECT_EQ(e->EvalInt(ctx_), 2);
  EXPECT_EQ(ctx_.division_by_zero, 0);
}

// --- Evaluation: enums, text, lists
// ---------------------------------------------------

TEST_F(ExprCompilerTest, EnumComparisonsAcceptShortAndFullNames) {
  tx_.set_channel(txscreen::v1::CHANNEL_COUNTER);
  EXPECT_TRUE(Bool("tx.channel == 'COUNTER'"));
  EXPECT_TRUE(Bool("tx.channel == 'CHANNEL_COUNTER'"));
  EXPECT_TRUE(Bool("tx.channel == \"COUNTER\""));
  EXPECT_TRUE(Bool("'COUNTER' == tx.channel"));
  EXPECT_FALSE(Bool("tx.channel == 'ATM'"));
  EXPECT_TRUE(Bool("tx.channel != 'CHANNEL_ATM'"));
  EXPECT_TRUE(Bool("tx.channel == tx.channel"));
  EXPECT_TRUE(Bool("tx.channel in ('ATM', 'CHANNEL_COUNTER')"));
  EXPECT_FALSE(Bool("tx.channel in ('ATM', 'MOBILE')"));
  EXPECT_TRUE(Bool("tx.channel not in ('ATM', 'MOBILE')"));
  EXPECT_TRUE(Bool("tx.type == 'TRANSFER_OUT'"));
  EXPECT_TRUE(Bool("tx.type == 'TRANSACTION_TYPE_TRANSFER_OUT'"));
  EXPECT_TRUE(Bool("tx.direction == 'OUT'"));
  EXPECT_TRUE(Bool("customer.kind == 'INDIVIDUAL'"));
  EXPECT_TRUE(Bool("customer.kind != 'CUSTOMER_KIND_ENTITY'"));
  tx_.set_channel(txscreen::v1::CHANNEL_PHONE);
  EXPECT_TRUE(Bool("tx.channel == 'PHONE'"));
}

TEST_F(ExprCompilerTest, TextComparisonsAreExact) {
  EXPECT_TRUE(Bool("tx.currency == 'CNY'"));
  EXPECT_FALSE(Bool("tx.currency == 'cny'"));
  EXPECT_TRUE(Bool("tx.currency < 'USD'"));
  EXPECT_TRUE(Bool("param.label == 'Hello World'"));
  EXPECT_TRUE(Bool("tx.currency in ('USD', 'CNY')"));
  EXPECT_TRUE(Bool("tx.currency not in ('USD')"));
  EXPECT_EQ(Str("param.label"), "Hello World");
}

TEST_F(ExprCompilerTest, InExactListNormalises) {
  const std::string expr = "tx.counterparty.account_id in police";
  tx_.mutable_counterparty()->set_account_id("6222021234567890");
  EXPECT_TRUE(Bool(expr));
  tx_.mutable_counterparty()->set_account_id("abc123");
  EXPECT_TRUE(Bool(expr));
  tx_.mutable_counterparty()->set_account_id("ＡＢＣ１２３");  // full width
  EXPECT_TRUE(Bool(expr));
  tx_.mutable_counterparty()->set_account_id("6222 0212 3456 7891");
  EXPECT_FALSE(Bool(expr));
  EXPECT_TRUE(Bool("tx.counterparty.account_id not in police"));
  // A missing value is in no list.
  tx_.mutable_counterparty()->set_account_id("");
  EXPECT_FALSE(Bool(expr));
  EXPECT_TRUE(Bool("tx.counterparty.account_id not in police"));
  // Computed text (no cache slot) is normalised too.
  EXPECT_TRUE(Bool("'abc 123' in police"));
}

TEST_F(ExprCompilerTest, ContainsAnyNormalisesTraditionalAndFullWidth) {
  const std::string expr = "contains_any(tx.memo, scam_phrases)";
  tx_.set_memo("请把钱转到安全账户");  // simplified; the list has 安全賬戶
  EXPECT_TRUE(Bool(expr));
  tx_.set_memo("請把錢轉到安全賬戶");  // traditional
  EXPECT_TRUE(Bool(expr));
  tx_.set_memo("Move it to a ＳＡＦＥ　ＡＣＣＯＵＮＴ now");
  EXPECT_TRUE(Bool(expr));
  tx_.set_memo("rent for November");
  EXPECT_FALSE(Bool(expr));
  tx_.set_memo("");
  EXPECT_FALSE(Bool(expr));
}

TEST_F(ExprCompilerTest, NormalisedTextIsCachedUntilResetCaches) {
  ExprPtr e = Compile("contains(tx.memo, '安全账户')");
  ASSERT_NE(e, nullptr);
  tx_.set_memo("安全賬戶");
  ctx_.ResetCaches();
  EXPECT_TRUE(e->EvalBool(ctx_));
  tx_.set_memo("nothing");
  ctx_.ResetCaches();
  EXPECT_FALSE(e->EvalBool(ctx_));
}

TEST_F(ExprCompilerTest, ContainsAndStartsWith) {
  tx_.set_memo("转账 解凍 please");
  EXPECT_TRUE(Bool("contains(tx.memo, '解冻')"));
  EXPECT_TRUE(Bool("contains(tx.memo, 'PLEASE')"));
  EXPECT_TRUE(Bool("contains(tx.memo, '转账解冻')"));  // white space ignored
  EXPECT_FALSE(Bool("contains(tx.memo, 'thanks')"));
  EXPECT_TRUE(Bool("contains(param.label, 'WORLD')"));
  EXPECT_TRUE(Bool("starts_with(tx.region_code, '11')"));
  EXPECT_FALSE(Bool("starts_with(tx.region_code, '31')"));
  EXPECT_TRUE(Bool("starts_with(param.label, 'Hello')"));
  EXPECT_TRUE(Bool("starts_with(param.label, '')"));
}

TEST_F(ExprCompilerTest, Province) {
  EXPECT_EQ(Str("province(tx.region_code)"), "11");
  EXPECT_TRUE(
      Bool("province(tx.region_code) == province(tx.account_region_code)"));
  tx_.set_account_region_code("310101");
  EXPECT_FALSE(
      Bool("province(tx.region_code) == province(tx.account_region_code)"));
  tx_.set_region_code("1");
  EXPECT_EQ(Str("province(tx.region_code)"), "");
  EXPECT_EQ(Str("province('44')"), "44");
}

TEST_F(ExprCompilerTest, Present) {
  EXPECT_FALSE(Bool("present(tx.memo)"));
  tx_.set_memo("x");
  EXPECT_TRUE(Bool("present(tx.memo)"));
  EXPECT_FALSE(Bool("present(customer.age)"));
  ctx_.customer_age_known = true;
  EXPECT_TRUE(Bool("present(customer.age)"));
  EXPECT_TRUE(Bool("present(tx.amount)"));  // always there
  EXPECT_FALSE(Bool("present(tx.account_age)"));
  ctx_.account_age_known = true;
  EXPECT_TRUE(Bool("present(tx.account_age)"));
  EXPECT_FALSE(Bool("present(history.since_previous)"));
  ctx_.history.has_previous = true;
  EXPECT_TRUE(Bool("present(history.since_previous)"));
  EXPECT_FALSE(Bool("present(tx.counterparty.account_id)"));
}

TEST_F(ExprCompilerTest, MinMaxAbs) {
  ctx_.amount_base = 5200000;
  EXPECT_EQ(Int("max(tx.amount, 60000 CNY)"), 6000000);
  EXPECT_EQ(Int("min(tx.amount, 60000 CNY)"), 5200000);
  EXPECT_TRUE(Bool("min(1h, 30m) == 30m"));
  EXPECT_EQ(Int("max(0.5, 0.25)"), 500000);
  EXPECT_EQ(Int("abs(-5)"), 5);
  EXPECT_EQ(Int("abs(-0.5)"), 500000);
  ctx_.amount_base = 4000000;
  EXPECT_EQ(Int("abs(tx.amount - param.cash_threshold)"), 1000000);
}

TEST_F(ExprCompilerTest, LiteralZeroComparesWithAnyNumber) {
  ctx_.amount_base = 1;
  windows_[0] = 0;
  EXPECT_TRUE(Bool("tx.amount > 0"));
  EXPECT_TRUE(Bool("0 < tx.amount"));
  EXPECT_TRUE(Bool("window.cash_day >= 0"));
  EXPECT_FALSE(Bool("window.cash_day > 0"));
  EXPECT_TRUE(Bool("tx.account_age == 0"));
  EXPECT_TRUE(Bool("0.5 > 0"));
}

TEST_F(ExprCompilerTest, WindowsScoresAndHistory) {
  windows_ = {6000000, 4};
  ctx_.scores = {70};
  EXPECT_TRUE(Bool("window.cash_day >= param.cash_threshold"));
  EXPECT_TRUE(Bool("window.count_5m > param.parts"));
  EXPECT_TRUE(Bool("score.fraud >= 70"));
  EXPECT_FALSE(Bool("score.fraud > 70"));
  ctx_.history.first_payment_to_counterparty = true;
  ctx_.history.since_previous_us = 200 * kDay;
  ctx_.history.previous_region_code = "440300";
  EXPECT_TRUE(Bool("history.first_payment_to_counterparty"));
  EXPECT_TRUE(Bool("history.since_previous > 180d"));
  EXPECT_TRUE(Bool(
      "province(history.previous_region_code) != province(tx.region_code)"));
}

TEST_F(ExprCompilerTest, LogicShortCircuits) {
  tx_.set_amount_minor(0);
  ExprPtr e = Compile("tx.amount_minor != 0 and 10 / tx.amount_minor > 1");
  ASSERT_NE(e, nullptr);
  ctx_.ResetCaches();
  EXPECT_FALSE(e->EvalBool(ctx_));
  EXPECT_EQ(ctx_.division_by_zero, 0);
}

TEST_F(ExprCompilerTest, IfChoosesAValueOfOneType) {
  tx_.set_cash(true);
  EXPECT_EQ(Int("if(tx.cash, 1 CNY, 2 CNY)"), 100);
  EXPECT_EQ(Type("if(tx.cash, 1 CNY, 2 CNY)"), "money");
  tx_.set_cash(false);
  EXPECT_EQ(Int("if(tx.cash, 1 CNY, 2 CNY)"), 200);
  EXPECT_EQ(Str("if(tx.cash, 'cash', 'transfer')"), "transfer");
  EXPECT_EQ(Error("if(tx.cash, 1)"), "0: if() takes 3 arguments, got 2");
  EXPECT_EQ(Error("if(1, 2, 3)"),
            "3: the condition of if() must be bool, got int");
  EXPECT_EQ(Error("if(tx.cash, 1 CNY, 2)"),
            "0: if() needs both values of the same type, got money and int");
}

TEST_F(ExprCompilerTest, MatchedPhraseShowsTheNormalisedPhrase) {
  tx_.set_memo("请把钱转到安全賬戶");
  EXPECT_EQ(Str("matched_phrase(tx.memo, scam_phrases)"), "安全账户");
  tx_.set_memo("rent");
  EXPECT_EQ(Str("matched_phrase(tx.memo, scam_phrases)"), "");
  tx_.set_memo("");
  EXPECT_EQ(Str("matched_phrase(tx.memo, scam_phrases)"), "");
  EXPECT_EQ(Error("matched_phrase(tx.memo, police)"),
            "24: list 'police' is an exact list; use 'value in police'");
  EXPECT_EQ(Error("matched_phrase(tx.memo)"),
            "0: matched_phrase() takes 2 arguments, got 1");
}

// --- Constants and uses
// -----------------------------------------------------------------

TEST_F(ExprCompilerTest, ConstantFolding) {
  EXPECT_TRUE(Constant("1 + 2"));
  EXPECT_TRUE(Constant("50000 CNY"));
  EXPECT_TRUE(Constant("param.cash_threshold * 2"));
  EXPECT_TRUE(Constant("param.cash_threshold * param.band"));
  EXPECT_TRUE(Constant("'text'"));
  EXPECT_TRUE(Constant("param.label"));
  EXPECT_TRUE(Constant("max(1, 2)"));
  EXPECT_TRUE(Constant("abs(-3)"));
  EXPECT_TRUE(Constant("not true"));
  EXPECT_TRUE(Constant("1 < 2 and 2.5 > 2"));
  EXPECT_TRUE(Constant("days(48h)"));
  EXPECT_TRUE(Constant("-5m"));
  EXPECT_TRUE(Constant("1 + 0.5"));
  EXPECT_FALSE(Constant("tx.amount > 0"));
  EXPECT_FALSE(Constant("window.cash_day"));
  EXPECT_FALSE(Constant("score.fraud"));
  EXPECT_FALSE(Constant("tx.amount * 2"));
  EXPECT_FALSE(Constant("tx.channel == 'ATM'"));
  EXPECT_FALSE(Constant("true and tx.cash"));
  EXPECT_EQ(Int("param.cash_threshold * param.band"), 4000000);
}

TEST_F(ExprCompilerTest, UsesRecordsWhatTheExpressionReads) {
  ExprError error;
  ExprUses uses;
  ASSERT_NE(CompileExpression("tx.amount > 0", scope_, &error, &uses), nullptr);
  EXPECT_FALSE(uses.history);
  EXPECT_FALSE(uses.windows);
  EXPECT_FALSE(uses.scores);
  ASSERT_NE(CompileExpression("history.has_previous", scope_, &error, &uses),
            nullptr);
  EXPECT_TRUE(uses.history);
  ASSERT_NE(CompileExpression("window.cash_day > 0", scope_, &error, &uses),
            nullptr);
  EXPECT_TRUE(uses.windows);
  EXPECT_FALSE(uses.scores);
  ASSERT_NE(CompileExpression("score.fraud > 0", scope_, &error, &uses),
            nullptr);
  EXPECT_TRUE(uses.scores);

  ExprUses present_uses;
  ASSERT_NE(CompileExpression("present(history.since_previous)", scope_, &error,
                              &present_uses),
            nullptr);
  EXPECT_TRUE(present_uses.history);
}

TEST_F(ExprCompilerTest, ErrorIsClearedOnSuccess) {
  ExprError error{5, "stale"};
  EXPECT_NE(CompileExpression("tx.cash", scope_, &error), nullptr);
  EXPECT_EQ(error.message, "");
}

// --- ClosestName
// -----------------------------------------------------------------------

TEST(ClosestNameTest, PicksTheNearestCandidate) {
  EXPECT_EQ(
      ClosestName("tx.amonut", {"tx.amount", "tx.amount_minor", "tx.memo"}),
      "tx.amount");
  EXPECT_EQ(ClosestName("polise", {"police", "policy_x"}), "police");
}

TEST(ClosestNameTest, NothingWhenTooFar) {
  EXPECT_EQ(ClosestName("xyz", {"abcdef"}), "");
  EXPECT_EQ(ClosestName("anything", {}), "");
  // A 9-character name allows 3 edits but not 4.
  EXPECT_EQ(ClosestName("abcdefghi", {"abcdefxyz"}), "abcdefxyz");
  EXPECT_EQ(ClosestName("abcdefghi", {"abcdewxyz"}), "");
}

TEST(ClosestNameTest, FirstOfEquallyCloseCandidatesWins) {
  EXPECT_EQ(ClosestName("cat", {"bat", "hat"}), "bat");
  EXPECT_EQ(ClosestName("cat", {"hat", "bat"}), "hat");
}

}  // namespace
}  // namespace txscreen::rules

namespace txscreen::rules {
namespace {

std::string KeyOf(absl::string_view text) {
  ExprError error;
  std::unique_ptr<AstNode> ast = ParseExpression(text, &error);
  EXPECT_NE(ast, nullptr) << error.message;
  return ast == nullptr ? "" : AstKey(*ast);
}

TEST(AstKeyTest, IgnoresSpacingAndRedundantParentheses) {
  EXPECT_EQ(KeyOf("tx.cash or tx.type in ('CASH_DEPOSIT')"),
            KeyOf("(tx.cash  or (tx.type in ( 'CASH_DEPOSIT' )))"));
  EXPECT_EQ(KeyOf("a.b && c.d"), KeyOf("a.b and c.d"));
}

TEST(AstKeyTest, DiffersWithOperatorOperandOrNegation) {
  EXPECT_NE(KeyOf("tx.amount > 5"), KeyOf("tx.amount >= 5"));
  EXPECT_NE(KeyOf("tx.amount > 5"), KeyOf("tx.amount > 6"));
  EXPECT_NE(KeyOf("tx.memo in police"), KeyOf("tx.memo not in police"));
  EXPECT_NE(KeyOf("'a b' == tx.memo"), KeyOf("'a' == tx.memo"));
  EXPECT_NE(KeyOf("5 CNY < tx.amount"), KeyOf("5 USD < tx.amount"));
  EXPECT_NE(KeyOf("a.b and c.d"), KeyOf("a.b or c.d"));
}

TEST(SharedSubexpressionsTest, OnlyRepeatedCompoundSubexpressionsGetSlots) {
  SharedSubexpressions shared;
  for (const char* text :
       {"tx.type != 'REVERSAL' and tx.direction == 'OUT' and tx.cash",
        "tx.direction == 'OUT' and tx.type != 'REVERSAL'",
        "(tx.type != 'REVERSAL')"}) {
    ExprError error;
    std::unique_ptr<AstNode> ast = ParseExpression(text, &error);
    ASSERT_NE(ast, nullptr);
    shared.Count(*ast);
  }
  const int reversal = shared.SlotFor(KeyOf("tx.type != 'REVERSAL'"));
  EXPECT_EQ(reversal, 0);
  EXPECT_EQ(shared.SlotFor(KeyOf("tx.type != 'REVERSAL'")), reversal);
  EXPECT_EQ(shared.SlotFor(KeyOf("tx.direction == 'OUT'")), 1);
  // Once only: the chains as a whole, and names.
  EXPECT_EQ(shared.SlotFor(KeyOf(
                "tx.type != 'REVERSAL' and tx.direction == 'OUT' and tx.cash")),
            -1);
  // The inner `a and b` of `a and b and c` is no subexpression of its own.
  EXPECT_EQ(
      shared.SlotFor(KeyOf("tx.type != 'REVERSAL' and tx.direction == 'OUT'")),
      -1);
  EXPECT_EQ(shared.SlotFor(KeyOf("tx.cash")), -1);
  EXPECT_EQ(shared.slots_used(), 2);
}

TEST(SharedSubexpressionsTest, SlotsRunOutQuietly) {
  SharedSubexpressions shared;
  for (int i = 0; i < kMemoSlots + 5; ++i) {
    for (int twice = 0; twice < 2; ++twice) {
      ExprError error;
      std::unique_ptr<AstNode> ast =
          ParseExpression(absl::StrCat("tx.amount > ", i), &error);
      ASSERT_NE(ast, nullptr);
      shared.Count(*ast);
    }
  }
  for (int i = 0; i < kMemoSlots; ++i) {
    EXPECT_EQ(shared.SlotFor(KeyOf(absl::StrCat("tx.amount > ", i))), i);
  }
  EXPECT_EQ(shared.SlotFor(KeyOf(absl::StrCat("tx.amount > ", kMemoSlots))),
            -1);
  EXPECT_EQ(shared.slots_used(), kMemoSlots);
}

}  // namespace
}  // namespace txscreen::rules
