// txscreen gen: synthetic traffic (bench/transaction_generator.h) as JSONL
// to a file, or as messages to Kafka at an open-loop rate for load tests.
#include <time.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "bench/transaction_generator.h"
#include "engine/transaction_codec.h"
#include "librdkafka/rdkafkacpp.h"
#include "serve/kafka_util.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

namespace v1 = ::txscreen::v1;

namespace {

constexpr char kUsage[] =
    "usage: txscreen gen [--customers N] [--seed S] [--skew Z]\n"
    "                    [--scenario-share F] [--count N]\n"
    "  to a file:  [--start TIME] [--output FILE|-] [--labels FILE]\n"
    "  to Kafka:   --brokers B --rate R [--duration S] [--poisson]\n"
    "              [--topic T] [--format proto|json] [--producer K=V,...]\n"
    "\n"
    "  --customers N       distinct customers (default 100000)\n"
    "  --seed S            the same seed gives the same traffic (default "
    "20261120)\n"
    "  --skew Z            Zipf exponent of customer activity (default 0.3; "
    "0: uniform)\n"
    "  --scenario-share F  share of injected, labelled scenario transactions\n"
    "                      (default 0.01; 0 to 0.5)\n"
    "  --count N           transactions (default 10000 to a file; to Kafka:\n"
    "                      unlimited, see --duration)\n"
    "  --start TIME        event time of the first transaction, RFC 3339\n"
    "                      (default 2026-01-05T00:00:00+08:00)\n"
    "  --labels FILE       CSV transaction_id,scenario,step,suspicious\n"
    "  --rate R            messages per second, open loop: each is due at its\n"
    "                      intended send time, carried in the header\n"
    "                      txscreen.intended-send-us and as occurred_at\n"
    "  --duration S        stop after S seconds (default 10)\n"
    "  --poisson           exponential gaps instead of evenly spaced ones\n"
    "  --topic T           default txscreen.transactions\n";

int Usage(absl::string_view problem) {
  if (!problem.empty()) std::cerr << "txscreen gen: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

int64_t WallMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

void SetTime(int64_t us, google::protobuf::Timestamp* t) {
  t->set_seconds(us / 1000000);
  t->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
}

class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      delivered.fetch_add(1, std::memory_order_relaxed);
    } else if (failed.fetch_add(1, std::memory_order_relaxed) < 5) {
      std::cerr << "txscreen gen: not delivered: " << message.errstr() << "\n";
    }
  }
  std::atomic<int64_t> delivered{0}, failed{0};
};

int ToFile(const CommandLine& cl, const bench::GeneratorOptions& options,
           int64_t count) {
  bench::TransactionGenerator generator(options);
  bench::TransactionGenerator* gen = &generator;
  std::ofstream output_file;
  std::ostream* output = &std::cout;
  const std::string output_name = cl.Get("output", "-");
  if (output_name != "-") {
    output_file.open(output_name, std::ios::binary | std::ios::trunc);
    if (!output_file) {
      std::cerr << "txscreen gen: cannot write " << output_name << ": "
                << std::strerror(errno) << "\n";
      return 1;
    }
    output = &output_file;
  }
  std::ofstream labels;
  if (cl.Has("labels")) {
    labels.open(cl.Get("labels"), std::ios::binary | std::ios::trunc);
    if (!labels) {
      std::cerr << "txscreen gen: cannot write " << cl.Get("labels") << ": "
                << std::strerror(errno) << "\n";
      return 1;
    }
    labels << "transaction_id,scenario,step,suspicious\n";
  }
  v1::Transaction tx;
  std::string json;
  int64_t suspicious = 0;
  for (int64_t i = 0; i < count; ++i) {
    gen->Next(&tx);
    if (absl::Status s = engine::EncodeJson(tx, &json); !s.ok()) {
      std::cerr << "txscreen gen: " << s.message() << "\n";
      return 1;
    }
    *output << json << "\n";
    const bench::TrafficLabel& label = gen->label();
    suspicious += label.suspicious;
    if (labels.is_open()) {
      labels << tx.transaction_id() << "," << label.scenario << ","
             << label.step << "," << (label.suspicious ? 1 : 0) << "\n";
    }
  }
  output->flush();
  if (!*output || (labels.is_open() && !labels.flush())) {
    std::cerr << "txscreen gen: writing failed\n";
    return 1;
  }
  std::cerr << "generated " << count << " transactions, "
            << gen->scenarios_started() << " scenarios started, " << suspicious
            << " suspicious steps\n";
  return 0;
}

