// Integration tests of `txscreen serve` against a real Apache Kafka broker
// (tools/test starts one and sets TXSCREEN_KAFKA_BROKERS; without it these
// tests skip, or fail when TXSCREEN_REQUIRE_KAFKA=1), and of the embedded
// mode with kcat. The engine runs as a separate process, as in production,
// so that it can be killed with SIGKILL.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "bench/transaction_generator.h"
#include "engine/partition_state.h"
#include "engine/state_store.h"
#include "engine/transaction_codec.h"
#include "engine/window.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "librdkafka/rdkafkacpp.h"
#include "rules/rule_pack_loader.h"
#include "rules/stable_hash.h"
#include "tests/kafka_test_util.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/report.pb.h"

namespace txscreen {
namespace {

namespace v1 = ::txscreen::v1;
using ::testing::IsEmpty;
using ::txscreen::testing::Brokers;
using ::txscreen::testing::NowMs;
using ::txscreen::testing::TempDir;
using ::txscreen::testing::TopicReader;
using ::txscreen::testing::WaitCommittedToEnd;

constexpr char kBinary[] = TXSCREEN_BIN;
constexpr char kSourceDir[] = TXSCREEN_SOURCE_DIR;

// `txscreen serve` as a child process; stdout and stderr go to files.
class ServeProcess {
 public:
  ServeProcess(std::vector<std::string> args, const std::string& log_dir)
      : stdout_path_(absl::StrCat(log_dir, "/serve.", ++count_, ".out")),
        stderr_path_(absl::StrCat(log_dir, "/serve.", count_, ".err")) {
    args.insert(args.begin(), {kBinary, "serve"});
    pid_ = fork();
    if (pid_ == 0) {
      int out = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(out, 1);
      dup2(err, 2);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(kBinary, argv.data());
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void Signal(int sig) { kill(pid_, sig); }
  // Exit status (or 128 + signal), -1 on timeout.
  int Wait(int timeout_ms) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (NowMs() < deadline) {
      int status = 0;
      pid_t r = waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  // Waits until stderr contains `text` (e.g. the service is consuming: its
  // topics exist). False on timeout or exit.
  bool WaitForLog(const std::string& text, int timeout_ms, int times = 1) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (NowMs() < deadline) {
      const std::string log = Stderr();
      int found = 0;
      for (size_t at = log.find(text); at != std::string::npos;
           at = log.find(text, at + 1)) {
        ++found;
      }
      if (found >= times) return true;
      if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::string Stdout() const { return ReadFile(stdout_path_); }
  std::string Stderr() const { return ReadFile(stderr_path_); }
  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  static inline int count_ = 0;
  std::string stdout_path_, stderr_path_;
  pid_t pid_ = -1;
};

std::unique_ptr<RdKafka::Producer> MakeProducer(const std::string& brokers) {
  std::unique_ptr<RdKafka::Conf> conf(
      RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", brokers, error);
  conf->set("linger.ms", "5", error);
  // As core banking must: without idempotence, librdkafka's retries may
  // reorder a partition's messages (seen after a broker restart), and a
  // customer's transactions would be decided out of order.
  conf->set("enable.idempotence", "true", error);
  return std::unique_ptr<RdKafka::Producer>(
      RdKafka::Producer::create(conf.get(), error));
}

void Produce(RdKafka::Producer* producer, const std::string& topic,
             int32_t partition, const std::string& key,
             const std::string& value) {
  while (true) {
    RdKafka::ErrorCode e =
        producer->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                          const_cast<char*>(value.data()), value.size(),
                          key.data(), key.size(), 0, nullptr);
    if (e == RdKafka::ERR__QUEUE_FULL) {
      producer->poll(50);
      continue;
    }
    ASSERT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
    return;
  }
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(m, &out, options).ok());
  return out;
}

// Test traffic: `n` generated transactions of `customers` customers.
std::vector<v1::Transaction> Traffic(int n, int customers) {
  bench::GeneratorOptions options;
  options.customers = customers;
  bench::TransactionGenerator gen(options);
  std::vector<v1::Transaction> out(n);
  for (v1::Transaction& tx : out) gen.Next(&tx);
  return out;
}

// The decisions `txscreen screen` makes for `txs`, in order.
std::vector<v1::Decision> Screen(const std::vector<v1::Transaction>& txs,
                                 const std::string& rules,
                                 const std::string& dir) {
  const std::string in = dir + "/screen.in.jsonl",
                    out = dir + "/screen.out.jsonl";
  {
    std::ofstream f(in);
    for (const v1::Transaction& tx : txs) f << ToJson(tx) << "\n";
  }
  std::string command = absl::StrCat(kBinary, " screen --rules ", rules,
                                     " --input ", in, " --output ", out);
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::vector<v1::Decision> decisions;
  std::ifstream f(out);
  std::string line;
  while (std::getline(f, line)) {
    v1::Decision d;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &d).ok());
    decisions.push_back(d);
  }
  return decisions;
}

// Per-test topic names, so that tests never see each other's messages.
struct Names {
  explicit Names(const std::string& tag) {
    const std::string p = absl::StrCat("it", getpid(), ".", tag, ".");
    transactions = p + "transactions";
    decisions = p + "decisions";
    alerts = p + "alerts";
    reports = p + "reports";
    dead_letter = p + "dead-letter";
    state = p + "state-changelog";
    dedupe = p + "dedupe-changelog";
    group = p + "group";
  }

  std::vector<std::string> Flags() const {
    return {"--topic.transactions",
            transactions,
            "--topic.decisions",
            decisions,
            "--topic.alerts",
            alerts,
            "--topic.reports",
            reports,
            "--topic.dead-letter",
            dead_letter,
            "--topic.state-changelog",
            state,
            "--topic.dedupe-changelog",
            dedupe,
            "--group",
            group,
            "--topic.overrides",
            transactions + ".overrides",
            "--topic.override-results",
            transactions + ".override-results",
            "--topic.dispositions",
            transactions + ".dispositions",
            "--topic.holds",
            transactions + ".holds"};
  }
  std::string transactions, decisions, alerts, reports, dead_letter, state,
      dedupe, group;
};

std::vector<std::string> Concat(std::vector<std::string> a,
                                const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// serve's arguments for the count pack (tests/testdata/count_pack) on
// `brokers` with `partitions`, its state in `state_dir`, then `more`.
std::vector<std::string> CountPackArgs(const std::string& brokers,
                                       const Names& names,
                                       const std::string& state_dir,
                                       int partitions,
                                       const std::vector<std::string>& more) {
  return Concat(Concat({"--brokers", brokers, "--rules",
                        absl::StrCat(kSourceDir, "/tests/testdata/count_pack"),
                        "--state-dir", state_dir, "--partitions",
                        absl::StrCat(partitions)},
                       more),
                names.Flags());
}

// Kafka's topic tool (tools/kafka/topics) on `brokers` with `args`; its
// output in `log_dir`/topics.log, returned when it fails ("" when it
// succeeds).
std::string TopicTool(const std::string& brokers, const std::string& args,
                      const std::string& log_dir) {
  const std::string log = log_dir + "/topics.log";
  const std::string command =
      absl::StrCat(kSourceDir, "/tools/kafka/topics --bootstrap-server ",
                   brokers, " ", args, " > ", log, " 2>&1");
  return std::system(command.c_str()) == 0
             ? ""
             : absl::StrCat("failed: ", command, "\n",
                            ServeProcess::ReadFile(log));
}

// The admin HTTP of a serve started with --http 127.0.0.1:0, at the port
// its log names (0 when it names none).
std::unique_ptr<httplib::Client> AdminClient(const ServeProcess& serve) {
  const std::string log = serve.Stderr();
  const size_t at = log.find("admin http on 127.0.0.1:");
  EXPECT_NE(at, std::string::npos) << log;
  return std::make_unique<httplib::Client>(
      "127.0.0.1",
      at == std::string::npos ? 0 : std::atoi(log.c_str() + at + 24));
}

v1::Decision ParseDecision(const std::string& bytes, bool json) {
  v1::Decision d;
  if (json) {
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(bytes, &d).ok())
        << bytes;
  } else {
    EXPECT_TRUE(d.ParseFromString(bytes));
  }
  return d;
}

// --- Round trip ------------------------------------------------------------

void RoundTrip(bool json) {
  const std::string brokers = Brokers();
  TempDir dir;
  Names names(json ? "rt-json" : "rt-proto");
  const std::vector<v1::Transaction> txs = Traffic(10000, 2000);
  const std::string rules = absl::StrCat(kSourceDir, "/rules/packs/cn");
  // One partition: serve decides in the order of the file, as screen does.
  ServeProcess serve(
      Concat({"--brokers", brokers, "--rules", rules, "--state-dir",
              dir.path() + "/state", "--partitions", "1", "--http", "off",
              "--input-format", json ? "json" : "proto", "--output-format",
              json ? "json" : "proto"},
             names.Flags()),
      dir.path());
  // It creates its topics; producing first would auto-create them.
  ASSERT_TRUE(serve.WaitForLog("consuming ", 60000)) << serve.Stderr();
  auto producer = MakeProducer(brokers);
  for (const v1::Transaction& tx : txs) {
    Produce(producer.get(), names.transactions, RdKafka::Topic::PARTITION_UA,
            tx.customer_id(), json ? ToJson(tx) : tx.SerializeAsString());
  }
  ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);

