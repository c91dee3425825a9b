#include "bench/shipped_pack.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "rules/rule_pack_loader.h"

namespace txscreen::bench {

const std::shared_ptr<const rules::RuleSet>& ShippedRuleSet() {
  static const auto* set = [] {
    const char* env = std::getenv("TXSCREEN_PACK_DIR");
    const std::string dir =
        env != nullptr && *env ? env : TXSCREEN_SOURCE_DIR "/rules/packs/cn";
    rules::LoadResult loaded = rules::LoadRulePack({dir});
    if (loaded.rule_set == nullptr) {
      std::fprintf(stderr, "txscreen_bench: the pack %s does not load:\n",
                   dir.c_str());
      for (const std::string& e : loaded.errors)
        std::fprintf(stderr, "  %s\n", e.c_str());
      std::abort();
    }
    return new std::shared_ptr<const rules::RuleSet>(loaded.rule_set);
  }();
  return *set;
}

}  // namespace txscreen::bench
