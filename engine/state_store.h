// File: state_store.h
//
// Where the engine's state lives between transactions: a key-value store
// with a few families (column families in RocksDB). The engine keeps hot
// state in memory (partition_state.h) and only reads a key on a cache miss;
// it writes behind in atomic batches that carry the input position with the
// state, so a restart resumes exactly where the state is.
//
// Keys of one partition share the prefix PartitionPrefix(p), so one
// partition's state can be dropped or restored alone.
//
// Thread safety: implementations are safe for concurrent use.
#ifndef TXSCREEN_ENGINE_STATE_STORE_H_
#define TXSCREEN_ENGINE_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace txscreen::engine {

enum class StateFamily : uint8_t {
  kWindows,  // entity -> EntityWindowsProto (a customer's with its history)
  kHistory,  // customer -> CustomerHistoryProto (before format 3: read,
             // and erased as each customer's value takes its history)
  kDedupe,   // day, chunk -> TransactionRecordChunkProto (partition_state.h)
  kOffsets,  // "input" -> the input position of the last committed batch,
             // "dedupe-chunk" -> the next record chunk's number,
             // "state-format", and local checkpoints
  kHolds,    // transaction id -> txscreen.v1.Hold (holds.h)
  kAudit,    // 'R' seq -> txscreen.v1.AuditRecord, 'H' -> head (audit.h)
};
inline constexpr int kStateFamilyCount = 6;

// The offsets family's keys (after the partition prefix) that belong to the
// state and go with it (a changelog replicates them).
inline constexpr absl::string_view kInputPositionKey = "input";
inline constexpr absl::string_view kRecordChunkCounterKey = "dedupe-chunk";
// The latest event time of the partition's records (µs): which days of
// records are past the dedupe retention. Kept with the state, so that a
// record's being found does not depend on when flushes and restarts fell.
inline constexpr absl::string_view kEventClockKey = "event-clock";
// The format of the state's values, as a number: absent for the first
// (records under keys of their own), 2 since records go into chunks, 3
// since a customer's history is in its windows value. A build refuses
// state of a format newer than it knows (partition_state.h).
inline constexpr absl::string_view kStateFormatKey = "state-format";
// Whether an offsets key (after the partition prefix) belongs to the state
// and goes with it: the four above. Anything else there (checkpoints) is
// local to one store.
inline bool IsStateOffsetKey(absl::string_view key) {
  return key == kInputPositionKey || key == kRecordChunkCounterKey ||
         key == kEventClockKey || key == kStateFormatKey;
}

// 4 bytes, big-endian, so a partition's keys sort together.
std::string PartitionPrefix(int32_t partition);

// 72 bytes (libstdc++): a flush builds one per changed entry (~4 per
// transaction), and the vector of them is new memory every flush.
struct StateWrite {
  std::string key;
  // The value of a put; of a range deletion, the end of the range.
  std::string value;
  StateFamily family;
  bool erase = false;
  // Erases every key in [key, end_key()) instead (range deletion).
  bool erase_range = false;

  const std::string& end_key() const { return value; }

  static StateWrite Put(StateFamily family, std::string key,
                        std::string value) {
    return Make(family, std::move(key), std::move(value), false, false);
  }
  static StateWrite Erase(StateFamily family, std::string key) {
    std::string none;
    return Make(family, std::move(key), std::move(none), true, false);
  }
  // Every key of `family` in [begin, end).
  static StateWrite EraseRange(StateFamily family, std::string begin,
                               std::string end) {
    return Make(family, std::move(begin), std::move(end), false, true);
  }

 private:
  // By reference: each write's strings are moved once, not twice.
  static StateWrite Make(StateFamily family, std::string&& key,
                         std::string&& value, bool erase, bool erase_range) {
    StateWrite w;
    w.key = std::move(key);
    w.value = std::move(value);
    w.family = family;
    w.erase = erase;
    w.erase_range = erase_range;
    return w;
  }
};

class StateStore {
 public:
  virtual ~StateStore() = default;

  // Sets *found and, when found, *value.
  virtual absl::Status Get(StateFamily family, absl::string_view key,
                           std::string* value, bool* found) = 0;
  // Applies every write or none.
  virtual absl::Status Commit(const std::vector<StateWrite>& writes) = 0;
  // The same, free to take the keys and values out of *writes (emptied on
  // success, untouched on failure). By default, Commit(*writes).
  virtual absl::Status CommitTaking(std::vector<StateWrite>* writes) {
    return Commit(*writes);
  }
  // Removes every key of `partition` in every family.
  virtual absl::Status DropPartition(int32_t partition) = 0;
  using Visitor =
      std::function<bool(absl::string_view key, absl::string_view value)>;
  // Visits every key of `family` starting with `prefix`, in key order, until
  // `visit` returns false.
  absl::Status Scan(StateFamily family, absl::string_view prefix,
                    const Visitor& visit) {
    return ScanFrom(family, prefix, prefix, visit);
  }
  // The same, from the first such key not below `start` (a scan resumed
  // where an earlier one stopped).
  virtual absl::Status ScanFrom(StateFamily family, absl::string_view prefix,
                                absl::string_view start,
                                const Visitor& visit) = 0;
};

struct StateStoreOptions {
  // RocksDB's memory: block cache (data, index and filter blocks) with
  // every family's memtables charged to it. 0: RocksDB's own defaults
  // (8 MiB cache per family plus up to 2 x 64 MiB memtables per family).
  size_t memory_bytes = 256 << 20;
};

// RocksDB in `dir` (created if missing), one column family per StateFamily.
absl::StatusOr<std::unique_ptr<StateStore>> OpenRocksStateStore(
    const std::string& dir, const StateStoreOptions& options = {});
// The same, read-only: for tools that look at a running engine's state
// (audit verify/export). Commit and DropPartition fail.
absl::StatusOr<std::unique_ptr<StateStore>> OpenRocksStateStoreReadOnly(
    const std::string& dir);

// A store in memory: for rule tests, benchmarks without a disk, and tests.
std::unique_ptr<StateStore> NewMemoryStateStore();

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_STATE_STORE_H_
