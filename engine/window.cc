#include "engine/window.h"

#include <algorithm>
#include <limits>

#include "absl/time/civil_time.h"
#include "engine/wire_format.h"
#include "rules/money.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;

int64_t BucketClock::Bucket(const rules::WindowDef& def, int64_t t_us) {
  switch (def.span) {
    case rules::WindowDef::Span::kSliding: {
      int64_t b = t_us / def.width_us;
      if (t_us < 0 && t_us % def.width_us != 0) --b;  // floor
      return b;
    }
    case rules::WindowDef::Span::kDay: {
      if (t_us >= day_.start_us && t_us < day_.end_us) return day_.index;
      absl::CivilDay day(tz_.At(absl::FromUnixMicros(t_us)).cs);
      day_.start_us = absl::ToUnixMicros(absl::FromCivil(day, tz_));
      day_.end_us = absl::ToUnixMicros(absl::FromCivil(day + 1, tz_));
      day_.index = day - absl::CivilDay(1970, 1, 1);
      return day_.index;
    }
    case rules::WindowDef::Span::kMonth: {
      if (t_us >= month_.start_us && t_us < month_.end_us) return month_.index;
      absl::CivilMonth month(tz_.At(absl::FromUnixMicros(t_us)).cs);
      month_.start_us = absl::ToUnixMicros(absl::FromCivil(month, tz_));
      month_.end_us = absl::ToUnixMicros(absl::FromCivil(month + 1, tz_));
      month_.index = month.year() * 12 + (month.month() - 1);
      return month_.index;
    }
  }
  return 0;
}

void WindowState::Add(int64_t bucket, int64_t value, uint64_t distinct_key) {
  auto it = std::lower_bound(
      buckets_.begin(), buckets_.end(), bucket,
      [](const Bucket& b, int64_t index) { return b.index < index; });
  if (it == buckets_.end() || it->index != bucket) {
    it = buckets_.insert(
        it, Bucket{bucket, 0, 0, std::numeric_limits<int64_t>::min()});
  }
  it->sum = rules::SaturatingAdd(it->sum, value);
  it->count += 1;
  it->max = std::max(it->max, value);
  if (distinct_key != 0) {
    for (Distinct& d : distinct_) {
      if (d.key == distinct_key && d.bucket == bucket) {
        ++d.count;
        return;
      }
    }
    distinct_.push_back(Distinct{distinct_key, bucket, 1});
  }
}

bool WindowState::Retract(int64_t bucket, int64_t value,
                          uint64_t distinct_key) {
  auto it = std::lower_bound(
      buckets_.begin(), buckets_.end(), bucket,
      [](const Bucket& b, int64_t index) { return b.index < index; });
  if (it == buckets_.end() || it->index != bucket || it->count == 0) {
    return false;
  }
  it->sum = rules::SaturatingAdd(it->sum, -value);
  it->count -= 1;
  if (it->count == 0) buckets_.erase(it);
  if (distinct_key != 0) {
    for (size_t i = 0; i < distinct_.size(); ++i) {
      if (distinct_[i].key == distinct_key && distinct_[i].bucket == bucket) {
        if (--distinct_[i].count == 0) {
          distinct_.erase(distinct_.begin() + static_cast<long>(i));
        }
        break;
      }
    }
  }
  return true;
}

int64_t WindowState::Value(v1::Aggregate aggregate, int64_t first,
                           int64_t last) const {
  if (aggregate == v1::AGGREGATE_DISTINCT) {
    // Distinct keys with any entry in range; windows hold few keys.
    int64_t n = 0;
    for (size_t i = 0; i < distinct_.size(); ++i) {
      const Distinct& d = distinct_[i];
      if (d.bucket < first || d.bucket > last) continue;
      bool earlier = false;
      for (size_t j = 0; j < i; ++j) {
        if (distinct_[j].key == d.key && distinct_[j].bucket >= first &&
            distinct_[j].bucket <= last) {
          earlier = true;
          break;
        }
      }
      if (!earlier) ++n;
    }
    return n;
  }
  int64_t sum = 0, count = 0, max = 0;
  bool any = false;
  for (const Bucket& b : buckets_) {
    if (b.index < first) continue;
    if (b.index > last) break;
    sum = rules::SaturatingAdd(sum, b.sum);
    count += b.count;
    max = any ? std::max(max, b.max) : b.max;
    any = true;
  }
  switch (aggregate) {
    case v1::AGGREGATE_SUM:
      return sum;
    case v1::AGGREGATE_COUNT:
      return count;
    case v1::AGGREGATE_MAX:
      return any ? max : 0;
    default:
      return 0;
  }
}

