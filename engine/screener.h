// File: screener.h
//
// The engine core: decides one transaction and updates its state, exactly
// once per transaction id. The same core runs under `txscreen screen` (file
// input), rule tests, benchmarks and the streaming service.
//
// The life of a transaction here:
//   validate -> duplicate? (answer the first decision) -> reversal? (retract
//   the original's window contributions) -> derive facts (amount in base
//   currency, age) -> history features -> window features (adding this
//   transaction) -> rules -> decision -> history and dedupe record.
// A BLOCKed transaction did not happen: its window contributions are taken
// back after the decision. History (last activity, known payees) only
// records transactions whose verdict lets the money move (ALLOW, REVIEW).
// State changes stay in PartitionState until its Flush().
//
// Thread safety: none; one Screener per partition thread.
#ifndef TXSCREEN_ENGINE_SCREENER_H_
#define TXSCREEN_ENGINE_SCREENER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/clock.h"
#include "engine/partition_state.h"
#include "engine/transaction_validator.h"
#include "engine/window.h"
#include "rules/rule_set.h"

namespace txscreen::engine {

struct ScreenerOptions {
  // Decision budget after occurred_at, per channel number; 0 means
  // `default_budget_us`. Default: 10 s on every channel.
  int64_t default_budget_us = 10LL * 1000000;
  std::array<int64_t, rules::kChannelCount> channel_budget_us{};
  // Whether `late` is set when decided after the deadline. Offline screening
  // of history turns it off: there, every deadline is long past.
  bool mark_late = true;
  ValidationOptions validation;
};

struct ScreenerCounters {
  int64_t screened = 0;
  int64_t rejected = 0;
  int64_t duplicates = 0;
  int64_t reversals = 0;
  int64_t late = 0;
  int64_t division_by_zero = 0;
  // Of `rejected`: older than the dedupe retention before a later
  // transaction of their customer (input not in time order per customer?).
  int64_t too_old = 0;
};

class Screener {
 public:
  // `state` and `clock` must outlive the screener.
  Screener(std::shared_ptr<const rules::RuleSet> rules, PartitionState* state,
           Clock* clock, ScreenerOptions options = {});

  // Replaces the rule set for the next transactions (hot reload). Windows
  // follow their definitions: a changed window starts empty.
  void SetRules(std::shared_ptr<const rules::RuleSet> rules);
  const rules::RuleSet& rules() const { return *rules_; }

  // Decides `tx` into *decision (cleared first). Bad input is not an error:
  // it yields VERDICT_REJECTED_INPUT. Errors are state store failures only;
  // then nothing of this transaction is applied... except what the store
  // already holds, which the caller resolves by not committing the input
  // position.
  absl::Status Screen(const txscreen::v1::Transaction& tx,
                      txscreen::v1::Decision* decision);

  // The decision when Screen() failed (the rules could not complete):
  // `verdict` (the channel's fail-safe) with `why` in the notes, deadline
  // and lateness as usual; nothing in the state changes.
  void FailSafe(const txscreen::v1::Transaction& tx,
                txscreen::v1::Verdict verdict, absl::string_view why,
                int64_t started_us, txscreen::v1::Decision* decision);
  // The decision for a transaction whose message did not decode as it
  // stands (`why`: an unknown field or enum name) but was read leniently
  // into `tx`: VERDICT_REJECTED_INPUT with `why` and every other problem
  // in input_errors, so that core banking gets an answer; nothing in the
  // state changes. A transaction id already decided gets its first
  // decision, marked duplicate, as in Screen(). False, with no decision, when
  // `tx` lacks the transaction or customer id an answer needs.
  bool RejectUndecodable(const txscreen::v1::Transaction& tx,
                         absl::string_view why,
                         txscreen::v1::Decision* decision);
  // When `tx`'s id was decided before: that decision, marked duplicate,
  // into *decision, and true. Else false, *decision cleared.
  bool FirstDecisionOf(const txscreen::v1::Transaction& tx,
                       txscreen::v1::Decision* decision);
  const ScreenerCounters& counters() const { return counters_; }

  // PartitionState::SweepIdle with the current rules' windows: an entity
  // goes once none of its buckets is one that its window would keep for a
  // transaction at the partition's event clock minus the dedupe retention;
  // windows the rules no longer have keep nothing. Call before a flush.
  absl::StatusOr<int64_t> SweepIdle(size_t max_keys);

