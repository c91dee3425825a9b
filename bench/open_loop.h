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
#include "absl/strings/string_view.h"
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
  // When set, RunOpenLoop returns soon (within ~200 ms, also in a long
  // gap) after it becomes true.
  const std::atomic<bool>* stop = nullptr;
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

// The shortest sleep of WaitUntil, in microseconds.
inline constexpr int64_t kMinSleepUs = 200;

// Waits (serving the producer's delivery reports) until the wall clock
// reaches `due_us`; returns at once when it has. Sleeps instead of spinning,
// so it returns late by the sleep's overshoot (tens of microseconds), or by
// up to kMinSleepUs when `due_us` was nearer than that: the messages due
// meanwhile then go together. Never early.
void WaitUntil(RdKafka::Producer* producer, int64_t due_us);

// Produces a copy of `bytes` keyed by `key`, waiting while librdkafka's
// queue is full. Takes `headers` (deleted on failure).
absl::Status Produce(RdKafka::Producer* producer, const std::string& topic,
                     absl::string_view bytes, absl::string_view key,
                     RdKafka::Headers* headers);

// KEY=VALUE[,KEY=VALUE...] (a `--producer` flag) into `settings`.
absl::Status ParseKeyValues(absl::string_view pairs,
                            std::map<std::string, std::string>* settings);

// When each transaction of a replayed file is due, in microseconds after
// the first one: at `speed` times the recorded pace (the gaps between
// event times divided by speed; an event time earlier than the latest so
// far is due at once, so nothing is sent out of file order), or at `rate`
// a second regardless of event times.
class ReplaySchedule {
 public:
  static ReplaySchedule AtSpeed(double speed) { return {speed, 0}; }
  static ReplaySchedule AtRate(double rate) { return {0, rate}; }
  // The next transaction's offset; `event_us` is its event time.
  int64_t Next(int64_t event_us);

 private:
  ReplaySchedule(double speed, double rate) : speed_(speed), rate_(rate) {}
  double speed_, rate_;
  int64_t count_ = 0;
  int64_t first_event_us_ = 0;
  int64_t latest_us_ = 0;
};

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
