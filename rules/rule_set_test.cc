#include "rules/rule_set.h"

#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/iso_date.h"
#include "rules/rule_pack_loader.h"

namespace txscreen::rules {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::txscreen::v1;

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr int64_t kSecond = 1000000;
constexpr int64_t kDay = 86400 * kSecond;

constexpr char kPack[] =
    "pack { name: \"t\" version: \"t-7\" time_zone: \"Asia/Shanghai\" }\n"
    "fx_rate { currency: \"USD\" rate: \"7.1\" }\n";

// A complete rule; `extra` holds further fields, one per line.
std::string Rule(absl::string_view id, absl::string_view when,
                 absl::string_view action, absl::string_view extra = "",
                 absl::string_view reason = "") {
  return absl::StrCat(
      "rule {\n  id: \"", id, "\"\n  version: 3\n  title: \"Title of ", id,
      "\"\n  why: \"because\"\n  severity: SEVERITY_MEDIUM\n"
      "  owner: \"team\"\n  when: \"",
      when, "\"\n  action: ", action, "\n  reason: \"",
      reason.empty() ? absl::StrCat("hit ", id) : reason, "\"\n", extra, "}\n");
}

// A prompt with one why line and one ask line.
std::string Prompt(absl::string_view why, absl::string_view ask) {
  return absl::StrCat("  prompt {\n    why { zh: \"", why, "（中）\" en: \"",
                      why, "\" }\n    ask { zh: \"", ask, "（中）\" en: \"",
                      ask, "\" }\n  }\n");
}

// Microseconds since the epoch of a UTC civil time.
int64_t Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::ToUnixMicros(absl::FromCivil(
      absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

void SetTime(google::protobuf::Timestamp* ts, int64_t micros) {
  ts->set_seconds(micros / kSecond);
  ts->set_nanos(static_cast<int32_t>(micros % kSecond) * 1000);
}

class RuleSetTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* test =
        testing::UnitTest::GetInstance()->current_test_info();
    dir_ = absl::StrCat(testing::TempDir(), "rule_set_test/",
                        test->test_suite_name(), ".", test->name());
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::create_directories(dir_);
    tx_.set_transaction_id("tx-1");
    tx_.set_customer_id("C-1");
    tx_.set_account_id("A-1");
    tx_.set_currency("CNY");
    tx_.set_amount_minor(5200000);
    tx_.set_channel(v1::CHANNEL_COUNTER);
    tx_.set_direction(v1::DIRECTION_OUT);
    tx_.set_type(v1::TRANSACTION_TYPE_TRANSFER_OUT);
    SetTime(tx_.mutable_occurred_at(), Utc(2026, 11, 20, 2, 0, 0));
  }

  // Loads kPack plus `rules`.
  std::shared_ptr<const RuleSet> Load(absl::string_view rules) {
    Write("pack.textproto", kPack);
    Write("rules.textproto", rules);
    LoadResult result = LoadRulePack({dir_});
    EXPECT_THAT(result.errors, IsEmpty());
    return result.rule_set;
  }

  void Write(absl::string_view name, absl::string_view contents) {
    std::ofstream out(absl::StrCat(dir_, "/", name),
                      std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  }

  // Prepares and evaluates tx_ with `set`.
  v1::Decision Decide(const RuleSet& set) {
    absl::Status status = set.PrepareTransactionFacts(tx_, &ctx_);
    EXPECT_TRUE(status.ok()) << status;
    ctx_.windows = windows_;
    v1::Decision decision;
    set.Evaluate(&ctx_, &decision);
    return decision;
  }

  std::vector<std::string> HitIds(const v1::Decision& d) {
    std::vector<std::string> ids;
    for (const v1::RuleHit& h : d.hits()) ids.push_back(h.rule_id());
    return ids;
  }

  std::string dir_;
  v1::Transaction tx_;
  EvalContext ctx_;
  int64_t windows_[4] = {0, 0, 0, 0};
};

// --- PrepareTransactionFacts
// ---------------------------------------------------------------

TEST_F(RuleSetTest, AmountInTheBaseCurrency) {
  auto set = Load("");
  ASSERT_NE(set, nullptr);
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  EXPECT_EQ(ctx_.amount_base, 5200000);
  EXPECT_EQ(ctx_.tx, &tx_);

  tx_.set_currency("USD");
  tx_.set_amount_minor(1000000);  // 10,000.00 USD
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  EXPECT_EQ(ctx_.amount_base, 7100000);  // 71,000.00 CNY
}

TEST_F(RuleSetTest, UnknownCurrencyFails) {
  auto set = Load("");
  ASSERT_NE(set, nullptr);
  tx_.set_currency("EUR");
  absl::Status status = set->PrepareTransactionFacts(tx_, &ctx_);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no FX rate for EUR");
}

TEST_F(RuleSetTest, OccurredAtAndLocalHourInThePackZone) {
  auto set = Load("");
  ASSERT_NE(set, nullptr);
  tx_.mutable_occurred_at()->set_seconds(Utc(2026, 11, 20, 1, 30) / kSecond);
  tx_.mutable_occurred_at()->set_nanos(123456789);
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  EXPECT_EQ(ctx_.occurred_at_us, Utc(2026, 11, 20, 1, 30) + 123456);
  EXPECT_EQ(ctx_.local_hour, 9);

  SetTime(tx_.mutable_occurred_at(), Utc(2026, 11, 20, 15, 59, 59));
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  EXPECT_EQ(ctx_.local_hour, 23);
  SetTime(tx_.mutable_occurred_at(), Utc(2026, 11, 20, 16, 0, 0));
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  EXPECT_EQ(ctx_.local_hour, 0);
}

// Customer age at `utc` for a customer born on `birth`, or -1 when unknown.
int64_t AgeAt(const RuleSet& set, v1::Transaction tx, absl::string_view birth,
              int64_t utc) {
  tx.mutable_customer()->set_birth_date(std::string(birth));
  SetTime(tx.mutable_occurred_at(), utc);
  EvalContext ctx;
  EXPECT_TRUE(set.PrepareTransactionFacts(tx, &ctx).ok());
  return ctx.customer_age_known ? ctx.customer_age : -1;
}

TEST_F(RuleSetTest, CustomerAgeAtTheBirthdayInShanghai) {
  auto set = Load("");
  ASSERT_NE(set, nullptr);
  const std::string birth = "1966-11-20";
  // Birthday tomorrow (Beijing 2026-11-19 10:00).
  EXPECT_EQ(AgeAt(*set, tx_, birth, Utc(2026, 11, 19, 2, 0, 0)), 59);
  // Last second before the birthday in Beijing.
  EXPECT_EQ(AgeAt(*set, tx_, birth, Utc(2026, 11, 19, 15, 59, 59)), 59);
  // 16:00 UTC on the 19th is already the 20th in Beijing.
  EXPECT_EQ(AgeAt(*set, tx_, birth, Utc(2026, 11, 19, 16, 0, 0)), 60);
  // Birthday today.
  EXPECT_EQ(AgeAt(*set, tx_, birth, Utc(2026, 11, 20, 2, 0, 0)), 60);
  EXPECT_EQ(AgeAt(*set, tx_, birth, Utc(2027, 11, 19, 2, 0, 0)), 60);
  EXPECT_EQ(AgeAt(*set, tx_, birth, Utc(2027, 11, 20, 2, 0, 0)), 61);
  // Earlier month / later month of the birthday year.
  EXPECT_EQ(AgeAt(*set, tx_, birth, Utc(2026, 10, 30, 2, 0, 0)), 59);
  EXPECT_EQ(AgeAt(*set, tx_, birth, Utc(2026, 12, 1, 2, 0, 0)), 60);
}

TEST_F(RuleSetTest, CustomerBornOnTheTwentyNinthOfFebruary) {
  auto set = Load("");
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(AgeAt(*set, tx_, "2000-02-29", Utc(2026, 2, 28, 2)), 25);
  EXPECT_EQ(AgeAt(*set, tx_, "2000-02-29", Utc(2026, 3, 1, 2)), 26);
  EXPECT_EQ(AgeAt(*set, tx_, "2000-02-29", Utc(2028, 2, 29, 2)), 28);
}

TEST_F(RuleSetTest, CustomerAgeUnknown) {
  auto set = Load("");
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(AgeAt(*set, tx_, "", Utc(2026, 11, 20)), -1);
  EXPECT_EQ(AgeAt(*set, tx_, "not a date", Utc(2026, 11, 20)), -1);
  // Born after the transaction.
  EXPECT_EQ(AgeAt(*set, tx_, "2027-01-01", Utc(2026, 11, 20)), -1);
  // Born on the day: 0 and known.
  EXPECT_EQ(AgeAt(*set, tx_, "2026-11-20", Utc(2026, 11, 20, 2)), 0);
}

TEST_F(RuleSetTest, AccountAge) {
  auto set = Load("");
  ASSERT_NE(set, nullptr);
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  EXPECT_FALSE(ctx_.account_age_known);
  EXPECT_EQ(ctx_.account_age_us, 0);
  SetTime(tx_.mutable_account_opened_at(), Utc(2026, 11, 10, 2, 0, 0));
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  EXPECT_TRUE(ctx_.account_age_known);
  EXPECT_EQ(ctx_.account_age_us, 10 * kDay);
}

TEST_F(RuleSetTest, PrepareResetsPerTransactionState) {
  auto set = Load(Rule("S", "tx.cash", "ACTION_UNSPECIFIED",
                       "  score { name: \"fraud\" weight: 5 }\n"
                       "  score { name: \"mule\" weight: 5 }\n"));
  ASSERT_NE(set, nullptr);
  ctx_.history.has_previous = true;
  ctx_.history.since_previous_us = 5;
  ctx_.scores = {9, 9, 9, 9};
  ctx_.division_by_zero = 3;
  ctx_.normalized_valid = 0xff;
  ctx_.customer_age_known = true;
  ctx_.customer_age = 44;
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  EXPECT_FALSE(ctx_.history.has_previous);
  EXPECT_EQ(ctx_.history.since_previous_us, 0);
  EXPECT_THAT(ctx_.scores, ElementsAre(0, 0));
  EXPECT_EQ(ctx_.division_by_zero, 0);
  EXPECT_EQ(ctx_.normalized_valid, 0u);
  EXPECT_FALSE(ctx_.customer_age_known);
  EXPECT_EQ(ctx_.customer_age, 0);
}

// --- Evaluate
// -----------------------------------------------------------------------------------

TEST_F(RuleSetTest, NoHitAllows) {
  auto set = Load(Rule("R-1", "tx.cash", "ACTION_BLOCK"));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  EXPECT_EQ(d.verdict(), v1::VERDICT_ALLOW);
  EXPECT_THAT(d.hits(), IsEmpty());
  EXPECT_THAT(d.reports(), IsEmpty());
  EXPECT_FALSE(d.has_prompt());
  EXPECT_THAT(d.scores(), IsEmpty());
  EXPECT_EQ(d.ruleset_version(), "t-7");
}

TEST_F(RuleSetTest, HitCarriesTheRuleAndTheRenderedReason) {
  auto set =
      Load(Rule("R-1", "tx.amount >= 50000 CNY", "ACTION_REVIEW", "",
                "amount {tx.amount} on {tx.channel} at {tx.occurred_at}"));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  EXPECT_EQ(d.verdict(), v1::VERDICT_REVIEW);
  ASSERT_EQ(d.hits_size(), 1);
  const v1::RuleHit& hit = d.hits(0);
  EXPECT_EQ(hit.rule_id(), "R-1");
  EXPECT_EQ(hit.rule_version(), 3);
  EXPECT_EQ(hit.severity(), v1::SEVERITY_MEDIUM);
  EXPECT_EQ(hit.title(), "Title of R-1");
  EXPECT_EQ(hit.action(), v1::ACTION_REVIEW);
  // 02:00 UTC is 10:00 in the pack's zone.
  EXPECT_EQ(hit.reason(),
            "amount 52,000.00 CNY on COUNTER at 2026-11-20 10:00");
}

TEST_F(RuleSetTest, ChannelActions) {
  auto set = Load(
      Rule("SAFE", "tx.direction == 'OUT'", "ACTION_INTERCEPT",
           absl::StrCat(
               "  channel_action { channel: [CHANNEL_MOBILE, CHANNEL_ONLINE] "
               "action: ACTION_DELAY }\n"
               "  channel_action { channel: CHANNEL_ATM action: ACTION_BLOCK "
               "}\n",
               Prompt("why", "ask"))));
  ASSERT_NE(set, nullptr);
  struct Case {
    v1::Channel channel;
    v1::Action action;
    v1::Verdict verdict;
  };
  for (const Case& c : std::vector<Case>{
           {v1::CHANNEL_COUNTER, v1::ACTION_INTERCEPT, v1::VERDICT_INTERCEPT},
           {v1::CHANNEL_MOBILE, v1::ACTION_DELAY, v1::VERDICT_DELAY},
           {v1::CHANNEL_ONLINE, v1::ACTION_DELAY, v1::VERDICT_DELAY},
           {v1::CHANNEL_ATM, v1::ACTION_BLOCK, v1::VERDICT_BLOCK},
           {v1::CHANNEL_PHONE, v1::ACTION_INTERCEPT, v1::VERDICT_INTERCEPT},
           {v1::CHANNEL_UNSPECIFIED, v1::ACTION_INTERCEPT,
            v1::VERDICT_INTERCEPT},
           // Out of range: the base action.
           {static_cast<v1::Channel>(42), v1::ACTION_INTERCEPT,
            v1::VERDICT_INTERCEPT},
       }) {
    tx_.set_channel(c.channel);
    v1::Decision d = Decide(*set);
    ASSERT_EQ(d.hits_size(), 1) << c.channel;
    EXPECT_EQ(d.hits(0).action(), c.action) << c.channel;
    EXPECT_EQ(d.verdict(), c.verdict) << c.channel;
    EXPECT_TRUE(d.has_prompt()) << c.channel;
  }
}

TEST_F(RuleSetTest, EscalationsRaiseToTheStrongestAndAppendReasons) {
  auto set = Load(
      Rule("R-1", "tx.direction == 'OUT'", "ACTION_REVIEW",
           absl::StrCat(
               "  escalate { when: \"tx.amount >= 50000 CNY\" action: "
               "ACTION_INTERCEPT "
               "reason: \"large {tx.amount}\" }\n"
               "  escalate { when: \"tx.cross_border\" action: ACTION_WARN }\n"
               "  escalate { when: \"tx.cash\" action: ACTION_BLOCK reason: "
               "\"cash\" }\n",
               Prompt("why", "ask")),
           "base"));
  ASSERT_NE(set, nullptr);

  tx_.set_amount_minor(100);  // 1.00 CNY: no escalation
  v1::Decision d = Decide(*set);
  ASSERT_EQ(d.hits_size(), 1);
  EXPECT_EQ(d.hits(0).action(), v1::ACTION_REVIEW);
  EXPECT_EQ(d.hits(0).reason(), "base");
  EXPECT_EQ(d.verdict(), v1::VERDICT_REVIEW);
  EXPECT_FALSE(d.has_prompt());

  tx_.set_cross_border(true);  // WARN, no reason of its own
  d = Decide(*set);
  EXPECT_EQ(d.hits(0).action(), v1::ACTION_WARN);
  EXPECT_EQ(d.hits(0).reason(), "base");

  tx_.set_amount_minor(5200000);  // and INTERCEPT: the stronger wins
  d = Decide(*set);
  EXPECT_EQ(d.hits(0).action(), v1::ACTION_INTERCEPT);
  EXPECT_EQ(d.hits(0).reason(), "base; large 52,000.00 CNY");
  EXPECT_EQ(d.verdict(), v1::VERDICT_INTERCEPT);
  EXPECT_TRUE(d.has_prompt());

  tx_.set_cash(true);
  d = Decide(*set);
  EXPECT_EQ(d.hits(0).action(), v1::ACTION_BLOCK);
  EXPECT_EQ(d.hits(0).reason(), "base; large 52,000.00 CNY; cash");
}

TEST_F(RuleSetTest, EscalationNeverLowersTheAction) {
  auto set = Load(Rule("R-1", "tx.direction == 'OUT'", "ACTION_BLOCK",
                       "  escalate { when: \"tx.direction == 'OUT'\" action: "
                       "ACTION_REVIEW }\n"));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  EXPECT_EQ(d.hits(0).action(), v1::ACTION_BLOCK);
  EXPECT_EQ(d.verdict(), v1::VERDICT_BLOCK);
}

TEST_F(RuleSetTest, EscalationWithChannelActions) {
  auto set = Load(Rule(
      "R-1", "tx.direction == 'OUT'", "ACTION_REVIEW",
      "  escalate { when: \"tx.cash\" channel_action { channel: CHANNEL_ATM "
      "action: ACTION_BLOCK } }\n"));
  ASSERT_NE(set, nullptr);
  tx_.set_cash(true);
  tx_.set_channel(v1::CHANNEL_ATM);
  EXPECT_EQ(Decide(*set).hits(0).action(), v1::ACTION_BLOCK);
  tx_.set_channel(v1::CHANNEL_COUNTER);
  EXPECT_EQ(Decide(*set).hits(0).action(), v1::ACTION_REVIEW);
}

TEST_F(RuleSetTest, EffectiveDatesInThePackZone) {
  auto set = Load(Rule("R-1", "tx.direction == 'OUT'", "ACTION_REVIEW",
                       "  effective_from: \"2026-01-01\"\n"
                       "  effective_until: \"2026-07-01\"\n"));
  ASSERT_NE(set, nullptr);
  auto hits_at = [&](int64_t utc) {
    SetTime(tx_.mutable_occurred_at(), utc);
    return Decide(*set).hits_size();
  };
  // Beijing midnight is 16:00 UTC the day before.
  EXPECT_EQ(hits_at(Utc(2025, 12, 31, 15, 59, 59)), 0);
  EXPECT_EQ(hits_at(Utc(2025, 12, 31, 16, 0, 0)), 1);
  EXPECT_EQ(hits_at(Utc(2026, 6, 30, 15, 59, 59)), 1);
  EXPECT_EQ(hits_at(Utc(2026, 6, 30, 16, 0, 0)), 0);
}

TEST_F(RuleSetTest, VerdictIsTheStrongestAction) {
  auto set = Load(absl::StrCat(
      Rule("REPORT", "tx.direction == 'OUT'", "ACTION_REPORT",
           "  report: \"LARGE_VALUE_TRANSFER\"\n"),
      Rule("WARN", "tx.cross_border", "ACTION_WARN", Prompt("w", "a")),
      Rule("REVIEW", "tx.direction == 'OUT'", "ACTION_REVIEW")));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  EXPECT_THAT(HitIds(d), ElementsAre("REPORT", "REVIEW"));
  EXPECT_EQ(d.verdict(), v1::VERDICT_REVIEW);
  tx_.set_cross_border(true);
  d = Decide(*set);
  EXPECT_THAT(HitIds(d), ElementsAre("REPORT", "WARN", "REVIEW"));
  EXPECT_EQ(d.verdict(), v1::VERDICT_WARN);
}

TEST_F(RuleSetTest, ReportDoesNotChangeTheVerdict) {
  auto set = Load(Rule("REPORT", "tx.direction == 'OUT'", "ACTION_REPORT",
                       "  report: \"LARGE_VALUE_TRANSFER\"\n"));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  ASSERT_EQ(d.hits_size(), 1);
  EXPECT_EQ(d.hits(0).action(), v1::ACTION_REPORT);
  EXPECT_EQ(d.verdict(), v1::VERDICT_ALLOW);
  EXPECT_THAT(d.reports(), ElementsAre("LARGE_VALUE_TRANSFER"));
}

TEST_F(RuleSetTest, ReportsAccumulateWithoutRepeats) {
  auto set = Load(absl::StrCat(
      Rule("A", "tx.direction == 'OUT'", "ACTION_REPORT",
           "  report: \"LARGE_VALUE_CASH\"\n"),
      Rule("B", "tx.direction == 'OUT'", "ACTION_REVIEW",
           "  report: \"LARGE_VALUE_CASH\"\n  report: \"SUSPICIOUS\"\n"),
      Rule("C", "tx.cash", "ACTION_REPORT", "  report: \"NEVER\"\n")));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  EXPECT_THAT(d.reports(), ElementsAre("LARGE_VALUE_CASH", "SUSPICIOUS"));
  ASSERT_EQ(d.hits_size(), 2);
  EXPECT_THAT(d.hits(0).reports(), ElementsAre("LARGE_VALUE_CASH"));
  EXPECT_THAT(d.hits(1).reports(),
              ElementsAre("LARGE_VALUE_CASH", "SUSPICIOUS"));
  EXPECT_EQ(d.verdict(), v1::VERDICT_REVIEW);
}

TEST_F(RuleSetTest, PromptLinesAreDeduplicated) {
  auto set =
      Load(absl::StrCat(Rule("A", "tx.direction == 'OUT'", "ACTION_INTERCEPT",
                             Prompt("first reason", "who is the payee?")),
                        Rule("B", "tx.direction == 'OUT'", "ACTION_WARN",
                             Prompt("second reason", "who is the payee?")),
                        Rule("C", "tx.direction == 'OUT'", "ACTION_DELAY",
                             Prompt("first reason", "who is the payee?"))));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  ASSERT_TRUE(d.has_prompt());
  ASSERT_EQ(d.prompt().why_size(), 2);
  EXPECT_EQ(d.prompt().why(0).en(), "first reason");
  EXPECT_EQ(d.prompt().why(0).zh(), "first reason（中）");
  EXPECT_EQ(d.prompt().why(1).en(), "second reason");
  ASSERT_EQ(d.prompt().ask_size(), 1);
  EXPECT_EQ(d.prompt().ask(0).en(), "who is the payee?");
  EXPECT_EQ(d.verdict(), v1::VERDICT_INTERCEPT);
}

TEST_F(RuleSetTest, PromptLinesAreRenderedTemplates) {
  auto set =
      Load(Rule("A", "tx.direction == 'OUT'", "ACTION_INTERCEPT",
                "  prompt {\n"
                "    why { zh: \"转出 {tx.amount}，跨境：{tx.cross_border}\" "
                "en: \"{tx.amount} out, cross-border: {tx.cross_border}\" }\n"
                "    ask { zh: \"用途？\" en: \"Purpose?\" }\n"
                "    look_for { zh: \"通话\" en: \"on a call\" }\n"
                "    dissuade { zh: \"不要\" en: \"don't\" }\n"
                "  }\n"));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  ASSERT_EQ(d.prompt().why_size(), 1);
  EXPECT_EQ(d.prompt().why(0).en(), "52,000.00 CNY out, cross-border: no");
  EXPECT_EQ(d.prompt().why(0).zh(), "转出 52,000.00 CNY，跨境：否");
  EXPECT_EQ(d.prompt().look_for_size(), 1);
  EXPECT_EQ(d.prompt().dissuade_size(), 1);
}

TEST_F(RuleSetTest, PromptOnlyForWarnDelayInterceptAndBlock) {
  auto set =
      Load(absl::StrCat(Rule("REVIEW", "tx.direction == 'OUT'", "ACTION_REVIEW",
                             Prompt("review why", "review ask"))));
  ASSERT_NE(set, nullptr);
  EXPECT_FALSE(Decide(*set).has_prompt());

  set = Load(Rule("BLOCK", "tx.direction == 'OUT'", "ACTION_BLOCK",
                  Prompt("block why", "block ask")));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  ASSERT_TRUE(d.has_prompt());
  EXPECT_EQ(d.prompt().why(0).en(), "block why");
}

TEST_F(RuleSetTest, ScoresAccumulateAndAreReadByLaterRules) {
  auto set = Load(
      absl::StrCat(Rule("READER", "score.fraud >= 70", "ACTION_REVIEW"),
                   Rule("ADD-30", "tx.direction == 'OUT'", "ACTION_UNSPECIFIED",
                        "  score { name: \"fraud\" weight: 30 }\n"),
                   Rule("ADD-40", "tx.direction == 'OUT'", "ACTION_UNSPECIFIED",
                        "  score { name: \"fraud\" weight: 40 }\n"
                        "  score { name: \"mule\" weight: -5 }\n"),
                   Rule("UNHIT", "tx.cash", "ACTION_UNSPECIFIED",
                        "  score { name: \"other\" weight: 10 }\n")));
  ASSERT_NE(set, nullptr);
  EXPECT_THAT(set->score_names(), ElementsAre("fraud", "mule", "other"));
  v1::Decision d = Decide(*set);
  EXPECT_THAT(HitIds(d), ElementsAre("ADD-30", "ADD-40", "READER"));
  EXPECT_EQ(d.hits(0).action(), v1::ACTION_UNSPECIFIED);
  EXPECT_THAT(d.scores(),
              UnorderedElementsAre(Pair("fraud", 70), Pair("mule", -5)));
  EXPECT_EQ(d.verdict(), v1::VERDICT_REVIEW);
  EXPECT_THAT(ctx_.scores, ElementsAre(70, -5, 0));

  // Scores start from zero for every transaction.
  d = Decide(*set);
  EXPECT_EQ(d.scores().at("fraud"), 70);
}

TEST_F(RuleSetTest, ScoresSaturateInsteadOfWrapping) {
  // Two huge weights: the sum stays at the largest int64, so a reader of
  // the score still sees it high (wrapped, it would be negative).
  auto set = Load(absl::StrCat(
      Rule("READER", "score.s >= 100", "ACTION_REVIEW"),
      Rule("ADD-1", "tx.direction == 'OUT'", "ACTION_UNSPECIFIED",
           "  score { name: \"s\" weight: 5000000000000000000 }\n"),
      Rule("ADD-2", "tx.direction == 'OUT'", "ACTION_UNSPECIFIED",
           "  score { name: \"s\" weight: 5000000000000000000 }\n"),
      Rule("LOW", "tx.direction == 'OUT'", "ACTION_UNSPECIFIED",
           "  score { name: \"t\" weight: -5000000000000000000 }\n"),
      Rule("LOW-2", "tx.direction == 'OUT'", "ACTION_UNSPECIFIED",
           "  score { name: \"t\" weight: -5000000000000000000 }\n")));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  EXPECT_THAT(HitIds(d),
              ElementsAre("ADD-1", "ADD-2", "LOW", "LOW-2", "READER"));
  EXPECT_EQ(d.scores().at("s"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(d.scores().at("t"), std::numeric_limits<int64_t>::min());
}

TEST_F(RuleSetTest, ScoreOnlyHitsAllow) {
  auto set = Load(Rule("ADD", "tx.direction == 'OUT'", "ACTION_UNSPECIFIED",
                       "  score { name: \"fraud\" weight: 30 }\n"));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  EXPECT_EQ(d.verdict(), v1::VERDICT_ALLOW);
  EXPECT_EQ(d.hits_size(), 1);
  EXPECT_FALSE(d.has_prompt());
}

TEST_F(RuleSetTest, DisabledRulesAreNotEvaluated) {
  auto set =
      Load(absl::StrCat(Rule("OFF", "tx.direction == 'OUT'", "ACTION_BLOCK",
                             "  disabled: true\n"),
                        Rule("ON", "tx.direction == 'OUT'", "ACTION_REVIEW")));
  ASSERT_NE(set, nullptr);
  v1::Decision d = Decide(*set);
  EXPECT_THAT(HitIds(d), ElementsAre("ON"));
  EXPECT_EQ(d.verdict(), v1::VERDICT_REVIEW);
}

TEST_F(RuleSetTest, WindowsAndHistoryComeFromTheContext) {
  auto set = Load(absl::StrCat(
      "window { name: \"count_5m\" aggregate: AGGREGATE_COUNT group_by: "
      "ENTITY_CUSTOMER sliding: \"5m\" }\n",
      Rule("VELOCITY", "window.count_5m > 3", "ACTION_REVIEW", "",
           "{window.count_5m} in 5 minutes"),
      Rule("FIRST", "history.first_payment_to_counterparty", "ACTION_REVIEW")));
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(set->needs_history());
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  windows_[0] = 4;
  ctx_.windows = windows_;
  ctx_.history.first_payment_to_counterparty = true;
  v1::Decision d;
  set->Evaluate(&ctx_, &d);
  EXPECT_THAT(HitIds(d), ElementsAre("VELOCITY", "FIRST"));
  EXPECT_EQ(d.hits(0).reason(), "4 in 5 minutes");
}

// Counts how often each window value is asked for.
class CountingWindowValues : public WindowValues {
 public:
  int64_t Value(int index) const override {
    ++reads[index];
    return values[index];
  }
  int64_t values[2] = {0, 0};
  mutable int reads[2] = {0, 0};
};

TEST_F(RuleSetTest, SharedConditionsAreEvaluatedOncePerTransaction) {
  auto set = Load(absl::StrCat(
      "window { name: \"count_5m\" aggregate: AGGREGATE_COUNT group_by: "
      "ENTITY_CUSTOMER sliding: \"5m\" }\n"
      "window { name: \"count_1h\" aggregate: AGGREGATE_COUNT group_by: "
      "ENTITY_CUSTOMER sliding: \"1h\" }\n",
      Rule("OUT-BURST", "window.count_5m > 3 and tx.direction == 'OUT'",
           "ACTION_REVIEW"),
      Rule("IN-BURST", "(window.count_5m > 3) and tx.direction == 'IN'",
           "ACTION_REVIEW"),
      Rule("SAME", "window.count_5m>3 and tx.direction=='OUT'", "ACTION_REPORT",
           "  report: \"BURST\"\n"),
      Rule("HOUR", "window.count_1h > 3", "ACTION_REVIEW")));
  ASSERT_NE(set, nullptr);
  CountingWindowValues windows;
  windows.values[0] = 4;
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  ctx_.window_values = &windows;
  v1::Decision d;
  set->Evaluate(&ctx_, &d);
  EXPECT_THAT(HitIds(d), ElementsAre("OUT-BURST", "SAME"));
  EXPECT_EQ(windows.reads[0], 1);  // three rules, one read
  EXPECT_EQ(windows.reads[1], 1);

  // The next transaction starts afresh.
  windows.values[0] = 0;
  ASSERT_TRUE(set->PrepareTransactionFacts(tx_, &ctx_).ok());
  d.Clear();
  set->Evaluate(&ctx_, &d);
  EXPECT_THAT(HitIds(d), IsEmpty());
  EXPECT_EQ(windows.reads[0], 2);
}

TEST(VerdictForActionTest, MapsEveryAction) {
  EXPECT_EQ(VerdictForAction(v1::ACTION_UNSPECIFIED), v1::VERDICT_ALLOW);
  EXPECT_EQ(VerdictForAction(v1::ACTION_REPORT), v1::VERDICT_ALLOW);
  EXPECT_EQ(VerdictForAction(v1::ACTION_REVIEW), v1::VERDICT_REVIEW);
  EXPECT_EQ(VerdictForAction(v1::ACTION_WARN), v1::VERDICT_WARN);
  EXPECT_EQ(VerdictForAction(v1::ACTION_DELAY), v1::VERDICT_DELAY);
  EXPECT_EQ(VerdictForAction(v1::ACTION_INTERCEPT), v1::VERDICT_INTERCEPT);
  EXPECT_EQ(VerdictForAction(v1::ACTION_BLOCK), v1::VERDICT_BLOCK);
}

TEST(VerdictForActionTest, VerdictsAreOrderedByStrength) {
  EXPECT_LT(v1::VERDICT_ALLOW, v1::VERDICT_REVIEW);
  EXPECT_LT(v1::VERDICT_REVIEW, v1::VERDICT_WARN);
  EXPECT_LT(v1::VERDICT_WARN, v1::VERDICT_DELAY);
  EXPECT_LT(v1::VERDICT_DELAY, v1::VERDICT_INTERCEPT);
  EXPECT_LT(v1::VERDICT_INTERCEPT, v1::VERDICT_BLOCK);
}

TEST(CustomerAgeAtTest, WholeYearsToTheDateInTheZone) {
  absl::TimeZone shanghai;
  ASSERT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  auto at = [&](const char* local) {
    absl::Time t;
    std::string error;
    EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, local, &t, &error))
        << error;
    return absl::ToUnixMicros(t);
  };
  struct Case {
    const char* birth;
    const char* at;
    std::optional<int64_t> age;
  };
  const Case kCases[] = {
      // The birthday begins at local midnight, not at UTC midnight.
      {"1966-12-06", "2026-12-05T23:59:59+08:00", 59},
      {"1966-12-06", "2026-12-06T00:00:00+08:00", 60},
      // Born on 29 February: a year older from 1 March in common years.
      {"2000-02-29", "2026-02-28T12:00:00+08:00", 25},
      {"2000-02-29", "2026-03-01T12:00:00+08:00", 26},
      // Born today: 0. Not born yet: no age.
      {"2026-12-06", "2026-12-06T08:00:00+08:00", 0},
      {"2026-12-07", "2026-12-06T08:00:00+08:00", std::nullopt},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(CustomerAgeAt(c.birth, at(c.at), shanghai), c.age)
        << c.birth << " at " << c.at;
  }
  EXPECT_EQ(CustomerAgeAt("1966-12-06", at("2026-12-06T00:00:00+08:00"),
                          absl::UTCTimeZone()),
            59);
  for (const char* bad : {"", "1966-12-6", "1966/12/06", "19661206xx",
                          "1966-1a-06", "abcd-12-06"}) {
    EXPECT_EQ(CustomerAgeAt(bad, at("2026-12-06T08:00:00+08:00"), shanghai),
              std::nullopt)
        << bad;
  }
}

TEST(ParseIsoDateDigitsTest, EveryByteAtEveryPosition) {
  int y = 0, m = 0, d = 0;
  ASSERT_TRUE(ParseIsoDateDigits("1990-05-17", &y, &m, &d));
  EXPECT_EQ(y, 1990);
  EXPECT_EQ(m, 5);
  EXPECT_EQ(d, 17);
  ASSERT_TRUE(ParseIsoDateDigits("0000-99-99", &y, &m, &d));  // shape only
  EXPECT_EQ(y * 10000 + m * 100 + d, 9999);
  for (int at = 0; at < 10; ++at) {
    for (int b = 0; b < 256; ++b) {
      std::string text = "1990-05-17";
      text[at] = static_cast<char>(b);
      const bool hyphen_place = at == 4 || at == 7;
      const bool ok = hyphen_place ? b == '-' : (b >= '0' && b <= '9');
      EXPECT_EQ(ParseIsoDateDigits(text, &y, &m, &d), ok)
          << "at " << at << " byte " << b;
    }
  }
  EXPECT_FALSE(ParseIsoDateDigits("1990-05-1", &y, &m, &d));
  EXPECT_FALSE(ParseIsoDateDigits("1990-05-170", &y, &m, &d));
}

}  // namespace
}  // namespace txscreen::rules
