// File: service.h
//
// `txscreen serve`: the engine core on Kafka.
//
// One processing thread consumes the transactions topic as a member of a
// consumer group and runs one Screener per assigned partition (key =
// customer id, so a customer's state is local to one partition). Every
// decision is produced at once (idempotent producer, key = customer id) to
// the decisions topic and, when it needs attention, to the alerts topic;
// undecodable bytes go to the dead-letter topic. Every commit interval:
//
//   1. wait until every decision and dead letter produced so far is
//      acknowledged;
//   2. in one Kafka transaction: the state changes since the last commit
//      (changelog topics, see changelog.h) and the consumer offsets;
//   3. then the same writes to the local RocksDB, with the changelog
//      checkpoint.
//
// Step 1 and the encoding of the state changes run on the processing
// thread; steps 2 and 3 on a committer thread while screening goes on
// (the hand-off keeps the changes in flight findable, see
// PartitionState::HandOff). One commit is in flight at a time; the next
// waits for it, and after `commit_max_transactions` screening does too.
//
// So an offset is committed only once its decision is delivered and its
// state change is safe in Kafka; a crash at any point replays from the last
// committed offset over the state of that same commit, which yields the
// same decisions (consumers may see a decision twice, never miss one), and
// each transaction changes state exactly once. When a transaction cannot be
// committed it is aborted, the partitions' in-memory state is dropped and
// consumption rewinds to the last commit.
//
// A partition assigned to this instance is restored from the changelog
// (from the local checkpoint to the end) before anything on it is decided.
//
// Thread safety: Run() on one thread; Stop(), RequestReload(), Ready() and
// the admin endpoints from any thread.
#ifndef TXSCREEN_SERVE_SERVICE_H_
#define TXSCREEN_SERVE_SERVICE_H_

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/holds.h"
#include "engine/roster.h"
#include "engine/screener.h"
#include "engine/state_store.h"
#include "engine/transaction_codec.h"
#include "rules/rule_set.h"
#include "serve/changelog.h"
#include "serve/kafka_util.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/override.pb.h"
#include "txscreen/v1/report.pb.h"

