// Tests of window arithmetic (window.h): calendar and sliding buckets, and
// the sparse bucket state with its aggregates.
#include "engine/window.h"

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace txscreen::engine {
namespace {

namespace v1 = ::txscreen::v1;

constexpr int64_t kSecond = 1000000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

int64_t Micros(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err))
      << rfc3339 << ": " << err;
  return absl::ToUnixMicros(t);
}

absl::TimeZone Shanghai() {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &tz));
  return tz;
}

rules::WindowDef Calendar(rules::WindowDef::Span span) {
  rules::WindowDef def;
  def.span = span;
  return def;
}

// A sliding window of `span_us` in buckets of `width_us`.
rules::WindowDef Sliding(int64_t span_us, int64_t width_us) {
  rules::WindowDef def;
  def.span = rules::WindowDef::Span::kSliding;
  def.span_us = span_us;
  def.width_us = width_us;
  def.lookback_buckets = (span_us + width_us - 1) / width_us;
  return def;
}

int64_t DayIndex(int y, int m, int d) {
  return absl::CivilDay(y, m, d) - absl::CivilDay(1970, 1, 1);
}

// --- BucketClock: calendar days ---------------------------------------------

TEST(BucketClockTest, BeijingDayEndsAtSixteenHundredUtc) {
  BucketClock clock(Shanghai());
  const rules::WindowDef day = Calendar(rules::WindowDef::Span::kDay);
  // 23:59:59 and 00:00:00 Beijing time.
  const int64_t last = clock.Bucket(day, Micros("2026-11-20T15:59:59Z"));
  const int64_t next = clock.Bucket(day, Micros("2026-11-20T16:00:00Z"));
  EXPECT_EQ(last, DayIndex(2026, 11, 20));
  EXPECT_EQ(next, DayIndex(2026, 11, 21));
  // The last microsecond of the day.
  EXPECT_EQ(clock.Bucket(day, Micros("2026-11-20T16:00:00Z") - 1), last);
  // 00:00 Beijing is 16:00 UTC the day before.
  EXPECT_EQ(clock.Bucket(day, Micros("2026-11-19T16:00:00Z")), last);
  EXPECT_EQ(clock.Bucket(day, Micros("2026-11-19T15:59:59.999999Z")), last - 1);
}

TEST(BucketClockTest, CachedDayIsRightWhenTimeGoesBackAndForth) {
  BucketClock clock(Shanghai());
  const rules::WindowDef day = Calendar(rules::WindowDef::Span::kDay);
  const int64_t t = Micros("2026-11-20T12:00:00+08:00");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(clock.Bucket(day, t), DayIndex(2026, 11, 20));
    EXPECT_EQ(clock.Bucket(day, t + 12 * kHour), DayIndex(2026, 11, 21));
    EXPECT_EQ(clock.Bucket(day, t - 12 * kHour - 1), DayIndex(2026, 11, 19));
    EXPECT_EQ(clock.Bucket(day, t - 12 * kHour), DayIndex(2026, 11, 20));
  }
}

TEST(BucketClockTest, UtcDayDiffersFromBeijingDay) {
  BucketClock utc(absl::UTCTimeZone());
  BucketClock beijing(Shanghai());
  const rules::WindowDef day = Calendar(rules::WindowDef::Span::kDay);
  const int64_t t = Micros("2026-11-20T17:00:00Z");
  EXPECT_EQ(utc.Bucket(day, t), DayIndex(2026, 11, 20));
  EXPECT_EQ(beijing.Bucket(day, t), DayIndex(2026, 11, 21));
}

TEST(BucketClockTest, DaylightSavingDayIsOneBucket) {
  absl::TimeZone new_york;
  ASSERT_TRUE(absl::LoadTimeZone("America/New_York", &new_york));
  BucketClock clock(new_york);
  const rules::WindowDef day = Calendar(rules::WindowDef::Span::kDay);
  // 2026-03-08 has 23 hours in New York.
  const int64_t start = Micros("2026-03-08T00:00:00-05:00");
  const int64_t end = Micros("2026-03-09T00:00:00-04:00");
  EXPECT_EQ(end - start, 23 * kHour);
  EXPECT_EQ(clock.Bucket(day, start), DayIndex(2026, 3, 8));
  EXPECT_EQ(clock.Bucket(day, end - 1), DayIndex(2026, 3, 8));
  EXPECT_EQ(clock.Bucket(day, end), DayIndex(2026, 3, 9));
  EXPECT_EQ(clock.Bucket(day, start - 1), DayIndex(2026, 3, 7));
}

