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
#include <cstdio>
#include <cstdlib>

#include "engine/transaction_codec.h"

namespace {

bool ReadVarint(const uint8_t** p, const uint8_t* end, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const uint8_t byte = *(*p)++;
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "TransactionDecoder differs: %s\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace engine = txscreen::engine;
  static engine::TransactionDecoder* decoder = new engine::TransactionDecoder;
  const uint8_t* p = data;
  const uint8_t* const end = data + size;
  for (int records = 0; p < end && records < 16; ++records) {
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
    const absl::string_view bytes(reinterpret_cast<const char*>(record),
                                  record_size);
    p = record + record_size;
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
