#include "serve/hold_view.h"

#include <pthread.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "engine/transaction_codec.h"
#include "serve/log.h"

namespace txscreen::serve {

namespace v1 = ::txscreen::v1;

namespace {
constexpr int kTimeoutMs = 30000;
constexpr size_t kMaxResults = 100000;
}  // namespace

HoldView::HoldView(HoldViewOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<HoldView>> HoldView::Start(
    HoldViewOptions options) {
  std::unique_ptr<HoldView> view(new HoldView(std::move(options)));
  if (absl::Status s = view->Connect(); !s.ok()) return s;
  HoldView* self = view.get();
  view->thread_ = std::thread([self] {
    pthread_setname_np(pthread_self(), "txscreen-holds");
    self->Consume();
  });
  return view;
}

HoldView::~HoldView() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (consumer_ != nullptr) consumer_->close();
  if (producer_ != nullptr) producer_->flush(5000);
}

absl::Status HoldView::Connect() {
  auto settings = [&](KafkaSettings defaults, const KafkaSettings& forced) {
    defaults["bootstrap.servers"] = options_.bootstrap;
    defaults["client.id"] = options_.client_id;
    for (const auto& [k, v] : options_.kafka) defaults[k] = v;
    for (const auto& [k, v] : forced) defaults[k] = v;
    return defaults;
  };
  std::string error;
  {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeKafkaConf(
        settings({{"linger.ms", "0"}},
                 {{"enable.idempotence", "true"}, {"acks", "all"}}));
    if (!conf.ok()) return conf.status();
    producer_.reset(RdKafka::Producer::create(conf->get(), error));
    if (producer_ == nullptr) {
      return absl::InternalError(absl::StrCat("console producer: ", error));
    }
  }
  {
    absl::StatusOr<std::unique_ptr<RdKafka::Conf>> conf = MakeKafkaConf(
        settings({{"fetch.wait.max.ms", "20"}},
                 // Assigned, never committed: the group only names us.
                 {{"group.id", absl::StrCat(options_.client_id, ".view")},
                  {"enable.auto.commit", "false"},
                  {"enable.partition.eof", "true"}}));
    if (!conf.ok()) return conf.status();
    consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), error));
    if (consumer_ == nullptr) {
      return absl::InternalError(absl::StrCat("console consumer: ", error));
    }
  }
  std::vector<RdKafka::TopicPartition*> parts;
  struct Free {
    std::vector<RdKafka::TopicPartition*>* v;
    ~Free() { RdKafka::TopicPartition::destroy(*v); }
  } free_parts{&parts};
  for (const auto& [topic, offset] :
       {std::pair<std::string, int64_t>{options_.topics.holds,
                                        RdKafka::Topic::OFFSET_BEGINNING},
        {options_.topics.override_results, RdKafka::Topic::OFFSET_END}}) {
    absl::StatusOr<int> n = PartitionCount(producer_.get(), topic, kTimeoutMs);
    if (!n.ok()) return n.status();
    for (int p = 0; p < *n; ++p) {
      parts.push_back(RdKafka::TopicPartition::create(topic, p, offset));
    }
  }
  if (RdKafka::ErrorCode e = consumer_->assign(parts);
      e != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("console consumer: assign: ", RdKafka::err2str(e)));
  }
  return absl::OkStatus();
}

void HoldView::Consume() {
  int64_t last_error_log = 0;
  while (!stop_.load()) {
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(100));
    producer_->poll(0);
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR:
        Apply(*msg);
        break;
      case RdKafka::ERR__PARTITION_EOF:
      case RdKafka::ERR__TIMED_OUT:
        // Nothing more for now: what is read is what there is.
        if (!caught_up_.load()) caught_up_.store(true);
        break;
      default: {
        const int64_t now = absl::ToUnixSeconds(absl::Now());
        if (now - last_error_log >= 5) {
          last_error_log = now;
          Log(LogLevel::kWarning, absl::StrCat("console: ", msg->errstr()));
        }
      }
    }
  }
}

