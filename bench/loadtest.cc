// txscreen_loadtest: the end-to-end load test's driver. tools/loadtest
// starts a real broker and `txscreen serve`, then runs this against them.
//
// For each offered rate: open-loop production of `txscreen gen` traffic to
// the transactions topic (bench/open_loop.h) and, on another thread, the
// decisions topic read from its end. Latency = decision received - intended
// send time, both read from this process's wall clock, so a stall anywhere
// (producer, broker, engine, consumer) counts. A warm-up comes first and is
// not measured; then `--duration` seconds are.
//
// Output: JSON (--json), an SVG plot of latency percentiles against offered
// load (--svg), a text summary (--summary and stdout).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/latency_histogram.h"
#include "bench/open_loop.h"
#include "bench/transaction_generator.h"
#include "librdkafka/rdkafkacpp.h"
#include "serve/kafka_util.h"
#include "txscreen/v1/decision.pb.h"

ABSL_FLAG(std::string, brokers, "", "Kafka bootstrap servers (required)");
ABSL_FLAG(int64_t, engine_pid, 0,
          "pid of the txscreen serve process, for its CPU time and RSS");
ABSL_FLAG(int64_t, broker_pid, 0,
          "pid of the Kafka broker, for its CPU time per transaction");
ABSL_FLAG(std::string, rates, "",
          "comma-separated offered rates in transactions/s, one run each");
ABSL_FLAG(bool, find_max, false,
          "find the maximum sustainable rate, then measure 1k, 3k, 10k, 20k, "
          "50k and 50/70/90 % of it");
ABSL_FLAG(double, duration, 10, "measured seconds per run");
ABSL_FLAG(double, warmup, 3, "unmeasured seconds before each run");
ABSL_FLAG(double, prime, 0,
          "seconds of unmeasured load at 1,000/s before the first run: a "
          "fresh broker's JIT compiler and a fresh engine's caches");
ABSL_FLAG(double, drain, 15,
          "seconds to wait for the last decisions after production stops");
ABSL_FLAG(double, max_rate, 200000, "the highest rate --find-max tries");
ABSL_FLAG(double, min_rate, 100,
          "the lowest rate --find-max tries: when 2,000/s is not sustainable "
          "it halves the rate down to this");
ABSL_FLAG(std::string, find_max_rates, "1000,3000,10000,20000,50000",
          "the rates --find-max measures after the search, besides 50/70/90 "
          "% of the maximum (may be empty)");
ABSL_FLAG(int64_t, customers, 100000, "distinct customers");
ABSL_FLAG(double, skew, 0.3, "Zipf exponent of customer activity");
ABSL_FLAG(double, scenario_share, 0.01, "share of scenario transactions");
ABSL_FLAG(bool, poisson, false, "exponential gaps instead of even ones");
ABSL_FLAG(std::string, transactions_topic, "txscreen.transactions", "");
ABSL_FLAG(std::string, decisions_topic, "txscreen.decisions", "");
ABSL_FLAG(std::string, json, "", "write the result here");
ABSL_FLAG(std::string, svg, "", "write the latency plot here");
ABSL_FLAG(std::string, summary, "", "write the text summary here");
ABSL_FLAG(std::string, note, "", "free text recorded in the JSON");

