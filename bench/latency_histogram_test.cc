#include "bench/latency_histogram.h"

#include <cmath>
#include <cstdint>

#include "gtest/gtest.h"

namespace txscreen::bench {
namespace {

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.Percentile(0.99), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100);
  EXPECT_EQ(h.Percentile(0.5), 50);
  EXPECT_EQ(h.Percentile(0.99), 99);
  EXPECT_EQ(h.Percentile(1.0), 100);
  EXPECT_EQ(h.Percentile(0.0), 1);  // the smallest value
  EXPECT_EQ(h.max(), 100);
}

TEST(LatencyHistogramTest, ZeroAndNegativeCountAsOneMicrosecond) {
  LatencyHistogram h;
  h.Record(0);
  h.Record(-5);
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.Percentile(1.0), 1);
}

TEST(LatencyHistogramTest, ThreeSignificantDigitsAcrossTheRange) {
  // Every value from 1 µs to 60 s lands in a bucket whose upper edge is
  // within 0.1 % above it.
  for (double v = 1; v <= 60e6; v *= 1.37) {
    LatencyHistogram h;
    const int64_t us = static_cast<int64_t>(v);
    h.Record(us);
    h.Record(us * 4);  // so that the percentile is not clamped to max
    const int64_t p = h.Percentile(0.5);
    EXPECT_GE(p, us) << us;
    EXPECT_LE(static_cast<double>(p - us), 0.001 * static_cast<double>(us))
        << us;
  }
}

TEST(LatencyHistogramTest, UniformPercentiles) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 1000000; ++v) h.Record(v);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double want = q * 1e6;
    EXPECT_NEAR(static_cast<double>(h.Percentile(q)), want, want * 0.001) << q;
  }
  EXPECT_EQ(h.Percentile(1.0), 1000000);
}

TEST(LatencyHistogramTest, AboveTheRangeCountsAtTheTopAndMaxIsExact) {
  LatencyHistogram h;
  h.Record(10);
  h.Record(90LL * 1000000);  // 90 s
  EXPECT_EQ(h.max(), 90LL * 1000000);
  EXPECT_EQ(h.Percentile(0.5), 10);
  // The top bucket's edge is just above 60 s; the percentile is never above
  // max.
  EXPECT_GE(h.Percentile(1.0), LatencyHistogram::kMaxTrackedUs);
  EXPECT_LE(h.Percentile(1.0), h.max());
}

TEST(LatencyHistogramTest, MergeAndClear) {
  LatencyHistogram a, b;
  for (int i = 0; i < 90; ++i) a.Record(1000);
  for (int i = 0; i < 10; ++i) b.Record(50000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 100);
  EXPECT_EQ(a.max(), 50000);
  EXPECT_EQ(a.Percentile(0.9), 1000);
  EXPECT_NEAR(static_cast<double>(a.Percentile(0.91)), 50000, 50);
  a.Clear();
  EXPECT_EQ(a.count(), 0);
  EXPECT_EQ(a.Percentile(0.5), 0);
}

}  // namespace
}  // namespace txscreen::bench