int ToKafka(const CommandLine& cl, bench::GeneratorOptions options,
            int64_t count) {
  double rate = 0, duration_s = 10;
  if (!cl.Has("rate") || !absl::SimpleAtod(cl.Get("rate"), &rate) ||
      !(rate > 0) || rate > 10e6) {
    return Usage(absl::StrCat("--rate needs messages per second in (0, 1e7]",
                              cl.Has("rate") ? ", not '" + cl.Get("rate") + "'"
                                             : std::string()));
  }
  if (cl.Has("duration") &&
      (!absl::SimpleAtod(cl.Get("duration"), &duration_s) ||
       !(duration_s > 0))) {
    return Usage(absl::StrCat("--duration needs seconds > 0, not '",
                              cl.Get("duration"), "'"));
  }
  const std::string format = cl.Get("format", "proto");
  if (format != "proto" && format != "json") {
    return Usage(
        absl::StrCat("--format is proto or json, not '", format, "'"));
  }
  serve::KafkaSettings settings = {{"bootstrap.servers", cl.Get("brokers")},
                                   {"linger.ms", "2"},
                                   {"batch.size", "1000000"},
                                   {"queue.buffering.max.messages", "1000000"},
                                   {"enable.idempotence", "true"}};
  if (cl.Has("producer")) {
    for (absl::string_view kv :
         absl::StrSplit(cl.Get("producer"), ',', absl::SkipEmpty())) {
      std::pair<std::string, std::string> p = absl::StrSplit(kv, '=');
      if (p.first.empty() || kv.find('=') == absl::string_view::npos) {
        return Usage(absl::StrCat("--producer takes KEY=VALUE pairs, not '",
                                  kv, "'"));
      }
      settings[p.first] = p.second;
    }
  }
  auto conf = serve::MakeKafkaConf(settings);
  if (!conf.ok()) {
    std::cerr << "txscreen gen: " << conf.status().message() << "\n";
    return 1;
  }
  DeliveryCounter deliveries;
  std::string err;
  (*conf)->set("dr_cb", &deliveries, err);
  std::unique_ptr<RdKafka::Producer> producer(
      RdKafka::Producer::create(conf->get(), err));
  if (!producer) {
    std::cerr << "txscreen gen: cannot create a producer: " << err << "\n";
    return 1;
  }
  const std::string topic = cl.Get("topic", "txscreen.transactions");
  // The generator's event time runs with the wall clock: scenario steps
  // minutes apart are sent minutes apart.
  options.per_customer_per_day =
      86400.0 * rate / static_cast<double>(options.customers);
  options.start_us = WallMicros();
  bench::TransactionGenerator generator(options);
  bench::TransactionGenerator* gen = &generator;

  // Intended send times: evenly spaced or exponential gaps from a start
  // 100 ms ahead; a message is never sent before its time and, when the
  // producer falls behind, sent late with its original intended time.
  std::mt19937_64 rng(options.seed ^ 0x5eed);
  std::exponential_distribution<double> gap(rate);
  const bool poisson = cl.Has("poisson");
  const int64_t start_us = WallMicros() + 100000;
  const int64_t end_us = start_us + static_cast<int64_t>(duration_s * 1e6);
  double offset_s = 0;
  v1::Transaction tx;
  std::string bytes;
  int64_t sent = 0, max_behind_us = 0, suspicious = 0;
  while (sent < count) {
    const int64_t intended_us =
        start_us + static_cast<int64_t>(
                       poisson ? offset_s * 1e6
                               : static_cast<double>(sent) * 1e6 / rate);
    if (intended_us >= end_us) break;
    if (poisson) offset_s += gap(rng);
    gen->Next(&tx);
    SetTime(intended_us, tx.mutable_occurred_at());
    if (format == "json") {
      if (absl::Status s = engine::EncodeJson(tx, &bytes); !s.ok()) {
        std::cerr << "txscreen gen: " << s.message() << "\n";
        return 1;
      }
    } else {
      tx.SerializeToString(&bytes);
    }
    for (int64_t now = WallMicros(); now < intended_us; now = WallMicros()) {
      if (intended_us - now > 2000) {
        producer->poll(static_cast<int>((intended_us - now) / 2000));
      } else if (intended_us - now > 100) {
        std::this_thread::sleep_for(
            std::chrono::microseconds(intended_us - now - 50));
      }
    }
    max_behind_us = std::max(max_behind_us, WallMicros() - intended_us);
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add("txscreen.intended-send-us", absl::StrCat(intended_us));
    const bench::TrafficLabel& label = gen->label();
    if (!label.scenario.empty()) {
      headers->add("txscreen.scenario", label.scenario);
      headers->add("txscreen.suspicious", label.suspicious ? "1" : "0");
    }
    suspicious += label.suspicious;
    for (;;) {
      RdKafka::ErrorCode e = producer->produce(
          topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
          bytes.data(), bytes.size(), tx.customer_id().data(),
          tx.customer_id().size(), 0, headers, nullptr);
      if (e == RdKafka::ERR_NO_ERROR) break;
      if (e != RdKafka::ERR__QUEUE_FULL) {
        delete headers;
        std::cerr << "txscreen gen: produce to " << topic
                  << " failed: " << RdKafka::err2str(e) << "\n";
        return 1;
      }
      producer->poll(1);
    }
    ++sent;
    if ((sent & 1023) == 0) producer->poll(0);
  }
  const RdKafka::ErrorCode flushed = producer->flush(30000);
  const double elapsed_s =
      static_cast<double>(WallMicros() - start_us) / 1e6;
  std::cerr << "sent " << sent << " transactions in "
            << absl::StrFormat("%.1f", elapsed_s) << " s ("
            << absl::StrFormat("%.0f", static_cast<double>(sent) / duration_s)
            << "/s offered at " << rate << "/s), delivered "
            << deliveries.delivered.load() << ", failed "
            << deliveries.failed.load() << ", at most "
            << absl::StrFormat("%.1f", static_cast<double>(max_behind_us) / 1e3)
            << " ms behind schedule; " << gen->scenarios_started()
            << " scenarios started, " << suspicious << " suspicious steps\n";
  if (flushed != RdKafka::ERR_NO_ERROR || deliveries.failed.load() > 0 ||
      deliveries.delivered.load() != sent) {
    std::cerr << "txscreen gen: not every message was delivered\n";
    return 1;
  }
  return 0;
}

}  // namespace

