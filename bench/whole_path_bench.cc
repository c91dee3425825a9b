// The hot path without Kafka (SPEC §7: target >= 300,000 transactions/s on
// one core): binary protobuf bytes -> TransactionDecoder -> validation ->
// Screener::Screen with the shipped pack (history, window features, rules,
// decision, dedupe record) -> state write-behind to an in-memory state store
// every 10,000 transactions, as the pipeline flushes after each batch.
//
// Traffic: TransactionGenerator over range(0) customers (1k, 10k, 100k, 1M),
// each making ~4 transactions a day of event time, with memos, habitual and
// new payees, cash, FX, scams, reversals and resends. Transactions are
// generated and serialized in batches outside the timed region. The state
// is warmed with one transaction per customer (on average) before timing,
// and carries over between the framework's runs of the same size.
//
// The clock is a ManualClock set to each transaction's event time + 2 ms, so
// no decision is late and the screening reads no wall clock (the only reads
// timed are the two around each flush, for flush_us).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/shipped_pack.h"
#include "bench/transaction_generator.h"
#include "benchmark/benchmark.h"
#include "engine/clock.h"
#include "engine/partition_state.h"
#include "engine/screener.h"
#include "engine/state_store.h"
#include "engine/transaction_codec.h"

namespace txscreen::bench {
namespace {

namespace v1 = ::txscreen::v1;

constexpr size_t kBatch = 4096;
constexpr int64_t kFlushEvery = 10000;

class WholePath {
 public:
  explicit WholePath(
      int64_t customers,
      std::unique_ptr<engine::StateStore> store = engine::NewMemoryStateStore(),
      engine::PartitionStateOptions state_options = {})
      : store_(std::move(store)),
        state_(store_.get(), 0, state_options),
        screener_(ShippedRuleSet(), &state_, &clock_, Options()),
        gen_(GeneratorOptions{.customers = customers}) {
    batch_.resize(kBatch);
  }

  static engine::ScreenerOptions Options() {
    engine::ScreenerOptions options;
    options.mark_late = false;
    return options;
  }

  // Serializes the next kBatch generated transactions.
  void Refill() {
    v1::Transaction tx;
    for (std::string& bytes : batch_) {
      gen_.Next(&tx);
      tx.SerializeToString(&bytes);
    }
    next_ = 0;
  }
  bool empty() const { return next_ == batch_.size(); }

  // One transaction through the whole path.
  absl::Status Step() {
    const std::string& bytes = batch_[next_++];
    if (absl::Status s = decoder_.DecodeProto(bytes); !s.ok()) return s;
    const v1::Transaction& tx = *decoder_;
    clock_.Set(tx.occurred_at().seconds() * 1000000 +
               tx.occurred_at().nanos() / 1000 + 2000);
    if (absl::Status s = screener_.Screen(tx, &decision_); !s.ok()) return s;
    if (decision_.verdict() != v1::VERDICT_ALLOW) ++alerts_;
    if (++since_flush_ == kFlushEvery) {
      since_flush_ = 0;
      // Timed on its own too (two clock reads per 10,000 transactions): the
      // flush is a large share of the wall time and a small one of the
      // instructions, so it is worth seeing apart.
      const absl::Time start = absl::Now();
      absl::Status s = state_.Flush(absl::StrCat("bench:", gen_.generated()));
      flush_time_ += absl::Now() - start;
      return s;
    }
    return absl::OkStatus();
  }

  // Step() in the timed loop only, not in the warm-up: what callgrind's
  // --toggle-collect counts (bench/README.md, "Instructions per transaction").
  __attribute__((noinline)) absl::Status MeasuredStep() { return Step(); }

  const engine::ScreenerCounters& counters() const {
    return screener_.counters();
  }
  int64_t alerts() const { return alerts_; }
  absl::Duration flush_time() const { return flush_time_; }

