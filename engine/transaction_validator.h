// File: transaction_validator.h
//
// Checks a decoded Transaction before it is screened. Every problem is
// reported (not just the first), each naming the field path and the
// offending value, e.g. "amount_minor must be > 0, got -5". A transaction
// with problems gets a VERDICT_REJECTED_INPUT decision and changes no state.
#ifndef TXSCREEN_ENGINE_TRANSACTION_VALIDATOR_H_
#define TXSCREEN_ENGINE_TRANSACTION_VALIDATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "txscreen/v1/transaction.pb.h"

namespace txscreen::engine {

// The largest amount_minor accepted: 10^15 minor units (10 trillion yuan
// in fen), beyond any real payment; window sums of such amounts stay far
// from int64's limit.
inline constexpr int64_t kMaxAmountMinor = 1000000000000000;

struct ValidationOptions {
  // How far in the future occurred_at may be, against the clock. Default:
  // one day.
  int64_t max_future_us = 86400LL * 1000000;
};

// Appends every problem to *errors; returns true when there is none.
// `now_us`: wall clock, microseconds since the epoch.
bool ValidateTransaction(const txscreen::v1::Transaction& tx, int64_t now_us,
                         std::vector<std::string>* errors,
                         const ValidationOptions& options = {});

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_TRANSACTION_VALIDATOR_H_
