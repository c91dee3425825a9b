#include "serve/service.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/report_record.h"
#include "engine/transaction_codec.h"
#include "librdkafka/rdkafka.h"
#include "rules/rule_pack_loader.h"
#include "rules/stable_hash.h"
#include "serve/json_util.h"
#include "serve/log.h"

namespace txscreen::serve {

namespace v1 = ::txscreen::v1;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// For timing the service's own steps (not the event clock, which tests
// set by hand).
int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string DefaultInstanceId(const std::string& state_dir) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::error_code ec;
  std::string dir = std::filesystem::absolute(state_dir, ec).string();
  return absl::StrCat(
      host[0] != '\0' ? host : "host", "-",
      absl::Hex(rules::StableHash(dir) & 0xffffffffULL, absl::kZeroPad8));
}

// A producer of `conf` whose delivery reports go to `reports`, into `out`;
// errors name it `what`.
absl::Status CreateProducer(absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf,
                            RdKafka::DeliveryReportCb* reports,
                            absl::string_view what,
                            std::unique_ptr<RdKafka::Producer>* out) {
  if (!conf.ok()) return conf.status();
  std::string error;
  (*conf)->set("dr_cb", reports, error);
  out->reset(RdKafka::Producer::create(conf->get(), error));
  if (*out == nullptr) {
    return absl::InternalError(absl::StrCat(what, ": ", error));
  }
  return absl::OkStatus();
}

bool NeedsAttention(const v1::Decision& d) {
  return d.verdict() != v1::VERDICT_ALLOW || d.reports_size() > 0;
}

}  // namespace

std::array<v1::Verdict, rules::kChannelCount> DefaultFailSafe() {
  std::array<v1::Verdict, rules::kChannelCount> v;
  v.fill(v1::VERDICT_DELAY);
  v[v1::CHANNEL_COUNTER] = v1::VERDICT_INTERCEPT;
  v[v1::CHANNEL_VTM] = v1::VERDICT_INTERCEPT;
  v[v1::CHANNEL_ATM] = v1::VERDICT_REVIEW;
  v[v1::CHANNEL_POS] = v1::VERDICT_REVIEW;
  return v;
}

// One assigned input partition.
struct Service::Partition {
  int32_t id = 0;
  std::unique_ptr<engine::PartitionState> state;
  std::unique_ptr<engine::Screener> screener;
  std::unique_ptr<engine::HoldBook> holds;
  // The shadow rule set's own state and screener; null without a shadow.
  std::unique_ptr<engine::PartitionState> shadow_state;
  std::unique_ptr<engine::Screener> shadow_screener;
  bool shadow_checked = false;  // its position compared with `committed`
  // Next input offset: of the last commit (or the group's committed offset,
  // or OFFSET_BEGINNING), and after the last consumed message.
  int64_t committed = RdKafka::Topic::OFFSET_BEGINNING;
  int64_t next = -1;  // -1: nothing consumed since the last commit
  // The same for the partition of the overrides topic with this number.
  bool has_overrides = false;
  int64_t overrides_committed = RdKafka::Topic::OFFSET_BEGINNING;
  int64_t overrides_next = -1;

  bool changed() const {
    return next >= 0 || overrides_next >= 0 || holds->dirty();
  }
};

class Service::Rebalancer : public RdKafka::RebalanceCb {
 public:
  explicit Rebalancer(Service* service) : service_(service) {}
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& parts) override {
    ++service_->stats_.rebalances;
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      absl::Status s = service_->AssignRetrying(parts);
      if (!s.ok()) {
        consumer->unassign();
        if (service_->stop_.load()) {
          Log(LogLevel::kWarning,
              absl::StrCat("stopping during the assignment: ", s.message()));
          return;
        }
        Log(LogLevel::kError, absl::StrCat("assignment failed: ", s.message()));
        service_->SetFatal(s);
      }
    } else {
      absl::Status s = service_->Revoke();
      if (!s.ok()) service_->SetFatal(s);
    }
  }

 private:
  Service* service_;
};

// Delivery reports: failures of the decisions producer; offsets written by
// the transactional producer (the changelog checkpoints).
class Service::DeliveryReports : public RdKafka::DeliveryReportCb {
 public:
  // `track_offsets`: remember the offsets written (the changelog producer
  // only: the decisions producer would pay a map update per decision).
  // `errors` counts every failure.
  DeliveryReports(bool track_offsets, std::atomic<int64_t>* errors)
      : track_offsets_(track_offsets), errors_(errors) {}

  void dr_cb(RdKafka::Message& msg) override {
    if (msg.err() != RdKafka::ERR_NO_ERROR) {
      Fail(absl::StrCat("delivery to ", msg.topic_name(), "[", msg.partition(),
                        "] failed: ", msg.errstr()));
      return;
    }
    if (!track_offsets_) return;
    int64_t& next = next_offset_[{msg.topic_name(), msg.partition()}];
    next = std::max(next, msg.offset() + 1);
  }
  void Fail(std::string why) {
    ++*errors_;
    ++failed_;
    if (first_error_.empty()) first_error_ = std::move(why);
  }
  // The first failure since the last Reset, if any.
  bool Failed(std::string* why) const {
    if (failed_ == 0) return false;
    *why = first_error_;
    return true;
  }
  void Reset() {
    failed_ = 0;
    first_error_.clear();
    next_offset_.clear();
  }
  // Next offset after what was delivered to topic[partition], or -1.
  int64_t NextOffset(const std::string& topic, int32_t partition) const {
    auto it = next_offset_.find({topic, partition});
    return it == next_offset_.end() ? -1 : it->second;
  }

 private:
  const bool track_offsets_;
  std::atomic<int64_t>* errors_;
  int64_t failed_ = 0;
  std::string first_error_;
  std::map<std::pair<std::string, int32_t>, int64_t> next_offset_;
};

Service::Service(ServeOptions options) : options_(std::move(options)) {}

Service::~Service() {
  StopCommitter();
  if (consumer_ != nullptr && !consumer_closed_) consumer_->close();
}

void Service::StopCommitter() {
  if (!committer_.joinable()) return;
  {
    absl::MutexLock lock(&commit_mu_);
    committer_stop_ = true;
  }
  // It finishes a commit it has begun.
  committer_.join();
}

absl::StatusOr<std::unique_ptr<Service>> Service::Create(ServeOptions options) {
  std::unique_ptr<Service> service(new Service(std::move(options)));
  if (absl::Status s = service->Start(); !s.ok()) return s;
  return service;
}

KafkaSettings Service::ClientSettings(KafkaSettings defaults,
                                      const KafkaSettings& forced) const {
  // Our defaults, then the operator's kafka.* settings, then what
  // correctness needs (not overridable).
  defaults["bootstrap.servers"] = bootstrap_;
  defaults["client.id"] = absl::StrCat("txscreen-", options_.instance_id);
  for (const auto& [k, v] : options_.kafka) defaults[k] = v;
  for (const auto& [k, v] : forced) defaults[k] = v;
  return defaults;
}

absl::Status Service::MakeTxnProducer() {
  txn_.reset();
  absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf =
      MakeKafkaConf(ClientSettings(
          {{"linger.ms", "2"},
           {"compression.type", "lz4"},
           // Our transactions stay open for one commit
           // (milliseconds); a crashed instance's open one blocks
           // read_committed readers of its changelog partitions
           // until this expires.
           {"transaction.timeout.ms", "10000"},
           // The coordinator answers a transaction begun right after the
           // previous commit with CONCURRENT_TRANSACTIONS until that
           // one's markers are written; librdkafka retries after
           // retry.backoff.ms, 100 by default, which made every commit
           // take over 100 ms and stalled screening (measured with
           // tools/loadtest; the Java client uses 20 ms for this).
           {"retry.backoff.ms", "5"}},
          {{"transactional.id",
            absl::StrCat(options_.group, ".", options_.instance_id)}}));
  if (!conf.ok()) return conf.status();
  std::string timeout;
  if ((*conf)->get("transaction.timeout.ms", timeout) !=
          RdKafka::Conf::CONF_OK ||
      !absl::SimpleAtoi(timeout, &txn_timeout_ms_)) {
    return absl::InternalError(absl::StrCat(
        "transactional producer: transaction.timeout.ms unreadable: ",
        timeout));
  }
  return CreateProducer(std::move(conf), txn_reports_.get(),
                        "transactional producer", &txn_);
}

absl::Status Service::MakeProducer() {
  producer_.reset();
  return CreateProducer(MakeKafkaConf(ClientSettings(
                            {{"linger.ms", "1"}, {"compression.type", "lz4"}},
                            {{"enable.idempotence", "true"}, {"acks", "all"}})),
                        reports_.get(), "producer", &producer_);
}

absl::Status Service::MakeShadowProducer() {
  shadow_producer_.reset();
  return CreateProducer(
      MakeKafkaConf(ClientSettings(
          {{"linger.ms", "5"}, {"compression.type", "lz4"}}, {})),
      shadow_reports_.get(), "shadow producer", &shadow_producer_);
}

void Service::FailProducerForTest(bool shadow) {
  rd_kafka_test_fatal_error((shadow ? shadow_producer_ : producer_)->c_ptr(),
                            RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                            "injected by a test");
}