  // The original that the last Screen() took back, when it screened a
  // reversal that found one not yet reversed, or an original whose
  // reversal came first; null otherwise. Valid until
  // the next Screen().
  struct Retracted {
    std::string transaction_id;
    int64_t occurred_at_us = 0;
    // The reversal's id; empty when the reversal came before the original
    // (the one screened now), whose marker keeps no id.
    std::string by_transaction_id;
    // The retraction record's cause: "REVERSAL", or
    // "REVERSED_BEFORE_ARRIVAL" (the original counted nowhere).
    absl::string_view cause = "REVERSAL";
  };
  const Retracted* retracted() const {
    return has_retracted_ ? &retracted_ : nullptr;
  }

  // The final outcome of a held transaction (holds.h). One that did not
  // happen (cancelled, reported, escalated) has its window contributions
  // retracted, once: its record is marked so a later reversal retracts
  // nothing more. One that was released stands, and its payee becomes known
  // (first-payment checks no longer fire for it). *note says what was done.
  absl::Status Settle(absl::string_view customer_id,
                      absl::string_view transaction_id, int64_t occurred_at_us,
                      bool happened, std::string* note);

 private:
  // The answer (VERDICT_REJECTED_INPUT, nothing changed) when the dedupe
  // check cannot give the first decision: `tx` was seen (`first`) but its
  // record is past the retention, or (`first` null) it is older than the
  // customer's dedupe horizon, so whether it was seen cannot be told.
  absl::Status AnswerForgotten(const txscreen::v1::Transaction& tx,
                               const SeenTransaction* first, int64_t started_us,
                               txscreen::v1::Decision* decision);
  absl::Status Reverse(const txscreen::v1::Transaction& tx,
                       CustomerHistory* history,
                       txscreen::v1::Decision* decision);
  void HistoryFacts(const txscreen::v1::Transaction& tx,
                    const CustomerHistory& history);
  absl::Status Windows(const txscreen::v1::Transaction& tx);
  // Applies pending_ to state and records the contributions.
  void ApplyWindows();
  void UpdateHistory(const txscreen::v1::Transaction& tx,
                     txscreen::v1::Verdict verdict, CustomerHistory* history);
  // Takes back window contributions; returns how many were found. A
  // contribution to a bucket its window may have evicted since is left.
  absl::StatusOr<int> Retract(const TransactionRecordProto& record);
  // The current rule set's window with `fingerprint`, or null.
  const rules::WindowDef* WindowDefOf(uint64_t fingerprint) const;
  // The first bucket a window keeps when a transaction adds to `bucket`
  // (with the clock at now_us_): Windows() evicts those before it.
  int64_t EvictBefore(const rules::WindowDef& def, int64_t bucket);
  void Finish(const txscreen::v1::Transaction& tx, int64_t started_us,
              txscreen::v1::Decision* decision);

  // The value of window feature `index` for the current transaction, worked
  // out on first read (see rules::WindowValues).
  int64_t WindowValue(int index);

  class LazyWindowValues final : public rules::WindowValues {
   public:
    explicit LazyWindowValues(Screener* screener) : screener_(screener) {}
    int64_t Value(int index) const override {
      return screener_->WindowValue(index);
    }

   private:
    Screener* screener_;
  };

  std::shared_ptr<const rules::RuleSet> rules_;
  PartitionState* state_;
  Clock* clock_;
  ScreenerOptions options_;
  BucketClock buckets_;
  rules::EvalContext ctx_;
  LazyWindowValues window_values_{this};
  // Each window feature for the current transaction (Windows()).
  struct WindowSlot {
    // The entity's windows; null when the entity has no state (or no id).
    EntityWindows* entity = nullptr;
    // Included: the transaction passes the filter; `window` indexes
    // entity->windows, and `add_*` is what the transaction adds.
    bool include = false;
    bool has_value = false;
    uint32_t window = 0;
    int64_t value = 0;
    int64_t bucket = 0;
    int64_t add_value = 0;
    uint64_t add_key = 0;
  };
  std::vector<WindowSlot> slots_;
  // Window additions of the current transaction, applied after its decision.
  struct PendingAdd {
    EntityWindows* entity;
    uint32_t window;  // index in entity->windows
    int64_t bucket;
    int64_t value;
    uint64_t key;
    int64_t evict_before;
    txscreen::v1::Entity kind;
  };
  std::vector<PendingAdd> pending_;
  // What the current transaction added to windows, for its dedupe record.
  std::vector<WindowContribution> contributions_;
  std::vector<std::string> errors_;
  // Retract's scratch: each contribution's entity.
  std::vector<EntityWindows*> retract_entities_;
  ScreenerCounters counters_;
  Retracted retracted_;
  // The clock when the current Screen() began.
  int64_t now_us_ = 0;
  bool has_retracted_ = false;
};

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_SCREENER_H_
