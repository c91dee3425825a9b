// File: serve_config_test.cc
#include "serve/serve_config.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::serve {
namespace {

namespace v1 = ::txscreen::v1;

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

// A file in the test's temporary directory, removed at the end of the test.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& contents)
      : path_(absl::StrCat(::testing::TempDir(), "serve_config_test_", getpid(),
                           "_", name)) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ErrorOf(const std::vector<std::string>& args,
                    const std::string& env_token = "") {
  absl::StatusOr<ServeCommandOptions> got = ParseServeConfig(args, env_token);
  if (got.ok()) return "(ok)";
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
      << got.status();
  return std::string(got.status().message());
}

ServeCommandOptions Parse(const std::vector<std::string>& args,
                          const std::string& env_token = "") {
  absl::StatusOr<ServeCommandOptions> got = ParseServeConfig(args, env_token);
  EXPECT_TRUE(got.ok()) << got.status();
  return got.ok() ? *std::move(got) : ServeCommandOptions();
}

constexpr char kToken[] = "0123456789abcdef-admin";

// ---------------------------------------------------------------------------
// Defaults.

TEST(ServeConfigTest, DefaultsWithoutArguments) {
  ServeCommandOptions got = Parse({});
  const ServeOptions& o = got.serve;
  EXPECT_EQ(o.brokers, "");
  EXPECT_EQ(o.group, "txscreen");
  EXPECT_EQ(o.instance_id, "");
  EXPECT_THAT(o.rules, ElementsAre("rules/packs/cn"));
  EXPECT_EQ(o.state_dir, "txscreen-data");
  EXPECT_EQ(o.input_format, WireFormat::kProto);
  EXPECT_EQ(o.output_format, WireFormat::kProto);
  EXPECT_EQ(o.partitions, 6);
  EXPECT_TRUE(o.create_topics);
  EXPECT_EQ(o.commit_interval_ms, 100);
  EXPECT_EQ(o.kafka_timeout_ms, 30000);
  EXPECT_EQ(o.topics.transactions, "txscreen.transactions");
  EXPECT_EQ(o.topics.decisions, "txscreen.decisions");
  EXPECT_EQ(o.topics.alerts, "txscreen.alerts");
  EXPECT_EQ(o.topics.dead_letter, "txscreen.dead-letter");
  EXPECT_EQ(o.topics.changelog.state, "txscreen.state-changelog");
  EXPECT_EQ(o.topics.changelog.dedupe, "txscreen.dedupe-changelog");
  EXPECT_THAT(o.kafka, IsEmpty());
  EXPECT_EQ(o.screener.default_budget_us, 10LL * 1000000);
  for (int64_t us : o.screener.channel_budget_us) EXPECT_EQ(us, 0);
  EXPECT_EQ(o.fail_safe, DefaultFailSafe());
  EXPECT_TRUE(got.http);
  EXPECT_EQ(got.http_host, "127.0.0.1");
  EXPECT_EQ(got.http_port, 8080);
  EXPECT_EQ(got.admin_token, "");
  EXPECT_THAT(got.shown, IsEmpty());
}

TEST(ServeConfigTest, DefaultFailSafeVerdicts) {
  const auto fail_safe = DefaultFailSafe();
  EXPECT_EQ(fail_safe[v1::CHANNEL_COUNTER], v1::VERDICT_INTERCEPT);
  EXPECT_EQ(fail_safe[v1::CHANNEL_VTM], v1::VERDICT_INTERCEPT);
  EXPECT_EQ(fail_safe[v1::CHANNEL_ATM], v1::VERDICT_REVIEW);
  EXPECT_EQ(fail_safe[v1::CHANNEL_POS], v1::VERDICT_REVIEW);
  EXPECT_EQ(fail_safe[v1::CHANNEL_PHONE], v1::VERDICT_DELAY);
  EXPECT_EQ(fail_safe[v1::CHANNEL_ONLINE], v1::VERDICT_DELAY);
  EXPECT_EQ(fail_safe[v1::CHANNEL_MOBILE], v1::VERDICT_DELAY);
}

// ---------------------------------------------------------------------------
// Every key, as `--key value` and as `--key=value`.

class ServeConfigFlagStyleTest : public ::testing::TestWithParam<bool> {
 protected:
  // The flags for `key` = `value` in this test's style.
  void Add(const std::string& key, const std::string& value) {
    if (GetParam()) {
      args_.push_back(absl::StrCat("--", key, "=", value));
    } else {
      args_.push_back(absl::StrCat("--", key));
      args_.push_back(value);
    }
  }
  std::vector<std::string> args_;
};

TEST_P(ServeConfigFlagStyleTest, EveryPlainKey) {
  TempFile token("token", absl::StrCat(kToken, "\n"));
  Add("brokers", "k1:9092,k2:9092");
  Add("group", "fraud");
  Add("instance-id", "node-7");
  Add("rules", "rules/packs/cn,extra/pack.yaml,");
  Add("state-dir", "/var/lib/txscreen");
  Add("input-format", "json");
  Add("output-format", "json");
  Add("partitions", "12");
  Add("create-topics", "false");
  Add("topic.transactions", "t.tx");
  Add("topic.decisions", "t.dec");
  Add("topic.alerts", "t.alerts");
  Add("topic.dead-letter", "t.dlq");
  Add("topic.state-changelog", "t.state");
  Add("topic.dedupe-changelog", "t.dedupe");
  Add("topic.overrides", "t.ov");
  Add("topic.override-results", "t.ovr");
  Add("topic.dispositions", "t.disp");
  Add("topic.holds", "t.holds");
  Add("roster", "/etc/txscreen/staff.csv");
  Add("hold-timeout", "45m");
  Add("commit-interval-ms", "250");
  Add("kafka-timeout-ms", "5000");
  Add("budget", "1m30s");
  Add("http", "0.0.0.0:9100");
  Add("admin-token-file", token.path());

  ServeCommandOptions got = Parse(args_, "env-token-ignored-here");
  const ServeOptions& o = got.serve;
  EXPECT_EQ(o.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(o.group, "fraud");
  EXPECT_EQ(o.instance_id, "node-7");
  EXPECT_THAT(o.rules, ElementsAre("rules/packs/cn", "extra/pack.yaml"));
  EXPECT_EQ(o.state_dir, "/var/lib/txscreen");
  EXPECT_EQ(o.input_format, WireFormat::kJson);
  EXPECT_EQ(o.output_format, WireFormat::kJson);
  EXPECT_EQ(o.partitions, 12);
  EXPECT_FALSE(o.create_topics);
  EXPECT_EQ(o.topics.transactions, "t.tx");
  EXPECT_EQ(o.topics.decisions, "t.dec");
  EXPECT_EQ(o.topics.alerts, "t.alerts");
  EXPECT_EQ(o.topics.dead_letter, "t.dlq");
  EXPECT_EQ(o.topics.changelog.state, "t.state");
  EXPECT_EQ(o.topics.changelog.dedupe, "t.dedupe");
  EXPECT_EQ(o.topics.overrides, "t.ov");
  EXPECT_EQ(o.topics.override_results, "t.ovr");
  EXPECT_EQ(o.topics.dispositions, "t.disp");
  EXPECT_EQ(o.topics.holds, "t.holds");
  EXPECT_EQ(o.roster_path, "/etc/txscreen/staff.csv");
  EXPECT_EQ(o.holds.timeout_us, 45LL * 60 * 1000000);
  EXPECT_EQ(o.commit_interval_ms, 250);
  EXPECT_EQ(o.kafka_timeout_ms, 5000);
  EXPECT_EQ(o.screener.default_budget_us, 90LL * 1000000);
  EXPECT_TRUE(got.http);
  EXPECT_EQ(got.http_host, "0.0.0.0");
  EXPECT_EQ(got.http_port, 9100);
  EXPECT_EQ(got.admin_token, kToken);
  // Untouched keys keep their defaults.
  EXPECT_EQ(o.fail_safe, DefaultFailSafe());
  EXPECT_THAT(o.kafka, IsEmpty());
  EXPECT_EQ(got.shown.size(), 26u);
}

TEST_P(ServeConfigFlagStyleTest, EveryChannelBudget) {
  const std::vector<std::pair<std::string, v1::Channel>> channels = {
      {"counter", v1::CHANNEL_COUNTER}, {"atm", v1::CHANNEL_ATM},
      {"mobile", v1::CHANNEL_MOBILE},   {"online", v1::CHANNEL_ONLINE},
      {"vtm", v1::CHANNEL_VTM},         {"pos", v1::CHANNEL_POS},
      {"phone", v1::CHANNEL_PHONE}};
  for (size_t i = 0; i < channels.size(); ++i) {
    Add(absl::StrCat("budget.", channels[i].first),
        absl::StrCat(100 * (i + 1), "ms"));
  }
  ServeCommandOptions got = Parse(args_);
  const auto& budgets = got.serve.screener.channel_budget_us;
  EXPECT_EQ(budgets[v1::CHANNEL_UNSPECIFIED], 0);
  for (size_t i = 0; i < channels.size(); ++i) {
    EXPECT_EQ(budgets[channels[i].second], 100000 * static_cast<int64_t>(i + 1))
        << channels[i].first;
  }
  EXPECT_EQ(got.serve.screener.default_budget_us, 10LL * 1000000);
}

TEST_P(ServeConfigFlagStyleTest, EveryChannelFailSafe) {
  Add("fail-safe.counter", "allow");
  Add("fail-safe.atm", "review");
  Add("fail-safe.mobile", "warn");
  Add("fail-safe.online", "delay");
  Add("fail-safe.vtm", "intercept");
  Add("fail-safe.pos", "block");
  Add("fail-safe.phone", "BLOCK");  // case-insensitive
  ServeCommandOptions got = Parse(args_);
  const auto& f = got.serve.fail_safe;
  EXPECT_EQ(f[v1::CHANNEL_COUNTER], v1::VERDICT_ALLOW);
  EXPECT_EQ(f[v1::CHANNEL_ATM], v1::VERDICT_REVIEW);
  EXPECT_EQ(f[v1::CHANNEL_MOBILE], v1::VERDICT_WARN);
  EXPECT_EQ(f[v1::CHANNEL_ONLINE], v1::VERDICT_DELAY);
  EXPECT_EQ(f[v1::CHANNEL_VTM], v1::VERDICT_INTERCEPT);
  EXPECT_EQ(f[v1::CHANNEL_POS], v1::VERDICT_BLOCK);
  EXPECT_EQ(f[v1::CHANNEL_PHONE], v1::VERDICT_BLOCK);
  EXPECT_EQ(f[v1::CHANNEL_UNSPECIFIED],
            DefaultFailSafe()[v1::CHANNEL_UNSPECIFIED]);
}

TEST_P(ServeConfigFlagStyleTest, KafkaSettingsPassThrough) {
  Add("kafka.security.protocol", "SASL_SSL");
  Add("kafka.sasl.mechanism", "SCRAM-SHA-512");
  Add("kafka.sasl.username", "svc-txscreen");
  Add("kafka.sasl.password", "pw=with=equals");
  Add("kafka.linger.ms", "5");
  ServeCommandOptions got = Parse(args_);
  EXPECT_THAT(got.serve.kafka,
              UnorderedElementsAre(Pair("security.protocol", "SASL_SSL"),
                                   Pair("sasl.mechanism", "SCRAM-SHA-512"),
                                   Pair("sasl.username", "svc-txscreen"),
                                   Pair("sasl.password", "pw=with=equals"),
                                   Pair("linger.ms", "5")));
}

TEST_P(ServeConfigFlagStyleTest, HttpOff) {
  Add("http", "off");
  ServeCommandOptions got = Parse(args_);
  EXPECT_FALSE(got.http);
}

TEST_P(ServeConfigFlagStyleTest, ConfigFile) {
  TempFile file("flagstyle.conf", "group = from-file\n");
  Add("config", file.path());
  EXPECT_EQ(Parse(args_).serve.group, "from-file");
}

INSTANTIATE_TEST_SUITE_P(ServeConfig, ServeConfigFlagStyleTest,
                         ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "KeyEqualsValue" : "KeyValue";
                         });

TEST(ServeConfigTest, HttpHostForms) {
  ServeCommandOptions got = Parse({"--http", "[::1]:0"});
  EXPECT_EQ(got.http_host, "[::1]");
  EXPECT_EQ(got.http_port, 0);
  got = Parse({"--http", "localhost:65535"});
  EXPECT_EQ(got.http_host, "localhost");
  EXPECT_EQ(got.http_port, 65535);
}

TEST(ServeConfigTest, TheLastOfARepeatedFlagWins) {
  EXPECT_EQ(Parse({"--group", "a", "--group=b"}).serve.group, "b");
}

TEST(ServeConfigTest, EmptyFlagValueIsAValue) {
  ServeCommandOptions got = Parse({"--instance-id="});
  EXPECT_EQ(got.serve.instance_id, "");
  EXPECT_THAT(got.shown, ElementsAre("instance-id = "));
}

TEST(ServeConfigTest, DurationsAreMicroseconds) {
  EXPECT_EQ(Parse({"--budget", "500ms"}).serve.screener.default_budget_us,
            500000);
  EXPECT_EQ(Parse({"--budget", "1.5s"}).serve.screener.default_budget_us,
            1500000);
  EXPECT_EQ(Parse({"--budget", "250ms"}).serve.screener.default_budget_us,
            250000);
}

// ---------------------------------------------------------------------------
// The config file.

TEST(ServeConfigTest, ConfigFileKeysCommentsAndBlankLines) {
  TempFile file("full.conf",
                "# txscreen serve\n"
                "\n"
                "brokers = k1:9092   \n"
                "   group=fraud-file\n"
                "rules = a,b  # two packs\n"
                "\t\n"
                "  # indented comment\n"
                "budget.atm = 2s\n"
                "fail-safe.online = block\n"
                "kafka.sasl.password = s3cr3t-from-file\n"
                "kafka.client.rack = rack-1\n"
                "http = off\n"
                "topic.decisions = dec\n");
  ServeCommandOptions got = Parse({"--config", file.path()});
  const ServeOptions& o = got.serve;
  EXPECT_EQ(o.brokers, "k1:9092");
  EXPECT_EQ(o.group, "fraud-file");
  EXPECT_THAT(o.rules, ElementsAre("a", "b"));
  EXPECT_EQ(o.screener.channel_budget_us[v1::CHANNEL_ATM], 2000000);
  EXPECT_EQ(o.fail_safe[v1::CHANNEL_ONLINE], v1::VERDICT_BLOCK);
  EXPECT_THAT(o.kafka,
              UnorderedElementsAre(Pair("sasl.password", "s3cr3t-from-file"),
                                   Pair("client.rack", "rack-1")));
  EXPECT_FALSE(got.http);
  EXPECT_EQ(o.topics.decisions, "dec");
  // `config` itself is not part of the effective configuration.
  for (const std::string& line : got.shown) {
    EXPECT_THAT(line, Not(HasSubstr("config =")));
  }
}

TEST(ServeConfigTest, EmptyConfigFileIsAllDefaults) {
  TempFile file("empty.conf", "");
  ServeCommandOptions got = Parse({"--config", file.path()});
  EXPECT_EQ(got.serve.group, "txscreen");
  EXPECT_THAT(got.shown, IsEmpty());
}

TEST(ServeConfigTest, FlagsWinOverTheFile) {
  TempFile file("override.conf",
                "group = from-file\n"
                "state-dir = /from/file\n"
                "partitions = not-a-number\n"
                "kafka.linger.ms = 50\n");
  // Flags before and after --config alike; a bad value in the file that a
  // flag overrides is never parsed.
  ServeCommandOptions got =
      Parse({"--group", "from-flag", "--config", file.path(), "--partitions=3",
             "--kafka.linger.ms", "1"});
  EXPECT_EQ(got.serve.group, "from-flag");
  EXPECT_EQ(got.serve.state_dir, "/from/file");
  EXPECT_EQ(got.serve.partitions, 3);
  EXPECT_THAT(got.serve.kafka, ElementsAre(Pair("linger.ms", "1")));
}

TEST(ServeConfigTest, HashInsideAValueIsPartOfIt) {
  // Only '#' at the start of a line or after white space starts a comment:
  // a password with '#' is not cut short.
  TempFile file("hash.conf",
                "kafka.sasl.password = pa#ss\n"
                "group = abc#def   # the group\n"
                "#brokers = k9:9092\n");
  ServeCommandOptions got = Parse({"--config", file.path()});
  EXPECT_THAT(got.serve.kafka, ElementsAre(Pair("sasl.password", "pa#ss")));
  EXPECT_EQ(got.serve.group, "abc#def");
  EXPECT_EQ(got.serve.brokers, "");
}

TEST(ServeConfigTest, EmptyBrokersGroupStateDirOrTopicIsAnError) {
  // "brokers =" would quietly start the embedded cluster.
  TempFile file("empty-brokers.conf", "group = g\nbrokers =\n");
  EXPECT_EQ(ErrorOf({"--config", file.path()}),
            absl::StrCat(file.path(), ":2: brokers needs a value"));
  EXPECT_EQ(ErrorOf({"--topic.decisions="}),
            "--topic.decisions: topic.decisions needs a value");
  EXPECT_EQ(ErrorOf({"--state-dir", ""}),
            "--state-dir: state-dir needs a value");
}

TEST(ServeConfigTest, KafkaSettingErrorsNameWhereTheyWereGiven) {
  TempFile file("kafka.conf", "group = g\n\nkafka.linger.ms = -5\n");
  EXPECT_THAT(ErrorOf({"--config", file.path()}),
              StartsWith(absl::StrCat(file.path(),
                                      ":3: kafka setting linger.ms=-5: ")));
  EXPECT_THAT(ErrorOf({"--kafka.no.such.setting", "1"}),
              StartsWith("--kafka.no.such.setting: kafka setting "
                         "no.such.setting=1: "));
  // A secret's value is not shown in the error.
  EXPECT_THAT(ErrorOf({"--kafka.sasl.oauthbearer.config", "x",
                       "--kafka.sasl.mechanism", "NOPE"}),
              Not(HasSubstr("=x")));
}

TEST(ServeConfigTest, ShortAdminTokenFromTheEnvironmentIsRefused) {
  EXPECT_EQ(ErrorOf({}, "short"),
            "the admin token in $TXSCREEN_ADMIN_TOKEN is shorter than 16 "
            "characters");
  EXPECT_EQ(Parse({}, "0123456789abcdef").admin_token, "0123456789abcdef");
}

TEST(ServeConfigTest, TwoRolesOnOneTopicAreRefused) {
  // Decisions written to the input topic would be read back as
  // transactions.
  EXPECT_EQ(ErrorOf({"--topic.decisions", "txscreen.transactions"}),
            "topic.transactions and topic.decisions are the same topic, "
            "'txscreen.transactions': each needs its own");
  EXPECT_EQ(ErrorOf({"--topic.holds", "h", "--topic.dead-letter", "h"}),
            "topic.dead-letter and topic.holds are the same topic, 'h': each "
            "needs its own");
}

TEST(ServeConfigTest, ValueErrorsInTheFileNameFileAndLine) {
  TempFile file("badvalue.conf",
                "group = g\n"
                "# comment\n"
                "\n"
                "budget = 10\n");
  EXPECT_EQ(
      ErrorOf({"--config", file.path()}),
      absl::StrCat(file.path(),
                   ":4: expected a duration from 1ms to 24h such as 10s or "
                   "500ms, got '10'"));
}

// ---------------------------------------------------------------------------
// Errors, exactly.

TEST(ServeConfigTest, UnexpectedArgument) {
  EXPECT_EQ(ErrorOf({"serve"}), "unexpected argument 'serve'");
  EXPECT_EQ(ErrorOf({"-group", "x"}), "unexpected argument '-group'");
  EXPECT_EQ(ErrorOf({"--"}), "unexpected argument '--'");
  // A value after a complete --key=value is a stray argument.
  EXPECT_EQ(ErrorOf({"--group=a", "b"}), "unexpected argument 'b'");
}

TEST(ServeConfigTest, UnknownFlag) {
  EXPECT_EQ(ErrorOf({"--nope", "1"}), "unknown flag --nope");
  EXPECT_EQ(ErrorOf({"--nope=1"}), "unknown flag --nope");
  EXPECT_EQ(ErrorOf({"--kafka.", "x"}), "unknown flag --kafka.");
  EXPECT_EQ(ErrorOf({"--budget.teller", "1s"}), "unknown flag --budget.teller");
  EXPECT_EQ(ErrorOf({"--fail-safe.unspecified", "block"}),
            "unknown flag --fail-safe.unspecified");
  EXPECT_EQ(ErrorOf({"--topic.other", "x"}), "unknown flag --topic.other");
  EXPECT_EQ(ErrorOf({"--=x"}), "unknown flag --");
}

TEST(ServeConfigTest, MissingValue) {
  EXPECT_EQ(ErrorOf({"--brokers"}), "--brokers needs a value");
  EXPECT_EQ(ErrorOf({"--group", "g", "--config"}), "--config needs a value");
  EXPECT_EQ(ErrorOf({"--kafka.sasl.password"}),
            "--kafka.sasl.password needs a value");
  // The next flag is not the value of one whose value was forgotten.
  EXPECT_EQ(ErrorOf({"--brokers", "--group", "g"}), "--brokers needs a value");
}

// Settings exactly-once and the group depend on are the service's: a
// transactional.id made the decisions producer transactional and no
// decision was ever delivered; bootstrap.servers silently overrode
// --brokers.
TEST(ServeConfigTest, KafkaSettingsTheServiceOwnsAreRefused) {
  EXPECT_EQ(ErrorOf({"--kafka.transactional.id", "oops"}),
            "--kafka.transactional.id: kafka.transactional.id is set by "
            "txscreen itself (exactly-once and the consumer group depend on "
            "it)");
  EXPECT_EQ(ErrorOf({"--kafka.bootstrap.servers", "b:9092"}),
            "--kafka.bootstrap.servers: kafka.bootstrap.servers is set by "
            "txscreen itself (exactly-once and the consumer group depend on "
            "it); use brokers");
  TempFile file("owned.conf",
                "group = g\nkafka.isolation.level = read_uncommitted\n");
  EXPECT_THAT(ErrorOf({"--config", file.path()}),
              StartsWith(absl::StrCat(file.path(),
                                      ":2: kafka.isolation.level is set by")));
  for (const char* owned :
       {"group.id", "enable.auto.commit", "enable.auto.offset.store",
        "auto.offset.reset", "enable.partition.eof", "metadata.broker.list",
        "partition.assignment.strategy"}) {
    EXPECT_THAT(ErrorOf({absl::StrCat("--kafka.", owned), "x"}),
                HasSubstr("is set by txscreen itself"))
        << owned;
  }
}

TEST(ServeConfigTest, BadFormat) {
  EXPECT_EQ(ErrorOf({"--input-format", "xml"}),
            "--input-format: expected proto or json, got 'xml'");
  EXPECT_EQ(ErrorOf({"--output-format=JSON"}),
            "--output-format: expected proto or json, got 'JSON'");
}

TEST(ServeConfigTest, StateMemoryAndCacheAndShadow) {
  ServeCommandOptions o =
      Parse({"--state-memory-mb", "64", "--state-cache-entities", "200000",
             "--shadow-rules", "cand/a,cand/b", "--shadow-state-dir",
             "/var/lib/shadow", "--topic.shadow-decisions", "t.shadow",
             "--topic.reports", "t.reports"});
  EXPECT_EQ(o.serve.store.memory_bytes, size_t{64} << 20);
  EXPECT_EQ(o.serve.state_cache_entities, 200000);
  EXPECT_THAT(o.serve.shadow_rules, ElementsAre("cand/a", "cand/b"));
  EXPECT_EQ(o.serve.shadow_state_dir, "/var/lib/shadow");
  EXPECT_EQ(o.serve.topics.shadow_decisions, "t.shadow");
  EXPECT_EQ(o.serve.topics.reports, "t.reports");
  EXPECT_EQ(Parse({}).serve.store.memory_bytes, size_t{256} << 20);
  EXPECT_EQ(ErrorOf({"--state-memory-mb", "8"}),
            "--state-memory-mb: expected a number from 16 to 1048576, got '8'");
  EXPECT_EQ(
      ErrorOf({"--state-cache-entities", "lots"}),
      "--state-cache-entities: expected a number from 1000 to 1000000000, "
      "got 'lots'");
}

TEST(ServeConfigTest, StateSweepKeys) {
  EXPECT_EQ(Parse({}).serve.state_sweep_keys, 256);
  EXPECT_EQ(Parse({"--state-sweep-keys", "0"}).serve.state_sweep_keys, 0);
  EXPECT_EQ(Parse({"--state-sweep-keys=5000"}).serve.state_sweep_keys, 5000);
  EXPECT_EQ(ErrorOf({"--state-sweep-keys", "-1"}),
            "--state-sweep-keys: expected a number from 0 (no sweep) to "
            "1000000, got '-1'");
}

TEST(ServeConfigTest, BadNumber) {
  for (const char* bad : {"0", "-1", "abc", "1.5", "", "6x"}) {
    EXPECT_EQ(
        ErrorOf({"--partitions", bad}),
        absl::StrCat("--partitions: expected a number from 1 to 100000, got '",
                     bad, "'"));
    EXPECT_EQ(
        ErrorOf({absl::StrCat("--commit-interval-ms=", bad)}),
        absl::StrCat(
            "--commit-interval-ms: expected a number from 1 to 100000, got '",
            bad, "'"));
  }
  EXPECT_EQ(Parse({"--partitions", "1000"}).serve.partitions, 1000);
  EXPECT_EQ(ErrorOf({"--partitions", "1001"}),
            "--partitions: at most 1000 partitions, got '1001'");
  EXPECT_EQ(Parse({"--commit-interval-ms", "100000"}).serve.commit_interval_ms,
            100000);
  EXPECT_EQ(
      ErrorOf({"--commit-interval-ms", "100001"}),
      "--commit-interval-ms: expected a number from 1 to 100000, got '100001'");
}

TEST(ServeConfigTest, KafkaTimeoutIsASecondToTenMinutes) {
  EXPECT_EQ(Parse({"--kafka-timeout-ms", "1000"}).serve.kafka_timeout_ms, 1000);
  EXPECT_EQ(Parse({"--kafka-timeout-ms=600000"}).serve.kafka_timeout_ms,
            600000);
  for (const char* bad : {"999", "600001", "0", "-5000", "30s", ""}) {
    EXPECT_EQ(ErrorOf({"--kafka-timeout-ms", bad}),
              absl::StrCat("--kafka-timeout-ms: expected milliseconds from "
                           "1000 to 600000, got '",
                           bad, "'"));
  }
}

TEST(ServeConfigTest, BadBoolean) {
  EXPECT_EQ(ErrorOf({"--create-topics", "yes"}),
            "--create-topics: expected true or false, got 'yes'");
}

TEST(ServeConfigTest, BadDuration) {
  for (const char* bad : {"10", "0s", "-1s", "soon", ""}) {
    EXPECT_EQ(
        ErrorOf({"--budget", bad}),
        absl::StrCat("--budget: expected a duration from 1ms to 24h such as "
                     "10s or 500ms, got '",
                     bad, "'"));
  }
  EXPECT_EQ(ErrorOf({"--budget.pos=5"}),
            "--budget.pos: expected a duration from 1ms to 24h such as 10s or "
            "500ms, got '5'");
}

TEST(ServeConfigTest, BadVerdict) {
  EXPECT_EQ(ErrorOf({"--fail-safe.atm", "deny"}),
            "--fail-safe.atm: expected allow, review, warn, delay, intercept "
            "or block, got 'deny'");
  EXPECT_EQ(ErrorOf({"--fail-safe.phone="}),
            "--fail-safe.phone: expected allow, review, warn, delay, "
            "intercept or block, got ''");
}

TEST(ServeConfigTest, BadHttp) {
  for (const char* bad : {"localhost", ":8080", "host:", "host:http",
                          "host:65536", "host:-1", "on", ""}) {
    EXPECT_EQ(
        ErrorOf({"--http", bad}),
        absl::StrCat("--http: expected HOST:PORT or off, got '", bad, "'"));
  }
}

TEST(ServeConfigTest, NoRulePack) {
  EXPECT_EQ(ErrorOf({"--rules", ","}), "rules: no rule pack given");
  EXPECT_EQ(ErrorOf({"--rules="}), "--rules: rules needs a value");
}

TEST(ServeConfigTest, UnknownKeyInTheFile) {
  TempFile file("unknown.conf",
                "group = g\n"
                "\n"
                "nope = 1\n");
  EXPECT_EQ(ErrorOf({"--config", file.path()}),
            absl::StrCat(file.path(), ":3: unknown key 'nope'"));
}

TEST(ServeConfigTest, ConfigKeyInTheFileIsUnknown) {
  TempFile file("nested.conf", "config = other.conf\n");
  EXPECT_EQ(ErrorOf({"--config", file.path()}),
            absl::StrCat(file.path(), ":1: unknown key 'config'"));
}

TEST(ServeConfigTest, LineWithoutEqualsInTheFile) {
  TempFile file("noeq.conf",
                "# header\n"
                "brokers k1:9092   # comment\n");
  EXPECT_EQ(ErrorOf({"--config", file.path()}),
            absl::StrCat(file.path(), ":2: expected key = value"));
}

TEST(ServeConfigTest, UnreadableConfigFile) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "serve_config_test_missing.conf");
  EXPECT_EQ(ErrorOf({"--config", path}),
            absl::StrCat("cannot read config file ", path,
                         ": No such file or directory"));
}

