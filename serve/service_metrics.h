// File: service_metrics.h
//
// The service's Prometheus metrics (GET /metrics): throughput and verdicts,
// decision latency, consumer lag and the estimated time to drain it, late
// decisions, hits per rule, dead letters, rejected inputs, commits, restores,
// rule reloads, state size.
//
// Thread safety: Decided() on the processing thread; CommitExecuted() on
// the committer thread; Render() from any.
#ifndef TXSCREEN_SERVE_SERVICE_METRICS_H_
#define TXSCREEN_SERVE_SERVICE_METRICS_H_

#include <array>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "serve/metrics.h"
#include "serve/service.h"

namespace txscreen::serve {

class ServiceMetrics : public DecisionObserver {
 public:
  // `service` must outlive this object.
  explicit ServiceMetrics(Service* service);

  void Decided(const txscreen::v1::Decision& decision, int64_t engine_us,
               int64_t age_us) override;
  void ShadowDecided(const txscreen::v1::Decision& shadow,
                     const txscreen::v1::Decision& active) override;
  void Answered(const txscreen::v1::OverrideResult& result,
                const txscreen::v1::Disposition* disposition,
                absl::string_view branch_id) override;
  void CommitStarted(int64_t ack_wait_us, int64_t hand_off_us) override;
  void CommitExecuted(int64_t commit_us) override;
  std::string Render() const { return registry_.Render(); }

 private:
  Service* service_;
  MetricsRegistry registry_;
  CounterFamily* verdicts_;
  CounterFamily* hits_;
  // The families' children, looked up once (processing thread only).
  std::array<Counter*, txscreen::v1::Verdict_ARRAYSIZE> verdict_counters_{};
  absl::flat_hash_map<std::string, Counter*> hit_counters_;
  CounterFamily* shadow_verdicts_;
  CounterFamily* shadow_hits_;
  std::array<Counter*, txscreen::v1::Verdict_ARRAYSIZE>
      shadow_verdict_counters_{};
  absl::flat_hash_map<std::string, Counter*> shadow_hit_counters_;
  CounterFamily* overrides_;
  HistogramFamily* answer_seconds_;
  Histogram* engine_latency_;
  Histogram* decision_age_;
  Histogram* commit_ack_wait_;
  Histogram* commit_hand_off_;
  Histogram* commit_execute_;
};

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_SERVICE_METRICS_H_