int64_t WindowState::ValueWith(v1::Aggregate aggregate, int64_t first,
                               int64_t last, int64_t value,
                               uint64_t distinct_key) const {
  switch (aggregate) {
    case v1::AGGREGATE_SUM:
      return rules::SaturatingAdd(Value(aggregate, first, last), value);
    case v1::AGGREGATE_COUNT:
      return Value(aggregate, first, last) + 1;
    case v1::AGGREGATE_MAX: {
      bool any = false;
      int64_t max = value;
      for (const Bucket& b : buckets_) {
        if (b.index < first) continue;
        if (b.index > last) break;
        max = std::max(max, b.max);
        any = true;
      }
      return any ? max : value;
    }
    case v1::AGGREGATE_DISTINCT: {
      int64_t n = Value(aggregate, first, last);
      if (distinct_key == 0) return n;
      for (const Distinct& d : distinct_) {
        if (d.key == distinct_key && d.bucket >= first && d.bucket <= last) {
          return n;
        }
      }
      return n + 1;
    }
    default:
      return 0;
  }
}

void WindowState::EvictBefore(int64_t first) {
  auto it = std::lower_bound(
      buckets_.begin(), buckets_.end(), first,
      [](const Bucket& b, int64_t index) { return b.index < index; });
  buckets_.erase(buckets_.begin(), it);
  distinct_.erase(
      std::remove_if(distinct_.begin(), distinct_.end(),
                     [first](const Distinct& d) { return d.bucket < first; }),
      distinct_.end());
}

void WindowState::ToProto(WindowProto* out) const {
  const int n = static_cast<int>(buckets_.size());
  out->mutable_bucket_index()->Reserve(n);
  out->mutable_bucket_sum()->Reserve(n);
  out->mutable_bucket_count()->Reserve(n);
  out->mutable_bucket_max()->Reserve(n);
  for (const Bucket& b : buckets_) {
    out->add_bucket_index(b.index);
    out->add_bucket_sum(b.sum);
    out->add_bucket_count(b.count);
    out->add_bucket_max(b.max);
  }
  for (const Distinct& d : distinct_) {
    out->add_distinct_key(d.key);
    out->add_distinct_bucket(d.bucket);
    out->add_distinct_count(d.count);
  }
}

namespace {

using wire::FieldSize;
using wire::VarintSize;

}  // namespace

size_t WindowState::MaxEncodedSize() const {
  // Fingerprint 9; seven packed fields of tag and length 6 each; a bucket's
  // four varints 10 each; a distinct key 8 and two varints.
  return 9 + 7 * 6 + buckets_.size() * 40 + distinct_.size() * 28;
}

uint8_t* WindowState::Encode(uint64_t fingerprint, uint8_t* out) const {
  if (fingerprint != 0) {
    out = wire::WriteTag(1, wire::kFixed64, out);
    out = wire::CodedOutputStream::WriteLittleEndian64ToArray(fingerprint, out);
  }
  auto varints = [&out](int field, const auto& items, auto member) {
    out = wire::WriteDelimited(field, out, [&](uint8_t* p) {
      for (const auto& item : items) p = wire::WriteVarint(item.*member, p);
      return p;
    });
  };
  varints(2, buckets_, &Bucket::index);
  varints(3, buckets_, &Bucket::sum);
  varints(4, buckets_, &Bucket::count);
  varints(5, buckets_, &Bucket::max);
  out = wire::WriteDelimited(6, out, [&](uint8_t* p) {
    for (const Distinct& d : distinct_) {
      p = wire::CodedOutputStream::WriteLittleEndian64ToArray(d.key, p);
    }
    return p;
  });
  varints(7, distinct_, &Distinct::bucket);
  varints(8, distinct_, &Distinct::count);
  return out;
}

bool WindowState::FromProto(const WindowProto& in) {
  buckets_.clear();
  distinct_.clear();
  const int n = in.bucket_index_size();
  if (in.bucket_sum_size() != n || in.bucket_count_size() != n ||
      in.bucket_max_size() != n) {
    return false;
  }
  const int d = in.distinct_key_size();
  if (in.distinct_bucket_size() != d || in.distinct_count_size() != d) {
    return false;
  }
  buckets_.reserve(n);
  for (int i = 0; i < n; ++i) {
    buckets_.push_back(Bucket{in.bucket_index(i), in.bucket_sum(i),
                              in.bucket_count(i), in.bucket_max(i)});
  }
  std::sort(buckets_.begin(), buckets_.end(),
            [](const Bucket& a, const Bucket& b) { return a.index < b.index; });
  distinct_.reserve(d);
  for (int i = 0; i < d; ++i) {
    distinct_.push_back(Distinct{in.distinct_key(i), in.distinct_bucket(i),
                                 in.distinct_count(i)});
  }
  return true;
}

}  // namespace txscreen::engine
