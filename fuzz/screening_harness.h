// File: screening_harness.h
//
// The checks shared by the transaction fuzz targets: a decoded sequence of
// transactions is screened in order by the real engine core (the shipped
// pack, fresh in-memory state, a fixed clock), as one partition would screen
// them, and the engine's promises are checked:
//   - Screen() never fails on a memory store, whatever the transaction;
//   - exactly one decision per transaction, for its id and its customer,
//     with a verdict;
//     REJECTED_INPUT exactly when there are input errors;
//   - the decision encodes as JSON;
//   - a valid transaction survives the JSON mapping unchanged (what the
//     engine accepts as binary it also accepts as JSON);
//   - after a flush and a restart on the same store, every accepted
//     transaction is answered as a duplicate with its original verdict
//     (exactly once across restarts).
// A broken promise aborts with a description (fuzz_support.h: Fail).
#ifndef TXSCREEN_FUZZ_SCREENING_HARNESS_H_
#define TXSCREEN_FUZZ_SCREENING_HARNESS_H_

#include <vector>

#include "txscreen/v1/transaction.pb.h"

namespace txscreen::fuzz {

void ScreenAndCheck(const std::vector<txscreen::v1::Transaction>& transactions);

}  // namespace txscreen::fuzz

#endif  // TXSCREEN_FUZZ_SCREENING_HARNESS_H_