absl::Status Service::RecoverTxnProducer() {
  if (absl::Status s = MakeTxnProducer(); !s.ok()) return s;
  if (RdKafka::Error* e = txn_->init_transactions(options_.kafka_timeout_ms)) {
    std::unique_ptr<RdKafka::Error> owned(e);
    return absl::UnavailableError(
        absl::StrCat("transactional producer: init: ", e->str()));
  }
  txn_broken_ = false;
  ++stats_.txn_producer_recreations;
  Log(LogLevel::kInfo, "transactional producer recreated");
  return absl::OkStatus();
}

std::optional<absl::Status> Service::FatalTxnError(const RdKafka::Error& e,
                                                   absl::string_view what,
                                                   int64_t began_us) {
  if (!e.is_fatal()) return std::nullopt;
  const RdKafka::ErrorCode code = e.code();
  if (code == RdKafka::ERR__FENCED || code == RdKafka::ERR_PRODUCER_FENCED ||
      code == RdKafka::ERR_INVALID_PRODUCER_EPOCH) {
    const int64_t open_ms =
        began_us > 0 ? (SteadyMicros() - began_us) / 1000 : -1;
    if (open_ms < txn_timeout_ms_) {
      // A newer incarnation of this instance took over.
      return absl::AbortedError(absl::StrCat(what, ": ", e.str()));
    }
    // The coordinator aborts a transaction left open for longer than its
    // timeout (as one is over a broker outage) and fences its producer
    // with it. Nobody took over: the offsets it commits are checked
    // against our group generation, so a new producer is safe (a real
    // newer instance, were there one, loses that way instead).
    Log(LogLevel::kWarning,
        absl::StrCat(what, ": ", e.str(), " after the transaction was open ",
                     open_ms, " ms (transaction.timeout.ms is ",
                     txn_timeout_ms_,
                     "): the coordinator aborted it; the transactional "
                     "producer will be recreated"));
    txn_broken_ = true;
    return std::nullopt;
  }
  // Anything else (seen after a broker restart: INVALID_TXN_STATE) leaves
  // the producer unusable; a new one, once the broker answers, fences the
  // old one's transaction.
  Log(LogLevel::kWarning,
      absl::StrCat(what, ": ", e.str(),
                   "; the transactional producer will be recreated"));
  txn_broken_ = true;
  return std::nullopt;
}

absl::Status Service::Start() {
  if (options_.instance_id.empty()) {
    options_.instance_id = DefaultInstanceId(options_.state_dir);
  }
  if (options_.clock != nullptr) clock_ = options_.clock;
  std::shared_ptr<const engine::Roster> roster = engine::Roster::Empty();
  if (!options_.roster_path.empty()) {
    absl::StatusOr<std::shared_ptr<const engine::Roster>> loaded =
        engine::Roster::Load(options_.roster_path);
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the staff roster does not load:\n", loaded.status().message()));
    }
    roster = *loaded;
  } else {
    Log(LogLevel::kWarning,
        "no staff roster (--roster): every override will be refused");
  }
  rules::LoadResult pack = rules::LoadRulePack(options_.rules);
  if (!pack.errors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("rules do not load:\n", absl::StrJoin(pack.errors, "\n")));
  }
  std::shared_ptr<const rules::RuleSet> shadow;
  if (!options_.shadow_rules.empty()) {
    rules::LoadResult candidate = rules::LoadRulePack(options_.shadow_rules);
    if (!candidate.errors.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("shadow rules do not load:\n",
                       absl::StrJoin(candidate.errors, "\n")));
    }
    shadow = candidate.rule_set;
  }
  {
    absl::MutexLock lock(&rules_mu_);
    rules_ = pack.rule_set;
    shadow_rules_ = shadow;
    roster_ = roster;
    rules_loaded_at_ =
        absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  }

  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  absl::StatusOr<std::unique_ptr<engine::StateStore>> store =
      engine::OpenRocksStateStore(options_.state_dir, options_.store);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  if (shadow != nullptr) {
    const std::string dir = options_.shadow_state_dir.empty()
                                ? options_.state_dir + "-shadow"
                                : options_.shadow_state_dir;
    std::filesystem::create_directories(dir, ec);
    absl::StatusOr<std::unique_ptr<engine::StateStore>> shadow_store =
        engine::OpenRocksStateStore(dir);
    if (!shadow_store.ok()) {
      return absl::Status(
          shadow_store.status().code(),
          absl::StrCat("shadow state: ", shadow_store.status().message()));
    }
    shadow_store_ = std::move(*shadow_store);
    Log(LogLevel::kInfo,
        absl::StrCat("shadow rules ", shadow->version(),
                     " beside the active ones; state in ", dir,
                     ", decisions on ", options_.topics.shadow_decisions));
  }

  const ServeTopics& t = options_.topics;
  std::vector<TopicSpec> specs = {
      {t.transactions, options_.partitions, {}},
      {t.decisions, options_.partitions, {}},
      {t.alerts, options_.partitions, {}},
      {t.reports, options_.partitions, {}},
      {t.dead_letter, options_.partitions, {}},
      {t.overrides, options_.partitions, {}},
      {t.override_results, options_.partitions, {}},
      {t.dispositions, options_.partitions, {}},
      {t.holds,
       options_.partitions,
       // The consoles read it from the start: resolved holds go after a
       // day longer than the engine remembers them.
       {{"cleanup.policy", "compact,delete"},
        {"retention.ms",
         absl::StrCat(options_.holds.resolved_retention_us / 1000 +
                      86400LL * 1000)}}},
      {t.changelog.state, options_.partitions, {{"cleanup.policy", "compact"}}},
      {t.changelog.dedupe,
       options_.partitions,
       // Kept a day longer than the engine keeps the records.
       {{"cleanup.policy", "compact,delete"},
        {"retention.ms", absl::StrCat(8LL * 86400 * 1000)}}},
  };
  if (shadow != nullptr)
    specs.push_back({t.shadow_decisions, options_.partitions, {}});
  const bool embedded = options_.brokers.empty();
  if (embedded) {
    absl::StatusOr<std::unique_ptr<EmbeddedKafka>> kafka =
        EmbeddedKafka::Create(specs);
    if (!kafka.ok()) return kafka.status();
    embedded_ = std::move(*kafka);
    bootstrap_ = embedded_->bootstrap();
  } else {
    bootstrap_ = options_.brokers;
  }

  auto settings = [this](KafkaSettings defaults, const KafkaSettings& forced) {
    return ClientSettings(std::move(defaults), forced);
  };
  std::string error;

  reports_ = std::make_unique<DeliveryReports>(false, &stats_.delivery_errors);
  txn_reports_ =
      std::make_unique<DeliveryReports>(true, &stats_.delivery_errors);
  if (absl::Status s = MakeProducer(); !s.ok()) return s;
  if (shadow != nullptr) {
    // Its own producer: a shadow decision that cannot be delivered is
    // counted, and never aborts the active path's commit.
    shadow_reports_ =
        std::make_unique<DeliveryReports>(false, &stats_.shadow_failures);
    if (absl::Status s = MakeShadowProducer(); !s.ok()) return s;
  }
  if (absl::Status s = MakeTxnProducer(); !s.ok()) return s;
  if (!embedded && options_.create_topics) {
    if (absl::Status s =
            CreateTopics(producer_.get(), specs, options_.kafka_timeout_ms);
        !s.ok()) {
      return s;
    }
  }
  if (!embedded) {
    if (absl::Status s = CheckChangelogConfigs(); !s.ok()) return s;
  }
  // A topic just created takes a moment to appear in the metadata.
  auto partitions = [&](const std::string& topic) {
    const int64_t deadline = NowMs() + options_.kafka_timeout_ms;
    while (true) {
      absl::StatusOr<int> n =
          PartitionCount(producer_.get(), topic, options_.kafka_timeout_ms);
      if (n.ok() || !absl::IsNotFound(n.status()) || NowMs() > deadline) {
        return n;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };
  absl::StatusOr<int> input_partitions = partitions(t.transactions);
  if (!input_partitions.ok()) return input_partitions.status();
  {
    absl::StatusOr<int> n = partitions(t.overrides);
    if (!n.ok()) return n.status();
    if (*n != *input_partitions) {
      return absl::FailedPreconditionError(absl::StrCat(
          "topic ", t.overrides, " has ", *n, " partitions and ",
          t.transactions, " has ", *input_partitions,
          ": they must have the same number, so that an override reaches "
          "the instance that holds its transaction"));
    }
  }
  paired_partitions_ = *input_partitions;
  for (const std::string* topic : {&t.changelog.state, &t.changelog.dedupe}) {
    absl::StatusOr<int> n = partitions(*topic);
    if (!n.ok()) return n.status();
    if (*n < *input_partitions) {
      return absl::FailedPreconditionError(absl::StrCat(
          "changelog topic ", *topic, " has ", *n, " partitions, fewer than ",
          t.transactions, "'s ", *input_partitions,
          ": each input partition needs its own changelog partition"));
    }
  }
  if (RdKafka::Error* e = txn_->init_transactions(options_.kafka_timeout_ms)) {
    std::unique_ptr<RdKafka::Error> owned(e);
    return absl::UnavailableError(
        absl::StrCat("transactional producer: init: ", e->str()));
  }

  rebalancer_ = std::make_unique<Rebalancer>(this);
  {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeKafkaConf(
        settings({{"auto.offset.reset", "earliest"},
                  // A killed instance's partitions move after this (45 s
                  // in librdkafka by default).
                  {"session.timeout.ms", "10000"},
                  {"heartbeat.interval.ms", "1000"},
                  // A fetch is answered when 64 KiB wait or after 5 ms:
                  // under load one fetch every 5 ms instead of one per
                  // round trip, a few messages each. That cut the engine's
                  // CPU by a fifth at 8,000/s and let it keep up with
                  // 20,000/s, for ~4 ms more at p50 at low rates
                  // (bench/README.md, "Fetches of 64 KiB or 5 ms"). The
                  // embedded cluster answers an empty fetch only after the
                  // wait, whatever the size.
                  {"fetch.wait.max.ms", "5"},
                  {"fetch.min.bytes", embedded ? "1" : "65536"},
                  {"isolation.level", "read_committed"}},
                 {{"group.id", options_.group},
                  // Range gives partition N of both input topics (
                  // transactions, overrides) to the same member.
                  {"partition.assignment.strategy", "range"},
                  {"enable.auto.commit", "false"},
                  {"enable.auto.offset.store", "false"},
                  {"enable.partition.eof", "false"}}));
    if (!conf.ok()) return conf.status();
    (*conf)->set("rebalance_cb", rebalancer_.get(), error);
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
    if (consumer_ == nullptr) {
      return absl::InternalError(absl::StrCat("consumer: ", error));
    }
  }
  {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeKafkaConf(
        settings({{"fetch.wait.max.ms", embedded ? "5" : "100"}},
                 {{"group.id", absl::StrCat(options_.group, ".restore")},
                  {"enable.auto.commit", "false"},
                  {"enable.partition.eof", "true"},
                  {"auto.offset.reset", "earliest"},
                  {"isolation.level", "read_committed"}}));
    if (!conf.ok()) return conf.status();
    restorer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
    if (restorer_ == nullptr) {
      return absl::InternalError(absl::StrCat("restore consumer: ", error));
    }
  }
  return absl::OkStatus();
}

std::shared_ptr<const rules::RuleSet> Service::rules() const {
  absl::MutexLock lock(&rules_mu_);
  return rules_;
}

absl::StatusOr<std::unique_ptr<Service::Partition>> Service::OpenPartition(
    int32_t p, uint64_t min_next_chunk) {
  auto part = std::make_unique<Partition>();
  part->id = p;
  engine::PartitionStateOptions state_options;
  state_options.min_next_chunk = min_next_chunk;
  // The budget is for the whole input topic, whose partitions may be more
  // than --partitions (a topic created beforehand, or grown since).
  state_options.max_cached_entities = static_cast<size_t>(std::max<int64_t>(
      1000, options_.state_cache_entities / std::max(1, paired_partitions_)));
  part->state =
      std::make_unique<engine::PartitionState>(store_.get(), p, state_options);
  std::shared_ptr<const rules::RuleSet> r;
  {
    absl::MutexLock lock(&rules_mu_);
    r = pending_rules_ != nullptr ? pending_rules_ : rules_;
  }
  part->screener = std::make_unique<engine::Screener>(
      r, part->state.get(), clock_, options_.screener);
  part->holds = std::make_unique<engine::HoldBook>(store_.get(), p, clock_,
                                                   options_.holds);
  if (absl::Status s = part->holds->Load(); !s.ok()) return s;
  if (shadow_store_ != nullptr) ReopenShadow(*part);
  return part;
}

absl::Status Service::Assign(
    const std::vector<RdKafka::TopicPartition*>& parts) {
  restoring_.store(true);
  struct Done {
    std::atomic<bool>* b;
    ~Done() { b->store(false); }
  } done{&restoring_};
  partitions_.clear();
  std::vector<RdKafka::TopicPartition*> committed;
  for (const RdKafka::TopicPartition* tp : parts) {
    committed.push_back(
        RdKafka::TopicPartition::create(tp->topic(), tp->partition()));
  }
  struct Free {
    std::vector<RdKafka::TopicPartition*>* v;
    ~Free() { RdKafka::TopicPartition::destroy(*v); }
  } free_committed{&committed};
  if (RdKafka::ErrorCode e =
          consumer_->committed(committed, options_.kafka_timeout_ms);
      e != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("committed offsets: ", RdKafka::err2str(e)));
  }
  const int64_t started = NowMs();
  int64_t records = 0;
  for (const RdKafka::TopicPartition* tp : committed) {
    const int32_t p = tp->partition();
    const int64_t offset =
        tp->offset() >= 0 ? tp->offset() : RdKafka::Topic::OFFSET_BEGINNING;
    if (auto it = partitions_.find(p); it != partitions_.end()) {
      // The other input topic's partition with this number: restored.
      if (tp->topic() == options_.topics.overrides) {
        it->second->has_overrides = true;
        it->second->overrides_committed = offset;
      } else {
        it->second->committed = offset;
      }
      continue;
    }
    for (const std::string* topic : {&options_.topics.changelog.state,
                                     &options_.topics.changelog.dedupe}) {
      absl::StatusOr<RestoreStats> restored =
          RestorePartition(restorer_.get(), *topic, p, store_.get(),
                           options_.restore_timeout_ms, &stop_);
      if (!restored.ok()) return restored.status();
      records += restored->records;
      if (restored->checkpoint_reset) {
        Log(LogLevel::kWarning,
            absl::StrCat("changelog ", *topic, "[", p,
                         "] is younger than the local state (a new cluster?); "
                         "keeping the local state"));
      }
    }
    absl::StatusOr<std::unique_ptr<Partition>> part = OpenPartition(p);
    if (!part.ok()) return part.status();
    if (tp->topic() == options_.topics.overrides) {
      (*part)->has_overrides = true;
      (*part)->overrides_committed = offset;
    } else {
      (*part)->committed = offset;
    }
    partitions_[p] = std::move(*part);
  }
  int64_t pending = 0;
  for (const auto& [p, part] : partitions_) pending += part->holds->pending();
  stats_.holds_pending.store(pending);
  stats_.restored_records += records;
  std::vector<int32_t> ids;
  for (const auto& [p, part] : partitions_) ids.push_back(p);
  Log(LogLevel::kInfo,
      absl::StrCat("assigned partitions [", absl::StrJoin(ids, ","), "] of ",
                   options_.topics.transactions, "; restored ", records,
                   " changelog records in ", NowMs() - started, " ms"));
  if (RdKafka::ErrorCode e = consumer_->assign(parts);
      e != RdKafka::ERR_NO_ERROR) {
    partitions_.clear();
    return absl::UnavailableError(
        absl::StrCat("assign: ", RdKafka::err2str(e)));
  }
  assigned_.store(static_cast<int64_t>(partitions_.size()));
  assigned_once_.store(true);
  return absl::OkStatus();
}