namespace txscreen::serve {

enum class WireFormat { kProto, kJson };

struct ServeTopics {
  std::string transactions = "txscreen.transactions";
  std::string decisions = "txscreen.decisions";
  std::string alerts = "txscreen.alerts";
  // A ReportRecord (report.proto) for every decision that names a report
  // kind (large-value reports); key = customer id.
  std::string reports = "txscreen.reports";
  // Decisions of the shadow rule set (ServeOptions::shadow_rules); key =
  // customer id. Never acted upon.
  std::string shadow_decisions = "txscreen.shadow-decisions";
  std::string dead_letter = "txscreen.dead-letter";
  // The override loop (engine/holds.h). Overrides are keyed by customer id
  // and partitioned like the transactions (the same partition count is
  // required), so an override reaches the instance that holds its hold.
  std::string overrides = "txscreen.overrides";
  std::string override_results = "txscreen.override-results";
  std::string dispositions = "txscreen.dispositions";
  // Every hold as it opens and resolves (compacted; key = transaction id):
  // what the teller consoles of every instance show.
  std::string holds = "txscreen.holds";
  ChangelogTopics changelog;
};

struct ServeOptions {
  // Bootstrap servers; empty = an embedded cluster (EmbeddedKafka).
  std::string brokers;
  std::string group = "txscreen";
  // Stable per instance (with the group: the transactional id, which fences
  // an earlier incarnation after a crash). Default: derived from the state
  // directory's absolute path.
  std::string instance_id;
  std::vector<std::string> rules;  // rule pack directories or files
  // A candidate rule set evaluated beside the active one on its own state
  // (shadow_state_dir, default state_dir + "-shadow"): its decisions go to
  // topics.shadow_decisions and its hits to the metrics, nothing else.
  // Empty: no shadow. Promotion is a reload with the candidate as `rules`.
  std::vector<std::string> shadow_rules;
  std::string shadow_state_dir;
  std::string state_dir = "txscreen-data";
  WireFormat input_format = WireFormat::kProto;
  WireFormat output_format = WireFormat::kProto;
  ServeTopics topics;
  // Partitions of the topics created when missing (and of the embedded
  // cluster's topics).
  int partitions = 6;
  // Memory of the local state: RocksDB's budget (block cache and
  // memtables), and the entities (customers, accounts, ... and, apart,
  // customer histories) kept in memory, in total over `partitions`
  // partitions; beyond that, clean ones are evicted after a commit and
  // read back from RocksDB on their next transaction.
  engine::StateStoreOptions store;
  int64_t state_cache_entities = 2000000;
  // Stored entities each partition's sweep looks at per commit, for
  // accounts, devices and payee accounts whose windows hold nothing the
  // rules still need (PartitionState::SweepIdle); 0: no sweep.
  int64_t state_sweep_keys = 256;
  bool create_topics = true;
  // Passed to librdkafka for every client (SASL/TLS included).
  KafkaSettings kafka;
  // Commit (changelog + offsets) at least this often, and after this many
  // transactions.
  int commit_interval_ms = 100;
  int commit_max_transactions = 20000;
  // How long a blocking Kafka call (a transaction's commit or abort, a
  // flush, a seek) may take before it fails (tests shorten it).
  int kafka_timeout_ms = 30000;
  // Budgets (deadline = occurred_at + budget).
  engine::ScreenerOptions screener;
  // Verdict when the engine cannot complete a transaction's screening
  // (state store failure), per channel number.
  std::array<txscreen::v1::Verdict, rules::kChannelCount> fail_safe{};
  // Changelog restore of one partition must finish within this.
  int restore_timeout_ms = 10 * 60 * 1000;
  // Staff roster CSV (engine/roster.h); empty = no staff, every override
  // is refused.
  std::string roster_path;
  engine::HoldOptions holds;
  // Wall clock of the engine (decisions, hold expiry); null = the system's.
  // Tests inject one. Must outlive the service.
  engine::Clock* clock = nullptr;
};

// Defaults of ServeOptions::fail_safe: counter and VTM -> INTERCEPT (a
// person checks), phone/online/mobile -> DELAY, ATM/POS -> REVIEW.
std::array<txscreen::v1::Verdict, rules::kChannelCount> DefaultFailSafe();

// Counters exported as metrics; monotonic.
struct ServeStats {
  std::atomic<int64_t> consumed{0};
  std::atomic<int64_t> decided{0};
  std::atomic<int64_t> alerts{0};
  std::atomic<int64_t> reports{0};  // report records published
  // Retraction records published (reversals, holds that did not happen).
  std::atomic<int64_t> retractions{0};
  // Shadow rule set: decisions, ones whose verdict differs from the active
  // decision's, and failures (screening or its state; never fatal).
  std::atomic<int64_t> shadow_decided{0};
  std::atomic<int64_t> shadow_differs{0};
  std::atomic<int64_t> shadow_failures{0};
  std::atomic<int64_t> rejected{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> late{0};
  std::atomic<int64_t> dead_letters{0};
  std::atomic<int64_t> fail_safe{0};
  std::atomic<int64_t> commits{0};
  std::atomic<int64_t> aborts{0};
  // Transactional producers recreated after a fatal error (a broker
  // restart, a transaction the coordinator timed out).
  std::atomic<int64_t> txn_producer_recreations{0};
  // The same for the decisions producer.
  std::atomic<int64_t> producer_recreations{0};
  // Assignments tried again after a broker failure during the restore.
  std::atomic<int64_t> assign_retries{0};
  std::atomic<int64_t> delivery_errors{0};
  std::atomic<int64_t> restored_records{0};
  std::atomic<int64_t> rebalances{0};
  std::atomic<int64_t> reloads{0};
  std::atomic<int64_t> reload_failures{0};
  std::atomic<int64_t> holds_opened{0};
  std::atomic<int64_t> holds_escalated{0};
  std::atomic<int64_t> overrides_accepted{0};
  std::atomic<int64_t> overrides_refused{0};
  std::atomic<int64_t> overrides_duplicate{0};
  std::atomic<int64_t> holds_pending{0};  // a gauge
  // Idle entities erased by the sweep (in commits handed over), and sweeps
  // that failed (a store read; the commit goes on without them).
  std::atomic<int64_t> swept_entities{0};
  std::atomic<int64_t> sweep_failures{0};
};

// Override statistics of one teller (abuse and collusion show here).
struct TellerOverrideStats {
  std::string branch_id;  // the teller's branch in the roster ("" unknown)
  std::string teller_id;
  int64_t releases = 0;
  int64_t cancels = 0;
  int64_t police_reports = 0;
  int64_t escalations = 0;
  int64_t refused = 0;
  // Of accepted overrides: time from the hold's opening to the answer.
  int64_t answered = 0;
  int64_t answer_ms_total = 0;
  int64_t answer_ms_max = 0;
  // Releases this person authorised as supervisor.
  int64_t authorised_releases = 0;
};

// Observer of each decision (metrics: latency, hits per rule). Called on
// the processing thread.
class DecisionObserver {
 public:
  virtual ~DecisionObserver() = default;
  // `engine_us`: consume to produce; `age_us`: decided_at - occurred_at.
  virtual void Decided(const txscreen::v1::Decision& decision,
                       int64_t engine_us, int64_t age_us) = 0;
  // An override was answered; `disposition` when it was accepted (and not
  // a duplicate). `branch_id`: the teller's branch in the roster.
  // The shadow rule set's decision of the same transaction.
  virtual void ShadowDecided(const txscreen::v1::Decision& shadow,
                             const txscreen::v1::Decision& active) {}
  virtual void Answered(const txscreen::v1::OverrideResult& result,
                        const txscreen::v1::Disposition* disposition,
                        absl::string_view branch_id) {}
  // A commit cycle's parts, in microseconds. On the processing thread,
  // which screens nothing meanwhile: `ack_wait_us` waiting for every
  // decision so far to be acknowledged, `hand_off_us` building the state
  // writes. On the committer thread (called there): `commit_us`, the Kafka
  // transaction and the local store write.
  virtual void CommitStarted(int64_t ack_wait_us, int64_t hand_off_us) {}
  virtual void CommitExecuted(int64_t commit_us) {}
};

struct PartitionLag {
  int32_t partition;
  int64_t lag;  // messages behind the high watermark
};

class Service {
 public:
  // Loads the rules, opens the state, starts the embedded cluster if no
  // brokers are given, creates missing topics, connects. Errors name what
  // failed.
  static absl::StatusOr<std::unique_ptr<Service>> Create(ServeOptions options);
  ~Service();

