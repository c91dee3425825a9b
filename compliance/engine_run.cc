#include "compliance/engine_run.h"

#include "absl/strings/str_cat.h"
#include "rules/rule_pack_loader.h"

namespace txscreen::compliance {

std::unique_ptr<EngineRun> EngineRun::Open(
    const std::vector<std::string>& rules, const std::string& state_dir,
    std::vector<std::string>* errors) {
  rules::LoadResult pack = rules::LoadRulePack(rules);
  if (!pack.errors.empty()) {
    errors->insert(errors->end(), pack.errors.begin(), pack.errors.end());
    return nullptr;
  }
  std::unique_ptr<EngineRun> run(new EngineRun());
  if (!state_dir.empty()) {
    auto opened = engine::OpenRocksStateStore(state_dir);
    if (!opened.ok()) {
      errors->push_back(std::string(opened.status().message()));
      return nullptr;
    }
    run->store_ = std::move(*opened);
    run->sweep_keys_ = kSweepKeysPerFlush;
  } else {
    run->store_ = engine::NewMemoryStateStore();
  }
  run->state_ = std::make_unique<engine::PartitionState>(run->store_.get(), 0);
  engine::ScreenerOptions options;
  options.mark_late = false;
  run->screener_ = std::make_unique<engine::Screener>(
      pack.rule_set, run->state_.get(), &run->clock_, options);
  return run;
}

absl::Status EngineRun::Screen(const txscreen::v1::Transaction& tx,
                               txscreen::v1::Decision* decision,
                               bool* duplicate) {
  const int64_t before = screener_->counters().duplicates;
  absl::Status s = screener_->Screen(tx, decision);
  *duplicate = screener_->counters().duplicates != before;
  return s;
}

absl::Status EngineRun::Flush(absl::string_view position) {
  // State kept in a directory is swept of idle entities as serve's is; a
  // fresh state in memory ends with the run.
  if (sweep_keys_ > 0) {
    if (absl::StatusOr<int64_t> marked = screener_->SweepIdle(sweep_keys_);
        !marked.ok()) {
      return marked.status();
    }
  }
  return state_->Flush(position);
}

}  // namespace txscreen::compliance
