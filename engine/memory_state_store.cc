#include <map>

#include "absl/synchronization/mutex.h"
#include "engine/state_store.h"

namespace txscreen::engine {

std::string PartitionPrefix(int32_t partition) {
  uint32_t p = static_cast<uint32_t>(partition);
  std::string out(4, '\0');
  out[0] = static_cast<char>(p >> 24);
  out[1] = static_cast<char>(p >> 16);
  out[2] = static_cast<char>(p >> 8);
  out[3] = static_cast<char>(p);
  return out;
}

namespace {

class MemoryStateStore : public StateStore {
 public:
  absl::Status Get(StateFamily family, absl::string_view key,
                   std::string* value, bool* found) override {
    absl::MutexLock lock(&mu_);
    const auto& m = data_[static_cast<int>(family)];
    auto it = m.find(std::string(key));
    *found = it != m.end();
    if (*found) *value = it->second;
    return absl::OkStatus();
  }

  absl::Status Commit(const std::vector<StateWrite>& writes) override {
    absl::MutexLock lock(&mu_);
    for (const StateWrite& w : writes) {
      auto& m = data_[static_cast<int>(w.family)];
      if (w.erase_range) {
        m.erase(m.lower_bound(w.key), m.lower_bound(w.end_key));
      } else if (w.erase) {
        m.erase(w.key);
      } else {
        m[w.key] = w.value;
      }
    }
    return absl::OkStatus();
  }

  absl::Status DropPartition(int32_t partition) override {
    absl::MutexLock lock(&mu_);
    std::string prefix = PartitionPrefix(partition);
    for (auto& m : data_) {
      auto it = m.lower_bound(prefix);
      while (it != m.end() && it->first.compare(0, 4, prefix) == 0) {
        it = m.erase(it);
      }
    }
    return absl::OkStatus();
  }

  absl::Status Scan(StateFamily family, absl::string_view prefix,
                    const std::function<bool(absl::string_view,
                                             absl::string_view)>& visit)
      override {
    absl::MutexLock lock(&mu_);
    const auto& m = data_[static_cast<int>(family)];
    for (auto it = m.lower_bound(std::string(prefix)); it != m.end(); ++it) {
      if (absl::string_view(it->first).substr(0, prefix.size()) != prefix) break;
      if (!visit(it->first, it->second)) break;
    }
    return absl::OkStatus();
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, std::string> data_[kStateFamilyCount];
};

}  // namespace

std::unique_ptr<StateStore> NewMemoryStateStore() {
  return std::make_unique<MemoryStateStore>();
}

}  // namespace txscreen::engine
