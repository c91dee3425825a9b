// Fuzz target: transactions as binary protobuf, as the Kafka consumer reads
// them. The input is a sequence of records, each a varint length and that
// many bytes (the last record takes whatever is left when a length does not
// fit); each record goes through engine::DecodeTransactionProto and the
// ones that decode are screened in order with fresh state
// (screening_harness.h lists the checks).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/transaction_codec.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/screening_harness.h"

namespace {

constexpr size_t kMaxTransactions = 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<txscreen::v1::Transaction> transactions;
  for (absl::string_view record :
       txscreen::fuzz::SplitRecords(data, size, kMaxTransactions)) {
    txscreen::v1::Transaction tx;
    if (txscreen::engine::DecodeTransactionProto(record, &tx).ok()) {
      transactions.push_back(std::move(tx));
    }
  }
  txscreen::fuzz::ScreenAndCheck(transactions);
  return 0;
}
