// File: kafka_util_test.cc
#include "serve/kafka_util.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::serve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// ---------------------------------------------------------------------------
// Secrets.

TEST(KafkaUtilTest, SecretSettings) {
  // librdkafka 2.0.2's secrets, and the Java client's JAAS config (which
  // librdkafka refuses, but an operator may well pass).
  for (const char* key :
       {"sasl.password", "ssl.key.password", "ssl.key.pem",
        "ssl.keystore.password", "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.config", "sasl.jaas.config", "SASL.PASSWORD",
        "Ssl.Keystore.Password"}) {
    EXPECT_TRUE(IsSecretSetting(key)) << key;
  }
}

TEST(KafkaUtilTest, PathsToSecretsAreMaskedToo) {
  // Harmless over-masking: these name files, not secrets.
  for (const char* key : {"ssl.key.location", "ssl.keystore.location",
                          "sasl.oauthbearer.token.endpoint.url"}) {
    EXPECT_TRUE(IsSecretSetting(key)) << key;
  }
}

TEST(KafkaUtilTest, OrdinarySettings) {
  for (const char* key :
       {"bootstrap.servers", "linger.ms", "client.id", "security.protocol",
        "sasl.mechanism", "sasl.mechanisms", "sasl.username",
        "sasl.oauthbearer.client.id", "sasl.kerberos.principal",
        "ssl.ca.location", "ssl.certificate.location", "ssl.certificate.pem",
        "ssl.endpoint.identification.algorithm", "compression.type",
        "transactional.id", "isolation.level", ""}) {
    EXPECT_FALSE(IsSecretSetting(key)) << key;
  }
}

TEST(KafkaUtilTest, ShownSetting) {
  EXPECT_EQ(ShownSetting("sasl.password", "hunter2"), "******");
  EXPECT_EQ(ShownSetting("ssl.key.password", ""), "******");
  EXPECT_EQ(ShownSetting("sasl.jaas.config",
                         "org.apache.kafka.common.security.plain."
                         "PlainLoginModule required password=\"p\";"),
            "******");
  EXPECT_EQ(ShownSetting("bootstrap.servers", "k1:9092,k2:9092"),
            "k1:9092,k2:9092");
  EXPECT_EQ(ShownSetting("linger.ms", "5"), "5");
  EXPECT_EQ(ShownSetting("client.id", ""), "");
}

// librdkafka's `ssl_key` (the private key, set through
// rd_kafka_conf_set_ssl_cert) is a secret too, though it is spelt with an
// underscore; MakeKafkaConf's error ("Internal property not settable") must
// not echo it.
TEST(KafkaUtilTest, SslKeyInternalPropertyIsASecret) {
  EXPECT_TRUE(IsSecretSetting("ssl_key"));
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf({{"ssl_key", "-----BEGIN PRIVATE KEY-----Secret"}});
  ASSERT_FALSE(conf.ok());
  EXPECT_THAT(Message(conf.status()), Not(HasSubstr("Secret")));
}

// ---------------------------------------------------------------------------
// MakeKafkaConf.