namespace txscreen::bench {
namespace {

namespace v1 = ::txscreen::v1;

constexpr int64_t kSecondUs = 1000000;

// Limits of the flags (CheckFlags). The driver keeps 8 bytes per
// transaction of a run and a latency histogram (~140 KB) per second of
// --duration + --drain.
constexpr double kMaxRate = 1e6;
constexpr double kMaxSeconds = 3600;
constexpr double kMaxDrainSeconds = 600;
constexpr int64_t kMaxCustomers = 100000000;
constexpr double kMaxTransactionsPerRun = 2e8;

struct Interval {
  int64_t decisions = 0;
  int64_t p50_us = 0, p99_us = 0, max_us = 0;
};

struct RunResult {
  double offered_tps = 0;
  // Decisions received for the transactions due in the measured window,
  // divided by the longer of --duration and the time from the first of
  // those decisions to the last: the backlog of the warm-up answered
  // meanwhile does not count, and a backlog that grows over the window
  // stretches the time.
  double achieved_tps = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  int64_t late = 0;
  double engine_cpu_us_per_tx = 0;
  // The same for the broker and for this driver (generator, producer,
  // decision consumer): where the machine's CPU goes.
  double broker_cpu_us_per_tx = 0, driver_cpu_us_per_tx = 0;
  // engine_cpu_us_per_tx by the engine's threads (ThreadGroup).
  std::map<std::string, double> engine_cpu_by_thread;
  // How many of the engine's threads each group has (at the end).
  std::map<std::string, int> engine_threads;
  // Voluntary context switches per transaction by group: how often the
  // threads went to sleep waiting (for messages, fetches, the commit).
  std::map<std::string, double> engine_switches_by_thread;
  int64_t sent = 0, decisions = 0, measured = 0, missing = 0;
  // Measured transactions without a decision at the end, in the
  // percentiles as (end of the run - intended send time): a lower bound.
  int64_t unanswered = 0;
  double producer_max_behind_ms = 0;
  double engine_rss_mb = 0;
  bool sustainable = false;
  std::string why_not;  // when not sustainable
  // Wall-clock start of the measured window (UTC microseconds): interval
  // `second` is the decisions received in [start + second, + 1 s), to be
  // read beside the engine's log.
  int64_t measured_from_us = 0;
  std::vector<Interval> intervals;
};

// utime + stime in microseconds from a /proc stat file (of a process or
// a thread), and its name into *comm; -1 when unknown.
int64_t StatCpuMicros(const std::string& path, std::string* comm = nullptr) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  const size_t open = text.find('(');
  const size_t paren = text.rfind(')');
  if (open == std::string::npos || paren == std::string::npos || paren < open ||
      paren + 2 > text.size()) {
    return -1;
  }
  if (comm != nullptr) *comm = text.substr(open + 1, paren - open - 1);
  std::vector<std::string> f =
      absl::StrSplit(text.substr(paren + 2), ' ', absl::SkipEmpty());
  // After "pid (comm) ": state is field 3, utime 14, stime 15.
  int64_t utime = 0, stime = 0;
  if (f.size() < 13 || !absl::SimpleAtoi(f[11], &utime) ||
      !absl::SimpleAtoi(f[12], &stime)) {
    return -1;
  }
  return (utime + stime) * kSecondUs / sysconf(_SC_CLK_TCK);
}

// utime + stime of `pid` in microseconds; -1 when unknown.
int64_t CpuMicros(int64_t pid) {
  if (pid <= 0) return -1;
  return StatCpuMicros(absl::StrCat("/proc/", pid, "/stat"));
}

// What an engine thread does: the main thread runs serve's screening loop;
// the others by their names (serve names its committer, librdkafka's
// threads are rdk:*, RocksDB's rocksdb:*).
std::string ThreadGroup(bool main_thread, absl::string_view name) {
  if (main_thread) return "screening";
  if (name == "txscreen-commit") return "committer";
  if (absl::StartsWith(name, "rdk:")) return "librdkafka";
  if (absl::StartsWith(name, "rocksdb:")) return "rocksdb";
  return "other";
}
constexpr const char* kThreadGroups[] = {"screening", "committer", "librdkafka",
                                         "rocksdb", "other"};

// The number after `field` (e.g. "VmRSS:") in a /proc/.../status file;
// -1 when unknown.
int64_t StatusNumber(const std::filesystem::path& status,
                     absl::string_view field) {
  std::ifstream in(status);
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StartsWith(line, field)) continue;
    int64_t n = 0;
    std::vector<std::string> f =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    return f.size() >= 2 && absl::SimpleAtoi(f[1], &n) ? n : -1;
  }
  return -1;
}

struct ThreadSample {
  std::string group;
  int64_t cpu_us = 0;
  int64_t switches = 0;
};

// Each thread of `pid`: its group, utime + stime in microseconds and
// voluntary context switches.
std::map<int64_t, ThreadSample> SampleThreads(int64_t pid) {
  std::map<int64_t, ThreadSample> threads;
  if (pid <= 0) return threads;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/task"), error)) {
    int64_t tid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &tid)) continue;
    std::string name;
    const int64_t cpu = StatCpuMicros(entry.path() / "stat", &name);
    if (cpu < 0) continue;
    threads[tid] = {
        ThreadGroup(tid == pid, name), cpu,
        std::max<int64_t>(0, StatusNumber(entry.path() / "status",
                                          "voluntary_ctxt_switches:"))};
  }
  return threads;
}

double RssMb(int64_t pid) {
  if (pid <= 0) return 0;
  const int64_t kb =
      StatusNumber(absl::StrCat("/proc/", pid, "/status"), "VmRSS:");
  return kb < 0 ? 0 : kb / 1024.0;
}

