// File: latency_histogram.h
//
// A log-linear histogram of latencies in microseconds, 1 µs to 60 s, with
// 3 significant digits: values below 2048 are counted exactly; above, each
// power of two is split into 1,024 buckets of equal width, so a bucket is
// at most 1/1024 (< 0.1 %) of its values wide. Values above 60 s count in
// the top bucket; max() is still exact. About 18,000 counters (150 KB).
//
// Thread safety: none; one histogram per thread, Merge to combine.
#ifndef TXSCREEN_BENCH_LATENCY_HISTOGRAM_H_
#define TXSCREEN_BENCH_LATENCY_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace txscreen::bench {

class LatencyHistogram {
 public:
  static constexpr int64_t kMaxTrackedUs = 60LL * 1000000;

  LatencyHistogram();

  // Values below 1 count as 1.
  void Record(int64_t us);
  void Merge(const LatencyHistogram& other);
  void Clear();

  int64_t count() const { return count_; }
  int64_t max() const { return max_; }  // 0 when empty
  // The smallest recorded value such that at least q (0..1) of all values
  // are at or below it, to 3 significant digits (the upper edge of its
  // bucket, never above max()); 0 when empty.
  int64_t Percentile(double q) const;

 private:
  static int Index(int64_t us);
  static int64_t UpperEdge(int index);

  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace txscreen::bench

#endif  // TXSCREEN_BENCH_LATENCY_HISTOGRAM_H_