TEST(KafkaUtilTest, MakeKafkaConfSetsEverySetting) {
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf({{"bootstrap.servers", "k1:9092"},
                     {"linger.ms", "7"},
                     {"client.id", "txscreen-test"},
                     {"sasl.username", "svc"},
                     {"sasl.password", "pw"}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  std::string value;
  ASSERT_EQ((*conf)->get("bootstrap.servers", value), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(value, "k1:9092");
  ASSERT_EQ((*conf)->get("linger.ms", value), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(value, "7");
  ASSERT_EQ((*conf)->get("client.id", value), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(value, "txscreen-test");
  ASSERT_EQ((*conf)->get("sasl.password", value), RdKafka::Conf::CONF_OK);
  EXPECT_EQ(value, "pw");
}

TEST(KafkaUtilTest, MakeKafkaConfEmpty) {
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeKafkaConf({});
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_NE(*conf, nullptr);
}

TEST(KafkaUtilTest, MakeKafkaConfUnknownKeyNamesTheKey) {
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf({{"linger.ms", "5"}, {"no.such.setting", "1"}});
  EXPECT_EQ(conf.status(),
            absl::InvalidArgumentError(
                "kafka setting no.such.setting=1: No such configuration "
                "property: \"no.such.setting\""));
}

TEST(KafkaUtilTest, MakeKafkaConfBadValueNamesKeyAndValue) {
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf({{"security.protocol", "bogus"}});
  EXPECT_EQ(conf.status(),
            absl::InvalidArgumentError(
                "kafka setting security.protocol=bogus: Invalid value "
                "\"bogus\" for configuration property \"security.protocol\""));
  // An alias: librdkafka names the property it stands for; ours names the
  // key given.
  conf = MakeKafkaConf({{"linger.ms", "soon"}});
  ASSERT_FALSE(conf.ok());
  EXPECT_THAT(Message(conf.status()),
              StartsWith("kafka setting linger.ms=soon: "));
}

TEST(KafkaUtilTest, MakeKafkaConfRefusedSecretIsNotEchoed) {
  // librdkafka has no JAAS: always refused.
  const std::string jaas =
      "org.apache.kafka.common.security.plain.PlainLoginModule required "
      "username=\"svc\" password=\"Secret-Jaas-Password\";";
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf({{"sasl.jaas.config", jaas}});
  ASSERT_FALSE(conf.ok());
  EXPECT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(conf.status()),
              StartsWith("kafka setting sasl.jaas.config=******: "));
  EXPECT_THAT(Message(conf.status()), Not(HasSubstr("Secret")));
  // Debian's librdkafka 2.0.2 is built without OIDC (no libcurl), so the
  // client secret is refused there; where it is accepted there is nothing
  // to show.
  conf = MakeKafkaConf({{"sasl.oauthbearer.client.secret", "Secret-Oidc"}});
  if (!conf.ok()) {
    EXPECT_THAT(
        Message(conf.status()),
        StartsWith("kafka setting sasl.oauthbearer.client.secret=******: "));
    EXPECT_THAT(Message(conf.status()), Not(HasSubstr("Secret-Oidc")));
  }
}

// ---------------------------------------------------------------------------
// The embedded cluster.

constexpr int kTimeoutMs = 5000;

std::unique_ptr<RdKafka::Producer> ProducerFor(const EmbeddedKafka& kafka) {
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeKafkaConf(
      {{"bootstrap.servers", kafka.bootstrap()}, {"log_level", "3"}});
  EXPECT_TRUE(conf.ok()) << conf.status();
  if (!conf.ok()) return nullptr;
  std::string error;
  std::unique_ptr<RdKafka::Producer> p(
      RdKafka::Producer::create(conf->get(), error));
  EXPECT_NE(p, nullptr) << error;
  return p;
}

std::unique_ptr<RdKafka::KafkaConsumer> ConsumerFor(
    const EmbeddedKafka& kafka) {
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf({{"bootstrap.servers", kafka.bootstrap()},
                     {"group.id", "kafka-util-test"},
                     {"log_level", "3"}});
  EXPECT_TRUE(conf.ok()) << conf.status();
  if (!conf.ok()) return nullptr;
  std::string error;
  std::unique_ptr<RdKafka::KafkaConsumer> c(
      RdKafka::KafkaConsumer::create(conf->get(), error));
  EXPECT_NE(c, nullptr) << error;
  return c;
}

// One cluster for the suite: starting and stopping one takes a second or
// more.
class EmbeddedKafkaIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka =
        EmbeddedKafka::Create(
            {TopicSpec{"ek.three", 3, {}}, TopicSpec{"ek.one", 1, {}},
             TopicSpec{"ek.configs", 2, {{"cleanup.policy", "compact"}}}});
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = kafka->release();
  }
  static void TearDownTestSuite() {
    delete kafka_;
    kafka_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(kafka_, nullptr); }

  static EmbeddedKafka* kafka_;
};

EmbeddedKafka* EmbeddedKafkaIntegrationTest::kafka_ = nullptr;

TEST_F(EmbeddedKafkaIntegrationTest, BootstrapIsLoopback) {
  EXPECT_THAT(kafka_->bootstrap(), StartsWith("127.0.0.1:"));
  int port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(
      absl::string_view(kafka_->bootstrap()).substr(10), &port))
      << kafka_->bootstrap();
  EXPECT_GT(port, 0);
}

TEST_F(EmbeddedKafkaIntegrationTest, PartitionCountOfTheCreatedTopics) {
  std::unique_ptr<RdKafka::Producer> producer = ProducerFor(*kafka_);
  ASSERT_NE(producer, nullptr);
  absl::StatusOr<int> n =
      PartitionCount(producer.get(), "ek.three", kTimeoutMs);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 3);
  n = PartitionCount(producer.get(), "ek.one", kTimeoutMs);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  // Topic configs are ignored, the topic is created.
  n = PartitionCount(producer.get(), "ek.configs", kTimeoutMs);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
}

TEST_F(EmbeddedKafkaIntegrationTest, PartitionCountThroughAConsumer) {
  std::unique_ptr<RdKafka::KafkaConsumer> consumer = ConsumerFor(*kafka_);
  ASSERT_NE(consumer, nullptr);
  absl::StatusOr<int> n =
      PartitionCount(consumer.get(), "ek.three", kTimeoutMs);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 3);
  consumer->close();
}