  TopicReader reader(brokers, names.decisions);
  reader.ReadUntil([&](const auto& m) { return m.size() >= txs.size(); },
                   120000);
  ASSERT_EQ(reader.messages().size(), txs.size()) << serve.Stderr();
  const std::vector<v1::Decision> expected = Screen(txs, rules, dir.path());
  ASSERT_EQ(expected.size(), txs.size());
  int alerts = 0;
  // transaction id -> its report kinds, for decisions that name some.
  std::map<std::string, std::vector<std::string>> report_kinds;
  // Original id -> the reversal that took it back: each gets a retraction.
  std::map<std::string, std::string> reversed;
  for (size_t i = 0; i < txs.size(); ++i) {
    if (expected[i].reports_size() > 0 && !expected[i].duplicate()) {
      report_kinds[txs[i].transaction_id()].assign(
          expected[i].reports().begin(), expected[i].reports().end());
    }
    for (const std::string& note : expected[i].notes()) {
      if (!expected[i].duplicate() && absl::StrContains(note, ": retracted ")) {
        reversed[txs[i].reverses_transaction_id()] = txs[i].transaction_id();
      }
    }
    v1::Decision got = ParseDecision(reader.messages()[i].value, json);
    ASSERT_EQ(got.transaction_id(), expected[i].transaction_id()) << i;
    EXPECT_EQ(got.verdict(), expected[i].verdict()) << got.transaction_id();
    EXPECT_EQ(got.duplicate(), expected[i].duplicate()) << i;
    EXPECT_EQ(reader.messages()[i].key, got.customer_id());
    // The generated traffic is from January: a backlog, decided late.
    EXPECT_TRUE(got.late()) << i;
    EXPECT_EQ(got.deadline().seconds(), txs[i].occurred_at().seconds() + 10);
    if (got.verdict() != v1::VERDICT_ALLOW || got.reports_size() > 0) {
      ++alerts;
    }
  }
  EXPECT_GT(alerts, 0);
  // Exactly one decision each: nothing more arrives.
  reader.ReadUntil([&](const auto& m) { return m.size() > txs.size(); }, 2000);
  EXPECT_EQ(reader.messages().size(), txs.size());
  TopicReader alert_reader(brokers, names.alerts);
  alert_reader.ReadUntil(
      [&](const auto& m) { return static_cast<int>(m.size()) >= alerts; },
      30000);
  EXPECT_EQ(static_cast<int>(alert_reader.messages().size()), alerts);
  // One report record per reported transaction, carrying the transaction.
  ASSERT_FALSE(report_kinds.empty());
  TopicReader report_reader(brokers, names.reports);
  ASSERT_FALSE(reversed.empty());
  const size_t records = report_kinds.size() + reversed.size();
  report_reader.ReadUntil([&](const auto& m) { return m.size() >= records; },
                          30000);
  ASSERT_EQ(report_reader.messages().size(), records);
  std::map<std::string, const v1::Transaction*> by_id;
  for (const v1::Transaction& tx : txs) by_id.emplace(tx.transaction_id(), &tx);
  for (const auto& m : report_reader.messages()) {
    v1::ReportRecord record;
    if (json) {
      ASSERT_TRUE(
          google::protobuf::util::JsonStringToMessage(m.value, &record).ok());
    } else {
      ASSERT_TRUE(record.ParseFromString(m.value));
    }
    if (record.has_retraction()) {
      const v1::Retraction& r = record.retraction();
      ASSERT_EQ(reversed.count(r.transaction_id()), 1u) << r.transaction_id();
      EXPECT_EQ(r.cause(), "REVERSAL");
      EXPECT_EQ(r.by_transaction_id(), reversed[r.transaction_id()]);
      const v1::Transaction& original = *by_id.at(r.transaction_id());
      EXPECT_EQ(r.customer_id(), original.customer_id());
      EXPECT_EQ(m.key, original.customer_id());
      EXPECT_EQ(r.occurred_at().SerializeAsString(),
                original.occurred_at().SerializeAsString());
      reversed.erase(r.transaction_id());
      continue;
    }
    const std::string& id = record.transaction().transaction_id();
    ASSERT_EQ(report_kinds.count(id), 1u) << id;
    EXPECT_THAT(record.reports(),
                ::testing::ElementsAreArray(report_kinds[id]));
    EXPECT_EQ(record.transaction().SerializeAsString(),
              by_id.at(id)->SerializeAsString());
    EXPECT_EQ(m.key, record.transaction().customer_id());
    EXPECT_EQ(record.base_currency(), "CNY");
    EXPECT_GT(record.amount_base_minor(), 0);
    EXPECT_GT(record.amount_usd_minor(), 0);
  }

  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(30000), 0) << serve.Stderr();
}

TEST(ServeIntegrationTest, RoundTripProto) {
  REQUIRE_KAFKA();
  RoundTrip(false);
}

TEST(ServeIntegrationTest, RoundTripJson) {
  REQUIRE_KAFKA();
  RoundTrip(true);
}

// Traffic that occurred just now, so that it is decided within the budget.
std::vector<v1::Transaction> LiveTraffic(int n, int customers) {
  std::vector<v1::Transaction> txs = Traffic(n, customers);
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  for (v1::Transaction& tx : txs) tx.mutable_occurred_at()->set_seconds(now_s);
  return txs;
}

// --- Poison messages ---------------------------------------------------------

TEST(ServeIntegrationTest, PoisonGoesToDeadLettersAndTheRestIsDecided) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("poison");
  std::vector<v1::Transaction> txs = LiveTraffic(500, 100);
  ServeProcess serve(
      Concat({"--brokers", brokers, "--state-dir", dir.path() + "/state",
              "--rules", absl::StrCat(kSourceDir, "/rules/packs/cn"),
              "--partitions", "3", "--http", "off"},
             names.Flags()),
      dir.path());
  ASSERT_TRUE(serve.WaitForLog("consuming ", 60000)) << serve.Stderr();
  auto producer = MakeProducer(brokers);
  std::vector<std::string> garbage = {
      std::string("\xff\xff\xff\xff garbage", 13), "{\"json\": \"not proto\"}",
      std::string(1, '\x0a'), std::string("\x08\x96\x01\x12", 4)};
  int poisoned = 0;
  for (size_t i = 0; i < txs.size(); ++i) {
    Produce(producer.get(), names.transactions, RdKafka::Topic::PARTITION_UA,
            txs[i].customer_id(), txs[i].SerializeAsString());
    if (i % 50 == 0) {
      Produce(producer.get(), names.transactions, RdKafka::Topic::PARTITION_UA,
              "bad-key", garbage[poisoned++ % garbage.size()]);
    }
  }
  ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
  TopicReader decisions(brokers, names.decisions);
  decisions.ReadUntil([&](const auto& m) { return m.size() >= txs.size(); },
                      60000);
  EXPECT_EQ(decisions.messages().size(), txs.size()) << serve.Stderr();
  for (const TopicReader::Message& m : decisions.messages()) {
    EXPECT_FALSE(ParseDecision(m.value, false).late());
  }
  TopicReader dead(brokers, names.dead_letter);
  dead.ReadUntil(
      [&](const auto& m) { return static_cast<int>(m.size()) >= poisoned; },
      30000);
  ASSERT_EQ(static_cast<int>(dead.messages().size()), poisoned);
  for (const TopicReader::Message& m : dead.messages()) {
    EXPECT_EQ(m.key, "bad-key");
    EXPECT_FALSE(m.headers.at("txscreen.error").empty());
    EXPECT_EQ(m.headers.at("txscreen.topic"), names.transactions);
    EXPECT_FALSE(m.headers.at("txscreen.offset").empty());
    EXPECT_TRUE(m.headers.count("txscreen.partition"));
  }
  // The original bytes, untouched.
  std::multiset<std::string> sent, got;
  for (int i = 0; i < poisoned; ++i) sent.insert(garbage[i % garbage.size()]);
  for (const TopicReader::Message& m : dead.messages()) got.insert(m.value);
  EXPECT_EQ(sent, got);
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(30000), 0) << serve.Stderr();
}

