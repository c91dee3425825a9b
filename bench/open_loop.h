// File: open_loop.h
//
// Open-loop load: transactions from a TransactionGenerator produced to
// Kafka at a fixed or Poisson rate, each due at its intended send time. A
// message is never sent early; when the producer falls behind it is sent
// late and keeps its intended time (carried as occurred_at and in the
// header txscreen.intended-send-us), so a stall anywhere shows up as
// latency instead of hiding (no coordinated omission).
//
// Used by `txscreen gen --brokers` and the load test.
//
// Thread safety: RunOpenLoop runs on the calling thread; `on_send` is called
// there too.
#ifndef TXSCREEN_BENCH_OPEN_LOOP_H_
#define TXSCREEN_BENCH_OPEN_LOOP_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/transaction_generator.h"
#include "librdkafka/rdkafkacpp.h"

namespace txscreen::bench {

struct OpenLoopOptions {
  double rate = 1000;    // messages per second
  int64_t start_us = 0;  // wall-clock time of the first message
  int64_t end_us = 0;    // no message is due at or after this
  int64_t max_count = INT64_MAX;
  bool poisson = false;  // exponential gaps instead of even ones
  uint64_t seed = 1;     // of the Poisson gaps
  std::string topic = "txscreen.transactions";
  bool json = false;  // protobuf JSON instead of binary
};

struct OpenLoopResult {
  int64_t sent = 0;
  int64_t max_behind_us = 0;  // the latest a message left after its time
  int64_t suspicious = 0;     // labelled suspicious steps sent
};

// Counts delivery reports; prints the first few failures to stderr.
class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override;
  std::atomic<int64_t> delivered{0}, failed{0};
};

// An idempotent producer for load (linger 2 ms, large batches and queue);
// `settings` (bootstrap.servers at least) override those defaults.
absl::StatusOr<std::unique_ptr<RdKafka::Producer>> MakeOpenLoopProducer(
    const std::map<std::string, std::string>& settings,
    DeliveryCounter* deliveries);

// Wall-clock microseconds since the Unix epoch (CLOCK_REALTIME).
int64_t WallMicros();

// Produces until end_us or max_count, then returns; the caller
// flushes. `on_send(tx, intended_us, resent)` is called before each
// message is produced.
absl::StatusOr<OpenLoopResult> RunOpenLoop(
    const OpenLoopOptions& options, TransactionGenerator* gen,
    RdKafka::Producer* producer,
    const std::function<void(const txscreen::v1::Transaction&, int64_t, bool)>&
        on_send);

}  // namespace txscreen::bench

#endif  // TXSCREEN_BENCH_OPEN_LOOP_H_
