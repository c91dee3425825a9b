// End-to-end tests of the txscreen binary: each test runs the built binary
// (TXSCREEN_BIN) as a user would, with files under testing::TempDir(), and
// checks its exit status, stdout and stderr. Every message a user can see
// from these commands is asserted here, word for word where it is stable.
//
// Exit statuses: 0 success, 1 the input is wrong (invalid pack, failing rule
// test, unreadable file), 2 usage errors and unreadable input lines.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/audit.h"
#include "engine/clock.h"
#include "engine/state_store.h"
#include "engine/transaction_codec.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "librdkafka/rdkafkacpp.h"
#include "tests/kafka_test_util.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/report.pb.h"
#include "txscreen/v1/transaction.pb.h"

extern char** environ;

namespace txscreen {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::txscreen::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

const std::string kPack = TXSCREEN_SOURCE_DIR "/rules/packs/cn";
const std::string kExamples =
    TXSCREEN_SOURCE_DIR "/examples/transactions.jsonl";
const std::string kBadExamples = TXSCREEN_SOURCE_DIR "/examples/bad.jsonl";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = absl::StrCat(::testing::TempDir(), "txscreen_cli_",
                        info->test_suite_name(), "_", info->name(), "_",
                        ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Runs `txscreen ARGS...` with `stdin_text` on its standard input; with
  // `interrupt_after_ms`, sends it SIGINT that long after the start.
  Result Run(const std::vector<std::string>& args,
             const std::string& stdin_text = "", int interrupt_after_ms = 0) {
    const std::string in = Path(".stdin"), out = Path(".stdout"),
                      err = Path(".stderr");
    WriteFile(in, stdin_text);
    std::vector<std::string> argv_storage = {TXSCREEN_BIN};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, TXSCREEN_BIN, &actions, nullptr,
                                    argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    Result r;
    if (spawned != 0) {
      ADD_FAILURE() << "cannot run " << TXSCREEN_BIN << ": "
                    << strerror(spawned);
      return r;
    }
    int status = 0;
    if (interrupt_after_ms > 0) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(interrupt_after_ms));
      kill(pid, SIGINT);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) {
      r.exit_code = WEXITSTATUS(status);
    } else {
      ADD_FAILURE() << "txscreen killed by signal " << WTERMSIG(status);
    }
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  // `txscreen ARGS...` exits 2 with "txscreen COMMAND: FIRST_LINE" and the
  // command's usage on stderr.
  void ExpectUsageError(const std::vector<std::string>& args,
                        const std::string& first_line) {
    Result r = Run(args);
    EXPECT_EQ(r.exit_code, 2) << absl::StrJoin(args, " ");
    EXPECT_THAT(r.err, StartsWith("txscreen " + args[0] + ": " + first_line +
                                  "\nusage: txscreen " + args[0]));
  }

  // A transaction read back from a topic that gen or replay wrote.
  struct Sent {
    std::string key;
    v1::Transaction tx;
    int64_t intended_us = -1;  // header txscreen.intended-send-us
  };
  // The `n` messages of `topic` (binary protobuf, or protobuf JSON),
  // parsed; a test failure when fewer arrive in a minute or one does not
  // parse.
  static std::vector<Sent> ReadSent(const std::string& topic, size_t n,
                                    bool json = false) {
    testing::TopicReader reader(testing::Brokers(), topic);
    reader.ReadUntil([n](const auto& m) { return m.size() >= n; }, 60000);
    EXPECT_EQ(reader.messages().size(), n) << topic;
    std::vector<Sent> out;
    for (const testing::TopicReader::Message& m : reader.messages()) {
      Sent sent;
      sent.key = m.key;
      const bool parsed =
          json ? engine::DecodeTransactionJson(m.value, &sent.tx).ok()
               : sent.tx.ParseFromString(m.value);
      EXPECT_TRUE(parsed) << m.value;
      auto it = m.headers.find("txscreen.intended-send-us");
      EXPECT_TRUE(it != m.headers.end() &&
                  absl::SimpleAtoi(it->second, &sent.intended_us))
          << "no intended send time";
      out.push_back(std::move(sent));
    }
    return out;
  }

  // Decisions, one per line of `jsonl`.
  static std::vector<v1::Decision> Decisions(const std::string& jsonl) {
    std::vector<v1::Decision> out;
    for (absl::string_view line :
         absl::StrSplit(jsonl, '\n', absl::SkipEmpty())) {
      v1::Decision d;
      auto status = google::protobuf::util::JsonStringToMessage(
          google::protobuf::StringPiece(line.data(), line.size()), &d);
      EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << line;
      out.push_back(std::move(d));
    }
    return out;
  }

  static std::vector<std::string> HitIds(const v1::Decision& d) {
    std::vector<std::string> ids;
    for (const v1::RuleHit& h : d.hits()) ids.push_back(h.rule_id());
    return ids;
  }

  std::string dir_;
};

// A pack of one rule, with `when` as given (line 10 of pack.textproto).
std::string TinyPack(const std::string& when) {
  return absl::StrCat(
      "pack { name: \"tiny\" version: \"tiny-1\" time_zone: \"Asia/Shanghai\" "
      "base_currency: \"CNY\" }\n"
      "param { name: \"big\" value: \"50000 CNY\" description: \"big\" }\n"
      "rule {\n"
      "  id: \"TINY-01\"\n"
      "  version: 1\n"
      "  title: \"big transfer\"\n"
      "  why: \"test\"\n"
      "  severity: SEVERITY_LOW\n"
      "  owner: \"QA\"\n"
      "  when: \"",
      when,
      "\"\n"
      "  action: ACTION_REVIEW\n"
      "  reason: \"big {tx.amount}\"\n"
      "}\n");
}

// --- rules check ---------------------------------------------------------

TEST_F(CliTest, RulesCheckAcceptsTheShippedPack) {
  Result r = Run({"rules", "check", kPack});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              MatchesRegex("ok: pack cn version cn-[0-9.]+: [0-9]+ rules, "
                           "[0-9]+ windows, [0-9]+ files\n"));
  EXPECT_EQ(r.err, "");
}

TEST_F(CliTest, RulesCheckNamesFileLineAndColumnOfAnError) {
  const std::string pack = Path("bad_pack/pack.textproto");
  WriteFile(pack, TinyPack("tx.amonut >= param.big"));
  for (const std::string& arg : {Path("bad_pack"), pack}) {
    Result r = Run({"rules", "check", arg});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.out, "");
    // Column 10 is the 't' of tx.amonut inside the quoted expression.
    EXPECT_EQ(r.err,
              pack +
                  ":10:10: rule TINY-01: when: unknown field 'tx.amonut' "
                  "(did you mean 'tx.amount'?)\n"
                  "1 error\n");
  }
}

