// File: changelog_test.cc
#include "serve/changelog.h"

#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/state_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serve/kafka_util.h"

namespace txscreen::serve {
namespace {

using engine::PartitionPrefix;
using engine::StateFamily;
using engine::StateWrite;
using ::testing::Optional;

std::string P(int32_t partition, absl::string_view key) {
  return absl::StrCat(PartitionPrefix(partition), key);
}

// ---------------------------------------------------------------------------
// ToChangelogRecord / FromChangelogRecord.

class ChangelogTest : public ::testing::Test {
 protected:
  ChangelogTest() {
    topics_.state = "t.state";
    topics_.dedupe = "t.dedupe";
  }
  // The record's value is a view of the write's: the write is kept for the
  // test (a temporary would be gone by the time the value is read).
  std::optional<ChangelogRecord> ToRecord(StateWrite w, int32_t partition = 3) {
    kept_.push_back(std::move(w));
    return ToChangelogRecord(kept_.back(), PartitionPrefix(partition), topics_);
  }
  ChangelogTopics topics_;
  std::deque<StateWrite> kept_;
};

TEST_F(ChangelogTest, WindowsPutGoesToTheStateTopic) {
  StateWrite w = StateWrite::Put(StateFamily::kWindows, P(3, "acct:42"), "win");
  std::optional<ChangelogRecord> r = ToRecord(w);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->topic, &topics_.state);
  EXPECT_EQ(r->key, "Wacct:42");
  EXPECT_THAT(r->value, Optional(absl::string_view("win")));
}

TEST_F(ChangelogTest, HistoryPutGoesToTheStateTopic) {
  std::optional<ChangelogRecord> r =
      ToRecord(StateWrite::Put(StateFamily::kHistory, P(3, "cust:7"), "hist"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->topic, &topics_.state);
  EXPECT_EQ(r->key, "Hcust:7");
  EXPECT_THAT(r->value, Optional(absl::string_view("hist")));
}

TEST_F(ChangelogTest, DedupePutGoesToTheDedupeTopic) {
  std::optional<ChangelogRecord> r =
      ToRecord(StateWrite::Put(StateFamily::kDedupe, P(3, "tx-1"), "rec"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->topic, &topics_.dedupe);
  EXPECT_EQ(r->key, "Dtx-1");
  EXPECT_THAT(r->value, Optional(absl::string_view("rec")));
}

TEST_F(ChangelogTest, InputOffsetIsReplicated) {
  std::optional<ChangelogRecord> r =
      ToRecord(StateWrite::Put(StateFamily::kOffsets, P(3, "input"), "1234"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->topic, &topics_.state);
  EXPECT_EQ(r->key, "Oinput");
  EXPECT_THAT(r->value, Optional(absl::string_view("1234")));
}

TEST_F(ChangelogTest, EraseIsATombstone) {
  for (StateFamily family :
       {StateFamily::kWindows, StateFamily::kHistory, StateFamily::kDedupe}) {
    std::optional<ChangelogRecord> r =
        ToRecord(StateWrite::Erase(family, P(3, "k")));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->value, std::nullopt);
    EXPECT_EQ(r->key.substr(1), "k");
    EXPECT_EQ(r->topic, family == StateFamily::kDedupe ? &topics_.dedupe
                                                       : &topics_.state);
  }
}

TEST_F(ChangelogTest, EmptyValueIsNotATombstone) {
  std::optional<ChangelogRecord> r =
      ToRecord(StateWrite::Put(StateFamily::kWindows, P(3, "k"), ""));
  ASSERT_TRUE(r.has_value());
  EXPECT_THAT(r->value, Optional(absl::string_view("")));
}

TEST_F(ChangelogTest, BinaryKeysAreKeptWhole) {
  const std::string key("a\0b\xff", 4);
  std::optional<ChangelogRecord> r =
      ToRecord(StateWrite::Put(StateFamily::kHistory, P(3, key), "v"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->key, absl::StrCat("H", key));
}

TEST_F(ChangelogTest, RangeDeletionsStayLocal) {
  EXPECT_EQ(ToRecord(StateWrite::EraseRange(StateFamily::kDedupe, P(3, "a"),
                                            P(3, "z"))),
            std::nullopt);
}

TEST_F(ChangelogTest, CheckpointsStayLocal) {
  EXPECT_EQ(ToRecord(CheckpointWrite(3, topics_.state, 10)), std::nullopt);
  EXPECT_EQ(ToRecord(CheckpointWrite(3, topics_.dedupe, 10)), std::nullopt);
  EXPECT_EQ(
      ToRecord(StateWrite::Put(StateFamily::kOffsets, P(3, "other"), "1")),
      std::nullopt);
  EXPECT_EQ(ToRecord(StateWrite::Erase(StateFamily::kOffsets, P(3, "x"))),
            std::nullopt);
}

TEST_F(ChangelogTest,
       TheInputPositionChunkCounterClockAndFormatGoWithTheState) {
  // They belong to the state: a new owner restoring from the changelog
  // resumes at the position, numbers its record chunks on, never over the
  // chunks it restored, finds the same records past the dedupe retention
  // (the event clock), and refuses state of a format newer than it reads.
  for (absl::string_view key :
       {engine::kInputPositionKey, engine::kRecordChunkCounterKey,
        engine::kEventClockKey, engine::kStateFormatKey}) {
    std::optional<ChangelogRecord> r = ToRecord(
        StateWrite::Put(StateFamily::kOffsets, P(3, std::string(key)), "7"));
    ASSERT_TRUE(r.has_value()) << key;
    EXPECT_EQ(r->topic, &topics_.state);
    EXPECT_EQ(r->key, absl::StrCat("O", key));
    EXPECT_THAT(r->value, Optional(absl::string_view("7")));
    absl::StatusOr<StateWrite> back = FromChangelogRecord(r->key, nullptr, 5);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->family, StateFamily::kOffsets);
    EXPECT_EQ(back->key, P(5, std::string(key)));
  }
}

TEST_F(ChangelogTest, OtherPartitionsKeysAreNotProduced) {
  EXPECT_EQ(ToRecord(StateWrite::Put(StateFamily::kWindows, P(4, "k"), "v")),
            std::nullopt);
  EXPECT_EQ(ToRecord(StateWrite::Put(StateFamily::kWindows, P(2, "k"), "v")),
            std::nullopt);
  // Shorter than the prefix.
  EXPECT_EQ(ToRecord(StateWrite::Put(StateFamily::kWindows, "ab", "v")),
            std::nullopt);
  EXPECT_EQ(ToRecord(StateWrite::Put(StateFamily::kWindows, "", "v")),
            std::nullopt);
}

TEST_F(ChangelogTest, RoundTripIntoAnotherPartition) {
  const std::vector<StateWrite> writes = {
      StateWrite::Put(StateFamily::kWindows, P(3, "acct:1"), "w"),
      StateWrite::Put(StateFamily::kHistory, P(3, "cust:1"), "h"),
      StateWrite::Put(StateFamily::kDedupe, P(3, "tx:1"), "d"),
      StateWrite::Put(StateFamily::kOffsets, P(3, "input"), "99"),
      StateWrite::Put(StateFamily::kWindows, P(3, "empty"), ""),
      StateWrite::Erase(StateFamily::kHistory, P(3, "cust:2")),
      StateWrite::Erase(StateFamily::kDedupe, P(3, "tx:2"))};
  for (const StateWrite& w : writes) {
    std::optional<ChangelogRecord> r = ToRecord(w, 3);
    ASSERT_TRUE(r.has_value()) << w.key;
    std::optional<std::string> value;
    if (r->value.has_value()) value = std::string(*r->value);
    absl::StatusOr<StateWrite> back =
        FromChangelogRecord(r->key, value ? &*value : nullptr, 700);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->family, w.family);
    EXPECT_EQ(back->key, absl::StrCat(PartitionPrefix(700),
                                      absl::string_view(w.key).substr(4)));
    EXPECT_EQ(back->value, w.value);
    EXPECT_EQ(back->erase, w.erase);
    EXPECT_FALSE(back->erase_range);
  }
}

TEST_F(ChangelogTest, FromRecordFamilyBytes) {
  const std::string v = "value";
  struct Case {
    const char* key;
    StateFamily family;
  };
  for (const Case& c :
       {Case{"Wk", StateFamily::kWindows}, Case{"Hk", StateFamily::kHistory},
        Case{"Dk", StateFamily::kDedupe}, Case{"Ok", StateFamily::kOffsets},
        Case{"Kk", StateFamily::kHolds}, Case{"Ak", StateFamily::kAudit}}) {
    absl::StatusOr<StateWrite> w = FromChangelogRecord(c.key, &v, 1);
    ASSERT_TRUE(w.ok()) << w.status();
    EXPECT_EQ(w->family, c.family) << c.key;
    EXPECT_EQ(w->key, P(1, "k"));
    EXPECT_EQ(w->value, "value");
  }
  // A key of only the family byte: the partition prefix alone.
  absl::StatusOr<StateWrite> w = FromChangelogRecord("W", &v, 1);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->key, PartitionPrefix(1));
}

TEST_F(ChangelogTest, FromRecordUnknownFamilyByte) {
  const std::string v = "x";
  absl::StatusOr<StateWrite> w = FromChangelogRecord("Xkey", &v, 1);
  EXPECT_EQ(w.status(), absl::DataLossError(
                            "changelog record with unknown family byte 0x58"));
  w = FromChangelogRecord("wkey", &v, 1);  // family bytes are upper case
  EXPECT_EQ(w.status(), absl::DataLossError(
                            "changelog record with unknown family byte 0x77"));
  w = FromChangelogRecord(absl::string_view("\0k", 2), &v, 1);
  EXPECT_EQ(w.status(), absl::DataLossError(
                            "changelog record with unknown family byte 0x00"));
  w = FromChangelogRecord("\xffk", nullptr, 1);
  EXPECT_EQ(w.status(), absl::DataLossError(
                            "changelog record with unknown family byte 0xff"));
}

TEST_F(ChangelogTest, FromRecordEmptyKey) {
  const std::string v = "x";
  EXPECT_EQ(FromChangelogRecord("", &v, 1).status(),
            absl::DataLossError("changelog record without a key"));
  EXPECT_EQ(FromChangelogRecord("", nullptr, 1).status(),
            absl::DataLossError("changelog record without a key"));
}

TEST_F(ChangelogTest, FromRecordRefusesACheckpoint) {
  const std::string v = "17";
  EXPECT_EQ(FromChangelogRecord("Ochangelog:t.state", &v, 1).status(),
            absl::DataLossError("changelog carries a local checkpoint"));
  EXPECT_EQ(FromChangelogRecord("Ochangelog:", nullptr, 1).status(),
            absl::DataLossError("changelog carries a local checkpoint"));
  // The same bytes in another family are an ordinary key.
  absl::StatusOr<StateWrite> w =
      FromChangelogRecord("Wchangelog:t.state", &v, 1);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->key, P(1, "changelog:t.state"));
}

