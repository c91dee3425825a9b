#include "bench/open_loop.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/clock.h"
#include "engine/transaction_codec.h"
#include "serve/kafka_util.h"

namespace txscreen::bench {

void DeliveryCounter::dr_cb(RdKafka::Message& message) {
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    delivered.fetch_add(1, std::memory_order_relaxed);
  } else if (failed.fetch_add(1, std::memory_order_relaxed) < 5) {
    std::cerr << "not delivered: " << message.errstr() << "\n";
  }
}

absl::StatusOr<std::unique_ptr<RdKafka::Producer>> MakeOpenLoopProducer(
    const std::map<std::string, std::string>& settings,
    DeliveryCounter* deliveries) {
  serve::KafkaSettings all = {{"linger.ms", "2"},
                              {"batch.size", "1000000"},
                              {"queue.buffering.max.messages", "1000000"},
                              {"enable.idempotence", "true"}};
  for (const auto& [k, v] : settings) all[k] = v;
  auto conf = serve::MakeKafkaConf(all);
  if (!conf.ok()) return conf.status();
  std::string err;
  if ((*conf)->set("dr_cb", deliveries, err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(err);
  }
  std::unique_ptr<RdKafka::Producer> producer(
      RdKafka::Producer::create(conf->get(), err));
  if (!producer) {
    return absl::InternalError(absl::StrCat("cannot create a producer: ", err));
  }
  return producer;
}

int64_t WallMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void WaitUntil(RdKafka::Producer* producer, int64_t due_us) {
  for (int64_t now = WallMicros(); now < due_us; now = WallMicros()) {
    if (due_us - now > 2000) {
      producer->poll(static_cast<int>((due_us - now) / 2000));
      continue;
    }
    // Never a spin on the clock: at 16,000/s that took half of the driver's
    // CPU, on the core it shares with the engine. At least kMinSleepUs per
    // sleep, so at high rates one wake-up sends every message due by then.
    std::this_thread::sleep_for(
        std::chrono::microseconds(std::max(due_us - now, kMinSleepUs)));
  }
}

absl::Status Produce(RdKafka::Producer* producer, const std::string& topic,
                     absl::string_view bytes, absl::string_view key,
                     RdKafka::Headers* headers) {
  for (;;) {
    RdKafka::ErrorCode e = producer->produce(
        topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(bytes.data()), bytes.size(), key.data(), key.size(),
        0, headers, nullptr);
    if (e == RdKafka::ERR_NO_ERROR) return absl::OkStatus();
    if (e != RdKafka::ERR__QUEUE_FULL) {
      delete headers;  // ours unless produce succeeded
      return absl::UnavailableError(
          absl::StrCat("produce to ", topic, " failed: ", RdKafka::err2str(e)));
    }
    producer->poll(1);
  }
}

absl::Status ParseKeyValues(absl::string_view pairs,
                            std::map<std::string, std::string>* settings) {
  for (absl::string_view kv : absl::StrSplit(pairs, ',', absl::SkipEmpty())) {
    const size_t eq = kv.find('=');
    if (eq == 0 || eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("KEY=VALUE pairs expected, not '", kv, "'"));
    }
    (*settings)[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  return absl::OkStatus();
}

int64_t ReplaySchedule::Next(int64_t event_us) {
  int64_t due;
  if (rate_ > 0) {
    // From the index, so that rounding never accumulates.
    due = static_cast<int64_t>(static_cast<double>(count_) * 1e6 / rate_);
  } else {
    if (count_ == 0) first_event_us_ = event_us;
    // Clamped: a far-off time in the file, or a tiny speed, must not
    // overflow the conversion (~30,000 years either way is "never").
    const double gap_us = std::clamp(
        static_cast<double>(event_us - first_event_us_) / speed_, -1e18, 1e18);
    due = static_cast<int64_t>(gap_us);
  }
  ++count_;
  latest_us_ = std::max(latest_us_, due);
  return latest_us_;
}

absl::StatusOr<OpenLoopResult> RunOpenLoop(
    const OpenLoopOptions& options, TransactionGenerator* gen,
    RdKafka::Producer* producer,
    const std::function<void(const txscreen::v1::Transaction&, int64_t, bool)>&
        on_send) {
  std::mt19937_64 rng(options.seed ^ 0x5eed);
  std::exponential_distribution<double> gap(options.rate);
  double offset_s = 0;
  txscreen::v1::Transaction tx;
  std::string bytes;
  OpenLoopResult result;
  while (result.sent < options.max_count) {
    // Even spacing from the index, so that rounding never accumulates.
    const int64_t intended_us =
        options.start_us +
        static_cast<int64_t>(options.poisson
                                 ? offset_s * 1e6
                                 : static_cast<double>(result.sent) * 1e6 /
                                       options.rate);
    if (intended_us >= options.end_us) break;
    if (options.poisson) offset_s += gap(rng);
    gen->Next(&tx);
    // The generator's event time becomes the intended send time; the
    // account's opening moves with it, so that its age stays what the
    // generator meant (and never comes after the transaction).
    const int64_t shift_us =
        intended_us - engine::TimestampMicros(tx.occurred_at());
    tx.mutable_occurred_at()->set_seconds(intended_us / 1000000);
    tx.mutable_occurred_at()->set_nanos(
        static_cast<int32_t>(intended_us % 1000000) * 1000);
    if (tx.has_account_opened_at()) {
      engine::SetTimestampMicros(
          engine::TimestampMicros(tx.account_opened_at()) + shift_us,
          tx.mutable_account_opened_at());
    }
    if (options.json) {
      if (absl::Status s = engine::EncodeJson(tx, &bytes); !s.ok()) return s;
    } else {
      tx.SerializeToString(&bytes);
    }
    if (options.stop != nullptr) {
      // A long gap is waited in steps, so that a stop is seen.
      while (!options.stop->load() && WallMicros() + 200000 < intended_us) {
        WaitUntil(producer, WallMicros() + 200000);
      }
      if (options.stop->load()) break;
    }
    WaitUntil(producer, intended_us);
    result.max_behind_us =
        std::max(result.max_behind_us, WallMicros() - intended_us);
    if (on_send) on_send(tx, intended_us, gen->resent());
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add("txscreen.intended-send-us", absl::StrCat(intended_us));
    const TrafficLabel& label = gen->label();
    if (!label.scenario.empty()) {
      headers->add("txscreen.scenario", label.scenario);
      headers->add("txscreen.suspicious", label.suspicious ? "1" : "0");
    }
    result.suspicious += label.suspicious;
    if (absl::Status s =
            Produce(producer, options.topic, bytes, tx.customer_id(), headers);
        !s.ok()) {
      return s;
    }
    ++result.sent;
    if ((result.sent & 1023) == 0) producer->poll(0);
  }
  return result;
}

}  // namespace txscreen::bench
