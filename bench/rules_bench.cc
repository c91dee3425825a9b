// Rule evaluation alone: the shipped pack's rules over transactions whose
// facts, history and window values are already in their EvalContext (what
// the screener prepares), so the figure is the cost of the rules themselves:
// expressions, list lookups, text normalisation of memos, reasons and
// prompts of the rules that hit.
//
// 256 prepared contexts: few enough to stay in cache, as the screener's one
// reused context does (4,096 contexts measure cache misses instead, about
// twice the time).
//
// Window values are synthetic but plausible (this transaction's amount once
// to three times for sums, 1-4 for counts); history says a previous
// transaction an hour ago and a first-time payee every fifth time.
#include <algorithm>
#include <memory>
#include <vector>

#include "bench/shipped_pack.h"
#include "bench/transaction_generator.h"
#include "benchmark/benchmark.h"

namespace txscreen::bench {
namespace {

constexpr size_t kPool = 256;

struct Prepared {
  txscreen::v1::Transaction tx;
  rules::EvalContext ctx;
  std::vector<int64_t> windows;
};

void BM_EvaluateShippedPack(benchmark::State& state) {
  const rules::RuleSet& set = *ShippedRuleSet();
  TransactionGenerator gen;
  std::vector<std::unique_ptr<Prepared>> pool;
  while (pool.size() < kPool) {
    auto p = std::make_unique<Prepared>();
    gen.Next(&p->tx);
    if (!set.PrepareTransactionFacts(p->tx, &p->ctx).ok()) continue;
    const size_t i = pool.size();
    rules::HistoryFacts& h = p->ctx.history;
    h.has_previous = true;
    h.since_previous_us = 3600LL * 1000000;
    h.previous_region_code = p->tx.region_code();
    h.first_payment_to_counterparty = i % 5 == 0;
    for (size_t w = 0; w < set.windows().size(); ++w) {
      const bool money = set.windows()[w].type.base == rules::BaseType::kMoney;
      const int64_t k = static_cast<int64_t>((i + w) % 4);
      p->windows.push_back(money ? p->ctx.amount_base * (1 + k % 3) : 1 + k);
    }
    p->ctx.windows = p->windows.data();
    pool.push_back(std::move(p));
  }
  txscreen::v1::Decision decision;
  size_t i = 0;
  int64_t hits = 0;
  for (auto _ : state) {
    Prepared& p = *pool[i];
    p.ctx.ResetCaches();
    std::fill(p.ctx.scores.begin(), p.ctx.scores.end(), 0);
    decision.Clear();
    set.Evaluate(&p.ctx, &decision);
    hits += decision.hits_size();
    if (++i == pool.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hits_per_tx"] = benchmark::Counter(
      static_cast<double>(hits) / static_cast<double>(state.iterations()));
}

BENCHMARK(BM_EvaluateShippedPack);

}  // namespace
}  // namespace txscreen::bench