  // Consumes until Stop(); then commits, leaves the group and returns.
  // Returns an error for failures it cannot recover from (fenced by a newer
  // instance, the local state store failing).
  absl::Status Run();
  void Stop() { stop_.store(true); }
  // Reloads the rule files and the staff roster, each on its own: the new
  // rules take effect between transactions of the processing thread, the
  // roster at once. A file with errors keeps its old version active and
  // does not stop the other from loading; its error is returned.
  absl::Status Reload();

  const std::string& bootstrap() const { return bootstrap_; }
  bool embedded() const { return embedded_ != nullptr; }
  // The embedded cluster, or nullptr (tests inject broker errors).
  EmbeddedKafka* embedded_kafka() { return embedded_.get(); }
  // Tests: a fatal error of the decisions producer (with `shadow`, of the
  // shadow decisions producer, which is idempotent only if the operator
  // says so), as librdkafka's idempotence raises one
  // (rd_kafka_test_fatal_error). From another thread only while the
  // service has not replaced that producer.
  void FailProducerForTest(bool shadow = false);
  // Ready: rules loaded, partitions assigned and restored.
  bool Ready(std::string* why) const;
  const ServeStats& stats() const { return stats_; }
  void set_observer(DecisionObserver* observer) { observer_ = observer; }

  // Rules status as JSON: active version, last load error.
  std::string RulesStatusJson() const;
  std::shared_ptr<const rules::RuleSet> rules() const;
  std::vector<PartitionLag> Lag() const;
  // Transactions decided per second, averaged over the last few seconds.
  double Throughput() const;
  // Input partitions assigned to this instance now.
  int64_t assigned_partitions() const { return assigned_.load(); }
  std::shared_ptr<const engine::Roster> roster() const;
  // Override statistics per teller, by branch then teller id.
  std::vector<TellerOverrideStats> OverrideStats() const;
  std::string OverrideStatsJson() const;

