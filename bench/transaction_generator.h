// File: transaction_generator.h
//
// Deterministic synthetic traffic for the benchmarks: a bank's customers
// making ordinary payments, transfers, cash deposits and withdrawals, FX,
// with Chinese memos, habitual and new payees, elderly customers, a few
// scams, reversals and resent duplicates. The same seed gives the same
// transactions on every machine.
//
// Each customer makes about four transactions a day in event time on
// average, whatever the number of customers, so same-day windows hold what a
// real day holds. With `skew` > 0 activity is Zipf-like: customer number r
// (0-based) is drawn with weight 1 / (r + 1)^skew.
//
// With `scenario_share` > 0, labelled fraud and laundering scenarios are
// injected (label() says which scenario a transaction belongs to and
// whether it is the suspicious step a rule should alert on). Their actors
// are customers of their own ("S..." ids), so they never disturb the
// ordinary population's windows.
//
// Thread safety: none; one generator per thread.
#ifndef TXSCREEN_BENCH_TRANSACTION_GENERATOR_H_
#define TXSCREEN_BENCH_TRANSACTION_GENERATOR_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::bench {

struct GeneratorOptions {
  uint64_t seed = 20261120;
  // Distinct customers, numbered 0..customers-1, drawn uniformly.
  int64_t customers = 100000;
  // Event time of the first transaction: 2026-01-05T00:00:00+08:00.
  int64_t start_us = 1767542400LL * 1000000;
  // Transactions per customer per day of event time.
  double per_customer_per_day = 4.0;
  // Zipf exponent of customer activity; 0: every customer alike.
  double skew = 0.0;
  // Share of transactions that belong to injected scenarios (0..0.5).
  double scenario_share = 0.0;
  // transaction_id = prefix + 12-digit sequence number.
  std::string id_prefix = "T";
};

// The injected scenarios, by name (also the label's `scenario`).
inline constexpr absl::string_view kScenarios[] = {"safe_account_scam",
                                                   "structuring",
                                                   "mule_in_out",
                                                   "fan_in",
                                                   "fan_out",
                                                   "cross_region",
                                                   "police_listed_payee",
                                                   "velocity_burst",
                                                   "cash_courier"};

struct TrafficLabel {
  // Empty for ordinary traffic; else one of kScenarios.
  std::string scenario;
  // 1-based step within the scenario (0 for ordinary traffic).
  int step = 0;
  // Whether this is a step the shipped pack is meant to alert on (e.g. the
  // third cash deposit just below the threshold, not the first). In
  // ordinary traffic: a payment to the police-listed test account, or an
  // outgoing payment with a scam memo.
  bool suspicious = false;
};

class TransactionGenerator {
 public:
  explicit TransactionGenerator(GeneratorOptions options = {});

  // The next transaction (event times never go backwards). About 0.5 % are
  // exact resends of an earlier one (duplicates) and 0.5 % reversals.
  void Next(txscreen::v1::Transaction* tx);

  // What the transaction of the last Next() is (a resend: the original's).
  const TrafficLabel& label() const { return label_; }
  // Whether the last Next() was a resend of the transaction before it.
  bool resent() const { return resent_; }

  int64_t generated() const { return sequence_; }
  int64_t scenarios_started() const { return scenarios_; }

 private:
  struct Pending {
    int64_t at_us;
    int64_t order;
    txscreen::v1::Transaction tx;
    TrafficLabel label;
  };
  // The heap order of pending_: earliest due first, then first scheduled.
  static bool Later(const Pending& a, const Pending& b) {
    return a.at_us != b.at_us ? a.at_us > b.at_us : a.order > b.order;
  }
  void Customer(int64_t c, txscreen::v1::Transaction* tx);
  // Log-normal, median at the geometric mean of the bounds, clipped to them.
  int64_t Amount(int64_t min_fen, int64_t max_fen);
  const std::string& Pick(const std::vector<std::string>& from);
  int64_t DrawCustomer();
  void Ordinary(txscreen::v1::Transaction* tx);
  // Schedules every step of a new scenario; the first is due now.
  void StartScenario();
  void Schedule(int64_t at_us, txscreen::v1::Transaction tx,
                TrafficLabel label);

  GeneratorOptions options_;
  std::mt19937_64 rng_;
  int64_t now_us_;
  double mean_gap_us_;
  int64_t sequence_ = 0;
  // Per customer: the sequence number of its last transaction + 1 (0: none),
  // for reversals.
  std::vector<int64_t> last_of_customer_;
  txscreen::v1::Transaction previous_;
  TrafficLabel label_, previous_label_;
  bool resent_ = false;
  std::vector<double> zipf_cdf_;  // empty: uniform
  double scenario_start_chance_ = 0;
  int64_t scenarios_ = 0;
  int64_t pending_order_ = 0;
  std::vector<Pending> pending_;  // a min-heap on (at_us, order)
};

}  // namespace txscreen::bench

#endif  // TXSCREEN_BENCH_TRANSACTION_GENERATOR_H_
