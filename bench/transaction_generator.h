// File: transaction_generator.h
//
// Deterministic synthetic traffic for the benchmarks: a bank's customers
// making ordinary payments, transfers, cash deposits and withdrawals, FX,
// with Chinese memos, habitual and new payees, elderly customers, a few
// scams, reversals and resent duplicates. The same seed gives the same
// transactions on every machine.
//
// Each customer makes about four transactions a day in event time, whatever
// the number of customers, so same-day windows hold what a real day holds.
//
// Thread safety: none; one generator per thread.
#ifndef TXSCREEN_BENCH_TRANSACTION_GENERATOR_H_
#define TXSCREEN_BENCH_TRANSACTION_GENERATOR_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

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
};

class TransactionGenerator {
 public:
  explicit TransactionGenerator(GeneratorOptions options = {});

  // The next transaction (event times never go backwards). About 0.5 % are
  // exact resends of an earlier one (duplicates) and 0.5 % reversals.
  void Next(txscreen::v1::Transaction* tx);

  int64_t generated() const { return sequence_; }

 private:
  void Customer(int64_t c, txscreen::v1::Transaction* tx);
  int64_t Amount(int64_t min_fen, int64_t max_fen);  // log-uniform
  const std::string& Pick(const std::vector<std::string>& from);

  GeneratorOptions options_;
  std::mt19937_64 rng_;
  int64_t now_us_;
  double mean_gap_us_;
  int64_t sequence_ = 0;
  // Per customer: the sequence number of its last transaction + 1 (0: none),
  // for reversals.
  std::vector<int64_t> last_of_customer_;
  txscreen::v1::Transaction previous_;
};

}  // namespace txscreen::bench

#endif  // TXSCREEN_BENCH_TRANSACTION_GENERATOR_H_