TEST(ServeConfigTest, AdminTokenFile) {
  TempFile file("token-ws", absl::StrCat("  ", kToken, " \nsecond line\n"));
  ServeCommandOptions got =
      Parse({"--admin-token-file", file.path()}, "env-token-not-used");
  EXPECT_EQ(got.admin_token, kToken);
}

TEST(ServeConfigTest, AdminTokenOfExactly16Characters) {
  TempFile file("token16", "0123456789abcdef");
  EXPECT_EQ(Parse({"--admin-token-file", file.path()}).admin_token,
            "0123456789abcdef");
}

TEST(ServeConfigTest, AdminTokenFileUnreadable) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "serve_config_test_no_token");
  EXPECT_EQ(ErrorOf({"--admin-token-file", path}),
            absl::StrCat("--admin-token-file: cannot read ", path,
                         ": No such file or directory"));
}

TEST(ServeConfigTest, AdminTokenShorterThan16Characters) {
  TempFile file("token15", "0123456789abcde\n");
  EXPECT_EQ(ErrorOf({"--admin-token-file", file.path()}),
            absl::StrCat("--admin-token-file: the admin token in ", file.path(),
                         " is shorter than 16 characters"));
  TempFile empty("token-empty", "\n\n");
  EXPECT_EQ(ErrorOf({"--admin-token-file", empty.path()}, kToken),
            absl::StrCat("--admin-token-file: the admin token in ",
                         empty.path(), " is shorter than 16 characters"));
}

