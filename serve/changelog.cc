#include "serve/changelog.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace txscreen::serve {

namespace {

using engine::StateFamily;
using engine::StateWrite;

constexpr absl::string_view kCheckpointPrefix = "changelog:";
constexpr size_t kRestoreBatch = 5000;

char FamilyByte(StateFamily family) {
  switch (family) {
    case StateFamily::kWindows:
      return 'W';
    case StateFamily::kHistory:
      return 'H';
    case StateFamily::kDedupe:
      return 'D';
    case StateFamily::kOffsets:
      return 'O';
    case StateFamily::kHolds:
      return 'K';
    case StateFamily::kAudit:
      return 'A';
  }
  return '?';
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<ChangelogRecord> ToChangelogRecord(
    const StateWrite& write, absl::string_view partition_prefix,
    const ChangelogTopics& topics) {
  if (write.erase_range) return std::nullopt;
  absl::string_view key = write.key;
  if (key.substr(0, partition_prefix.size()) != partition_prefix) {
    return std::nullopt;  // not this partition's: never produced
  }
  key.remove_prefix(partition_prefix.size());
  if (write.family == StateFamily::kOffsets && !engine::IsStateOffsetKey(key)) {
    return std::nullopt;  // checkpoints are local
  }
  ChangelogRecord record;
  record.topic =
      write.family == StateFamily::kDedupe ? &topics.dedupe : &topics.state;
  record.key.reserve(key.size() + 1);
  record.key.push_back(FamilyByte(write.family));
  record.key.append(key.data(), key.size());
  if (!write.erase) record.value = write.value;
  return record;
}

absl::StatusOr<StateWrite> FromChangelogRecord(absl::string_view key,
                                               const std::string* value,
                                               int32_t partition) {
  if (key.empty()) {
    return absl::DataLossError("changelog record without a key");
  }
  StateFamily family;
  switch (key[0]) {
    case 'W':
      family = StateFamily::kWindows;
      break;
    case 'H':
      family = StateFamily::kHistory;
      break;
    case 'D':
      family = StateFamily::kDedupe;
      break;
    case 'O':
      family = StateFamily::kOffsets;
      break;
    case 'K':
      family = StateFamily::kHolds;
      break;
    case 'A':
      family = StateFamily::kAudit;
      break;
    default:
      return absl::DataLossError(absl::StrCat(
          "changelog record with unknown family byte 0x",
          absl::Hex(static_cast<unsigned char>(key[0]), absl::kZeroPad2)));
  }
  key.remove_prefix(1);
  if (family == StateFamily::kOffsets &&
      key.substr(0, kCheckpointPrefix.size()) == kCheckpointPrefix) {
    return absl::DataLossError("changelog carries a local checkpoint");
  }
  std::string store_key = absl::StrCat(engine::PartitionPrefix(partition), key);
  if (value == nullptr) return StateWrite::Erase(family, std::move(store_key));
  return StateWrite::Put(family, std::move(store_key), *value);
}

std::string CheckpointKey(int32_t partition, absl::string_view topic) {
  return absl::StrCat(engine::PartitionPrefix(partition), kCheckpointPrefix,
                      topic);
}

StateWrite CheckpointWrite(int32_t partition, absl::string_view topic,
                           int64_t next_offset) {
  return StateWrite::Put(StateFamily::kOffsets, CheckpointKey(partition, topic),
                         absl::StrCat(next_offset));
}

absl::StatusOr<RestoreStats> RestorePartition(RdKafka::KafkaConsumer* consumer,
                                              const std::string& topic,
                                              int32_t partition,
                                              engine::StateStore* store,
                                              int timeout_ms,
                                              const std::atomic<bool>* stop) {
  const std::string where = absl::StrCat(topic, "[", partition, "]");
  RestoreStats stats;
  std::string text;
  bool found = false;
  if (absl::Status s =
          store->Get(StateFamily::kOffsets, CheckpointKey(partition, topic),
                     &text, &found);
      !s.ok()) {
    return s;
  }
  int64_t checkpoint = 0;
  if (found && !absl::SimpleAtoi(text, &checkpoint)) {
    return absl::DataLossError(absl::StrCat("checkpoint of ", where,
                                            " is not a number: '", text, "'"));
  }
  int64_t low = 0, high = 0;
  RdKafka::ErrorCode err;
  // A topic created a moment ago may not have a leader yet, or not be in
  // this client's metadata yet (librdkafka's local "Unknown partition" /
  // "Unknown topic": seen on a real broker right after creating the topic).
  for (const int64_t until = NowMs() + std::min(timeout_ms, 60000);;) {
    err = consumer->query_watermark_offsets(topic, partition, &low, &high,
                                            std::min(timeout_ms, 10000));
    const bool transient = err == RdKafka::ERR_NOT_LEADER_FOR_PARTITION ||
                           err == RdKafka::ERR_LEADER_NOT_AVAILABLE ||
                           err == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART ||
                           err == RdKafka::ERR__UNKNOWN_PARTITION ||
                           err == RdKafka::ERR__UNKNOWN_TOPIC ||
                           err == RdKafka::ERR__TRANSPORT ||
                           err == RdKafka::ERR__TIMED_OUT;
    if (!transient || NowMs() > until) break;
    if (stop != nullptr && stop->load()) {
      return absl::CancelledError(
          absl::StrCat("changelog ", where, ": restore stopped"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("changelog ", where,
                     ": cannot read its offsets: ", RdKafka::err2str(err)));
  }
  int64_t from = found ? checkpoint : low;
  if (from > high) {
    // The topic is younger than the local state (e.g. the embedded cluster
    // of an earlier run): the local store is the only copy.
    stats.checkpoint_reset = true;
    from = high;
  }
  if (from < low) from = low;  // older records deleted by retention
  stats.from_offset = from;
  stats.to_offset = from;
  if (from >= high) {
    if (!found || checkpoint != from) {
      return store->Commit({CheckpointWrite(partition, topic, from)}).ok()
                 ? absl::StatusOr<RestoreStats>(stats)
                 : absl::UnavailableError(
                       absl::StrCat("cannot write the checkpoint of ", where));
    }
    return stats;
  }

  std::vector<RdKafka::TopicPartition*> assignment = {
      RdKafka::TopicPartition::create(topic, partition, from)};
  err = consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (err != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat(
        "changelog ", where, ": cannot assign: ", RdKafka::err2str(err)));
  }
  struct Unassign {
    RdKafka::KafkaConsumer* c;
    ~Unassign() { c->unassign(); }
  } unassign{consumer};

  std::vector<StateWrite> batch;
  int64_t next = from;
  auto apply = [&]() -> absl::Status {
    batch.push_back(CheckpointWrite(partition, topic, next));
    absl::Status s = store->Commit(batch);
    batch.clear();
    return s;
  };
  const int64_t deadline = NowMs() + timeout_ms;
  while (true) {
    if (stop != nullptr && stop->load()) {
      return absl::CancelledError(absl::StrCat(
          "changelog ", where, ": restore stopped at offset ", next));
    }
    if (NowMs() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "changelog ", where, ": restore did not reach the end (offset ", high,
          ") within ", timeout_ms, " ms; at offset ", next));
    }
    std::unique_ptr<RdKafka::Message> msg(consumer->consume(200));
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR: {
        std::string value;
        const std::string* v = nullptr;
        if (msg->payload() != nullptr) {
          value.assign(static_cast<const char*>(msg->payload()), msg->len());
          v = &value;
        }
        const std::string* key = msg->key();
        absl::StatusOr<StateWrite> write = FromChangelogRecord(
            key == nullptr ? absl::string_view() : absl::string_view(*key), v,
            partition);
        if (!write.ok()) {
          return absl::DataLossError(
              absl::StrCat("changelog ", where, " offset ", msg->offset(), ": ",
                           write.status().message()));
        }
        batch.push_back(*std::move(write));
        ++stats.records;
        next = msg->offset() + 1;
        if (batch.size() >= kRestoreBatch) {
          if (absl::Status s = apply(); !s.ok()) return s;
        }
        break;
      }
      case RdKafka::ERR__PARTITION_EOF: {
        // Under read_committed the end is the last stable offset: an open
        // transaction (a stopped instance's) holds it back until it is
        // committed or aborted, and what it commits belongs to the state.
        next = std::max(next, msg->offset());
        int64_t lo = 0, hi = 0;
        if (consumer->query_watermark_offsets(topic, partition, &lo, &hi,
                                              timeout_ms) ==
                RdKafka::ERR_NO_ERROR &&
            msg->offset() >= hi) {
          if (absl::Status s = apply(); !s.ok()) return s;
          stats.to_offset = next;
          return stats;
        }
        break;
      }
      case RdKafka::ERR__TIMED_OUT:
        break;
      default:
        if (msg->err() == RdKafka::ERR__TRANSPORT ||
            msg->err() == RdKafka::ERR__ALL_BROKERS_DOWN) {
          break;  // retried by librdkafka until the deadline
        }
        return absl::UnavailableError(absl::StrCat(
            "changelog ", where, ": ", RdKafka::err2str(msg->err())));
    }
  }
}

}  // namespace txscreen::serve
