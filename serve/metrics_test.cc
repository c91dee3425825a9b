// File: metrics_test.cc
#include "serve/metrics.h"

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::serve {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistryTest, RendersTheExpositionFormat) {
  MetricsRegistry registry;
  registry.AddCounter("txscreen_decisions_total", "Decisions produced.")
      ->Increment(12345);
  registry.AddCounter("txscreen_empty_total", "Never incremented.");
  CounterFamily* hits = registry.AddCounterFamily(
      "txscreen_rule_hits_total", "Rule hits.", {"rule", "channel"});
  hits->With({"R1", "atm"})->Increment(2);
  hits->With({"say \"hi\" C:\\dir\nnext", "pos"})->Increment();
  registry.AddGauge("txscreen_rules_version", "Active rule set version.")
      ->Set(3);
  Histogram* latency = registry.AddHistogram(
      "txscreen_decision_seconds", "Decision latency.", {0.25, 0.5, 1});
  for (double v : {0.125, 0.25, 0.75, 4.0}) latency->Observe(v);
  registry
      .AddHistogramFamily("txscreen_stage_seconds", "Stage latency.", {"stage"},
                          {0.5})
      ->With({"decode"})
      ->Observe(0.375);
  registry.AddCallbackGauge("txscreen_uptime_seconds", "Seconds since start.",
                            [] { return 1.5; });
  registry.AddCallbackCounter("txscreen_commits_total", "Commits.",
                              [] { return 1e6; });
  registry.AddCallbackGaugeFamily(
      "txscreen_consumer_lag",
      "Messages behind the high watermark,\nby partition (a \\ b).",
      {"partition"}, [] {
        return LabelledValues{{{"1"}, 7}, {{"0"}, 12}};
      });

  EXPECT_EQ(registry.Render(),
            R"(# HELP txscreen_commits_total Commits.
# TYPE txscreen_commits_total counter
txscreen_commits_total 1000000
# HELP txscreen_consumer_lag Messages behind the high watermark,\nby partition (a \\ b).
# TYPE txscreen_consumer_lag gauge
txscreen_consumer_lag{partition="0"} 12
txscreen_consumer_lag{partition="1"} 7
# HELP txscreen_decision_seconds Decision latency.
# TYPE txscreen_decision_seconds histogram
txscreen_decision_seconds_bucket{le="0.25"} 2
txscreen_decision_seconds_bucket{le="0.5"} 2
txscreen_decision_seconds_bucket{le="1"} 3
txscreen_decision_seconds_bucket{le="+Inf"} 4
txscreen_decision_seconds_sum 5.125
txscreen_decision_seconds_count 4
# HELP txscreen_decisions_total Decisions produced.
# TYPE txscreen_decisions_total counter
txscreen_decisions_total 12345
# HELP txscreen_empty_total Never incremented.
# TYPE txscreen_empty_total counter
txscreen_empty_total 0
# HELP txscreen_rule_hits_total Rule hits.
# TYPE txscreen_rule_hits_total counter
txscreen_rule_hits_total{rule="R1",channel="atm"} 2
txscreen_rule_hits_total{rule="say \"hi\" C:\\dir\nnext",channel="pos"} 1
# HELP txscreen_rules_version Active rule set version.
# TYPE txscreen_rules_version gauge
txscreen_rules_version 3
# HELP txscreen_stage_seconds Stage latency.
# TYPE txscreen_stage_seconds histogram
txscreen_stage_seconds_bucket{stage="decode",le="0.5"} 1
txscreen_stage_seconds_bucket{stage="decode",le="+Inf"} 1
txscreen_stage_seconds_sum{stage="decode"} 0.375
txscreen_stage_seconds_count{stage="decode"} 1
# HELP txscreen_uptime_seconds Seconds since start.
# TYPE txscreen_uptime_seconds gauge
txscreen_uptime_seconds 1.5
)");
}

TEST(MetricsRegistryTest, EmptyRegistryAndEmptyFamily) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.Render(), "");
  registry.AddGaugeFamily("queue_depth", "Depth.", {"queue"});
  EXPECT_EQ(registry.Render(),
            "# HELP queue_depth Depth.\n# TYPE queue_depth gauge\n");
}

TEST(MetricsRegistryTest, FamilyReturnsTheSameChildForTheSameValues) {
  MetricsRegistry registry;
  CounterFamily* family = registry.AddCounterFamily("c", "", {"a", "b"});
  Counter* first = family->With({"x", "y"});
  EXPECT_EQ(family->With({"x", "y"}), first);
  EXPECT_NE(family->With({"y", "x"}), first);
  EXPECT_NE(family->With({"x", ""}), first);
  EXPECT_THAT(family->label_names(), ::testing::ElementsAre("a", "b"));
}