TEST(BucketClockTest, DaysBeforeTheEpoch) {
  BucketClock clock(absl::UTCTimeZone());
  const rules::WindowDef day = Calendar(rules::WindowDef::Span::kDay);
  EXPECT_EQ(clock.Bucket(day, 0), 0);
  EXPECT_EQ(clock.Bucket(day, -1), -1);
  EXPECT_EQ(clock.Bucket(day, -24 * kHour), -1);
  EXPECT_EQ(clock.Bucket(day, -24 * kHour - 1), -2);
}

// --- BucketClock: calendar months -------------------------------------------

TEST(BucketClockTest, BeijingMonthBoundaries) {
  BucketClock clock(Shanghai());
  const rules::WindowDef month = Calendar(rules::WindowDef::Span::kMonth);
  const int64_t november = 2026 * 12 + 10;
  EXPECT_EQ(clock.Bucket(month, Micros("2026-11-30T15:59:59Z")), november);
  EXPECT_EQ(clock.Bucket(month, Micros("2026-11-30T16:00:00Z")), november + 1);
  // New year in Beijing.
  EXPECT_EQ(clock.Bucket(month, Micros("2026-12-31T15:59:59Z")), november + 1);
  EXPECT_EQ(clock.Bucket(month, Micros("2026-12-31T16:00:00Z")), 2027 * 12);
  // Back to the start of November (cache must not stick).
  EXPECT_EQ(clock.Bucket(month, Micros("2026-10-31T16:00:00Z")), november);
  EXPECT_EQ(clock.Bucket(month, Micros("2026-10-31T15:59:59Z")), november - 1);
  // February of a leap year has 29 days.
  EXPECT_EQ(clock.Bucket(month, Micros("2028-02-29T12:00:00+08:00")),
            2028 * 12 + 1);
  EXPECT_EQ(clock.Bucket(month, Micros("2028-03-01T00:00:00+08:00")),
            2028 * 12 + 2);
}

TEST(BucketClockTest, DayAndMonthCachesAreIndependent) {
  BucketClock clock(Shanghai());
  const rules::WindowDef day = Calendar(rules::WindowDef::Span::kDay);
  const rules::WindowDef month = Calendar(rules::WindowDef::Span::kMonth);
  const int64_t t = Micros("2026-11-30T23:30:00+08:00");
  EXPECT_EQ(clock.Bucket(day, t), DayIndex(2026, 11, 30));
  EXPECT_EQ(clock.Bucket(month, t), 2026 * 12 + 10);
  EXPECT_EQ(clock.Bucket(day, t + kHour), DayIndex(2026, 12, 1));
  EXPECT_EQ(clock.Bucket(month, t + kHour), 2026 * 12 + 11);
  EXPECT_EQ(clock.Bucket(day, t), DayIndex(2026, 11, 30));
}

TEST(BucketClockTest, CalendarWindowReadsOneBucket) {
  const rules::WindowDef day = Calendar(rules::WindowDef::Span::kDay);
  EXPECT_EQ(BucketClock::FirstBucket(day, 20000), 20000);
  const rules::WindowDef month = Calendar(rules::WindowDef::Span::kMonth);
  EXPECT_EQ(BucketClock::FirstBucket(month, 24322), 24322);
}

// --- BucketClock: sliding ----------------------------------------------------

TEST(BucketClockTest, SlidingBucketIsFloorOfTimeOverWidth) {
  BucketClock clock(Shanghai());
  const rules::WindowDef w = Sliding(5 * kMinute, kMinute);
  EXPECT_EQ(w.lookback_buckets, 5);
  EXPECT_EQ(clock.Bucket(w, 0), 0);
  EXPECT_EQ(clock.Bucket(w, kMinute - 1), 0);
  EXPECT_EQ(clock.Bucket(w, kMinute), 1);
  EXPECT_EQ(clock.Bucket(w, -1), -1);
  EXPECT_EQ(clock.Bucket(w, -kMinute), -1);
  EXPECT_EQ(clock.Bucket(w, -kMinute - 1), -2);
  EXPECT_EQ(BucketClock::FirstBucket(w, 100), 95);
}