absl::Status Service::CheckChangelogConfigs() {
  // The changelogs are the state's only other copy. Created by txscreen they
  // are right; created beforehand (by hand, or by a broker's
  // auto-creation) they may delete what a restore then silently lacks:
  // windows of 30 days, payees of 400, holds and audit chains.
  const ServeTopics& t = options_.topics;
  const int64_t dedupe_ms =
      engine::PartitionStateOptions().dedupe_retention_us / 1000;
  for (const std::string* topic : {&t.changelog.state, &t.changelog.dedupe}) {
    absl::StatusOr<std::map<std::string, std::string>> config =
        TopicConfig(producer_.get(), *topic, options_.kafka_timeout_ms);
    // Not there (topic creation off): the partition count check says so.
    if (absl::IsNotFound(config.status())) continue;
    if (!config.ok()) return config.status();
    const std::string& policy = (*config)["cleanup.policy"];
    const bool compact = absl::StrContains(policy, "compact");
    const bool deletes = absl::StrContains(policy, "delete");
    int64_t retention_ms = -1;
    if (auto it = config->find("retention.ms"); it != config->end()) {
      if (!absl::SimpleAtoi(it->second, &retention_ms)) retention_ms = -1;
    }
    const bool state = topic == &t.changelog.state;
    std::string problem;
    if (!compact) {
      problem = "cleanup.policy=" + policy + ", not compact";
    } else if (state && deletes && retention_ms >= 0) {
      problem =
          absl::StrCat("cleanup.policy=", policy,
                       " deletes state older than retention.ms=", retention_ms);
    } else if (!state && deletes && retention_ms >= 0 &&
               retention_ms < dedupe_ms) {
      problem = absl::StrCat("retention.ms=", retention_ms,
                             " is shorter than the ", dedupe_ms / 86400000,
                             " days transactions are remembered");
    }
    if (!problem.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "changelog topic ", *topic, ": ", problem,
          ", so a restore would miss state. It needs cleanup.policy=",
          state ? "compact" : "compact,delete with retention.ms of at least ",
          state ? "" : absl::StrCat(dedupe_ms + 86400000),
          " (kafka-configs --alter --entity-type topics --entity-name ", *topic,
          " --add-config ...), or a new topic name"));
    }
  }
  return absl::OkStatus();
}

