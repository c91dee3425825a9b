// File: metrics.cc
#include "serve/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "absl/memory/memory.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace txscreen::serve {
namespace metrics_internal {

// One registered family: knows its TYPE and writes its samples.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual absl::string_view type() const = 0;
  virtual void Render(absl::string_view name, std::string* out) const = 0;
};

}  // namespace metrics_internal

namespace {

using metrics_internal::Collector;

// Wiring code registers constant names: an error there, or a label count
// that does not match, is a bug to fix, not a condition to handle.
[[noreturn]] void Die(absl::string_view message) {
  std::fprintf(stderr, "txscreen: metrics: %.*s\n",
               static_cast<int>(message.size()), message.data());
  std::abort();
}

template <typename T>
T ValueOrDie(absl::StatusOr<T> result) {
  if (!result.ok()) Die(result.status().message());
  return *result;
}

void OkOrDie(const absl::Status& status) {
  if (!status.ok()) Die(status.message());
}

bool IsNameChar(char c, bool allow_colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (c >= '0' && c <= '9') || (allow_colon && c == ':');
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return IsNameChar(c, allow_colon); });
}

// Label values escape backslash, double quote and newline; HELP text only
// backslash and newline.
void AppendEscaped(absl::string_view text, bool quote, std::string* out) {
  for (char c : text) {
    if (c == '\\') {
      out->append("\\\\");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (quote && c == '"') {
      out->append("\\\"");
    } else {
      out->push_back(c);
    }
  }
}

// One sample line: name{labels,extra="..."} value
void AppendSample(absl::string_view name, absl::string_view suffix,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values,
                  absl::string_view extra_label, absl::string_view extra_value,
                  absl::string_view value, std::string* out) {
  absl::StrAppend(out, name, suffix);
  if (!label_names.empty() || !extra_label.empty()) {
    out->push_back('{');
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out->push_back(',');
      absl::StrAppend(out, label_names[i], "=\"");
      AppendEscaped(label_values[i], /*quote=*/true, out);
      out->push_back('"');
    }
    if (!extra_label.empty()) {
      if (!label_names.empty()) out->push_back(',');
      absl::StrAppend(out, extra_label, "=\"", extra_value, "\"");
    }
    out->push_back('}');
  }
  absl::StrAppend(out, " ", value, "\n");
}

void AppendHistogram(absl::string_view name,
                     const std::vector<std::string>& label_names,
                     const std::vector<std::string>& label_values,
                     const Histogram& histogram, std::string* out) {
  const Histogram::Snapshot snapshot = histogram.Read();
  const std::vector<double>& bounds = histogram.upper_bounds();
  for (size_t i = 0; i < snapshot.cumulative.size(); ++i) {
    const std::string le =
        i < bounds.size() ? FormatMetricValue(bounds[i]) : "+Inf";
    AppendSample(name, "_bucket", label_names, label_values, "le", le,
                 absl::StrCat(snapshot.cumulative[i]), out);
  }
  AppendSample(name, "_sum", label_names, label_values, "", "",
               FormatMetricValue(snapshot.sum), out);
  AppendSample(name, "_count", label_names, label_values, "", "",
               absl::StrCat(snapshot.count), out);
}

const std::vector<std::string>& NoLabels() {
  static const auto* const kNone = new std::vector<std::string>();
  return *kNone;
}

template <typename Metric>
constexpr absl::string_view TypeOf() {
  if constexpr (std::is_same_v<Metric, Counter>) return "counter";
  if constexpr (std::is_same_v<Metric, Gauge>) return "gauge";
  if constexpr (std::is_same_v<Metric, Histogram>) return "histogram";
}

// A family, or a single metric: a family without labels and one child.
template <typename Metric>
class FamilyCollector : public Collector {
 public:
  explicit FamilyCollector(std::unique_ptr<MetricFamily<Metric>> family)
      : family_(std::move(family)) {}
  absl::string_view type() const override { return TypeOf<Metric>(); }
  void Render(absl::string_view name, std::string* out) const override {
    const std::vector<std::string>& labels = family_->label_names();
    for (const auto& [values, metric] : family_->Children()) {
      if constexpr (std::is_same_v<Metric, Counter>) {
        AppendSample(name, "", labels, values, "", "",
                     absl::StrCat(metric->value()), out);
      } else if constexpr (std::is_same_v<Metric, Gauge>) {
        AppendSample(name, "", labels, values, "", "",
                     FormatMetricValue(metric->value()), out);
      } else {
        AppendHistogram(name, labels, values, *metric, out);
      }
    }
  }
  MetricFamily<Metric>* family() const { return family_.get(); }

