// Tests of the rule test runner (rule_test_runner.h) on small packs written
// to a temp dir, and on the shipped cn pack.
#include "engine/rule_test_runner.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::engine {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kPack[] = R"pb(
  pack { name: "mini" version: "mini-1" time_zone: "Asia/Shanghai" }
  list { name: "deny" file: "deny.txt" match: LIST_MATCH_EXACT }
  window {
    name: "n_day"
    aggregate: AGGREGATE_COUNT
    group_by: ENTITY_CUSTOMER
    calendar: CALENDAR_UNIT_DAY
  }
  rule {
    id: "MANY"
    version: 1
    title: "many today"
    why: "test"
    owner: "test"
    severity: SEVERITY_LOW
    when: "window.n_day >= 3"
    action: ACTION_REVIEW
    reason: "{window.n_day} transactions today"
  }
  rule {
    id: "LARGE"
    version: 1
    title: "large"
    why: "test"
    owner: "test"
    severity: SEVERITY_LOW
    when: "tx.amount >= 50000 CNY"
    action: ACTION_REPORT
    report: "LARGE_VALUE"
    reason: "amount {tx.amount}"
  }
  rule {
    id: "DENY"
    version: 1
    title: "denied payee"
    why: "test"
    owner: "test"
    severity: SEVERITY_CRITICAL
    when: "tx.counterparty.account_id in deny"
    action: ACTION_BLOCK
    reason: "payee {tx.counterparty.account_id} is denied"
    prompt { why { zh: "拒绝" en: "denied" } }
  }
  rule {
    id: "YOUNG"
    version: 1
    title: "young account"
    why: "test"
    owner: "test"
    severity: SEVERITY_LOW
    when: "present(tx.account_age) and tx.account_age < 1h"
    action: ACTION_REVIEW
    reason: "account opened {tx.account_age} ago"
  }
)pb";

constexpr char kDefaults[] = R"pb(
  defaults {
    customer_id: "C1"
    account_id: "A1"
    currency: "CNY"
    channel: CHANNEL_COUNTER
    direction: DIRECTION_OUT
    type: TRANSACTION_TYPE_TRANSFER_OUT
    counterparty { account_id: "P1" }
  }
)pb";

// This process's scratch directory under the test temp dir (the pid keeps
// concurrent runs apart); removed when the test program ends.
const std::filesystem::path& ScratchRoot() {
  static const std::filesystem::path* root = new std::filesystem::path(
      std::filesystem::path(::testing::TempDir()) /
      absl::StrCat("rule_test_runner_test.", getpid()));
  return *root;
}

class RemoveScratchRoot : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(ScratchRoot(), ignored);
  }
};
const ::testing::Environment* const kRemoveScratchRoot =
    ::testing::AddGlobalTestEnvironment(new RemoveScratchRoot);

// A pack directory with kPack, an empty deny list and the given test files.
std::string WritePack(
    const std::vector<std::pair<std::string, std::string>>& tests,
    const std::string& pack = kPack) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = ScratchRoot() / info->name();
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "pack.textproto") << pack;
  std::ofstream(dir / "deny.txt") << "# none\n";
  if (!tests.empty()) fs::create_directories(dir / "tests");
  for (const auto& [name, text] : tests) {
    std::ofstream(dir / "tests" / name) << text;
  }
  return dir.string();
}

// "LINE:COL" (1-based) of the `occurrence`-th (0-based) `needle` in `text`.
std::string PositionOf(const std::string& text, const std::string& needle,
                       int occurrence = 0) {
  size_t at = text.find(needle);
  for (int i = 0; i < occurrence && at != std::string::npos; ++i) {
    at = text.find(needle, at + 1);
  }
  EXPECT_NE(at, std::string::npos) << needle;
  if (at == std::string::npos) return "?";
  int line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::StrCat(line, ":", at - line_start + 1);
}

