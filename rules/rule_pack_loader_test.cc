#include "rules/rule_pack_loader.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rules/rule_set.h"

namespace txscreen::rules {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::txscreen::v1;

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr int64_t kSecond = 1000000;

constexpr char kPack[] =
    "pack { name: \"t\" version: \"t-1\" }\n"
    "fx_rate { currency: \"USD\" rate: \"7.1\" }\n";

// A complete rule of 11 lines (the `rule {` line is line 1):
//   2 id, 3 version, 4 title, 5 why, 6 severity, 7 owner, 8 when,
//   9 action, 10 reason, then `extra` lines, then the closing brace.
// The value of `when` starts at column 10.
std::string Rule(absl::string_view id, absl::string_view when = "tx.cash",
                 absl::string_view action = "ACTION_REVIEW",
                 absl::string_view extra = "") {
  return absl::StrCat("rule {\n",                          //
                      "  id: \"", id, "\"\n",              //
                      "  version: 1\n",                    //
                      "  title: \"Title of ", id, "\"\n",  //
                      "  why: \"because\"\n",              //
                      "  severity: SEVERITY_HIGH\n",       //
                      "  owner: \"team\"\n",               //
                      "  when: \"", when, "\"\n",          //
                      "  action: ", action, "\n",          //
                      "  reason: \"reason of ", id, "\"\n", extra, "}\n");
}

constexpr char kPrompt[] =
    "  prompt {\n"
    "    why { zh: \"原因\" en: \"why\" }\n"
    "    ask { zh: \"问题\" en: \"question\" }\n"
    "  }\n";

class RulePackLoaderTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* test =
        testing::UnitTest::GetInstance()->current_test_info();
    dir_ = absl::StrCat(testing::TempDir(), "rule_pack_loader_test/",
                        test->test_suite_name(), ".", test->name());
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::create_directories(dir_);
  }

  // Writes `contents` to `name` inside the pack directory.
  std::string Write(absl::string_view name, absl::string_view contents) {
    std::string path = P(name);
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  // The path of `name` in the pack directory, as errors spell it.
  std::string P(absl::string_view name) const {
    return absl::StrCat(dir_, "/", name);
  }

  LoadResult Load(const LoadOptions& options = {}) {
    return LoadRulePack({dir_}, options);
  }

  // The errors of a load that must fail.
  std::vector<std::string> Errors(const LoadOptions& options = {}) {
    LoadResult result = Load(options);
    EXPECT_FALSE(result.errors.empty()) << "the pack loaded";
    EXPECT_EQ(result.rule_set, nullptr) << "an invalid pack was applied";
    return result.errors;
  }

  std::shared_ptr<const RuleSet> MustLoad(const LoadOptions& options = {}) {
    LoadResult result = Load(options);
    EXPECT_THAT(result.errors, IsEmpty());
    EXPECT_NE(result.rule_set, nullptr);
    return result.rule_set;
  }

  // Writes the standard pack file and `rules` as rules.textproto.
  void WritePack(absl::string_view rules) {
    Write("pack.textproto", kPack);
    Write("rules.textproto", rules);
  }

  std::string dir_;
};

// --- Files and pack settings
// -----------------------------------------------------------

TEST_F(RulePackLoaderTest, LoadsAValidPack) {
  WritePack(Rule("R-1", "tx.amount >= 50000 CNY"));
  LoadResult result = Load();
  ASSERT_THAT(result.errors, IsEmpty());
  ASSERT_NE(result.rule_set, nullptr);
  EXPECT_THAT(result.files,
              ElementsAre(P("pack.textproto"), P("rules.textproto")));
  const RuleSet& set = *result.rule_set;
  EXPECT_EQ(set.name(), "t");
  EXPECT_EQ(set.version(), "t-1");
  EXPECT_EQ(set.time_zone().name(), "Asia/Shanghai");  // the default
  EXPECT_EQ(set.fx().base_currency(), "CNY");
  EXPECT_EQ(set.render_options().base_currency, "CNY");
  EXPECT_EQ(set.render_options().base_minor_digits, 2);
  ASSERT_THAT(set.rules(), SizeIs(1));
  const CompiledRule& rule = set.rules()[0];
  EXPECT_EQ(rule.id, "R-1");
  EXPECT_EQ(rule.version, 1);
  EXPECT_EQ(rule.title, "Title of R-1");
  EXPECT_EQ(rule.severity, v1::SEVERITY_HIGH);
  for (v1::Action a : rule.action) EXPECT_EQ(a, v1::ACTION_REVIEW);
  EXPECT_FALSE(set.needs_history());
}

TEST_F(RulePackLoaderTest, NoPathsGiven) {
  LoadResult result = LoadRulePack({});
  EXPECT_THAT(result.errors, ElementsAre("no rule files given"));
  EXPECT_EQ(result.rule_set, nullptr);
}

TEST_F(RulePackLoaderTest, MissingPathAndEmptyDirectory) {
  EXPECT_THAT(
      LoadRulePack({P("nope")}).errors,
      ElementsAre(absl::StrCat(P("nope"), ": no such file or directory")));
  EXPECT_THAT(LoadRulePack({dir_}).errors,
              ElementsAre(absl::StrCat(
                  dir_, ": no *.textproto rule files in this directory")));
}

TEST_F(RulePackLoaderTest, OnlyTextprotoFilesDirectlyInsideAreRead) {
  WritePack(Rule("R-1"));
  Write("notes.txt", "this is not a rule file {");
  Write("tests/case.textproto", "this is not a RuleFile either {");
  EXPECT_THAT(Load().files,
              ElementsAre(P("pack.textproto"), P("rules.textproto")));
}

TEST_F(RulePackLoaderTest, FilesMayBeGivenOneByOne) {
  Write("pack.textproto", kPack);
  Write("more/rules.textproto", Rule("R-1"));
  LoadResult result =
      LoadRulePack({P("pack.textproto"), P("more/rules.textproto")});
  EXPECT_THAT(result.errors, IsEmpty());
  EXPECT_NE(result.rule_set, nullptr);
}

TEST_F(RulePackLoaderTest, MissingPackSettings) {
  Write("rules.textproto", Rule("R-1"));
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("rules.textproto"),
                            ": pack: no file of the pack has 'pack { name: "
                            "... version: ... }'")));
}

TEST_F(RulePackLoaderTest, TwoPackSettings) {
  Write("a.textproto", kPack);
  Write("b.textproto", "# second\npack { name: \"u\" version: \"u-1\" }\n");
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("b.textproto"),
                            ":2:1: pack: settings given twice (also in ",
                            P("a.textproto"), ")")));
}

TEST_F(RulePackLoaderTest, PackVersionIsRequired) {
  Write("pack.textproto", "pack {\n  name: \"t\"\n}\n");
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("pack.textproto"),
                            ":1:1: pack: version is required (it becomes every "
                            "decision's ruleset_version)")));
}

TEST_F(RulePackLoaderTest, UnknownTimeZone) {
  Write("pack.textproto",
        "pack {\n"
        "  name: \"t\"\n"
        "  version: \"t-1\"\n"
        "  time_zone: \"Mars/Olympus\"\n"
        "}\n");
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(
                  P("pack.textproto"),
                  ":4:15: pack: unknown time zone 'Mars/Olympus' (an IANA "
                  "name such as Asia/Shanghai)")));
}

TEST_F(RulePackLoaderTest, UnknownBaseCurrency) {
  Write("pack.textproto",
        "pack {\n"
        "  name: \"t\"\n"
        "  version: \"t-1\"\n"
        "  base_currency: \"XYZ\"\n"
        "}\n");
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(
                  P("pack.textproto"),
                  ":4:19: pack: base_currency: unknown currency 'XYZ' (not an "
                  "ISO 4217 code)")));
}