// PartitionCount must not ask for the metadata of that one topic: such a
// request may create the topic: librdkafka talks Metadata v2 to the mock
// cluster, a version without the AllowAutoTopicCreation flag, so it always
// auto-creates (with 4 partitions), whatever allow.auto.create.topics says; a
// real broker with auto.create.topics.enable=true (its default) does the same
// for a producer handle (allow.auto.create.topics defaults to true there),
// which is the handle Service::Create passes. So a missing (e.g. misspelt)
// topic is created with the broker's default partition count instead of being
// NotFound. A metadata request for all topics creates nothing.
TEST_F(EmbeddedKafkaIntegrationTest,
       PartitionCountOfAMissingTopicDoesNotCreateIt) {
  std::unique_ptr<RdKafka::Producer> producer = ProducerFor(*kafka_);
  ASSERT_NE(producer, nullptr);
  absl::StatusOr<int> n =
      PartitionCount(producer.get(), "ek.missing-p", kTimeoutMs);
  EXPECT_EQ(n.status(),
            absl::NotFoundError("topic ek.missing-p does not exist"))
      << "partitions: " << (n.ok() ? *n : -1);

  std::unique_ptr<RdKafka::KafkaConsumer> consumer = ConsumerFor(*kafka_);
  ASSERT_NE(consumer, nullptr);
  n = PartitionCount(consumer.get(), "ek.missing-c", kTimeoutMs);
  EXPECT_EQ(n.status(),
            absl::NotFoundError("topic ek.missing-c does not exist"))
      << "partitions: " << (n.ok() ? *n : -1);
  consumer->close();
}

TEST_F(EmbeddedKafkaIntegrationTest, CreateTopicsWithNothingToCreate) {
  std::unique_ptr<RdKafka::Producer> producer = ProducerFor(*kafka_);
  ASSERT_NE(producer, nullptr);
  EXPECT_TRUE(CreateTopics(producer.get(), {}, kTimeoutMs).ok());
}

// (librdkafka 2.0.2's CreateTopics does not complete against its mock
// cluster — "Failed while waiting for controller: Local: Timed out" — which
// is why Service::Create does not call it on the embedded cluster; only the
// checks before the request are tested here.)
TEST_F(EmbeddedKafkaIntegrationTest, CreateTopicsRefusesABadSpec) {
  std::unique_ptr<RdKafka::Producer> producer = ProducerFor(*kafka_);
  ASSERT_NE(producer, nullptr);
  absl::Status s = CreateTopics(
      producer.get(), {TopicSpec{"ek.ok", 1, {}}, TopicSpec{"ek.bad", -2, {}}},
      kTimeoutMs);
  EXPECT_EQ(s, absl::InvalidArgumentError(
                   "topic ek.bad: num_partitions out of expected range "
                   "1..100000 or -1 for broker default"));
}

TEST_F(EmbeddedKafkaIntegrationTest, ProducesAndConsumes) {
  std::unique_ptr<RdKafka::Producer> producer = ProducerFor(*kafka_);
  ASSERT_NE(producer, nullptr);
  std::string payload = "hello";
  ASSERT_EQ(
      producer->produce("ek.one", 0, RdKafka::Producer::RK_MSG_COPY,
                        payload.data(), payload.size(), "k", 1, 0, nullptr),
      RdKafka::ERR_NO_ERROR);
  ASSERT_EQ(producer->flush(kTimeoutMs), RdKafka::ERR_NO_ERROR);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer = ConsumerFor(*kafka_);
  ASSERT_NE(consumer, nullptr);
  int64_t low = -1, high = -1;
  ASSERT_EQ(
      consumer->query_watermark_offsets("ek.one", 0, &low, &high, kTimeoutMs),
      RdKafka::ERR_NO_ERROR);
  EXPECT_EQ(low, 0);
  EXPECT_GE(high, 1);
  consumer->close();
}

TEST(EmbeddedKafkaIntegrationCreateTest, WithoutTopics) {
  absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka =
      EmbeddedKafka::Create({});
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  EXPECT_THAT((*kafka)->bootstrap(), StartsWith("127.0.0.1:"));
}

TEST(EmbeddedKafkaIntegrationCreateTest, TopicErrorIsAnError) {
  absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka = EmbeddedKafka::Create(
      {TopicSpec{"ek.dup", 1, {}}, TopicSpec{"ek.dup", 2, {}}});
  EXPECT_EQ(kafka.status(),
            absl::InternalError(
                "embedded kafka: topic ek.dup: Broker: Topic already exists"));
}

// EmbeddedKafka::Create checks the partition counts: a negative one would
// reach rd_kafka_mock_topic_create, whose calloc assertion aborts the
// process (`rd.h:134: rd_calloc: Assertion 'p' failed`).
TEST(EmbeddedKafkaIntegrationDeathTest, NegativePartitionCountIsAnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka =
            EmbeddedKafka::Create({TopicSpec{"ek.negative", -1, {}}});
        std::_Exit(kafka.ok() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace txscreen::serve