// A sliding window at t counts every event in (t - span, t], and may count
// events up to one bucket width older than the span: the window reads the
// whole oldest bucket. Never fewer.
TEST(BucketClockTest, SlidingWindowOverIncludesAtMostOneBucketWidth) {
  BucketClock clock(absl::UTCTimeZone());
  const int64_t span = 5 * kMinute, width = kMinute;
  const rules::WindowDef def = Sliding(span, width);
  const int64_t t0 = Micros("2026-11-20T10:00:00Z");  // a bucket start

  auto counts = [&](int64_t event, int64_t now) {
    WindowState w;
    w.Add(clock.Bucket(def, event), 1, 0);
    const int64_t b = clock.Bucket(def, now);
    return w.Value(v1::AGGREGATE_COUNT, BucketClock::FirstBucket(def, b), b);
  };

  // Exactly one span ago: outside (t - span, t] but counted.
  EXPECT_EQ(counts(t0, t0 + span), 1);
  // Inside the span.
  EXPECT_EQ(counts(t0 + 1, t0 + span), 1);
  EXPECT_EQ(counts(t0 + span, t0 + span), 1);
  // One bucket older than the span: not counted.
  EXPECT_EQ(counts(t0 - width, t0 + span), 0);
  EXPECT_EQ(counts(t0 - 1, t0 + span), 0);
  // The worst case: at the end of a bucket the window still holds an event
  // from the start of the oldest bucket, span + width - 1us ago.
  EXPECT_EQ(counts(t0, t0 + span + width - 1), 1);
  EXPECT_EQ(counts(t0, t0 + span + width), 0);
  // An event in the future of the reading time is not counted.
  EXPECT_EQ(counts(t0 + span + width, t0 + span), 0);
}

TEST(BucketClockTest, SlidingSpanNotAMultipleOfTheWidth) {
  BucketClock clock(absl::UTCTimeZone());
  // 90 s in 60 s buckets: reads two buckets back.
  const rules::WindowDef def = Sliding(90 * kSecond, kMinute);
  EXPECT_EQ(def.lookback_buckets, 2);
  WindowState w;
  const int64_t t0 = 10 * kMinute;
  w.Add(clock.Bucket(def, t0 + 59 * kSecond), 1, 0);  // 91 s before t0+150s
  const int64_t b = clock.Bucket(def, t0 + 150 * kSecond);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, BucketClock::FirstBucket(def, b), b),
            1);
}

// --- WindowState -------------------------------------------------------------

TEST(WindowStateTest, EmptyWindowIsZeroForEveryAggregate) {
  WindowState w;
  EXPECT_TRUE(w.empty());
  for (v1::Aggregate a : {v1::AGGREGATE_SUM, v1::AGGREGATE_COUNT,
                          v1::AGGREGATE_MAX, v1::AGGREGATE_DISTINCT}) {
    EXPECT_EQ(w.Value(a, -100, 100), 0) << a;
  }
}

TEST(WindowStateTest, SumCountMaxOverARange) {
  WindowState w;
  w.Add(10, 100, 0);
  w.Add(10, 300, 0);
  w.Add(12, 50, 0);
  w.Add(15, 7, 0);
  EXPECT_FALSE(w.empty());
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 10, 15), 457);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 10, 15), 4);
  EXPECT_EQ(w.Value(v1::AGGREGATE_MAX, 10, 15), 300);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 11, 15), 57);
  EXPECT_EQ(w.Value(v1::AGGREGATE_MAX, 11, 15), 50);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 11, 14), 1);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 13, 14), 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_MAX, 13, 14), 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 16, 20), 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_UNSPECIFIED, 10, 15), 0);
}

TEST(WindowStateTest, BucketsAddedOutOfOrderStaySorted) {
  WindowState w;
  w.Add(20, 1, 0);
  w.Add(5, 10, 0);
  w.Add(12, 100, 0);
  w.Add(5, 1000, 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 0, 10), 1010);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 6, 19), 100);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 12, 20), 101);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 20, 20), 1);
}

TEST(WindowStateTest, MaxOfZeroValuesIsZero) {
  WindowState w;
  w.Add(1, 0, 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_MAX, 1, 1), 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 1, 1), 1);
}

TEST(WindowStateTest, RetractTakesBackSumAndCount) {
  WindowState w;
  w.Add(10, 100, 0);
  w.Add(10, 300, 0);
  w.Add(11, 50, 0);
  EXPECT_TRUE(w.Retract(10, 300, 0));
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 10, 11), 150);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 10, 11), 2);
  EXPECT_TRUE(w.Retract(11, 50, 0));
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 10, 11), 100);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 10, 11), 1);
  EXPECT_TRUE(w.Retract(10, 100, 0));
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 10, 11), 0);
  EXPECT_TRUE(w.empty());
}

