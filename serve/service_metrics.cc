#include "serve/service_metrics.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace txscreen::serve {

namespace v1 = ::txscreen::v1;

ServiceMetrics::ServiceMetrics(Service* service) : service_(service) {
  MetricsRegistry& r = registry_;
  verdicts_ =
      r.AddCounterFamily("txscreen_decisions_total",
                         "Decisions produced, by verdict.", {"verdict"});
  hits_ = r.AddCounterFamily("txscreen_rule_hits_total",
                             "Rule hits, by rule id.", {"rule"});
  shadow_verdicts_ = r.AddCounterFamily(
      "txscreen_shadow_decisions_total",
      "Decisions of the shadow rule set (never acted upon), by verdict.",
      {"verdict"});
  shadow_hits_ = r.AddCounterFamily(
      "txscreen_shadow_rule_hits_total",
      "Rule hits of the shadow rule set, by rule id.", {"rule"});
  overrides_ = r.AddCounterFamily(
      "txscreen_overrides_total",
      "Overrides answered, by the teller's branch, teller, outcome and "
      "result (accepted, refused, duplicate).",
      {"branch", "teller", "outcome", "result"});
  answer_seconds_ = r.AddHistogramFamily(
      "txscreen_hold_answer_seconds",
      "From a hold's opening to its accepted override, by branch.", {"branch"},
      {5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600});
  engine_latency_ =
      r.AddHistogram("txscreen_engine_latency_seconds",
                     "From consuming a transaction to producing its decision.",
                     LatencyBucketsSeconds());
  decision_age_ = r.AddHistogram(
      "txscreen_decision_age_seconds",
      "From occurred_at (event time) to the decision: what the 10-second "
      "budget is about.",
      LatencyBucketsSeconds());
  commit_ack_wait_ = r.AddHistogram(
      "txscreen_commit_ack_wait_seconds",
      "Commit cycle, on the processing thread (screening waits): until every "
      "decision so far is acknowledged by the brokers.",
      LatencyBucketsSeconds());
  commit_hand_off_ = r.AddHistogram(
      "txscreen_commit_hand_off_seconds",
      "Commit cycle, on the processing thread (screening waits): building "
      "the state writes handed to the committer.",
      LatencyBucketsSeconds());
  commit_execute_ = r.AddHistogram(
      "txscreen_commit_execute_seconds",
      "Commit cycle, on the committer thread (screening goes on): the Kafka "
      "transaction (changelog, offsets) and the local store write.",
      LatencyBucketsSeconds());
  const ServeStats* s = &service->stats();
  auto counter = [&](const char* name, const char* help,
                     const std::atomic<int64_t>* value) {
    // Monotonic values kept by the service: exported at scrape time.
    r.AddCallbackCounter(
        name, help, [value] { return static_cast<double>(value->load()); });
  };
  counter("txscreen_consumed_total", "Messages consumed.", &s->consumed);
  counter("txscreen_alerts_total", "Decisions sent to the alerts topic.",
          &s->alerts);
  counter("txscreen_shadow_verdict_differs_total",
          "Transactions whose shadow verdict differs from the active one.",
          &s->shadow_differs);
  counter("txscreen_shadow_failures_total",
          "Shadow screenings or shadow state flushes that failed (the shadow "
          "state then restarts from its last flush).",
          &s->shadow_failures);
  counter("txscreen_reports_total",
          "Report records (large-value reports) sent to the reports topic.",
          &s->reports);
  counter("txscreen_retractions_total",
          "Retraction records sent to the reports topic: transactions "
          "reversed, or held and then not released.",
          &s->retractions);
  counter("txscreen_rejected_inputs_total",
          "Decisions with VERDICT_REJECTED_INPUT.", &s->rejected);
  counter("txscreen_duplicates_total",
          "Transactions answered as duplicates of an earlier id.",
          &s->duplicates);
  counter("txscreen_late_decisions_total", "Decisions after their deadline.",
          &s->late);
  counter("txscreen_dead_letters_total",
          "Undecodable messages sent to the dead-letter topic.",
          &s->dead_letters);
  counter("txscreen_fail_safe_total",
          "Decisions with the channel's fail-safe verdict (engine error).",
          &s->fail_safe);
  counter("txscreen_commits_total", "Kafka transactions committed.",
          &s->commits);
  counter("txscreen_state_swept_entities_total",
          "Idle entities (accounts, devices, payee accounts whose windows "
          "hold nothing the rules still need) erased from the state, counted "
          "when the commit is built (one aborted and decided again counts "
          "them again).",
          &s->swept_entities);
  counter("txscreen_state_sweep_failures_total",
          "Sweeps of idle entities that failed to read the store (the "
          "commit went on without them).",
          &s->sweep_failures);
  counter("txscreen_commit_aborts_total",
          "Commits aborted and rewound (the batch is decided again).",
          &s->aborts);
  counter("txscreen_txn_producer_recreations_total",
          "Transactional producers recreated after a fatal error (a broker "
          "restart, a transaction the coordinator timed out).",
          &s->txn_producer_recreations);
  counter("txscreen_producer_recreations_total",
          "Decisions producers recreated after a fatal error of their "
          "idempotence.",
          &s->producer_recreations);
  counter("txscreen_assign_retries_total",
          "Partition assignments tried again after the broker failed during "
          "the restore.",
          &s->assign_retries);
  counter("txscreen_delivery_errors_total",
          "Decisions or dead letters Kafka did not accept.",
          &s->delivery_errors);
  counter("txscreen_restored_records_total",
          "Changelog records restored into the local state.",
          &s->restored_records);
  counter("txscreen_rebalances_total", "Consumer group rebalances.",
          &s->rebalances);
  counter("txscreen_rule_reloads_total", "Successful rule reloads.",
          &s->reloads);
  counter("txscreen_rule_reload_failures_total",
          "Rule reloads refused (the old rules stayed active).",
          &s->reload_failures);
  r.AddCallbackGauge(
      "txscreen_assigned_partitions",
      "Input partitions assigned to this instance.", [service] {
        return static_cast<double>(service->assigned_partitions());
      });
  r.AddCallbackGauge("txscreen_throughput_per_second",
                     "Transactions decided per second (smoothed).",
                     [service] { return service->Throughput(); });
  r.AddCallbackGaugeFamily("txscreen_consumer_lag",
                           "Messages behind the end of the partition.",
                           {"partition"}, [service] {
                             LabelledValues out;
                             for (const PartitionLag& l : service->Lag()) {
                               out.push_back({{absl::StrCat(l.partition)},
                                              static_cast<double>(l.lag)});
                             }
                             return out;
                           });
  r.AddCallbackGauge(
      "txscreen_estimated_drain_seconds",
      "Consumer lag divided by the current throughput: how long a new "
      "transaction waits. Above the budget, decisions will be late.",
      [service] {
        int64_t lag = 0;
        for (const PartitionLag& l : service->Lag()) lag += l.lag;
        if (lag == 0) return 0.0;
        // Below 0.01/s the average has decayed to nothing: "never", as
        // 1e9 s, rather than 1e92.
        const double rate = service->Throughput();
        return rate >= 0.01 ? std::min(1e9, static_cast<double>(lag) / rate)
                            : 1e9;
      });
  counter("txscreen_holds_opened_total",
          "Holds opened (INTERCEPT and BLOCK decisions).", &s->holds_opened);
  counter("txscreen_holds_escalated_total",
          "Holds nobody answered before they expired.", &s->holds_escalated);
  r.AddCallbackGauge(
      "txscreen_holds_pending",
      "Holds waiting for a teller in this instance's partitions.",
      [s] { return static_cast<double>(s->holds_pending.load()); });
  r.AddCallbackGauge("txscreen_ready", "1 when ready to decide.", [service] {
    std::string why;
    return service->Ready(&why) ? 1.0 : 0.0;
  });
}

