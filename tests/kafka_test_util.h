// File: kafka_test_util.h
//
// What the integration tests against the real broker share: where the
// broker is (TXSCREEN_KAFKA_BROKERS, set by tools/test), REQUIRE_KAFKA(),
// a monotonic clock in milliseconds and a temporary directory.
#ifndef TXSCREEN_TESTS_KAFKA_TEST_UTIL_H_
#define TXSCREEN_TESTS_KAFKA_TEST_UTIL_H_

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "librdkafka/rdkafkacpp.h"

namespace txscreen::testing {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline std::string Brokers() {
  const char* b = std::getenv("TXSCREEN_KAFKA_BROKERS");
  return b != nullptr ? b : "";
}

// Skips the test without a broker, or fails it when TXSCREEN_REQUIRE_KAFKA
// is set (as tools/test does).
#define REQUIRE_KAFKA()                                                 \
  do {                                                                  \
    if (::txscreen::testing::Brokers().empty()) {                       \
      if (std::getenv("TXSCREEN_REQUIRE_KAFKA") != nullptr) {           \
        FAIL() << "TXSCREEN_KAFKA_BROKERS is not set (tools/test sets " \
                  "it after starting the broker)";                      \
      }                                                                 \
      GTEST_SKIP() << "no Kafka broker: run through tools/test";        \
    }                                                                   \
  } while (0)

// A fresh temporary directory, removed at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "txscreen-test") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX"))
            .string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Waits until consumer group `group` has committed every message of
// `topic` (partitions 0..partitions-1): its committed offsets are the ends.
// False on timeout.
inline bool WaitCommittedToEnd(const std::string& brokers,
                               const std::string& group,
                               const std::string& topic, int partitions,
                               int timeout_ms) {
  std::unique_ptr<RdKafka::Conf> conf(
      RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", brokers, error);
  conf->set("group.id", group, error);  // only asked, never joined
  conf->set("enable.auto.commit", "false", error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer == nullptr) return false;
  const int64_t deadline = NowMs() + timeout_ms;
  bool done = false;
  while (!done && NowMs() < deadline) {
    std::vector<RdKafka::TopicPartition*> parts;
    for (int p = 0; p < partitions; ++p) {
      parts.push_back(RdKafka::TopicPartition::create(topic, p));
    }
    done = consumer->committed(parts, 5000) == RdKafka::ERR_NO_ERROR;
    for (RdKafka::TopicPartition* tp : parts) {
      int64_t low = 0, high = 0;
      done =
          done &&
          consumer->query_watermark_offsets(topic, tp->partition(), &low, &high,
                                            5000) == RdKafka::ERR_NO_ERROR &&
          tp->offset() == high;
    }
    RdKafka::TopicPartition::destroy(parts);
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  consumer->close();
  return done;
}

// Reads a topic from the beginning (all partitions) with its own group;
// with `read_uncommitted`, messages of aborted transactions too.
class TopicReader {
 public:
  struct Message {
    std::string key, value;
    std::map<std::string, std::string> headers;
  };

  TopicReader(const std::string& brokers, const std::string& topic,
              bool read_uncommitted = false) {
    std::unique_ptr<RdKafka::Conf> conf(
        RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", brokers, error);
    conf->set("group.id", absl::StrCat("reader-", getpid(), "-", ++count_),
              error);
    conf->set("auto.offset.reset", "earliest", error);
    conf->set("enable.auto.commit", "false", error);
    conf->set("fetch.wait.max.ms", "20", error);
    if (read_uncommitted)
      conf->set("isolation.level", "read_uncommitted", error);
    consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
    consumer_->subscribe({topic});
  }
  ~TopicReader() { consumer_->close(); }
  TopicReader(const TopicReader&) = delete;
  TopicReader& operator=(const TopicReader&) = delete;

  // Reads until `done(messages)` or the timeout.
  template <typename Done>
  void ReadUntil(Done done, int timeout_ms) {
    const int64_t deadline = NowMs() + timeout_ms;
    while (!done(messages_) && NowMs() < deadline) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(100));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      Message msg;
      msg.value.assign(static_cast<const char*>(m->payload()), m->len());
      if (m->key() != nullptr) msg.key = *m->key();
      if (RdKafka::Headers* h = m->headers()) {
        for (const RdKafka::Headers::Header& header : h->get_all()) {
          msg.headers[header.key()] = std::string(
              static_cast<const char*>(header.value()), header.value_size());
        }
      }
      messages_.push_back(std::move(msg));
    }
  }

  // Reads until `count` messages satisfy `match`, or the timeout; returns
  // the matching ones.
  template <typename Match>
  std::vector<Message> Until(size_t count, Match match,
                             int timeout_ms = 30000) {
    auto matching = [&](const std::vector<Message>& all) {
      std::vector<Message> out;
      for (const Message& m : all) {
        if (match(m)) out.push_back(m);
      }
      return out;
    };
    ReadUntil(
        [&](const std::vector<Message>& all) {
          return matching(all).size() >= count;
        },
        timeout_ms);
    return matching(messages_);
  }

  const std::vector<Message>& messages() const { return messages_; }

 private:
  static inline int count_ = 0;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::vector<Message> messages_;
};

}  // namespace txscreen::testing

#endif  // TXSCREEN_TESTS_KAFKA_TEST_UTIL_H_
