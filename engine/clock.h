// File: clock.h
//
// Wall-clock time, injected so that tests control it.
#ifndef TXSCREEN_ENGINE_CLOCK_H_
#define TXSCREEN_ENGINE_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

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

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_CLOCK_H_