// A JSON transaction with an unknown enum name (a newer producer's channel)
// is answered REJECTED_INPUT, as in protobuf, not only dead-lettered: core
// banking gets a decision. One that does not say which transaction it is
// has only the dead letter.
TEST(ServeIntegrationTest, JsonWithAnUnknownEnumNameIsAnsweredRejectedInput) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("unknown-enum");
  std::vector<v1::Transaction> txs = LiveTraffic(3, 3);
  ServeProcess serve(
      Concat({"--brokers", brokers, "--state-dir", dir.path() + "/state",
              "--rules", absl::StrCat(kSourceDir, "/rules/packs/cn"),
              "--partitions", "1", "--http", "off", "--input-format", "json",
              "--output-format", "json"},
             names.Flags()),
      dir.path());
  ASSERT_TRUE(serve.WaitForLog("consuming ", 60000)) << serve.Stderr();
  auto producer = MakeProducer(brokers);
  std::string kiosk = ToJson(txs[1]);
  const std::string channel = std::string(v1::Channel_Name(txs[1].channel()));
  ASSERT_NE(kiosk.find(channel), std::string::npos) << kiosk;
  kiosk.replace(kiosk.find(channel), channel.size(), "CHANNEL_KIOSK");
  const std::vector<std::string> messages = {ToJson(txs[0]), kiosk,
                                             "{\"channel\": \"CHANNEL_KIOSK\"}",
                                             ToJson(txs[2])};
  for (const std::string& m : messages) {
    Produce(producer.get(), names.transactions, 0, txs[0].customer_id(), m);
  }
  ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
  TopicReader decisions(brokers, names.decisions);
  decisions.ReadUntil([&](const auto& m) { return m.size() >= 3; }, 60000);
  ASSERT_EQ(decisions.messages().size(), 3u) << serve.Stderr();
  const v1::Decision rejected =
      ParseDecision(decisions.messages()[1].value, true);
  EXPECT_EQ(rejected.transaction_id(), txs[1].transaction_id());
  EXPECT_EQ(rejected.verdict(), v1::VERDICT_REJECTED_INPUT);
  ASSERT_GE(rejected.input_errors_size(), 1);
  EXPECT_THAT(rejected.input_errors(0), ::testing::HasSubstr("CHANNEL_KIOSK"));
  EXPECT_NE(ParseDecision(decisions.messages()[2].value, true).verdict(),
            v1::VERDICT_REJECTED_INPUT);
  TopicReader dead(brokers, names.dead_letter);
  dead.ReadUntil([&](const auto& m) { return m.size() >= 2; }, 30000);
  EXPECT_EQ(dead.messages().size(), 2u);
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(30000), 0) << serve.Stderr();
}

// --- Exactly once across kill -9 ---------------------------------------------

// The window values the state holds for every customer, read from the
// stopped engine's RocksDB.
std::map<std::string, std::pair<int64_t, int64_t>> CountAndAmount(
    const std::string& state_dir, const rules::RuleSet& rules,
    const std::map<std::string, int32_t>& partition_of, int64_t at_us) {
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  auto store = engine::OpenRocksStateStore(state_dir);
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return out;
  engine::BucketClock clock(rules.time_zone());
  const rules::WindowDef* count = nullptr;
  const rules::WindowDef* amount = nullptr;
  for (const rules::WindowDef& w : rules.windows()) {
    if (w.name == "count_month") count = &w;
    if (w.name == "amount_month") amount = &w;
  }
  EXPECT_NE(count, nullptr);
  EXPECT_NE(amount, nullptr);
  std::map<int32_t, std::unique_ptr<engine::PartitionState>> states;
  for (const auto& [customer, p] : partition_of) {
    auto& state = states[p];
    if (state == nullptr) {
      state = std::make_unique<engine::PartitionState>(store->get(), p);
    }
    auto entity = state->FindWindows(v1::ENTITY_CUSTOMER, customer);
    EXPECT_TRUE(entity.ok());
    if (!entity.ok() || *entity == nullptr) continue;
    const int64_t bucket = clock.Bucket(*count, at_us);
    int64_t c = 0, a = 0;
    if (engine::WindowState* w = (*entity)->Find(count->fingerprint)) {
      c = w->Value(v1::AGGREGATE_COUNT, bucket, bucket);
    }
    if (engine::WindowState* w = (*entity)->Find(amount->fingerprint)) {
      a = w->Value(v1::AGGREGATE_SUM, bucket, bucket);
    }
    out[customer] = {c, a};
  }
  return out;
}

// The input recomputed independently: per customer, the count and amount
// of the transactions that stand (duplicates once, reversed ones out).
std::map<std::string, std::pair<int64_t, int64_t>> Recompute(
    const std::vector<v1::Transaction>& txs) {
  std::map<std::string, std::map<std::string, int64_t>> live;
  std::set<std::string> seen;
  for (const v1::Transaction& tx : txs) {
    if (!seen.insert(tx.customer_id() + "/" + tx.transaction_id()).second) {
      continue;
    }
    auto& mine = live[tx.customer_id()];
    if (tx.type() == v1::TRANSACTION_TYPE_REVERSAL) {
      mine.erase(tx.reverses_transaction_id());
    } else {
      mine[tx.transaction_id()] = tx.amount_minor();
    }
  }
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  for (const auto& [customer, txs_of] : live) {
    int64_t sum = 0;
    for (const auto& [id, amount] : txs_of) sum += amount;
    if (!txs_of.empty()) {
      out[customer] = {static_cast<int64_t>(txs_of.size()), sum};
    }
  }
  return out;
}