absl::Status Service::CheckPaired(
    const std::vector<RdKafka::TopicPartition*>& parts) {
  int32_t highest = -1;
  for (const RdKafka::TopicPartition* tp : parts) {
    if (tp->topic() == options_.topics.transactions) {
      highest = std::max(highest, tp->partition());
    }
  }
  if (highest < paired_partitions_) return absl::OkStatus();
  // The input topic has grown since the start: its new partitions need
  // their own changelog and overrides partitions, which are checked again
  // (an operator may have added them too).
  const ServeTopics& t = options_.topics;
  for (const std::string* topic :
       {&t.overrides, &t.changelog.state, &t.changelog.dedupe}) {
    absl::StatusOr<int> n =
        PartitionCount(producer_.get(), *topic, options_.kafka_timeout_ms);
    if (!n.ok()) return n.status();
    if (*n <= highest) {
      return absl::FailedPreconditionError(absl::StrCat(
          "topic ", t.transactions, " now has partition ", highest, " but ",
          *topic, " has ", *n,
          " partitions: each input partition needs its own overrides and "
          "changelog partition. Add partitions to ",
          t.overrides, ", ", t.changelog.state, " and ", t.changelog.dedupe,
          " to match, then start txscreen again"));
    }
  }
  paired_partitions_ = highest + 1;
  return absl::OkStatus();
}

absl::Status Service::AssignRetrying(
    const std::vector<RdKafka::TopicPartition*>& parts) {
  int64_t pause_ms = 1000;
  while (true) {
    // An input partition without its own changelog partition is not a
    // passing failure: retrying it would stop screening for good.
    absl::Status s = CheckPaired(parts);
    if (s.ok()) s = Assign(parts);
    if (s.ok() || stop_.load() ||
        !(absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s))) {
      return s;
    }
    ++stats_.assign_retries;
    Log(LogLevel::kWarning,
        absl::StrCat("assignment: ", s.message(), "; trying again in ",
                     pause_ms / 1000, " s"));
    for (const int64_t until = NowMs() + pause_ms;
         NowMs() < until && !stop_.load();) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    pause_ms = std::min<int64_t>(pause_ms * 2, 30000);
  }
}

absl::Status Service::Revoke() {
  // After a failure (the local store's, say) nothing more is committed:
  // a commit now would move the changelog past the batch that failed.
  absl::Status s = fatal_.ok()
                       ? CommitCycle(/*wait=*/true)
                       : absl::FailedPreconditionError("the service failed");
  if (!fatal_.ok()) {
    Log(LogLevel::kWarning,
        "giving up partitions without a commit: the service failed");
  } else if (!s.ok()) {
    // The next owner decides again from the last commit: not an error of
    // this process, unless it was fenced or its store failed.
    Log(LogLevel::kWarning,
        absl::StrCat("commit before giving up partitions: ", s.message()));
  }
  partitions_.clear();
  consumer_->unassign();
  assigned_.store(0);
  stats_.holds_pending.store(0);
  Log(LogLevel::kInfo, "partitions revoked");
  return absl::IsAborted(s) || absl::IsDataLoss(s) ? s : absl::OkStatus();
}

void Service::Encode(const google::protobuf::Message& message) {
  if (options_.output_format == WireFormat::kJson) {
    if (!engine::EncodeJson(message, &out_).ok()) {
      message.SerializeToString(&out_);  // cannot happen: a valid message
    }
  } else {
    message.SerializeToString(&out_);
  }
}

void Service::Send(const std::string& topic, const std::string* key,
                   absl::string_view value, RdKafka::Headers* headers) {
  while (true) {
    RdKafka::ErrorCode e = producer_->produce(
        topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(value.data()), value.size(),
        key != nullptr ? key->data() : nullptr,
        key != nullptr ? key->size() : 0, 0, headers, nullptr);
    if (e == RdKafka::ERR__QUEUE_FULL) {
      producer_->poll(10);
      continue;
    }
    if (e != RdKafka::ERR_NO_ERROR) {
      delete headers;  // ours unless produce succeeded
      // Not produced: the offset must not be committed.
      reports_->Fail(
          absl::StrCat("producing to ", topic, ": ", RdKafka::err2str(e)));
    }
    return;
  }
}

void Service::ProduceDecision(const v1::Decision& decision,
                              const std::string* input_key) {
  Encode(decision);
  const std::string* key = decision.customer_id().empty() && input_key
                               ? input_key
                               : &decision.customer_id();
  Send(options_.topics.decisions, key, out_);
  if (NeedsAttention(decision)) {
    Send(options_.topics.alerts, key, out_);
    ++stats_.alerts;
  }
}

void Service::ReopenShadow(Partition& part) {
  std::shared_ptr<const rules::RuleSet> r;
  {
    absl::MutexLock lock(&rules_mu_);
    r = pending_shadow_rules_ != nullptr ? pending_shadow_rules_
                                         : shadow_rules_;
  }
  part.shadow_screener.reset();
  part.shadow_checked = false;
  part.shadow_state =
      std::make_unique<engine::PartitionState>(shadow_store_.get(), part.id);
  part.shadow_screener = std::make_unique<engine::Screener>(
      r, part.shadow_state.get(), clock_, options_.screener);
}

void Service::ScreenShadow(Partition& part) {
  if (!part.shadow_checked) {
    // The shadow state is local: if it was not flushed at this partition's
    // last commit (the partition was elsewhere meanwhile, or a crash came
    // between the two flushes), it would be stale. It starts again empty.
    part.shadow_checked = true;
    absl::StatusOr<std::string> at = part.shadow_state->CommittedPosition();
    const std::string expected = absl::StrCat(part.committed);
    if (at.ok() && !at->empty() && *at != expected) {
      Log(LogLevel::kWarning,
          absl::StrCat("shadow state of partition ", part.id, " was at ", *at,
                       ", the input is at ", expected,
                       ": it starts again empty"));
      if (absl::Status s = shadow_store_->DropPartition(part.id); !s.ok()) {
        ++stats_.shadow_failures;
        Log(LogLevel::kWarning, absl::StrCat("shadow state: ", s.message()));
      }
      ReopenShadow(part);
      part.shadow_checked = true;
    }
  }
  absl::Status s = part.shadow_screener->Screen(*tx_, &shadow_decision_);
  if (!s.ok()) {
    // The shadow never holds the active path up: counted, logged, and its
    // state starts again from its last flush.
    ++stats_.shadow_failures;
    Log(LogLevel::kWarning,
        absl::StrCat("shadow rules: transaction ", tx_->transaction_id(), ": ",
                     s.message()));
    ReopenShadow(part);
    part.shadow_checked = true;
    return;
  }
  Encode(shadow_decision_);
  const std::string& key = shadow_decision_.customer_id().empty()
                               ? tx_->customer_id()
                               : shadow_decision_.customer_id();
  // Null only when recreating it failed (below): tried again here.
  RdKafka::ErrorCode e =
      shadow_producer_ == nullptr
          ? RdKafka::ERR__FATAL
          : shadow_producer_->produce(
                options_.topics.shadow_decisions, RdKafka::Topic::PARTITION_UA,
                RdKafka::Producer::RK_MSG_COPY, out_.data(), out_.size(),
                key.data(), key.size(), 0, nullptr);
  if (e != RdKafka::ERR_NO_ERROR) {
    ++stats_.shadow_failures;  // e.g. the queue is full: the shadow drops it
    if (e == RdKafka::ERR__FATAL) {
      // Idempotence (an operator's kafka.enable.idempotence) gave up.
      Log(LogLevel::kWarning,
          "shadow decisions producer: fatal error; recreating it");
      if (absl::Status s = MakeShadowProducer(); !s.ok()) {
        Log(LogLevel::kError,
            absl::StrCat("shadow decisions producer: ", s.message()));
      }
    }
  }
  ++stats_.shadow_decided;
  if (shadow_decision_.verdict() != decision_.verdict())
    ++stats_.shadow_differs;
  if (observer_ != nullptr)
    observer_->ShadowDecided(shadow_decision_, decision_);
}

void Service::ProduceReport(const Partition& part) {
  if (!engine::BuildReportRecord(*tx_, decision_, part.screener->rules(),
                                 &report_)) {
    return;
  }
  Encode(report_);
  Send(options_.topics.reports, &decision_.customer_id(), out_);
  ++stats_.reports;
}

void Service::ProduceRetraction(const std::string& transaction_id,
                                const std::string& customer_id,
                                int64_t occurred_at_us, absl::string_view cause,
                                absl::string_view by_transaction_id) {
  engine::BuildRetractionRecord(transaction_id, customer_id, occurred_at_us,
                                cause, by_transaction_id, clock_->NowMicros(),
                                &report_);
  Encode(report_);
  Send(options_.topics.reports, &customer_id, out_);
  ++stats_.retractions;
}

void Service::ProduceDeadLetter(const RdKafka::Message& msg,
                                absl::string_view why) {
  ++stats_.dead_letters;
  Log(LogLevel::kWarning,
      absl::StrCat("dead letter: ", msg.topic_name(), "[", msg.partition(),
                   "]@", msg.offset(), ": ", why));
  RdKafka::Headers* headers = RdKafka::Headers::create();
  headers->add("txscreen.error", std::string(why));
  headers->add("txscreen.topic", msg.topic_name());
  headers->add("txscreen.partition", absl::StrCat(msg.partition()));
  headers->add("txscreen.offset", absl::StrCat(msg.offset()));
  headers->add("txscreen.format",
               options_.input_format == WireFormat::kJson ? "json" : "proto");
  Send(options_.topics.dead_letter, msg.key(),
       absl::string_view(static_cast<const char*>(msg.payload()), msg.len()),
       headers);
}