TEST_F(ChangelogTest, CheckpointKeyAndWrite) {
  EXPECT_EQ(CheckpointKey(5, "t.state"),
            absl::StrCat(PartitionPrefix(5), "changelog:t.state"));
  EXPECT_NE(CheckpointKey(5, "t.state"), CheckpointKey(6, "t.state"));
  EXPECT_NE(CheckpointKey(5, "t.state"), CheckpointKey(5, "t.dedupe"));
  StateWrite w = CheckpointWrite(5, "t.dedupe", 1234567890123);
  EXPECT_EQ(w.family, StateFamily::kOffsets);
  EXPECT_EQ(w.key, CheckpointKey(5, "t.dedupe"));
  EXPECT_EQ(w.value, "1234567890123");
  EXPECT_FALSE(w.erase);
  EXPECT_FALSE(w.erase_range);
}

// ---------------------------------------------------------------------------
// RestorePartition against the embedded (mock) cluster and a real broker.

constexpr int kTimeoutMs = 10000;
constexpr char kStateTopic[] = "it.state-changelog";
constexpr char kDedupeTopic[] = "it.dedupe-changelog";

// One cluster for the suite, with two changelog topics of many partitions;
// each test restores its own partition. (The mock cluster takes about a
// second to start or stop, and up to one more per topic created.)
constexpr int32_t kPartitions = 64;
// Written to by tests as "another partition"; never restored.
constexpr int32_t kForeignPartition = kPartitions - 1;