 private:
  std::unique_ptr<engine::StateStore> store_;
  engine::PartitionState state_;
  engine::ManualClock clock_;
  engine::Screener screener_;
  TransactionGenerator gen_;
  std::vector<std::string> batch_;
  size_t next_ = kBatch;
  int64_t since_flush_ = 0;
  int64_t alerts_ = 0;
  absl::Duration flush_time_;
  engine::TransactionDecoder decoder_;
  v1::Decision decision_;
};

// One warmed-up pipeline per customer count, kept for the framework's
// repeated runs; only the latest size is kept (1M customers take GBs).
WholePath& Fixture(int64_t customers, benchmark::State& state) {
  static std::unique_ptr<WholePath> fixture;
  static int64_t fixture_customers = -1;
  if (fixture_customers != customers) {
    fixture.reset();
    fixture = std::make_unique<WholePath>(customers);
    fixture_customers = customers;
    for (int64_t n = 0; n < customers; ++n) {
      if (fixture->empty()) fixture->Refill();
      if (absl::Status s = fixture->Step(); !s.ok()) {
        state.SkipWithError(std::string(s.message()).c_str());
        break;
      }
    }
  }
  return *fixture;
}

void BM_WholePath(benchmark::State& state) {
  WholePath& path = Fixture(state.range(0), state);
  const engine::ScreenerCounters before = path.counters();
  const int64_t alerts_before = path.alerts();
  const absl::Duration flush_before = path.flush_time();
  for (auto _ : state) {
    if (path.empty()) {
      state.PauseTiming();
      path.Refill();
      state.ResumeTiming();
    }
    if (absl::Status s = path.MeasuredStep(); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
  }
  const double n = static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
  const engine::ScreenerCounters& after = path.counters();
  state.counters["alert_pct"] =
      100.0 * static_cast<double>(path.alerts() - alerts_before) / n;
  state.counters["dup_pct"] =
      100.0 * static_cast<double>(after.duplicates - before.duplicates) / n;
  state.counters["rejected"] =
      static_cast<double>(after.rejected - before.rejected);
  // The write-behind's share of each transaction's time, in µs.
  state.counters["flush_us"] =
      absl::ToDoubleMicroseconds(path.flush_time() - flush_before) / n;
}
// TXSCREEN_BENCH_ITERATIONS=N fixes the timed transactions (after the
// warm-up) instead of letting the framework choose by time, so that two
// builds counted under callgrind (tools/bench-compare --instructions) screen
// exactly the same transactions.
benchmark::internal::Benchmark* const kWholePath = [] {
  benchmark::internal::Benchmark* b =
      benchmark::RegisterBenchmark("BM_WholePath", BM_WholePath)
          ->Arg(1000)  // every customer's state in cache: the compute alone
          ->Arg(10000)
          ->Arg(100000)
          ->Arg(1000000);
  int64_t n = 0;
  if (const char* v = std::getenv("TXSCREEN_BENCH_ITERATIONS");
      v != nullptr && absl::SimpleAtoi(v, &n) && n > 0) {
    b->Iterations(n);
  }
  return b;
}();

// The same path when state is cold: RocksDB in a temporary directory with a
// 64 MiB budget (serve --state-memory-mb 64) and 20,000 entities kept in
// memory, over range(0) customers drawn uniformly, so that nearly every
// transaction reads its customer's history and windows back from RocksDB
// (what `tools/loadtest` showed with a cache smaller than the working set).
void BM_ColdStatePath(benchmark::State& state) {
  static std::unique_ptr<WholePath> fixture;
  static std::string dir;
  static int64_t fixture_customers = -1;
  if (fixture_customers != state.range(0)) {
    fixture.reset();
    if (!dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
    fixture_customers = state.range(0);
    dir = (std::filesystem::temp_directory_path() /
           absl::StrCat("txscreen-cold-bench-", ::getpid()))
              .string();
    std::filesystem::remove_all(dir);
    engine::StateStoreOptions store_options;
    store_options.memory_bytes = 64 << 20;
    auto store = engine::OpenRocksStateStore(dir, store_options);
    if (!store.ok()) {
      state.SkipWithError(std::string(store.status().message()).c_str());
      return;
    }
    engine::PartitionStateOptions options;
    options.max_cached_entities = 20000;
    fixture =
        std::make_unique<WholePath>(state.range(0), std::move(*store), options);
    // At exit: RocksDB closed first (its background threads may still be
    // writing files), then its directory, without throwing.
    static bool cleanup = [] {
      return std::atexit([] {
               fixture.reset();
               std::error_code ignored;
               std::filesystem::remove_all(dir, ignored);
             }) == 0;
    }();
    (void)cleanup;
    for (int64_t n = 0; n < state.range(0); ++n) {
      if (fixture->empty()) fixture->Refill();
      if (absl::Status s = fixture->Step(); !s.ok()) {
        state.SkipWithError(std::string(s.message()).c_str());
        return;
      }
    }
  }
  for (auto _ : state) {
    if (fixture->empty()) {
      state.PauseTiming();
      fixture->Refill();
      state.ResumeTiming();
    }
    if (absl::Status s = fixture->Step(); !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ColdStatePath)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace txscreen::bench