void HoldView::Apply(const RdKafka::Message& msg) {
  if (msg.payload() == nullptr) return;  // a tombstone: nothing to show
  absl::string_view bytes(static_cast<const char*>(msg.payload()), msg.len());
  const bool json = options_.output_format == WireFormat::kJson;
  if (msg.topic_name() == options_.topics.holds) {
    v1::Hold hold;
    absl::Status s = json ? engine::DecodeJson(bytes, "a Hold", &hold)
                          : engine::DecodeProto(bytes, "a Hold", &hold);
    if (!s.ok()) {
      Log(LogLevel::kWarning,
          absl::StrCat("console: ", msg.topic_name(), "[", msg.partition(),
                       "]@", msg.offset(), ": ", s.message()));
      return;
    }
    absl::MutexLock lock(&mu_);
    std::string id = hold.transaction_id();
    holds_[id] = std::move(hold);
    ++version_;
    Prune(absl::Now());
    return;
  }
  v1::OverrideResult result;
  absl::Status s =
      json ? engine::DecodeJson(bytes, "an OverrideResult", &result)
           : engine::DecodeProto(bytes, "an OverrideResult", &result);
  if (!s.ok()) return;
  absl::MutexLock lock(&mu_);
  const std::string id = result.override_id();
  Results& seen = results_[id];
  if (seen.count++ == 0) result_order_.push_back(id);
  seen.latest = std::move(result);
  while (result_order_.size() > kMaxResults) {
    results_.erase(result_order_.front());
    result_order_.pop_front();
  }
}

void HoldView::Prune(absl::Time now) {
  if (now - last_prune_ < absl::Seconds(10)) return;
  last_prune_ = now;
  const int64_t keep_us = absl::ToInt64Microseconds(options_.keep_resolved);
  const int64_t now_us = absl::ToUnixMicros(now);
  absl::erase_if(holds_, [&](const auto& entry) {
    const v1::Hold& h = entry.second;
    if (h.status() == v1::HOLD_STATUS_PENDING) {
      // Escalated by now, unless its owner is down: then still shown.
      return engine::TimestampMicros(h.expires_at()) + keep_us < now_us;
    }
    return engine::TimestampMicros(h.disposition().at()) + keep_us < now_us;
  });
}

std::vector<v1::Hold> HoldView::Holds(absl::string_view branch_id,
                                      bool recent) const {
  std::vector<v1::Hold> out;
  const int64_t since_us =
      absl::ToUnixMicros(absl::Now() - options_.keep_resolved);
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, h] : holds_) {
      if (!branch_id.empty() && h.branch_id() != branch_id) continue;
      if (h.status() == v1::HOLD_STATUS_PENDING ||
          (recent &&
           engine::TimestampMicros(h.disposition().at()) >= since_us)) {
        out.push_back(h);
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const v1::Hold& a, const v1::Hold& b) {
    return engine::TimestampMicros(a.opened_at()) >
           engine::TimestampMicros(b.opened_at());
  });
  return out;
}

std::optional<v1::Hold> HoldView::Find(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = holds_.find(id);
  if (it == holds_.end()) return std::nullopt;
  return it->second;
}

uint64_t HoldView::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

uint64_t HoldView::WaitForChange(uint64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return version_ != seen;
  };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return version_;
}

absl::StatusOr<v1::OverrideResult> HoldView::Submit(const v1::Override& o,
                                                    int32_t partition,
                                                    absl::Duration timeout) {
  std::string bytes;
  if (options_.input_format == WireFormat::kJson) {
    if (absl::Status s = engine::EncodeJson(o, &bytes); !s.ok()) return s;
  } else {
    o.SerializeToString(&bytes);
  }
  const std::string& id = o.override_id();
  // Results of this id that came before this message was sent.
  uint64_t before = 0;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = results_.find(id); it != results_.end()) {
      before = it->second.count;
    }
  }
  RdKafka::ErrorCode e = producer_->produce(
      options_.topics.overrides, partition, RdKafka::Producer::RK_MSG_COPY,
      bytes.data(), bytes.size(), o.customer_id().data(),
      o.customer_id().size(), 0, nullptr);
  if (e != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("cannot send the override: ", RdKafka::err2str(e)));
  }
  producer_->poll(0);
  absl::MutexLock lock(&mu_);
  auto arrived = [this, &id, before]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    auto it = results_.find(id);
    return it != results_.end() && it->second.count > before;
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&arrived), timeout)) {
    return absl::DeadlineExceededError(
        "the override was sent; its result has not arrived yet");
  }
  return results_.at(id).latest;
}

}  // namespace txscreen::serve
