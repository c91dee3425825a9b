// txscreen gen: synthetic traffic (bench/transaction_generator.h) as JSONL
// to a file, or as messages to Kafka at an open-loop rate for load tests.
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/open_loop.h"
#include "bench/transaction_generator.h"
#include "engine/transaction_codec.h"
#include "librdkafka/rdkafkacpp.h"
#include "serve/kafka_util.h"
#include "tools/command_line.h"
#include "tools/commands.h"
#include "tools/producer_flags.h"

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
    "  --duration S        stop after S seconds (default 10; Ctrl-C or\n"
    "                      SIGTERM stops sooner: exit 130, all delivered)\n"
    "  --poisson           exponential gaps instead of evenly spaced ones\n"
    "  --topic T           default txscreen.transactions\n";

int Usage(absl::string_view problem) {
  if (!problem.empty()) std::cerr << "txscreen gen: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

int ToFile(const CommandLine& cl, const bench::GeneratorOptions& options,
           int64_t count) {
  if (cl.Get("labels") == "-") {
    return Usage(
        "--labels needs a file: standard output carries the "
        "transactions");
  }
  std::error_code ec1, ec2;
  if (cl.Has("labels") && cl.Get("output", "-") != "-" &&
      std::filesystem::weakly_canonical(cl.Get("labels"), ec1) ==
          std::filesystem::weakly_canonical(cl.Get("output"), ec2)) {
    return Usage("--labels and --output name the same file");
  }
  bench::TransactionGenerator generator(options);
  bench::TransactionGenerator* gen = &generator;
  std::ofstream output_file, labels;
  std::string error;
  std::ostream* output =
      OpenOutput(cl.Get("output", "-"), &output_file, &error);
  if (output == nullptr ||
      (cl.Has("labels") &&
       OpenOutput(cl.Get("labels"), &labels, &error) == nullptr)) {
    std::cerr << "txscreen gen: " << error << "\n";
    return 1;
  }
  if (labels.is_open()) labels << "transaction_id,scenario,step,suspicious\n";
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
    return Usage(absl::StrCat(
        "--rate needs messages per second in (0, 1e7]",
        cl.Has("rate") ? ", not '" + cl.Get("rate") + "'" : std::string()));
  }
  if (cl.Has("duration") &&
      (!absl::SimpleAtod(cl.Get("duration"), &duration_s) ||
       !(duration_s > 0 && duration_s <= 1e7))) {
    return Usage(absl::StrCat("--duration needs seconds in (0, 1e7], not '",
                              cl.Get("duration"), "'"));
  }
  if (cl.Get("brokers").empty()) {
    return Usage("--brokers needs HOST:PORT[,HOST:PORT...]");
  }
  ProducerFlags kafka;
  if (std::string problem = ParseProducerFlags(cl, &kafka); !problem.empty()) {
    return Usage(problem);
  }
  bench::DeliveryCounter deliveries;
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> made =
      bench::MakeOpenLoopProducer(kafka.settings, &deliveries);
  if (!made.ok()) {
    std::cerr << "txscreen gen: " << made.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<RdKafka::Producer> producer = std::move(*made);
  // The generator's event time runs with the wall clock: scenario steps
  // minutes apart are sent minutes apart.
  options.per_customer_per_day =
      86400.0 * rate / static_cast<double>(options.customers);
  options.start_us = bench::WallMicros();
  bench::TransactionGenerator generator(options);
  bench::TransactionGenerator* gen = &generator;

  bench::OpenLoopOptions loop;
  loop.rate = rate;
  loop.start_us = bench::WallMicros() + 100000;
  loop.end_us = loop.start_us + static_cast<int64_t>(duration_s * 1e6);
  loop.max_count = count;
  loop.poisson = cl.Has("poisson");
  loop.seed = options.seed;
  loop.topic = kafka.topic;
  loop.json = kafka.json;
  // Ctrl-C or SIGTERM stops the run between messages; what was sent is
  // delivered and counted, as with `replay`.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> stop{false}, done{false};
  std::thread watcher([&] {
    const timespec step{0, 100 * 1000 * 1000};
    while (!done.load()) {
      if (sigtimedwait(&signals, nullptr, &step) >= 0) stop = true;
    }
  });
  loop.stop = &stop;
  absl::StatusOr<bench::OpenLoopResult> run =
      bench::RunOpenLoop(loop, gen, producer.get(), nullptr);
  done = true;
  watcher.join();
  if (!run.ok()) {
    std::cerr << "txscreen gen: " << run.status().message() << "\n";
    return 1;
  }
  const int64_t sent = run->sent;
  const int64_t start_us = loop.start_us;
  const RdKafka::ErrorCode flushed = producer->flush(30000);
  const double elapsed_s =
      static_cast<double>(bench::WallMicros() - start_us) / 1e6;
  // Over the part of the schedule that ran: --count may end it before
  // --duration does.
  const double schedule_s =
      std::min(duration_s, static_cast<double>(sent) / rate);
  std::cerr
      << (stop.load() ? "stopped by a signal: " : "") << "sent " << sent
      << " transactions in " << absl::StrFormat("%.1f", elapsed_s) << " s ("
      << absl::StrFormat("%.0f", schedule_s > 0
                                     ? static_cast<double>(sent) / schedule_s
                                     : 0.0)
      << "/s offered at " << rate << "/s), delivered "
      << deliveries.delivered.load() << ", failed " << deliveries.failed.load()
      << ", at most "
      << absl::StrFormat("%.1f", static_cast<double>(run->max_behind_us) / 1e3)
      << " ms behind schedule; " << gen->scenarios_started()
      << " scenarios started, " << run->suspicious << " suspicious steps\n";
  if (flushed != RdKafka::ERR_NO_ERROR || deliveries.failed.load() > 0 ||
      deliveries.delivered.load() != sent) {
    std::cerr << "txscreen gen: not every message was delivered\n";
    return 1;
  }
  return stop.load() ? 130 : 0;
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
    return Usage(
        absl::StrCat("unexpected argument '", cl.positional()[0], "'"));
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
  if (cl.Has("skew") && (!absl::SimpleAtod(cl.Get("skew"), &options.skew) ||
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
      return Usage(
          absl::StrCat("--start needs an RFC 3339 time such as "
                       "2026-11-20T09:30:00+08:00, not '",
                       cl.Get("start"), "': ", err));
    }
    // From 1970 (protobuf's timestamps before it are not what a bank
    // sends) and with centuries of room for the generated traffic.
    if (start < absl::UnixEpoch() ||
        start >=
            absl::FromCivil(absl::CivilDay(9000, 1, 1), absl::UTCTimeZone())) {
      return Usage(absl::StrCat("--start needs a time from 1970 to 8999, not '",
                                cl.Get("start"), "'"));
    }
    options.start_us = absl::ToUnixMicros(start);
  }
  for (const char* file_only : {"start", "output", "labels"}) {
    if (kafka && cl.Has(file_only)) {
      return Usage(absl::StrCat("--", file_only,
                                " is for file output; with "
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