bool Service::DecodeInput(const RdKafka::Message& msg, absl::string_view what,
                          google::protobuf::Message* out) {
  if (msg.payload() == nullptr) {
    ProduceDeadLetter(msg, "message has no value");
    return false;
  }
  absl::string_view bytes(static_cast<const char*>(msg.payload()), msg.len());
  absl::Status decoded = options_.input_format == WireFormat::kJson
                             ? engine::DecodeJson(bytes, what, out)
                             : engine::DecodeProto(bytes, what, out);
  if (!decoded.ok()) {
    last_decode_error_ = std::string(decoded.message());
    ProduceDeadLetter(msg, decoded.message());
    return false;
  }
  return true;
}

bool Service::DecodeTransaction(const RdKafka::Message& msg) {
  if (options_.input_format == WireFormat::kJson || msg.payload() == nullptr) {
    return DecodeInput(msg, "a Transaction", tx_.ForDecoding());
  }
  absl::Status decoded = tx_.DecodeProto(
      absl::string_view(static_cast<const char*>(msg.payload()), msg.len()));
  if (!decoded.ok()) {
    ProduceDeadLetter(msg, decoded.message());
    return false;
  }
  return true;
}

void Service::Process(RdKafka::Message& msg) {
  auto it = partitions_.find(msg.partition());
  if (it == partitions_.end()) return;  // revoked meanwhile
  Partition& part = *it->second;
  // The topic's name without a copy (RdKafka::Message::topic_name() makes
  // one per message).
  const char* topic = rd_kafka_topic_name(
      static_cast<const rd_kafka_message_t*>(msg.c_ptr())->rkt);
  if (options_.topics.overrides == topic) {
    ProcessOverride(msg, part);
    return;
  }
  const int64_t started_us = clock_->NowMicros();
  ++stats_.consumed;
  ++since_commit_;
  part.next = msg.offset() + 1;
  if (!DecodeTransaction(msg)) {
    // A JSON transaction with an unknown field or enum name (a newer
    // producer's CHANNEL_KIOSK) still says which transaction it is: it is
    // answered REJECTED_INPUT, as the same in protobuf would be, instead
    // of leaving core banking without a decision (the message is in the
    // dead letters too, for who watches the schema).
    if (options_.input_format != WireFormat::kJson ||
        msg.payload() == nullptr ||
        !engine::DecodeTransactionJsonLenient(
             absl::string_view(static_cast<const char*>(msg.payload()),
                               msg.len()),
             tx_.ForDecoding())
             .ok() ||
        !part.screener->RejectUndecodable(*tx_, last_decode_error_,
                                          &decision_)) {
      return;
    }
    ProduceDecision(decision_, msg.key());
    ++stats_.decided;
    ++(decision_.duplicate() ? stats_.duplicates : stats_.rejected);
    if (observer_ != nullptr) {
      observer_->Decided(decision_, clock_->NowMicros() - started_us, 0);
    }
    return;
  }
  absl::Status screened = part.screener->Screen(*tx_, &decision_);
  if (!screened.ok()) {
    // The rules could not complete: the channel's fail-safe verdict, and
    // the reason, so that a person looks at it.
    ++stats_.fail_safe;
    Log(LogLevel::kError,
        absl::StrCat("transaction ", tx_->transaction_id(),
                     ": screening failed: ", screened.message()));
    const int channel = tx_->channel();
    part.screener->FailSafe(*tx_,
                            channel >= 0 && channel < rules::kChannelCount
                                ? options_.fail_safe[channel]
                                : v1::VERDICT_INTERCEPT,
                            screened.message(), started_us, &decision_);
  }
  ProduceDecision(decision_, msg.key());
  if (decision_.reports_size() > 0) ProduceReport(part);
  if (const engine::Screener::Retracted* r = part.screener->retracted()) {
    ProduceRetraction(r->transaction_id, tx_->customer_id(), r->occurred_at_us,
                      r->cause, r->by_transaction_id);
  }
  if (part.shadow_screener != nullptr) ScreenShadow(part);
  ++stats_.decided;
  if (decision_.verdict() == v1::VERDICT_INTERCEPT ||
      decision_.verdict() == v1::VERDICT_BLOCK) {
    events_.Clear();
    part.holds->Decided(*tx_, decision_, part.screener->rules().time_zone(),
                        &events_);
    stats_.holds_opened += static_cast<int64_t>(events_.holds.size());
    Publish(events_);
  }
  if (decision_.verdict() == v1::VERDICT_REJECTED_INPUT) ++stats_.rejected;
  if (decision_.duplicate()) ++stats_.duplicates;
  if (decision_.late()) ++stats_.late;
  if (observer_ != nullptr) {
    const int64_t now_us = clock_->NowMicros();
    const int64_t age_us =
        tx_->has_occurred_at()
            ? now_us - engine::TimestampMicros(tx_->occurred_at())
            : 0;
    observer_->Decided(decision_, now_us - started_us, age_us);
  }
}

void Service::Produce(const std::string& topic, const std::string& key,
                      const google::protobuf::Message& message,
                      const char* type) {
  Encode(message);
  RdKafka::Headers* headers = nullptr;
  if (type != nullptr) {
    headers = RdKafka::Headers::create();
    headers->add("txscreen.type", type);
  }
  Send(topic, &key, out_, headers);
}

void Service::Publish(const engine::HoldEvents& events) {
  const ServeTopics& t = options_.topics;
  for (const v1::Hold& hold : events.holds) {
    Produce(t.holds, hold.transaction_id(), hold);
  }
  std::shared_ptr<const engine::Roster> roster = this->roster();
  auto branch_of = [&](const std::string& staff_id) -> std::string {
    const engine::Staff* s = roster->Find(staff_id);
    return s != nullptr ? s->branch_id : "";
  };
  absl::MutexLock lock(&override_stats_mu_);
  auto stats_of = [&](const std::string& staff_id) -> TellerOverrideStats& {
    std::string branch = branch_of(staff_id);
    TellerOverrideStats& s = override_stats_[{branch, staff_id}];
    s.branch_id = branch;
    s.teller_id = staff_id;
    return s;
  };
  for (const v1::OverrideResult& r : events.results) {
    Produce(t.override_results, r.override_id(), r);
    if (r.duplicate()) {
      ++stats_.overrides_duplicate;
    } else if (r.accepted()) {
      ++stats_.overrides_accepted;
    } else {
      ++stats_.overrides_refused;
      ++stats_of(r.teller_id()).refused;
      Log(LogLevel::kInfo,
          absl::StrCat("override ", r.override_id(), " of ", r.transaction_id(),
                       " by ", r.teller_id(), " refused (", r.refusal_code(),
                       "): ", r.refusal_reason()));
    }
    if (observer_ != nullptr && (r.duplicate() || !r.accepted())) {
      observer_->Answered(r, nullptr, branch_of(r.teller_id()));
    }
  }
  for (const v1::Disposition& d : events.dispositions) {
    Produce(t.dispositions, d.customer_id(), d);
    if (!engine::HappenedAfter(d.outcome())) {
      // Its large-value report record, if any, is withdrawn.
      ProduceRetraction(d.transaction_id(), d.customer_id(),
                        engine::TimestampMicros(d.occurred_at()),
                        engine::OutcomeName(d.outcome()), "");
    }
    if (d.outcome() == v1::OUTCOME_ESCALATED_TIMEOUT) {
      ++stats_.holds_escalated;
      Produce(t.alerts, d.customer_id(), d, "disposition");
      Log(LogLevel::kWarning,
          absl::StrCat("hold ", d.transaction_id(), " at branch ",
                       d.branch_id(),
                       " was not answered in time: escalated to compliance"));
      continue;
    }
    TellerOverrideStats& s = stats_of(d.teller_id());
    switch (d.outcome()) {
      case v1::OUTCOME_RELEASE:
        ++s.releases;
        ++stats_of(d.authorizer_id()).authorised_releases;
        break;
      case v1::OUTCOME_CANCEL:
        ++s.cancels;
        break;
      case v1::OUTCOME_REPORT_POLICE:
        ++s.police_reports;
        break;
      default:
        ++s.escalations;
    }
    ++s.answered;
    s.answer_ms_total += d.answered_after_ms();
    s.answer_ms_max = std::max(s.answer_ms_max, d.answered_after_ms());
    Log(LogLevel::kInfo,
        absl::StrCat("hold ", d.transaction_id(), " ",
                     engine::OutcomeName(d.outcome()), " by ", d.teller_id(),
                     d.authorizer_id().empty()
                         ? ""
                         : absl::StrCat(", authorised by ", d.authorizer_id()),
                     " after ", d.answered_after_ms(), " ms"));
    if (observer_ != nullptr) {
      for (const v1::OverrideResult& r : events.results) {
        if (r.override_id() == d.override_id() && r.accepted()) {
          observer_->Answered(r, &d, s.branch_id);
        }
      }
    }
  }
  for (const std::string& note : events.notes) Log(LogLevel::kInfo, note);
}

void Service::ProcessOverride(RdKafka::Message& msg, Partition& part) {
  ++stats_.consumed;
  ++since_commit_;
  part.overrides_next = msg.offset() + 1;
  if (!DecodeInput(msg, "an Override", &override_)) return;
  std::shared_ptr<const engine::Roster> roster = this->roster();
  events_.Clear();
  absl::Status answered =
      part.holds->Answer(override_, *roster, part.screener.get(), &events_);
  if (!answered.ok()) {
    // The state store failed; the result says ENGINE_ERROR, try again.
    Log(LogLevel::kError, absl::StrCat("override ", override_.override_id(),
                                       ": ", answered.message()));
  }
  Publish(events_);
}