// Each test runs on both: librdkafka's mock cluster (what `serve` embeds)
// and the real broker tools/test starts (TXSCREEN_KAFKA_BROKERS), which
// alone writes transaction markers and reports aborted transactions.
enum class Backend { kMock, kBroker };
void PrintTo(Backend b, std::ostream* os) {
  *os << (b == Backend::kMock ? "the mock cluster" : "a real broker");
}

class ChangelogRestoreIntegrationTest
    : public ::testing::TestWithParam<Backend> {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka =
        EmbeddedKafka::Create({TopicSpec{kStateTopic, kPartitions, {}},
                               TopicSpec{kDedupeTopic, kPartitions, {}}});
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = kafka->release();
    const char* brokers = std::getenv("TXSCREEN_KAFKA_BROKERS");
    if (brokers == nullptr || *brokers == '\0') return;
    // Topics of this run only: the broker outlives the test binary.
    broker_ =
        new BrokerTopics{brokers, absl::StrCat(kStateTopic, "-", ::getpid()),
                         absl::StrCat(kDedupeTopic, "-", ::getpid())};
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
        MakeKafkaConf({{"bootstrap.servers", brokers}, {"log_level", "3"}});
    ASSERT_TRUE(conf.ok()) << conf.status();
    std::string error;
    std::unique_ptr<RdKafka::Producer> admin(
        RdKafka::Producer::create(conf->get(), error));
    ASSERT_NE(admin, nullptr) << error;
    absl::Status created =
        CreateTopics(admin.get(),
                     {TopicSpec{broker_->state, kPartitions, {}},
                      TopicSpec{broker_->dedupe, kPartitions, {}}},
                     30000);
    ASSERT_TRUE(created.ok()) << created;
  }
  static void TearDownTestSuite() {
    delete kafka_;
    kafka_ = nullptr;
    delete broker_;
    broker_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(kafka_, nullptr);
    if (GetParam() == Backend::kBroker) {
      if (broker_ == nullptr) {
        if (std::getenv("TXSCREEN_REQUIRE_KAFKA") != nullptr) {
          FAIL() << "TXSCREEN_KAFKA_BROKERS is not set (tools/test sets it)";
        }
        GTEST_SKIP() << "no Kafka broker: run through tools/test";
      }
      topics_.state = broker_->state;
      topics_.dedupe = broker_->dedupe;
    } else {
      topics_.state = kStateTopic;
      topics_.dedupe = kDedupeTopic;
    }
    ASSERT_LT(next_partition_, kForeignPartition) << "too many tests";
    part_ = next_partition_++;
    store_ = engine::NewMemoryStateStore();
    consumer_ = MakeConsumer();
    ASSERT_NE(consumer_, nullptr);
    producer_ = MakeProducer("");
    ASSERT_NE(producer_, nullptr);
  }

  void TearDown() override {
    if (consumer_ != nullptr) consumer_->close();
  }

  const std::string& bootstrap() const {
    return GetParam() == Backend::kBroker ? broker_->bootstrap
                                          : kafka_->bootstrap();
  }

  std::unique_ptr<RdKafka::KafkaConsumer> MakeConsumer() {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
        MakeKafkaConf({{"bootstrap.servers", bootstrap()},
                       {"group.id", "changelog-restore-test"},
                       {"isolation.level", "read_committed"},
                       {"enable.partition.eof", "true"},
                       {"enable.auto.commit", "false"},
                       {"auto.offset.reset", "earliest"},
                       {"fetch.wait.max.ms", "10"},
                       {"log_level", "3"}});
    EXPECT_TRUE(conf.ok()) << conf.status();
    if (!conf.ok()) return nullptr;
    std::string error;
    std::unique_ptr<RdKafka::KafkaConsumer> c(
        RdKafka::KafkaConsumer::create(conf->get(), error));
    EXPECT_NE(c, nullptr) << error;
    return c;
  }

  // Transactional when `transactional_id` is not empty.
  std::unique_ptr<RdKafka::Producer> MakeProducer(
      const std::string& transactional_id) {
    KafkaSettings settings = {{"bootstrap.servers", bootstrap()},
                              {"linger.ms", "0"},
                              {"log_level", "3"}};
    if (!transactional_id.empty()) {
      settings["transactional.id"] = transactional_id;
    }
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
        MakeKafkaConf(settings);
    EXPECT_TRUE(conf.ok()) << conf.status();
    if (!conf.ok()) return nullptr;
    std::string error;
    std::unique_ptr<RdKafka::Producer> p(
        RdKafka::Producer::create(conf->get(), error));
    EXPECT_NE(p, nullptr) << error;
    if (p != nullptr && !transactional_id.empty()) {
      std::unique_ptr<RdKafka::Error> e(p->init_transactions(kTimeoutMs));
      EXPECT_EQ(e, nullptr) << e->str();
    }
    return p;
  }

  // Produces the changelog record of `w` (a write of part_), to
  // partition `to` of its topic. Returns the topic.
  const std::string* Produce(RdKafka::Producer* producer, const StateWrite& w,
                             int32_t to = -1) {
    std::optional<ChangelogRecord> r =
        ToChangelogRecord(w, PartitionPrefix(part_), topics_);
    EXPECT_TRUE(r.has_value()) << w.key;
    if (!r.has_value()) return nullptr;
    ProduceRaw(producer, *r->topic, to < 0 ? part_ : to, r->key,
               r->value.has_value() ? std::optional<std::string>(*r->value)
                                    : std::nullopt);
    return r->topic;
  }

  void ProduceRaw(RdKafka::Producer* producer, const std::string& topic,
                  int32_t partition, const std::string& key,
                  const std::optional<std::string>& value,
                  bool with_key = true) {
    // A present but empty value needs a non-null payload (null = tombstone).
    static char empty[1] = {0};
    RdKafka::ErrorCode e = producer->produce(
        topic, partition, RdKafka::Producer::RK_MSG_COPY,
        value.has_value()
            ? (value->empty() ? empty : const_cast<char*>(value->data()))
            : nullptr,
        value.has_value() ? value->size() : 0, with_key ? key.data() : nullptr,
        with_key ? key.size() : 0, 0, nullptr);
    ASSERT_EQ(e, RdKafka::ERR_NO_ERROR) << RdKafka::err2str(e);
  }

  void Flush(RdKafka::Producer* producer) {
    ASSERT_EQ(producer->flush(kTimeoutMs), RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(producer->outq_len(), 0);
  }

  // Runs `writes` in one transaction of `txn`, committed or aborted. The
  // records are flushed first, so that an aborted transaction's records are
  // in the log (an abort purges what is still unsent).
  void RunTransaction(RdKafka::Producer* txn,
                      const std::vector<StateWrite>& writes, bool commit) {
    std::unique_ptr<RdKafka::Error> e(txn->begin_transaction());
    ASSERT_EQ(e, nullptr) << e->str();
    for (const StateWrite& w : writes) Produce(txn, w);
    ASSERT_EQ(txn->flush(kTimeoutMs), RdKafka::ERR_NO_ERROR);
    e.reset(commit ? txn->commit_transaction(kTimeoutMs)
                   : txn->abort_transaction(kTimeoutMs));
    ASSERT_EQ(e, nullptr) << e->str();
  }

  // Produces then flushes, on the plain producer.
  void ProduceAll(const std::vector<StateWrite>& writes) {
    for (const StateWrite& w : writes) Produce(producer_.get(), w);
    Flush(producer_.get());
  }

  absl::StatusOr<RestoreStats> Restore(const std::string& topic) {
    return RestorePartition(consumer_.get(), topic, part_, store_.get(),
                            kTimeoutMs);
  }

  // The store's value of `key` (of part_), nullopt when absent.
  std::optional<std::string> Get(StateFamily family, absl::string_view key) {
    std::string value;
    bool found = false;
    absl::Status s = store_->Get(family, P(part_, key), &value, &found);
    EXPECT_TRUE(s.ok()) << s;
    if (!found) return std::nullopt;
    return value;
  }

  std::optional<std::string> Checkpoint(const std::string& topic) {
    std::string value;
    bool found = false;
    absl::Status s = store_->Get(StateFamily::kOffsets,
                                 CheckpointKey(part_, topic), &value, &found);
    EXPECT_TRUE(s.ok()) << s;
    if (!found) return std::nullopt;
    return value;
  }

  int64_t HighWatermark(const std::string& topic, int32_t partition) {
    int64_t low = 0, high = 0;
    EXPECT_EQ(consumer_->query_watermark_offsets(topic, partition, &low, &high,
                                                 kTimeoutMs),
              RdKafka::ERR_NO_ERROR);
    return high;
  }

  struct BrokerTopics {
    std::string bootstrap, state, dedupe;
  };
  static EmbeddedKafka* kafka_;
  static BrokerTopics* broker_;  // null without a real broker
  static int32_t next_partition_;
  // This test's partition.
  int32_t part_ = 0;
  ChangelogTopics topics_;
  std::unique_ptr<engine::StateStore> store_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Producer> producer_;
};