 private:
  const std::unique_ptr<MetricFamily<Metric>> family_;
};

// A callback gauge or counter.
class CallbackCollector : public Collector {
 public:
  CallbackCollector(absl::string_view type, std::function<double()> value)
      : type_(type), value_(std::move(value)) {}
  absl::string_view type() const override { return type_; }
  void Render(absl::string_view name, std::string* out) const override {
    AppendSample(name, "", NoLabels(), NoLabels(), "", "",
                 FormatMetricValue(value_()), out);
  }

 private:
  const absl::string_view type_;  // a literal
  const std::function<double()> value_;
};

class CallbackFamilyCollector : public Collector {
 public:
  CallbackFamilyCollector(std::vector<std::string> label_names,
                          std::function<LabelledValues()> samples)
      : label_names_(std::move(label_names)), samples_(std::move(samples)) {}
  absl::string_view type() const override { return "gauge"; }
  void Render(absl::string_view name, std::string* out) const override {
    LabelledValues samples = samples_();
    std::sort(samples.begin(), samples.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [values, value] : samples) {
      if (values.size() != label_names_.size()) {
        Die(absl::StrCat("callback gauge \"", name, "\": ", values.size(),
                         " label values for ", label_names_.size(),
                         " label names (", absl::StrJoin(label_names_, ", "),
                         ")"));
      }
      AppendSample(name, "", label_names_, values, "", "",
                   FormatMetricValue(value), out);
    }
  }

 private:
  const std::vector<std::string> label_names_;
  const std::function<LabelledValues()> samples_;
};

absl::Status CheckBounds(absl::string_view name,
                         const std::vector<double>& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram \"", name,
                       "\": upper bounds must be finite (the +Inf bucket is "
                       "implicit), got ",
                       FormatMetricValue(bounds[i])));
    }
    if (i > 0 && !(bounds[i] > bounds[i - 1])) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram \"", name,
                       "\": upper bounds must be strictly increasing, got ",
                       FormatMetricValue(bounds[i]), " after ",
                       FormatMetricValue(bounds[i - 1])));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckHistogramLabels(absl::string_view name,
                                  const std::vector<std::string>& labels) {
  if (std::find(labels.begin(), labels.end(), "le") != labels.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram \"", name,
                     "\": label name \"le\" is reserved for the buckets"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidMetricName(absl::string_view name) {
  return IsValidName(name, /*allow_colon=*/true);
}

bool IsValidLabelName(absl::string_view name) {
  return IsValidName(name, /*allow_colon=*/false);
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integral values below 2^53 are exact as int64 and read best without an
  // exponent (a count of 100000 as "100000", not "1e+05").
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // Shortest text that reads back to the same double, %g-style (exponent
  // from 1e-5 and from 1e6 on): what Prometheus' Go client writes.
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value,
                                    std::chars_format::general);
  return std::string(buffer, result.ptr);
}

std::vector<double> LatencyBucketsSeconds() {
  return {0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
          0.05,    0.1,    0.2,    0.5,    1,     2,     5,     10,   30};
}

// --- Histogram ---

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i] = 0;
}