TEST_F(RulePackLoaderTest, OtherTimeZoneAndCurrency) {
  Write("pack.textproto",
        "pack { name: \"t\" version: \"t-1\" time_zone: \"Europe/Berlin\" "
        "base_currency: \"EUR\" }\n");
  Write("rules.textproto", Rule("R-1", "tx.amount > 100 EUR"));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->time_zone().name(), "Europe/Berlin");
  EXPECT_EQ(set->render_options().base_currency, "EUR");
}

TEST_F(RulePackLoaderTest, UnknownProtoFieldSuggestsTheField) {
  WritePack(
      "rule {\n"
      "  id: \"R-1\"\n"
      "  whenn: \"tx.cash\"\n"
      "}\n");
  // protobuf notices the unknown name at the ':' after it.
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("rules.textproto"),
                            ":3:3: unknown field 'whenn' in Rule (did you mean "
                            "'when'?)")));
}

TEST_F(RulePackLoaderTest, UnknownEnumValueSuggestsTheValueAtItsPosition) {
  // protobuf notices the value at the next token: for a value at the end
  // of its line, on the next line.
  Write("pack.textproto", kPack);
  Write("a.textproto",
        "rule {\n"
        "  id: \"R-1\"\n"
        "  action: ACTION_REVEIW\n"
        "  reason: \"x\"\n"
        "}\n");
  Write("b.textproto",
        "rule {\n"
        "  channel_action { channel: [CHANNEL_MOBIL] action: ACTION_DELAY }\n"
        "}\n");
  EXPECT_THAT(
      Errors(),
      ElementsAre(absl::StrCat(P("a.textproto"),
                               ":3:11: unknown value 'ACTION_REVEIW' for field "
                               "'action' (did you mean 'ACTION_REVIEW'?)"),
                  absl::StrCat(P("b.textproto"),
                               ":2:30: unknown value 'CHANNEL_MOBIL' for field "
                               "'channel' (did you mean 'CHANNEL_MOBILE'?)")));
}

TEST_F(RulePackLoaderTest, ErrorsInListsAndSplitLiteralsHavePositions) {
  WritePack(absl::StrCat(
      Rule("R-1", "tx.cash", "ACTION_REPORT",
           "  report: [\"LARGE_VALUE_CASH\", \"large_value_transfer\"]\n"),
      "rule {\n"
      "  id: \"R-2\" version: 1 title: \"t\" why: \"w\"\n"
      "  severity: SEVERITY_LOW owner: \"o\" action: ACTION_REVIEW\n"
      "  reason: \"r\"\n"
      "  when: \"tx.cash and \"   # cash only\n"
      "        \"tx.amonut >= 5 CNY\"\n"
      "}\n"));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(absl::StrCat(file,
                               ":11:33: rule R-1: report kind "
                               "'large_value_transfer' must be upper-case "
                               "letters, digits and _ (e.g. LARGE_VALUE_CASH)"),
                  absl::StrCat(file,
                               ":18:10: rule R-2: when: unknown field "
                               "'tx.amonut' (did you mean 'tx.amount'?)")));
}

TEST_F(RulePackLoaderTest, TextFormatSyntaxErrorsHavePositions) {
  WritePack("rule {\n  id: \"R-1\n}\n");
  std::vector<std::string> errors = Errors();
  ASSERT_THAT(errors, Not(IsEmpty()));
  EXPECT_THAT(errors[0], StartsWith(absl::StrCat(P("rules.textproto"), ":2:")));
}

TEST_F(RulePackLoaderTest, ErrorsOfEveryFileAreReported) {
  Write("pack.textproto", kPack);
  Write("a.textproto", "rule { bogus: 1 }\n");
  Write("b.textproto", "window { nmae: \"w\" }\n");
  std::vector<std::string> errors = Errors();
  EXPECT_THAT(
      errors,
      ElementsAre(
          absl::StrCat(P("a.textproto"), ":1:8: unknown field 'bogus' in Rule"),
          absl::StrCat(P("b.textproto"),
                       ":1:10: unknown field 'nmae' in "
                       "WindowFeature (did you mean 'name'?)")));
}

// --- Rules
// ------------------------------------------------------------------------------

TEST_F(RulePackLoaderTest, MissingRequiredRuleFields) {
  WritePack("rule {\n  id: \"R-1\"\n}\n");
  const std::string at = absl::StrCat(P("rules.textproto"), ":2:3: rule R-1: ");
  EXPECT_THAT(
      Errors(),
      ElementsAre(absl::StrCat(at, "version must be >= 1, got 0"),
                  absl::StrCat(at, "title is required"),
                  absl::StrCat(at, "why is required"),
                  absl::StrCat(at, "owner is required"),
                  absl::StrCat(at, "severity is required"),
                  absl::StrCat(at, "when is required"),
                  absl::StrCat(at, "reason is required"),
                  absl::StrCat(at,
                               "action is required (ACTION_REPORT, "
                               "ACTION_REVIEW, ACTION_WARN, ACTION_DELAY, "
                               "ACTION_INTERCEPT or ACTION_BLOCK) unless the "
                               "rule only adds to a score")));
}

TEST_F(RulePackLoaderTest, BadRuleId) {
  WritePack(Rule("cn-aml-1"));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(P("rules.textproto"),
                                       ":2:3: rule cn-aml-1: id must be "
                                       "upper-case letters, digits, '-' or "
                                       "'_'")));
}

TEST_F(RulePackLoaderTest, MissingRuleIdPointsAtTheRule) {
  // Bug: the "required" errors are placed at the `id` field, so a rule
  // without an id gets an error with no line or column at all
  // ("FILE: rule: id is required").
  WritePack(absl::StrReplaceAll(Rule("X"), {{"  id: \"X\"\n", ""}}));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(P("rules.textproto"),
                                       ":1:1: rule: id is required")));
}

TEST_F(RulePackLoaderTest, DuplicateRuleIdMentionsTheFirst) {
  WritePack(absl::StrCat(Rule("R-1"), Rule("R-1", "tx.cross_border")));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(P("rules.textproto"),
                                       ":12:1: rule R-1: id used twice (first "
                                       "at ",
                                       P("rules.textproto"), ":1:1)")));
}

TEST_F(RulePackLoaderTest, DuplicateRuleIdAcrossFiles) {
  Write("pack.textproto", absl::StrCat(kPack, Rule("R-1")));
  Write("rules.textproto", absl::StrCat("\n", Rule("R-1")));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(P("rules.textproto"),
                                       ":2:1: rule R-1: id used twice (first "
                                       "at ",
                                       P("pack.textproto"), ":3:1)")));
}

TEST_F(RulePackLoaderTest, ExpressionErrorsPointAtTheColumn) {
  WritePack(Rule("R-1", "tx.amount >= 50000"));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(
                  P("rules.textproto"),
                  ":8:20: rule R-1: when: cannot compare money with int: "
                  "write the amount with a currency, e.g. 50000 CNY")));
}

TEST_F(RulePackLoaderTest, UnknownFieldErrorMatchesTheSpec) {
  WritePack(Rule("CN-AML-01", "tx.cash and tx.amonut >= 50000 CNY"));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(
                  P("rules.textproto"),
                  ":8:22: rule CN-AML-01: when: unknown field 'tx.amonut' "
                  "(did you mean 'tx.amount'?)")));
}

TEST_F(RulePackLoaderTest, ExpressionErrorColumnCountsChineseAsOneCharacter) {
  // The value starts at column 10; "tx.memo == '安全' and " is 20
  // characters (24 bytes).
  WritePack(Rule("R-1", "tx.memo == '安全' and tx.amonut > 1 CNY"));
  EXPECT_THAT(Errors(), ElementsAre(StartsWith(
                            absl::StrCat(P("rules.textproto"),
                                         ":8:30: rule R-1: when: unknown field "
                                         "'tx.amonut'"))));
}