class LoadTest {
 public:
  absl::StatusOr<RunResult> Run(double rate) {
    ++run_;
    const std::string prefix = absl::StrCat("L", getpid(), "-", run_, "-");
    const double warmup = absl::GetFlag(FLAGS_warmup);
    const double duration = absl::GetFlag(FLAGS_duration);
    const int64_t pid = absl::GetFlag(FLAGS_engine_pid);

    auto consumer = OpenDecisions();
    if (!consumer.ok()) return consumer.status();

    GeneratorOptions options;
    options.seed = 20261202 + static_cast<uint64_t>(run_);
    options.customers = absl::GetFlag(FLAGS_customers);
    options.skew = absl::GetFlag(FLAGS_skew);
    options.scenario_share = absl::GetFlag(FLAGS_scenario_share);
    options.id_prefix = prefix;
    options.per_customer_per_day =
        86400.0 * rate / static_cast<double>(options.customers);
    options.start_us = WallMicros();
    TransactionGenerator gen(options);

    OpenLoopOptions loop;
    loop.rate = rate;
    loop.start_us = WallMicros() + 200000;
    const int64_t measure_from =
        loop.start_us + static_cast<int64_t>(warmup * kSecondUs);
    loop.end_us = measure_from + static_cast<int64_t>(duration * kSecondUs);
    loop.max_count =
        static_cast<int64_t>(std::ceil(rate * (warmup + duration))) + 16;
    loop.poisson = absl::GetFlag(FLAGS_poisson);
    loop.seed = options.seed;
    loop.topic = absl::GetFlag(FLAGS_transactions_topic);

    // Intended send time by sequence number (the id's digits); resends
    // repeat an id and are kept apart, oldest first.
    std::vector<std::atomic<int64_t>> intended(
        static_cast<size_t>(loop.max_count));
    std::mutex resends_mu;
    std::map<std::string, std::vector<int64_t>> resends;

    std::atomic<bool> producing{true};
    std::atomic<int64_t> sent{0}, expected_measured{-1};
    RunResult result;
    result.measured_from_us = measure_from;
    result.offered_tps = rate;
    LatencyHistogram measured;
    const int64_t seconds =
        static_cast<int64_t>(std::ceil(duration)) +
        static_cast<int64_t>(std::ceil(absl::GetFlag(FLAGS_drain))) + 1;
    std::vector<LatencyHistogram> per_second(static_cast<size_t>(seconds));
    const int64_t broker = absl::GetFlag(FLAGS_broker_pid);
    int64_t broker_start = -1, broker_end = -1, self_start = -1, self_end = -1;
    int64_t cpu_start = -1, cpu_end = -1, received_at_cpu_start = 0,
            received_at_cpu_end = 0, received = 0;
    // When the first and the last decision for a measured transaction came.
    int64_t first_measured_at = -1, last_measured_at = -1;
    std::map<int64_t, ThreadSample> threads_start, threads_end;

    std::thread reader([&] {
      v1::Decision d;
      int64_t drain_deadline = INT64_MAX;
      for (;;) {
        std::unique_ptr<RdKafka::Message> m((*consumer)->consume(20));
        const int64_t now = WallMicros();
        if (cpu_start < 0 && now >= measure_from) {
          broker_start = CpuMicros(broker);
          self_start = CpuMicros(getpid());
          cpu_start = CpuMicros(pid);
          threads_start = SampleThreads(pid);
          received_at_cpu_start = received;
        }
        if (!producing.load() && drain_deadline == INT64_MAX) {
          drain_deadline =
              now + static_cast<int64_t>(absl::GetFlag(FLAGS_drain) * 1e6);
        }
        const bool all_in = !producing.load() && received >= sent.load();
        if (all_in || now > drain_deadline) break;
        if (m->err() != RdKafka::ERR_NO_ERROR) continue;
        if (!d.ParseFromArray(m->payload(), static_cast<int>(m->len()))) {
          continue;
        }
        const std::string& id = d.transaction_id();
        if (id.rfind(prefix, 0) != 0) continue;
        int64_t seq = -1, at = 0;
        if (!absl::SimpleAtoi(absl::string_view(id).substr(prefix.size()),
                              &seq) ||
            seq < 0 || seq >= loop.max_count) {
          continue;
        }
        if (d.duplicate()) {
          std::lock_guard<std::mutex> lock(resends_mu);
          auto it = resends.find(id);
          if (it == resends.end() || it->second.empty()) continue;
          at = it->second.front();
          it->second.erase(it->second.begin());
        } else {
          // Marked as answered (negative) for the count of missing ones.
          at = intended[static_cast<size_t>(seq)].load();
          if (at <= 0) continue;
          intended[static_cast<size_t>(seq)].store(-at);
        }
        ++received;
        if (at >= measure_from && at < loop.end_us) {
          if (first_measured_at < 0) first_measured_at = now;
          last_measured_at = now;
          measured.Record(now - at);
          result.late += d.late();
          ++result.measured;
          const int64_t s = (now - measure_from) / kSecondUs;
          if (s >= 0 && s < seconds) {
            per_second[static_cast<size_t>(s)].Record(now - at);
          }
          if (result.measured == expected_measured.load()) {
            broker_end = CpuMicros(broker);
            self_end = CpuMicros(getpid());
            cpu_end = CpuMicros(pid);
            threads_end = SampleThreads(pid);
            received_at_cpu_end = received;
          }
        }
      }
    });

    DeliveryCounter deliveries;
    auto producer = MakeOpenLoopProducer(
        {{"bootstrap.servers", absl::GetFlag(FLAGS_brokers)}}, &deliveries);
    if (!producer.ok()) {
      producing = false;
      reader.join();
      return producer.status();
    }
    int64_t window_sent = 0;
    absl::StatusOr<OpenLoopResult> run = RunOpenLoop(
        loop, &gen, producer->get(),
        [&](const v1::Transaction& tx, int64_t at, bool resent) {
          window_sent += at >= measure_from;
          if (resent) {
            std::lock_guard<std::mutex> lock(resends_mu);
            resends[tx.transaction_id()].push_back(at);
            return;
          }
          int64_t seq = -1;
          if (absl::SimpleAtoi(
                  absl::string_view(tx.transaction_id()).substr(prefix.size()),
                  &seq) &&
              seq >= 0 && seq < loop.max_count) {
            intended[static_cast<size_t>(seq)].store(at);
          }
        });
    (*producer)->flush(30000);
    expected_measured = window_sent;
    sent = run.ok() ? run->sent : 0;
    producing = false;
    reader.join();
    if (!run.ok()) return run.status();
    (*consumer)->close();

    // A measured transaction without a decision was at least this late:
    // counted so, or the percentiles would leave out the worst.
    const int64_t gave_up = WallMicros();
    for (const std::atomic<int64_t>& a : intended) {
      const int64_t at = a.load();
      if (at >= measure_from && at < loop.end_us) {
        measured.Record(gave_up - at);
        ++result.unanswered;
      }
    }
    if (cpu_end < 0) {
      broker_end = CpuMicros(broker);
      self_end = CpuMicros(getpid());
      cpu_end = CpuMicros(pid);
      threads_end = SampleThreads(pid);
      received_at_cpu_end = received;
    }
    result.sent = run->sent;
    result.decisions = received;
    result.missing = std::max<int64_t>(0, run->sent - received);
    if (result.measured > 0) {
      const double answered_s =
          static_cast<double>(last_measured_at - first_measured_at) / 1e6;
      result.achieved_tps =
          static_cast<double>(result.measured) / std::max(duration, answered_s);
    }
    result.producer_max_behind_ms = run->max_behind_us / 1e3;
    result.p50_ms = measured.Percentile(0.50) / 1e3;
    result.p90_ms = measured.Percentile(0.90) / 1e3;
    result.p99_ms = measured.Percentile(0.99) / 1e3;
    result.p999_ms = measured.Percentile(0.999) / 1e3;
    result.max_ms = measured.max() / 1e3;
    if (cpu_start >= 0 && cpu_end >= cpu_start &&
        received_at_cpu_end > received_at_cpu_start) {
      const double n =
          static_cast<double>(received_at_cpu_end - received_at_cpu_start);
      result.engine_cpu_us_per_tx =
          static_cast<double>(cpu_end - cpu_start) / n;
      if (broker_start >= 0 && broker_end >= broker_start) {
        result.broker_cpu_us_per_tx =
            static_cast<double>(broker_end - broker_start) / n;
      }
      if (self_start >= 0 && self_end >= self_start) {
        result.driver_cpu_us_per_tx =
            static_cast<double>(self_end - self_start) / n;
      }
      // A thread started meanwhile counts from 0; one that ended is lost.
      for (const char* group : kThreadGroups) {
        result.engine_cpu_by_thread[group] = 0;
        result.engine_threads[group] = 0;
        result.engine_switches_by_thread[group] = 0;
      }
      for (const auto& [tid, end] : threads_end) {
        auto start = threads_start.find(tid);
        const ThreadSample from =
            start == threads_start.end() ? ThreadSample() : start->second;
        ++result.engine_threads[end.group];
        result.engine_cpu_by_thread[end.group] +=
            static_cast<double>(
                std::max<int64_t>(0, end.cpu_us - from.cpu_us)) /
            n;
        result.engine_switches_by_thread[end.group] +=
            static_cast<double>(
                std::max<int64_t>(0, end.switches - from.switches)) /
            n;
      }
    }
    result.engine_rss_mb = RssMb(pid);
    for (const LatencyHistogram& h : per_second) {
      result.intervals.push_back(
          {h.count(), h.Percentile(0.5), h.Percentile(0.99), h.max()});
    }
    while (!result.intervals.empty() &&
           result.intervals.back().decisions == 0) {
      result.intervals.pop_back();
    }
    if (deliveries.failed.load() > 0) {
      result.why_not = absl::StrCat(deliveries.failed.load(),
                                    " transactions not delivered to Kafka");
    } else if (result.missing > 0) {
      result.why_not = absl::StrCat(result.missing, " decisions missing ",
                                    absl::GetFlag(FLAGS_drain),
                                    " s after the last transaction");
    } else if (result.achieved_tps < 0.95 * rate) {
      result.why_not = absl::StrFormat("achieved %.0f/s of %.0f/s offered",
                                       result.achieved_tps, rate);
    } else if (result.p99_ms > 1000) {
      result.why_not =
          absl::StrFormat("p99 %.0f ms: the backlog grows", result.p99_ms);
    } else if (result.producer_max_behind_ms > 1000) {
      result.why_not = absl::StrFormat(
          "the load generator fell %.0f ms behind: it, not the engine, is "
          "the limit",
          result.producer_max_behind_ms);
    }
    result.sustainable = result.why_not.empty();
    if (result.missing > 0) Settle();
    return result;
  }

