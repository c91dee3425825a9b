// File: shipped_pack.h
//
// The shipped rule pack (rules/packs/cn, or $TXSCREEN_PACK_DIR), loaded once
// for all benchmarks. A pack that does not load aborts the run.
#ifndef TXSCREEN_BENCH_SHIPPED_PACK_H_
#define TXSCREEN_BENCH_SHIPPED_PACK_H_

#include <memory>

#include "rules/rule_set.h"

namespace txscreen::bench {

const std::shared_ptr<const rules::RuleSet>& ShippedRuleSet();

}  // namespace txscreen::bench

#endif  // TXSCREEN_BENCH_SHIPPED_PACK_H_