TEST_F(RulePackLoaderTest, ExpressionErrorInAContinuationLine) {
  WritePack(absl::StrReplaceAll(
      Rule("R-1", "@"),
      {{"\"@\"", "\"tx.cash and\"\n        \" tx.amount > 5\""}}));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(
                  P("rules.textproto"),
                  ":9:21: rule R-1: when: cannot compare money with int: "
                  "write the amount with a currency, e.g. 50000 CNY")));
}

TEST_F(RulePackLoaderTest, ParseErrorsInExpressionsHavePositions) {
  WritePack(Rule("R-1", "tx.amount = 5 CNY"));
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("rules.textproto"),
                            ":8:20: rule R-1: when: unexpected '='; use '==' "
                            "to compare")));
}

TEST_F(RulePackLoaderTest, WhenMustBeBool) {
  WritePack(Rule("R-1", "tx.amount"));
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("rules.textproto"),
                            ":8:10: rule R-1: when must be true/false, got "
                            "money")));
}

TEST_F(RulePackLoaderTest, ReasonTemplateErrors) {
  WritePack(absl::StrReplaceAll(
      Rule("R-1"),
      {{"reason: \"reason of R-1\"", "reason: \"amount {tx.amonut}\""}}));
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("rules.textproto"),
                            ":10:20: rule R-1: reason: unknown field "
                            "'tx.amonut' (did you mean 'tx.amount'?)")));
}

TEST_F(RulePackLoaderTest, EveryBadRuleIsReported) {
  WritePack(absl::StrCat(Rule("R-1", "tx.amount > 5"), Rule("R-2", "tx.nope"),
                         Rule("R-3")));
  std::vector<std::string> errors = Errors();
  EXPECT_THAT(errors,
              ElementsAre(StartsWith(absl::StrCat(P("rules.textproto"),
                                                  ":8:20: rule R-1: when: ")),
                          StartsWith(absl::StrCat(P("rules.textproto"),
                                                  ":19:10: rule R-2: when: "
                                                  "unknown field 'tx.nope'"))));
}

TEST_F(RulePackLoaderTest, InterceptRuleNeedsAPrompt) {
  WritePack(Rule("R-1", "tx.cash", "ACTION_INTERCEPT"));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(
                  P("rules.textproto"),
                  ":2:3: rule R-1: an INTERCEPT, WARN or DELAY rule needs a "
                  "prompt with at least 'why' and 'ask' lines")));
}

TEST_F(RulePackLoaderTest, ChannelDelayOrEscalationToWarnNeedsAPrompt) {
  // And a prompt needs both why and ask lines (R-4, R-5).
  WritePack(absl::StrCat(
      Rule("R-1", "tx.cash", "ACTION_REVIEW",
           "  channel_action { channel: [CHANNEL_MOBILE] action: ACTION_DELAY "
           "}\n"),
      Rule("R-2", "tx.cash", "ACTION_REVIEW",
           "  escalate { when: \"tx.cross_border\" action: ACTION_WARN }\n"),
      Rule("R-3", "tx.cash", "ACTION_WARN",
           "  prompt { look_for { zh: \"看\" en: \"look\" } }\n"),
      Rule("R-4", "tx.cash", "ACTION_INTERCEPT",
           "  prompt { why { zh: \"原因\" en: \"why\" } }\n"),
      Rule("R-5", "tx.cash", "ACTION_WARN",
           "  prompt { ask { zh: \"问\" en: \"ask\" } }\n")));
  const std::string problem =
      "an INTERCEPT, WARN or DELAY rule needs a prompt with at least 'why' "
      "and 'ask' lines";
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(P("rules.textproto"), ":2:3: rule R-1: ", problem),
          absl::StrCat(P("rules.textproto"), ":14:3: rule R-2: ", problem),
          absl::StrCat(P("rules.textproto"), ":26:3: rule R-3: ", problem),
          absl::StrCat(P("rules.textproto"), ":38:3: rule R-4: ", problem),
          absl::StrCat(P("rules.textproto"), ":50:3: rule R-5: ", problem)));
}

TEST_F(RulePackLoaderTest, ReportRuleNeedsAReportKind) {
  // Without a kind the hit would say REPORT and no report would be filed.
  WritePack(absl::StrCat(
      Rule("R-1", "tx.cash", "ACTION_REPORT"),
      Rule("R-2", "tx.cash", "ACTION_REVIEW",
           "  channel_action { channel: [CHANNEL_ATM] action: ACTION_REPORT "
           "}\n"),
      Rule("R-3", "tx.cash", "ACTION_REVIEW",
           "  escalate { when: \"tx.cross_border\" action: ACTION_REPORT "
           "}\n"),
      Rule("R-4", "tx.cash", "ACTION_REPORT",
           "  report: \"LARGE_VALUE_CASH\"\n")));
  const std::string problem =
      "an ACTION_REPORT rule needs the report kind it files, e.g. report: "
      "\"LARGE_VALUE_CASH\"";
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(P("rules.textproto"), ":2:3: rule R-1: ", problem),
          absl::StrCat(P("rules.textproto"), ":13:3: rule R-2: ", problem),
          absl::StrCat(P("rules.textproto"), ":25:3: rule R-3: ", problem)));
}

TEST_F(RulePackLoaderTest, PromptThatReadsAScoreCannotAddToOne) {
  // A prompt is rendered when its rule hits: a score it shows must be
  // complete by then, as for a reason.
  WritePack(Rule("R-1", "tx.cash", "ACTION_INTERCEPT",
                 "  score { name: \"fraud\" weight: 10 }\n"
                 "  prompt {\n"
                 "    why { zh: \"分数 {score.fraud}\" en: \"score "
                 "{score.fraud}\" }\n"
                 "    ask { zh: \"问\" en: \"ask\" }\n"
                 "  }\n"));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(
                  P("rules.textproto"),
                  ":2:3: rule R-1: a rule that reads a score cannot add to a "
                  "score (rules that add run first)")));
}

TEST_F(RulePackLoaderTest, PromptSatisfiesInterceptAndBlockNeedsNone) {
  WritePack(absl::StrCat(Rule("R-1", "tx.cash", "ACTION_INTERCEPT", kPrompt),
                         Rule("R-2", "tx.cash", "ACTION_BLOCK")));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  ASSERT_THAT(set->rules(), SizeIs(2));
  EXPECT_THAT(set->rules()[0].prompt.why, SizeIs(1));
  EXPECT_THAT(set->rules()[0].prompt.ask, SizeIs(1));
  EXPECT_TRUE(set->rules()[1].prompt.empty());
}

TEST_F(RulePackLoaderTest, PromptLineNeedsBothLanguages) {
  WritePack(Rule("R-1", "tx.cash", "ACTION_INTERCEPT",
                 "  prompt {\n"
                 "    why { zh: \"原因\" en: \"why\" }\n"
                 "    ask { zh: \"问题\" en: \"question\" }\n"
                 "    ask { zh: \"只有中文\" }\n"
                 "    dissuade { en: \"only English\" }\n"
                 "  }\n"));
  EXPECT_THAT(
      Errors(),
      ElementsAre(absl::StrCat(P("rules.textproto"),
                               ":14:5: rule R-1: prompt.ask: every line needs "
                               "both zh and en text"),
                  absl::StrCat(P("rules.textproto"),
                               ":15:5: rule R-1: prompt.dissuade: every line "
                               "needs both zh and en text")));
}