 private:
  // A consumer of the decisions topic positioned at its end.
  absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> OpenDecisions() {
    auto conf = serve::MakeKafkaConf(
        {{"bootstrap.servers", absl::GetFlag(FLAGS_brokers)},
         {"group.id", absl::StrCat("txscreen-loadtest-", getpid())},
         {"enable.auto.commit", "false"},
         {"fetch.wait.max.ms", "10"},
         {"fetch.error.backoff.ms", "10"}});
    if (!conf.ok()) return conf.status();
    std::string err;
    std::unique_ptr<RdKafka::KafkaConsumer> consumer(
        RdKafka::KafkaConsumer::create(conf->get(), err));
    if (!consumer) return absl::InternalError(err);
    const std::string topic = absl::GetFlag(FLAGS_decisions_topic);
    absl::StatusOr<int> partitions =
        serve::PartitionCount(consumer.get(), topic, 10000);
    if (!partitions.ok()) return partitions.status();
    std::vector<RdKafka::TopicPartition*> assignment;
    for (int p = 0; p < *partitions; ++p) {
      int64_t low = 0, high = 0;
      RdKafka::ErrorCode e =
          consumer->query_watermark_offsets(topic, p, &low, &high, 10000);
      if (e != RdKafka::ERR_NO_ERROR) {
        for (auto* tp : assignment) delete tp;
        return absl::UnavailableError(absl::StrCat("offsets of ", topic, "[", p,
                                                   "]: ", RdKafka::err2str(e)));
      }
      assignment.push_back(RdKafka::TopicPartition::create(topic, p, high));
    }
    RdKafka::ErrorCode e = consumer->assign(assignment);
    for (auto* tp : assignment) delete tp;
    if (e != RdKafka::ERR_NO_ERROR) {
      return absl::InternalError(RdKafka::err2str(e));
    }
    return consumer;
  }

