// Fuzz target: a chunk of transaction records as read back from the state
// store (engine/state.proto, TransactionRecordChunkProto), damaged in any
// way a disk or a bug could damage it. The input is the chunk's bytes; the
// records at indexes 0-7 of it are looked up as a customer's history would
// point at them. Each look-up gives a record, none (another customer's), or
// DataLoss; never a crash. A record it gives is exactly the one protobuf's
// own parser finds at that index, when the whole chunk parses.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/partition_state.h"
#include "engine/state.pb.h"
#include "engine/state_store.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace engine = txscreen::engine;
  constexpr int64_t kDay = 20412;  // 2025-11-20 (UTC days since 1970)
  constexpr int64_t kAtUs = kDay * 86400LL * 1000000 + 3600LL * 1000000;
  constexpr uint64_t kChunk = 7;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  // partition 0 | day | NUL | chunk number, as partition_state.h keys it.
  std::string key = engine::PartitionPrefix(0);
  for (int shift = 24; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>(kDay >> shift));
  }
  key.push_back('\0');
  for (int shift = 56; shift >= 0; shift -= 8) {
    key.push_back(static_cast<char>(kChunk >> shift));
  }
  std::unique_ptr<engine::StateStore> store = engine::NewMemoryStateStore();
  if (!store
           ->Commit({engine::StateWrite::Put(engine::StateFamily::kDedupe, key,
                                             bytes)})
           .ok()) {
    txscreen::fuzz::Fail("the memory store refused a write");
  }
  engine::TransactionRecordChunkProto parsed;
  const bool parses = parsed.ParseFromString(bytes);
  engine::PartitionState state(store.get(), 0);
  for (uint32_t index = 0; index < 8; ++index) {
    absl::StatusOr<const engine::TransactionRecordProto*> found =
        state.FindRecord("C1", "T",
                         engine::SeenTransaction{kAtUs, kChunk << 16 | index});
    if (!found.ok()) {
      if (found.status().code() != absl::StatusCode::kDataLoss) {
        txscreen::fuzz::Fail(
            "a damaged chunk gave an error other than DataLoss");
      }
      continue;
    }
    if (*found == nullptr) continue;
    if ((*found)->customer_id() != "C1") {
      txscreen::fuzz::Fail("a record of another customer was given");
    }
    if (parses && (static_cast<int>(index) >= parsed.record_size() ||
                   parsed.record(static_cast<int>(index)).SerializeAsString() !=
                       (*found)->SerializeAsString())) {
      txscreen::fuzz::Fail("the record differs from protobuf's at its index");
    }
  }
  return 0;
}
