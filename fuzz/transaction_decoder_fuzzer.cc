// Fuzz target: engine::TransactionDecoder against a fresh ParseFromArray.
// The input is a sequence of records, each a varint length and that many
// bytes (the last record takes whatever is left when a length does not fit);
// the records go through one decoder in order, and each must decode as
// DecodeTransactionProto decodes it into a new message: the same success,
// the same bytes when serialized (fields, unknown fields, empty
// sub-messages) and the same has_*() for the sub-messages. A record whose
// first byte is 0xff goes through ForDecoding() as JSON instead.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/transaction_codec.h"
#include "fuzz/fuzz_support.h"

namespace {

constexpr size_t kMaxRecords = 16;

void Check(bool ok, const char* what) {
  if (!ok) {
    txscreen::fuzz::Fail(std::string("TransactionDecoder differs: ") + what);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace engine = txscreen::engine;
  static engine::TransactionDecoder* decoder = new engine::TransactionDecoder;
  for (absl::string_view bytes :
       txscreen::fuzz::SplitRecords(data, size, kMaxRecords)) {
    if (!bytes.empty() && static_cast<uint8_t>(bytes[0]) == 0xff) {
      (void)engine::DecodeTransactionJson(bytes.substr(1),
                                          decoder->ForDecoding());
      continue;
    }
    txscreen::v1::Transaction fresh;
    const bool fresh_ok = engine::DecodeTransactionProto(bytes, &fresh).ok();
    const bool ok = decoder->DecodeProto(bytes).ok();
    Check(ok == fresh_ok, "success");
    if (!ok) continue;
    const txscreen::v1::Transaction& got = **decoder;
    Check(got.SerializeAsString() == fresh.SerializeAsString(), "bytes");
    Check(got.has_occurred_at() == fresh.has_occurred_at(), "occurred_at");
    Check(got.has_geo() == fresh.has_geo(), "geo");
    Check(got.has_counterparty() == fresh.has_counterparty(), "counterparty");
    Check(got.has_customer() == fresh.has_customer(), "customer");
    Check(got.has_account_opened_at() == fresh.has_account_opened_at(),
          "account_opened_at");
    Check(got.has_session() == fresh.has_session(), "session");
  }
  return 0;
}