void Histogram::Observe(double value) {
  // Upper bounds are inclusive: the first bound >= value. (lower_bound
  // would put NaN, which compares false with everything, first.)
  const size_t bucket = std::isnan(value)
                            ? upper_bounds_.size()
                            : std::lower_bound(upper_bounds_.begin(),
                                               upper_bounds_.end(), value) -
                                  upper_bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative.resize(upper_bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = total;
  }
  snapshot.count = total;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

// --- MetricFamily ---

template <typename Metric>
MetricFamily<Metric>::MetricFamily(
    std::string name, std::vector<std::string> label_names,
    std::function<std::unique_ptr<Metric>()> make)
    : name_(std::move(name)),
      label_names_(std::move(label_names)),
      make_(std::move(make)) {}

template <typename Metric>
Metric* MetricFamily<Metric>::With(std::vector<std::string> label_values) {
  if (label_values.size() != label_names_.size()) {
    Die(absl::StrCat("metric \"", name_, "\": ", label_values.size(),
                     " label values for ", label_names_.size(),
                     " label names (", absl::StrJoin(label_names_, ", "), ")"));
  }
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = children_.find(label_values);
    if (it != children_.end()) return it->second.get();
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Metric>& child = children_[std::move(label_values)];
  if (child == nullptr) child = make_();
  return child.get();
}

template <typename Metric>
std::vector<std::pair<std::vector<std::string>, const Metric*>>
MetricFamily<Metric>::Children() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::pair<std::vector<std::string>, const Metric*>> children;
  children.reserve(children_.size());
  for (const auto& [values, metric] : children_) {
    children.emplace_back(values, metric.get());
  }
  return children;
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

// --- MetricsRegistry ---

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

absl::Status MetricsRegistry::Register(
    absl::string_view name, absl::string_view help,
    const std::vector<std::string>& label_names,
    const std::vector<std::string>& also_claimed,
    std::unique_ptr<Collector> collector) {
  if (!IsValidMetricName(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metric \"", name, "\": name must match [a-zA-Z_:][a-zA-Z0-9_:]*"));
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsValidLabelName(label)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric \"", name, "\": label name \"", label,
                       "\" must match [a-zA-Z_][a-zA-Z0-9_]*"));
    }
    if (absl::StartsWith(label, "__")) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric \"", name, "\": label name \"", label,
                       "\" is reserved (starts with \"__\")"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (label_names[j] == label) {
        return absl::InvalidArgumentError(absl::StrCat(
            "metric \"", name, "\": label name \"", label, "\" given twice"));
      }
    }
  }

  std::vector<std::string> claims = also_claimed;
  claims.emplace_back(name);
  absl::MutexLock lock(&mu_);
  for (const std::string& claim : claims) {
    auto it = claimed_.find(claim);
    if (it == claimed_.end()) continue;
    if (claim == name && it->second == name) {
      return absl::AlreadyExistsError(
          absl::StrCat("metric \"", name, "\": already registered"));
    }
    return absl::AlreadyExistsError(
        absl::StrCat("metric \"", name, "\": sample name \"", claim,
                     "\" is already used by metric \"", it->second, "\""));
  }
  for (const std::string& claim : claims) {
    claimed_.emplace(claim, std::string(name));
  }
  entries_.emplace(std::string(name),
                   Entry{std::string(help), std::move(collector)});
  return absl::OkStatus();
}

template <typename Metric>
absl::StatusOr<MetricFamily<Metric>*> MetricsRegistry::TryAddFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names, std::vector<double> upper_bounds) {
  std::vector<std::string> also_claimed;
  std::function<std::unique_ptr<Metric>()> make;
  if constexpr (std::is_same_v<Metric, Histogram>) {
    if (absl::Status status = CheckBounds(name, upper_bounds); !status.ok()) {
      return status;
    }
    if (absl::Status status = CheckHistogramLabels(name, label_names);
        !status.ok()) {
      return status;
    }
    also_claimed = {absl::StrCat(name, "_bucket"), absl::StrCat(name, "_sum"),
                    absl::StrCat(name, "_count")};
    make = [bounds = std::move(upper_bounds)] {
      return std::make_unique<Histogram>(bounds);
    };
  } else {
    make = [] { return std::make_unique<Metric>(); };
  }
  auto collector = std::make_unique<FamilyCollector<Metric>>(absl::WrapUnique(
      new MetricFamily<Metric>(std::string(name), label_names, make)));
  MetricFamily<Metric>* family = collector->family();
  absl::Status status =
      Register(name, help, label_names, also_claimed, std::move(collector));
  if (!status.ok()) return status;
  return family;
}

absl::StatusOr<Counter*> MetricsRegistry::TryAddCounter(
    absl::string_view name, absl::string_view help) {
  absl::StatusOr<CounterFamily*> family =
      TryAddFamily<Counter>(name, help, {}, {});
  if (!family.ok()) return family.status();
  return (*family)->With({});
}

absl::StatusOr<CounterFamily*> MetricsRegistry::TryAddCounterFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names) {
  return TryAddFamily<Counter>(name, help, std::move(label_names), {});
}

absl::StatusOr<Gauge*> MetricsRegistry::TryAddGauge(absl::string_view name,
                                                    absl::string_view help) {
  absl::StatusOr<GaugeFamily*> family = TryAddFamily<Gauge>(name, help, {}, {});
  if (!family.ok()) return family.status();
  return (*family)->With({});
}