// Decisions by transaction id, read until every id of `txs` has one.
std::map<std::string, std::vector<v1::Decision>> DecisionsOf(
    TopicReader* reader, const std::vector<v1::Transaction>& txs,
    int timeout_ms) {
  std::set<std::string> ids;
  for (const v1::Transaction& tx : txs) ids.insert(tx.transaction_id());
  std::map<std::string, std::vector<v1::Decision>> by_id;
  size_t parsed = 0;
  reader->ReadUntil(
      [&](const auto& m) {
        for (; parsed < m.size(); ++parsed) {
          v1::Decision d = ParseDecision(m[parsed].value, false);
          by_id[d.transaction_id()].push_back(d);
        }
        for (const std::string& id : ids) {
          if (!by_id.count(id)) return false;
        }
        return true;
      },
      timeout_ms);
  return by_id;
}

// Every transaction's verdicts equal those of one uninterrupted `screen`.
void ExpectVerdictsOfScreen(
    const std::map<std::string, std::vector<v1::Decision>>& by_id,
    const std::vector<v1::Transaction>& txs, const std::string& rules,
    const std::string& dir) {
  std::map<std::string, v1::Verdict> expected;
  for (const v1::Decision& d : Screen(txs, rules, dir)) {
    if (!d.duplicate()) expected[d.transaction_id()] = d.verdict();
  }
  int mismatches = 0;
  for (const auto& [id, decisions] : by_id) {
    if (!expected.count(id)) continue;
    for (const v1::Decision& d : decisions) {
      if (d.duplicate()) continue;
      if (d.verdict() != expected[id] && ++mismatches <= 5) {
        ADD_FAILURE() << id << ": " << v1::Verdict_Name(d.verdict())
                      << ", screen says " << v1::Verdict_Name(expected[id]);
      }
    }
  }
  EXPECT_EQ(mismatches, 0);
}

void ExpectWindowsOf(const std::vector<v1::Transaction>& txs,
                     const std::string& rules_dir, const std::string& state_dir,
                     const std::map<std::string, int32_t>& partition_of) {
  auto rules = rules::LoadRulePackOrError({rules_dir});
  ASSERT_TRUE(rules.ok());
  std::map<std::string, std::pair<int64_t, int64_t>> want = Recompute(txs);
  std::map<std::string, std::pair<int64_t, int64_t>> got =
      CountAndAmount(state_dir, **rules, partition_of,
                     txs.back().occurred_at().seconds() * 1000000);
  EXPECT_EQ(got.size(), want.size());
  int wrong = 0;
  for (const auto& [customer, values] : want) {
    if (got[customer] != values && ++wrong <= 5) {
      ADD_FAILURE() << customer << ": state has count " << got[customer].first
                    << " amount " << got[customer].second << ", input says "
                    << values.first << " and " << values.second;
    }
  }
  EXPECT_EQ(wrong, 0);
}

int32_t PartitionOf(const std::string& customer, int partitions) {
  return static_cast<int32_t>(rules::StableHash(customer) % partitions);
}

TEST(ServeIntegrationTest, KillNineUnderLoadChangesStateExactlyOnce) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("crash");
  const std::string rules_dir =
      absl::StrCat(kSourceDir, "/tests/testdata/count_pack");
  const std::vector<v1::Transaction> txs = Traffic(20000, 400);
  constexpr int kPartitions = 6;
  auto serve_args =
      Concat({"--brokers", brokers, "--rules", rules_dir, "--state-dir",
              dir.path() + "/state", "--partitions", absl::StrCat(kPartitions),
              "--http", "off", "--commit-interval-ms", "50"},
             names.Flags());
  // Partition by customer, as a core banking producer keyed by customer id.
  std::map<std::string, int32_t> partition_of;
  auto producer = MakeProducer(brokers);
  auto start = std::make_unique<ServeProcess>(serve_args, dir.path());
  ASSERT_TRUE(start->WaitForLog("consuming ", 60000)) << start->Stderr();
  for (const v1::Transaction& tx : txs) {
    int32_t p = PartitionOf(tx.customer_id(), kPartitions);
    partition_of[tx.customer_id()] = p;
    Produce(producer.get(), names.transactions, p, tx.customer_id(),
            tx.SerializeAsString());
  }
  ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);

  // Kill it three times while it works, at random moments.
  TopicReader reader(brokers, names.decisions);
  std::mt19937 random(20261122);
  std::unique_ptr<ServeProcess> serve = std::move(start);
  size_t seen = 0;
  for (int kill_round = 0; kill_round < 3; ++kill_round) {
    const size_t target = seen + 1000 + random() % 3000;
    reader.ReadUntil([&](const auto& m) { return m.size() >= target; }, 60000);
    ASSERT_GE(reader.messages().size(), target) << serve->Stderr();
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 200));
    serve->Signal(SIGKILL);
    EXPECT_EQ(serve->Wait(10000), 128 + SIGKILL);
    seen = reader.messages().size();
    serve = std::make_unique<ServeProcess>(serve_args, dir.path());
  }
  // Every transaction gets a decision; replays may repeat one, always with
  // the same verdict.
  std::set<std::string> ids;
  for (const v1::Transaction& tx : txs) ids.insert(tx.transaction_id());
  TopicReader all_reader(brokers, names.decisions);
  auto by_id = DecisionsOf(&all_reader, txs, 180000);
  ASSERT_EQ(by_id.size(), ids.size()) << serve->Stderr();
  int replayed = 0;
  for (const auto& [id, decisions] : by_id) replayed += decisions.size() > 1;
  std::cerr << replayed << " transactions decided more than once (replays "
            << "after kill -9, and resends)\n";
  // Every decision may have come from an instance killed before its last
  // commits: the last one takes over and commits the rest before it stops.
  ASSERT_TRUE(WaitCommittedToEnd(brokers, names.group, names.transactions,
                                 kPartitions, 120000))
      << serve->Stderr();
  serve->Signal(SIGTERM);
  ASSERT_EQ(serve->Wait(30000), 0) << serve->Stderr();
  // The verdicts are those of one uninterrupted pass (screen), for each
  // transaction id: a lost or doubled window contribution shifts which
  // transactions the BUSY rule hits.
  ExpectVerdictsOfScreen(by_id, txs, rules_dir, dir.path());
  // Window state equals an independent recomputation from the input.
  ExpectWindowsOf(txs, rules_dir, dir.path() + "/state", partition_of);
}

// --- Rebalance ---------------------------------------------------------------

TEST(ServeIntegrationTest, StoppedInstancesPartitionsMoveWithTheirState) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("rebalance");
  const std::string rules_dir =
      absl::StrCat(kSourceDir, "/tests/testdata/count_pack");
  constexpr int kPartitions = 6;
  const std::vector<v1::Transaction> txs = Traffic(12000, 300);
  auto args = [&](const std::string& state) {
    return Concat({"--brokers", brokers, "--rules", rules_dir, "--state-dir",
                   dir.path() + "/" + state, "--partitions",
                   absl::StrCat(kPartitions), "--http", "off"},
                  names.Flags());
  };
  ServeProcess a(args("a"), dir.path());
  ASSERT_TRUE(a.WaitForLog("assigned partitions [0,1,2,3,4,5]", 60000))
      << a.Stderr();
  ServeProcess b(args("b"), dir.path());
  // The group splits the partitions between the two.
  ASSERT_TRUE(b.WaitForLog("assigned partitions [", 60000)) << b.Stderr();
  std::map<std::string, int32_t> partition_of;
  auto producer = MakeProducer(brokers);
  auto produce = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const v1::Transaction& tx = txs[i];
      int32_t p = PartitionOf(tx.customer_id(), kPartitions);
      partition_of[tx.customer_id()] = p;
      Produce(producer.get(), names.transactions, p, tx.customer_id(),
              tx.SerializeAsString());
    }
    ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
  };
  const size_t half = txs.size() / 2;
  produce(0, half);
  TopicReader reader(brokers, names.decisions);
  std::vector<v1::Transaction> first(txs.begin(), txs.begin() + half);
  std::set<std::string> first_ids;
  for (const auto& tx : first) first_ids.insert(tx.transaction_id());
  auto decided = DecisionsOf(&reader, first, 120000);
  ASSERT_EQ(decided.size(), first_ids.size()) << a.Stderr() << b.Stderr();
  // b leaves cleanly; a takes over b's partitions, restoring their state
  // from the changelog, which a's disk never had.
  b.Signal(SIGTERM);
  ASSERT_EQ(b.Wait(30000), 0) << b.Stderr();
  EXPECT_NE(b.Stderr().find("leaving the consumer group"), std::string::npos);
  produce(half, txs.size());
  auto all = DecisionsOf(&reader, txs, 120000);
  a.Signal(SIGTERM);
  ASSERT_EQ(a.Wait(30000), 0) << a.Stderr();
  EXPECT_NE(a.Stderr().find("restored "), std::string::npos);
  ExpectVerdictsOfScreen(all, txs, rules_dir, dir.path());
  ExpectWindowsOf(txs, rules_dir, dir.path() + "/a", partition_of);
}