  // After a run the engine could not keep up with, wait (up to 3 minutes)
  // until it has worked off its backlog: decisions stop arriving for 3 s.
  void Settle() {
    auto consumer = OpenDecisions();
    if (!consumer.ok()) return;
    const int64_t give_up = WallMicros() + 180 * kSecondUs;
    int64_t last = WallMicros();
    std::cerr << "loadtest: waiting for the engine's backlog\n";
    while (WallMicros() < give_up && WallMicros() - last < 3 * kSecondUs) {
      std::unique_ptr<RdKafka::Message> m((*consumer)->consume(100));
      if (m->err() == RdKafka::ERR_NO_ERROR) last = WallMicros();
    }
    (*consumer)->close();
  }

  int run_ = 0;
};

// `v`, or 0 when it is NaN or infinite: JSON has no such numbers.
double Finite(double v) { return std::isfinite(v) ? v : 0; }

std::string RunJson(const RunResult& r) {
  std::vector<std::string> intervals;
  for (size_t i = 0; i < r.intervals.size(); ++i) {
    const Interval& v = r.intervals[i];
    intervals.push_back(absl::StrFormat(
        "{\"second\":%d,\"decisions\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
        "\"max_ms\":%.3f}",
        i, v.decisions, v.p50_us / 1e3, v.p99_us / 1e3, v.max_us / 1e3));
  }
  std::vector<std::string> by_thread, threads, switches;
  for (const auto& [group, us] : r.engine_cpu_by_thread) {
    by_thread.push_back(absl::StrFormat("\"%s\":%.1f", group, Finite(us)));
  }
  for (const auto& [group, per_tx] : r.engine_switches_by_thread) {
    switches.push_back(absl::StrFormat("\"%s\":%.3f", group, Finite(per_tx)));
  }
  for (const auto& [group, n] : r.engine_threads) {
    threads.push_back(absl::StrFormat("\"%s\":%d", group, n));
  }
  return absl::StrFormat(
      "{\"offered_tps\":%.0f,\"achieved_tps\":%.1f,\"p50_ms\":%.3f,"
      "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
      "\"late\":%d,\"engine_cpu_us_per_tx\":%.1f,"
      "\"engine_cpu_us_per_tx_by_thread\":{%s},\"engine_threads\":{%s},"
      "\"engine_switches_per_tx_by_thread\":{%s},"
      "\"broker_cpu_us_per_tx\":%.1f,\"driver_cpu_us_per_tx\":%.1f,"
      "\"sent\":%d,"
      "\"decisions\":%d,\"measured\":%d,\"missing\":%d,"
      "\"unanswered_in_percentiles\":%d,"
      "\"producer_max_behind_ms\":%.1f,\"engine_rss_mb\":%.1f,"
      "\"sustainable\":%s,\"why_not_sustainable\":\"%s\","
      "\"measured_from\":\"%s\",\"intervals\":[%s]}",
      Finite(r.offered_tps), Finite(r.achieved_tps), Finite(r.p50_ms),
      Finite(r.p90_ms), Finite(r.p99_ms), Finite(r.p999_ms), Finite(r.max_ms),
      r.late, Finite(r.engine_cpu_us_per_tx), absl::StrJoin(by_thread, ","),
      absl::StrJoin(threads, ","), absl::StrJoin(switches, ","),
      Finite(r.broker_cpu_us_per_tx), Finite(r.driver_cpu_us_per_tx), r.sent,
      r.decisions, r.measured, r.missing, r.unanswered,
      Finite(r.producer_max_behind_ms), Finite(r.engine_rss_mb),
      r.sustainable ? "true" : "false", r.why_not,
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ",
                       absl::FromUnixMicros(r.measured_from_us),
                       absl::UTCTimeZone()),
      absl::StrJoin(intervals, ","));
}

// The fields of `r` without braces, for the top level.
std::string Fields(const RunResult& r) {
  std::string json = RunJson(r);
  const size_t cut = json.find(",\"intervals\"");
  return json.substr(1, cut - 1);
}

std::string Machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown";
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream meminfo("/proc/meminfo");
  int64_t mem_kb = 0;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemTotal:", 0) == 0) {
      std::vector<std::string> f =
          absl::StrSplit(line, ' ', absl::SkipWhitespace());
      if (f.size() >= 2) (void)absl::SimpleAtoi(f[1], &mem_kb);
    }
  }
  std::string quoted;
  for (char c : model) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return absl::StrFormat(
      "{\"cpus\":%d,\"cpu_model\":\"%s\",\"memory_gb\":%.1f}",
      std::thread::hardware_concurrency(), quoted, mem_kb / 1048576.0);
}

