// File: record_layout_testing.h
//
// For tests: rewrites a store's transaction records in the layout before
// record chunks (2026-12-07): each record under partition | event day |
// customer id | NUL | transaction id, histories without `seen_record`, no
// chunk counter and no state format. A deployment's state directory may still
// hold records stored that way; the engine must keep finding them.
#ifndef TXSCREEN_ENGINE_RECORD_LAYOUT_TESTING_H_
#define TXSCREEN_ENGINE_RECORD_LAYOUT_TESTING_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "engine/state.pb.h"
#include "engine/state_store.h"

namespace txscreen::engine {

inline absl::Status RewriteInLayoutBeforeChunks(StateStore* store,
                                                int32_t partition) {
  const std::string prefix = PartitionPrefix(partition);
  std::vector<StateWrite> writes;
  bool damaged = false;
  absl::Status s = store->Scan(
      StateFamily::kDedupe, prefix,
      [&](absl::string_view key, absl::string_view value) {
        TransactionRecordChunkProto chunk;
        damaged |=
            key.size() != prefix.size() + 4 + 1 + 8 ||
            !chunk.ParseFromArray(value.data(), static_cast<int>(value.size()));
        for (const TransactionRecordProto& r : chunk.record()) {
          // The partition and the day are the chunk's.
          writes.push_back(StateWrite::Put(
              StateFamily::kDedupe,
              absl::StrCat(key.substr(0, prefix.size() + 4), r.customer_id(),
                           absl::string_view("\0", 1), r.transaction_id()),
              r.SerializeAsString()));
        }
        writes.push_back(
            StateWrite::Erase(StateFamily::kDedupe, std::string(key)));
        return true;
      });
  if (!s.ok()) return s;
  s = store->Scan(
      StateFamily::kHistory, prefix,
      [&](absl::string_view key, absl::string_view value) {
        CustomerHistoryProto h;
        damaged |=
            !h.ParseFromArray(value.data(), static_cast<int>(value.size()));
        h.clear_seen_record();
        writes.push_back(StateWrite::Put(
            StateFamily::kHistory, std::string(key), h.SerializeAsString()));
        return true;
      });
  if (!s.ok()) return s;
  if (damaged) return absl::DataLossError("not chunks and histories");
  writes.push_back(StateWrite::Erase(
      StateFamily::kOffsets, absl::StrCat(prefix, kRecordChunkCounterKey)));
  writes.push_back(StateWrite::Erase(StateFamily::kOffsets,
                                     absl::StrCat(prefix, kStateFormatKey)));
  return store->Commit(writes);
}

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_RECORD_LAYOUT_TESTING_H_