TEST_F(RulePackLoaderTest, PromptTemplateErrorsHavePositions) {
  WritePack(
      Rule("R-1", "tx.cash", "ACTION_INTERCEPT",
           "  prompt {\n"
           "    why { zh: \"金额 {tx.amount}\" en: \"amount {tx.amonut}\" }\n"
           "    ask { zh: \"问题\" en: \"question\" }\n"
           "  }\n"));
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("rules.textproto"),
                            ":12:45: rule R-1: en: unknown field 'tx.amonut' "
                            "(did you mean 'tx.amount'?)")));
}

TEST_F(RulePackLoaderTest, BadReportKind) {
  WritePack(Rule("R-1", "tx.cash", "ACTION_REPORT",
                 "  report: \"LARGE_VALUE_CASH\"\n"
                 "  report: \"large value\"\n"));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(
                  P("rules.textproto"),
                  ":12:12: rule R-1: report kind 'large value' must be "
                  "upper-case letters, digits and _ (e.g. LARGE_VALUE_CASH)")));
}

TEST_F(RulePackLoaderTest, BadEffectiveDates) {
  WritePack(absl::StrCat(Rule("R-1", "tx.cash", "ACTION_REVIEW",
                              "  effective_from: \"2026/01/01\"\n"
                              "  effective_until: \"2026-13-01\"\n"),
                         Rule("R-2", "tx.cash", "ACTION_REVIEW",
                              "  effective_from: \"2026-06-01\"\n"
                              "  effective_until: \"2026-06-01\"\n")));
  EXPECT_THAT(
      Errors(),
      ElementsAre(absl::StrCat(P("rules.textproto"),
                               ":11:20: rule R-1: effective_from: '2026/01/01' "
                               "is not a date YYYY-MM-DD"),
                  absl::StrCat(P("rules.textproto"),
                               ":12:21: rule R-1: effective_until: "
                               "'2026-13-01' is not a date YYYY-MM-DD"),
                  absl::StrCat(P("rules.textproto"),
                               ":25:21: rule R-2: effective_until must be "
                               "after effective_from")));
}

TEST_F(RulePackLoaderTest, EffectiveDatesAreMidnightInThePackZone) {
  WritePack(Rule("R-1", "tx.cash", "ACTION_REVIEW",
                 "  effective_from: \"2026-01-01\"\n"
                 "  effective_until: \"2027-01-01\"\n"));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  ASSERT_THAT(set->rules(), SizeIs(1));
  // Midnight in Beijing is 16:00 UTC the day before.
  EXPECT_EQ(
      set->rules()[0].effective_from_us,
      absl::ToUnixMicros(absl::FromCivil(
          absl::CivilSecond(2025, 12, 31, 16, 0, 0), absl::UTCTimeZone())));
  EXPECT_EQ(
      set->rules()[0].effective_until_us,
      absl::ToUnixMicros(absl::FromCivil(
          absl::CivilSecond(2026, 12, 31, 16, 0, 0), absl::UTCTimeZone())));
}

TEST_F(RulePackLoaderTest, ChannelActionErrors) {
  WritePack(Rule("R-1", "tx.cash", "ACTION_REVIEW",
                 "  channel_action { action: ACTION_REPORT }\n"
                 "  channel_action { channel: [CHANNEL_ATM] }\n"
                 "  channel_action { channel: [CHANNEL_UNSPECIFIED] action: "
                 "ACTION_REPORT }\n"));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file,
                       ":11:3: rule R-1: channel_action needs at least "
                       "one channel"),
          absl::StrCat(file, ":12:3: rule R-1: channel_action needs an action"),
          absl::StrCat(file,
                       ":13:3: rule R-1: channel_action: "
                       "CHANNEL_UNSPECIFIED is not a channel")));
}

TEST_F(RulePackLoaderTest, ChannelActionsOverrideTheBaseAction) {
  WritePack(Rule("R-1", "tx.cash", "ACTION_INTERCEPT",
                 absl::StrCat("  channel_action { channel: [CHANNEL_MOBILE, "
                              "CHANNEL_ONLINE] action: ACTION_DELAY }\n"
                              "  channel_action { channel: CHANNEL_ATM action: "
                              "ACTION_BLOCK }\n",
                              kPrompt)));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  const auto& action = set->rules()[0].action;
  EXPECT_EQ(action[v1::CHANNEL_COUNTER], v1::ACTION_INTERCEPT);
  EXPECT_EQ(action[v1::CHANNEL_MOBILE], v1::ACTION_DELAY);
  EXPECT_EQ(action[v1::CHANNEL_ONLINE], v1::ACTION_DELAY);
  EXPECT_EQ(action[v1::CHANNEL_ATM], v1::ACTION_BLOCK);
  EXPECT_EQ(action[v1::CHANNEL_PHONE], v1::ACTION_INTERCEPT);
  EXPECT_EQ(action[v1::CHANNEL_UNSPECIFIED], v1::ACTION_INTERCEPT);
}

TEST_F(RulePackLoaderTest, EscalationErrors) {
  WritePack(Rule("R-1", "tx.cash", "ACTION_REVIEW",
                 "  escalate { action: ACTION_BLOCK }\n"
                 "  escalate { when: \"tx.cross_border\" }\n"
                 "  escalate { when: \"tx.amount\" action: ACTION_BLOCK }\n"
                 "  escalate { when: \"tx.cash\" action: ACTION_BLOCK reason: "
                 "\"{tx.nope}\" }\n"));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file, ":11:3: rule R-1: escalate: when is required"),
          absl::StrCat(file, ":12:3: rule R-1: escalate: action is required"),
          absl::StrCat(file,
                       ":13:21: rule R-1: escalate: when must be "
                       "true/false, got money"),
          absl::StrCat(file,
                       ":14:61: rule R-1: reason: unknown field "
                       "'tx.nope' (did you mean 'tx.type'?)")));
}

TEST_F(RulePackLoaderTest, ScoreErrors) {
  WritePack(absl::StrCat(Rule("R-1", "tx.cash", "ACTION_UNSPECIFIED",
                              "  score { name: \"fraud\" weight: 0 }\n"),
                         Rule("R-2", "score.fraud > 10", "ACTION_REVIEW",
                              "  score { name: \"fraud\" weight: 5 }\n")));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file,
                       ":11:3: rule R-1: score fraud: weight must not "
                       "be 0"),
          absl::StrCat(file,
                       ":14:3: rule R-2: a rule that reads a score cannot "
                       "add to a score (rules that add run first)")));
}

TEST_F(RulePackLoaderTest, ScoreNameMustBeAnIdentifier) {
  // Bug: RulePackBuilder::Rules() asks for the position of the repeated
  // field `score` without an index; protobuf's ParseInfoTree::GetLocation
  // then fails a DFATAL check ("Index must be in range of repeated field
  // values. Field: score"), which aborts debug builds (here it throws).
  WritePack(Rule("R-1", "tx.cash", "ACTION_UNSPECIFIED",
                 "  score { name: \"bad name\" weight: 5 }\n"));
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("rules.textproto"),
                            ":11:3: rule R-1: score name 'bad name' must be an "
                            "identifier")));
}

TEST_F(RulePackLoaderTest, ScoreOnlyRuleNeedsNoAction) {
  WritePack(Rule("R-1", "tx.cash", "ACTION_UNSPECIFIED",
                 "  score { name: \"fraud\" weight: 30 }\n"));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  EXPECT_THAT(set->score_names(), ElementsAre("fraud"));
}

