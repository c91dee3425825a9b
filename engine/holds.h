// File: holds.h
//
// The intercept and override loop of one partition (SPEC §5).
//
// An INTERCEPT or BLOCK decision opens a hold (txscreen.v1.Hold, in the
// "holds" state family, keyed by transaction id) that expires after the
// hold timeout. A teller answers with an Override; ValidateOverride checks
// it against the hold and the staff roster and either refuses it (with a
// code and a reason in English and Chinese; nothing changes) or accepts it:
// the hold is resolved, a Disposition is issued, and a transaction that did
// not happen (every outcome but RELEASE) has its window contributions
// retracted. Holds nobody answers escalate at expiry (OUTCOME_ESCALATED_
// TIMEOUT). The same override_id is answered with the same result again
// and changes nothing twice.
//
// Every opened hold's decision, every override (accepted or refused) and
// every disposition is appended to the partition's audit log.
//
// Pending holds live in memory (they are few: a hold lasts minutes); a
// resolved one is kept in the store for `resolved_retention_us`, to answer
// late or repeated overrides, and read from there on demand. Changes are
// written behind like PartitionState's: BuildFlush / FlushDone.
//
// Thread safety: none; used by its partition's thread.
#ifndef TXSCREEN_ENGINE_HOLDS_H_
#define TXSCREEN_ENGINE_HOLDS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "engine/audit.h"
#include "engine/clock.h"
#include "engine/masking.h"
#include "engine/roster.h"
#include "engine/screener.h"
#include "engine/state_store.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/override.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {

struct HoldOptions {
  // A hold nobody answers is escalated after this (wall clock). Default:
  // 30 minutes.
  int64_t timeout_us = 30LL * 60 * 1000000;
  // A resolved hold is remembered this long (late and repeated overrides
  // are answered from it). Default: 7 days.
  int64_t resolved_retention_us = 7LL * 86400 * 1000000;
};

// What one step produced, for the caller to publish.
struct HoldEvents {
  // Holds opened or changed (the console's view, txscreen.holds).
  std::vector<txscreen::v1::Hold> holds;
  std::vector<txscreen::v1::OverrideResult> results;
  std::vector<txscreen::v1::Disposition> dispositions;
  // Remarks for the log (e.g. what a cancel retracted).
  std::vector<std::string> notes;

  void Clear() {
    holds.clear();
    results.clear();
    dispositions.clear();
    notes.clear();
  }
};

// A refusal: a stable code and the reason in English and Chinese.
struct Refusal {
  std::string code;
  std::string reason;
  std::string reason_zh;
};

// Checks `o` against `hold` (nullptr when there is none) and the roster at
// engine time `now_us`. Returns nullopt when the override may be applied.
std::optional<Refusal> ValidateOverride(const txscreen::v1::Override& o,
                                        const txscreen::v1::Hold* hold,
                                        const Roster& roster, int64_t now_us);

absl::string_view OutcomeName(txscreen::v1::Outcome outcome);
// Whether a held transaction goes ahead after this outcome (only a
// release); otherwise its window contributions are retracted.
bool HappenedAfter(txscreen::v1::Outcome outcome);

class HoldBook {
 public:
  // `store`, `clock` must outlive the book.
  HoldBook(StateStore* store, int32_t partition, Clock* clock,
           HoldOptions options = {});

  // Loads the pending holds and the audit head from the store.
  absl::Status Load();

  // After a decision: opens a hold for a first (not duplicate) INTERCEPT or
  // BLOCK, and audits the decision. `zone` is the time zone of the pack
  // that decided (the customer's age on the hold is counted in it).
  void Decided(const txscreen::v1::Transaction& tx,
               const txscreen::v1::Decision& decision,
               const absl::TimeZone& zone, HoldEvents* out);

  // Validates and, when accepted, applies `o`; `screener` settles the held
  // transaction. Errors are state store failures only; then the hold stays
  // pending, and the result in *out is the refusal ENGINE_ERROR ("try
  // again"), also in the audit log when the override got that far.
  absl::Status Answer(const txscreen::v1::Override& o, const Roster& roster,
                      Screener* screener, HoldEvents* out);

  // Escalates every pending hold whose expiry has passed; about hourly,
  // also forgets resolved holds past their retention (a scan of the
  // partition's holds in the store).
  absl::Status ExpireDue(Screener* screener, HoldEvents* out);

  // Pending holds, oldest first.
  std::vector<const txscreen::v1::Hold*> Pending() const;
  size_t pending() const { return pending_.size(); }
  // Whether anything changed since the last flush.
  bool dirty() const {
    return !changed_.empty() || !erase_.empty() || audit_dirty_;
  }

  std::vector<StateWrite> BuildFlush();
  void FlushDone();
  // FlushDone in two steps (see PartitionState::HandOff): HandOff right
  // after BuildFlush, Committed once the writes are safe; until then the
  // handed-off changes are still what Find sees.
  void HandOff();
  void Committed();

 private:
  // The hold of `transaction_id`: pending, changed since the last flush (or
  // in the flush handed off), or from the store. nullptr when none.
  absl::StatusOr<const txscreen::v1::Hold*> Find(
      absl::string_view transaction_id);
  absl::Status Resolve(txscreen::v1::Hold* hold,
                       txscreen::v1::Disposition disposition,
                       Screener* screener, HoldEvents* out);
  void Audit(txscreen::v1::AuditEntry::Kind kind, absl::string_view tx_id,
             txscreen::v1::AuditEntry* entry);
  std::string Key(absl::string_view transaction_id) const;

  StateStore* store_;
  int32_t partition_;
  Clock* clock_;
  HoldOptions options_;
  std::string prefix_;
  AuditLog audit_;
  bool audit_dirty_ = false;
  // Pending holds by transaction id, and by expiry.
  absl::flat_hash_map<std::string, txscreen::v1::Hold> pending_;
  std::multimap<int64_t, std::string> expiry_;
  // Holds changed since the last flush (written at flush), resolved ones
  // included; and resolved holds whose retention ended (erased at flush).
  absl::flat_hash_map<std::string, txscreen::v1::Hold> changed_;
  std::vector<std::string> erase_;
  // The same, handed off and not yet committed.
  absl::flat_hash_map<std::string, txscreen::v1::Hold> handed_off_changed_;
  std::vector<std::string> handed_off_erase_;
  // Wall-clock time of the next sweep for resolved holds past retention.
  int64_t next_sweep_us_ = 0;
  txscreen::v1::Hold loaded_;  // scratch for Find
};

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_HOLDS_H_