// Latency percentiles against offered load, both axes logarithmic.
std::string Svg(std::vector<RunResult> runs, double max_sustainable) {
  std::sort(runs.begin(), runs.end(),
            [](const RunResult& a, const RunResult& b) {
              return a.offered_tps < b.offered_tps;
            });
  const double w = 760, h = 460, left = 70, right = 20, top = 40, bottom = 60;
  double x_lo = 1e9, x_hi = 0, y_lo = 1e9, y_hi = 0;
  for (const RunResult& r : runs) {
    x_lo = std::min(x_lo, r.offered_tps);
    x_hi = std::max(x_hi, r.offered_tps);
    y_lo = std::min(y_lo, std::max(r.p50_ms, 0.01));
    y_hi = std::max(y_hi, std::max(r.p999_ms, 0.01));
  }
  x_lo = std::pow(10, std::floor(std::log10(x_lo)));
  x_hi = std::pow(10, std::ceil(std::log10(x_hi * 1.01)));
  y_lo = std::pow(10, std::floor(std::log10(y_lo)));
  y_hi = std::pow(10, std::ceil(std::log10(y_hi * 1.01)));
  if (y_hi <= y_lo) y_hi = y_lo * 10;
  if (x_hi <= x_lo) x_hi = x_lo * 10;
  auto X = [&](double v) {
    return left +
           (w - left - right) * std::log10(v / x_lo) / std::log10(x_hi / x_lo);
  };
  auto Y = [&](double v) {
    v = std::max(v, y_lo);
    return h - bottom -
           (h - top - bottom) * std::log10(v / y_lo) / std::log10(y_hi / y_lo);
  };
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
      "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"22\" font-size=\"15\">txscreen end to end: "
      "latency (decision received - intended send) vs offered load</text>\n",
      w, h, left);
  for (double v = x_lo; v <= x_hi * 1.001; v *= 10) {
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"middle\">%s</text>\n",
        X(v), top, X(v), h - bottom, X(v), h - bottom + 18,
        v >= 1000 ? absl::StrCat(v / 1000, "k") : absl::StrCat(v));
  }
  for (double v = y_lo; v <= y_hi * 1.001; v *= 10) {
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"#ddd\"/><text x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"end\">%g ms</text>\n",
        left, Y(v), w - right, Y(v), left - 6, Y(v) + 4, v);
  }
  absl::StrAppendFormat(&svg,
                        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                        "offered load (transactions/s)</text>\n",
                        (left + w - right) / 2, h - 18);
  struct Series {
    const char* name;
    const char* color;
    double RunResult::*field;
  };
  const Series series[] = {{"p50", "#1f77b4", &RunResult::p50_ms},
                           {"p90", "#2ca02c", &RunResult::p90_ms},
                           {"p99", "#ff7f0e", &RunResult::p99_ms},
                           {"p99.9", "#d62728", &RunResult::p999_ms}};
  int legend = 0;
  for (const Series& s : series) {
    std::string points;
    for (const RunResult& r : runs) {
      absl::StrAppendFormat(&points, "%.1f,%.1f ", X(r.offered_tps),
                            Y(r.*(s.field)));
    }
    absl::StrAppendFormat(
        &svg,
        "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
        "points=\"%s\"/>\n",
        s.color, points);
    for (const RunResult& r : runs) {
      absl::StrAppendFormat(
          &svg,
          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>%s "
          "%.3f ms at %.0f/s%s</title></circle>\n",
          X(r.offered_tps), Y(r.*(s.field)), s.color, s.name, r.*(s.field),
          r.offered_tps, r.sustainable ? "" : " (not sustainable)");
    }
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s</text>\n",
                          left + 10 + 60 * legend, top + 14, s.color, s.name);
    ++legend;
  }
  if (max_sustainable > 0) {
    absl::StrAppendFormat(
        &svg,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
        "stroke=\"black\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" "
        "y=\"%.1f\">max sustainable %.0f/s</text>\n",
        X(max_sustainable), top, X(max_sustainable), h - bottom,
        X(max_sustainable) + 4, top + 30, max_sustainable);
  }
  svg += "</svg>\n";
  return svg;
}