TEST_F(RulePackLoaderTest, RulesReadingScoresRunLast) {
  WritePack(absl::StrCat(Rule("READER", "score.fraud >= 50"),
                         Rule("ADDER-1", "tx.cash", "ACTION_UNSPECIFIED",
                              "  score { name: \"fraud\" weight: 30 }\n"),
                         Rule("PLAIN", "tx.cross_border"),
                         Rule("ADDER-2", "tx.cash", "ACTION_UNSPECIFIED",
                              "  score { name: \"fraud\" weight: 30 }\n")));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  std::vector<std::string> ids;
  for (const CompiledRule& r : set->rules()) ids.push_back(r.id);
  EXPECT_THAT(ids, ElementsAre("ADDER-1", "PLAIN", "ADDER-2", "READER"));
  EXPECT_TRUE(set->rules()[3].reads_scores);
}

TEST_F(RulePackLoaderTest, DisabledRulesAreCheckedButSkipped) {
  WritePack(absl::StrCat(Rule("ON"), Rule("OFF", "tx.cash", "ACTION_REVIEW",
                                          "  disabled: true\n")));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  ASSERT_THAT(set->rules(), SizeIs(1));
  EXPECT_EQ(set->rules()[0].id, "ON");

  WritePack(Rule("OFF", "tx.nope", "ACTION_REVIEW", "  disabled: true\n"));
  EXPECT_THAT(Errors(),
              ElementsAre(StartsWith(absl::StrCat(P("rules.textproto"),
                                                  ":8:10: rule OFF: when: "
                                                  "unknown field 'tx.nope'"))));
}

TEST_F(RulePackLoaderTest, ReadingHistoryIsRecorded) {
  WritePack(Rule("R-1", "history.first_payment_to_counterparty"));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(set->needs_history());
}

TEST_F(RulePackLoaderTest, ErrorStatusHasOneErrorPerLine) {
  WritePack(absl::StrCat(Rule("R-1", "tx.nope"), Rule("R-2", "tx.nada")));
  absl::StatusOr<std::shared_ptr<const RuleSet>> set =
      LoadRulePackOrError({dir_});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(set.status().message()),
            absl::StrCat(P("rules.textproto"),
                         ":8:10: rule R-1: when: unknown field 'tx.nope' (did "
                         "you mean 'tx.type'?)\n",
                         P("rules.textproto"),
                         ":19:10: rule R-2: when: unknown field 'tx.nada'"));
  WritePack(Rule("R-1"));
  set = LoadRulePackOrError({dir_});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_NE(*set, nullptr);
}

// --- Parameters
// ---------------------------------------------------------------------------

TEST_F(RulePackLoaderTest, ParamsOfEveryType) {
  WritePack(absl::StrCat(
      "param { name: \"limit\" value: \"50000 CNY\" }\n"
      "param { name: \"band\" value: \"0.8\" }\n"
      "param { name: \"parts\" value: \"3\" }\n"
      "param { name: \"age\" value: \"30d\" }\n"
      "param { name: \"region\" value: \"'11'\" }\n"
      "param { name: \"on\" value: \"true\" }\n",
      Rule("R-1",
           "param.on and tx.amount >= param.limit * param.band and "
           "tx.account_age < param.age and province(tx.region_code) == "
           "param.region and param.parts > 2")));
  MustLoad();
}

TEST_F(RulePackLoaderTest, ParamMustBeConstant) {
  WritePack(
      "param { name: \"p\" value: \"tx.amount\" }\n"
      "param { name: \"q\" value: \"50000CNY\" }\n"
      "param { name: \"r\" value: \"param.p * 2\" }\n");
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file,
                       ":1:27: param p: value must be a constant such as "
                       "50000 CNY, 3, 0.8 or 24h"),
          absl::StrCat(file,
                       ":2:27: param q: value: invalid number '50000CNY' "
                       "(a currency needs a space: 50000 CNY; durations "
                       "use s, m, h, d)"),
          absl::StrCat(file,
                       ":3:27: param r: value: unknown parameter "
                       "'param.p'")));
}

// Definitions: written once in any file, used by conditions and reasons of
// any file, compiled in place.
TEST_F(RulePackLoaderTest, DefinitionsAreUsedAcrossFiles) {
  Write("defs.textproto",
        "param { name: \"big\" value: \"50000 CNY\" }\n"
        "define { name: \"big_cash\" expr: \"tx.cash and tx.amount >= "
        "param.big\" }\n"
        "define { name: \"big_cash_out\" expr: \"define.big_cash and "
        "tx.direction == 'OUT'\" }\n");
  WritePack(absl::StrCat(
      Rule("A", "define.big_cash_out", "ACTION_INTERCEPT",
           "  prompt {\n"
           "    why { zh: \"{if(define.big_cash, '大额现金', '')}\" en: "
           "\"{if(define.big_cash, 'large cash', '')}\" }\n"
           "    ask { zh: \"问题\" en: \"question\" }\n"
           "  }\n"),
      Rule("B", "define.big_cash or tx.cross_border")));
  std::shared_ptr<const RuleSet> set = MustLoad();
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->rules().size(), 2u);
}

// A definition may read a score a rule adds to (where scores may be read:
// in rule conditions).
TEST_F(RulePackLoaderTest, DefinitionsMayReadScores) {
  WritePack(
      absl::StrCat("define { name: \"risky\" expr: \"score.fraud >= 50\" }\n",
                   Rule("ADD", "tx.cash", "ACTION_REVIEW",
                        "  score { name: \"fraud\" weight: 60 }\n"),
                   Rule("READ", "define.risky")));
  MustLoad();
}

TEST_F(RulePackLoaderTest, DefinitionErrors) {
  WritePack(absl::StrCat(
      "define { name: \"1st\" expr: \"true\" }\n"
      "define { name: \"d\" expr: \"tx.cash\" }\n"
      "define { name: \"d\" expr: \"tx.cash\" }\n"
      "define { name: \"typo\" expr: \"tx.amount > 3\" }\n"
      "define { name: \"unparsed\" expr: \"tx.cash and\" }\n"
      "define { name: \"empty\" }\n",
      Rule("A", "define.dd"), Rule("B", "tx.cash and define.typo")));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file,
                       ":1:1: define 1st: name must be an identifier "
                       "(letters, digits, _)"),
          absl::StrCat(file, ":3:1: define d: defined twice"),
          absl::StrCat(file,
                       ":5:45: define unparsed: expr: unexpected end of "
                       "expression: a value is missing"),
          absl::StrCat(file, ":6:1: define empty: expr is required"),
          absl::StrCat(file,
                       ":4:40: define typo: expr: cannot compare money "
                       "with int: write the amount with a currency, e.g. "
                       "50000 CNY"),
          absl::StrCat(file,
                       ":14:10: rule A: when: unknown definition "
                       "'define.dd' (did you mean 'define.d'?)"),
          absl::StrCat(file,
                       ":25:22: rule B: when: in define.typo: cannot "
                       "compare money with int: write the amount with a "
                       "currency, e.g. 50000 CNY")));
}

TEST_F(RulePackLoaderTest, ParamNameErrors) {
  WritePack(
      "param { name: \"1st\" value: \"1\" }\n"
      "param { name: \"p\" value: \"1\" }\n"
      "param { name: \"p\" value: \"2\" }\n");
  const std::string file = P("rules.textproto");
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(file,
                                       ":1:1: param 1st: name must be "
                                       "an identifier (letters, digits, "
                                       "_)"),
                          absl::StrCat(file, ":3:1: param p: defined twice")));
}

// --- FX
// -------------------------------------------------------------------------------------

