// File: kafka_util.h
//
// librdkafka plumbing for the streaming service: configuration from
// key/value settings (with secrets masked wherever they are shown), topic
// creation through the Admin API, partition counts, and the embedded Kafka
// cluster (librdkafka's mock cluster: the real protocol on a loopback port,
// in process, nothing on disk).
//
// Thread safety: functions are stateless; EmbeddedKafka is immutable after
// Create.
#ifndef TXSCREEN_SERVE_KAFKA_UTIL_H_
#define TXSCREEN_SERVE_KAFKA_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "librdkafka/rdkafkacpp.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace txscreen::serve {

using KafkaSettings = std::map<std::string, std::string>;

// Whether a setting's value is a secret (passwords, keys, JAAS config,
// tokens): never logged or shown.
bool IsSecretSetting(absl::string_view key);
// The value as it may be shown: secrets as "******".
std::string ShownSetting(absl::string_view key, absl::string_view value);

// A librdkafka configuration; an unknown key or a bad value is an error
// naming the key (and the value, unless it is a secret).
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(
    const KafkaSettings& settings);

struct TopicSpec {
  std::string name;
  int partitions = 6;
  // Topic-level configs, e.g. cleanup.policy=compact.
  std::map<std::string, std::string> configs;
};

// Creates the topics that do not exist yet (existing ones are left as they
// are); uses `handle`'s connection.
absl::Status CreateTopics(RdKafka::Handle* handle,
                          const std::vector<TopicSpec>& topics, int timeout_ms);

// The topic-level configuration of `topic` as the broker has it (its own
// settings and the broker's defaults), by name.
absl::StatusOr<std::map<std::string, std::string>> TopicConfig(
    RdKafka::Handle* handle, const std::string& topic, int timeout_ms);

// Number of partitions of `topic`, NotFound when it does not exist.
absl::StatusOr<int> PartitionCount(RdKafka::Handle* handle,
                                   const std::string& topic, int timeout_ms);

// The in-process Kafka cluster of `txscreen serve` without --brokers.
class EmbeddedKafka {
 public:
  // One broker; `topics` created with their partition counts (topic
  // configs are not supported by the mock cluster and are ignored).
  static absl::StatusOr<std::unique_ptr<EmbeddedKafka>> Create(
      const std::vector<TopicSpec>& topics);
  ~EmbeddedKafka();

  // "127.0.0.1:PORT"
  const std::string& bootstrap() const { return bootstrap_; }

  // For tests: the next `errors.size()` requests of Kafka API `api_key`
  // (e.g. 26, EndTxn) fail with these error codes, in order.
  void FailNextRequests(int16_t api_key, const std::vector<int>& errors);
  // For tests: the broker answers every request `ms` later.
  void SetRoundTripTime(int ms);
  // For tests: takes the broker away (connections dropped, none accepted)
  // or brings it back, as in an outage.
  void SetBrokerDown(bool down);

 private:
  EmbeddedKafka() = default;
  rd_kafka_s* handle_ = nullptr;  // owns the mock cluster
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_KAFKA_UTIL_H_