// Accounts not seen for long go from the state, and from its changelog as
// tombstones, so that a restore does not bring them back.
TEST(ServeIntegrationTest, IdleAccountsGoFromTheStateAndItsChangelog) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("sweep");
  ServeProcess serve(Concat({"--brokers", brokers, "--rules",
                             absl::StrCat(kSourceDir, "/rules/packs/cn"),
                             "--state-dir", dir.path() + "/state",
                             "--partitions", "1", "--http", "127.0.0.1:0"},
                            names.Flags()),
                     dir.path());
  ASSERT_TRUE(serve.WaitForLog("assigned partitions [0]", 60000))
      << serve.Stderr();
  auto producer = MakeProducer(brokers);
  TopicReader changelog(brokers, names.state);
  // One transfer at a time, each committed (its customer's value on the
  // changelog) before the next: the first account is no longer in use when
  // the second commits.
  const int64_t t0 = absl::ToUnixSeconds(absl::FromCivil(
      absl::CivilSecond(2026, 11, 1, 10, 0, 0), absl::UTCTimeZone()));
  int sent = 0;
  auto send = [&](const std::string& customer, const std::string& account,
                  int64_t at_s) {
    v1::Transaction tx;
    tx.set_transaction_id(absl::StrCat("SWEEP-", ++sent));
    tx.mutable_occurred_at()->set_seconds(at_s);
    tx.set_type(v1::TRANSACTION_TYPE_TRANSFER_OUT);
    tx.set_channel(v1::CHANNEL_MOBILE);
    tx.set_direction(v1::DIRECTION_OUT);
    tx.set_customer_id(customer);
    tx.set_account_id(account);
    tx.set_amount_minor(10000);
    tx.set_currency("CNY");
    tx.mutable_counterparty()->set_account_id("6222000000009999");
    Produce(producer.get(), names.transactions, 0, customer,
            tx.SerializeAsString());
    ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(changelog
                  .Until(1,
                         [&](const TopicReader::Message& m) {
                           return m.key == "W1" + customer;
                         })
                  .size(),
              1u)
        << serve.Stderr();
  };
  send("C-SW-1", "6222000000000001", t0);
  send("C-SW-2", "6222000000000002", t0 + 10 * 86400);
  auto http = AdminClient(serve);
  std::string metrics;
  for (int i = 0; i < 100; ++i) {
    auto res = http->Get("/metrics");
    ASSERT_TRUE(res);
    metrics = res->body;
    if (metrics.find("txscreen_state_swept_entities_total 1\n") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(metrics,
              ::testing::HasSubstr("txscreen_state_swept_entities_total 1\n"));
  EXPECT_THAT(metrics,
              ::testing::HasSubstr("txscreen_state_sweep_failures_total 0\n"));
  // The changelog carries the first account's value, then its tombstone.
  std::vector<TopicReader::Message> of_account =
      changelog.Until(2, [&](const TopicReader::Message& m) {
        return m.key == "W26222000000000001";
      });
  ASSERT_EQ(of_account.size(), 2u);
  EXPECT_FALSE(of_account[0].value.empty());
  EXPECT_TRUE(of_account[1].value.empty());
  serve.Signal(SIGTERM);
  ASSERT_EQ(serve.Wait(30000), 0) << serve.Stderr();
}

// What on-call reads: a restarted instance that is caught up shows no lag
// (it showed its whole topic: the consumer has no position until it reads),
// and an instance of the group without partitions is not ready.
TEST(ServeIntegrationTest, LagAfterRestartAndReadinessWithoutPartitions) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("lag");
  const std::vector<v1::Transaction> txs = Traffic(500, 50);
  auto args = [&](const std::string& state) {
    return CountPackArgs(brokers, names, dir.path() + "/" + state, 1,
                         {"--http", "127.0.0.1:0"});
  };
  {
    ServeProcess a(args("a"), dir.path());
    ASSERT_TRUE(a.WaitForLog("assigned partitions [0]", 60000)) << a.Stderr();
    auto producer = MakeProducer(brokers);
    for (const v1::Transaction& tx : txs) {
      Produce(producer.get(), names.transactions, 0, tx.customer_id(),
              tx.SerializeAsString());
    }
    ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
    TopicReader reader(brokers, names.decisions);
    reader.ReadUntil([&](const auto& m) { return m.size() >= txs.size(); },
                     120000);
    ASSERT_EQ(reader.messages().size(), txs.size());
    a.Signal(SIGTERM);
    ASSERT_EQ(a.Wait(30000), 0) << a.Stderr();
  }
  ServeProcess a(args("a"), dir.path());
  ASSERT_TRUE(a.WaitForLog("assigned partitions [0]", 60000)) << a.Stderr();
  auto http = AdminClient(a);
  std::string metrics;
  // The lag is measured once a second.
  for (int i = 0; i < 40; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto res = http->Get("/metrics");
    ASSERT_TRUE(res);
    metrics = res->body;
    if (metrics.find("txscreen_consumer_lag{") != std::string::npos) break;
  }
  EXPECT_THAT(metrics, ::testing::HasSubstr(
                           "txscreen_consumer_lag{partition=\"0\"} 0\n"));
  EXPECT_THAT(metrics,
              ::testing::HasSubstr("txscreen_estimated_drain_seconds 0\n"));
  {
    auto ready = http->Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;
  }
  // A second instance: one partition, so one of the two has none.
  ServeProcess b(args("b"), dir.path());
  ASSERT_TRUE(b.WaitForLog("admin http on", 60000)) << b.Stderr();
  auto http_b = AdminClient(b);
  int ready = 0, idle = 0;
  for (int i = 0; i < 120 && ready + idle != 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ready = idle = 0;
    for (httplib::Client* c : {http.get(), http_b.get()}) {
      auto res = c->Get("/readyz");
      if (!res) continue;
      if (res->status == 200) ++ready;
      if (res->status == 503 &&
          res->body.find("no partitions assigned") != std::string::npos) {
        ++idle;
      }
    }
  }
  EXPECT_EQ(ready, 1) << a.Stderr() << b.Stderr();
  EXPECT_EQ(idle, 1) << a.Stderr() << b.Stderr();
  b.Signal(SIGTERM);
  EXPECT_EQ(b.Wait(30000), 0) << b.Stderr();
  a.Signal(SIGTERM);
  EXPECT_EQ(a.Wait(30000), 0) << a.Stderr();
}

