// File: metrics.h
//
// A small Prometheus metrics registry of our own: counters, gauges and
// histograms, alone or as families with labels, plus gauges and counters
// whose values a callback computes at scrape time (consumer lag, counts kept
// by the pipeline). Render() writes
// them in the text exposition format, version 0.0.4 — what /metrics serves
// (admin_server.h), with the content type kPrometheusContentType.
//
// The hot path is lock-free: Counter::Increment, Gauge::Set/Add and
// Histogram::Observe are a few relaxed atomic operations. A family's With()
// takes a lock to find its child; on a hot path, look the child up once and
// keep the pointer.
//
// Registration. Names follow Prometheus' rules: metric names match
// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do not
// start with "__" (reserved); a histogram may not have a label "le". A
// histogram named x also claims x_bucket, x_sum and x_count, so a metric of
// one of those names is a duplicate. Histogram bounds must be finite and
// strictly increasing (the +Inf bucket is always added). The Try* methods
// return these errors as InvalidArgument / AlreadyExists; the other Add*
// methods treat them as a programming error (metric names are constants of
// the wiring code) and abort with the message.
//
// Ownership: the registry owns every metric and family; the pointers it
// returns stay valid for the registry's lifetime. Nothing is ever
// unregistered.
//
// Thread safety: every method of every class here may be called from any
// thread. Render() calls the callbacks of callback metrics on the calling
// thread, without holding the registry's lock (a callback may register
// metrics, but should be quick: it runs on every scrape).
#ifndef TXSCREEN_SERVE_METRICS_H_
#define TXSCREEN_SERVE_METRICS_H_

#include <atomic>
#include <cassert>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace txscreen::serve {

namespace metrics_internal {
class Collector;  // one registered family; defined in metrics.cc
}  // namespace metrics_internal

