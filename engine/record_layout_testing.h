// File: record_layout_testing.h
//
// For tests: rewrites a store's partition in the state layout before record
// chunks (state format 1, before 2026-12-07): each transaction record under
// partition | event day | customer id | NUL | transaction id, each
// customer's history in the history family (not in its windows value) and
// without `seen_record`, no chunk counter and no state format. A
// deployment's state directory may still hold state stored that way; the
// engine must keep reading it.
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
  // A customer's value (partition | '1' | id) gives its history back to the
  // history family (partition | id).
  const std::string customers = absl::StrCat(prefix, "1");
  s = store->Scan(
      StateFamily::kWindows, customers,
      [&](absl::string_view key, absl::string_view value) {
        EntityWindowsProto entity;
        damaged |= !entity.ParseFromArray(value.data(),
                                          static_cast<int>(value.size()));
        if (!entity.has_history()) return true;
        CustomerHistoryProto h = entity.history();
        h.clear_seen_record();
        writes.push_back(
            StateWrite::Put(StateFamily::kHistory,
                            absl::StrCat(prefix, key.substr(customers.size())),
                            h.SerializeAsString()));
        entity.clear_history();
        writes.push_back(
            entity.window_size() == 0
                ? StateWrite::Erase(StateFamily::kWindows, std::string(key))
                : StateWrite::Put(StateFamily::kWindows, std::string(key),
                                  entity.SerializeAsString()));
        return true;
      });
  if (!s.ok()) return s;
  if (damaged) return absl::DataLossError("not chunks and windows");
  writes.push_back(StateWrite::Erase(
      StateFamily::kOffsets, absl::StrCat(prefix, kRecordChunkCounterKey)));
  writes.push_back(StateWrite::Erase(StateFamily::kOffsets,
                                     absl::StrCat(prefix, kStateFormatKey)));
  writes.push_back(StateWrite::Erase(StateFamily::kOffsets,
                                     absl::StrCat(prefix, kEventClockKey)));
  return store->Commit(writes);
}

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_RECORD_LAYOUT_TESTING_H_