TEST(ServeConfigTest, AdminTokenFileFromTheConfigFileNamesFileAndLine) {
  TempFile token("token-short-cfg", "short\n");
  TempFile file(
      "token.conf",
      absl::StrCat("group = g\nadmin-token-file = ", token.path(), "\n"));
  EXPECT_EQ(ErrorOf({"--config", file.path()}),
            absl::StrCat(file.path(), ":2: the admin token in ", token.path(),
                         " is shorter than 16 characters"));
}

TEST(ServeConfigTest, EnvTokenOnlyWithoutAdminTokenFile) {
  EXPECT_EQ(Parse({}, "env-token-0123456789").admin_token,
            "env-token-0123456789");
  EXPECT_EQ(Parse({}, "").admin_token, "");
  TempFile file("token-vs-env", kToken);
  EXPECT_EQ(Parse({"--admin-token-file", file.path()}, "env-token-0123456789")
                .admin_token,
            kToken);
}

// ---------------------------------------------------------------------------
// `shown`: the effective configuration, secrets masked.

TEST(ServeConfigTest, ShownListsGivenKeysInKeyOrder) {
  ServeCommandOptions got =
      Parse({"--kafka.sasl.username", "svc", "--group", "g", "--brokers",
             "k:9092", "--kafka.sasl.password", "Hunter2-Secret-Value",
             "--budget.atm", "2s", "--http", "off"});
  EXPECT_THAT(got.shown,
              ElementsAre("brokers = k:9092", "budget.atm = 2s", "group = g",
                          "http = off", "kafka.sasl.password = ******",
                          "kafka.sasl.username = svc"));
}