TEST(MetricsRegistryTest, GaugeSetAndAdd) {
  MetricsRegistry registry;
  Gauge* gauge = registry.AddGauge("g", "");
  gauge->Set(10);
  gauge->Add(-2.5);
  EXPECT_EQ(gauge->value(), 7.5);
  GaugeFamily* family = registry.AddGaugeFamily("gf", "", {"k"});
  family->With({"v"})->Add(1);
  family->With({"v"})->Add(1);
  EXPECT_EQ(family->With({"v"})->value(), 2);
  EXPECT_THAT(registry.Render(), HasSubstr("\ng 7.5\n"));
  EXPECT_THAT(registry.Render(), HasSubstr("\ngf{k=\"v\"} 2\n"));
}

TEST(HistogramTest, BoundsAreInclusiveAndNaNGoesToInf) {
  Histogram histogram({1, 2});
  histogram.Observe(1);    // le="1"
  histogram.Observe(1.5);  // le="2"
  histogram.Observe(-7);   // le="1"
  histogram.Observe(std::nan(""));
  Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_THAT(snapshot.cumulative, ::testing::ElementsAre(2u, 3u, 4u));
  EXPECT_EQ(snapshot.count, 4u);
  EXPECT_TRUE(std::isnan(snapshot.sum));
}

TEST(HistogramTest, NoBoundsHasOnlyTheInfBucket) {
  MetricsRegistry registry;
  registry.AddHistogram("h", "", {})->Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP h \n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 3\nh_count 1\n");
}

TEST(FormatMetricValueTest, IntegersWithoutExponentOthersShortest) {
  EXPECT_EQ(FormatMetricValue(12345), "12345");
  EXPECT_EQ(FormatMetricValue(100000), "100000");
  EXPECT_EQ(FormatMetricValue(1e15), "1000000000000000");
  EXPECT_EQ(FormatMetricValue(-42), "-42");
  EXPECT_EQ(FormatMetricValue(-0.0), "0");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(0.0001), "0.0001");
  EXPECT_EQ(FormatMetricValue(0.00005), "5e-05");
  EXPECT_EQ(FormatMetricValue(-2.5), "-2.5");
  EXPECT_EQ(FormatMetricValue(2345.5), "2345.5");
  EXPECT_EQ(FormatMetricValue(123456789.5), "1.234567895e+08");  // as Go
  EXPECT_EQ(FormatMetricValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatMetricValue(1e300), "1e+300");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()),
            "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreExact) {
  MetricsRegistry registry;
  Counter* counter = registry.AddCounter("ops_total", "");
  CounterFamily* family =
      registry.AddCounterFamily("ops_by_t_total", "", {"t"});
  Gauge* gauge = registry.AddGauge("level", "");
  Histogram* histogram = registry.AddHistogram("size", "", {0.5, 2});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50000;

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Counter* mine = family->With({t % 2 == 0 ? "even" : "odd"});
      for (int i = 0; i < kPerThread; ++i) {
        counter->Increment();
        mine->Increment(2);
        gauge->Add(1);
        histogram->Observe(1);
      }
    });
  }
  // Scrapes while the others write: must not disturb them.
  std::thread scraper([&] {
    for (int i = 0; i < 20; ++i) EXPECT_FALSE(registry.Render().empty());
  });
  for (std::thread& thread : threads) thread.join();
  scraper.join();

  constexpr int64_t kTotal = int64_t{kThreads} * kPerThread;
  constexpr uint64_t kCount = kTotal;
  EXPECT_EQ(counter->value(), kTotal);
  EXPECT_EQ(family->With({"even"})->value(), kTotal);
  EXPECT_EQ(family->With({"odd"})->value(), kTotal);
  EXPECT_EQ(gauge->value(), kTotal);
  Histogram::Snapshot snapshot = histogram->Read();
  EXPECT_THAT(snapshot.cumulative, ::testing::ElementsAre(0u, kCount, kCount));
  EXPECT_EQ(snapshot.sum, kTotal);
  EXPECT_THAT(registry.Render(), HasSubstr("\nops_total 400000\n"));
}

TEST(MetricsRegistryTest, ConcurrentWithCreatesOneChild) {
  MetricsRegistry registry;
  CounterFamily* family = registry.AddCounterFamily("c_total", "", {"k"});
  std::vector<Counter*> seen(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) family->With({"same"})->Increment();
      seen[t] = family->With({"same"});
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (Counter* counter : seen) EXPECT_EQ(counter, seen[0]);
  EXPECT_EQ(seen[0]->value(), 8000);
  EXPECT_EQ(family->Children().size(), 1u);
}