 private:
  class Rebalancer;
  class DeliveryReports;
  struct Partition;
  struct PendingCommit;

  explicit Service(ServeOptions options);
  absl::Status Start();
  KafkaSettings ClientSettings(KafkaSettings defaults,
                               const KafkaSettings& forced) const;
  // Creates producer_ (decisions, alerts, dead letters), replacing one.
  absl::Status MakeProducer();
  // The same for shadow_producer_.
  absl::Status MakeShadowProducer();
  // Creates txn_ (not initialised).
  absl::Status MakeTxnProducer();
  // A new txn_, initialised; clears txn_broken_.
  absl::Status RecoverTxnProducer();
  // For a fatal error of txn_: Aborted when fenced by a newer instance
  // (stop); otherwise marks txn_ broken (recreated by the next commit cycle)
  // and returns nullopt. `began_us` (SteadyMicros; 0: no transaction known
  // to be open) is when the failed transaction began: fencing of one that
  // has been open for transaction.timeout.ms is the coordinator's abort of
  // it (after a broker outage), not a newer instance, and is recovered.
  std::optional<absl::Status> FatalTxnError(const RdKafka::Error& e,
                                            absl::string_view what,
                                            int64_t began_us);
  void Process(RdKafka::Message& msg);
  // Decodes the message's value (input format) into `out`; an empty or
  // undecodable value goes to the dead-letter topic and false is returned.
  bool DecodeInput(const RdKafka::Message& msg, absl::string_view what,
                   google::protobuf::Message* out);
  // DecodeInput for the transaction, into tx_.
  bool DecodeTransaction(const RdKafka::Message& msg);
  void ProcessOverride(RdKafka::Message& msg, Partition& part);
  // Publishes what the hold book produced (holds, results, dispositions).
  void Publish(const engine::HoldEvents& events);
  void ExpireHolds();
  void Produce(const std::string& topic, const std::string& key,
               const google::protobuf::Message& message,
               const char* type = nullptr);
  // Starts a commit of everything since the last one (finishing the one in
  // flight first); with `wait`, also waits for it and applies the result.
  absl::Status CommitCycle(bool wait = false);
  // Applies the result of the commit in flight, if it is done (or, with
  // `wait`, once it is). OK when nothing is in flight.
  absl::Status FinishCommit(bool wait);
  void RunCommitter();
  // Joins the committer thread (after the commit it is running).
  void StopCommitter();
  bool CommitterHasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  bool CommitIsDone() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu_);
  // Steps 2 and 3 of a commit, on the committer thread: ExecuteCommit,
  // timed.
  void Execute(PendingCommit& commit);
  void ExecuteCommit(PendingCommit& commit);
  // A warning when a step of the commit cycle took longer than
  // kSlowCommitStepUs (any thread).
  void NoteSlowCommitStep(absl::string_view step, int64_t us);
  static constexpr int64_t kSlowCommitStepUs = 50000;
  // After a failed commit: abort, drop in-memory state, rewind.
  // `began_us`: as for FatalTxnError.
  absl::Status AbortAndRewind(absl::string_view why, int64_t began_us = 0);
  absl::Status Assign(const std::vector<RdKafka::TopicPartition*>& parts);
  // Assign, tried again with a growing pause (1 s doubling to 30 s) while
  // it fails for want of the broker (Unavailable, DeadlineExceeded: an
  // outage during the restore) and the service is not stopping.
  // FailedPrecondition when an assigned input partition has no partition
  // of its own in the overrides or changelog topics (partitions were added
  // to the input topic while running).
  // FailedPrecondition when an existing changelog topic's cleanup policy
  // or retention would delete state (checked at start, real brokers only).
  absl::Status CheckChangelogConfigs();
  absl::Status CheckPaired(const std::vector<RdKafka::TopicPartition*>& parts);
  absl::Status AssignRetrying(
      const std::vector<RdKafka::TopicPartition*>& parts);
  // Commits what it can and gives the partitions up. An error only when
  // the process cannot go on (fenced, local store failure).
  absl::Status Revoke();
  // `min_next_chunk`: engine::PartitionStateOptions::min_next_chunk.
  absl::StatusOr<std::unique_ptr<Partition>> OpenPartition(
      int32_t p, uint64_t min_next_chunk = 0);
  // `message` in the output format, into out_.
  void Encode(const google::protobuf::Message& message);
  // Produces to `topic` (key nullptr: none), waiting while the queue is
  // full; a failure is counted and fails the next commit. Takes `headers`.
  void Send(const std::string& topic, const std::string* key,
            absl::string_view value, RdKafka::Headers* headers = nullptr);
  void ProduceDecision(const txscreen::v1::Decision& decision,
                       const std::string* key);
  // The report record of a decision that names report kinds.
  void ProduceReport(const Partition& part);
  // A retraction record (report.proto) of a transaction that did not
  // happen after all.
  void ProduceRetraction(const std::string& transaction_id,
                         const std::string& customer_id, int64_t occurred_at_us,
                         absl::string_view cause,
                         absl::string_view by_transaction_id);
  void SetFatal(absl::Status s);
  // The shadow rule set's decision of tx_, published; never acted upon.
  void ScreenShadow(Partition& part);
  // A new shadow state over the shadow store (after a failure).
  void ReopenShadow(Partition& part);
  void ProduceDeadLetter(const RdKafka::Message& msg, absl::string_view why);
  void ApplyPendingRules();
  void UpdateThroughput();

