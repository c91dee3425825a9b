// Engine state: window arithmetic in memory, and the write-behind of
// screened transactions' state to RocksDB.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/shipped_pack.h"
#include "bench/transaction_generator.h"
#include "benchmark/benchmark.h"
#include "engine/clock.h"
#include "engine/partition_state.h"
#include "engine/screener.h"
#include "engine/state_store.h"
#include "engine/window.h"

namespace txscreen::bench {
namespace {

namespace fs = std::filesystem;

// One window feature update as the screener does it for a transaction that
// passes the feature's filter: bucket of the event time, Add, read the
// window's value, evict old buckets. Round robin over the shipped pack's
// windows (calendar day, sliding 5 min to 24 h, SUM/COUNT/MAX/DISTINCT), for
// range(0) entities (10k, 100k, 1M), event time advancing about 9 s per
// update.
void BM_WindowUpdate(benchmark::State& state) {
  const rules::RuleSet& set = *ShippedRuleSet();
  const auto& defs = set.windows();
  const size_t kEntities = static_cast<size_t>(state.range(0));
  std::vector<std::vector<engine::WindowState>> windows(
      kEntities, std::vector<engine::WindowState>(defs.size()));
  std::mt19937_64 rng(7);
  // 2^20 draws, so that even 1M entities are all visited.
  std::vector<uint32_t> entity(1 << 20);
  std::vector<uint64_t> key(1 << 20);
  std::vector<int64_t> value(1 << 20);
  for (size_t i = 0; i < entity.size(); ++i) {
    entity[i] = static_cast<uint32_t>(rng() % kEntities);
    key[i] = engine::StableTextHash(absl::StrCat("6217", rng() % 50));
    value[i] = static_cast<int64_t>(rng() % 5000000) + 100;
  }
  engine::BucketClock clock(set.time_zone());
  int64_t t = 1767542400LL * 1000000;
  size_t i = 0, w = 0;
  int64_t sum = 0;
  for (auto _ : state) {
    const rules::WindowDef& def = defs[w];
    const size_t k = i & (entity.size() - 1);
    engine::WindowState& ws = windows[entity[k]][w];
    const int64_t bucket = clock.Bucket(def, t);
    const int64_t first = engine::BucketClock::FirstBucket(def, bucket);
    const bool distinct = def.aggregate == txscreen::v1::AGGREGATE_DISTINCT;
    ws.Add(bucket, distinct ? 0 : value[k], distinct ? key[k] : 0);
    sum += ws.Value(def.aggregate, first, bucket);
    ws.EvictBefore(def.span == rules::WindowDef::Span::kSliding ? first
                                                                : first - 1);
    if (++w == defs.size()) {
      w = 0;
      ++i;
      t += 9 * 1000000;
    }
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WindowUpdate)->Arg(10000)->Arg(100000)->Arg(1000000);

// RocksDB in a fresh temporary directory, removed with this object.
class ScratchStore {
 public:
  explicit ScratchStore(absl::string_view what) {
    static int run = 0;
    dir_ = fs::temp_directory_path() /
           absl::StrCat("txscreen_bench_", what, "_", ::getpid(), "_", run++);
    fs::remove_all(dir_);
    absl::StatusOr<std::unique_ptr<engine::StateStore>> store =
        engine::OpenRocksStateStore(dir_.string());
    if (store.ok()) {
      store_ = std::move(*store);
    } else {
      error_ = std::string(store.status().message());
    }
  }
  ~ScratchStore() {
    store_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;

  // Null when it could not be opened (error()).
  engine::StateStore* get() const { return store_.get(); }
  const std::string& error() const { return error_; }

 private:
  fs::path dir_;
  std::unique_ptr<engine::StateStore> store_;
  std::string error_;
};

// Write-behind to RocksDB: the state changes of `range(0)` screened
// transactions (range(1) customers: 10k, 100k, 1M) flushed as one atomic batch
// with the input position, as the pipeline does after each batch. Screening is
// not timed; items are transactions flushed. RocksDB lives in a temporary
// directory, removed afterwards.
void BM_StateFlush(benchmark::State& state) {
  const int64_t batch = state.range(0);
  ScratchStore store("state");
  if (store.get() == nullptr) {
    state.SkipWithError(store.error().c_str());
    return;
  }
  {
    engine::PartitionState partition(store.get(), 0);
    engine::ManualClock clock;
    engine::ScreenerOptions options;
    options.mark_late = false;
    engine::Screener screener(ShippedRuleSet(), &partition, &clock, options);
    TransactionGenerator gen(GeneratorOptions{.customers = state.range(1)});
    txscreen::v1::Transaction tx;
    txscreen::v1::Decision decision;
    int64_t flushes = 0;
    for (auto _ : state) {
      state.PauseTiming();
      for (int64_t n = 0; n < batch; ++n) {
        gen.Next(&tx);
        clock.Set(tx.occurred_at().seconds() * 1000000 + 2000);
        if (absl::Status s = screener.Screen(tx, &decision); !s.ok()) {
          state.SkipWithError(std::string(s.message()).c_str());
          break;
        }
      }
      state.ResumeTiming();
      if (absl::Status s = partition.Flush(absl::StrCat("bench:", ++flushes));
          !s.ok()) {
        state.SkipWithError(std::string(s.message()).c_str());
        break;
      }
    }
    state.SetItemsProcessed(state.iterations() * batch);
  }
}
BENCHMARK(BM_StateFlush)
    ->Args({100, 100000})
    ->Args({1000, 100000})
    ->Args({10000, 10000})
    ->Args({10000, 100000})
    ->Args({10000, 1000000})
    ->Unit(benchmark::kMillisecond);

// The sweep of idle entities (Screener::SweepIdle), as serve runs it before
// each commit: 256 stored entities looked at per call, resuming where the
// last call stopped, over the state of range(0) screened transactions of as
// many customers in RocksDB, read by a fresh state (nothing in memory: every
// entity is parsed and its buckets compared), nothing idle (the worst case:
// nothing is skipped early). Items are stored entities looked at.
void BM_SweepIdle(benchmark::State& state) {
  constexpr size_t kKeysPerCall = 256;
  ScratchStore store("sweep");
  if (store.get() == nullptr) {
    state.SkipWithError(store.error().c_str());
    return;
  }
  {
    engine::ManualClock clock;
    engine::ScreenerOptions options;
    options.mark_late = false;
    {
      engine::PartitionState partition(store.get(), 0);
      engine::Screener screener(ShippedRuleSet(), &partition, &clock, options);
      TransactionGenerator gen(GeneratorOptions{.customers = state.range(0)});
      txscreen::v1::Transaction tx;
      txscreen::v1::Decision decision;
      for (int64_t n = 0; n < state.range(0); ++n) {
        gen.Next(&tx);
        clock.Set(tx.occurred_at().seconds() * 1000000 + 2000);
        if (absl::Status s = screener.Screen(tx, &decision); !s.ok()) {
          state.SkipWithError(std::string(s.message()).c_str());
          return;
        }
      }
      if (absl::Status s = partition.Flush("bench:1"); !s.ok()) {
        state.SkipWithError(std::string(s.message()).c_str());
        return;
      }
    }
    engine::PartitionState partition(store.get(), 0);
    engine::Screener screener(ShippedRuleSet(), &partition, &clock, options);
    // Loads the partition's event clock.
    if (!partition.History("bench-sweep").ok()) {
      state.SkipWithError("no history");
      return;
    }
    int64_t marked = 0;
    for (auto _ : state) {
      absl::StatusOr<int64_t> n = screener.SweepIdle(kKeysPerCall);
      if (!n.ok()) {
        state.SkipWithError(std::string(n.status().message()).c_str());
        break;
      }
      marked += *n;
    }
    state.counters["marked"] = static_cast<double>(marked);
    state.counters["passes"] = static_cast<double>(partition.sweep_passes());
    state.SetItemsProcessed(state.iterations() * kKeysPerCall);
  }
}
BENCHMARK(BM_SweepIdle)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

// A customer's history as each transaction meets it: the retention applied
// (PartitionState::Expire, once per hour of event time), the transaction
// remembered, maybe a payment to a known payee; for a customer with range(0)
// payees (a business paying its suppliers), one transaction every 2 hours of
// event time, each id forgotten after the dedupe retention.
void BM_HistoryRetention(benchmark::State& state) {
  auto store = engine::NewMemoryStateStore();
  engine::PartitionState partition(store.get(), 0);
  engine::CustomerHistory* h = *partition.History("C1");
  const int64_t payees = state.range(0);
  constexpr int64_t kHour = 3600LL * 1000000;
  int64_t now = 1795140000LL * 1000000;
  for (int64_t k = 0; k < payees; ++k) {
    partition.Pay(h, static_cast<uint64_t>(k) + 1, now);
  }
  uint64_t id = 0;
  for (auto _ : state) {
    now += 2 * kHour;
    partition.Expire(h, now);
    partition.See(h, ++id, now);
    partition.Pay(h, id % static_cast<uint64_t>(payees) + 1, now);
  }
  benchmark::DoNotOptimize(h->seen.size());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistoryRetention)->Arg(10)->Arg(1000);

}  // namespace
}  // namespace txscreen::bench
