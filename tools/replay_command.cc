// txscreen replay: the transactions of a file (JSONL in txscreen's schema,
// or another system's CSV through a mapping file, as backtest reads them)
// into Kafka at the recorded pace, sped up, or at a given rate.
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "bench/open_loop.h"
#include "compliance/input.h"
#include "engine/clock.h"
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
    "usage: txscreen replay --brokers B --input FILE|- [--mapping MAPPING]\n"
    "                       [--speed X | --rate R] [--retime] [--topic T]\n"
    "                       [--format proto|json] [--producer K=V,...]\n"
    "\n"
    "  Sends every transaction of FILE to Kafka in file order, keyed by\n"
    "  customer_id, each with its intended send time in the header\n"
    "  txscreen.intended-send-us.\n"
    "  --input FILE        JSONL in txscreen's schema; with --mapping, CSV\n"
    "                      through a mapping file (see backtest)\n"
    "  --speed X           X times the recorded pace: the gaps between\n"
    "                      occurred_at divided by X (default 1). A time\n"
    "                      earlier than the latest before it is sent at once\n"
    "  --rate R            R transactions a second, evenly, whatever the\n"
    "                      recorded times\n"
    "  --retime            occurred_at becomes the send time (the engine then\n"
    "                      sees live traffic: its windows and deadlines run\n"
    "                      from now); without it the recorded times are kept\n"
    "  --topic T           default txscreen.transactions\n"
    "  --format proto|json the message encoding (default proto)\n"
    "  --producer K=V,...  librdkafka producer settings\n"
    "Rows that cannot be read are reported as FILE:LINE and not sent. Exit 0\n"
    "when every row was sent and delivered, 3 when some could not be read,\n"
    "1 when a message was not delivered or the input cannot be opened, 130\n"
    "when stopped by Ctrl-C or SIGTERM (what was sent is delivered first).\n";

int Usage(absl::string_view problem) {
  if (!problem.empty()) std::cerr << "txscreen replay: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

// Whether SIGINT or SIGTERM (blocked, see ReplayCommand) has arrived.
bool StopAsked(const sigset_t& signals) {
  const timespec zero = {0, 0};
  return sigtimedwait(&signals, nullptr, &zero) >= 0;
}

}  // namespace