// The Content-Type of Render()'s output.
inline constexpr absl::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// A monotonic count.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // `n` must be >= 0: a counter never goes down.
  void Increment(int64_t n = 1) {
    assert(n >= 0);
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in buckets by upper bound (inclusive), with their
// sum. Exposed as cumulative buckets x_bucket{le="..."} (the last one
// le="+Inf"), x_sum and x_count.
class Histogram {
 public:
  // `upper_bounds`: finite and strictly increasing (checked by the
  // registry, which is the only one constructing histograms).
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // A NaN observation lands in the +Inf bucket and makes the sum NaN, as in
  // Prometheus' own clients.
  void Observe(double value);

  struct Snapshot {
    // Cumulative counts, one per upper bound and a last one for +Inf.
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  // Taken while other threads may observe: each number is exact at some
  // moment, and count always equals the +Inf bucket, but the sum may
  // include an observation the buckets do not have yet (or the reverse).
  Snapshot Read() const;

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  const std::vector<double> upper_bounds_;
  // Not cumulative; one more than upper_bounds_ (the +Inf bucket).
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// Metrics of one name distinguished by label values, e.g.
// txscreen_rule_hits_total{rule="R12"}. Created by the registry.
template <typename Metric>
class MetricFamily {
 public:
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  // The metric for `label_values` (one per label name, in the order of the
  // names), created at the first call; later calls with the same values
  // return the same pointer. A wrong number of values aborts.
  Metric* With(std::vector<std::string> label_values);

  const std::vector<std::string>& label_names() const { return label_names_; }

  // Every child, sorted by label values. The pointers are stable.
  std::vector<std::pair<std::vector<std::string>, const Metric*>> Children()
      const;

 private:
  friend class MetricsRegistry;
  MetricFamily(std::string name, std::vector<std::string> label_names,
               std::function<std::unique_ptr<Metric>()> make);

  const std::string name_;  // for error messages
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<Metric>()> make_;
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_
      ABSL_GUARDED_BY(mu_);
};

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

extern template class MetricFamily<Counter>;
extern template class MetricFamily<Gauge>;
extern template class MetricFamily<Histogram>;

// Samples of a labelled callback gauge: label values (one per label name)
// and the value.
using LabelledValues = std::vector<std::pair<std::vector<std::string>, double>>;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registration: see the file comment for the rules on names. `help` is
  // any text (escaped on output).
  absl::StatusOr<Counter*> TryAddCounter(absl::string_view name,
                                         absl::string_view help);
  absl::StatusOr<CounterFamily*> TryAddCounterFamily(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names);
  absl::StatusOr<Gauge*> TryAddGauge(absl::string_view name,
                                     absl::string_view help);
  absl::StatusOr<GaugeFamily*> TryAddGaugeFamily(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names);
  absl::StatusOr<Histogram*> TryAddHistogram(absl::string_view name,
                                             absl::string_view help,
                                             std::vector<double> upper_bounds);
  absl::StatusOr<HistogramFamily*> TryAddHistogramFamily(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names, std::vector<double> upper_bounds);
  // A gauge whose value is `value()` at scrape time.
  absl::Status TryAddCallbackGauge(absl::string_view name,
                                   absl::string_view help,
                                   std::function<double()> value);
  // A counter whose value is `value()` at scrape time: for a monotonic
  // count kept elsewhere (an std::atomic of the pipeline), so that it is
  // typed "counter" as its _total name says.
  absl::Status TryAddCallbackCounter(absl::string_view name,
                                     absl::string_view help,
                                     std::function<double()> value);
  // A labelled gauge whose samples are `samples()` at scrape time, output
  // sorted by label values. A sample with the wrong number of label values
  // aborts the scrape (a programming error, like With()).
  absl::Status TryAddCallbackGaugeFamily(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names,
      std::function<LabelledValues()> samples);

  // As the Try* methods; an error aborts with its message.
  Counter* AddCounter(absl::string_view name, absl::string_view help);
  CounterFamily* AddCounterFamily(absl::string_view name,
                                  absl::string_view help,
                                  std::vector<std::string> label_names);
  Gauge* AddGauge(absl::string_view name, absl::string_view help);
  GaugeFamily* AddGaugeFamily(absl::string_view name, absl::string_view help,
                              std::vector<std::string> label_names);
  Histogram* AddHistogram(absl::string_view name, absl::string_view help,
                          std::vector<double> upper_bounds);
  HistogramFamily* AddHistogramFamily(absl::string_view name,
                                      absl::string_view help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> upper_bounds);
  void AddCallbackGauge(absl::string_view name, absl::string_view help,
                        std::function<double()> value);
  void AddCallbackCounter(absl::string_view name, absl::string_view help,
                          std::function<double()> value);
  void AddCallbackGaugeFamily(absl::string_view name, absl::string_view help,
                              std::vector<std::string> label_names,
                              std::function<LabelledValues()> samples);

  // Every metric in the text exposition format 0.0.4: families sorted by
  // name, each with its # HELP and # TYPE lines. A labelled family with no
  // child yet has only those two lines.
  std::string Render() const;

 private:
  using Collector = metrics_internal::Collector;
  struct Entry {
    std::string help;
    std::unique_ptr<Collector> collector;
  };

  // A family of counters, gauges or histograms (`upper_bounds` for
  // histograms only). A single metric is a family without labels and one
  // child.
  template <typename Metric>
  absl::StatusOr<MetricFamily<Metric>*> TryAddFamily(
      absl::string_view name, absl::string_view help,
      std::vector<std::string> label_names, std::vector<double> upper_bounds);
  // Checks `name` and `label_names` (the rules common to all kinds), then
  // adds the collector under `name`, claiming `name` and `also_claimed`.
  absl::Status Register(absl::string_view name, absl::string_view help,
                        const std::vector<std::string>& label_names,
                        const std::vector<std::string>& also_claimed,
                        std::unique_ptr<Collector> collector);

  mutable absl::Mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_ ABSL_GUARDED_BY(mu_);
  // Every sample name in use: metric names and histogram suffixes.
  std::map<std::string, std::string, std::less<>> claimed_
      ABSL_GUARDED_BY(mu_);  // sample name -> family name
};

// Whether `name` is a valid metric name / label name (see the file comment).
bool IsValidMetricName(absl::string_view name);
bool IsValidLabelName(absl::string_view name);

// A number as the exposition format writes it: integers (up to 2^53)
// without exponent or fraction ("12345", "100000"), other values in the
// shortest %g-style form that reads back exactly ("0.25", "2.5e-05",
// "1.234567895e+08", as Prometheus' Go client writes them), and "+Inf",
// "-Inf", "NaN".
std::string FormatMetricValue(double value);

// Histogram bounds for decision latency, in seconds: 50 µs to 30 s in a
// 1-2-5 series (50 µs, 100 µs, 200 µs, 500 µs, 1 ms, ..., 10 s, 30 s).
std::vector<double> LatencyBucketsSeconds();

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_METRICS_H_
