// File: engine_run.h
//
// One engine core for offline tools: a loaded rule set, a state store
// (fresh in memory, or RocksDB in a state directory) and a Screener over
// them -- what `txscreen screen`, `backtest` and `rules diff` run.
//
// Thread safety: none.
#ifndef TXSCREEN_COMPLIANCE_ENGINE_RUN_H_
#define TXSCREEN_COMPLIANCE_ENGINE_RUN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/clock.h"
#include "engine/partition_state.h"
#include "engine/screener.h"
#include "engine/state_store.h"

namespace txscreen::compliance {

class EngineRun {
 public:
  // Loads `rules` (packs or files) and opens the state; problems go to
  // *errors, nullptr then. Offline runs do not mark decisions late.
  static std::unique_ptr<EngineRun> Open(const std::vector<std::string>& rules,
                                         const std::string& state_dir,
                                         std::vector<std::string>* errors);

  // Screens `tx`; *duplicate tells whether its id was seen before (the
  // decision is then the first one).
  absl::Status Screen(const txscreen::v1::Transaction& tx,
                      txscreen::v1::Decision* decision, bool* duplicate);
  // Writes the state behind, with `position` as the input position.
  absl::Status Flush(absl::string_view position);

  const rules::RuleSet& rules() const { return screener_->rules(); }
  const engine::ScreenerCounters& counters() const {
    return screener_->counters();
  }
  // What the last Screen() took back (Screener::retracted()).
  const engine::Screener::Retracted* retracted() const {
    return screener_->retracted();
  }

 private:
  EngineRun() = default;
  std::unique_ptr<engine::StateStore> store_;
  std::unique_ptr<engine::PartitionState> state_;
  engine::SystemClock clock_;
  std::unique_ptr<engine::Screener> screener_;
  // Stored entities the sweep of idle ones looks at per flush (state in a
  // directory only; 0: none).
  static constexpr size_t kSweepKeysPerFlush = 1024;
  size_t sweep_keys_ = 0;
};

}  // namespace txscreen::compliance

#endif  // TXSCREEN_COMPLIANCE_ENGINE_RUN_H_