  ServeOptions options_;
  std::unique_ptr<EmbeddedKafka> embedded_;
  std::string bootstrap_;
  std::unique_ptr<engine::StateStore> store_;
  std::unique_ptr<engine::StateStore> shadow_store_;  // null: no shadow
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::KafkaConsumer> restorer_;
  std::unique_ptr<RdKafka::Producer> producer_;  // decisions, alerts, DLQ
  std::unique_ptr<RdKafka::Producer> txn_;       // changelog + offsets
  bool txn_broken_ = false;     // txn_ had a fatal error: recreate it
  int64_t txn_timeout_ms_ = 0;  // txn_'s transaction.timeout.ms
  std::unique_ptr<Rebalancer> rebalancer_;
  std::unique_ptr<DeliveryReports> reports_;
  std::unique_ptr<DeliveryReports> txn_reports_;
  std::unique_ptr<DeliveryReports> shadow_reports_;  // counts failures only
  std::unique_ptr<RdKafka::Producer> shadow_producer_;
  engine::SystemClock system_clock_;
  engine::Clock* clock_ = &system_clock_;
  int64_t next_expiry_ms_ = 0;

  std::map<int32_t, std::unique_ptr<Partition>> partitions_;
  // The committer thread and its one commit: handed over in commit_work_,
  // handed back in commit_done_. While one is in flight (processing thread
  // only), txn_ and txn_reports_ belong to the committer.
  std::thread committer_;
  absl::Mutex commit_mu_;
  std::unique_ptr<PendingCommit> commit_work_ ABSL_GUARDED_BY(commit_mu_);
  std::unique_ptr<PendingCommit> commit_done_ ABSL_GUARDED_BY(commit_mu_);
  bool committer_stop_ ABSL_GUARDED_BY(commit_mu_) = false;
  bool commit_in_flight_ = false;
  // commit_done_ is set (read without the lock by the processing loop).
  std::atomic<bool> commit_finished_{false};
  int64_t since_commit_ = 0;
  int64_t next_commit_ms_ = 0;
  // Written on the processing thread only (SetFatal); Ready() on other
  // threads reads failed_ and the message under fatal_mu_.
  absl::Status fatal_;
  std::atomic<bool> failed_{false};
  mutable absl::Mutex fatal_mu_;
  std::string fatal_message_ ABSL_GUARDED_BY(fatal_mu_);
  DecisionObserver* observer_ = nullptr;