TEST_F(CliTest, RulesCheckReportsEveryError) {
  WriteFile(Path("bad_pack/pack.textproto"),
            TinyPack("tx.amonut >= param.big"));
  WriteFile(Path("bad_pack/more.textproto"),
            "rule {\n"
            "  id: \"TINY-02\"\n"
            "  version: 1\n"
            "  title: \"plain number\"\n"
            "  why: \"test\"\n"
            "  severity: SEVERITY_LOW\n"
            "  owner: \"QA\"\n"
            "  when: \"tx.amount >= 50000\"\n"
            "  action: ACTION_REVIEW\n"
            "  reason: \"x\"\n"
            "}\n");
  Result r = Run({"rules", "check", Path("bad_pack")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  // Files in name order; column 20 is the '>=' that compares money with int.
  EXPECT_EQ(r.err,
            Path("bad_pack/more.textproto") +
                ":8:20: rule TINY-02: when: cannot compare money with int: "
                "write the amount with a currency, e.g. 50000 CNY\n" +
                Path("bad_pack/pack.textproto") +
                ":10:10: rule TINY-01: when: unknown field 'tx.amonut' (did "
                "you mean 'tx.amount'?)\n"
                "2 errors\n");
}

TEST_F(CliTest, RulesCheckSchemaError) {
  WriteFile(Path("bad_pack/pack.textproto"),
            TinyPack("tx.amount >= param.big"));
  WriteFile(Path("bad_pack/more.textproto"),
            "rule {\n  id: \"TINY-02\"\n  versoin: 1\n}\n");
  Result r = Run({"rules", "check", Path("bad_pack")});
  EXPECT_EQ(r.exit_code, 1);
  // A file that does not match the schema stops the load there.
  EXPECT_THAT(r.err,
              MatchesRegex(".*/bad_pack/more.textproto:3:[0-9]+: unknown "
                           "field 'versoin' in Rule \\(did you mean "
                           "'version'\\?\\)\n1 error\n"));
}

TEST_F(CliTest, RulesCheckWithoutPathIsAUsageError) {
  Result r = Run({"rules", "check"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "usage: txscreen rules check PATH...\n");
}

TEST_F(CliTest, RulesCheckOfAMissingPath) {
  Result r = Run({"rules", "check", Path("nowhere")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, Path("nowhere") + ": no such file or directory\n1 error\n");
}

// --- rules test ----------------------------------------------------------

void WriteTinyPackWithTests(const std::string& dir) {
  WriteFile(dir + "/pack.textproto", TinyPack("tx.amount >= param.big"));
  WriteFile(dir + "/tests/tiny.textproto",
            "defaults {\n"
            "  customer_id: \"C-1\"\n"
            "  account_id: \"A-1\"\n"
            "  currency: \"CNY\"\n"
            "  channel: CHANNEL_COUNTER\n"
            "  direction: DIRECTION_OUT\n"
            "  type: TRANSACTION_TYPE_TRANSFER_OUT\n"
            "}\n"
            "case {\n"
            "  name: \"50,000.00 is reviewed\"\n"
            "  step { at: \"2026-11-20T10:00:00+08:00\" amount: \"50000.00\"\n"
            "         expect { verdict: VERDICT_REVIEW hit: \"TINY-01\" } }\n"
            "}\n"
            "case {\n"
            "  name: \"49,999.99 is wrongly expected to be reviewed\"\n"
            "  step { at: \"2026-11-20T10:00:00+08:00\" amount: \"49999.99\"\n"
            "         expect { verdict: VERDICT_REVIEW } }\n"
            "}\n");
}

TEST_F(CliTest, RulesTestReportsAFailingCase) {
  WriteTinyPackWithTests(Path("tiny"));
  Result r = Run({"rules", "test", Path("tiny")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "1 passed, 1 failed\n");
  EXPECT_EQ(r.err, "FAIL " + Path("tiny/tests/tiny.textproto") +
                       ":16:3: case '49,999.99 is wrongly expected to be "
                       "reviewed' step 1: expected verdict VERDICT_REVIEW; got "
                       "VERDICT_ALLOW (hits: none)\n");
}

TEST_F(CliTest, RulesTestVerboseListsPassingCases) {
  WriteTinyPackWithTests(Path("tiny"));
  Result r = Run({"rules", "test", "--verbose", Path("tiny")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "PASS " + Path("tiny/tests/tiny.textproto") +
                       ":9:1: 50,000.00 is reviewed\n1 passed, 1 failed\n");
}

TEST_F(CliTest, RulesTestPassesOnTheShippedPack) {
  Result r = Run({"rules", "test", kPack});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, MatchesRegex("[0-9]+ passed, 0 failed\n"));
}

TEST_F(CliTest, RulesTestWithoutTestsDirectory) {
  WriteFile(Path("no_tests/pack.textproto"),
            TinyPack("tx.amount >= param.big"));
  Result r = Run({"rules", "test", Path("no_tests")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "txscreen rules test: " + Path("no_tests/tests") +
                       ": no tests directory\n");
}

TEST_F(CliTest, RulesTestUsageErrors) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"rules", "test"},
                                             {"rules", "test", "a", "b"}}) {
    Result r = Run(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err, "usage: txscreen rules test [--verbose] PACK_DIR\n");
  }
  Result r = Run({"rules", "test", "--fast", kPack});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "txscreen rules test: unknown flag --fast\n"
            "usage: txscreen rules test [--verbose] PACK_DIR\n");
}

// --- screen --------------------------------------------------------------

struct Expected {
  const char* id;
  v1::Verdict verdict;
  bool duplicate;
};

// examples/transactions.jsonl, line by line (examples/README.md says why).
const Expected kExampleVerdicts[] = {
    {"EX-001", v1::VERDICT_ALLOW, false},
    {"EX-002", v1::VERDICT_ALLOW, false},
    {"EX-003", v1::VERDICT_ALLOW, false},
    {"EX-004", v1::VERDICT_ALLOW, false},
    {"EX-005", v1::VERDICT_ALLOW, false},  // LARGE_VALUE_CASH report
    {"EX-006", v1::VERDICT_ALLOW, false},
    {"EX-007", v1::VERDICT_INTERCEPT, false},  // safe-account scam
    {"EX-008", v1::VERDICT_BLOCK, false},      // police-listed payee
    {"EX-009", v1::VERDICT_ALLOW, false},
    {"EX-010", v1::VERDICT_ALLOW, false},
    {"EX-011", v1::VERDICT_REVIEW, false},  // structuring
    {"EX-012", v1::VERDICT_ALLOW, false},
    {"EX-013", v1::VERDICT_ALLOW, false},
    {"EX-014", v1::VERDICT_REVIEW, false},  // rapid in-out
    {"EX-015", v1::VERDICT_ALLOW, false},
    {"EX-016", v1::VERDICT_ALLOW, false},  // reversal of EX-015
    {"EX-017", v1::VERDICT_REJECTED_INPUT, false},
    {"EX-018", v1::VERDICT_REVIEW, false},
    {"EX-019", v1::VERDICT_ALLOW, false},
    {"EX-020", v1::VERDICT_ALLOW, false},
    {"EX-021", v1::VERDICT_ALLOW, false},
    {"EX-022", v1::VERDICT_ALLOW, false},
    {"EX-023", v1::VERDICT_REVIEW, false},     // velocity
    {"EX-024", v1::VERDICT_DELAY, false},      // on a call, mobile
    {"EX-025", v1::VERDICT_DELAY, false},      // remote-control app, online
    {"EX-026", v1::VERDICT_REVIEW, false},     // cross-region cash
    {"EX-027", v1::VERDICT_INTERCEPT, false},  // cross-region, large
    {"EX-028", v1::VERDICT_REVIEW, false},     // new account
    {"EX-029", v1::VERDICT_DELAY, false},      // 安全賬戶 online
    {"EX-030", v1::VERDICT_ALLOW, false},
    {"EX-031", v1::VERDICT_ALLOW, false},
    {"EX-032", v1::VERDICT_ALLOW, false},
    {"EX-033", v1::VERDICT_ALLOW, false},
    {"EX-034", v1::VERDICT_ALLOW, false},
    {"EX-035", v1::VERDICT_ALLOW, false},
    {"EX-036", v1::VERDICT_ALLOW, false},
    {"EX-037", v1::VERDICT_ALLOW, false},
    {"EX-038", v1::VERDICT_ALLOW, false},
    {"EX-004", v1::VERDICT_ALLOW, true},  // resent by the channel
    {"EX-039", v1::VERDICT_ALLOW, false},
};

TEST_F(CliTest, ScreenExamplesGivesTheExpectedVerdicts) {
  Result r = Run({"screen", "--rules", kPack, "--input", kExamples, "--output",
                  Path("decisions.jsonl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "screened 38, rejected 1, duplicates 1, unreadable 0; verdicts: "
            "VERDICT_ALLOW 27 VERDICT_BLOCK 1 VERDICT_DELAY 3 "
            "VERDICT_INTERCEPT 2 VERDICT_REJECTED_INPUT 1 VERDICT_REVIEW 6\n");
  std::vector<v1::Decision> d = Decisions(ReadFile(Path("decisions.jsonl")));
  ASSERT_EQ(d.size(), std::size(kExampleVerdicts));
  std::map<std::string, const v1::Decision*> by_id;
  for (size_t i = 0; i < d.size(); ++i) {
    const Expected& e = kExampleVerdicts[i];
    SCOPED_TRACE(absl::StrCat("line ", i + 1, ": ", e.id));
    EXPECT_EQ(d[i].transaction_id(), e.id);
    EXPECT_EQ(v1::Verdict_Name(d[i].verdict()), v1::Verdict_Name(e.verdict));
    EXPECT_EQ(d[i].duplicate(), e.duplicate);
    EXPECT_EQ(d[i].ruleset_version(), "cn-2026.12.3");
    if (!e.duplicate) by_id[e.id] = &d[i];
  }

  EXPECT_THAT(by_id["EX-001"]->hits(), IsEmpty());
  EXPECT_THAT(by_id["EX-005"]->reports(), ElementsAre("LARGE_VALUE_CASH"));
  EXPECT_THAT(by_id["EX-009"]->reports(), ElementsAre("LARGE_VALUE_CASH"));
  EXPECT_THAT(by_id["EX-010"]->reports(),
              ElementsAre("LARGE_VALUE_CROSS_BORDER"));
  EXPECT_THAT(by_id["EX-012"]->reports(), ElementsAre("LARGE_VALUE_TRANSFER"));

  const v1::Decision& scam = *by_id["EX-007"];
  EXPECT_THAT(HitIds(scam), ElementsAre("SAFE-ACCT"));
  EXPECT_THAT(scam.hits(0).reason(), HasSubstr("memo scam phrase: yes"));
  EXPECT_THAT(scam.hits(0).reason(),
              HasSubstr("first payment to this payee: yes"));
  EXPECT_THAT(scam.hits(0).reason(), HasSubstr("customer age 72"));
  ASSERT_FALSE(scam.prompt().dissuade().empty());
  EXPECT_EQ(
      scam.prompt().dissuade(0).en(),
      "Police, prosecutors and courts never ask anyone to move money to a "
      "'safe account'");

  EXPECT_THAT(HitIds(*by_id["EX-008"]), ElementsAre("SAFE-ACCT", "FRAUD-LIST"));
  EXPECT_THAT(HitIds(*by_id["EX-011"]),
              ElementsAre("CN-AML-01", "CASH-STRUCT"));
  EXPECT_THAT(HitIds(*by_id["EX-014"]), ElementsAre("MULE-INOUT"));
  EXPECT_THAT(HitIds(*by_id["EX-023"]), ElementsAre("VELOCITY"));
  EXPECT_THAT(HitIds(*by_id["EX-027"]), ElementsAre("XREGION"));
  EXPECT_THAT(HitIds(*by_id["EX-028"]), ElementsAre("NEW-ACCOUNT"));
  EXPECT_THAT(HitIds(*by_id["EX-029"]), ElementsAre("SAFE-ACCT"));

  EXPECT_THAT(by_id["EX-017"]->input_errors(),
              ElementsAre("amount_minor must be > 0, got -5000000"));
  // The cash withdrawal counted in cash_out_cny_day, cash_out_cny_max_day,
  // acct_out_24h, (since cn-2026.12.2) the dormancy window cust_moved_180d
  // and (since cn-2026.12.3) cust_moved_7d.
  EXPECT_THAT(
      by_id["EX-016"]->notes(),
      ElementsAre("reversal of EX-015: retracted 5 window contributions"));
  // 30,000 + 25,000 would be reported; the first was reversed.
  EXPECT_THAT(by_id["EX-019"]->hits(), IsEmpty());

  // The duplicate is answered with the original decision.
  const v1::Decision& dup = d[38];
  EXPECT_EQ(dup.decided_at().seconds(),
            by_id["EX-004"]->decided_at().seconds());
  EXPECT_EQ(dup.decided_at().nanos(), by_id["EX-004"]->decided_at().nanos());
}

TEST_F(CliTest, ScreenReadsStdinAndWritesStdout) {
  std::string input = ReadFile(kExamples);
  Result r =
      Run({"screen", "--rules", kPack, "--input", "-", "--output", "-"}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<v1::Decision> d = Decisions(r.out);
  ASSERT_EQ(d.size(), std::size(kExampleVerdicts));
  EXPECT_EQ(d[6].transaction_id(), "EX-007");
  EXPECT_EQ(d[6].verdict(), v1::VERDICT_INTERCEPT);
}

TEST_F(CliTest, JsonlWithAByteOrderMarkLosesNoTransaction) {
  // Editors on Windows start a UTF-8 file with a BOM: screen and backtest
  // read the first line all the same.
  const std::string bom = Path("bom.jsonl");
  WriteFile(bom, "\xEF\xBB\xBF" + ReadFile(kExamples));
  Result r = Run({"screen", "--rules", kPack, "--input", bom, "--output", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Decisions(r.out).size(), std::size(kExampleVerdicts));
  Result b = Run({"backtest", "--rules", kPack, "--input", bom, "--quiet"});
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_THAT(b.out,
              StartsWith(absl::StrCat(std::size(kExampleVerdicts), " rows: ")));
  EXPECT_THAT(b.out, HasSubstr(" 0 bad "));
}

TEST_F(CliTest, ScreenReportsUnreadableLinesAndGoesOn) {
  Result r = Run(
      {"screen", "--rules", kPack, "--input", kBadExamples, "--output", "-"});
  EXPECT_EQ(r.exit_code, 3);
  std::vector<v1::Decision> d = Decisions(r.out);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].transaction_id(), "BAD-001");
  EXPECT_EQ(d[0].verdict(), v1::VERDICT_ALLOW);
  EXPECT_EQ(d[1].transaction_id(), "BAD-004");
  EXPECT_EQ(d[1].verdict(), v1::VERDICT_REJECTED_INPUT);
  EXPECT_THAT(
      d[1].input_errors(),
      ElementsAre("currency: unknown currency 'XYZ' (not an ISO 4217 code)"));
  EXPECT_EQ(d[2].transaction_id(), "BAD-005");
  EXPECT_EQ(d[2].verdict(), v1::VERDICT_ALLOW);

  EXPECT_THAT(r.err,
              StartsWith(kBadExamples +
                         ":2: not a Transaction in JSON: amount: Cannot "
                         "find field.\n" +
                         kBadExamples + ":3: not a Transaction in JSON: "));
  EXPECT_THAT(
      r.err, HasSubstr("screened 2, rejected 1, duplicates 0, unreadable 2; "
                       "verdicts: VERDICT_ALLOW 2 VERDICT_REJECTED_INPUT 1\n"));
}

constexpr char kCashMorning[] =
    "{\"transaction_id\":\"SD-001\",\"occurred_at\":\"2026-11-20T09:30:00+08:"
    "00\","
    "\"type\":\"TRANSACTION_TYPE_CASH_DEPOSIT\",\"channel\":\"CHANNEL_"
    "COUNTER\","
    "\"customer_id\":\"C-SD-1\",\"account_id\":\"6222-0000-0000-0001\","
    "\"amount_minor\":\"3000000\",\"currency\":\"CNY\",\"cash\":true,"
    "\"direction\":\"DIRECTION_IN\"}\n";
constexpr char kCashAfternoon[] =
    "{\"transaction_id\":\"SD-002\",\"occurred_at\":\"2026-11-20T15:00:00+08:"
    "00\","
    "\"type\":\"TRANSACTION_TYPE_CASH_DEPOSIT\",\"channel\":\"CHANNEL_"
    "COUNTER\","
    "\"customer_id\":\"C-SD-1\",\"account_id\":\"6222-0000-0000-0001\","
    "\"amount_minor\":\"2500000\",\"currency\":\"CNY\",\"cash\":true,"
    "\"direction\":\"DIRECTION_IN\"}\n";

TEST_F(CliTest, ScreenStateDirCarriesTheSameDayCumulativeAcrossRuns) {
  WriteFile(Path("morning.jsonl"), kCashMorning);
  WriteFile(Path("afternoon.jsonl"), kCashAfternoon);
  const std::string state = Path("state");

  Result first =
      Run({"screen", "--rules", kPack, "--input", Path("morning.jsonl"),
           "--output", "-", "--state-dir", state});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  std::vector<v1::Decision> d1 = Decisions(first.out);
  ASSERT_EQ(d1.size(), 1u);
  EXPECT_EQ(d1[0].verdict(), v1::VERDICT_ALLOW);
  EXPECT_THAT(d1[0].hits(), IsEmpty());

  // Alone, 25,000 is nothing; after the morning's 30,000 it is 55,000 today.
  Result alone = Run({"screen", "--rules", kPack, "--input",
                      Path("afternoon.jsonl"), "--output", "-"});
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_THAT(Decisions(alone.out).at(0).hits(), IsEmpty());

  Result second =
      Run({"screen", "--rules", kPack, "--input", Path("afternoon.jsonl"),
           "--output", "-", "--state-dir", state});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  std::vector<v1::Decision> d2 = Decisions(second.out);
  ASSERT_EQ(d2.size(), 1u);
  EXPECT_EQ(d2[0].transaction_id(), "SD-002");
  // Reached through two parts below 50,000: reported and reviewed.
  EXPECT_EQ(d2[0].verdict(), v1::VERDICT_REVIEW);
  EXPECT_THAT(HitIds(d2[0]), ElementsAre("CN-AML-01"));
  EXPECT_THAT(d2[0].reports(), ElementsAre("LARGE_VALUE_CASH"));
  EXPECT_THAT(d2[0].hits(0).reason(),
              HasSubstr("cash today in CNY: in 55,000.00 CNY"));
}

// A transfer of `customer` from `account` at `at` (RFC 3339).
std::string TransferLine(const std::string& id, const std::string& at,
                         const std::string& customer,
                         const std::string& account) {
  return absl::StrCat(
      "{\"transaction_id\":\"", id, "\",\"occurred_at\":\"", at,
      "\",\"type\":\"TRANSACTION_TYPE_TRANSFER_OUT\",",
      "\"channel\":\"CHANNEL_MOBILE\",\"customer_id\":\"", customer,
      "\",\"account_id\":\"", account,
      "\",\"amount_minor\":\"10000\",\"currency\":\"CNY\",",
      "\"direction\":\"DIRECTION_OUT\",",
      "\"counterparty\":{\"account_id\":\"6222000000009999\"}}\n");
}

// The keys of the windows family, from `state stats`.
long WindowsKeys(const std::string& stats_out) {
  long keys = -1;
  const size_t at = stats_out.find("\nwindows ");
  if (at == std::string::npos ||
      std::sscanf(stats_out.c_str() + at, "\nwindows %ld", &keys) != 1) {
    ADD_FAILURE() << stats_out;
  }
  return keys;
}

TEST_F(CliTest, ScreenStateDirSweepsAccountsNotSeenForLong) {
  const std::string state = Path("state");
  WriteFile(Path("early.jsonl"),
            TransferLine("SW-1", "2026-11-01T10:00:00+08:00", "C-SW-1",
                         "6222000000000001"));
  WriteFile(Path("later.jsonl"),
            TransferLine("SW-2", "2026-11-10T10:00:00+08:00", "C-SW-2",
                         "6222000000000002"));
  WriteFile(Path("late.jsonl"),
            TransferLine("SW-3", "2026-11-11T10:00:00+08:00", "C-SW-2",
                         "6222000000000002"));
  auto screen = [&](const std::string& file) {
    Result r = Run({"screen", "--rules", kPack, "--input", Path(file),
                    "--output", "-", "--state-dir", state});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  auto windows_keys = [&] {
    Result stats = Run({"state", "stats", "--state-dir", state});
    EXPECT_EQ(stats.exit_code, 0) << stats.err;
    return WindowsKeys(stats.out);
  };
  screen("early.jsonl");
  EXPECT_EQ(windows_keys(), 2);  // C-SW-1 and its account
  // 9 days on: the first account's 24-hour windows are within the 7 days a
  // transaction may still come late, and two days of span, of 9 days ago.
  screen("later.jsonl");
  EXPECT_EQ(windows_keys(), 4);
  // 10 days on they are not: the account goes, its customer stays.
  screen("late.jsonl");
  EXPECT_EQ(windows_keys(), 3);
  Result inspect = Run({"state", "inspect", "--customer", "C-SW-1",
                        "--state-dir", state, "--rules", kPack, "--json"});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_THAT(inspect.out, HasSubstr("\"found\":true"));
}

TEST_F(CliTest, ScreenStateDirAnswersRepeatsAsDuplicates) {
  const std::string state = Path("state");
  Result first = Run({"screen", "--rules", kPack, "--input", kExamples,
                      "--output", Path("first.jsonl"), "--state-dir", state});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  Result again = Run({"screen", "--rules", kPack, "--input", kExamples,
                      "--output", Path("again.jsonl"), "--state-dir", state});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  // The rejected transaction changed nothing, so it is decided afresh.
  EXPECT_EQ(again.err,
            "screened 0, rejected 1, duplicates 39, unreadable 0; verdicts: "
            "VERDICT_ALLOW 27 VERDICT_BLOCK 1 VERDICT_DELAY 3 "
            "VERDICT_INTERCEPT 2 VERDICT_REJECTED_INPUT 1 VERDICT_REVIEW 6\n");
  std::vector<v1::Decision> d1 = Decisions(ReadFile(Path("first.jsonl")));
  std::vector<v1::Decision> d2 = Decisions(ReadFile(Path("again.jsonl")));
  ASSERT_EQ(d1.size(), d2.size());
  for (size_t i = 0; i < d1.size(); ++i) {
    SCOPED_TRACE(d1[i].transaction_id());
    EXPECT_EQ(d2[i].transaction_id(), d1[i].transaction_id());
    EXPECT_EQ(d2[i].verdict(), d1[i].verdict());
    if (d1[i].verdict() == v1::VERDICT_REJECTED_INPUT) {
      EXPECT_FALSE(d2[i].duplicate());
      continue;
    }
    EXPECT_TRUE(d2[i].duplicate());
    EXPECT_EQ(HitIds(d2[i]), HitIds(d1[i]));
    EXPECT_EQ(d2[i].decided_at().seconds(), d1[i].decided_at().seconds());
  }
}

TEST_F(CliTest, ScreenOfAMissingInputFile) {
  Result r = Run({"screen", "--rules", kPack, "--input", Path("missing.jsonl"),
                  "--output", "-"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "txscreen screen: cannot read " + Path("missing.jsonl") +
                       ": No such file or directory\n");
}

TEST_F(CliTest, ScreenWithAnInvalidPack) {
  const std::string pack = Path("bad_pack/pack.textproto");
  WriteFile(pack, TinyPack("tx.amonut >= param.big"));
  Result r = Run({"screen", "--rules", Path("bad_pack"), "--input", kExamples,
                  "--output", "-"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, pack +
                       ":10:10: rule TINY-01: when: unknown field 'tx.amonut' "
                       "(did you mean 'tx.amount'?)\n");
}

// --- usage ---------------------------------------------------------------

constexpr char kScreenUsage[] =
    "usage: txscreen screen --rules PACK[,PACK...] --input FILE|- --output "
    "FILE|- [--state-dir DIR]\n"
    "           [--reports FILE]   report records (large-value) as JSONL, for "
    "txscreen report\n";

TEST_F(CliTest, ScreenUsageErrors) {
  struct Case {
    std::vector<std::string> args;
    std::string first_line;  // before the usage line, "" when none
  };
  const Case cases[] = {
      {{"screen"}, ""},
      {{"screen", "--rules", kPack, "--input", kExamples}, ""},
      {{"screen", "--rules", kPack, "--input", kExamples, "--output", "-",
        "extra"},
       ""},
      {{"screen", "--rules", kPack, "--input", kExamples, "--output", "-",
        "--bogus"},
       "txscreen screen: unknown flag --bogus\n"},
      {{"screen", "--rules"}, "txscreen screen: flag --rules needs a value\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrJoin(c.args, " "));
    Result r = Run(c.args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.first_line + kScreenUsage);
  }
}

// `txscreen audit verify`: exit 0 on an intact chain, 1 naming the first bad
// record; `audit export` writes the records of a time range as JSONL.
TEST_F(CliTest, AuditVerifyAndExport) {
  const std::string state = Path("state");
  {
    absl::StatusOr<std::unique_ptr<engine::StateStore>> store =
        engine::OpenRocksStateStore(state);
    ASSERT_TRUE(store.ok()) << store.status();
    engine::AuditLog log(store->get(), 3);
    ASSERT_TRUE(log.Load().ok());
    for (int i = 0; i < 4; ++i) {
      v1::AuditEntry entry;
      entry.set_kind(v1::AuditEntry::KIND_DECISION);
      entry.set_transaction_id(absl::StrCat("TX-", i));
      entry.mutable_at()->set_seconds(1795000000 + i * 86400);  // 2026-11
      if (i == 1) {
        // Card and ID numbers a teller typed into an override's reason.
        v1::Override* o = entry.mutable_override();
        o->set_transaction_id("TX-1");
        o->set_customer_id("C320100000000001");
        o->set_reason("card 6217-4501-0088-1234, id 110101195403120022");
        entry.mutable_decision()->add_hits()->set_reason(
            "to 6222021000003002 (first payment)");
      }
      log.Append(entry);
    }
    ASSERT_TRUE((*store)->Commit(log.BuildFlush()).ok());
  }
  Result ok = Run({"audit", "verify", "--state-dir", state});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("partition 3: ok, 4 records, head 4 "));
  EXPECT_THAT(ok.out, HasSubstr("audit log intact: 4 records in 1 partitions"));

  Result all = Run({"audit", "export", "--state-dir", state});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 4);
  EXPECT_THAT(all.out, HasSubstr("\"seq\":1,\"prev_hash\":\"0000"));
  Result some = Run({"audit", "export", "--state-dir", state, "--from",
                     "2026-11-20T00:00:00Z", "--to", "2026-11-21"});
  EXPECT_EQ(some.exit_code, 0) << some.err;
  EXPECT_EQ(std::count(some.out.begin(), some.out.end(), '\n'), 1) << some.out;
  Result bad_time =
      Run({"audit", "export", "--state-dir", state, "--from", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_THAT(bad_time.err, HasSubstr("--from: expected"));
  // Account, card and ID numbers are masked unless asked for in clear;
  // ids stay.
  EXPECT_THAT(all.out, HasSubstr("card 6217-****1234, id 1101****0022"));
  EXPECT_THAT(all.out, HasSubstr("to 6222****3002 (first payment)"));
  EXPECT_THAT(all.out, HasSubstr("\"customer_id\":\"C320100000000001\""));
  EXPECT_EQ(all.out.find("0088"), std::string::npos);
  Result clear = Run({"audit", "export", "--state-dir", state, "--unmasked"});
  EXPECT_EQ(clear.exit_code, 0) << clear.err;
  EXPECT_THAT(clear.out, HasSubstr("card 6217-4501-0088-1234"));
  EXPECT_THAT(clear.err, HasSubstr("4 records, account numbers in clear"));
  // A plain date is the bank's day: midnight in Beijing by default, or in
  // --time-zone. The entries are at 11:06 UTC: 19:06 in Beijing, 01:06
  // the next day at UTC+14.
  Result day = Run({"audit", "export", "--state-dir", state, "--from",
                    "2026-11-20", "--to", "2026-11-21"});
  EXPECT_EQ(day.exit_code, 0) << day.err;
  EXPECT_EQ(std::count(day.out.begin(), day.out.end(), '\n'), 1) << day.out;
  EXPECT_THAT(day.out, HasSubstr("\"TX-2\""));
  Result kiritimati =
      Run({"audit", "export", "--state-dir", state, "--from", "2026-11-20",
           "--to", "2026-11-21", "--time-zone", "Pacific/Kiritimati"});
  EXPECT_EQ(kiritimati.exit_code, 0) << kiritimati.err;
  EXPECT_THAT(kiritimati.out, HasSubstr("\"TX-1\""));
  EXPECT_EQ(std::count(kiritimati.out.begin(), kiritimati.out.end(), '\n'), 1);
  Result backwards = Run({"audit", "export", "--state-dir", state, "--from",
                          "2026-11-21", "--to", "2026-11-20"});
  EXPECT_EQ(backwards.exit_code, 2);
  EXPECT_THAT(backwards.err,
              HasSubstr("--from 2026-11-21 is not before --to 2026-11-20"));
  Result extra = Run({"audit", "export", "--state-dir", state, "out.jsonl"});
  EXPECT_EQ(extra.exit_code, 2);
  EXPECT_THAT(extra.err, HasSubstr("unexpected argument 'out.jsonl'"));

  // Change one byte of record 2's body: record 2 is named.
  {
    absl::StatusOr<std::unique_ptr<engine::StateStore>> store =
        engine::OpenRocksStateStore(state);
    ASSERT_TRUE(store.ok());
    std::string value;
    bool found = false;
    const std::string key = engine::AuditRecordKey(3, 2);
    ASSERT_TRUE(
        (*store)->Get(engine::StateFamily::kAudit, key, &value, &found).ok());
    ASSERT_TRUE(found);
    v1::AuditRecord record;
    ASSERT_TRUE(record.ParseFromString(value));
    std::string body = record.body();
    body[body.size() - 1] ^= 1;
    record.set_body(body);
    ASSERT_TRUE(
        (*store)
            ->Commit({engine::StateWrite::Put(engine::StateFamily::kAudit, key,
                                              record.SerializeAsString())})
            .ok());
  }
  Result broken = Run({"audit", "verify", "--state-dir", state});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_THAT(broken.out,
              HasSubstr("partition 3: BROKEN: record 2 was modified"));
  Result missing = Run({"audit", "verify", "--state-dir", Path("nowhere")});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no state in"));

  // A record that does not parse at all: the export says so and exits 1
  // (it skipped it silently, exit 0).
  {
    absl::StatusOr<std::unique_ptr<engine::StateStore>> store =
        engine::OpenRocksStateStore(state);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)
                    ->Commit({engine::StateWrite::Put(
                        engine::StateFamily::kAudit,
                        engine::AuditRecordKey(3, 3), "\xff\xff\xff\xff")})
                    .ok());
  }
  Result damaged = Run({"audit", "export", "--state-dir", state});
  EXPECT_EQ(damaged.exit_code, 1);
  EXPECT_THAT(damaged.err,
              HasSubstr("1 records could not be read and are not in the "
                        "export; 'txscreen audit verify' names them"));
}

// --- gen -------------------------------------------------------------------

// Rows of the labels CSV by transaction id: {scenario, step, suspicious}.
std::map<std::string, std::vector<std::string>> Labels(const std::string& csv) {
  std::map<std::string, std::vector<std::string>> out;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    if (header) {
      EXPECT_EQ(line, "transaction_id,scenario,step,suspicious");
      header = false;
      continue;
    }
    std::vector<std::string> f = absl::StrSplit(line, ',');
    EXPECT_EQ(f.size(), 4u) << line;
    if (f.size() != 4) continue;
    out[f[0]] = {f[1], f[2], f[3]};
  }
  return out;
}

TEST_F(CliTest, GenIsDeterministicAndItsScenariosAlertWhereLabelled) {
  const std::vector<std::string> args = {
      "gen", "--customers",      "2000", "--count", "20000", "--seed",
      "7",   "--scenario-share", "0.05"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = args;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  Result first =
      Run(with({"--output", Path("a.jsonl"), "--labels", Path("a.csv")}));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.err, MatchesRegex("generated 20000 transactions, [0-9]+ "
                                      "scenarios started, [0-9]+ suspicious "
                                      "steps\n"));
  Result second = Run(with({"--output", Path("b.jsonl")}));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(ReadFile(Path("a.jsonl")), ReadFile(Path("b.jsonl")))
      << "the same seed must give the same traffic";
  Result other = Run({"gen", "--customers", "2000", "--count", "100", "--seed",
                      "8", "--output", Path("c.jsonl")});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(ReadFile(Path("a.jsonl")).substr(0, 5000),
            ReadFile(Path("c.jsonl")).substr(0, 5000));

  // One row per transaction (a header, 20,000 rows); about 0.5 % are
  // resends that repeat an earlier id.
  const std::string csv = ReadFile(Path("a.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 20001);
  const auto labels = Labels(csv);
  EXPECT_GT(labels.size(), 19800u);
  EXPECT_LT(labels.size(), 20000u);
  Result screened = Run({"screen", "--rules", kPack, "--input", Path("a.jsonl"),
                         "--output", Path("d.jsonl")});
  ASSERT_EQ(screened.exit_code, 0) << screened.err;
  EXPECT_THAT(screened.err, HasSubstr("rejected 0,"));

  // Every suspicious step is alerted on (a hit beyond a report), and no
  // other step of a scenario is: the actors are customers of their own. In
  // ordinary traffic the labelled payments (police-listed payee, scam memo)
  // are alerted on; the rest of it is not checked (ordinary customers raise
  // other alerts too).
  std::map<std::string, int> scenarios, alerted;
  int suspicious = 0, quiet_steps = 0, ordinary_suspicious = 0;
  for (const v1::Decision& d : Decisions(ReadFile(Path("d.jsonl")))) {
    auto it = labels.find(d.transaction_id());
    ASSERT_NE(it, labels.end()) << d.transaction_id();
    const std::vector<std::string>& l = it->second;
    if (d.duplicate()) continue;
    bool alert = false;
    for (const v1::RuleHit& h : d.hits()) {
      alert = alert || h.action() != v1::ACTION_REPORT;
    }
    if (l[0].empty()) {
      if (l[2] == "1") {
        ++ordinary_suspicious;
        EXPECT_TRUE(alert) << d.transaction_id() << " (ordinary)";
      }
      continue;
    }
    SCOPED_TRACE(absl::StrCat(d.transaction_id(), " ", l[0], " step ", l[1]));
    if (l[2] == "1") {
      ++suspicious;
      ++scenarios[l[0]];
      EXPECT_TRUE(alert);
      alerted[l[0]] += alert;
    } else {
      ++quiet_steps;
      EXPECT_FALSE(alert) << absl::StrJoin(HitIds(d), ",");
    }
  }
  EXPECT_GT(suspicious, 100);
  EXPECT_GT(quiet_steps, 100);
  EXPECT_GT(ordinary_suspicious, 0);
  for (const char* name :
       {"safe_account_scam", "structuring", "mule_in_out", "fan_in", "fan_out",
        "cross_region", "police_listed_payee", "velocity_burst",
        "cash_courier"}) {
    EXPECT_GT(scenarios[name], 0) << name;
  }
}

TEST_F(CliTest, GenUsageErrors) {
  auto expect = [&](const std::vector<std::string>& args,
                    const std::string& first_line) {
    ExpectUsageError(args, first_line);
  };
  std::vector<std::string> gen = {"gen"};
  expect({"gen", "--skew", "-1"}, "--skew needs 0 to 3, not '-1'");
  expect({"gen", "--customers", "0"},
         "--customers needs 1 to 100000000, not '0'");
  expect({"gen", "--scenario-share", "0.9"},
         "--scenario-share needs 0 to 0.5, not '0.9'");
  expect({"gen", "--count", "many"},
         "--count needs a whole number >= 0, not 'many'");
  expect({"gen", "--start", "yesterday"},
         "--start needs an RFC 3339 time such as 2026-11-20T09:30:00+08:00, "
         "not 'yesterday': Failed to parse input");
  expect({"gen", "--rate", "100"}, "--rate needs --brokers");
  expect({"gen", "--labels", "-"},
         "--labels needs a file: standard output carries the transactions");
  expect({"gen", "--brokers", "127.0.0.1:1", "--labels", "x"},
         "--labels is for file output; with --brokers event times are send "
         "times");
  expect({"gen", "--brokers", "127.0.0.1:1"},
         "--rate needs messages per second in (0, 1e7]");
  expect({"gen", "--brokers", "127.0.0.1:1", "--rate", "-3"},
         "--rate needs messages per second in (0, 1e7], not '-3'");
  expect({"gen", "--wat"}, "unknown flag --wat");
  // inf overflowed the schedule: nothing was sent, exit 0.
  expect(
      {"gen", "--brokers", "127.0.0.1:1", "--rate", "5", "--duration", "inf"},
      "--duration needs seconds in (0, 1e7], not 'inf'");
  expect({"gen", "--brokers", "", "--rate", "5"},
         "--brokers needs HOST:PORT[,HOST:PORT...]");
  expect({"gen", "--start", "1969-12-31T23:59:59Z"},
         "--start needs a time from 1970 to 8999, not '1969-12-31T23:59:59Z'");
  expect(
      {"gen", "--output", Path("g.jsonl"), "--labels", Path("sub/../g.jsonl")},
      "--labels and --output name the same file");

  Result help = Run({"gen", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, StartsWith("usage: txscreen gen"));
}

TEST_F(CliTest, UnwritableOutputs) {
  const std::string nowhere = Path("no/such/dir/x");
  Result gen = Run({"gen", "--count", "1", "--output", nowhere});
  EXPECT_EQ(gen.exit_code, 1);
  EXPECT_EQ(gen.err, "txscreen gen: cannot write " + nowhere +
                         ": No such file or directory\n");
  Result labels = Run({"gen", "--count", "1", "--output", Path("ok.jsonl"),
                       "--labels", nowhere});
  EXPECT_EQ(labels.exit_code, 1);
  EXPECT_EQ(labels.err, gen.err);
  Result screen = Run(
      {"screen", "--rules", kPack, "--input", kExamples, "--output", nowhere});
  EXPECT_EQ(screen.exit_code, 1);
  EXPECT_EQ(screen.err, "txscreen screen: cannot write " + nowhere +
                            ": No such file or directory\n");
}

TEST_F(CliTest, GenStoppedByCountReportsTheRateItOffered) {
  REQUIRE_KAFKA();
  const std::string topic = absl::StrCat("gen-count-test-", ::getpid());
  Result r = Run({"gen", "--brokers", testing::Brokers(), "--topic", topic,
                  "--rate", "2000", "--count", "500", "--duration", "10",
                  "--customers", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // 500 over the quarter second they were scheduled in, not over --duration.
  EXPECT_THAT(r.err, MatchesRegex("(.*\n)*sent 500 transactions in [0-9.]+ s "
                                  "\\(2000/s offered at 2000/s\\), delivered "
                                  "500, failed 0, .*\n"));
}

// Ctrl-C: what was sent is delivered and counted, exit 130 (it printed
// nothing and lost what librdkafka still queued).
TEST_F(CliTest, GenStopsOnCtrlCAfterDeliveringWhatItSent) {
  REQUIRE_KAFKA();
  const std::string topic = absl::StrCat("gen-stop-test-", ::getpid());
  Result r = Run({"gen", "--brokers", testing::Brokers(), "--topic", topic,
                  "--rate", "200", "--duration", "60", "--customers", "100"},
                 "", 2000);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.err, m,
      std::regex(R"(stopped by a signal: sent (\d+) transactions in .*)"
                 R"(delivered \1, failed 0)")))
      << r.err;
  const int64_t sent = std::stoll(m[1].str());
  EXPECT_GT(sent, 100);
  EXPECT_LT(sent, 1000);
  testing::TopicReader reader(testing::Brokers(), topic);
  reader.ReadUntil(
      [&](const auto& m) { return static_cast<int64_t>(m.size()) >= sent; },
      60000);
  EXPECT_EQ(static_cast<int64_t>(reader.messages().size()), sent);
}

TEST_F(CliTest, GenProducesOpenLoopToKafka) {
  REQUIRE_KAFKA();
  const std::string topic = absl::StrCat("gen-test-", ::getpid());
  Result r = Run({"gen", "--brokers", testing::Brokers(), "--topic", topic,
                  "--rate", "2000", "--duration", "1", "--customers", "1000",
                  "--scenario-share", "0.05"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // librdkafka may log a retry before the last line.
  EXPECT_THAT(r.err, MatchesRegex(
                         "(.*\n)*sent 2000 transactions in [0-9.]+ s \\(2000/s "
                         "offered at 2000/s\\), delivered 2000, failed 0, "
                         "at most [0-9.]+ ms behind schedule; [0-9]+ "
                         "scenarios started, [0-9]+ suspicious steps\n"));

  testing::TopicReader reader(testing::Brokers(), topic);
  reader.ReadUntil([](const auto& m) { return m.size() >= 2000; }, 60000);
  ASSERT_EQ(reader.messages().size(), 2000u);
  std::vector<int64_t> intended;
  int labelled = 0;
  for (const testing::TopicReader::Message& m : reader.messages()) {
    v1::Transaction tx;
    ASSERT_TRUE(tx.ParseFromString(m.value));
    EXPECT_EQ(m.key, tx.customer_id());
    auto it = m.headers.find("txscreen.intended-send-us");
    ASSERT_NE(it, m.headers.end());
    int64_t us = 0;
    ASSERT_TRUE(absl::SimpleAtoi(it->second, &us)) << it->second;
    // The event time is the intended send time.
    EXPECT_EQ(
        tx.occurred_at().seconds() * 1000000 + tx.occurred_at().nanos() / 1000,
        us);
    intended.push_back(us);
    labelled += m.headers.count("txscreen.scenario");
  }
  // Evenly spaced: 2,000 messages 500 µs apart.
  std::sort(intended.begin(), intended.end());
  EXPECT_NEAR(static_cast<double>(intended.back() - intended.front()),
              1999 * 500.0, 2000.0);
  EXPECT_GT(labelled, 20);
}

// --- replay
// ------------------------------------------------------------------

TEST_F(CliTest, ReplayUsageErrors) {
  auto expect = [&](const std::vector<std::string>& args,
                    const std::string& first_line) {
    ExpectUsageError(args, first_line);
  };
  const std::string in = Path("in.jsonl");
  WriteFile(in, "");
  expect({"replay", "--input", in}, "--brokers is required");
  expect({"replay", "--brokers", "127.0.0.1:1"}, "--input is required");
  expect({"replay", "--brokers", "127.0.0.1:1", "--input", in, "--speed", "2",
          "--rate", "5"},
         "--speed and --rate exclude each other");
  expect({"replay", "--brokers", "127.0.0.1:1", "--input", in, "--speed", "0"},
         "--speed needs a factor in (0, 1e9], not '0'");
  expect({"replay", "--brokers", "127.0.0.1:1", "--input", in, "--rate", "x"},
         "--rate needs transactions per second in (0, 1e7], not 'x'");
  expect(
      {"replay", "--brokers", "127.0.0.1:1", "--input", in, "--format", "xml"},
      "--format is proto or json, not 'xml'");
  expect({"replay", "--brokers", "127.0.0.1:1", "--input", in, "--producer",
          "acks"},
         "--producer: KEY=VALUE pairs expected, not 'acks'");
  expect({"replay", "--brokers", "127.0.0.1:1", "--input", in, "extra"},
         "unexpected argument 'extra'");
  Result missing =
      Run({"replay", "--brokers", "127.0.0.1:1", "--input", Path("none")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr(Path("none") + ": cannot read"));
  Result help = Run({"replay", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, StartsWith("usage: txscreen replay"));
}

// Recorded gaps of 0, 1, 1 (then an earlier time), 3 s at ten times the
// speed; an unreadable line is reported, not sent, and makes the exit 3.
TEST_F(CliTest, ReplaySendsAFileAtTheRecordedPace) {
  REQUIRE_KAFKA();
  auto tx = [](const char* id, const char* customer, const char* at) {
    return absl::StrCat(
        R"({"transaction_id":")", id, R"(","occurred_at":")", at,
        R"(","type":"TRANSACTION_TYPE_PAYMENT","channel":"CHANNEL_POS",)",
        R"("customer_id":")", customer,
        R"(","account_id":"6222000000000001","amount_minor":"3650",)",
        R"("currency":"CNY","direction":"DIRECTION_OUT","memo":"早餐"})");
  };
  const std::string in = Path("replay.jsonl");
  WriteFile(in,
            absl::StrCat(tx("R1", "C1", "2026-11-20T08:00:00+08:00"), "\n",
                         tx("R2", "C2", "2026-11-20T08:00:01+08:00"), "\n",
                         "{not json\n",
                         tx("R3", "C1", "2026-11-20T08:00:00.500+08:00"), "\n",
                         tx("R4", "C3", "2026-11-20T08:00:03+08:00"), "\n"));
  const std::string topic = absl::StrCat("replay-test-", ::getpid());
  Result r = Run({"replay", "--brokers", testing::Brokers(), "--topic", topic,
                  "--input", in, "--speed", "10"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr(in + ":3: "));
  EXPECT_THAT(r.err, MatchesRegex("(.*\n)*replayed 4 transactions in 0.3 s "
                                  "\\(recorded span 3.0 s\\), delivered 4, "
                                  "failed 0, at most [0-9.]+ ms behind "
                                  "schedule; 1 unreadable, 0 skipped\n"));

  std::map<std::string, int64_t> intended;
  for (const Sent& m : ReadSent(topic, 4)) {
    EXPECT_EQ(m.key, m.tx.customer_id());
    EXPECT_EQ(m.tx.memo(), "早餐");
    intended[m.tx.transaction_id()] = m.intended_us;
    // The recorded times are kept.
    if (m.tx.transaction_id() == "R1") {
      EXPECT_EQ(m.tx.occurred_at().seconds(), 1795132800);
    }
  }
  ASSERT_EQ(intended.size(), 4u);
  EXPECT_EQ(intended["R2"] - intended["R1"], 100000);
  EXPECT_EQ(intended["R3"] - intended["R1"], 100000);  // earlier: at once
  EXPECT_EQ(intended["R4"] - intended["R1"], 300000);
}

// Ctrl-C during a long recorded gap: what was sent is delivered and
// counted, the rest is not sent, exit 130.
TEST_F(CliTest, ReplayStopsOnCtrlCAfterDeliveringWhatItSent) {
  REQUIRE_KAFKA();
  const std::string in = Path("long.jsonl");
  std::string text;
  for (const char* at :
       {"2026-11-20T08:00:00+08:00", "2026-11-20T09:00:00+08:00"}) {
    text += absl::StrCat(
        R"({"transaction_id":"L-)", text.size(), R"(","occurred_at":")", at,
        R"(","type":"TRANSACTION_TYPE_PAYMENT","channel":"CHANNEL_POS",)",
        R"("customer_id":"C1","account_id":"6222000000000001",)",
        R"("amount_minor":"100","currency":"CNY","direction":"DIRECTION_OUT"})",
        "\n");
  }
  WriteFile(in, text);
  const std::string topic = absl::StrCat("replay-stop-test-", ::getpid());
  Result r = Run({"replay", "--brokers", testing::Brokers(), "--topic", topic,
                  "--input", in},
                 "", 3000);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_THAT(r.err, HasSubstr("long.jsonl:2: next send in 59m"));
  EXPECT_THAT(r.err, HasSubstr("stopped by a signal: replayed 1 transactions"));
  EXPECT_THAT(r.err, HasSubstr("delivered 1, failed 0"));
  testing::TopicReader reader(testing::Brokers(), topic);
  reader.ReadUntil([](const auto& m) { return m.size() >= 1; }, 60000);
  EXPECT_EQ(reader.messages().size(), 1u);
}

// A first transaction without occurred_at (the engine will reject it) is
// sent at once and does not start the recorded clock at 1970.
TEST_F(CliTest, ReplayOfATransactionWithoutTimeDoesNotStall) {
  REQUIRE_KAFKA();
  const std::string rest =
      R"(","type":"TRANSACTION_TYPE_PAYMENT","channel":"CHANNEL_POS",)"
      R"("customer_id":"C1","account_id":"6222000000000001",)"
      R"("amount_minor":"100","currency":"CNY","direction":"DIRECTION_OUT"})";
  const std::string in = Path("untimed.jsonl");
  WriteFile(
      in,
      absl::StrCat(
          R"({"transaction_id":"U1)", rest, "\n",
          R"({"transaction_id":"U2","occurred_at":"2026-11-20T08:00:00+08:00)",
          rest, "\n",
          R"({"transaction_id":"U3","occurred_at":"2026-11-20T08:00:01+08:00)",
          rest, "\n"));
  const std::string topic = absl::StrCat("replay-untimed-test-", ::getpid());
  Result r = Run({"replay", "--brokers", testing::Brokers(), "--topic", topic,
                  "--input", in, "--speed", "10"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("replayed 3 transactions in 0.1 s (recorded "
                               "span 1.0 s), delivered 3"));

  // --retime stamps the timed ones with their send time and leaves the
  // untimed one without a time (for the engine to reject, not mended here).
  const std::string retimed = topic + "-retimed";
  r = Run({"replay", "--brokers", testing::Brokers(), "--topic", retimed,
           "--input", in, "--speed", "10", "--retime"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const Sent& m : ReadSent(retimed, 3)) {
    if (m.tx.transaction_id() == "U1") {
      EXPECT_FALSE(m.tx.has_occurred_at());
    } else {
      EXPECT_EQ(engine::TimestampMicros(m.tx.occurred_at()), m.intended_us);
    }
  }
}

// Another system's CSV export through a mapping, as backtest reads it:
// skipped rows are not sent, a row that cannot be mapped is reported.
TEST_F(CliTest, ReplayOfAForeignCsvThroughAMapping) {
  REQUIRE_KAFKA();
  const std::string topic = absl::StrCat("replay-csv-test-", ::getpid());
  Result r = Run({"replay", "--brokers", testing::Brokers(), "--topic", topic,
                  "--input", TXSCREEN_SOURCE_DIR "/examples/ibm-aml-sample.csv",
                  "--mapping",
                  TXSCREEN_SOURCE_DIR "/examples/mappings/ibm-aml.textproto",
                  "--rate", "1000"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_THAT(r.err, HasSubstr("ibm-aml-sample.csv:13: column 'Payment "
                               "Format': value 'Money Order' is not mapped"));
  EXPECT_THAT(r.err, HasSubstr("replayed 10 transactions"));
  EXPECT_THAT(r.err, HasSubstr("delivered 10, failed 0"));
  EXPECT_THAT(r.err, HasSubstr("1 unreadable, 1 skipped"));
  for (const Sent& m : ReadSent(topic, 10)) {
    EXPECT_EQ(m.key, m.tx.customer_id());
    EXPECT_FALSE(m.tx.transaction_id().empty());
    EXPECT_GT(m.tx.amount_minor(), 0);
  }
}

TEST_F(CliTest, ReplayAtARateRetimesAsJson) {
  REQUIRE_KAFKA();
  Result gen = Run({"gen", "--customers", "100", "--count", "50", "--output",
                    Path("gen.jsonl")});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  const std::string topic = absl::StrCat("replay-rate-test-", ::getpid());
  Result r = Run({"replay", "--brokers", testing::Brokers(), "--topic", topic,
                  "--input", Path("gen.jsonl"), "--rate", "500", "--retime",
                  "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<int64_t> intended;
  for (const Sent& m : ReadSent(topic, 50, /*json=*/true)) {
    // Retimed: the event time is the send time.
    EXPECT_EQ(engine::TimestampMicros(m.tx.occurred_at()), m.intended_us);
    intended.push_back(m.intended_us);
  }
  ASSERT_EQ(intended.size(), 50u);
  std::sort(intended.begin(), intended.end());
  EXPECT_EQ(intended.back() - intended.front(), 49 * 2000);
}

// --- report large-value
// --------------------------------------------------------

TEST_F(CliTest, LargeValueReportFromScreenedReportRecords) {
  Result gen = Run({"gen", "--customers", "1000", "--count", "20000", "--seed",
                    "5", "--output", Path("tx.jsonl")});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  Result screen =
      Run({"screen", "--rules", kPack, "--input", Path("tx.jsonl"), "--output",
           Path("decisions.jsonl"), "--reports", Path("reports.jsonl")});
  ASSERT_EQ(screen.exit_code, 0) << screen.err;
  const std::string records = ReadFile(Path("reports.jsonl"));
  ASSERT_THAT(records, HasSubstr("\"reports\":[\"LARGE_VALUE_CASH\"]"));
  // The generator's traffic starts on Monday 2026-01-05, Beijing time.
  const std::vector<std::string> args = {
      "report",        "large-value",    "--date",  "2026-01-06",
      "--institution", "C3201000000001", "--input", Path("reports.jsonl")};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = args;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  Result csv = Run(with({"--output", Path("lv.csv")}));
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_THAT(csv.err,
              MatchesRegex("large-value report 2026-01-06: [1-9][0-9]* "
                           "records from [0-9]+ report records of the "
                           "day \\([0-9]+ read, 0 duplicates, [0-9]+ "
                           "withdrawn: reversed or not released, 0 "
                           "unreadable\\); deadline 2026-01-13 \\(5 "
                           "working days\\)\n"));
  const std::string report = ReadFile(Path("lv.csv"));
  EXPECT_THAT(report, StartsWith("report_id,report_kind,report_date,deadline,"
                                 "institution_code,customer_id,customer_kind,"
                                 "direction,account_id,"));
  EXPECT_THAT(report, HasSubstr(",LARGE_VALUE_CASH,2026-01-06,2026-01-13,"
                                "C3201000000001,"));
  // Run again, with the input given twice: the same report.
  Result again = Run(
      with({"--input", Path("reports.jsonl") + "," + Path("reports.jsonl")}));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, report);
  EXPECT_THAT(again.err, Not(HasSubstr(" 0 duplicates")));
  Result jsonl = Run(with({"--format", "jsonl"}));
  ASSERT_EQ(jsonl.exit_code, 0) << jsonl.err;
  EXPECT_THAT(jsonl.out, StartsWith("{\"report_id\":\"2026-01-06-"));
  EXPECT_THAT(jsonl.out, HasSubstr("\"deadline\":\"2026-01-13\""));
  // A holiday on the 8th moves the deadline a day.
  WriteFile(Path("holidays.txt"), "# test calendar\n2026-01-08\n");
  Result holiday = Run(with({"--holidays", Path("holidays.txt")}));
  EXPECT_THAT(holiday.err, HasSubstr("deadline 2026-01-14"));
}

// A reversed transaction did not happen: `screen --reports` writes a
// retraction for it, and the report leaves it out. The customer whose
// reported cumulative counted a reversed part has that part named.
TEST_F(CliTest, LargeValueReportLeavesOutReversedTransactions) {
  auto cash_in = [](const std::string& id, const std::string& customer,
                    const std::string& time, int64_t amount,
                    const std::string& reverses = "") {
    return absl::StrCat(
        "{\"transaction_id\":\"", id, "\",\"occurred_at\":\"2026-11-20T", time,
        "+08:00\",\"type\":\"TRANSACTION_TYPE_",
        reverses.empty() ? "CASH_DEPOSIT" : "REVERSAL",
        "\",\"channel\":\"CHANNEL_COUNTER\",\"customer_id\":\"", customer,
        "\",\"account_id\":\"A-", customer, "\",\"amount_minor\":", amount,
        ",\"currency\":\"CNY\",\"direction\":\"DIRECTION_IN\",\"cash\":true,",
        reverses.empty()
            ? ""
            : absl::StrCat("\"reverses_transaction_id\":\"", reverses, "\","),
        "\"region_code\":\"310106\",\"branch_id\":\"B1\"}\n");
  };
  WriteFile(Path("tx.jsonl"),
            cash_in("R-001", "C1", "09:00:00", 6000000) +
                cash_in("R-002", "C1", "09:10:00", 6000000, "R-001") +
                cash_in("R-003", "C2", "10:00:00", 4000000) +
                cash_in("R-004", "C2", "11:00:00", 2000000) +
                cash_in("R-005", "C2", "12:00:00", 4000000, "R-003") +
                // The reversal overtakes its original.
                cash_in("R-007", "C3", "09:20:00", 6000000, "R-006") +
                cash_in("R-006", "C3", "09:15:00", 6000000) +
                // Its cumulative never counted R-006.
                cash_in("R-008", "C3", "10:00:00", 5500000));
  Result screen =
      Run({"screen", "--rules", kPack, "--input", Path("tx.jsonl"), "--output",
           Path("decisions.jsonl"), "--reports", Path("reports.jsonl")});
  ASSERT_EQ(screen.exit_code, 0) << screen.err;
  const std::string records = ReadFile(Path("reports.jsonl"));
  EXPECT_THAT(records,
              HasSubstr("\"retraction\":{\"transaction_id\":\"R-001\","
                        "\"customer_id\":\"C1\",\"occurred_at\":"
                        "\"2026-11-20T01:00:00Z\",\"cause\":\"REVERSAL\","
                        "\"by_transaction_id\":\"R-002\"}"));
  EXPECT_THAT(records,
              HasSubstr("\"retraction\":{\"transaction_id\":\"R-003\""));
  EXPECT_THAT(records, HasSubstr("\"retraction\":{\"transaction_id\":\"R-006\","
                                 "\"customer_id\":\"C3\",\"occurred_at\":"
                                 "\"2026-11-20T01:15:00Z\",\"cause\":"
                                 "\"REVERSED_BEFORE_ARRIVAL\"}"));
  Result report =
      Run({"report", "large-value", "--date", "2026-11-20", "--institution",
           "C1", "--input", Path("reports.jsonl"), "--format", "jsonl"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_EQ(report.out.find("R-001"), std::string::npos) << report.out;
  EXPECT_EQ(report.out.find("R-006"), std::string::npos) << report.out;
  EXPECT_THAT(report.out, HasSubstr("\"transaction_id\":\"R-008\""));
  EXPECT_THAT(report.out, HasSubstr("\"transaction_id\":\"R-004\""));
  EXPECT_THAT(
      report.out,
      HasSubstr("\"retracted_same_day\":\"R-003 (REVERSAL by R-005)\""));
  EXPECT_THAT(report.err, HasSubstr(": 2 records from 4 report records of the "
                                    "day (7 read, 0 duplicates, 2 withdrawn"));
}

TEST_F(CliTest, LargeValueReportErrors) {
  Result r = Run({"report"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("a report kind is needed; use 'report large-value'"));
  r = Run({"report", "large-value", "--date", "2026-13-01", "--institution",
           "C", "--input", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--date needs YYYY-MM-DD from 1990 on, got "
                               "'2026-13-01'"));
  // A two-digit year would be the year 26: an empty report, not an error.
  for (const char* date : {"26-11-20", "0026-11-20", "2026-1-20"}) {
    r = Run({"report", "large-value", "--date", date, "--institution", "C",
             "--input", "x"});
    EXPECT_EQ(r.exit_code, 2) << date;
    EXPECT_THAT(r.err, HasSubstr("--date needs YYYY-MM-DD from 1990 on"));
  }
  r = Run({"report", "large-value", "--date", "2026-11-20", "--input", "x"});
  EXPECT_EQ(r.exit_code, 2);  // no institution
  EXPECT_THAT(r.err, HasSubstr("usage: txscreen report large-value"));
  WriteFile(Path("holidays.txt"), "2026-10-01\n2026-10-11 workday\n");
  WriteFile(Path("records.jsonl"), "{\"transaction\":{}}\nnot json\n");
  r = Run({"report", "large-value", "--date", "2026-11-20", "--institution",
           "C", "--input", Path("records.jsonl"), "--holidays",
           Path("holidays.txt")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              HasSubstr("holidays.txt:2: expected YYYY-MM-DD or "
                        "'YYYY-MM-DD working', got '2026-10-11 workday'"));
  r = Run({"report", "large-value", "--date", "2026-11-20", "--institution",
           "C", "--input", Path("records.jsonl")});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("records.jsonl:2: "));
}

TEST_F(CliTest, LargeValueReportReadsTheReportsTopic) {
  REQUIRE_KAFKA();
  Result gen = Run({"gen", "--customers", "500", "--count", "8000", "--seed",
                    "9", "--output", Path("tx.jsonl")});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  Result screen =
      Run({"screen", "--rules", kPack, "--input", Path("tx.jsonl"), "--output",
           Path("d.jsonl"), "--reports", Path("r.jsonl")});
  ASSERT_EQ(screen.exit_code, 0) << screen.err;
  // The records as the engine publishes them: protobuf, keyed by customer.
  const std::string topic = absl::StrCat("reports-test-", ::getpid());
  std::string error;
  std::unique_ptr<RdKafka::Conf> conf(
      RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  conf->set("bootstrap.servers", testing::Brokers(), error);
  std::unique_ptr<RdKafka::Producer> producer(
      RdKafka::Producer::create(conf.get(), error));
  ASSERT_NE(producer, nullptr) << error;
  std::istringstream lines(ReadFile(Path("r.jsonl")));
  std::string line;
  int produced = 0;
  while (std::getline(lines, line)) {
    v1::ReportRecord record;
    ASSERT_TRUE(
        google::protobuf::util::JsonStringToMessage(line, &record).ok());
    const std::string bytes = record.SerializeAsString();
    const std::string& key = record.transaction().customer_id();
    ASSERT_EQ(producer->produce(topic, RdKafka::Topic::PARTITION_UA,
                                RdKafka::Producer::RK_MSG_COPY,
                                const_cast<char*>(bytes.data()), bytes.size(),
                                key.data(), key.size(), 0, nullptr),
              RdKafka::ERR_NO_ERROR);
    ++produced;
  }
  ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
  ASSERT_GT(produced, 0);
  Result from_file = Run({"report", "large-value", "--date", "2026-01-05",
                          "--institution", "C1", "--input", Path("r.jsonl")});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  ASSERT_THAT(from_file.out, HasSubstr("LARGE_VALUE"));
  // The record timestamps are now, after the report day: --date reads from
  // a day before the date, so the whole topic is read here.
  Result from_topic =
      Run({"report", "large-value", "--date", "2026-01-05", "--institution",
           "C1", "--brokers", testing::Brokers(), "--topic", topic});
  ASSERT_EQ(from_topic.exit_code, 0) << from_topic.err;
  EXPECT_EQ(from_topic.out, from_file.out);
}

// --- state inspect
// -------------------------------------------------------------

TEST_F(CliTest, StateInspectOfAScreenedCustomer) {
  Result screen =
      Run({"screen", "--rules", kPack, "--input", kExamples, "--output",
           Path("d.jsonl"), "--state-dir", Path("state")});
  ASSERT_EQ(screen.exit_code, 0) << screen.err;
  const std::string tx = ReadFile(kExamples);
  const size_t at = tx.find("\"customer_id\":\"");
  ASSERT_NE(at, std::string::npos);
  const size_t start = at + std::strlen("\"customer_id\":\"");
  const std::string customer = tx.substr(start, tx.find('"', start) - start);
  Result text = Run({"state", "inspect", "--customer", customer, "--state-dir",
                     Path("state"), "--rules", kPack});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, StartsWith("customer " + customer +
                                   " (partition 0), "
                                   "windows as of "));
  EXPECT_THAT(text.out, HasSubstr("\nwindows:\n  cash_in_cny_day"));
  EXPECT_THAT(text.out,
              HasSubstr("remembered transactions (duplicates, reversals): "));
  Result json = Run({"state", "inspect", "--customer", customer, "--state-dir",
                     Path("state"), "--rules", kPack, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, StartsWith("{\"customer_id\":\"" + customer +
                                   "\",\"found\":true,\"partition\":0,"));
  Result nobody =
      Run({"state", "inspect", "--customer", "NOBODY", "--state-dir",
           Path("state"), "--rules", kPack, "--json"});
  EXPECT_EQ(nobody.exit_code, 0);
  EXPECT_EQ(nobody.out, "{\"customer_id\":\"NOBODY\",\"found\":false}\n");
  Result missing = Run({"state", "inspect", "--customer", "C", "--state-dir",
                        Path("none"), "--rules", kPack});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no state in " + Path("none")));
  Result stats = Run({"state", "stats", "--state-dir", Path("state")});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_THAT(stats.out,
              StartsWith("family           keys          bytes  bytes/key\n"
                         "windows "));
  // Every record is in a chunk (this state was written with chunks).
  const size_t dedupe = stats.out.find("\ndedupe: ");
  ASSERT_NE(dedupe, std::string::npos) << stats.out;
  long records = 0, chunked = 0, chunks = 0, single = -1;
  ASSERT_EQ(std::sscanf(stats.out.c_str() + dedupe,
                        "\ndedupe: %ld transaction records, %ld in %ld chunks, "
                        "%ld under keys",
                        &records, &chunked, &chunks, &single),
            4)
      << stats.out;
  EXPECT_GT(records, 0);
  EXPECT_EQ(chunked, records);
  EXPECT_GE(chunks, 1);
  EXPECT_EQ(single, 0);
  EXPECT_THAT(stats.out,
              MatchesRegex("(.*\n)*total [0-9]+ bytes of keys and values, "
                           "[0-9]+ on disk; [1-9][0-9]* customers with "
                           "history: [0-9]+ bytes per customer \\([0-9]+ on "
                           "disk\\)\n"));
  Result usage = Run({"state", "inspect"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err,
              HasSubstr("usage: txscreen state inspect --customer ID"));
  Result bad_at =
      Run({"state", "inspect", "--customer", "C", "--at", "yesterday"});
  EXPECT_EQ(bad_at.exit_code, 2);
  EXPECT_THAT(bad_at.err,
              HasSubstr("--at needs an RFC 3339 time from 1970 to 9999, got "
                        "'yesterday'"));
  // Far-off times parse but overflowed the window arithmetic.
  for (const char* at :
       {"infinite-future", "300000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"}) {
    Result far = Run({"state", "inspect", "--customer", "C", "--at", at});
    EXPECT_EQ(far.exit_code, 2) << at;
    EXPECT_THAT(far.err, HasSubstr("--at needs an RFC 3339 time from 1970 to "
                                   "9999"))
        << at;
  }
}

// Every command answers --help with its usage on standard output, exit 0
// (screen, rules check/test, audit and state stats took it for a bad flag
// or a path).
TEST_F(CliTest, EveryCommandAnswersHelp) {
  const std::vector<std::vector<std::string>> commands = {
      {"screen"},
      {"rules", "check"},
      {"rules", "test"},
      {"audit"},
      {"audit", "export"},
      {"state", "stats"},
      {"state", "inspect"},
      {"backtest"},
      {"report", "large-value"},
      {"gen"},
      {"replay"},
      {"demo"},
      {"serve"}};
  for (std::vector<std::string> args : commands) {
    args.push_back("--help");
    Result r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(args, " ") << "\n" << r.err;
    EXPECT_THAT(r.out, HasSubstr("usage: txscreen "))
        << absl::StrJoin(args, " ");
  }
  Result top = Run({"--help"});
  EXPECT_THAT(top.out, HasSubstr("state stats [--state-dir DIR]"));
}

TEST_F(CliTest, CommandUsageErrors) {
  Result none = Run({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.out + none.err,
              StartsWith("usage: txscreen COMMAND [ARGS]\n"));

  Result bogus = Run({"bogus"});
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_THAT(bogus.err, StartsWith("txscreen: unknown command 'bogus'\n"
                                    "usage: txscreen COMMAND [ARGS]\n"));

  Result rules = Run({"rules"});
  EXPECT_EQ(rules.exit_code, 2);
  EXPECT_THAT(rules.err, HasSubstr("usage: txscreen COMMAND [ARGS]\n"));

  Result help = Run({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, StartsWith("usage: txscreen COMMAND [ARGS]\n"));
  EXPECT_THAT(help.out,
              HasSubstr("  screen --rules R --input FILE|- --output FILE|-"));
}

// --- backtest and rules diff ------------------------------------------------

// The generator's labelled scenarios through the shipped pack: every
// scenario's suspicious steps are flagged (recall 1 per group).
TEST_F(CliTest, BacktestOfGenTrafficCatchesEveryScenario) {
  Result gen = Run({"gen", "--customers", "2000", "--count", "20000", "--seed",
                    "11", "--scenario-share", "0.03", "--output",
                    Path("tx.jsonl"), "--labels", Path("labels.csv")});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  Result r = Run({"backtest", "--rules", kPack, "--input", Path("tx.jsonl"),
                  "--labels", Path("labels.csv"), "--group-by", "scenario",
                  "--output", Path("out"), "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("20000 rows: "));
  EXPECT_THAT(r.out, HasSubstr("overall (flagged = REVIEW or stronger)"));
  const std::string report = ReadFile(Path("out/report.json"));
  for (const char* scenario :
       {"safe_account_scam", "structuring", "mule_in_out", "fan_in", "fan_out",
        "cross_region", "police_listed_payee", "velocity_burst",
        "cash_courier"}) {
    const std::string key = absl::StrCat("{\"group\":\"", scenario, "\"");
    const size_t at = report.find(key);
    ASSERT_NE(at, std::string::npos) << scenario << " in " << report;
    const std::string group = report.substr(at, report.find('}', at) - at);
    EXPECT_THAT(group, HasSubstr("\"recall\":1.0000")) << group;
  }
  EXPECT_THAT(report, HasSubstr("\"overall\":{\"true_positives\":"));
  EXPECT_THAT(ReadFile(Path("out/decisions.jsonl")),
              HasSubstr("\"verdict\":\"VERDICT_INTERCEPT\""));
}

TEST_F(CliTest, BacktestOfAForeignCsvThroughAMapping) {
  Result r =
      Run({"backtest", "--rules", kPack, "--input",
           TXSCREEN_SOURCE_DIR "/examples/ibm-aml-sample.csv", "--mapping",
           TXSCREEN_SOURCE_DIR "/examples/mappings/ibm-aml.textproto",
           "--label", "Is Laundering", "--quiet"});
  EXPECT_EQ(r.exit_code, 3) << r.err;  // one row with an unmapped format
  EXPECT_THAT(r.err, HasSubstr("ibm-aml-sample.csv:13: column 'Payment "
                               "Format': value 'Money Order' is not mapped"));
  EXPECT_THAT(r.out, HasSubstr("12 rows: 10 transactions screened, 0 "
                               "duplicates, 1 skipped, 1 bad"));
  EXPECT_THAT(r.out, HasSubstr("skipped 1: column 'Payment Currency' is "
                               "'Bitcoin'"));
  EXPECT_THAT(r.out, HasSubstr("CASH-STRUCT"));
}

TEST_F(CliTest, BacktestAndDiffErrors) {
  Result r = Run({"backtest"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("usage: txscreen backtest --rules"));
  WriteFile(Path("bad.textproto"),
            "field { path: \"transaction_id\" column: \"id\" }\n"
            "field { path: \"amont_minor\" column: \"a\" }\n");
  r = Run({"backtest", "--rules", kPack, "--input", Path("bad.textproto"),
           "--mapping", Path("bad.textproto")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(Path("bad.textproto") +
                               ":2:9: unknown field 'amont_minor' in "
                               "Transaction (path 'amont_minor') (did you mean "
                               "'amount_minor'?)"));
  r = Run({"backtest", "--rules", kPack, "--input", Path("missing.jsonl")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("missing.jsonl: cannot read: No such file"));
  r = Run({"rules", "diff", "--old", kPack});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("usage: txscreen rules diff --old"));
  r = Run({"rules", "diff", "--old", kPack, "--new", kPack, "--input",
           kExamples, "--examples", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err,
              HasSubstr("--examples needs a count of 0 or more, got 'x'"));
}

TEST_F(CliTest, RulesDiffWritesJson) {
  const std::string data = TXSCREEN_SOURCE_DIR "/compliance/testdata/";
  Result r =
      Run({"rules", "diff", "--old", data + "old_pack", "--new",
           data + "new_pack", "--input", data + "labelled.csv", "--mapping",
           data + "labelled.textproto", "--json", Path("diff.json")});
  EXPECT_EQ(r.exit_code, 3) << r.err;  // labelled.csv has one bad row
  EXPECT_THAT(r.out, HasSubstr("verdict changed on 2 transactions"));
  EXPECT_THAT(ReadFile(Path("diff.json")),
              HasSubstr("\"rules\":[{\"rule_id\":\"BIG\",\"old_hits\":3,"
                        "\"new_hits\":4,\"added\":1,\"removed\":0}"));
}

}  // namespace
}  // namespace txscreen