EmbeddedKafka* ChangelogRestoreIntegrationTest::kafka_ = nullptr;
ChangelogRestoreIntegrationTest::BrokerTopics*
    ChangelogRestoreIntegrationTest::broker_ = nullptr;
int32_t ChangelogRestoreIntegrationTest::next_partition_ = 1;

INSTANTIATE_TEST_SUITE_P(Backends, ChangelogRestoreIntegrationTest,
                         ::testing::Values(Backend::kMock, Backend::kBroker),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kMock ? "MockCluster"
                                                               : "Broker";
                         });

TEST_P(ChangelogRestoreIntegrationTest, RestoresRecordsAndWritesCheckpoint) {
  ProduceAll({
      StateWrite::Put(StateFamily::kWindows, P(part_, "acct:1"), "w1"),
      StateWrite::Put(StateFamily::kHistory, P(part_, "cust:1"), "h1"),
      StateWrite::Put(StateFamily::kOffsets, P(part_, "input"), "42"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "acct:2"), "w2"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "acct:1"), "w1b"),
      StateWrite::Erase(StateFamily::kWindows, P(part_, "acct:2")),
  });
  // Another partition of the same topic is another partition's changelog.
  Produce(producer_.get(),
          StateWrite::Put(StateFamily::kWindows, P(part_, "acct:p0"), "other"),
          kForeignPartition);
  Flush(producer_.get());

  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 6);
  EXPECT_EQ(stats->from_offset, 0);
  EXPECT_EQ(stats->to_offset, 6);
  EXPECT_FALSE(stats->checkpoint_reset);

  EXPECT_EQ(Get(StateFamily::kWindows, "acct:1"), "w1b");
  EXPECT_EQ(Get(StateFamily::kWindows, "acct:2"), std::nullopt);  // tombstone
  EXPECT_EQ(Get(StateFamily::kHistory, "cust:1"), "h1");
  EXPECT_EQ(Get(StateFamily::kOffsets, "input"), "42");
  EXPECT_EQ(Get(StateFamily::kWindows, "acct:p0"), std::nullopt);
  EXPECT_EQ(Checkpoint(topics_.state), "6");
  // Nothing of the dedupe topic's checkpoint.
  EXPECT_EQ(Checkpoint(topics_.dedupe), std::nullopt);

  // The consumer is left unassigned.
  std::vector<RdKafka::TopicPartition*> assignment;
  ASSERT_EQ(consumer_->assignment(assignment), RdKafka::ERR_NO_ERROR);
  EXPECT_TRUE(assignment.empty());
  RdKafka::TopicPartition::destroy(assignment);
}