// `max_sustainable` < 0: no --find-max.
std::string Summary(const std::vector<RunResult>& runs,
                    double max_sustainable) {
  std::string out = absl::StrFormat(
      "%10s %10s %9s %9s %9s %9s %9s %6s %9s %9s %9s %8s  %s\n", "offered/s",
      "achieved/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "late",
      "engine", "broker", "driver", "rss MB", "sustainable");
  absl::StrAppendFormat(&out, "%90s\n", "(CPU us per transaction)");
  for (const RunResult& r : runs) {
    absl::StrAppendFormat(
        &out,
        "%10.0f %10.0f %9.2f %9.2f %9.2f %9.2f %9.2f %6d %9.1f %9.1f %9.1f "
        "%8.0f  %s\n",
        r.offered_tps, r.achieved_tps, r.p50_ms, r.p90_ms, r.p99_ms, r.p999_ms,
        r.max_ms, r.late, r.engine_cpu_us_per_tx, r.broker_cpu_us_per_tx,
        r.driver_cpu_us_per_tx, r.engine_rss_mb,
        r.sustainable ? "yes" : "no: " + r.why_not);
  }
  for (const RunResult& r : runs) {
    if (r.engine_cpu_by_thread.empty()) continue;
    std::vector<std::string> parts;
    for (const char* group : kThreadGroups) {
      auto it = r.engine_cpu_by_thread.find(group);
      if (it != r.engine_cpu_by_thread.end()) {
        parts.push_back(absl::StrFormat("%s %.1f", group, it->second));
      }
    }
    absl::StrAppendFormat(
        &out, "%10.0f engine CPU by thread, us per transaction: %s\n",
        r.offered_tps, absl::StrJoin(parts, ", "));
  }
  if (max_sustainable > 0) {
    absl::StrAppendFormat(&out, "maximum sustainable throughput: %.0f/s\n",
                          max_sustainable);
  } else if (max_sustainable == 0) {
    absl::StrAppendFormat(&out,
                          "maximum sustainable throughput: 0/s (no rate "
                          "tried, down to --min_rate %g/s, was sustainable)\n",
                          absl::GetFlag(FLAGS_min_rate));
  }
  return out;
}

bool WriteFile(const std::string& path, const std::string& text) {
  if (path.empty()) return true;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) std::cerr << "loadtest: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

// Comma-separated rates from `flag`, each in (0, kMaxRate].
absl::StatusOr<std::vector<double>> ParseRates(absl::string_view flag,
                                               absl::string_view text) {
  std::vector<double> rates;
  for (absl::string_view r : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    double v = 0;
    if (!absl::SimpleAtod(r, &v) || !(v > 0 && v <= kMaxRate)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s must be rates in (0, %.0f] transactions/s, got '%s'", flag,
          kMaxRate, r));
    }
    rates.push_back(v);
  }
  return rates;
}

// `flag` (`value`) must be in [lo, hi], or (lo, hi] when `open_low`. Also
// false for NaN.
absl::Status CheckRange(absl::string_view flag, double value, double lo,
                        bool open_low, double hi, absl::string_view unit) {
  if ((open_low ? value > lo : value >= lo) && value <= hi) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("%s must be in %s%.10g, %.10g]%s, got %g", flag,
                      open_low ? "(" : "[", lo, hi, unit, value));
}

// The flags other than the rates, checked before anything connects: a bad
// value would divide by zero, size a vector from a negative count or take
// all the memory. `highest` is the highest rate a run may have.
absl::Status CheckFlags(double highest) {
  const double duration = absl::GetFlag(FLAGS_duration);
  const double warmup = absl::GetFlag(FLAGS_warmup);
  const double max_rate = absl::GetFlag(FLAGS_max_rate);
  for (absl::Status s : {
           CheckRange("--duration", duration, 0, true, kMaxSeconds, " s"),
           CheckRange("--warmup", warmup, 0, false, kMaxSeconds, " s"),
           CheckRange("--prime", absl::GetFlag(FLAGS_prime), 0, false,
                      kMaxSeconds, " s"),
           CheckRange("--drain", absl::GetFlag(FLAGS_drain), 0, false,
                      kMaxDrainSeconds, " s"),
           CheckRange("--max_rate", max_rate, 0, true, kMaxRate,
                      " transactions/s"),
           CheckRange("--min_rate", absl::GetFlag(FLAGS_min_rate), 0, true,
                      max_rate, " transactions/s (up to --max_rate)"),
       }) {
    if (!s.ok()) return s;
  }
  const int64_t customers = absl::GetFlag(FLAGS_customers);
  if (customers < 1 || customers > kMaxCustomers) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--customers must be in [1, %d], got %d", kMaxCustomers, customers));
  }
  const double per_run = highest * (warmup + duration);
  if (per_run > kMaxTransactionsPerRun) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%.0f/s for --warmup %g s + --duration %g s is %.0f transactions; "
        "at most %.0f in one run (the driver keeps 8 bytes for each)",
        highest, warmup, duration, per_run, kMaxTransactionsPerRun));
  }
  return absl::OkStatus();
}

