// File: clock.h
//
// Wall-clock time, injected so that tests control it; protobuf timestamps
// in microseconds.
#ifndef TXSCREEN_ENGINE_CLOCK_H_
#define TXSCREEN_ENGINE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace txscreen::engine {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch.
  virtual int64_t NowMicros() = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowMicros() override { return absl::ToUnixMicros(absl::Now()); }
};

// A clock that only moves when told. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(int64_t now_us = 0) : now_us_(now_us) {}
  int64_t NowMicros() override { return now_us_.load(); }
  void Set(int64_t now_us) { now_us_.store(now_us); }

 private:
  std::atomic<int64_t> now_us_;
};

// Microseconds since the epoch <-> google.protobuf.Timestamp.
inline int64_t TimestampMicros(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}
inline void SetTimestampMicros(int64_t us, google::protobuf::Timestamp* t) {
  int64_t seconds = us / 1000000, micros = us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    --seconds;
  }
  t->set_seconds(seconds);
  t->set_nanos(static_cast<int32_t>(micros * 1000));
}

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_CLOCK_H_