TEST_P(ChangelogRestoreIntegrationTest, TombstoneErasesAStoredKey) {
  ASSERT_TRUE(store_
                  ->Commit({StateWrite::Put(StateFamily::kHistory,
                                            P(part_, "cust:9"), "old")})
                  .ok());
  ProduceAll({StateWrite::Erase(StateFamily::kHistory, P(part_, "cust:9"))});
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 1);
  EXPECT_EQ(Get(StateFamily::kHistory, "cust:9"), std::nullopt);
}

TEST_P(ChangelogRestoreIntegrationTest, DedupeTopicHasItsOwnCheckpoint) {
  const std::string* topic =
      Produce(producer_.get(),
              StateWrite::Put(StateFamily::kDedupe, P(part_, "tx:1"), "rec1"));
  ASSERT_NE(topic, nullptr);
  EXPECT_EQ(*topic, topics_.dedupe);
  Produce(producer_.get(),
          StateWrite::Put(StateFamily::kDedupe, P(part_, "tx:2"), "rec2"));
  Flush(producer_.get());

  absl::StatusOr<RestoreStats> stats = Restore(topics_.dedupe);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 2);
  EXPECT_EQ(Get(StateFamily::kDedupe, "tx:1"), "rec1");
  EXPECT_EQ(Get(StateFamily::kDedupe, "tx:2"), "rec2");
  EXPECT_EQ(Checkpoint(topics_.dedupe), "2");

  // The (empty) state topic is restored separately.
  stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 0);
  EXPECT_EQ(Checkpoint(topics_.state), "0");
  EXPECT_EQ(Checkpoint(topics_.dedupe), "2");
}