// A state changelog created beforehand with the broker's default policy
// (delete after 7 days) would lose state that a restore then silently
// lacks: serve refuses to start, saying what to change.
TEST(ServeIntegrationTest, ChangelogThatDeletesStateIsRefused) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("policy");
  ASSERT_EQ(TopicTool(brokers,
                      absl::StrCat("--create --topic ", names.state,
                                   " --partitions 1 --config "
                                   "cleanup.policy=delete"),
                      dir.path()),
            "");
  ServeProcess serve(CountPackArgs(brokers, names, dir.path() + "/state", 1,
                                   {"--http", "off"}),
                     dir.path());
  EXPECT_EQ(serve.Wait(60000), 1) << serve.Stderr();
  EXPECT_THAT(serve.Stderr(),
              ::testing::HasSubstr(absl::StrCat(
                  "changelog topic ", names.state,
                  ": cleanup.policy=delete, not compact, so a restore would "
                  "miss state. It needs cleanup.policy=compact")));
}

// Partitions added to the input topic while serving: the new one has no
// changelog or overrides partition of its own. The assignment was retried
// forever, with every partition unscreened and "Unknown partition" in the
// log; now the service stops, saying what to do.
TEST(ServeIntegrationTest, InputPartitionsAddedWhileServingStopItClearly) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("grow");
  ServeProcess serve(
      CountPackArgs(brokers, names, dir.path() + "/state", 2,
                    {"--http", "off",
                     "--kafka.topic.metadata.refresh.interval.ms", "1000"}),
      dir.path());
  ASSERT_TRUE(serve.WaitForLog("assigned partitions [0,1]", 60000))
      << serve.Stderr();
  ASSERT_EQ(TopicTool(brokers,
                      absl::StrCat("--alter --topic ", names.transactions,
                                   " --partitions 3"),
                      dir.path()),
            "");
  EXPECT_EQ(serve.Wait(90000), 1) << serve.Stderr();
  EXPECT_THAT(serve.Stderr(),
              ::testing::HasSubstr(absl::StrCat("topic ", names.transactions,
                                                " now has partition 2 but ")));
  EXPECT_THAT(serve.Stderr(),
              ::testing::HasSubstr("to match, then start txscreen again"));
}

// --- Broker outage -----------------------------------------------------------

// A broker of this test's own (stopping the shared one would disturb the
// tests running beside it).
class OwnBroker {
 public:
  explicit OwnBroker(const std::string& data) : data_(data) {
    // Below Linux's ephemeral range (32768 up): a client connection's local
    // port there would make the broker's bind fail. Even, so that the
    // controller's port (one up) is free too.
    port_ = 20000 + (getpid() % 6000) * 2;
  }
  ~OwnBroker() { Stop(); }
  bool Start(bool keep) {
    std::string command = absl::StrCat(
        kSourceDir, "/tools/kafka/start --port ", port_, " --data ", data_,
        keep ? " --keep" : "", " --set num.partitions=3 > ", data_,
        ".bootstrap 2>> ", data_, ".log");
    return std::system(command.c_str()) == 0;
  }
  void Stop() {
    std::string command = absl::StrCat(kSourceDir, "/tools/kafka/stop --data ",
                                       data_, " >> ", data_, ".log 2>&1");
    EXPECT_EQ(std::system(command.c_str()), 0);
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }
  // What tools/kafka/start and stop said, for a failed start.
  std::string Log() const {
    std::ifstream in(data_ + ".log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  std::string data_;
  int port_;
};

// After a broker outage, with the engine running all along: every
// transaction of `txs` has a decision, the group commits to the end (a
// commit begun during the outage fails and is redone; decisions go out
// meanwhile, so they are not the sign that the state is safe), the engine
// stops cleanly, and its verdicts and windows are those of one
// uninterrupted `screen`.
void ExpectRecoveredFromTheOutage(
    const std::string& brokers, const Names& names, int partitions,
    const std::vector<v1::Transaction>& txs,
    const std::map<std::string, int32_t>& partition_of,
    const std::string& rules_dir, const std::string& dir, ServeProcess* serve) {
  TopicReader reader(brokers, names.decisions);
  auto all = DecisionsOf(&reader, txs, 180000);
  std::set<std::string> ids;
  for (const auto& tx : txs) ids.insert(tx.transaction_id());
  ASSERT_EQ(all.size(), ids.size()) << serve->Stderr();
  ASSERT_TRUE(WaitCommittedToEnd(brokers, names.group, names.transactions,
                                 partitions, 120000))
      << serve->Stderr();
  serve->Signal(SIGTERM);
  ASSERT_EQ(serve->Wait(60000), 0) << serve->Stderr();
  ExpectVerdictsOfScreen(all, txs, rules_dir, dir);
  ExpectWindowsOf(txs, rules_dir, dir + "/state", partition_of);
  if (::testing::Test::HasFailure()) std::cerr << serve->Stderr();
}

// SIGTERM with the broker gone: the last commit fails and is rewound.
// Nothing is lost (the next start decides again), but it exited 0 as if it
// had stopped cleanly; now 1, saying so.
TEST(ServeIntegrationTest, StopWhoseLastCommitFailsExitsOne) {
  REQUIRE_KAFKA();  // the scripts and Java are there
  TempDir dir;
  OwnBroker broker(dir.path() + "/kafka");
  ASSERT_TRUE(broker.Start(false)) << broker.Log();
  const std::string brokers = broker.address();
  Names names("lastcommit");
  const std::vector<v1::Transaction> txs = Traffic(200, 20);
  ServeProcess serve(CountPackArgs(brokers, names, dir.path() + "/state", 1,
                                   {"--http", "off", "--commit-interval-ms",
                                    "100000", "--kafka-timeout-ms", "2000"}),
                     dir.path());
  ASSERT_TRUE(serve.WaitForLog("assigned partitions", 60000)) << serve.Stderr();
  {
    auto producer = MakeProducer(brokers);
    for (const v1::Transaction& tx : txs) {
      Produce(producer.get(), names.transactions, 0, tx.customer_id(),
              tx.SerializeAsString());
    }
    ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
  }
  TopicReader reader(brokers, names.decisions);
  reader.ReadUntil([&](const auto& m) { return m.size() >= txs.size(); },
                   60000);
  ASSERT_EQ(reader.messages().size(), txs.size()) << serve.Stderr();
  broker.Stop();
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(120000), 1) << serve.Stderr();
  EXPECT_THAT(serve.Stderr(), ::testing::HasSubstr("stopped: the last commit "
                                                   "failed ("));
  EXPECT_THAT(serve.Stderr(),
              ::testing::HasSubstr(
                  "the next start decides again from the commit before"));
}

TEST(ServeIntegrationTest, BrokerRestartMidStreamLosesNothing) {
  REQUIRE_KAFKA();  // the scripts and Java are there
  TempDir dir;
  OwnBroker broker(dir.path() + "/kafka");
  ASSERT_TRUE(broker.Start(false)) << broker.Log();
  const std::string brokers = broker.address();
  Names names("outage");
  const std::string rules_dir =
      absl::StrCat(kSourceDir, "/tests/testdata/count_pack");
  constexpr int kPartitions = 3;
  const std::vector<v1::Transaction> txs = Traffic(6000, 200);
  ServeProcess serve(
      Concat({"--brokers", brokers, "--rules", rules_dir, "--state-dir",
              dir.path() + "/state", "--partitions", absl::StrCat(kPartitions),
              "--http", "off"},
             names.Flags()),
      dir.path());
  ASSERT_TRUE(serve.WaitForLog("assigned partitions", 60000)) << serve.Stderr();
  std::map<std::string, int32_t> partition_of;
  {
    auto producer = MakeProducer(brokers);
    for (size_t i = 0; i < txs.size() / 2; ++i) {
      int32_t p = PartitionOf(txs[i].customer_id(), kPartitions);
      partition_of[txs[i].customer_id()] = p;
      Produce(producer.get(), names.transactions, p, txs[i].customer_id(),
              txs[i].SerializeAsString());
    }
    ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
  }
  // Down in the middle of the stream (the engine may still be screening
  // the first half) for longer than the engine's transaction timeout
  // (10 s), then back: the coordinator aborts a transaction that was open,
  // and fences its producer (as in CI, where the restart alone took that
  // long). TxnRecoveryIntegrationTest covers that case every time.
  broker.Stop();
  std::this_thread::sleep_for(std::chrono::seconds(12));
  ASSERT_TRUE(broker.Start(true)) << broker.Log();
  {
    auto producer = MakeProducer(brokers);
    for (size_t i = txs.size() / 2; i < txs.size(); ++i) {
      int32_t p = PartitionOf(txs[i].customer_id(), kPartitions);
      partition_of[txs[i].customer_id()] = p;
      Produce(producer.get(), names.transactions, p, txs[i].customer_id(),
              txs[i].SerializeAsString());
    }
    ASSERT_EQ(producer->flush(60000), RdKafka::ERR_NO_ERROR);
  }
  ExpectRecoveredFromTheOutage(brokers, names, kPartitions, txs, partition_of,
                               rules_dir, dir.path(), &serve);
}

// Continuous traffic (150/s for 40 s) while the broker is away for 20 s,
// longer than the engine's transaction timeout (10 s) and its Kafka timeout
// (3 s here, --kafka-timeout-ms): the commit under way at the outage fails
// (its messages time out, or its abort does too, and the producer is
// recreated: which depends on where the commit was; the embedded-cluster
// tests in hold_integration_test.cc take each path on purpose). The engine
// decides what the broker kept for it meanwhile and loses nothing.
TEST(ServeIntegrationTest, OutageLongerThanTheKafkaTimeoutUnderTraffic) {
  REQUIRE_KAFKA();  // the scripts and Java are there
  TempDir dir;
  OwnBroker broker(dir.path() + "/kafka");
  ASSERT_TRUE(broker.Start(false)) << broker.Log();
  const std::string brokers = broker.address();
  Names names("long-outage");
  const std::string rules_dir =
      absl::StrCat(kSourceDir, "/tests/testdata/count_pack");
  constexpr int kPartitions = 3;
  const std::vector<v1::Transaction> txs = Traffic(6000, 200);
  std::map<std::string, int32_t> partition_of;
  for (const v1::Transaction& tx : txs) {
    partition_of[tx.customer_id()] = PartitionOf(tx.customer_id(), kPartitions);
  }
  ServeProcess serve(
      Concat({"--brokers", brokers, "--rules", rules_dir, "--state-dir",
              dir.path() + "/state", "--partitions", absl::StrCat(kPartitions),
              "--http", "off", "--kafka-timeout-ms", "3000"},
             names.Flags()),
      dir.path());
  ASSERT_TRUE(serve.WaitForLog("assigned partitions", 60000)) << serve.Stderr();
  std::thread traffic([&] {
    auto producer = MakeProducer(brokers);
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < txs.size(); ++i) {
      std::this_thread::sleep_until(start +
                                    i * std::chrono::microseconds(6667));
      Produce(producer.get(), names.transactions,
              partition_of[txs[i].customer_id()], txs[i].customer_id(),
              txs[i].SerializeAsString());
      producer->poll(0);
    }
    EXPECT_EQ(producer->flush(120000), RdKafka::ERR_NO_ERROR);
  });
  std::this_thread::sleep_for(std::chrono::seconds(5));
  broker.Stop();
  std::this_thread::sleep_for(std::chrono::seconds(20));
  const bool restarted = broker.Start(true);
  traffic.join();
  ASSERT_TRUE(restarted) << broker.Log();
  ExpectRecoveredFromTheOutage(brokers, names, kPartitions, txs, partition_of,
                               rules_dir, dir.path(), &serve);
}