void Service::ExpireHolds() {
  int64_t pending = 0;
  for (auto& [p, part] : partitions_) {
    events_.Clear();
    if (absl::Status s = part->holds->ExpireDue(part->screener.get(), &events_);
        !s.ok()) {
      Log(LogLevel::kError,
          absl::StrCat("expiring holds of partition ", p, ": ", s.message()));
    }
    if (!events_.holds.empty() || !events_.notes.empty()) {
      Publish(events_);
    }
    pending += static_cast<int64_t>(part->holds->pending());
  }
  stats_.holds_pending.store(pending);
}

// A commit handed to the committer thread, and its result.
struct Service::PendingCommit {
  struct Part {
    int32_t id = 0;
    std::vector<engine::StateWrite> writes;
    int64_t next = -1;  // input offsets committed; -1: unchanged
    int64_t overrides_next = -1;
  };
  std::vector<Part> parts;
  std::unique_ptr<RdKafka::ConsumerGroupMetadata> group;
  // The result: OK, or where it failed. A Kafka error keeps its code and
  // fatality for FatalTxnError, on the processing thread.
  enum class Failure { kNone, kKafka, kLocalStore };
  Failure failure = Failure::kNone;
  std::string what;
  bool at_begin = false;  // failed in begin_transaction
  int64_t began_us = 0;   // SteadyMicros at begin_transaction
  std::unique_ptr<RdKafka::Error> error;
};

absl::Status Service::CommitCycle(bool wait) {
  if (commit_in_flight_) {
    // One at a time; a screening thread that has gone far ahead waits.
    const bool block =
        wait || since_commit_ >= options_.commit_max_transactions;
    if (absl::Status s = FinishCommit(block); !s.ok()) return s;
    if (commit_in_flight_) return absl::OkStatus();  // next loop
  }
  next_commit_ms_ = NowMs() + options_.commit_interval_ms;
  std::vector<Partition*> changed;
  for (auto& [p, part] : partitions_) {
    if (part->changed()) changed.push_back(part.get());
  }
  if (changed.empty()) return absl::OkStatus();
  if (txn_broken_) {
    if (absl::Status s = RecoverTxnProducer(); !s.ok()) {
      // Probably the broker is still away: the next cycle tries again.
      Log(LogLevel::kWarning, s.message());
      return absl::OkStatus();
    }
  }
  // 1. Every decision and dead letter so far is acknowledged.
  const int64_t ack_wait_from = SteadyMicros();
  if (producer_->flush(options_.kafka_timeout_ms) != RdKafka::ERR_NO_ERROR) {
    return AbortAndRewind(absl::StrCat("decisions not acknowledged within ",
                                       options_.kafka_timeout_ms, " ms"));
  }
  const int64_t hand_off_from = SteadyMicros();
  std::string why;
  if (reports_->Failed(&why)) return AbortAndRewind(why);

  // The state changes, handed over: screening goes on meanwhile.
  auto commit = std::make_unique<PendingCommit>();
  for (Partition* part : changed) {
    PendingCommit::Part& c = commit->parts.emplace_back();
    c.id = part->id;
    c.next = part->next;
    c.overrides_next = part->overrides_next;
    const std::string position =
        absl::StrCat(part->next >= 0 ? part->next : part->committed);
    // Right before the flush that takes what it marks (and never between
    // a hand-off and its commit: the store has everything before).
    if (options_.state_sweep_keys > 0) {
      absl::StatusOr<int64_t> marked = part->screener->SweepIdle(
          static_cast<size_t>(options_.state_sweep_keys));
      if (!marked.ok()) {
        ++stats_.sweep_failures;
        Log(LogLevel::kWarning,
            absl::StrCat("sweep of partition ", part->id,
                         " skipped: ", marked.status().message()));
      }
    }
    const int64_t swept_before = part->state->swept_entities();
    c.writes = part->state->BuildFlush(position);
    stats_.swept_entities += part->state->swept_entities() - swept_before;
    for (engine::StateWrite& w : part->holds->BuildFlush()) {
      c.writes.push_back(std::move(w));
    }
    part->state->HandOff();
    part->holds->HandOff();
    part->next = -1;
    part->overrides_next = -1;
    if (part->shadow_state != nullptr) {
      // Written before the active state is safe: after a crash in between
      // its position is ahead of the active one's, and it restarts empty
      // (it is not replicated either).
      if (options_.state_sweep_keys > 0 &&
          !part->shadow_screener
               ->SweepIdle(static_cast<size_t>(options_.state_sweep_keys))
               .ok()) {
        ++stats_.sweep_failures;
      }
      if (absl::Status s = part->shadow_state->Flush(position); !s.ok()) {
        ++stats_.shadow_failures;
        Log(LogLevel::kWarning, absl::StrCat("shadow state: ", s.message()));
        ReopenShadow(*part);
      }
    }
  }
  commit->group.reset(consumer_->groupMetadata());
  const int64_t hand_off_to = SteadyMicros();
  NoteSlowCommitStep("waiting for decision acknowledgements",
                     hand_off_from - ack_wait_from);
  NoteSlowCommitStep("building the state writes", hand_off_to - hand_off_from);
  if (observer_ != nullptr) {
    observer_->CommitStarted(hand_off_from - ack_wait_from,
                             hand_off_to - hand_off_from);
  }
  since_commit_ = 0;
  commit_in_flight_ = true;
  if (!committer_.joinable()) {
    // No committer (not running yet, or stopped: the consumer's close
    // revokes the partitions after Run): here and now.
    Execute(*commit);
    absl::MutexLock lock(&commit_mu_);
    commit_done_ = std::move(commit);
    commit_finished_.store(true, std::memory_order_release);
  } else {
    absl::MutexLock lock(&commit_mu_);
    commit_work_ = std::move(commit);
  }
  if (wait) return FinishCommit(true);
  return absl::OkStatus();
}

bool Service::CommitterHasWork() const {
  return committer_stop_ || commit_work_ != nullptr;
}

bool Service::CommitIsDone() const { return commit_done_ != nullptr; }

void Service::RunCommitter() {
  while (true) {
    std::unique_ptr<PendingCommit> commit;
    {
      absl::MutexLock lock(&commit_mu_);
      commit_mu_.Await(absl::Condition(this, &Service::CommitterHasWork));
      if (commit_work_ == nullptr) return;  // stopping, nothing to do
      commit = std::move(commit_work_);
    }
    Execute(*commit);
    absl::MutexLock lock(&commit_mu_);
    commit_done_ = std::move(commit);
    commit_finished_.store(true, std::memory_order_release);
  }
}

void Service::NoteSlowCommitStep(absl::string_view step, int64_t us) {
  if (us < kSlowCommitStepUs) return;
  Log(LogLevel::kWarning,
      absl::StrCat("slow commit cycle: ", step, " took ", us / 1000,
                   " ms (screening waits meanwhile only for the steps on the "
                   "processing thread)"));
}

void Service::Execute(PendingCommit& commit) {
  const int64_t from = SteadyMicros();
  ExecuteCommit(commit);
  const int64_t us = SteadyMicros() - from;
  NoteSlowCommitStep("the Kafka transaction and the local store write", us);
  if (observer_ != nullptr) observer_->CommitExecuted(us);
}

void Service::ExecuteCommit(PendingCommit& commit) {
  auto failed = [&commit](absl::string_view what, RdKafka::Error* e) {
    commit.failure = PendingCommit::Failure::kKafka;
    commit.what = std::string(what);
    commit.error.reset(e);
  };
  // 2. State changes and offsets, in one Kafka transaction.
  commit.began_us = SteadyMicros();
  if (RdKafka::Error* e = txn_->begin_transaction()) {
    commit.at_begin = true;
    return failed("begin transaction", e);
  }
  txn_reports_->Reset();
  std::vector<RdKafka::TopicPartition*> offsets;
  struct Free {
    std::vector<RdKafka::TopicPartition*>* v;
    ~Free() { RdKafka::TopicPartition::destroy(*v); }
  } free_offsets{&offsets};
  for (const PendingCommit::Part& part : commit.parts) {
    const std::string prefix = engine::PartitionPrefix(part.id);
    for (const engine::StateWrite& w : part.writes) {
      std::optional<ChangelogRecord> r =
          ToChangelogRecord(w, prefix, options_.topics.changelog);
      if (!r.has_value()) continue;
      while (true) {
        RdKafka::ErrorCode e = txn_->produce(
            *r->topic, part.id, RdKafka::Producer::RK_MSG_COPY,
            r->value.has_value() ? const_cast<char*>(r->value->data())
                                 : nullptr,
            r->value.has_value() ? r->value->size() : 0, r->key.data(),
            r->key.size(), 0, nullptr);
        if (e == RdKafka::ERR__QUEUE_FULL) {
          txn_->poll(10);
          continue;
        }
        if (e != RdKafka::ERR_NO_ERROR) {
          return failed(
              absl::StrCat("producing the changelog: ", RdKafka::err2str(e)),
              nullptr);
        }
        break;
      }
    }
    if (part.next >= 0) {
      offsets.push_back(RdKafka::TopicPartition::create(
          options_.topics.transactions, part.id, part.next));
    }
    if (part.overrides_next >= 0) {
      offsets.push_back(RdKafka::TopicPartition::create(
          options_.topics.overrides, part.id, part.overrides_next));
    }
  }
  if (!offsets.empty()) {
    if (RdKafka::Error* e = txn_->send_offsets_to_transaction(
            offsets, commit.group.get(), options_.kafka_timeout_ms)) {
      return failed("committing offsets", e);
    }
  }
  if (RdKafka::Error* e = txn_->commit_transaction(options_.kafka_timeout_ms)) {
    return failed("committing the transaction", e);
  }
  // 3. The local store, with the changelog checkpoints.
  for (PendingCommit::Part& part : commit.parts) {
    for (const std::string* topic : {&options_.topics.changelog.state,
                                     &options_.topics.changelog.dedupe}) {
      int64_t next = txn_reports_->NextOffset(*topic, part.id);
      if (next >= 0) {
        part.writes.push_back(CheckpointWrite(part.id, *topic, next));
      }
    }
    if (absl::Status s = store_->Commit(part.writes); !s.ok()) {
      commit.failure = PendingCommit::Failure::kLocalStore;
      commit.what = std::string(s.message());
      return;
    }
  }
}