  mutable absl::Mutex rules_mu_;
  std::shared_ptr<const rules::RuleSet> rules_ ABSL_GUARDED_BY(rules_mu_);
  std::shared_ptr<const rules::RuleSet> pending_rules_
      ABSL_GUARDED_BY(rules_mu_);
  std::string rules_error_ ABSL_GUARDED_BY(rules_mu_);
  // The last roster reload's error ("" when it loaded).
  std::string roster_error_ ABSL_GUARDED_BY(rules_mu_);
  std::shared_ptr<const rules::RuleSet> shadow_rules_
      ABSL_GUARDED_BY(rules_mu_);
  std::shared_ptr<const rules::RuleSet> pending_shadow_rules_
      ABSL_GUARDED_BY(rules_mu_);
  std::string shadow_error_ ABSL_GUARDED_BY(rules_mu_);
  std::string rules_loaded_at_ ABSL_GUARDED_BY(rules_mu_);
  std::shared_ptr<const engine::Roster> roster_ ABSL_GUARDED_BY(rules_mu_);

  mutable absl::Mutex override_stats_mu_;
  std::map<std::pair<std::string, std::string>, TellerOverrideStats>
      override_stats_ ABSL_GUARDED_BY(override_stats_mu_);

  mutable absl::Mutex lag_mu_;
  std::vector<PartitionLag> lag_ ABSL_GUARDED_BY(lag_mu_);
  double throughput_ ABSL_GUARDED_BY(lag_mu_) = 0;
  int64_t throughput_at_ms_ = 0;
  int64_t throughput_decided_ = 0;

  std::atomic<bool> stop_{false};
  bool consumer_closed_ = false;
  std::atomic<bool> restoring_{false};
  std::atomic<bool> assigned_once_{false};
  // Why the last commit was rewound; empty once one succeeds.
  std::string last_commit_failed_;
  // Input partitions below this have their overrides and changelog
  // partitions (checked at start, again when a higher one is assigned).
  int32_t paired_partitions_ = 0;
  std::atomic<int64_t> assigned_{0};
  ServeStats stats_;

  // Scratch, reused per transaction.
  // The transaction being screened, on an arena, decoded into the
  // sub-messages of the one before (engine/transaction_codec.h).
  engine::TransactionDecoder tx_;
  // Why the last message of the processing thread did not decode.
  std::string last_decode_error_;
  txscreen::v1::Decision decision_;
  txscreen::v1::ReportRecord report_;
  txscreen::v1::Decision shadow_decision_;
  txscreen::v1::Override override_;
  engine::HoldEvents events_;
  std::string out_;
};

}  // namespace txscreen::serve

#endif  // TXSCREEN_SERVE_SERVICE_H_