TEST_P(ChangelogRestoreIntegrationTest, SecondRestoreReadsNothingNew) {
  ProduceAll({
      StateWrite::Put(StateFamily::kWindows, P(part_, "a"), "1"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "b"), "2"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "c"), "3"),
  });
  absl::StatusOr<RestoreStats> first = Restore(topics_.state);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->records, 3);

  absl::StatusOr<RestoreStats> second = Restore(topics_.state);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->records, 0);
  EXPECT_EQ(second->from_offset, 3);
  EXPECT_EQ(second->to_offset, 3);
  EXPECT_FALSE(second->checkpoint_reset);
  EXPECT_EQ(Checkpoint(topics_.state), "3");
}

TEST_P(ChangelogRestoreIntegrationTest, ContinuesFromTheCheckpoint) {
  ProduceAll({
      StateWrite::Put(StateFamily::kWindows, P(part_, "a"), "1"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "b"), "2"),
  });
  absl::StatusOr<RestoreStats> first = Restore(topics_.state);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->to_offset, 2);

  // A local change after the checkpoint: re-reading from the start would
  // overwrite it with "1".
  ASSERT_TRUE(store_
                  ->Commit({StateWrite::Put(StateFamily::kWindows,
                                            P(part_, "a"), "local")})
                  .ok());
  ProduceAll({
      StateWrite::Put(StateFamily::kWindows, P(part_, "c"), "3"),
      StateWrite::Erase(StateFamily::kWindows, P(part_, "b")),
      StateWrite::Put(StateFamily::kHistory, P(part_, "h"), "4"),
  });
  absl::StatusOr<RestoreStats> second = Restore(topics_.state);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->records, 3);
  EXPECT_EQ(second->from_offset, 2);
  EXPECT_EQ(second->to_offset, 5);
  EXPECT_FALSE(second->checkpoint_reset);
  EXPECT_EQ(Get(StateFamily::kWindows, "a"), "local");
  EXPECT_EQ(Get(StateFamily::kWindows, "b"), std::nullopt);
  EXPECT_EQ(Get(StateFamily::kWindows, "c"), "3");
  EXPECT_EQ(Get(StateFamily::kHistory, "h"), "4");
  EXPECT_EQ(Checkpoint(topics_.state), "5");
}

TEST_P(ChangelogRestoreIntegrationTest, CheckpointBeyondTheEndIsReset) {
  ProduceAll({
      StateWrite::Put(StateFamily::kWindows, P(part_, "a"), "remote"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "b"), "remote"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "c"), "remote"),
  });
  // The local store is of an earlier cluster, which had reached offset 100.
  ASSERT_TRUE(store_
                  ->Commit({CheckpointWrite(part_, topics_.state, 100),
                            StateWrite::Put(StateFamily::kWindows,
                                            P(part_, "a"), "local")})
                  .ok());
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->checkpoint_reset);
  EXPECT_EQ(stats->records, 0);
  EXPECT_EQ(stats->from_offset, 3);
  EXPECT_EQ(stats->to_offset, 3);
  // The local store is kept as it is; the checkpoint moves to the end.
  EXPECT_EQ(Get(StateFamily::kWindows, "a"), "local");
  EXPECT_EQ(Get(StateFamily::kWindows, "b"), std::nullopt);
  EXPECT_EQ(Checkpoint(topics_.state), "3");

  // From there on, restores continue normally.
  ProduceAll({StateWrite::Put(StateFamily::kWindows, P(part_, "d"), "4")});
  stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_FALSE(stats->checkpoint_reset);
  EXPECT_EQ(stats->records, 1);
  EXPECT_EQ(Get(StateFamily::kWindows, "d"), "4");
  EXPECT_EQ(Checkpoint(topics_.state), "4");
}