int ReplayCommand(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
  }
  CommandLine cl({"brokers", "input", "mapping", "speed", "rate", "topic",
                  "format", "producer"},
                 {"retime"});
  if (absl::Status s = cl.Parse(args); !s.ok()) return Usage(s.message());
  if (!cl.positional().empty()) {
    return Usage(
        absl::StrCat("unexpected argument '", cl.positional()[0], "'"));
  }
  if (!cl.Has("brokers") || cl.Get("brokers").empty()) {
    return Usage("--brokers is required");
  }
  if (!cl.Has("input") || cl.Get("input").empty()) {
    return Usage("--input is required");
  }
  if (cl.Has("speed") && cl.Has("rate")) {
    return Usage("--speed and --rate exclude each other");
  }
  double speed = 1, rate = 0;
  if (cl.Has("speed") && (!absl::SimpleAtod(cl.Get("speed"), &speed) ||
                          !(speed > 0) || speed > 1e9)) {
    return Usage(absl::StrCat("--speed needs a factor in (0, 1e9], not '",
                              cl.Get("speed"), "'"));
  }
  if (cl.Has("rate") &&
      (!absl::SimpleAtod(cl.Get("rate"), &rate) || !(rate > 0) || rate > 1e7)) {
    return Usage(
        absl::StrCat("--rate needs transactions per second in (0, "
                     "1e7], not '",
                     cl.Get("rate"), "'"));
  }
  ProducerFlags kafka;
  if (std::string problem = ParseProducerFlags(cl, &kafka); !problem.empty()) {
    return Usage(problem);
  }

  compliance::InputOptions in_options;
  in_options.path = cl.Get("input");
  in_options.mapping_path = cl.Get("mapping");
  std::vector<std::string> errors;
  std::unique_ptr<compliance::Input> input =
      compliance::Input::Open(in_options, &errors);
  if (input == nullptr) {
    for (const std::string& e : errors) std::cerr << e << "\n";
    return 1;
  }
  // Ctrl-C or SIGTERM stops the replay between messages: what was sent is
  // delivered and counted, then exit 130. Blocked before librdkafka starts
  // its threads, so that they inherit the mask and this thread takes them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  bool stopped = false;
  bench::DeliveryCounter deliveries;
  absl::StatusOr<std::unique_ptr<RdKafka::Producer>> made =
      bench::MakeOpenLoopProducer(kafka.settings, &deliveries);
  if (!made.ok()) {
    std::cerr << "txscreen replay: " << made.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<RdKafka::Producer> producer = std::move(*made);
  const bool retime = cl.Has("retime");

  bench::ReplaySchedule schedule = rate > 0
                                       ? bench::ReplaySchedule::AtRate(rate)
                                       : bench::ReplaySchedule::AtSpeed(speed);
  const int64_t start_us = bench::WallMicros() + 100000;
  int64_t sent = 0, bad = 0, skipped = 0, max_behind_us = 0, last_due_us = 0;
  int64_t first_event_us = 0, latest_event_us = 0;
  bool timed = false;  // a transaction with occurred_at was seen
  v1::Transaction tx;
  compliance::InputRow row;
  std::string why, bytes;
  for (;;) {
    const compliance::Input::Result r = input->Next(&tx, &row, &why);
    if (r == compliance::Input::Result::kEnd) break;
    if (r == compliance::Input::Result::kSkipped) {
      ++skipped;
      continue;
    }
    if (r == compliance::Input::Result::kBad) {
      ++bad;
      std::cerr << input->name() << ":" << row.line << ": " << why << "\n";
      continue;
    }
    // Without occurred_at (the engine rejects such a transaction) it goes
    // with the one before, and its missing time does not start the
    // recorded clock.
    int64_t due_us = sent > 0 ? last_due_us : start_us;
    if (tx.has_occurred_at() || rate > 0) {
      const int64_t event_us = engine::TimestampMicros(tx.occurred_at());
      if (tx.has_occurred_at()) {
        if (!timed) first_event_us = latest_event_us = event_us;
        timed = true;
        latest_event_us = std::max(latest_event_us, event_us);
      }
      due_us = start_us + schedule.Next(event_us);
    }
    last_due_us = due_us;
    if (const int64_t wait_us = due_us - bench::WallMicros();
        wait_us > 60 * 1000000) {
      // A long recorded gap (a night, or a wrong time in the file).
      std::cerr << input->name() << ":" << row.line << ": next send in "
                << absl::FormatDuration(absl::Seconds(wait_us / 1000000))
                << " (the recorded gap / speed); Ctrl-C stops\n";
    }
    // A transaction without a time keeps none: replay does not mend input.
    if (retime && tx.has_occurred_at()) {
      engine::SetTimestampMicros(due_us, tx.mutable_occurred_at());
    }
    if (kafka.json) {
      if (absl::Status s = engine::EncodeJson(tx, &bytes); !s.ok()) {
        std::cerr << input->name() << ":" << row.line << ": " << s.message()
                  << "\n";
        return 1;
      }
    } else {
      tx.SerializeToString(&bytes);
    }
    // In slices, to notice a signal during a long recorded gap.
    for (int64_t now = bench::WallMicros(); now < due_us && !stopped;
         now = bench::WallMicros()) {
      bench::WaitUntil(producer.get(), std::min(due_us, now + 100000));
      stopped = StopAsked(signals);
    }
    if (stopped || StopAsked(signals)) {
      stopped = true;
      break;
    }
    max_behind_us = std::max(max_behind_us, bench::WallMicros() - due_us);
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add("txscreen.intended-send-us", absl::StrCat(due_us));
    if (absl::Status s = bench::Produce(producer.get(), kafka.topic, bytes,
                                        tx.customer_id(), headers);
        !s.ok()) {
      std::cerr << "txscreen replay: " << s.message() << "\n";
      return 1;
    }
    ++sent;
    if ((sent & 1023) == 0) producer->poll(0);
  }
  // A malformed row that ends the readable part of a CSV came as a bad row
  // already (counted and reported, "the rest of the file is not read").
  const RdKafka::ErrorCode flushed = producer->flush(30000);
  std::cerr << (stopped ? "stopped by a signal: " : "") << "replayed " << sent
            << " transactions in "
            << absl::StrFormat(
                   "%.1f",
                   static_cast<double>(sent > 0 ? last_due_us - start_us : 0) /
                       1e6)
            << " s (recorded span "
            << absl::StrFormat(
                   "%.1f",
                   static_cast<double>(latest_event_us - first_event_us) / 1e6)
            << " s), delivered " << deliveries.delivered.load() << ", failed "
            << deliveries.failed.load() << ", at most "
            << absl::StrFormat("%.1f", static_cast<double>(max_behind_us) / 1e3)
            << " ms behind schedule; " << bad << " unreadable, " << skipped
            << " skipped\n";
  if (flushed != RdKafka::ERR_NO_ERROR || deliveries.failed.load() > 0 ||
      deliveries.delivered.load() != sent) {
    std::cerr << "txscreen replay: not every message was delivered\n";
    return 1;
  }
  if (stopped) return 130;
  return bad > 0 ? compliance::kExitUnreadableRows : 0;
}

}  // namespace txscreen::tools