TEST(RuleTestRunnerTest, PassingCases) {
  const std::string tests = absl::StrCat(kDefaults, R"pb(
    case {
      name: "third transaction of the day"
      step { at: "2026-11-20T09:00:00+08:00" amount: "100.00" }
      step {
        at: "2026-11-20T10:00:00+08:00"
        amount: "100.00"
        expect { verdict: VERDICT_ALLOW no_hit: "MANY" }
      }
      step {
        at: "2026-11-20T23:59:59+08:00"
        amount: "100.00"
        expect {
          verdict: VERDICT_REVIEW
          hit: "MANY"
          only: true
          reason_contains: "3 transactions today"
        }
      }
    }
    case {
      name: "fresh state per case; the day turns at Beijing midnight"
      step { at: "2026-11-20T23:00:00+08:00" amount: "1.00" }
      step { at: "2026-11-20T23:30:00+08:00" amount: "1.00" }
      step {
        at: "2026-11-21T00:00:00+08:00"
        amount: "1.00"
        expect { verdict: VERDICT_ALLOW no_hit: "MANY" }
      }
    }
    case {
      name: "report only"
      step {
        at: "2026-11-20T09:00:00+08:00"
        amount: "50000.00"
        expect { verdict: VERDICT_ALLOW hit: "LARGE" report: "LARGE_VALUE" }
      }
    }
  )pb");
  const std::string dir = WritePack({{"a.textproto", tests}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->failures, IsEmpty());
  EXPECT_EQ(report->passed, 3);
  EXPECT_EQ(report->failed, 0);
  const std::string file = dir + "/tests/a.textproto";
  EXPECT_THAT(
      report->passed_cases,
      ElementsAre(absl::StrCat(file, ":", PositionOf(tests, "case {", 0),
                               ": third transaction of the day"),
                  absl::StrCat(file, ":", PositionOf(tests, "case {", 1),
                               ": fresh state per case; the day turns "
                               "at Beijing midnight"),
                  absl::StrCat(file, ":", PositionOf(tests, "case {", 2),
                               ": report only")));
}

TEST(RuleTestRunnerTest, FailingStepNamesFileLineColumnCaseAndStep) {
  const std::string tests = absl::StrCat(kDefaults, R"pb(
    case {
      name: "wrong expectation"
      step { at: "2026-11-20T09:00:00+08:00" amount: "100.00" }
      step {
        at: "2026-11-20T09:01:00+08:00"
        amount: "60000.00"
        expect {
          verdict: VERDICT_BLOCK
          hit: "MANY"
          no_hit: "LARGE"
          report: "SUSPICIOUS"
          reason_contains: "nowhere"
        }
      }
    }
  )pb");
  const std::string dir = WritePack({{"b.textproto", tests}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->passed, 0);
  EXPECT_EQ(report->failed, 1);
  EXPECT_THAT(report->passed_cases, IsEmpty());
  const std::string where =
      absl::StrCat(dir, "/tests/b.textproto:", PositionOf(tests, "step {", 1));
  EXPECT_THAT(
      report->failures,
      ElementsAre(absl::StrCat(
          where,
          ": case 'wrong expectation' step 2: expected verdict VERDICT_BLOCK, "
          "expected hit MANY, expected no hit of LARGE, expected report "
          "SUSPICIOUS, expected a reason containing 'nowhere'; got "
          "VERDICT_ALLOW (hits: LARGE [REPORT] 'amount 60,000.00 CNY')")));
}

TEST(RuleTestRunnerTest, OnlyMeansExactlyTheseHits) {
  const std::string tests = absl::StrCat(kDefaults, R"pb(
    case {
      name: "only"
      step {
        at: "2026-11-20T09:00:00+08:00"
        amount: "60000.00"
        tx { counterparty { account_id: "BAD-1" } }
        expect { hit: "DENY" only: true }
      }
    }
  )pb");
  // The deny list gets its entry from the test file.
  const std::string with_list =
      absl::StrCat(R"pb(list_entry { list: "deny" value: "BAD-1" })pb", tests);
  const std::string dir = WritePack({{"c.textproto", with_list}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->failures.size(), 1u);
  EXPECT_THAT(report->failures[0],
              HasSubstr(": case 'only' step 1: expected only hits DENY; got "
                        "VERDICT_BLOCK (hits: LARGE [REPORT] 'amount 60,000.00 "
                        "CNY'; DENY [BLOCK] 'payee BAD-1 is denied')"));
}

TEST(RuleTestRunnerTest, RejectedInputIsDescribedWithItsErrors) {
  const std::string tests = absl::StrCat(kDefaults, R"pb(
    case {
      name: "no amount"
      step {
        at: "2026-11-20T09:00:00+08:00"
        expect { verdict: VERDICT_ALLOW }
      }
    }
  )pb");
  const std::string dir = WritePack({{"d.textproto", tests}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->failures.size(), 1u);
  EXPECT_THAT(report->failures[0],
              HasSubstr(": case 'no amount' step 1: expected verdict "
                        "VERDICT_ALLOW; got VERDICT_REJECTED_INPUT (hits: "
                        "none) input errors: amount_minor must be > 0, got 0"));
}

// History steps (no expect) that count nowhere fail the case: the steps
// after them would test something else without a word.
TEST(RuleTestRunnerTest, HistoryStepsThatCountNowhereFailTheCase) {
  const std::string tests = absl::StrCat(kDefaults, R"pb(
    case {
      name: "rejected history"
      step { at: "2026-11-20T09:00:00+08:00" }
      step {
        at: "2026-11-20T10:00:00+08:00"
        amount: "1.00"
        expect { verdict: VERDICT_ALLOW }
      }
    }
    case {
      name: "repeated id"
      step {
        at: "2026-11-20T09:00:00+08:00"
        amount: "1.00"
        tx { transaction_id: "SAME" }
      }
      step {
        at: "2026-11-20T09:30:00+08:00"
        amount: "2.00"
        tx { transaction_id: "SAME" }
      }
    }
    case {
      name: "rejection expected"
      step {
        at: "2026-11-20T09:00:00+08:00"
        expect { verdict: VERDICT_REJECTED_INPUT }
      }
    }
    case {
      name: "plain history"
      step { at: "2026-11-20T09:00:00+08:00" amount: "1.00" }
      step { at: "2026-11-20T09:30:00+08:00" amount: "2.00" }
    }
  )pb");
  const std::string dir = WritePack({{"h.textproto", tests}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->passed, 2);
  ASSERT_EQ(report->failures.size(), 2u);
  EXPECT_THAT(report->failures[0],
              HasSubstr(": case 'rejected history' step 1: a step without "
                        "expect was rejected, so it counts nowhere "
                        "(amount_minor must be > 0, got 0); fix it, or "
                        "expect { verdict: VERDICT_REJECTED_INPUT }"));
  EXPECT_THAT(report->failures[1],
              HasSubstr(": case 'repeated id' step 2: a step without expect "
                        "repeats the transaction id 'SAME' of an earlier "
                        "step, so it counts nowhere"));
}

TEST(RuleTestRunnerTest, AccountOpenedDateIsMidnightInThePackTimeZone) {
  const std::string tests = absl::StrCat(kDefaults, R"pb(
    case {
      name: "opened today"
      step {
        at: "2026-11-20T00:30:00+08:00"
        amount: "1.00"
        account_opened: "2026-11-20"
        expect { hit: "YOUNG" reason_contains: "account opened 30m ago" }
      }
    }
  )pb");
  const std::string dir = WritePack({{"e.textproto", tests}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->failures, IsEmpty());
  EXPECT_EQ(report->passed, 1);
}

TEST(RuleTestRunnerTest, BadStepValuesFailTheCase) {
  const std::string tests = absl::StrCat(kDefaults, R"pb(
    case {
      name: "bad time"
      step { at: "yesterday" amount: "1.00" }
      step {
        at: "2026-11-20T09:00:00+08:00"
        amount: "1.00"
        expect { hit: "X" }
      }
    }
    case {
      name: "bad amount"
      step { at: "2026-11-20T09:00:00+08:00" amount: "1.005" }
    }
    case {
      name: "bad opening"
      step {
        at: "2026-11-20T09:00:00+08:00"
        amount: "1.00"
        account_opened: "soon"
      }
    }
  )pb");
  const std::string dir = WritePack({{"f.textproto", tests}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->failed, 3);
  const std::string file = dir + "/tests/f.textproto:";
  ASSERT_EQ(report->failures.size(), 3u);
  // The first problem stops the case.
  EXPECT_EQ(report->failures[0],
            absl::StrCat(file, PositionOf(tests, "step {", 0),
                         ": case 'bad time' step 1: at 'yesterday' is not an "
                         "RFC 3339 time"));
  EXPECT_THAT(report->failures[1],
              StartsWith(absl::StrCat(file, PositionOf(tests, "step {", 2),
                                      ": case 'bad amount' step 1: amount: ")));
  EXPECT_EQ(report->failures[2],
            absl::StrCat(file, PositionOf(tests, "step {", 3),
                         ": case 'bad opening' step 1: account_opened 'soon' "
                         "is not a time or date"));
}

TEST(RuleTestRunnerTest, UnparsableTestFileFailsWithItsPosition) {
  const std::string good = absl::StrCat(kDefaults, R"pb(
    case {
      name: "fine"
      step { at: "2026-11-20T09:00:00+08:00" amount: "1.00" }
    }
  )pb");
  const std::string bad = "case {\n  name: \"x\"\n  stepp { }\n}\n";
  const std::string dir =
      WritePack({{"a_good.textproto", good}, {"b_bad.textproto", bad}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->passed, 1);
  EXPECT_EQ(report->failed, 1);
  ASSERT_EQ(report->failures.size(), 1u);
  EXPECT_THAT(report->failures[0],
              StartsWith(absl::StrCat(dir, "/tests/b_bad.textproto:3:")));
  EXPECT_THAT(report->failures[0], HasSubstr("stepp"));
}

TEST(RuleTestRunnerTest, PackThatDoesNotLoadFailsEveryFile) {
  const std::string tests = absl::StrCat(kDefaults, R"pb(
    case {
      name: "never runs"
      step { at: "2026-11-20T09:00:00+08:00" amount: "1.00" }
    }
  )pb");
  const std::string broken = absl::StrCat(kPack, R"pb(rule {
                                                        id: "BROKEN"
                                                        version: 1
                                                        title: "t"
                                                        why: "w"
                                                        owner: "o"
                                                        severity: SEVERITY_LOW
                                                        when: "tx.no_such_field"
                                                        action: ACTION_REVIEW
                                                        reason: "r"
                                                      })pb");
  const std::string dir = WritePack({{"a.textproto", tests}}, broken);
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->passed, 0);
  EXPECT_EQ(report->failed, 1);
  ASSERT_EQ(report->failures.size(), 1u);
  EXPECT_THAT(report->failures[0],
              StartsWith(absl::StrCat(dir,
                                      "/tests/a.textproto: the rule pack "
                                      "does not load:\n")));
  EXPECT_THAT(report->failures[0], HasSubstr("BROKEN"));
}

TEST(RuleTestRunnerTest, MissingTestsDirectory) {
  const std::string dir = WritePack({});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(report.status().message(),
            absl::StrCat(dir, "/tests: no tests directory"));
}

TEST(RuleTestRunnerTest, TestsDirectoryWithoutTestFiles) {
  const std::string dir = WritePack({{"README.md", "# no tests yet"}});
  absl::StatusOr<RuleTestReport> report = RunRuleTests(dir);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(report.status().message(),
            absl::StrCat(dir, "/tests: no *.textproto test files"));
}

TEST(RuleTestRunnerTest, ShippedCnPackPasses) {
  absl::StatusOr<RuleTestReport> report =
      RunRuleTests(TXSCREEN_SOURCE_DIR "/rules/packs/cn");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->failures, IsEmpty());
  EXPECT_EQ(report->failed, 0);
  EXPECT_GT(report->passed, 10);
}

}  // namespace
}  // namespace txscreen::engine