TEST_P(ChangelogRestoreIntegrationTest, CheckpointBeyondAnEmptyPartition) {
  ASSERT_TRUE(store_->Commit({CheckpointWrite(part_, topics_.state, 7)}).ok());
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->checkpoint_reset);
  EXPECT_EQ(stats->from_offset, 0);
  EXPECT_EQ(stats->to_offset, 0);
  EXPECT_EQ(Checkpoint(topics_.state), "0");
}

TEST_P(ChangelogRestoreIntegrationTest, EmptyPartition) {
  // Records on the other partition only.
  Produce(producer_.get(),
          StateWrite::Put(StateFamily::kWindows, P(part_, "x"), "1"),
          kForeignPartition);
  Flush(producer_.get());
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 0);
  EXPECT_EQ(stats->from_offset, 0);
  EXPECT_EQ(stats->to_offset, 0);
  EXPECT_FALSE(stats->checkpoint_reset);
  EXPECT_EQ(Checkpoint(topics_.state), "0");
  EXPECT_EQ(Get(StateFamily::kWindows, "x"), std::nullopt);
}

TEST_P(ChangelogRestoreIntegrationTest, EmptyValueIsRestoredAsAnEmptyValue) {
  ProduceAll({StateWrite::Put(StateFamily::kWindows, P(part_, "e"), "")});
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 1);
  EXPECT_EQ(Get(StateFamily::kWindows, "e"), "");
}

TEST_P(ChangelogRestoreIntegrationTest, RestoresCommittedTransactions) {
  std::unique_ptr<RdKafka::Producer> txn =
      MakeProducer(absl::StrCat(topics_.state, ".txn"));
  ASSERT_NE(txn, nullptr);
  const std::vector<StateWrite> first = {
      StateWrite::Put(StateFamily::kWindows, P(part_, "a"), "1"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "b"), "2"),
      StateWrite::Put(StateFamily::kOffsets, P(part_, "input"), "5")};
  const std::vector<StateWrite> second = {
      StateWrite::Erase(StateFamily::kWindows, P(part_, "b")),
      StateWrite::Put(StateFamily::kHistory, P(part_, "h"), "3"),
      StateWrite::Put(StateFamily::kOffsets, P(part_, "input"), "9")};
  ASSERT_NO_FATAL_FAILURE(RunTransaction(txn.get(), first, true));
  ASSERT_NO_FATAL_FAILURE(RunTransaction(txn.get(), second, true));

  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 6);
  EXPECT_EQ(Get(StateFamily::kWindows, "a"), "1");
  EXPECT_EQ(Get(StateFamily::kWindows, "b"), std::nullopt);
  EXPECT_EQ(Get(StateFamily::kHistory, "h"), "3");
  EXPECT_EQ(Get(StateFamily::kOffsets, "input"), "9");
  // The end, transaction markers included (a real broker writes one per
  // transaction; the mock cluster none).
  const int64_t high = HighWatermark(topics_.state, part_);
  EXPECT_EQ(stats->to_offset, high);
  EXPECT_EQ(Checkpoint(topics_.state), absl::StrCat(high));

  stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, 0);
  EXPECT_EQ(stats->from_offset, high);
}

TEST_P(ChangelogRestoreIntegrationTest, AbortedTransactionsAreNotRestored) {
  std::unique_ptr<RdKafka::Producer> txn =
      MakeProducer(absl::StrCat(topics_.state, ".txn"));
  ASSERT_NE(txn, nullptr);
  const std::vector<StateWrite> committed1 = {
      StateWrite::Put(StateFamily::kWindows, P(part_, "a"), "1"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "b"), "2")};
  const std::vector<StateWrite> aborted = {
      StateWrite::Put(StateFamily::kWindows, P(part_, "a"), "aborted"),
      StateWrite::Put(StateFamily::kWindows, P(part_, "x"), "aborted"),
      StateWrite::Erase(StateFamily::kWindows, P(part_, "b"))};
  const std::vector<StateWrite> committed2 = {
      StateWrite::Put(StateFamily::kHistory, P(part_, "h"), "3"),
      StateWrite::Put(StateFamily::kOffsets, P(part_, "input"), "10")};
  ASSERT_NO_FATAL_FAILURE(RunTransaction(txn.get(), committed1, true));
  ASSERT_NO_FATAL_FAILURE(RunTransaction(txn.get(), aborted, false));
  ASSERT_NO_FATAL_FAILURE(RunTransaction(txn.get(), committed2, true));

  // librdkafka's mock cluster (2.0.2) writes no transaction markers and
  // answers every Fetch with an empty aborted-transactions list and
  // LastStableOffset = end (its Fetch handler still does in later releases):
  // a read_committed consumer sees aborted records there. Only a real broker
  // can show that RestorePartition skips them.
  if (GetParam() == Backend::kMock) {
    GTEST_SKIP() << "the mock cluster does not implement aborted "
                    "transactions (no transaction markers)";
  }
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  ASSERT_TRUE(stats.ok()) << stats.status();
  // Read after the restore: the coordinator writes the markers after the
  // commit returns, and the restore waits for them (the last stable offset
  // reaching the end): 7 records and 3 markers.
  const int64_t high = HighWatermark(topics_.state, part_);
  EXPECT_EQ(high, 10);
  EXPECT_EQ(stats->records, 4);
  EXPECT_EQ(Get(StateFamily::kWindows, "a"), "1");
  EXPECT_EQ(Get(StateFamily::kWindows, "b"), "2");
  EXPECT_EQ(Get(StateFamily::kWindows, "x"), std::nullopt);
  EXPECT_EQ(Get(StateFamily::kHistory, "h"), "3");
  EXPECT_EQ(Get(StateFamily::kOffsets, "input"), "10");
  EXPECT_EQ(stats->to_offset, high);
  EXPECT_EQ(Checkpoint(topics_.state), absl::StrCat(high));
}

