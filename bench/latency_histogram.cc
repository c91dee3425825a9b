#include "bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace txscreen::bench {

namespace {

constexpr int kBits = 11;
constexpr int64_t kLinear = int64_t{1} << kBits;  // exact below this
constexpr int64_t kHalf = kLinear / 2;

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(Index(kMaxTrackedUs) + 1, 0) {}

int LatencyHistogram::Index(int64_t us) {
  if (us < kLinear) return static_cast<int>(us);
  // shift >= 1: the value's top kBits bits select the sub-bucket, which
  // lies in [kHalf, kLinear).
  const int shift = std::bit_width(static_cast<uint64_t>(us)) - kBits;
  const int64_t sub = us >> shift;
  return static_cast<int>(kLinear + (shift - 1) * kHalf + (sub - kHalf));
}

int64_t LatencyHistogram::UpperEdge(int index) {
  if (index < kLinear) return index;
  const int64_t past = index - kLinear;
  const int shift = static_cast<int>(past / kHalf) + 1;
  const int64_t sub = kHalf + past % kHalf;
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t us) {
  us = std::max<int64_t>(us, 1);
  max_ = std::max(max_, us);
  ++counts_[static_cast<size_t>(Index(std::min(us, kMaxTrackedUs)))];
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  max_ = 0;
}

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const int64_t rank = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))), 1,
      count_);
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min(UpperEdge(static_cast<int>(i)), max_);
    }
  }
  return max_;
}

}  // namespace txscreen::bench
