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
#include "fuzz/screening_harness.h"

namespace {

constexpr size_t kMaxTransactions = 16;

// Reads a base-128 varint (at most 10 bytes). False at the end of input or
// on an over-long varint.
bool ReadVarint(const uint8_t** p, const uint8_t* end, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t byte = *(*p)++;
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<txscreen::v1::Transaction> transactions;
  const uint8_t* p = data;
  const uint8_t* const end = data + size;
  while (p < end && transactions.size() < kMaxTransactions) {
    const uint8_t* record = p;
    uint64_t length = 0;
    size_t record_size;
    if (ReadVarint(&p, end, &length) &&
        length <= static_cast<uint64_t>(end - p)) {
      record = p;
      record_size = static_cast<size_t>(length);
    } else {
      record_size = static_cast<size_t>(end - record);
      p = record;
    }
    txscreen::v1::Transaction tx;
    if (txscreen::engine::DecodeTransactionProto(
            absl::string_view(reinterpret_cast<const char*>(record),
                              record_size),
            &tx)
            .ok()) {
      transactions.push_back(std::move(tx));
    }
    p = record + record_size;
  }
  txscreen::fuzz::ScreenAndCheck(transactions);
  return 0;
}