TEST_F(RulePackLoaderTest, FxRateErrors) {
  Write("pack.textproto",
        "pack { name: \"t\" version: \"t-1\" }\n"
        "fx_rate { currency: \"EUR\" rate: \"8.25\" }\n"
        "fx_rate { currency: \"USD\" rate: \"0\" }\n");
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("pack.textproto"),
                            ":3:1: fx_rate: fx rate for USD must be > 0, got "
                            "'0'")));
  Write("pack.textproto",
        "pack { name: \"t\" version: \"t-1\" }\n"
        "fx_rate { currency: \"XYZ\" rate: \"1\" }\n");
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("pack.textproto"),
                            ":2:1: fx_rate: fx rate for XYZ: unknown currency "
                            "'XYZ' (not an ISO 4217 code)")));
}

TEST_F(RulePackLoaderTest, DuplicateFxRatePointsAtTheDuplicate) {
  // Bug: the error is placed at the first fx_rate whose currency occurs in
  // the message, i.e. the original entry (line 2), not the duplicate.
  Write("pack.textproto",
        "pack { name: \"t\" version: \"t-1\" }\n"
        "fx_rate { currency: \"USD\" rate: \"7.1\" }\n"
        "fx_rate { currency: \"USD\" rate: \"7.2\" }\n");
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(P("pack.textproto"),
                                                 ":3:1: fx_rate: duplicate fx "
                                                 "rate for USD")));
}

TEST_F(RulePackLoaderTest, FxErrorIsReportedOnce) {
  // Bug: when the bad fx_rate is found, Fx() returns before installing a
  // fallback table, so every money literal of the pack adds a second,
  // misleading error ("money needs the pack's FX table").
  Write("pack.textproto",
        "pack { name: \"t\" version: \"t-1\" }\n"
        "fx_rate { currency: \"USD\" rate: \"-7\" }\n"
        "param { name: \"limit\" value: \"50000 CNY\" }\n");
  Write("rules.textproto", Rule("R-1", "tx.amount >= 1 CNY"));
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(
                            P("pack.textproto"),
                            ":2:1: fx_rate: fx rate for USD must be > 0, got "
                            "'-7'")));
}

// --- Lists
// --------------------------------------------------------------------------------

TEST_F(RulePackLoaderTest, ListsLoadRelativeToTheirFile) {
  Write("pack.textproto", kPack);
  Write("sub/lists/police.txt", "# police\n6222 0000 1111 2222\n");
  Write(
      "sub/rules.textproto",
      absl::StrCat("list { name: \"police\" file: \"lists/police.txt\" match: "
                   "LIST_MATCH_EXACT }\n",
                   Rule("R-1", "tx.counterparty.account_id in police")));
  LoadResult result =
      LoadRulePack({P("pack.textproto"), P("sub/rules.textproto")});
  ASSERT_THAT(result.errors, IsEmpty());
  ASSERT_NE(result.rule_set, nullptr);
  const NamedList* police = result.rule_set->list("police");
  ASSERT_NE(police, nullptr);
  EXPECT_TRUE(police->ContainsExact("6222000011112222"));
  EXPECT_EQ(result.rule_set->list("nope"), nullptr);
}

TEST_F(RulePackLoaderTest, ListErrors) {
  WritePack(
      "list { name: \"a\" file: \"missing.txt\" match: LIST_MATCH_EXACT }\n"
      "list { name: \"b\" file: \"b.txt\" }\n"
      "list { name: \"c\" match: LIST_MATCH_PHRASE }\n"
      "list { name: \"bad-name\" file: \"b.txt\" match: LIST_MATCH_EXACT }\n");
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file, ":1:1: list a: ", P("missing.txt"),
                       ": cannot open file: No such file or directory"),
          absl::StrCat(file,
                       ":2:1: list b: match is required: "
                       "LIST_MATCH_EXACT (ids, accounts) or "
                       "LIST_MATCH_PHRASE (text to find inside memos)"),
          absl::StrCat(file, ":3:1: list c: file is required"),
          absl::StrCat(file,
                       ":4:1: list bad-name: name must be an identifier "
                       "(letters, digits, _)")));
}

TEST_F(RulePackLoaderTest, ListDefinedTwice) {
  Write("a.txt", "x\n");
  WritePack(
      "list { name: \"a\" file: \"a.txt\" match: LIST_MATCH_EXACT }\n"
      "list { name: \"a\" file: \"a.txt\" match: LIST_MATCH_EXACT }\n");
  EXPECT_THAT(Errors(), ElementsAre(absl::StrCat(P("rules.textproto"),
                                                 ":2:1: list a: defined "
                                                 "twice")));
}

TEST_F(RulePackLoaderTest, ExtraListEntries) {
  Write("police.txt", "6222000011112222\n");
  WritePack(
      absl::StrCat("list { name: \"police\" file: \"police.txt\" match: "
                   "LIST_MATCH_EXACT }\n",
                   Rule("R-1", "tx.counterparty.account_id in police")));
  LoadOptions options;
  options.extra_list_entries["police"] = {"TEST-ACCT-1", "test acct 2"};
  auto set = MustLoad(options);
  ASSERT_NE(set, nullptr);
  const NamedList* police = set->list("police");
  ASSERT_NE(police, nullptr);
  EXPECT_EQ(police->size(), 3u);
  EXPECT_TRUE(police->ContainsExact("6222000011112222"));
  EXPECT_TRUE(police->ContainsExact("test-acct-1"));
  EXPECT_TRUE(police->ContainsExact("testacct2"));

  // Without the option the list is as in its file.
  auto plain = MustLoad();
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->list("police")->size(), 1u);
}

TEST_F(RulePackLoaderTest, ExtraListEntryErrors) {
  Write("police.txt", "6222000011112222\n");
  WritePack(
      "list { name: \"police\" file: \"police.txt\" match: LIST_MATCH_EXACT "
      "}\n");
  LoadOptions unknown;
  unknown.extra_list_entries["polise"] = {"X"};
  EXPECT_THAT(Errors(unknown),
              ElementsAre("rule test: list_entry names unknown list 'polise'"));
}

TEST_F(RulePackLoaderTest, BadExtraListEntryIsOneError) {
  // Bug: the list that failed to take the extra entries is left out of the
  // pack, so the loader also claims "rule test: list_entry names unknown
  // list 'police'" although the list exists.
  Write("police.txt", "6222000011112222\n");
  WritePack(
      "list { name: \"police\" file: \"police.txt\" match: LIST_MATCH_EXACT "
      "}\n");
  LoadOptions blank;
  blank.extra_list_entries["police"] = {"ok", "  "};
  EXPECT_THAT(Errors(blank),
              ElementsAre(absl::StrCat(P("rules.textproto"),
                                       ":1:1: list police: rule test: list "
                                       "'police' entry 2: entry is blank")));
}

// --- Windows
// ------------------------------------------------------------------------------

// A window block; `fields` are extra lines inside it.
std::string Window(absl::string_view name, absl::string_view fields) {
  return absl::StrCat("window {\n  name: \"", name, "\"\n", fields, "}\n");
}