void ServiceMetrics::Decided(const v1::Decision& decision, int64_t engine_us,
                             int64_t age_us) {
  const int verdict = decision.verdict();
  if (verdict >= 0 && verdict < v1::Verdict_ARRAYSIZE) {
    Counter*& c = verdict_counters_[verdict];
    if (c == nullptr) c = verdicts_->With({v1::Verdict_Name(verdict)});
    c->Increment();
  }
  for (const v1::RuleHit& hit : decision.hits()) {
    Counter*& c = hit_counters_[hit.rule_id()];
    if (c == nullptr) c = hits_->With({hit.rule_id()});
    c->Increment();
  }
  engine_latency_->Observe(static_cast<double>(engine_us) / 1e6);
  decision_age_->Observe(static_cast<double>(std::max<int64_t>(0, age_us)) /
                         1e6);
}

void ServiceMetrics::ShadowDecided(const v1::Decision& shadow,
                                   const v1::Decision& active) {
  const int verdict = shadow.verdict();
  if (verdict >= 0 && verdict < v1::Verdict_ARRAYSIZE) {
    Counter*& c = shadow_verdict_counters_[verdict];
    if (c == nullptr) c = shadow_verdicts_->With({v1::Verdict_Name(verdict)});
    c->Increment();
  }
  for (const v1::RuleHit& hit : shadow.hits()) {
    Counter*& c = shadow_hit_counters_[hit.rule_id()];
    if (c == nullptr) c = shadow_hits_->With({hit.rule_id()});
    c->Increment();
  }
}

void ServiceMetrics::Answered(const v1::OverrideResult& result,
                              const v1::Disposition* disposition,
                              absl::string_view branch_id) {
  const std::string branch(branch_id);
  const char* verdict = result.duplicate()  ? "duplicate"
                        : result.accepted() ? "accepted"
                                            : "refused";
  std::string outcome = "NONE";
  if (disposition != nullptr) {
    outcome = v1::Outcome_Name(disposition->outcome());
    answer_seconds_->With({branch})->Observe(
        static_cast<double>(disposition->answered_after_ms()) / 1000.0);
  }
  overrides_->With({branch, result.teller_id(), outcome, verdict})->Increment();
}

void ServiceMetrics::CommitStarted(int64_t ack_wait_us, int64_t hand_off_us) {
  commit_ack_wait_->Observe(static_cast<double>(ack_wait_us) / 1e6);
  commit_hand_off_->Observe(static_cast<double>(hand_off_us) / 1e6);
}

void ServiceMetrics::CommitExecuted(int64_t commit_us) {
  commit_execute_->Observe(static_cast<double>(commit_us) / 1e6);
}

}  // namespace txscreen::serve