// --- Rule reload under load
// ---------------------------------------------------

TEST(ServeIntegrationTest, RulesReloadUnderLoadValidAndInvalid) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("reload");
  // A copy of the pack that the test edits.
  const std::string rules_dir = dir.path() + "/pack";
  std::filesystem::create_directories(rules_dir);
  const std::string pack_file = rules_dir + "/pack.textproto";
  const std::string original = ServeProcess::ReadFile(
      absl::StrCat(kSourceDir, "/tests/testdata/count_pack/pack.textproto"));
  auto write_pack = [&](const std::string& text) {
    std::ofstream(pack_file, std::ios::trunc) << text;
  };
  write_pack(original);
  const std::string token = "test-admin-token-0123456789";
  std::ofstream(dir.path() + "/token") << token << "\n";
  ServeProcess serve(
      Concat({"--brokers", brokers, "--rules", rules_dir, "--state-dir",
              dir.path() + "/state", "--partitions", "2", "--http",
              "127.0.0.1:0", "--admin-token-file", dir.path() + "/token"},
             names.Flags()),
      dir.path());
  ASSERT_TRUE(serve.WaitForLog("assigned partitions", 60000)) << serve.Stderr();
  std::unique_ptr<httplib::Client> admin = AdminClient(serve);
  httplib::Client& http = *admin;
  httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  {
    auto ready = http.Get("/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;
  }

  // Load keeps flowing while the rules change.
  const std::vector<v1::Transaction> txs = Traffic(9000, 300);
  // The last 1,000 go out once count-3 is loaded, so that some are sure to
  // be decided by it.
  const size_t before_v3 = 8000;
  std::thread producer_thread([&] {
    auto producer = MakeProducer(brokers);
    for (size_t i = 0; i < before_v3; ++i) {
      const v1::Transaction& tx = txs[i];
      Produce(producer.get(), names.transactions, RdKafka::Topic::PARTITION_UA,
              tx.customer_id(), tx.SerializeAsString());
      producer->poll(0);
      if (i % 1000 == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    producer->flush(30000);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // A valid new version through the API.
  std::string v2 = original;
  v2.replace(v2.find("count-1"), 7, "count-2");
  write_pack(v2);
  auto ok = http.Post("/api/rules/reload", auth, "", "text/plain");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_NE(ok->body.find("count-2"), std::string::npos) << ok->body;
  // Without the token: refused, nothing changes.
  auto refused = http.Post("/api/rules/reload", "", "text/plain");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  // An invalid file: refused with the error; count-2 stays active.
  std::string broken = v2;
  broken.replace(broken.find("window.count_month in"), 21,
                 "window.count_mnth in");
  write_pack(broken);
  auto bad = http.Post("/api/rules/reload", auth, "", "text/plain");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 422) << bad->body;
  EXPECT_NE(bad->body.find("count_mnth"), std::string::npos) << bad->body;
  // count-2 becomes active between two transactions of the processing
  // thread, within its 100 ms loop.
  std::string rules_status;
  for (int64_t until = NowMs() + 5000; NowMs() < until;) {
    auto status = http.Get("/api/rules");
    ASSERT_TRUE(status);
    rules_status = status->body;
    if (rules_status.find("\"active_version\":\"count-2\"") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(rules_status.find("\"active_version\":\"count-2\""),
            std::string::npos)
      << rules_status;
  EXPECT_NE(rules_status.find("count_mnth"), std::string::npos);
  // SIGHUP with the broken file: also refused (counted, logged).
  serve.Signal(SIGHUP);
  ASSERT_TRUE(serve.WaitForLog("rule reload failed", 10000, 2))
      << serve.Stderr();
  // SIGHUP with a valid count-3.
  std::string v3 = original;
  v3.replace(v3.find("count-1"), 7, "count-3");
  write_pack(v3);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  serve.Signal(SIGHUP);
  ASSERT_TRUE(serve.WaitForLog("rules count-3 loaded", 10000))
      << serve.Stderr();
  producer_thread.join();
  {
    auto producer = MakeProducer(brokers);
    for (size_t i = before_v3; i < txs.size(); ++i) {
      Produce(producer.get(), names.transactions, RdKafka::Topic::PARTITION_UA,
              txs[i].customer_id(), txs[i].SerializeAsString());
    }
    ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);
  }

  TopicReader reader(brokers, names.decisions);
  auto all = DecisionsOf(&reader, txs, 120000);
  std::set<std::string> ids;
  for (const auto& tx : txs) ids.insert(tx.transaction_id());
  ASSERT_EQ(all.size(), ids.size()) << serve.Stderr();
  std::map<std::string, int> versions;
  for (const auto& [id, decisions] : all) {
    for (const v1::Decision& d : decisions) ++versions[d.ruleset_version()];
  }
  for (const auto& [v, n] : versions) {
    EXPECT_TRUE(v == "count-1" || v == "count-2" || v == "count-3") << v;
  }
  EXPECT_GT(versions["count-3"], 0);
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("txscreen_rule_reloads_total 2"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("txscreen_rule_reload_failures_total 2"),
            std::string::npos);
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(30000), 0) << serve.Stderr();
}

// --- Shadow rules
// -------------------------------------------------------------

// A candidate rule set beside the active one: every transaction gets a
// shadow decision by the candidate on its own topic, the active decisions
// and holds are the active rules' alone, and the shadow's hits are in the
// metrics.
TEST(ServeIntegrationTest,
     ShadowRulesDecideBesideTheActiveOnesAndAreNeverActedUpon) {
  REQUIRE_KAFKA();
  const std::string brokers = Brokers();
  TempDir dir;
  Names names("shadow");
  const std::string active = absl::StrCat(kSourceDir, "/rules/packs/cn");
  // BIG: >= 5,000 CNY -> REVIEW; HUGE: >= 25,000 CNY -> BLOCK; no windows.
  const std::string candidate =
      absl::StrCat(kSourceDir, "/compliance/testdata/new_pack");
  const std::string shadow_topic = names.transactions + ".shadow-decisions";
  const std::string holds_topic = names.transactions + ".holds";
  ServeProcess serve(
      Concat(
          {"--brokers", brokers, "--rules", active, "--shadow-rules", candidate,
           "--state-dir", dir.path() + "/state", "--partitions", "2", "--http",
           "127.0.0.1:0", "--topic.shadow-decisions", shadow_topic},
          names.Flags()),
      dir.path());
  ASSERT_TRUE(serve.WaitForLog("assigned partitions", 60000)) << serve.Stderr();
  EXPECT_NE(serve.Stderr().find("shadow rules bt-new beside the active ones"),
            std::string::npos)
      << serve.Stderr();
  std::unique_ptr<httplib::Client> admin = AdminClient(serve);
  httplib::Client& http = *admin;

  const std::vector<v1::Transaction> txs = Traffic(3000, 300);
  auto producer = MakeProducer(brokers);
  for (const v1::Transaction& tx : txs) {
    Produce(producer.get(), names.transactions, RdKafka::Topic::PARTITION_UA,
            tx.customer_id(), tx.SerializeAsString());
  }
  ASSERT_EQ(producer->flush(30000), RdKafka::ERR_NO_ERROR);

  TopicReader decisions(brokers, names.decisions);
  auto active_by_id = DecisionsOf(&decisions, txs, 120000);
  TopicReader shadow(brokers, shadow_topic);
  auto shadow_by_id = DecisionsOf(&shadow, txs, 120000);
  ASSERT_EQ(shadow_by_id.size(), active_by_id.size()) << serve.Stderr();

  // The candidate's verdicts are those `screen` gives with it.
  const std::vector<v1::Decision> expected = Screen(txs, candidate, dir.path());
  int blocked_by_shadow_only = 0;
  for (const v1::Decision& e : expected) {
    if (e.duplicate()) continue;
    ASSERT_EQ(shadow_by_id.count(e.transaction_id()), 1u) << e.transaction_id();
    const v1::Decision& got = shadow_by_id[e.transaction_id()].front();
    EXPECT_EQ(got.verdict(), e.verdict()) << e.transaction_id();
    EXPECT_EQ(got.ruleset_version(), "bt-new");
    const v1::Decision& act = active_by_id[e.transaction_id()].front();
    EXPECT_EQ(act.ruleset_version(), "cn-2026.12.3");
    if (got.verdict() == v1::VERDICT_BLOCK &&
        act.verdict() != v1::VERDICT_BLOCK &&
        act.verdict() != v1::VERDICT_INTERCEPT) {
      ++blocked_by_shadow_only;
    }
  }
  EXPECT_GT(blocked_by_shadow_only, 0);
  // Holds come from active intercepts and blocks only.
  TopicReader holds(brokers, holds_topic);
  holds.ReadUntil([](const auto&) { return false; }, 3000);
  for (const auto& m : holds.messages()) {
    ASSERT_EQ(active_by_id.count(m.key), 1u) << m.key;
    const v1::Verdict v = active_by_id[m.key].front().verdict();
    EXPECT_TRUE(v == v1::VERDICT_INTERCEPT || v == v1::VERDICT_BLOCK) << m.key;
  }
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(
      metrics->body.find("txscreen_shadow_rule_hits_total{rule=\"HUGE\"}"),
      std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find(
                "txscreen_shadow_decisions_total{verdict=\"VERDICT_BLOCK\"}"),
            std::string::npos);
  EXPECT_EQ(metrics->body.find("txscreen_rule_hits_total{rule=\"HUGE\"}"),
            std::string::npos);
  auto status = http.Get("/api/rules");
  ASSERT_TRUE(status);
  EXPECT_NE(status->body.find("\"shadow_version\":\"bt-new\""),
            std::string::npos)
      << status->body;
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/state-shadow"));
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(30000), 0) << serve.Stderr();
}

// --- Embedded mode -----------------------------------------------------------

TEST(ServeIntegrationTest, EmbeddedKafkaWorksWithKcat) {
  if (std::system("command -v kcat >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "kcat is not installed";
  }
  TempDir dir;
  ServeProcess serve({"--rules", absl::StrCat(kSourceDir, "/rules/packs/cn"),
                      "--state-dir", dir.path() + "/state", "--http", "off",
                      "--input-format", "json", "--output-format", "json"},
                     dir.path());
  std::string bootstrap;
  for (int64_t deadline = NowMs() + 30000; NowMs() < deadline;) {
    std::string out = serve.Stdout();
    if (size_t nl = out.find('\n'); nl != std::string::npos) {
      ASSERT_TRUE(out.rfind("embedded kafka: 127.0.0.1:", 0) == 0) << out;
      bootstrap = out.substr(16, nl - 16);
      EXPECT_EQ(out.size(), nl + 1) << "exactly one line on stdout";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(bootstrap.empty()) << serve.Stderr();
  const std::string input =
      absl::StrCat(kSourceDir, "/examples/transactions.jsonl");
  std::string produce = absl::StrCat("kcat -b ", bootstrap,
                                     " -P -t txscreen.transactions -l ", input);
  ASSERT_EQ(std::system(produce.c_str()), 0);
  int lines = 0;
  {
    std::ifstream in(input);
    std::string line;
    while (std::getline(in, line)) lines += !line.empty();
  }
  const std::string out = dir.path() + "/decisions.jsonl";
  std::string consume = absl::StrCat("timeout 60 kcat -b ", bootstrap,
                                     " -C -t txscreen.decisions -c ", lines,
                                     " -o beginning -q -u > ", out);
  ASSERT_EQ(std::system(consume.c_str()), 0) << serve.Stderr();
  std::ifstream in(out);
  std::string line;
  int decisions = 0;
  while (std::getline(in, line)) {
    v1::Decision d = ParseDecision(line, true);
    EXPECT_NE(d.verdict(), v1::VERDICT_UNSPECIFIED) << line;
    EXPECT_FALSE(d.transaction_id().empty()) << line;
    ++decisions;
  }
  EXPECT_EQ(decisions, lines);
  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(30000), 0) << serve.Stderr();
}

}  // namespace
}  // namespace txscreen