TEST(ServeConfigTest, ShownNeverContainsASecret) {
  const std::vector<std::pair<std::string, std::string>> secrets = {
      {"kafka.sasl.password", "Secret-Sasl-Password-1"},
      {"kafka.ssl.key.password", "Secret-Key-Password-2"},
      {"kafka.ssl.keystore.password", "Secret-Keystore-Password-3"},
      // (sasl.oauthbearer.client.secret: Debian's librdkafka is built
      // without OIDC and refuses it; kafka_util_test checks it is masked.)
      {"kafka.ssl.key.pem", "-----BEGIN PRIVATE KEY-----Secret-Pem-5"},
      {"kafka.sasl.oauthbearer.config",
       "principal=svc extension_apikey=Secret-Oauth-Config-6"}};
  TempFile token("token-shown", "Secret-Admin-Token-Value-7\n");
  TempFile file("secrets.conf",
                "kafka.ssl.key.password = Secret-Key-Password-2\n"
                "kafka.sasl.oauthbearer.config = principal=svc "
                "extension_apikey=Secret-Oauth-Config-6\n");
  std::vector<std::string> args = {"--config", file.path(),
                                   "--admin-token-file", token.path()};
  for (const auto& [key, value] : secrets) {
    if (key == "kafka.ssl.key.password" ||
        key == "kafka.sasl.oauthbearer.config") {
      continue;  // from the file
    }
    args.push_back(absl::StrCat("--", key, "=", value));
  }
  ServeCommandOptions got = Parse(args, "Secret-Env-Token-Value-8");
  ASSERT_EQ(got.admin_token, "Secret-Admin-Token-Value-7");
  ASSERT_EQ(got.shown.size(), secrets.size() + 1);
  for (const auto& [key, value] : secrets) {
    EXPECT_THAT(got.shown, testing::Contains(absl::StrCat(key, " = ******")));
  }
  for (const std::string& line : got.shown) {
    EXPECT_THAT(line, Not(HasSubstr("Secret-"))) << line;
  }
  // The secrets still reach librdkafka.
  EXPECT_EQ(got.serve.kafka.at("sasl.password"), "Secret-Sasl-Password-1");
  EXPECT_EQ(got.serve.kafka.at("ssl.key.password"), "Secret-Key-Password-2");
}