TEST(WindowStateTest, RetractWithNothingToTakeBackReturnsFalse) {
  WindowState w;
  EXPECT_FALSE(w.Retract(10, 1, 0));
  w.Add(10, 1, 0);
  EXPECT_FALSE(w.Retract(9, 1, 0));
  EXPECT_FALSE(w.Retract(11, 1, 0));
  EXPECT_TRUE(w.Retract(10, 1, 0));
  EXPECT_FALSE(w.Retract(10, 1, 0));
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 0, 20), 0);
}

TEST(WindowStateTest, RetractionDoesNotLowerMax) {
  WindowState w;
  w.Add(10, 100, 0);
  w.Add(10, 500, 0);
  ASSERT_EQ(w.Value(v1::AGGREGATE_MAX, 10, 10), 500);
  EXPECT_TRUE(w.Retract(10, 500, 0));
  EXPECT_EQ(w.Value(v1::AGGREGATE_MAX, 10, 10), 500);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 10, 10), 100);
  // A maximum goes with its bucket once the bucket holds nothing.
  EXPECT_TRUE(w.Retract(10, 100, 0));
  EXPECT_EQ(w.Value(v1::AGGREGATE_MAX, 10, 10), 0);
}

TEST(WindowStateTest, DistinctCountsEachKeyOnce) {
  WindowState w;
  w.Add(10, 0, 111);
  w.Add(10, 0, 111);
  w.Add(10, 0, 222);
  w.Add(11, 0, 111);
  w.Add(12, 0, 333);
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 10, 12), 3);
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 10, 10), 2);
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 11, 12), 2);
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 11, 11), 1);
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 13, 20), 0);
  // COUNT counts transactions, duplicates included.
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 10, 12), 5);
}

TEST(WindowStateTest, DistinctKeyStaysWhileAnyAddRemains) {
  WindowState w;
  w.Add(10, 0, 111);
  w.Add(10, 0, 111);
  w.Add(10, 0, 222);
  EXPECT_TRUE(w.Retract(10, 0, 111));
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 10, 10), 2);
  EXPECT_TRUE(w.Retract(10, 0, 111));
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 10, 10), 1);
  EXPECT_TRUE(w.Retract(10, 0, 222));
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 10, 10), 0);
  EXPECT_TRUE(w.empty());
}

TEST(WindowStateTest, DistinctRetractionInOneBucketKeepsTheKeyInAnother) {
  WindowState w;
  w.Add(10, 0, 111);
  w.Add(11, 0, 111);
  EXPECT_TRUE(w.Retract(10, 0, 111));
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 10, 11), 1);
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 10, 10), 0);
}

TEST(WindowStateTest, DistinctKeyZeroMeansNoValue) {
  WindowState w;
  w.Add(10, 0, 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 10, 10), 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 10, 10), 1);
}

TEST(WindowStateTest, SumSaturatesInABucketAndAcrossBuckets) {
  WindowState w;
  w.Add(1, kMax, 0);
  w.Add(1, 1, 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 1, 1), kMax);
  w.Add(2, kMax - 5, 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 1, 2), kMax);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 2, 2), kMax - 5);
  EXPECT_EQ(w.Value(v1::AGGREGATE_MAX, 1, 2), kMax);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 1, 2), 3);
}

TEST(WindowStateTest, EvictBeforeForgetsOldBucketsAndKeys) {
  WindowState w;
  w.Add(5, 1, 111);
  w.Add(9, 2, 222);
  w.Add(10, 4, 333);
  w.Add(12, 8, 111);
  w.EvictBefore(10);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 0, 100), 12);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 0, 100), 2);
  EXPECT_EQ(w.Value(v1::AGGREGATE_DISTINCT, 0, 100), 2);
  EXPECT_FALSE(w.Retract(9, 2, 222));
  EXPECT_TRUE(w.Retract(10, 4, 333));
  w.EvictBefore(13);
  EXPECT_TRUE(w.empty());
  // Evicting an empty window, or before every bucket, is harmless.
  w.EvictBefore(100);
  w.Add(200, 1, 0);
  w.EvictBefore(100);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 0, 1000), 1);
}

