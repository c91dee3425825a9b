// File: flaky_store_testing.h
//
// For tests: a StateStore that fails on demand, in front of a memory store.
#ifndef TXSCREEN_ENGINE_FLAKY_STORE_TESTING_H_
#define TXSCREEN_ENGINE_FLAKY_STORE_TESTING_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/state_store.h"

namespace txscreen::engine {

class FlakyStore : public StateStore {
 public:
  absl::Status Get(StateFamily family, absl::string_view key,
                   std::string* value, bool* found) override {
    if (gets_before_failing == 0) {
      gets_before_failing = -1;
      fail_gets = 1 << 30;
    } else if (gets_before_failing > 0) {
      --gets_before_failing;
    }
    if (fail_gets > 0) {
      --fail_gets;
      *found = false;
      return absl::UnavailableError("disk on fire");
    }
    return inner->Get(family, key, value, found);
  }
  absl::Status Commit(const std::vector<StateWrite>& writes) override {
    if (fail_commits > 0) {
      --fail_commits;
      return absl::UnavailableError("disk full");
    }
    ++commits;
    return inner->Commit(writes);
  }
  absl::Status DropPartition(int32_t partition) override {
    return inner->DropPartition(partition);
  }
  absl::Status ScanFrom(StateFamily family, absl::string_view prefix,
                        absl::string_view start,
                        const Visitor& visit) override {
    return inner->ScanFrom(family, prefix, start, visit);
  }

  std::unique_ptr<StateStore> inner = NewMemoryStateStore();
  // The next this many Gets (Commits) fail.
  int fail_gets = 0;
  // When >= 0: this many more Gets succeed, then every Get fails (until
  // fail_gets is set to 0).
  int gets_before_failing = -1;
  int fail_commits = 0;
  int commits = 0;
};

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_FLAKY_STORE_TESTING_H_
