#include "compliance/backtest.h"

#include <fstream>
#include <sstream>
#include <string>

#include "compliance/input.h"
#include "compliance/rules_diff.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::compliance {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

const std::string kData =
    std::string(TXSCREEN_SOURCE_DIR) + "/compliance/testdata/";

InputOptions Labelled() {
  InputOptions in;
  in.path = kData + "labelled.csv";
  in.mapping_path = kData + "labelled.textproto";
  in.label_column = "fraud";
  in.group_column = "kind";
  return in;
}

// labelled.csv under old_pack, worked out by hand:
//   T1 20,000 fraud  BIG -> REVIEW  TP      T5 100 cash  CASH (report) TN
//   T2 15,000 clean  BIG -> REVIEW  FP      T6 30,000 fraud  BIG       TP
//   T3 100    fraud  ALLOW          FN      T7 7,000 clean  ALLOW      TN
//   T4 100    clean  ALLOW          TN      T1 again: duplicate
//   T8 -5.00: REJECTED_INPUT (not flagged, TN); T9 'abc': a bad row.
TEST(BacktestTest, MetricsOnASmallLabelledFileHaveKnownAnswers) {
  BacktestOptions options;
  options.rules = {kData + "old_pack"};
  options.input = Labelled();
  BacktestResult r;
  std::ostringstream out, err;
  EXPECT_EQ(RunBacktest(options, &out, &err, &r),
            kExitUnreadableRows);  // one bad row
  EXPECT_THAT(err.str(),
              HasSubstr("labelled.csv:11: column 'amount' -> "
                        "amount_minor: amount 'abc' is not a decimal"));
  EXPECT_EQ(r.rows, 10);
  EXPECT_EQ(r.bad, 1);
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.ruleset_version, "bt-old");
  const Tally& t = r.tally;
  EXPECT_EQ(t.transactions, 8);
  EXPECT_EQ(t.labelled, 8);
  EXPECT_EQ(t.positives, 3);
  EXPECT_THAT(t.verdicts,
              ElementsAre(Pair("ALLOW", 4), Pair("REJECTED_INPUT", 1),
                          Pair("REVIEW", 3)));
  EXPECT_EQ(t.overall.true_positives, 2);
  EXPECT_EQ(t.overall.false_positives, 1);
  EXPECT_EQ(t.overall.false_negatives, 1);
  EXPECT_EQ(t.overall.true_negatives, 4);
  EXPECT_DOUBLE_EQ(t.overall.precision(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(t.overall.recall(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(t.overall.f1(), 2.0 / 3);
  ASSERT_EQ(t.rules.count("BIG"), 1u);
  EXPECT_EQ(t.rules.at("BIG").hits, 3);
  EXPECT_EQ(t.rules.at("BIG").confusion.true_positives, 2);
  EXPECT_EQ(t.rules.at("BIG").confusion.false_positives, 1);
  EXPECT_THAT(t.rules.at("BIG").amount_minor_by_currency,
              ElementsAre(Pair("CNY", 6500000)));
  EXPECT_EQ(t.rules.at("CASH").hits, 1);
  EXPECT_EQ(t.rules.at("CASH").confusion.false_positives, 1);
  ASSERT_EQ(t.groups.count("big"), 1u);
  EXPECT_EQ(t.groups.at("big").transactions, 3);
  EXPECT_EQ(t.groups.at("big").positives, 2);
  EXPECT_EQ(t.groups.at("big").flagged_positives, 2);
  EXPECT_DOUBLE_EQ(t.groups.at("big").recall(), 1.0);
  EXPECT_EQ(t.groups.at("small").positives, 1);
  EXPECT_DOUBLE_EQ(t.groups.at("small").recall(), 0.0);
  EXPECT_EQ(t.groups.at("(none)").transactions, 4);

  const std::string json = BacktestReportJson(options, r);
  EXPECT_THAT(
      json, HasSubstr("\"overall\":{\"true_positives\":2,\"false_positives\":1,"
                      "\"false_negatives\":1,\"true_negatives\":4,"
                      "\"precision\":0.6667,\"recall\":0.6667,\"f1\":0.6667}"));
  // Per rule, FN and TN are against every labelled transaction.
  EXPECT_THAT(
      json, HasSubstr("{\"rule_id\":\"CASH\",\"hits\":1,"
                      "\"amount_minor_by_currency\":{\"CNY\":10000},"
                      "\"metrics\":{\"true_positives\":0,\"false_positives\":1,"
                      "\"false_negatives\":3,\"true_negatives\":4,"));
  EXPECT_THAT(out.str(),
              HasSubstr("overall (flagged = REVIEW or stronger): 8 "
                        "labelled, 3 positive; TP 2, FP 1, FN 1, TN 4"));
}

TEST(BacktestTest, WritesDecisionsReportAndBadRows) {
  BacktestOptions options;
  options.rules = {kData + "old_pack"};
  options.input = Labelled();
  options.output_dir = testing::TempDir() + "/backtest_out/nested";
  std::ostringstream out, err;
  ASSERT_EQ(RunBacktest(options, &out, &err), kExitUnreadableRows);
  auto read = [&](const std::string& name) {
    std::ifstream f(options.output_dir + "/" + name);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  const std::string decisions = read("decisions.jsonl");
  EXPECT_EQ(std::count(decisions.begin(), decisions.end(), '\n'),
            9);  // 8 + dup
  EXPECT_THAT(decisions, HasSubstr("\"transaction_id\":\"T6\""));
  EXPECT_THAT(read("bad_rows.txt"), HasSubstr("labelled.csv:11: "));
  EXPECT_THAT(
      read("report.json"),
      HasSubstr("\"bad_rows\":1,\"truncated_at_line\":0,\"duplicates\":1"));
  EXPECT_EQ(read("summary.txt"), out.str());
}

// A backtest of the old pack over labelled CSV rows whose second data row
// is `row2` (in file `name`); the options used, for the report.
struct CsvBacktest {
  BacktestOptions options;
  BacktestResult result;
  int exit_code = 0;
  std::string out, err;
};
CsvBacktest BacktestWithRow2(const std::string& name, const std::string& row2) {
  CsvBacktest b;
  const std::string path = testing::TempDir() + "/" + name;
  {
    std::ofstream f(path);
    f << "id,time,customer,amount,cash,fraud,kind\n"
         "T1,2026-11-20 09:30:00,C1,20000.00,no,1,big\n"
      << row2 << "\nT3,2026-11-20 09:32:00,C3,100.00,no,1,small\n";
  }
  b.options.rules = {kData + "old_pack"};
  b.options.input = Labelled();
  b.options.input.path = path;
  std::ostringstream out, err;
  b.exit_code = RunBacktest(b.options, &out, &err, &b.result);
  b.out = out.str();
  b.err = err.str();
  return b;
}

TEST(BacktestTest, AMalformedRowEndingTheInputIsReported) {
  CsvBacktest b = BacktestWithRow2(
      "truncated.csv", "T2,2026-11-20 09:31:00,C2,\"15000.00,no,0,big");
  EXPECT_EQ(b.exit_code, kExitUnreadableRows);
  EXPECT_EQ(b.result.tally.transactions, 1);
  EXPECT_EQ(b.result.truncated_at_line, 3);
  EXPECT_THAT(b.err, HasSubstr("truncated.csv:3: column 27: "));
  EXPECT_THAT(b.err, HasSubstr("; the rest of the file is not read"));
  EXPECT_THAT(b.out, HasSubstr("INPUT NOT READ TO THE END: a malformed row at "
                               "line 3 ended the reading"));
  EXPECT_THAT(BacktestReportJson(b.options, b.result),
              HasSubstr("\"truncated_at_line\":3"));
}

TEST(BacktestTest, AStrayQuoteInAnUnquotedFieldIsOneBadRow) {
  // '12" pipe': the row ends at its line end all the same, so only it is
  // bad and the rows after it are read.
  CsvBacktest b = BacktestWithRow2(
      "stray-quote.csv", "T2,2026-11-20 09:31:00,C2,15000.00,no,0,12\" pipe");
  EXPECT_EQ(b.exit_code, kExitUnreadableRows);
  EXPECT_EQ(b.result.tally.transactions, 2);
  EXPECT_EQ(b.result.truncated_at_line, 0);
  EXPECT_THAT(b.err, HasSubstr("stray-quote.csv:3: column 43: quote inside an "
                               "unquoted field"));
  EXPECT_THAT(b.out, Not(HasSubstr("INPUT NOT READ TO THE END")));
}

TEST(BacktestTest, JsonlNeedsALabelsFileForLabels) {
  BacktestOptions options;
  options.rules = {kData + "old_pack"};
  options.input.path = kData + "labelled.csv";
  options.input.label_column = "fraud";
  std::ostringstream out, err;
  EXPECT_EQ(RunBacktest(options, &out, &err), 1);
  EXPECT_THAT(err.str(), HasSubstr("need --labels FILE"));
}

TEST(BacktestTest, UnknownLabelColumnIsNamed) {
  BacktestOptions options;
  options.rules = {kData + "old_pack"};
  options.input = Labelled();
  options.input.label_column = "frad";
  std::ostringstream out, err;
  EXPECT_EQ(RunBacktest(options, &out, &err), 1);
  EXPECT_THAT(err.str(),
              HasSubstr("--label: no column 'frad' in the header (did "
                        "you mean 'fraud'?)"));
}

// The crafted pair: BIG's threshold goes from 10,000 to 5,000, HUGE
// (>= 25,000, BLOCK) is new and CASH is gone.
TEST(RulesDiffTest, CraftedPairOfRuleSets) {
  RulesDiffOptions options;
  options.old_rules = {kData + "old_pack"};
  options.new_rules = {kData + "new_pack"};
  options.input = Labelled();
  options.input.label_column.clear();
  options.input.group_column.clear();
  RulesDiffResult r;
  std::ostringstream out, err;
  EXPECT_EQ(RunRulesDiff(options, &out, &err, &r),
            kExitUnreadableRows);  // the bad row
  EXPECT_EQ(r.transactions, 8);
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.verdict_changed, 2);
  EXPECT_THAT(r.changes, ElementsAre(Pair(Pair("ALLOW", "REVIEW"), 1),
                                     Pair(Pair("REVIEW", "BLOCK"), 1)));
  ASSERT_EQ(
      r.examples[std::make_pair(std::string("ALLOW"), std::string("REVIEW"))]
          .size(),
      1u);
  const RulesDiffResult::Example& e = r.examples[std::make_pair(
      std::string("ALLOW"), std::string("REVIEW"))][0];
  EXPECT_EQ(e.transaction_id, "T7");
  EXPECT_EQ(e.line, 8);
  EXPECT_EQ(e.amount, "7,000.00 CNY");
  EXPECT_THAT(e.new_hits, ElementsAre("BIG"));
  EXPECT_EQ(r.rules["BIG"].old_hits, 3);
  EXPECT_EQ(r.rules["BIG"].new_hits, 4);
  EXPECT_EQ(r.rules["BIG"].added, 1);
  EXPECT_EQ(r.rules["BIG"].removed, 0);
  EXPECT_EQ(r.rules["CASH"].removed, 1);
  EXPECT_EQ(r.rules["HUGE"].added, 1);
  EXPECT_THAT(RulesDiffJson(r),
              HasSubstr("{\"old\":\"REVIEW\",\"new\":\"BLOCK\",\"count\":1,"
                        "\"examples\":[{\"line\":7,\"transaction_id\":\"T6\""));
  EXPECT_THAT(out.str(), HasSubstr("ALLOW      -> REVIEW             1"));
}

TEST(RulesDiffTest, SameRulesChangeNothing) {
  RulesDiffOptions options;
  options.old_rules = {kData + "old_pack"};
  options.new_rules = {kData + "old_pack"};
  options.input = Labelled();
  RulesDiffResult r;
  std::ostringstream out, err;
  RunRulesDiff(options, &out, &err, &r);
  EXPECT_EQ(r.verdict_changed, 0);
  for (const auto& [id, c] : r.rules) {
    EXPECT_EQ(c.added, 0) << id;
    EXPECT_EQ(c.removed, 0) << id;
  }
}

}  // namespace
}  // namespace txscreen::compliance