TEST(WindowStateTest, ProtoRoundTripKeepsEveryAggregate) {
  WindowState w;
  w.Add(10, 100, 111);
  w.Add(10, 500, 111);
  w.Add(11, 7, 222);
  w.Add(13, 9, 0);
  ASSERT_TRUE(w.Retract(10, 500, 111));  // max stays 500, key 111 stays once

  WindowProto proto;
  w.ToProto(&proto);
  EXPECT_EQ(proto.bucket_index_size(), 3);
  EXPECT_EQ(proto.distinct_key_size(), 2);

  WindowProto wire;
  ASSERT_TRUE(wire.ParseFromString(proto.SerializeAsString()));
  WindowState copy;
  copy.Add(99, 99, 99);  // replaced, not merged
  ASSERT_TRUE(copy.FromProto(wire));
  for (v1::Aggregate a : {v1::AGGREGATE_SUM, v1::AGGREGATE_COUNT,
                          v1::AGGREGATE_MAX, v1::AGGREGATE_DISTINCT}) {
    for (int64_t first = 9; first <= 14; ++first) {
      for (int64_t last = first; last <= 14; ++last) {
        EXPECT_EQ(copy.Value(a, first, last), w.Value(a, first, last))
            << a << " [" << first << ", " << last << "]";
      }
    }
  }
  EXPECT_EQ(copy.Value(v1::AGGREGATE_COUNT, 99, 99), 0);
  EXPECT_EQ(copy.Value(v1::AGGREGATE_MAX, 10, 10), 500);
  // The copy goes on like the original.
  EXPECT_TRUE(copy.Retract(10, 100, 111));
  EXPECT_EQ(copy.Value(v1::AGGREGATE_DISTINCT, 10, 13), 1);
}

TEST(WindowStateTest, FromProtoSortsBuckets) {
  WindowProto proto;
  for (int64_t index : {30, 10, 20}) {
    proto.add_bucket_index(index);
    proto.add_bucket_sum(index);
    proto.add_bucket_count(1);
    proto.add_bucket_max(index);
  }
  WindowState w;
  ASSERT_TRUE(w.FromProto(proto));
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 10, 20), 30);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 20, 30), 50);
  w.Add(25, 1, 0);
  EXPECT_EQ(w.Value(v1::AGGREGATE_SUM, 21, 29), 1);
  w.EvictBefore(20);
  EXPECT_EQ(w.Value(v1::AGGREGATE_COUNT, 0, 100), 3);
}

TEST(WindowStateTest, EmptyStateRoundTripsToAnEmptyProto) {
  WindowState w;
  WindowProto proto;
  w.ToProto(&proto);
  EXPECT_EQ(proto.bucket_index_size(), 0);
  EXPECT_EQ(proto.distinct_key_size(), 0);
  WindowState copy;
  ASSERT_TRUE(copy.FromProto(proto));
  EXPECT_TRUE(copy.empty());
}

TEST(WindowStateTest, FromProtoRefusesArraysOfDifferentLengths) {
  WindowProto proto;
  proto.add_bucket_index(10);
  proto.add_bucket_sum(5);
  proto.add_bucket_count(1);  // no bucket_max
  WindowState w;
  EXPECT_FALSE(w.FromProto(proto));
  EXPECT_TRUE(w.empty());

  WindowProto distinct;
  distinct.add_distinct_key(7);
  distinct.add_distinct_bucket(10);  // no distinct_count
  EXPECT_FALSE(w.FromProto(distinct));
  EXPECT_TRUE(w.empty());
}

TEST(WindowStateTest, EncodeWritesTheBytesOfTheSerializedProto) {
  // Random states, including negative and extreme values and a zero
  // fingerprint (left out, as proto3 does).
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    WindowState w;
    // Now and then enough buckets for payloads of 128 bytes and more (a
    // length of two bytes).
    const bool wide = round % 4 == 0;
    const int adds = static_cast<int>(rng() % (wide ? 80 : 6));
    for (int i = 0; i < adds; ++i) {
      const int64_t bucket = static_cast<int64_t>(rng() % (wide ? 200 : 7)) - 3;
      int64_t value = static_cast<int64_t>(rng() % 1000000);
      if (rng() % 5 == 0) value = -value;
      if (rng() % 17 == 0) value = std::numeric_limits<int64_t>::max();
      w.Add(bucket, value, rng() % 3 == 0 ? rng() : 0);
    }
    const uint64_t fingerprint = round % 10 == 0 ? 0 : rng();
    WindowProto proto;
    w.ToProto(&proto);
    proto.set_fingerprint(fingerprint);
    const std::string expected = proto.SerializeAsString();
    std::string encoded(w.MaxEncodedSize(), 'x');
    uint8_t* end =
        w.Encode(fingerprint, reinterpret_cast<uint8_t*>(encoded.data()));
    const auto written = end - reinterpret_cast<uint8_t*>(encoded.data());
    ASSERT_LE(written, static_cast<std::ptrdiff_t>(encoded.size()));
    encoded.resize(static_cast<size_t>(written));
    ASSERT_EQ(encoded, expected) << "round " << round;
  }
}

}  // namespace
}  // namespace txscreen::engine