TEST_F(RulePackLoaderTest, WindowsCompile) {
  WritePack(absl::StrCat(
      Window("cash_day",
             "  aggregate: AGGREGATE_SUM\n"
             "  of: \"tx.amount\"\n"
             "  filter: \"tx.cash and tx.direction == 'IN'\"\n"
             "  group_by: ENTITY_CUSTOMER\n"
             "  calendar: CALENDAR_UNIT_DAY\n"),
      Window("out_24h",
             "  aggregate: AGGREGATE_COUNT\n"
             "  group_by: ENTITY_ACCOUNT\n"
             "  sliding: \"24h\"\n"),
      Window("payees_1h",
             "  aggregate: AGGREGATE_DISTINCT\n"
             "  of: \"tx.counterparty.account_id\"\n"
             "  group_by: ENTITY_DEVICE\n"
             "  sliding: \"1h\"\n"
             "  resolution: \"1m\"\n"),
      Window("max_month",
             "  aggregate: AGGREGATE_MAX\n"
             "  of: \"tx.amount_minor\"\n"
             "  group_by: ENTITY_COUNTERPARTY_ACCOUNT\n"
             "  calendar: CALENDAR_UNIT_MONTH\n"),
      Window("quick",
             "  aggregate: AGGREGATE_COUNT\n"
             "  group_by: ENTITY_CUSTOMER\n"
             "  sliding: \"90s\"\n"),
      Rule("R-1",
           "window.cash_day >= 50000 CNY or window.out_24h > 10 or "
           "window.payees_1h >= 5 or window.max_month > 0 or window.quick > "
           "3")));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  const auto& w = set->windows();
  ASSERT_THAT(w, SizeIs(5));
  EXPECT_EQ(w[0].name, "cash_day");
  EXPECT_EQ(w[0].index, 0);
  EXPECT_EQ(w[0].aggregate, v1::AGGREGATE_SUM);
  EXPECT_EQ(w[0].group_by, v1::ENTITY_CUSTOMER);
  EXPECT_EQ(w[0].span, WindowDef::Span::kDay);
  EXPECT_EQ(TypeName(w[0].type), "money");
  EXPECT_NE(w[0].filter, nullptr);
  EXPECT_NE(w[0].of, nullptr);

  EXPECT_EQ(w[1].span, WindowDef::Span::kSliding);
  EXPECT_EQ(w[1].span_us, 24 * 3600 * kSecond);
  EXPECT_EQ(w[1].width_us, 24 * 60 * kSecond);  // span / 60
  EXPECT_EQ(w[1].lookback_buckets, 60);
  EXPECT_EQ(TypeName(w[1].type), "int");
  EXPECT_EQ(w[1].filter, nullptr);
  EXPECT_EQ(w[1].of, nullptr);

  EXPECT_EQ(w[2].width_us, 60 * kSecond);
  EXPECT_EQ(w[2].lookback_buckets, 60);
  EXPECT_EQ(TypeName(w[2].type), "int");

  EXPECT_EQ(w[3].span, WindowDef::Span::kMonth);
  EXPECT_EQ(TypeName(w[3].type), "int");

  EXPECT_EQ(w[4].width_us, 1500000);  // 90s / 60
  EXPECT_EQ(w[4].lookback_buckets, 60);

  EXPECT_FALSE(set->rules()[0].reads_scores);
}

TEST_F(RulePackLoaderTest, SlidingWindowWidthIsAtLeastOneSecond) {
  WritePack(Window("w",
                   "  aggregate: AGGREGATE_COUNT\n"
                   "  group_by: ENTITY_CUSTOMER\n"
                   "  sliding: \"30s\"\n"));
  auto set = MustLoad();
  ASSERT_NE(set, nullptr);
  EXPECT_EQ(set->windows()[0].width_us, kSecond);
  EXPECT_EQ(set->windows()[0].lookback_buckets, 30);
}

TEST_F(RulePackLoaderTest, WindowSpanErrors) {
  WritePack(absl::StrCat(Window("no_span",
                                "  aggregate: AGGREGATE_COUNT\n"
                                "  group_by: ENTITY_CUSTOMER\n"),
                         Window("bad_sliding",
                                "  aggregate: AGGREGATE_COUNT\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"5min\"\n"),
                         Window("calendar_resolution",
                                "  aggregate: AGGREGATE_COUNT\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  calendar: CALENDAR_UNIT_DAY\n"
                                "  resolution: \"1m\"\n"),
                         Window("wide_resolution",
                                "  aggregate: AGGREGATE_COUNT\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"1h\"\n"
                                "  resolution: \"2h\"\n"),
                         Window("fine_resolution",
                                "  aggregate: AGGREGATE_COUNT\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"30d\"\n"
                                "  resolution: \"1s\"\n"),
                         Window("bad_calendar",
                                "  aggregate: AGGREGATE_COUNT\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  calendar: CALENDAR_UNIT_UNSPECIFIED\n")));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file,
                       ":1:1: window no_span: a span is required: "
                       "calendar: CALENDAR_UNIT_DAY or sliding: \"24h\""),
          absl::StrCat(file,
                       ":10:13: window bad_sliding: sliding: invalid "
                       "duration '5min' (write e.g. 5m, 1h, 24h, 30d)"),
          absl::StrCat(file,
                       ":17:16: window calendar_resolution: resolution "
                       "applies to sliding windows only"),
          absl::StrCat(file,
                       ":24:16: window wide_resolution: resolution: "
                       "invalid duration '2h' (a positive duration no "
                       "longer than the span)"),
          absl::StrCat(file,
                       ":31:16: window fine_resolution: resolution too "
                       "fine: at most 10000 buckets per window"),
          absl::StrCat(file,
                       ":33:1: window bad_calendar: calendar must be "
                       "CALENDAR_UNIT_DAY or CALENDAR_UNIT_MONTH")));
}

TEST_F(RulePackLoaderTest, WindowsWithTheSameDefinitionAreAnError) {
  // They would share state and count every transaction twice.
  WritePack(absl::StrCat(Window("cash_day",
                                "  aggregate: AGGREGATE_SUM\n"
                                "  of: \"tx.amount\"\n"
                                "  filter: \"tx.cash\"\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  calendar: CALENDAR_UNIT_DAY\n"),
                         Window("cash_today",
                                "  aggregate: AGGREGATE_SUM\n"
                                "  of: \"tx.amount\"\n"
                                "  filter: \" tx.cash \"\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  calendar: CALENDAR_UNIT_DAY\n")));
  std::vector<std::string> errors = Errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], testing::HasSubstr(
                             ": window cash_today: has the same definition as "
                             "window cash_day; use window.cash_day"));
}

TEST_F(RulePackLoaderTest, WindowAggregateErrors) {
  WritePack(absl::StrCat(Window("distinct_money",
                                "  aggregate: AGGREGATE_DISTINCT\n"
                                "  of: \"tx.amount\"\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"1h\"\n"),
                         Window("count_of",
                                "  aggregate: AGGREGATE_COUNT\n"
                                "  of: \"tx.amount\"\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"1h\"\n"),
                         Window("sum_text",
                                "  aggregate: AGGREGATE_SUM\n"
                                "  of: \"tx.memo\"\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"1h\"\n"),
                         Window("sum_nothing",
                                "  aggregate: AGGREGATE_SUM\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"1h\"\n"),
                         Window("distinct_nothing",
                                "  aggregate: AGGREGATE_DISTINCT\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"1h\"\n"),
                         Window("no_aggregate",
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  sliding: \"1h\"\n"),
                         Window("no_group",
                                "  aggregate: AGGREGATE_COUNT\n"
                                "  sliding: \"1h\"\n")));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file,
                       ":4:8: window distinct_money: DISTINCT needs "
                       "text, got money"),
          absl::StrCat(file,
                       ":11:8: window count_of: COUNT counts "
                       "transactions; leave 'of' empty"),
          absl::StrCat(file,
                       ":18:8: window sum_text: SUM and MAX need money, "
                       "int or duration, got text"),
          absl::StrCat(file,
                       ":22:1: window sum_nothing: of is required: the "
                       "amount aggregated, e.g. tx.amount"),
          absl::StrCat(file,
                       ":28:1: window distinct_nothing: of is required: "
                       "the text whose distinct values are counted, "
                       "e.g. tx.counterparty.account_id"),
          absl::StrCat(file,
                       ":34:1: window no_aggregate: aggregate is "
                       "required: AGGREGATE_SUM, AGGREGATE_COUNT, "
                       "AGGREGATE_DISTINCT or AGGREGATE_MAX"),
          absl::StrCat(file,
                       ":39:1: window no_group: group_by is required: "
                       "ENTITY_CUSTOMER, ENTITY_ACCOUNT, "
                       "ENTITY_COUNTERPARTY_ACCOUNT or ENTITY_DEVICE")));
}

