// File: audit.h
//
// The audit log: append-only and tamper-evident. Each input partition keeps
// one hash chain in the "audit" state family (so it moves with the
// partition, through the changelog, like the rest of its state):
//
//   key  = partition | 'R' | seq (8 bytes, big-endian), seq = 1, 2, ...
//   value = txscreen.v1.AuditRecord{seq, prev_hash, hash, body}
//   hash = SHA-256(prev_hash || body); the first record's prev_hash is 32
//          zero bytes
//   key  = partition | 'H' -> the head: the last record's seq and hash
//
// Changing a record's body breaks its hash; deleting or reordering records
// breaks the seq sequence or the prev_hash links; cutting the tail off
// disagrees with the head. Someone who can rewrite the whole chain and its
// head could recompute every hash: record the heads (`txscreen audit
// verify` prints them) somewhere else, e.g. daily, to catch that too.
//
// Thread safety: an AuditLog is used by its partition's thread.
#ifndef TXSCREEN_ENGINE_AUDIT_H_
#define TXSCREEN_ENGINE_AUDIT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/state_store.h"
#include "txscreen/v1/override.pb.h"

namespace txscreen::engine {

class AuditLog {
 public:
  // `store` must outlive the log.
  AuditLog(StateStore* store, int32_t partition);

  // Reads the head from the store.
  absl::Status Load();
  // Appends `entry` (its partition is set here); written by the next flush.
  void Append(txscreen::v1::AuditEntry entry);
  // Where the chain stands, to take back the records appended after it
  // (Rollback) while they are not yet flushed: for an entry that turned
  // out not to be true (an accepted override whose resolution failed).
  struct Mark {
    uint64_t seq = 0;
    std::string hash;
    size_t pending = 0;
  };
  Mark mark() const { return Mark{seq_, hash_, pending_.size()}; }
  void Rollback(const Mark& mark);

  // Writes of the records appended since the last flush and the new head;
  // FlushDone once they are safe (see PartitionState::BuildFlush).
  std::vector<StateWrite> BuildFlush();
  void FlushDone();

  uint64_t last_seq() const { return seq_; }
  const std::string& last_hash() const { return hash_; }

 private:
  StateStore* store_;
  int32_t partition_;
  std::string prefix_;
  uint64_t seq_ = 0;
  std::string hash_;
  std::vector<StateWrite> pending_;
};

// What VerifyAudit found in one partition's chain.
struct AuditChainReport {
  int32_t partition = 0;
  uint64_t records = 0;
  uint64_t head_seq = 0;
  std::string head_hash_hex;
  // Empty when intact; else the first problem, naming the record.
  std::string problem;
};

// Checks every partition's chain in the store. The status is an error only
// when the store cannot be read; broken chains are in the reports.
absl::StatusOr<std::vector<AuditChainReport>> VerifyAudit(StateStore* store);

// Visits every audit record (all partitions, in partition and seq order)
// whose entry time is in [from_us, to_us). Records that do not parse are
// skipped and counted in *unreadable (when not null).
absl::Status ScanAudit(
    StateStore* store, int64_t from_us, int64_t to_us,
    const std::function<void(const txscreen::v1::AuditRecord& record,
                             const txscreen::v1::AuditEntry& entry)>& visit,
    int64_t* unreadable = nullptr);

// Record key of `seq` in `partition` (exposed for tests that tamper).
std::string AuditRecordKey(int32_t partition, uint64_t seq);

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_AUDIT_H_