absl::StatusOr<GaugeFamily*> MetricsRegistry::TryAddGaugeFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names) {
  return TryAddFamily<Gauge>(name, help, std::move(label_names), {});
}

absl::StatusOr<Histogram*> MetricsRegistry::TryAddHistogram(
    absl::string_view name, absl::string_view help,
    std::vector<double> upper_bounds) {
  absl::StatusOr<HistogramFamily*> family =
      TryAddFamily<Histogram>(name, help, {}, std::move(upper_bounds));
  if (!family.ok()) return family.status();
  return (*family)->With({});
}

absl::StatusOr<HistogramFamily*> MetricsRegistry::TryAddHistogramFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names, std::vector<double> upper_bounds) {
  return TryAddFamily<Histogram>(name, help, std::move(label_names),
                                 std::move(upper_bounds));
}

absl::Status MetricsRegistry::TryAddCallbackGauge(
    absl::string_view name, absl::string_view help,
    std::function<double()> value) {
  return Register(
      name, help, {}, {},
      std::make_unique<CallbackCollector>("gauge", std::move(value)));
}

absl::Status MetricsRegistry::TryAddCallbackCounter(
    absl::string_view name, absl::string_view help,
    std::function<double()> value) {
  return Register(
      name, help, {}, {},
      std::make_unique<CallbackCollector>("counter", std::move(value)));
}

absl::Status MetricsRegistry::TryAddCallbackGaugeFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names,
    std::function<LabelledValues()> samples) {
  std::vector<std::string> names = label_names;
  return Register(name, help, names, {},
                  std::make_unique<CallbackFamilyCollector>(
                      std::move(label_names), std::move(samples)));
}

Counter* MetricsRegistry::AddCounter(absl::string_view name,
                                     absl::string_view help) {
  return ValueOrDie(TryAddCounter(name, help));
}

CounterFamily* MetricsRegistry::AddCounterFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names) {
  return ValueOrDie(TryAddCounterFamily(name, help, std::move(label_names)));
}

Gauge* MetricsRegistry::AddGauge(absl::string_view name,
                                 absl::string_view help) {
  return ValueOrDie(TryAddGauge(name, help));
}

GaugeFamily* MetricsRegistry::AddGaugeFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names) {
  return ValueOrDie(TryAddGaugeFamily(name, help, std::move(label_names)));
}

Histogram* MetricsRegistry::AddHistogram(absl::string_view name,
                                         absl::string_view help,
                                         std::vector<double> upper_bounds) {
  return ValueOrDie(TryAddHistogram(name, help, std::move(upper_bounds)));
}

HistogramFamily* MetricsRegistry::AddHistogramFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names, std::vector<double> upper_bounds) {
  return ValueOrDie(TryAddHistogramFamily(name, help, std::move(label_names),
                                          std::move(upper_bounds)));
}

void MetricsRegistry::AddCallbackGauge(absl::string_view name,
                                       absl::string_view help,
                                       std::function<double()> value) {
  OkOrDie(TryAddCallbackGauge(name, help, std::move(value)));
}

void MetricsRegistry::AddCallbackCounter(absl::string_view name,
                                         absl::string_view help,
                                         std::function<double()> value) {
  OkOrDie(TryAddCallbackCounter(name, help, std::move(value)));
}

void MetricsRegistry::AddCallbackGaugeFamily(
    absl::string_view name, absl::string_view help,
    std::vector<std::string> label_names,
    std::function<LabelledValues()> samples) {
  OkOrDie(TryAddCallbackGaugeFamily(name, help, std::move(label_names),
                                    std::move(samples)));
}

std::string MetricsRegistry::Render() const {
  // Collectors are never removed, so their pointers outlive the lock:
  // callbacks run unlocked and may take their own locks (or register).
  struct Item {
    absl::string_view name;
    absl::string_view help;
    const Collector* collector;
  };
  std::vector<Item> items;
  {
    absl::ReaderMutexLock lock(&mu_);
    items.reserve(entries_.size());
    for (const auto& [name, entry] : entries_) {
      items.push_back({name, entry.help, entry.collector.get()});
    }
  }
  std::string out;
  for (const Item& item : items) {
    absl::StrAppend(&out, "# HELP ", item.name, " ");
    AppendEscaped(item.help, /*quote=*/false, &out);
    absl::StrAppend(&out, "\n# TYPE ", item.name, " ", item.collector->type(),
                    "\n");
    item.collector->Render(item.name, &out);
  }
  return out;
}

}  // namespace txscreen::serve