TEST_F(RulePackLoaderTest, WindowFilterErrors) {
  WritePack(
      absl::StrCat(Window("w1",
                          "  aggregate: AGGREGATE_COUNT\n"
                          "  filter: \"tx.amount\"\n"
                          "  group_by: ENTITY_CUSTOMER\n"
                          "  sliding: \"1h\"\n"),
                   Window("w2",
                          "  aggregate: AGGREGATE_COUNT\n"
                          "  filter: \"tx.cash and history.has_previous\"\n"
                          "  group_by: ENTITY_CUSTOMER\n"
                          "  sliding: \"1h\"\n"),
                   Window("w3",
                          "  aggregate: AGGREGATE_COUNT\n"
                          "  filter: \"window.w1 > 0\"\n"
                          "  group_by: ENTITY_CUSTOMER\n"
                          "  sliding: \"1h\"\n")));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(
      Errors(),
      ElementsAre(
          absl::StrCat(file,
                       ":4:12: window w1: filter must be true/false, "
                       "got money"),
          absl::StrCat(file,
                       ":11:24: window w2: filter: window filters "
                       "cannot read history.* (only tx.*, customer.* "
                       "and param.*)"),
          // What is wrong is reading a window at all, whether or not w1
          // exists (it failed, and filters are compiled before windows
          // are known).
          absl::StrCat(file,
                       ":18:12: window w3: filter: window filters cannot "
                       "read window features")));
}

TEST_F(RulePackLoaderTest, WindowNameErrors) {
  const std::string body =
      "  aggregate: AGGREGATE_COUNT\n"
      "  group_by: ENTITY_CUSTOMER\n"
      "  sliding: \"1h\"\n";
  WritePack(absl::StrCat(Window("w", body), Window("w", body),
                         Window("no good", body)));
  const std::string file = P("rules.textproto");
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(file, ":7:1: window w: defined twice"),
                          absl::StrCat(file,
                                       ":13:1: window no good: name must "
                                       "be an identifier (letters, "
                                       "digits, _)")));
}

TEST_F(RulePackLoaderTest, UnknownWindowInARuleSuggests) {
  WritePack(absl::StrCat(Window("cash_day",
                                "  aggregate: AGGREGATE_SUM\n"
                                "  of: \"tx.amount\"\n"
                                "  group_by: ENTITY_CUSTOMER\n"
                                "  calendar: CALENDAR_UNIT_DAY\n"),
                         Rule("R-1", "window.cash_dya > 0")));
  EXPECT_THAT(Errors(),
              ElementsAre(absl::StrCat(P("rules.textproto"),
                                       ":15:10: rule R-1: when: unknown window "
                                       "'window.cash_dya' (did you mean "
                                       "'window.cash_day'?)")));
}

class WindowFingerprintTest : public RulePackLoaderTest {
 protected:
  uint64_t Fingerprint(absl::string_view fields) {
    WritePack(Window("w", fields));
    auto set = MustLoad();
    if (set == nullptr || set->windows().size() != 1) return 0;
    return set->windows()[0].fingerprint;
  }
};

TEST_F(WindowFingerprintTest, StableAcrossWhitespaceAndNameOfTheFilter) {
  uint64_t a = Fingerprint(
      "  aggregate: AGGREGATE_SUM\n"
      "  of: \"tx.amount\"\n"
      "  filter: \"tx.cash and tx.direction == 'IN'\"\n"
      "  group_by: ENTITY_CUSTOMER\n"
      "  sliding: \"24h\"\n");
  uint64_t b = Fingerprint(
      "  description: \"now with a description\"\n"
      "  aggregate: AGGREGATE_SUM\n"
      "  of: \" tx.amount \"\n"
      "  filter: \"tx.cash  and\\n tx.direction=='IN'\"\n"
      "  group_by: ENTITY_CUSTOMER\n"
      "  sliding: \"24h\"\n");
  EXPECT_NE(a, 0u);
  EXPECT_EQ(a, b);
}

TEST_F(WindowFingerprintTest, ChangesWithTheDefinition) {
  const std::string base =
      "  aggregate: AGGREGATE_SUM\n"
      "  of: \"tx.amount\"\n"
      "  filter: \"tx.cash\"\n"
      "  group_by: ENTITY_CUSTOMER\n";
  uint64_t day = Fingerprint(absl::StrCat(base, "  sliding: \"24h\"\n"));
  uint64_t hour = Fingerprint(absl::StrCat(base, "  sliding: \"1h\"\n"));
  uint64_t calendar =
      Fingerprint(absl::StrCat(base, "  calendar: CALENDAR_UNIT_DAY\n"));
  uint64_t fine = Fingerprint(
      absl::StrCat(base, "  sliding: \"24h\"\n  resolution: \"1m\"\n"));
  uint64_t account = Fingerprint(
      absl::StrReplaceAll(absl::StrCat(base, "  sliding: \"24h\"\n"),
                          {{"ENTITY_CUSTOMER", "ENTITY_ACCOUNT"}}));
  uint64_t max = Fingerprint(
      absl::StrReplaceAll(absl::StrCat(base, "  sliding: \"24h\"\n"),
                          {{"AGGREGATE_SUM", "AGGREGATE_MAX"}}));
  uint64_t filter = Fingerprint(
      absl::StrReplaceAll(absl::StrCat(base, "  sliding: \"24h\"\n"),
                          {{"\"tx.cash\"", "\"not tx.cash\""}}));
  std::vector<uint64_t> all = {day, hour, calendar, fine, account, max, filter};
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      EXPECT_NE(all[i], all[j]) << i << " vs " << j;
    }
  }
}

TEST_F(WindowFingerprintTest, SpaceInsideQuotedTextIsPartOfTheFilter) {
  // Bug: the fingerprint drops every white-space character of the filter,
  // including those inside quoted text, so these two different windows share
  // a fingerprint (and so would share persisted state across a reload).
  const std::string base =
      "  aggregate: AGGREGATE_COUNT\n"
      "  group_by: ENTITY_CUSTOMER\n"
      "  sliding: \"24h\"\n";
  uint64_t spaced = Fingerprint(
      absl::StrCat(base, "  filter: \"tx.purpose_code == 'A B'\"\n"));
  uint64_t joined = Fingerprint(
      absl::StrCat(base, "  filter: \"tx.purpose_code == 'AB'\"\n"));
  EXPECT_NE(spaced, joined);
}

// --- The shipped pack
// ------------------------------------------------------------------------

TEST(ShippedPackTest, CnPackLoads) {
  LoadResult result =
      LoadRulePack({absl::StrCat(TXSCREEN_SOURCE_DIR, "/rules/packs/cn")});
  EXPECT_THAT(result.errors, IsEmpty());
  ASSERT_NE(result.rule_set, nullptr);
  EXPECT_EQ(result.rule_set->name(), "cn");
  EXPECT_EQ(result.rule_set->time_zone().name(), "Asia/Shanghai");
  std::vector<std::string> ids;
  for (const CompiledRule& r : result.rule_set->rules()) ids.push_back(r.id);
  for (const char* id : {"CN-AML-01", "SAFE-ACCT", "FRAUD-LIST"}) {
    EXPECT_THAT(ids, testing::Contains(id));
  }
  EXPECT_NE(result.rule_set->list("police_fraud_accounts"), nullptr);
  EXPECT_NE(result.rule_set->list("scam_phrases"), nullptr);
}

}  // namespace
}  // namespace txscreen::rules