TEST(MetricNamesTest, PrometheusRules) {
  for (const char* name : {"a", "_a", ":a", "a:b_c9", "ABC"}) {
    EXPECT_TRUE(IsValidMetricName(name)) << name;
  }
  for (const char* name : {"", "9a", "a-b", "a b", "a.b", "caf\xc3\xa9"}) {
    EXPECT_FALSE(IsValidMetricName(name)) << name;
  }
  EXPECT_TRUE(IsValidLabelName("a_b9"));
  EXPECT_TRUE(IsValidLabelName("_x"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("9"));
  EXPECT_FALSE(IsValidLabelName(""));
}

TEST(MetricNamesTest, InvalidNamesAreRefused) {
  MetricsRegistry registry;
  auto counter = registry.TryAddCounter("bad-name", "");
  EXPECT_EQ(counter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(counter.status().message(),
            "metric \"bad-name\": name must match [a-zA-Z_:][a-zA-Z0-9_:]*");

  auto family = registry.TryAddCounterFamily("ok_total", "", {"a:b"});
  EXPECT_EQ(family.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(family.status().message(),
            "metric \"ok_total\": label name \"a:b\" must match "
            "[a-zA-Z_][a-zA-Z0-9_]*");

  EXPECT_EQ(
      registry.TryAddGaugeFamily("g", "", {"__name__"}).status().message(),
      "metric \"g\": label name \"__name__\" is reserved (starts with "
      "\"__\")");
  EXPECT_EQ(registry.TryAddGaugeFamily("g", "", {"k", "k"}).status().message(),
            "metric \"g\": label name \"k\" given twice");
  EXPECT_EQ(
      registry.TryAddHistogramFamily("h", "", {"le"}, {1}).status().message(),
      "histogram \"h\": label name \"le\" is reserved for the buckets");
  EXPECT_EQ(registry.TryAddCallbackGauge("1x", "", [] { return 0.0; }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      registry.TryAddCallbackCounter("a-b", "", [] { return 0.0; }).code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry
                .TryAddCallbackGaugeFamily("x", "", {"a b"},
                                           [] { return LabelledValues(); })
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing was registered by the failures.
  EXPECT_EQ(registry.Render(), "");
  EXPECT_TRUE(registry.TryAddGauge("g", "").ok());
}

TEST(MetricNamesTest, HistogramBoundsAreChecked) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.TryAddHistogram("h", "", {1, 1}).status().message(),
            "histogram \"h\": upper bounds must be strictly increasing, got 1 "
            "after 1");
  EXPECT_EQ(registry.TryAddHistogram("h", "", {2, 0.5}).status().message(),
            "histogram \"h\": upper bounds must be strictly increasing, got "
            "0.5 after 2");
  EXPECT_EQ(registry
                .TryAddHistogram("h", "",
                                 {1, std::numeric_limits<double>::infinity()})
                .status()
                .message(),
            "histogram \"h\": upper bounds must be finite (the +Inf bucket is "
            "implicit), got +Inf");
  EXPECT_EQ(registry.TryAddHistogramFamily("h", "", {"k"}, {std::nan("")})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MetricNamesTest, DuplicatesAreRefused) {
  MetricsRegistry registry;
  registry.AddCounter("x", "");
  auto gauge = registry.TryAddGauge("x", "");
  EXPECT_EQ(gauge.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(gauge.status().message(), "metric \"x\": already registered");

  // A histogram's samples collide with metrics of their names, both ways.
  registry.AddHistogram("h", "", {1});
  EXPECT_EQ(registry.TryAddCounter("h_count", "").status().message(),
            "metric \"h_count\": sample name \"h_count\" is already used by "
            "metric \"h\"");
  registry.AddCounter("k_sum", "");
  EXPECT_EQ(registry.TryAddHistogram("k", "", {1}).status().message(),
            "metric \"k\": sample name \"k_sum\" is already used by metric "
            "\"k_sum\"");
  // The refused histogram claimed nothing.
  EXPECT_TRUE(registry.TryAddCounter("k", "").ok());
  EXPECT_TRUE(registry.TryAddCounter("k_bucket", "").ok());
}

TEST(MetricsRegistryDeathTest, ProgrammingErrorsAbortWithTheMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MetricsRegistry registry;
  EXPECT_DEATH(registry.AddCounter("bad name", ""),
               "metric \"bad name\": name must match");
  CounterFamily* family = registry.AddCounterFamily("f_total", "", {"a", "b"});
  EXPECT_DEATH(family->With({"only one"}),
               "metric \"f_total\": 1 label values for 2 label names \\(a, "
               "b\\)");
  registry.AddCallbackGaugeFamily("lag", "", {"partition"}, [] {
    return LabelledValues{{{"0", "extra"}, 1}};
  });
  EXPECT_DEATH(registry.Render(),
               "callback gauge \"lag\": 2 label values for 1 label names");
}

TEST(LatencyBucketsSecondsTest, LogSpacedFrom50MicrosecondsTo30Seconds) {
  const std::vector<double> bounds = LatencyBucketsSeconds();
  ASSERT_GE(bounds.size(), 10u);
  EXPECT_EQ(bounds.front(), 0.00005);
  EXPECT_EQ(bounds.back(), 30);
  for (size_t i = 1; i < bounds.size(); ++i) {
    const double ratio = bounds[i] / bounds[i - 1];
    EXPECT_GE(ratio, 2) << i;
    EXPECT_LE(ratio, 3) << i;
  }
  // Usable as histogram bounds.
  MetricsRegistry registry;
  EXPECT_TRUE(registry.TryAddHistogram("latency_seconds", "", bounds).ok());
}

}  // namespace
}  // namespace txscreen::serve