TEST(ServeConfigTest, ShownDoesNotContainTheEnvToken) {
  ServeCommandOptions got = Parse({"--group", "g"}, "Secret-Env-Token-Value");
  EXPECT_THAT(got.shown, ElementsAre("group = g"));
}

TEST(ServeConfigTest, ErrorsAboutSecretFlagsDoNotEchoTheSecret) {
  std::string error = ErrorOf({"--kafka.sasl.password"});
  EXPECT_THAT(error, Not(HasSubstr("Secret")));
  error = ErrorOf({"--kafka.sasl.password=Secret-Value-1", "--nope", "x"});
  EXPECT_EQ(error, "unknown flag --nope");
  // librdkafka refuses the Java client's JAAS config: said where, masked.
  TempFile file("jaas.conf",
                "kafka.sasl.jaas.config = password=\"Secret-Jaas-9\"\n");
  error = ErrorOf({"--config", file.path()});
  EXPECT_THAT(error,
              StartsWith(absl::StrCat(
                  file.path(), ":1: kafka setting sasl.jaas.config=******: ")));
  EXPECT_THAT(error, Not(HasSubstr("Secret")));
}

// A line without `=` is not echoed: it may be a secret written as
// `kafka.sasl.password: VALUE` (a YAML habit).
TEST(ServeConfigTest, MalformedLineInTheFileIsNotEchoed) {
  TempFile file("secret-noeq.conf",
                "kafka.sasl.password: Secret-Hunter2-Value\n");
  const std::string error = ErrorOf({"--config", file.path()});
  EXPECT_THAT(error, HasSubstr(absl::StrCat(file.path(), ":1:")));
  EXPECT_THAT(error, Not(HasSubstr("Secret-Hunter2-Value")));
}