TEST_P(ChangelogRestoreIntegrationTest, ManyRecordsInSeveralBatches) {
  // More than two of RestorePartition's store batches (5000 writes).
  constexpr int kRecords = 12345;
  for (int i = 0; i < kRecords; ++i) {
    Produce(producer_.get(), StateWrite::Put(StateFamily::kDedupe,
                                             P(part_, absl::StrCat("tx:", i)),
                                             absl::StrCat("rec", i)));
    if (i % 1000 == 999) producer_->poll(0);
  }
  Flush(producer_.get());
  absl::StatusOr<RestoreStats> stats = Restore(topics_.dedupe);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->records, kRecords);
  EXPECT_EQ(stats->to_offset, kRecords);
  EXPECT_EQ(Checkpoint(topics_.dedupe), absl::StrCat(kRecords));
  for (int i : {0, 4999, 5000, 10000, kRecords - 1}) {
    EXPECT_EQ(Get(StateFamily::kDedupe, absl::StrCat("tx:", i)),
              absl::StrCat("rec", i));
  }
}

TEST_P(ChangelogRestoreIntegrationTest, MissingPartitionIsUnavailable) {
  absl::StatusOr<RestoreStats> stats =
      RestorePartition(consumer_.get(), topics_.state, kPartitions,
                       store_.get(), /*timeout_ms=*/300);
  EXPECT_EQ(stats.status(),
            absl::UnavailableError(absl::StrCat(
                "changelog ", topics_.state, "[", kPartitions,
                "]: cannot read its offsets: Local: Unknown partition")));
}

TEST_P(ChangelogRestoreIntegrationTest, UnknownFamilyByteIsDataLoss) {
  ProduceAll({StateWrite::Put(StateFamily::kWindows, P(part_, "a"), "1")});
  ProduceRaw(producer_.get(), topics_.state, part_, "Zbad", "x");
  Flush(producer_.get());
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  EXPECT_EQ(stats.status(),
            absl::DataLossError(absl::StrCat(
                "changelog ", topics_.state, "[", part_,
                "] offset 1: changelog record with unknown family byte "
                "0x5a")));
  // Nothing applied, the checkpoint not moved.
  EXPECT_EQ(Checkpoint(topics_.state), std::nullopt);
}

TEST_P(ChangelogRestoreIntegrationTest, RecordWithoutKeyIsDataLoss) {
  ProduceRaw(producer_.get(), topics_.state, part_, "", "x",
             /*with_key=*/false);
  Flush(producer_.get());
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  EXPECT_EQ(stats.status(), absl::DataLossError(absl::StrCat(
                                "changelog ", topics_.state, "[", part_,
                                "] offset 0: changelog record without a key")));
}

TEST_P(ChangelogRestoreIntegrationTest, CheckpointFromTheChangelogIsRefused) {
  ProduceRaw(producer_.get(), topics_.state, part_,
             absl::StrCat("Ochangelog:", topics_.state), "1000");
  Flush(producer_.get());
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  EXPECT_EQ(stats.status(),
            absl::DataLossError(absl::StrCat(
                "changelog ", topics_.state, "[", part_,
                "] offset 0: changelog carries a local checkpoint")));
  EXPECT_EQ(Checkpoint(topics_.state), std::nullopt);
}

TEST_P(ChangelogRestoreIntegrationTest, CheckpointThatIsNotANumber) {
  ASSERT_TRUE(store_
                  ->Commit({StateWrite::Put(StateFamily::kOffsets,
                                            CheckpointKey(part_, topics_.state),
                                            "12x")})
                  .ok());
  absl::StatusOr<RestoreStats> stats = Restore(topics_.state);
  EXPECT_EQ(stats.status(), absl::DataLossError(absl::StrCat(
                                "checkpoint of ", topics_.state, "[", part_,
                                "] is not a number: '12x'")));
}

}  // namespace
}  // namespace txscreen::serve