int Main() {
  if (absl::GetFlag(FLAGS_brokers).empty()) {
    std::cerr << "loadtest: --brokers is required\n";
    return 2;
  }
  absl::StatusOr<std::vector<double>> parsed =
      ParseRates("--rates", absl::GetFlag(FLAGS_rates));
  absl::StatusOr<std::vector<double>> after_search =
      ParseRates("--find_max_rates", absl::GetFlag(FLAGS_find_max_rates));
  for (const auto* p : {&parsed, &after_search}) {
    if (!p->ok()) {
      std::cerr << "loadtest: " << p->status().message() << "\n";
      return 2;
    }
  }
  std::vector<double> rates = *parsed;
  const bool find_max = absl::GetFlag(FLAGS_find_max);
  if (rates.empty() && !find_max) {
    std::cerr << "loadtest: --rates or --find-max is needed\n";
    return 2;
  }
  double highest = 0;
  for (double r : rates) highest = std::max(highest, r);
  if (find_max) {
    highest = std::max(highest, absl::GetFlag(FLAGS_max_rate));
    for (double r : *after_search) highest = std::max(highest, r);
  }
  if (absl::Status s = CheckFlags(highest); !s.ok()) {
    std::cerr << "loadtest: " << s.message() << "\n";
    return 2;
  }
  LoadTest test;
  std::vector<RunResult> runs, search;
  auto run = [&](double rate, std::vector<RunResult>* into) -> bool {
    std::cerr << absl::StrFormat("loadtest: %.0f/s for %g s (+%g s warm-up)\n",
                                 rate, absl::GetFlag(FLAGS_duration),
                                 absl::GetFlag(FLAGS_warmup));
    absl::StatusOr<RunResult> r = test.Run(rate);
    if (!r.ok()) {
      std::cerr << "loadtest: " << r.status().message() << "\n";
      return false;
    }
    std::cerr << Summary({*r}, -1);
    into->push_back(*r);
    return true;
  };
  if (absl::GetFlag(FLAGS_prime) > 0) {
    const double warmup = absl::GetFlag(FLAGS_warmup);
    const double duration = absl::GetFlag(FLAGS_duration);
    absl::SetFlag(&FLAGS_warmup, absl::GetFlag(FLAGS_prime));
    absl::SetFlag(&FLAGS_duration, 1);
    std::cerr << "loadtest: priming ";
    std::vector<RunResult> discarded;
    if (!run(1000, &discarded)) return 1;
    absl::SetFlag(&FLAGS_warmup, warmup);
    absl::SetFlag(&FLAGS_duration, duration);
  }
  double max_sustainable = -1;  // no --find-max
  const RunResult* at_max = nullptr;
  if (find_max) {
    // Double from 2,000/s until a rate is not sustainable; when 2,000/s is
    // not, halve it down to --min_rate until one is. Then halve the gap
    // three times. The maximum is 0 when not even --min_rate was
    // sustainable.
    const double max_rate = absl::GetFlag(FLAGS_max_rate);
    const double min_rate = absl::GetFlag(FLAGS_min_rate);
    double good = 0, bad = 0;
    for (double rate = std::clamp(2000.0, min_rate, max_rate); rate <= max_rate;
         rate *= 2) {
      if (!run(rate, &search)) return 1;
      if (!search.back().sustainable) {
        bad = rate;
        break;
      }
      good = rate;
    }
    for (double rate = bad / 2; good == 0 && rate >= min_rate; rate /= 2) {
      if (!run(rate, &search)) return 1;
      (search.back().sustainable ? good : bad) = rate;
    }
    for (int i = 0; i < 3 && bad > 0 && good > 0; ++i) {
      const double step = good >= 1000 ? 100 : 10;
      const double mid = std::round((good + bad) / 2 / step) * step;
      if (mid <= good || mid >= bad) break;
      if (!run(mid, &search)) return 1;
      (search.back().sustainable ? good : bad) = mid;
    }
    max_sustainable = good;
    for (const RunResult& r : search) {
      if (r.offered_tps == good && r.sustainable) at_max = &r;
    }
    rates.insert(rates.end(), after_search->begin(), after_search->end());
    for (double share : {0.5, 0.7, 0.9}) {
      if (good > 0) rates.push_back(std::round(good * share / 100) * 100);
    }
    std::sort(rates.begin(), rates.end());
    rates.erase(std::unique(rates.begin(), rates.end()), rates.end());
    // 50 % of a maximum below 100/s rounds to 0.
    rates.erase(std::remove(rates.begin(), rates.end(), 0.0), rates.end());
  }
  for (double rate : rates) {
    if (!run(rate, &runs)) return 1;
  }

  // With --find-max and no rates to measure after it, the search's runs
  // are the only ones.
  const std::vector<RunResult>& shown = runs.empty() ? search : runs;
  const RunResult& top = at_max != nullptr ? *at_max : shown.back();
  std::vector<std::string> run_json, search_json;
  for (const RunResult& r : runs) run_json.push_back(RunJson(r));
  for (const RunResult& r : search) search_json.push_back(RunJson(r));
  std::string note;
  for (char c : absl::GetFlag(FLAGS_note)) {
    if (c == '"' || c == '\\') note += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) note += c;
  }
  std::string json = absl::StrCat(
      "{", Fields(top),
      find_max
          ? absl::StrFormat(",\"max_sustainable_tps\":%.0f", max_sustainable)
          : "",
      absl::StrFormat(",\"customers\":%d,\"duration_s\":%g,\"warmup_s\":%g,"
                      "\"machine\":%s,\"note\":\"%s\",",
                      absl::GetFlag(FLAGS_customers),
                      absl::GetFlag(FLAGS_duration),
                      absl::GetFlag(FLAGS_warmup), Machine(), note),
      "\"runs\":[", absl::StrJoin(run_json, ","), "],\"search\":[",
      absl::StrJoin(search_json, ","), "]}\n");
  const std::string summary = Summary(shown, max_sustainable);
  std::cout << summary;
  bool ok = WriteFile(absl::GetFlag(FLAGS_json), json) &&
            WriteFile(absl::GetFlag(FLAGS_summary), summary) &&
            WriteFile(absl::GetFlag(FLAGS_svg), Svg(shown, max_sustainable));
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace txscreen::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "end-to-end load test driver; see tools/loadtest and bench/README.md");
  absl::ParseCommandLine(argc, argv);
  return txscreen::bench::Main();
}