// A directory given as --config would read as an empty file and the
// service would start on the defaults (an embedded cluster).
TEST(ServeConfigTest, ConfigFileThatIsADirectoryIsRefused) {
  const std::string dir = ::testing::TempDir();
  absl::StatusOr<ServeCommandOptions> got =
      ParseServeConfig({"--config", dir}, "");
  EXPECT_FALSE(got.ok()) << "--config " << dir << " was accepted; brokers = '"
                         << (got.ok() ? got->serve.brokers : "") << "'";
}

// A budget below a millisecond is refused: stored in µs it could become 0,
// which ScreenerOptions reads as "not set".
TEST(ServeConfigTest, SubMillisecondBudgetIsRefused) {
  absl::StatusOr<ServeCommandOptions> got =
      ParseServeConfig({"--budget.atm", "500ns"}, "");
  if (got.ok()) {
    EXPECT_GT(got->serve.screener.channel_budget_us[v1::CHANNEL_ATM], 0)
        << "--budget.atm 500ns accepted and stored as 0 (= use the default)";
  }
  got = ParseServeConfig({"--budget", "1ns"}, "");
  if (got.ok()) {
    EXPECT_GT(got->serve.screener.default_budget_us, 0)
        << "--budget 1ns accepted and stored as 0";
  }
}

// absl::ParseDuration accepts "inf"; as a budget it would overflow
// occurred_at + budget.
TEST(ServeConfigTest, InfiniteBudgetIsRefused) {
  absl::StatusOr<ServeCommandOptions> got =
      ParseServeConfig({"--budget", "inf"}, "");
  EXPECT_FALSE(got.ok()) << "--budget inf accepted as "
                         << (got.ok() ? got->serve.screener.default_budget_us
                                      : 0)
                         << " us";
}

}  // namespace
}  // namespace txscreen::serve