absl::Status Service::FinishCommit(bool wait) {
  if (!commit_in_flight_) return absl::OkStatus();
  // Asked after every message while a commit runs: no lock until it is done.
  if (!wait && !commit_finished_.load(std::memory_order_acquire)) {
    return absl::OkStatus();
  }
  std::unique_ptr<PendingCommit> commit;
  {
    absl::MutexLock lock(&commit_mu_);
    if (wait) {
      commit_mu_.Await(absl::Condition(this, &Service::CommitIsDone));
    }
    commit = std::move(commit_done_);
    commit_finished_.store(false, std::memory_order_relaxed);
  }
  if (commit == nullptr) return absl::OkStatus();
  commit_in_flight_ = false;
  switch (commit->failure) {
    case PendingCommit::Failure::kNone:
      break;
    case PendingCommit::Failure::kLocalStore:
      // Kafka has the state; a restart restores it from the changelog.
      return absl::DataLossError(
          absl::StrCat("local state store: ", commit->what));
    case PendingCommit::Failure::kKafka:
      if (commit->error == nullptr) {
        return AbortAndRewind(commit->what, commit->began_us);
      }
      if (auto s =
              FatalTxnError(*commit->error, commit->what, commit->began_us)) {
        return *s;
      }
      if (commit->at_begin && !txn_broken_) {
        return absl::InternalError(
            absl::StrCat("begin transaction: ", commit->error->str()));
      }
      return AbortAndRewind(
          commit->at_begin
              ? commit->what
              : absl::StrCat(commit->what, ": ", commit->error->str()),
          commit->began_us);
  }
  for (const PendingCommit::Part& c : commit->parts) {
    auto it = partitions_.find(c.id);
    if (it == partitions_.end()) continue;
    Partition& part = *it->second;
    part.state->Committed();
    part.holds->Committed();
    if (c.next >= 0) part.committed = c.next;
    if (c.overrides_next >= 0) part.overrides_committed = c.overrides_next;
  }
  last_commit_failed_.clear();
  ++stats_.commits;
  return absl::OkStatus();
}

absl::Status Service::AbortAndRewind(absl::string_view why, int64_t began_us) {
  ++stats_.aborts;
  last_commit_failed_ = std::string(why);
  Log(LogLevel::kWarning,
      absl::StrCat("commit failed, rewinding to the last commit: ", why));
  if (!txn_broken_) {
    if (RdKafka::Error* e =
            txn_->abort_transaction(options_.kafka_timeout_ms)) {
      std::unique_ptr<RdKafka::Error> owned(e);
      // No transaction in progress (ERR__STATE) is fine; a fatal error
      // marks the producer for recreation (or stops us when fenced).
      if (auto s = FatalTxnError(*e, "abort", began_us)) return *s;
      if (!txn_broken_ && e->code() != RdKafka::ERR__STATE) {
        // Unfinished (timed out while the broker is away): the producer
        // would refuse to begin another transaction until it is. A new
        // one fences this transaction once the broker answers.
        Log(LogLevel::kWarning,
            absl::StrCat("abort: ", e->str(),
                         "; the transactional producer will be recreated"));
        txn_broken_ = true;
      }
    }
  }
  if (std::string fatal;
      producer_->fatal_error(fatal) != RdKafka::ERR_NO_ERROR) {
    // The idempotent producer gave up (librdkafka: e.g. a sequence gap it
    // cannot repair); what it still held is decided again after the
    // rewind, by a new one.
    Log(LogLevel::kWarning, absl::StrCat("decisions producer: fatal error: ",
                                         fatal, "; recreating it"));
    if (absl::Status s = MakeProducer(); !s.ok()) return s;
    ++stats_.producer_recreations;
  } else {
    producer_->flush(options_.kafka_timeout_ms);
  }
  reports_->Reset();
  since_commit_ = 0;
  for (auto& [p, part] : partitions_) {
    const int64_t committed = part->committed;
    const int64_t overrides_committed = part->overrides_committed;
    const bool has_overrides = part->has_overrides;
    // A commit that failed may still have reached the changelog (a timeout
    // after the coordinator prepared it): the chunk numbers it used are
    // never given again, so a restore cannot mix its records with others.
    absl::StatusOr<std::unique_ptr<Partition>> fresh =
        OpenPartition(p, part->state->next_chunk());
    if (!fresh.ok()) return fresh.status();
    part = std::move(*fresh);
    part->committed = committed;
    part->overrides_committed = overrides_committed;
    part->has_overrides = has_overrides;
    std::vector<std::pair<const std::string*, int64_t>> seeks = {
        {&options_.topics.transactions, committed}};
    if (has_overrides) {
      seeks.push_back({&options_.topics.overrides, overrides_committed});
    }
    for (const auto& [topic, offset] : seeks) {
      std::unique_ptr<RdKafka::TopicPartition> tp(
          RdKafka::TopicPartition::create(*topic, p, offset));
      if (RdKafka::ErrorCode e =
              consumer_->seek(*tp, options_.kafka_timeout_ms);
          e != RdKafka::ERR_NO_ERROR) {
        return absl::UnavailableError(absl::StrCat("rewinding ", *topic, "[", p,
                                                   "]: ", RdKafka::err2str(e)));
      }
    }
  }
  return absl::OkStatus();
}

void Service::ApplyPendingRules() {
  std::shared_ptr<const rules::RuleSet> r, shadow;
  {
    absl::MutexLock lock(&rules_mu_);
    if (pending_rules_ == nullptr && pending_shadow_rules_ == nullptr) return;
    r = std::move(pending_rules_);
    pending_rules_ = nullptr;
    if (r != nullptr) rules_ = r;
    shadow = std::move(pending_shadow_rules_);
    pending_shadow_rules_ = nullptr;
    if (shadow != nullptr) shadow_rules_ = shadow;
  }
  for (auto& [p, part] : partitions_) {
    if (r != nullptr) part->screener->SetRules(r);
    if (shadow != nullptr && part->shadow_screener != nullptr) {
      part->shadow_screener->SetRules(shadow);
    }
  }
  if (r != nullptr)
    Log(LogLevel::kInfo, absl::StrCat("rules ", r->version(), " active"));
  if (shadow != nullptr) {
    Log(LogLevel::kInfo,
        absl::StrCat("shadow rules ", shadow->version(), " active"));
  }
}

std::shared_ptr<const engine::Roster> Service::roster() const {
  absl::MutexLock lock(&rules_mu_);
  return roster_;
}

std::vector<TellerOverrideStats> Service::OverrideStats() const {
  absl::MutexLock lock(&override_stats_mu_);
  std::vector<TellerOverrideStats> out;
  out.reserve(override_stats_.size());
  for (const auto& [key, s] : override_stats_) out.push_back(s);
  return out;
}

std::string Service::OverrideStatsJson() const {
  std::string out = "{\"tellers\":[";
  bool first = true;
  for (const TellerOverrideStats& s : OverrideStats()) {
    absl::StrAppend(
        &out, first ? "" : ",", "{\"branch_id\":\"", JsonEscape(s.branch_id),
        "\",\"teller_id\":\"", JsonEscape(s.teller_id),
        "\",\"releases\":", s.releases, ",\"cancels\":", s.cancels,
        ",\"police_reports\":", s.police_reports,
        ",\"escalations\":", s.escalations, ",\"refused\":", s.refused,
        ",\"authorised_releases\":", s.authorised_releases,
        ",\"answered\":", s.answered, ",\"answer_ms_mean\":",
        s.answered > 0 ? s.answer_ms_total / s.answered : 0,
        ",\"answer_ms_max\":", s.answer_ms_max, "}");
    first = false;
  }
  absl::StrAppend(&out, "]}");
  return out;
}

