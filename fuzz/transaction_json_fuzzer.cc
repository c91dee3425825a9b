// Fuzz target: transactions as JSON lines, as `txscreen screen` and the
// `--input-format=json` consumer read them. Each input line goes through
// engine::DecodeTransactionJson; the lines that decode are screened in order
// with fresh state (screening_harness.h lists the checks), so one input can
// hold a transaction, its duplicate and its reversal.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/transaction_codec.h"
#include "fuzz/screening_harness.h"

namespace {

constexpr size_t kMaxTransactions = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<txscreen::v1::Transaction> transactions;
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    if (transactions.size() == kMaxTransactions) break;
    txscreen::v1::Transaction tx;
    if (txscreen::engine::DecodeTransactionJson(line, &tx).ok()) {
      transactions.push_back(std::move(tx));
    }
  }
  txscreen::fuzz::ScreenAndCheck(transactions);
  return 0;
}
