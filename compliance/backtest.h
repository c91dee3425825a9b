// File: backtest.h
//
// `txscreen backtest`: a rule set over historical transactions through the
// same engine core as `serve` (engine::Screener), on fresh state, with
// per-rule hit counts and amounts, the verdict distribution and, when rows
// carry labels, precision / recall / F1 per rule and overall, and recall
// per group (e.g. per typology).
//
// Metrics are at transaction level. A transaction is "flagged" when its
// verdict is REVIEW, WARN, DELAY, INTERCEPT or BLOCK; a rule "catches" a
// transaction when it hits it (a REPORT-only rule such as a large-value
// report counts for that rule, not for the overall flag). Repeated
// transaction ids are answered with the first decision and are counted as
// duplicates, not tallied again. A REJECTED_INPUT transaction is not
// flagged.
//
// Thread safety: none; one run per thread.
#ifndef TXSCREEN_COMPLIANCE_BACKTEST_H_
#define TXSCREEN_COMPLIANCE_BACKTEST_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "compliance/input.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::compliance {

struct Confusion {
  int64_t true_positives = 0;
  int64_t false_positives = 0;
  int64_t false_negatives = 0;
  int64_t true_negatives = 0;
  // 0 when undefined (nothing flagged, no positives).
  double precision() const;
  double recall() const;
  double f1() const;
};

struct RuleTally {
  int64_t hits = 0;
  std::map<std::string, int64_t> amount_minor_by_currency;
  Confusion confusion;
};

struct GroupTally {
  int64_t transactions = 0;
  int64_t positives = 0;
  int64_t flagged = 0;
  int64_t flagged_positives = 0;
  // Rules that hit this group's positive transactions.
  std::map<std::string, int64_t> rules_on_positives;
  double recall() const;
};

// Everything a run counts. Add() is the arithmetic; unit-tested alone.
class Tally {
 public:
  static bool Flagged(txscreen::v1::Verdict verdict);
  void Add(const txscreen::v1::Transaction& tx,
           const txscreen::v1::Decision& decision, const InputRow& row);

  int64_t transactions = 0;
  int64_t labelled = 0;
  int64_t positives = 0;
  std::map<std::string, int64_t> verdicts;  // "ALLOW" -> n
  std::map<std::string, RuleTally> rules;   // by rule id
  std::map<std::string, GroupTally> groups;
  Confusion overall;
};

struct BacktestOptions {
  std::vector<std::string> rules;  // rule packs or files
  InputOptions input;
  std::string state_dir;   // empty: fresh in-memory state
  std::string output_dir;  // empty: summary on stdout only
  // Progress lines on long runs; nullptr for none.
  std::ostream* progress = nullptr;
  double progress_every_seconds = 5;
};

struct BacktestResult {
  int64_t rows = 0;  // data rows read, of any outcome
  int64_t skipped = 0;
  int64_t bad = 0;
  int64_t duplicates = 0;
  std::map<std::string, int64_t> skip_reasons;
  std::vector<std::string> bad_rows;  // "FILE:LINE: why", the first 1000
  // A malformed CSV row ended the reading here (0: the whole input read).
  int64_t truncated_at_line = 0;
  bool has_labels = false;
  bool has_groups = false;
  std::string ruleset_version;
  double seconds = 0;
  Tally tally;
};

// Runs the backtest; writes DIR/decisions.jsonl, DIR/report.json,
// DIR/summary.txt and DIR/bad_rows.txt when options.output_dir is set.
// Returns 0, 1 for errors (reported on *err: bad rules, mapping, files),
// or 2 when some rows were bad (the report is complete for the rest).
int RunBacktest(const BacktestOptions& options, std::ostream* out,
                std::ostream* err, BacktestResult* result = nullptr);

// The JSON report and the text summary of a result.
std::string BacktestReportJson(const BacktestOptions& options,
                               const BacktestResult& result);
void PrintBacktestSummary(const BacktestResult& result, std::ostream* out);

}  // namespace txscreen::compliance

#endif  // TXSCREEN_COMPLIANCE_BACKTEST_H_