absl::Status Service::Reload() {
  // The roster and the rules reload apart: a broken file keeps its own old
  // version and holds nothing else back (a teller taken off the roster
  // loses access even while a rule edit does not compile).
  absl::Status roster_status = absl::OkStatus();
  if (!options_.roster_path.empty()) {
    absl::StatusOr<std::shared_ptr<const engine::Roster>> loaded =
        engine::Roster::Load(options_.roster_path);
    absl::MutexLock lock(&rules_mu_);
    if (!loaded.ok()) {
      ++stats_.reload_failures;
      roster_status = loaded.status();
      roster_error_ = std::string(loaded.status().message());
      Log(LogLevel::kError,
          absl::StrCat("roster reload failed; the active roster stays:\n",
                       roster_error_));
    } else {
      roster_error_.clear();
      roster_ = *loaded;
      Log(LogLevel::kInfo,
          absl::StrCat("staff roster reloaded: ", roster_->size(), " staff"));
    }
  }
  rules::LoadResult pack = rules::LoadRulePack(options_.rules);
  rules::LoadResult candidate;
  if (shadow_store_ != nullptr)
    candidate = rules::LoadRulePack(options_.shadow_rules);
  absl::MutexLock lock(&rules_mu_);
  if (shadow_store_ != nullptr) {
    // The shadow reloads on its own: its failure keeps the old candidate
    // and does not stop the active rules from reloading.
    if (!candidate.errors.empty()) {
      ++stats_.reload_failures;
      shadow_error_ = absl::StrJoin(candidate.errors, "\n");
      Log(LogLevel::kError,
          absl::StrCat("shadow rule reload failed; the shadow rules stay:\n",
                       shadow_error_));
    } else {
      shadow_error_.clear();
      pending_shadow_rules_ = candidate.rule_set;
      Log(LogLevel::kInfo,
          absl::StrCat("shadow rules ", candidate.rule_set->version(),
                       " loaded"));
    }
  }
  if (!pack.errors.empty()) {
    ++stats_.reload_failures;
    rules_error_ = absl::StrJoin(pack.errors, "\n");
    Log(LogLevel::kError,
        absl::StrCat("rule reload failed; the active rules stay:\n",
                     rules_error_));
    return absl::InvalidArgumentError(rules_error_);
  }
  ++stats_.reloads;
  rules_error_.clear();
  rules_loaded_at_ =
      absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  pending_rules_ = pack.rule_set;
  Log(LogLevel::kInfo, absl::StrCat("rules ", pack.rule_set->version(),
                                    " loaded; active from the next "
                                    "transaction"));
  return roster_status;
}

void Service::SetFatal(absl::Status s) {
  {
    absl::MutexLock lock(&fatal_mu_);
    fatal_message_ = std::string(s.message());
  }
  fatal_ = std::move(s);
  failed_.store(true);
}

bool Service::Ready(std::string* why) const {
  if (restoring_.load()) {
    *why = "restoring partition state from the changelog";
    return false;
  }
  if (!assigned_once_.load()) {
    *why = "waiting for the consumer group to assign partitions";
    return false;
  }
  if (failed_.load()) {
    absl::MutexLock lock(&fatal_mu_);
    *why = fatal_message_;
    return false;
  }
  if (assigned_.load() == 0) {
    // It decides nothing: the group took its partitions (after the broker
    // went away, or more instances than partitions).
    *why =
        "no partitions assigned (the broker is unreachable, or the group "
        "has more instances than the topic has partitions)";
    return false;
  }
  return true;
}

std::string Service::RulesStatusJson() const {
  auto quote = [](absl::string_view s) {
    return absl::StrCat("\"", JsonEscape(s), "\"");
  };
  absl::MutexLock lock(&rules_mu_);
  return absl::StrCat(
      "{\"active_version\":", quote(rules_->version()), ",\"pending_version\":",
      pending_rules_ ? quote(pending_rules_->version()) : "null",
      ",\"loaded_at\":", quote(rules_loaded_at_),
      ",\"rules\":", rules_->rules().size(), ",\"paths\":[",
      absl::StrJoin(options_.rules, ",",
                    [&](std::string* out, const std::string& p) {
                      out->append(quote(p));
                    }),
      "],\"last_error\":", rules_error_.empty() ? "null" : quote(rules_error_),
      ",\"shadow_version\":",
      shadow_rules_ ? quote(shadow_rules_->version()) : "null",
      ",\"shadow_last_error\":",
      shadow_error_.empty() ? "null" : quote(shadow_error_),
      ",\"roster_last_error\":",
      roster_error_.empty() ? "null" : quote(roster_error_), "}");
}

std::vector<PartitionLag> Service::Lag() const {
  absl::MutexLock lock(&lag_mu_);
  return lag_;
}

double Service::Throughput() const {
  absl::MutexLock lock(&lag_mu_);
  return throughput_;
}

void Service::UpdateThroughput() {
  const int64_t now = NowMs();
  if (now - throughput_at_ms_ < 1000) return;
  std::vector<PartitionLag> lag;
  std::vector<RdKafka::TopicPartition*> positions;
  // Where each partition is when the consumer has no position yet (none
  // until it reads after an assignment): the next offset to screen, else
  // the committed one. Not the start of the log: a caught-up instance
  // showed its whole topic as lag after a restart.
  std::map<int32_t, int64_t> known;
  for (const auto& [p, part] : partitions_) {
    positions.push_back(
        RdKafka::TopicPartition::create(options_.topics.transactions, p));
    if (part->next >= 0) {
      known[p] = part->next;
    } else if (part->committed >= 0) {
      known[p] = part->committed;
    }
  }
  if (!positions.empty() &&
      consumer_->position(positions) == RdKafka::ERR_NO_ERROR) {
    for (RdKafka::TopicPartition* tp : positions) {
      int64_t low = 0, high = 0;
      if (consumer_->get_watermark_offsets(tp->topic(), tp->partition(), &low,
                                           &high) != RdKafka::ERR_NO_ERROR ||
          high < 0) {
        continue;
      }
      int64_t at = low;
      if (tp->offset() >= 0) {
        at = tp->offset();
      } else if (auto k = known.find(tp->partition()); k != known.end()) {
        at = k->second;
      }
      lag.push_back({tp->partition(), std::max<int64_t>(0, high - at)});
    }
  }
  RdKafka::TopicPartition::destroy(positions);
  const int64_t decided = stats_.decided.load();
  absl::MutexLock lock(&lag_mu_);
  if (throughput_at_ms_ > 0) {
    const double rate = 1000.0 *
                        static_cast<double>(decided - throughput_decided_) /
                        static_cast<double>(now - throughput_at_ms_);
    throughput_ = throughput_ == 0 ? rate : 0.7 * throughput_ + 0.3 * rate;
  }
  throughput_at_ms_ = now;
  throughput_decided_ = decided;
  lag_ = std::move(lag);
}

absl::Status Service::Run() {
  if (RdKafka::ErrorCode e = consumer_->subscribe(
          {options_.topics.transactions, options_.topics.overrides});
      e != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("subscribe: ", RdKafka::err2str(e)));
  }
  Log(LogLevel::kInfo, absl::StrCat("consuming ", options_.topics.transactions,
                                    " at ", bootstrap_, " as ", options_.group,
                                    "/", options_.instance_id));
  next_commit_ms_ = NowMs() + options_.commit_interval_ms;
  committer_ = std::thread([this] {
    // Named for `top -H` and tools/loadtest's CPU per thread (15 bytes at
    // most); the screening thread keeps the process's name.
    pthread_setname_np(pthread_self(), "txscreen-commit");
    RunCommitter();
  });
  int64_t last_error_log_ms = 0;
  while (!stop_.load() && fatal_.ok()) {
    ApplyPendingRules();
    // Past the commit time with a commit still in flight: look for its end
    // every millisecond rather than spin.
    const int wait = static_cast<int>(std::clamp<int64_t>(
        next_commit_ms_ - NowMs(), commit_in_flight_ ? 1 : 0, 100));
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(wait));
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR:
        Process(*msg);
        break;
      case RdKafka::ERR__TIMED_OUT:
      case RdKafka::ERR__PARTITION_EOF:
        break;
      case RdKafka::ERR__FATAL:
        SetFatal(absl::AbortedError(absl::StrCat("consumer: ", msg->errstr())));
        break;
      default:
        // Broker down, transport errors: librdkafka reconnects by itself.
        if (NowMs() - last_error_log_ms > 5000) {
          last_error_log_ms = NowMs();
          Log(LogLevel::kWarning, absl::StrCat("consumer: ", msg->errstr()));
        }
    }
    producer_->poll(0);
    if (shadow_producer_ != nullptr) shadow_producer_->poll(0);
    if (fatal_.ok() && commit_in_flight_) {
      if (absl::Status s = FinishCommit(false); !s.ok()) SetFatal(s);
    }
    if (fatal_.ok() && (NowMs() >= next_commit_ms_ ||
                        since_commit_ >= options_.commit_max_transactions)) {
      if (absl::Status s = CommitCycle(); !s.ok()) SetFatal(s);
    }
    UpdateThroughput();
    if (NowMs() >= next_expiry_ms_) {
      next_expiry_ms_ = NowMs() + 1000;
      ExpireHolds();
    }
  }
  if (fatal_.ok()) {
    if (absl::Status s = CommitCycle(/*wait=*/true); !s.ok()) {
      SetFatal(s);
    } else if (!last_commit_failed_.empty()) {
      // Rewound: nothing is lost (the next start decides again from the
      // last commit), but the stop was not clean.
      SetFatal(absl::UnavailableError(absl::StrCat(
          "the last commit failed (", last_commit_failed_,
          "); the next start decides again from the commit before")));
    }
  }
  StopCommitter();
  Log(LogLevel::kInfo, "leaving the consumer group");
  consumer_->close();
  consumer_closed_ = true;
  producer_->flush(options_.kafka_timeout_ms);
  if (shadow_producer_ != nullptr)
    shadow_producer_->flush(options_.kafka_timeout_ms);
  if (!fatal_.ok()) {
    Log(LogLevel::kError, absl::StrCat("stopped: ", fatal_.message()));
  }
  return fatal_;
}

}  // namespace txscreen::serve
