// File: window.h
//
// Window arithmetic: the state of one window feature for one entity, kept as
// sparse buckets, and the mapping of event times to buckets.
//
// Buckets: a calendar window's bucket is the local day (or month) number in
// the pack's time zone, and the window is that one bucket. A sliding
// window's bucket is floor(t / width); the window at t reads buckets
// [b(t) - lookback, b(t)], so it counts every event in (t - span, t] and may
// also count events up to one bucket width older (never fewer: for AML,
// erring towards inclusion). Only buckets with activity are stored.
//
// Thread safety: none; owned by one partition's processing thread.
#ifndef TXSCREEN_ENGINE_WINDOW_H_
#define TXSCREEN_ENGINE_WINDOW_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/time/time.h"
#include "engine/state.pb.h"
#include "rules/rule_set.h"

namespace txscreen::engine {

// Maps event times to calendar bucket numbers, caching the current day and
// month so the common case costs two comparisons.
class BucketClock {
 public:
  explicit BucketClock(absl::TimeZone tz) : tz_(tz) {}

  // Bucket of `t_us` for `def`.
  int64_t Bucket(const rules::WindowDef& def, int64_t t_us);
  // First bucket the window ending in `bucket` reads.
  static int64_t FirstBucket(const rules::WindowDef& def, int64_t bucket) {
    return def.span == rules::WindowDef::Span::kSliding
               ? bucket - def.lookback_buckets
               : bucket;
  }

 private:
  struct Range {
    int64_t start_us = 1;  // empty until first use
    int64_t end_us = 0;
    int64_t index = 0;
  };
  absl::TimeZone tz_;
  Range day_, month_;
};

class WindowState {
 public:
  // Adds one event: `value` to SUM/MAX (ignored by COUNT), `distinct_key`
  // for DISTINCT.
  void Add(int64_t bucket, int64_t value, uint64_t distinct_key);
  // Takes back an earlier Add with the same arguments (reversals). MAX is not
  // lowered. Returns false when there was nothing to take back.
  bool Retract(int64_t bucket, int64_t value, uint64_t distinct_key);
  // The aggregate over buckets [first, last].
  int64_t Value(txscreen::v1::Aggregate aggregate, int64_t first,
                int64_t last) const;
  // The aggregate over [first, last] as if Add(bucket, value, distinct_key)
  // had been applied with first <= bucket <= last, without changing state.
  int64_t ValueWith(txscreen::v1::Aggregate aggregate, int64_t first,
                    int64_t last, int64_t value, uint64_t distinct_key) const;
  // Forgets buckets before `first`.
  void EvictBefore(int64_t first);
  bool empty() const { return buckets_.empty() && distinct_.empty(); }
  // The index of the newest bucket held; the lowest int64 when none.
  int64_t newest_bucket() const {
    return buckets_.empty() ? std::numeric_limits<int64_t>::min()
                            : buckets_.back().index;
  }

  void ToProto(WindowProto* out) const;
  // The same bytes as ToProto with `fingerprint` set, then serialized, written
  // straight from the buckets in one pass (the write-behind encodes every
  // dirty entity at each flush; going through WindowProto cost three passes
  // and a copy). Encode writes at most MaxEncodedSize() bytes and returns
  // the end of what it wrote.
  size_t MaxEncodedSize() const;
  uint8_t* Encode(uint64_t fingerprint, uint8_t* out) const;
  // False (and an empty state) when the proto's parallel arrays disagree.
  bool FromProto(const WindowProto& in);

 private:
  struct Bucket {
    int64_t index;
    int64_t sum;
    int64_t count;
    int64_t max;
  };
  struct Distinct {
    uint64_t key;
    int64_t bucket;
    int64_t count;
  };
  // Sorted by index. Most windows hold one or two buckets and few distinct
  // keys: those live inside the window (no pointer to chase when screening
  // reads it or the flush encodes it, which with 100,000 customers is
  // mostly a cache miss each).
  absl::InlinedVector<Bucket, 2> buckets_;
  absl::InlinedVector<Distinct, 1> distinct_;
};

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_WINDOW_H_