int GenCommand(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
  }
  CommandLine cl({"customers", "seed", "skew", "scenario-share", "count",
                  "start", "output", "labels", "brokers", "rate", "duration",
                  "topic", "format", "producer"},
                 {"poisson"});
  if (absl::Status s = cl.Parse(args); !s.ok()) return Usage(s.message());
  if (!cl.positional().empty()) {
    return Usage(absl::StrCat("unexpected argument '", cl.positional()[0], "'"));
  }
  bench::GeneratorOptions options;
  options.skew = 0.3;
  options.scenario_share = 0.01;
  if (cl.Has("customers") &&
      (!absl::SimpleAtoi(cl.Get("customers"), &options.customers) ||
       options.customers < 1 || options.customers > 100000000)) {
    return Usage(absl::StrCat("--customers needs 1 to 100000000, not '",
                              cl.Get("customers"), "'"));
  }
  if (cl.Has("seed") && !absl::SimpleAtoi(cl.Get("seed"), &options.seed)) {
    return Usage(absl::StrCat("--seed needs an unsigned integer, not '",
                              cl.Get("seed"), "'"));
  }
  if (cl.Has("skew") &&
      (!absl::SimpleAtod(cl.Get("skew"), &options.skew) ||
       !(options.skew >= 0 && options.skew <= 3))) {
    return Usage(
        absl::StrCat("--skew needs 0 to 3, not '", cl.Get("skew"), "'"));
  }
  if (cl.Has("scenario-share") &&
      (!absl::SimpleAtod(cl.Get("scenario-share"), &options.scenario_share) ||
       !(options.scenario_share >= 0 && options.scenario_share <= 0.5))) {
    return Usage(absl::StrCat("--scenario-share needs 0 to 0.5, not '",
                              cl.Get("scenario-share"), "'"));
  }
  const bool kafka = cl.Has("brokers");
  int64_t count = kafka ? INT64_MAX : 10000;
  if (cl.Has("count") &&
      (!absl::SimpleAtoi(cl.Get("count"), &count) || count < 0)) {
    return Usage(absl::StrCat("--count needs a whole number >= 0, not '",
                              cl.Get("count"), "'"));
  }
  if (cl.Has("start")) {
    absl::Time start;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, cl.Get("start"), &start, &err)) {
      return Usage(absl::StrCat("--start needs an RFC 3339 time such as "
                                "2026-11-20T09:30:00+08:00, not '",
                                cl.Get("start"), "': ", err));
    }
    options.start_us = absl::ToUnixMicros(start);
  }
  for (const char* file_only : {"start", "output", "labels"}) {
    if (kafka && cl.Has(file_only)) {
      return Usage(absl::StrCat("--", file_only, " is for file output; with "
                                "--brokers event times are send times"));
    }
  }
  for (const char* kafka_only :
       {"rate", "duration", "topic", "format", "producer", "poisson"}) {
    if (!kafka && cl.Has(kafka_only)) {
      return Usage(absl::StrCat("--", kafka_only, " needs --brokers"));
    }
  }
  return kafka ? ToKafka(cl, options, count) : ToFile(cl, options, count);
}

}  // namespace txscreen::tools
