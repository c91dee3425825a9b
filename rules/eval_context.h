// File: eval_context.h
//
// What compiled rule expressions read while deciding one transaction. The
// engine owns one EvalContext per processing thread and refills it for each
// transaction: PrepareTransactionFacts() (rule_set.h) fills the transaction
// part, the engine's state fills `history` and `windows`, rule evaluation
// fills `scores`. Reusing the context keeps the hot path free of allocation:
// the string buffers keep their capacity between transactions.
//
// Thread safety: one context per thread; never shared.
#ifndef TXSCREEN_RULES_EVAL_CONTEXT_H_
#define TXSCREEN_RULES_EVAL_CONTEXT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::rules {

// Customer history before the current transaction (the engine's history
// store). Zero values when `has_previous` is false.
struct HistoryFacts {
  // The customer has an earlier transaction on record.
  bool has_previous = false;
  // Event time of the current minus that of the previous transaction.
  int64_t since_previous_us = 0;
  // Region code of the previous transaction ("" when unknown). Points into
  // state that outlives the evaluation.
  absl::string_view previous_region_code;
  // Great-circle distance and implied speed from the previous transaction's
  // geo to this one's; valid only when both had a position.
  bool distance_known = false;
  int64_t distance_km = 0;
  int64_t speed_kmh = 0;
  // Direction OUT with a counterparty account this customer has not paid
  // before (within the engine's payee memory).
  bool first_payment_to_counterparty = false;
  // Direction OUT to a counterparty account this customer paid before, and
  // the first of those payments is known: the time since it.
  bool counterparty_known = false;
  int64_t counterparty_known_for_us = 0;
};

// Window feature values worked out when a rule first reads them: most rules
// stop before they read a window (a cash rule on a card payment), so most of
// a pack's windows need no value for most transactions. The engine
// implements it over its state.
class WindowValues {
 public:
  virtual ~WindowValues() = default;
  // The value of feature `index` (RuleSet::windows()), including the current
  // transaction when it passes the feature's filter. Cheap after the first
  // call for the same transaction.
  virtual int64_t Value(int index) const = 0;
};

// The local minute (pack time zone) of a recent transaction: a cache that
// spares a time zone conversion per transaction.
struct LocalMinute {
  const void* zone = nullptr;
  int64_t from_us = 1;  // empty until first use
  int64_t until_us = 0;
  int64_t year = 0;
  int month = 0, day = 0, hour = 0;
};

// Number of transaction string fields that may be cached in normalised form.
inline constexpr int kNormalizedSlots = 16;
// Number of shared subexpressions whose values are kept per transaction
// (expr_compiler.h, SharedSubexpressions).
inline constexpr int kMemoSlots = 64;

struct EvalContext {
  const txscreen::v1::Transaction* tx = nullptr;

  // Derived transaction facts (PrepareTransactionFacts).
  int64_t occurred_at_us = 0;
  // Amount converted into the pack's base currency, minor units.
  int64_t amount_base = 0;
  // Hour of day (0-23) of occurred_at in the pack's time zone.
  int64_t local_hour = 0;
  bool customer_age_known = false;
  // Whole years at occurred_at, in the pack's time zone.
  int64_t customer_age = 0;
  bool account_age_known = false;
  int64_t account_age_us = 0;

  HistoryFacts history;

  // Window feature values, indexed by feature index (RuleSet::windows()).
  // Includes the current transaction when it passes the feature's filter.
  // Read when `window_values` is null.
  const int64_t* windows = nullptr;
  const WindowValues* window_values = nullptr;

  // Score totals, indexed by score index; rules add to them as they hit.
  std::vector<int64_t> scores;

  LocalMinute local_minute;

  // Normalised forms of transaction string fields, filled on first use.
  mutable std::array<std::string, kNormalizedSlots> normalized;
  // The normalised form of each slot: `normalized[slot]`, or the field's own
  // text when normalising leaves it as it is.
  mutable std::array<absl::string_view, kNormalizedSlots> normalized_view;
  mutable uint32_t normalized_valid = 0;
  // Values of shared subexpressions, valid where the bit of their slot is
  // set. Every input they read (transaction, history, windows) is filled
  // before the first expression that reads it is evaluated, and stays put
  // until ResetCaches.
  mutable std::array<int64_t, kMemoSlots> memo;
  mutable uint64_t memo_valid = 0;
  // Of the valid ones, those whose value is not 0 (true, for conditions).
  mutable uint64_t memo_true = 0;
  // Scratch for normalising computed strings.
  mutable std::string scratch;
  // Runtime divisions by zero (the result is 0); the engine counts them.
  mutable int64_t division_by_zero = 0;

  // Forgets the per-transaction caches; call before each transaction.
  void ResetCaches() {
    normalized_valid = 0;
    memo_valid = 0;
    memo_true = 0;
    division_by_zero = 0;
  }
};

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_EVAL_CONTEXT_H_
