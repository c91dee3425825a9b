// File: changelog.h
//
// State follows its partition through Kafka, as Kafka Streams does: every
// state write of input partition p is also produced to partition p of a
// changelog topic, inside the same Kafka transaction that commits the
// consumer offsets. A new owner of p (another instance after a rebalance,
// or a new machine with an empty disk) restores p's state by reading the
// changelog (read_committed) from its local checkpoint to the end before it
// decides anything on p.
//
// Two topics: "state" (windows and, in customers' values, histories; the
// input position, the record chunks' counter and the state format;
// compacted) and "dedupe" (the transactions'
// records, in chunks; compacted and deleted after the dedupe retention, so
// that it does not grow without bound — locally the records go by range
// deletion, which a changelog cannot carry).
//
// Record: key = one family byte + the store key without the partition
// prefix (the changelog partition is the input partition); value = the
// store value, or no value (a tombstone) for an erase.
//
// The local checkpoint — the next changelog offset the local store has — is
// kept in the offsets family under "changelog:<topic>" and never replicated.
//
// Thread safety: functions are stateless; RestorePartition uses the given
// consumer, which must not be used concurrently.
#ifndef TXSCREEN_SERVE_CHANGELOG_H_
#define TXSCREEN_SERVE_CHANGELOG_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/state_store.h"
#include "librdkafka/rdkafkacpp.h"

namespace txscreen::serve {

struct ChangelogTopics {
  std::string state = "txscreen.state-changelog";
  std::string dedupe = "txscreen.dedupe-changelog";
};

// A state write as a changelog record.
struct ChangelogRecord {
  const std::string* topic = nullptr;  // one of ChangelogTopics
  std::string key;
  // nullopt: tombstone.
  std::optional<absl::string_view> value;
};

// The record replicating `write` of the partition whose key prefix is
// `partition_prefix`, or nullopt for writes that stay local (range
// deletions, checkpoints).
std::optional<ChangelogRecord> ToChangelogRecord(
    const engine::StateWrite& write, absl::string_view partition_prefix,
    const ChangelogTopics& topics);

// The store write a changelog record restores into partition `partition`.
absl::StatusOr<engine::StateWrite> FromChangelogRecord(absl::string_view key,
                                                       const std::string* value,
                                                       int32_t partition);

// Offsets-family key of the local checkpoint for `topic`.
std::string CheckpointKey(int32_t partition, absl::string_view topic);
// The checkpoint write: the local store has `topic` up to `next_offset`.
engine::StateWrite CheckpointWrite(int32_t partition, absl::string_view topic,
                                   int64_t next_offset);

struct RestoreStats {
  int64_t records = 0;
  int64_t from_offset = 0;
  int64_t to_offset = 0;          // next offset after the restore
  bool checkpoint_reset = false;  // the topic was younger than the checkpoint
};

// Brings the store's partition `partition` up to the end of `topic`'s
// partition `partition`: reads from the local checkpoint (earliest when
// none) to the end, applying each record, and moves the checkpoint.
// `consumer` must be configured with isolation.level=read_committed and
// enable.partition.eof=true; it is assigned here and unassigned after.
// A checkpoint beyond the topic's end (the topic was recreated, e.g. the
// embedded cluster of an earlier run) is reset to the end: the local store
// is then the only copy and is kept. Cancelled soon after `*stop` (when
// given) becomes true.
absl::StatusOr<RestoreStats> RestorePartition(
    RdKafka::KafkaConsumer* consumer, const std::string& topic,
    int32_t partition, engine::StateStore* store, int timeout_ms,
    const std::atomic<bool>* stop = nullptr);

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_CHANGELOG_H_
