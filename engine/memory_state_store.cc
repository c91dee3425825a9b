#include <algorithm>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "engine/state_store.h"

namespace txscreen::engine {

namespace {

// Hash maps: point reads and writes are what the engine does per batch;
// range operations (scan, range erase, drop) are rare and pay a full pass.
class MemoryStateStore : public StateStore {
 public:
  absl::Status Get(StateFamily family, absl::string_view key,
                   std::string* value, bool* found) override {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& m = data_[static_cast<int>(family)];
    auto it = m.find(key);
    *found = it != m.end();
    if (*found) *value = it->second;
    return absl::OkStatus();
  }

  absl::Status Commit(const std::vector<StateWrite>& writes) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const StateWrite& w : writes)
      Apply(w, &data_[static_cast<int>(w.family)]);
    return absl::OkStatus();
  }

  absl::Status CommitTaking(std::vector<StateWrite>* writes) override {
    std::lock_guard<std::mutex> lock(mu_);
    // Each put lands at a random place in a large table: the places of the
    // next few are requested ahead so that their cache misses overlap.
    constexpr size_t kAhead = 8;
    const size_t n = writes->size();
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) {
        const StateWrite& next = (*writes)[i + kAhead];
        data_[static_cast<int>(next.family)].prefetch(next.key);
      }
      StateWrite& w = (*writes)[i];
      auto& m = data_[static_cast<int>(w.family)];
      if (w.erase_range || w.erase) {
        Apply(w, &m);
      } else {
        m.insert_or_assign(std::move(w.key), std::move(w.value));
      }
    }
    writes->clear();
    return absl::OkStatus();
  }

  absl::Status DropPartition(int32_t partition) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string prefix = PartitionPrefix(partition);
    for (auto& m : data_) {
      absl::erase_if(m, [&](const auto& e) {
        return e.first.compare(0, prefix.size(), prefix) == 0;
      });
    }
    return absl::OkStatus();
  }

  absl::Status ScanFrom(StateFamily family, absl::string_view prefix,
                        absl::string_view start,
                        const Visitor& visit) override {
    std::lock_guard<std::mutex> lock(mu_);
    const auto& m = data_[static_cast<int>(family)];
    std::vector<const std::pair<const std::string, std::string>*> found;
    for (const auto& e : m) {
      if (absl::string_view(e.first).substr(0, prefix.size()) == prefix &&
          absl::string_view(e.first) >= start) {
        found.push_back(&e);
      }
    }
    std::sort(found.begin(), found.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (const auto* e : found) {
      if (!visit(e->first, e->second)) break;
    }
    return absl::OkStatus();
  }

 private:
  using Family = absl::flat_hash_map<std::string, std::string>;
  static void Apply(const StateWrite& w, Family* m) {
    if (w.erase_range) {
      absl::erase_if(*m, [&](const auto& e) {
        return e.first >= w.key && e.first < w.end_key();
      });
    } else if (w.erase) {
      m->erase(w.key);
    } else {
      (*m)[w.key] = w.value;
    }
  }

  // A plain mutex: Debian's absl::Mutex took ~250 instructions per
  // uncontended lock and unlock (its debug-build bookkeeping), ~1.5 % of
  // BM_WholePath, which reads this store for every entity it meets first.
  std::mutex mu_;
  Family data_[kStateFamilyCount];  // guarded by mu_
};

}  // namespace

std::unique_ptr<StateStore> NewMemoryStateStore() {
  return std::make_unique<MemoryStateStore>();
}

}  // namespace txscreen::engine
