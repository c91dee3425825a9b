// txscreen demo: the whole system on one machine with nothing else
// installed. The streaming service on an embedded Kafka cluster with the
// shipped pack, the traffic generator producing to it open-loop with
// injected scenarios, the teller console, and a live summary in the
// terminal read back from the decisions topic like any client would.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "bench/latency_histogram.h"
#include "bench/open_loop.h"
#include "bench/transaction_generator.h"
#include "engine/enum_names.h"
#include "engine/roster.h"
#include "rules/currency.h"
#include "rules/money.h"
#include "serve/kafka_util.h"
#include "serve/log.h"
#include "serve/serve_config.h"
#include "tools/command_line.h"
#include "tools/commands.h"
#include "tools/serving.h"

namespace txscreen::tools {

namespace v1 = ::txscreen::v1;

namespace {

constexpr char kUsage[] =
    "usage: txscreen demo [--rate 20] [--customers 2000] [--scenario-share "
    "0.05]\n"
    "           [--seed N] [--http 127.0.0.1:8080] [--rules PACK] [--state-dir "
    "DIR]\n"
    "           [--duration S] [--every S]\n"
    "  Embedded Kafka, the engine with the shipped pack, the generator with\n"
    "  injected scenarios, the teller console; a live summary every --every\n"
    "  seconds (default 2). Ctrl-C stops everything. --duration stops after S\n"
    "  seconds (0: run until Ctrl-C). State goes to a fresh temporary\n"
    "  directory unless --state-dir is given.\n";

// Demo staff of branch BR0042, where the generator's counter scenarios
// happen. Tokens are printed at start; the roster keeps only their hashes.
struct DemoStaff {
  const char* id;
  const char* name;
  const char* role;
  const char* token;
};
constexpr DemoStaff kStaff[] = {
    {"DEMO-T1", "演示柜员 Demo Teller", "teller", "demo-teller"},
    {"DEMO-S1", "演示主管 Demo Supervisor", "supervisor", "demo-supervisor"},
    {"DEMO-C1", "演示合规 Demo Compliance", "compliance", "demo-compliance"},
};
constexpr char kBranch[] = "BR0042";

struct Sent {
  int64_t intended_us;
  std::string amount;
  std::string scenario;
  v1::Channel channel;
};

struct Alert {
  std::string time;
  std::string verdict;
  std::string customer;
  std::string amount;
  std::string channel;
  std::string rules;
  std::string scenario;
};

// What the summary shows; filled by the decisions reader.
class Summary {
 public:
  void Sending(const v1::Transaction& tx, int64_t intended_us,
               const std::string& scenario, bool resent) {
    auto digits = rules::CurrencyMinorDigits(tx.currency());
    absl::MutexLock lock(&mu_);
    ++sent_;
    if (resent) return;  // answered with the first decision
    sent_info_[tx.transaction_id()] = {
        intended_us,
        rules::FormatMoney(tx.amount_minor(), tx.currency(),
                           digits.ok() ? *digits : 0),
        scenario, tx.channel()};
  }

  void Decided(const v1::Decision& d, int64_t received_us) {
    absl::MutexLock lock(&mu_);
    ++decided_;
    const std::string verdict = engine::ShortEnumName(d.verdict());
    ++verdicts_[verdict];
    auto it = sent_info_.find(d.transaction_id());
    if (it == sent_info_.end()) return;  // a duplicate or an earlier run
    const Sent& s = it->second;
    latency_.Record(std::max<int64_t>(0, received_us - s.intended_us));
    recent_latency_.Record(std::max<int64_t>(0, received_us - s.intended_us));
    if (d.verdict() >= v1::VERDICT_WARN && d.verdict() <= v1::VERDICT_BLOCK) {
      Alert a;
      a.time = absl::FormatTime("%H:%M:%S", absl::FromUnixMicros(received_us),
                                absl::LocalTimeZone());
      a.verdict = verdict;
      a.customer = d.customer_id();
      a.amount = s.amount;
      a.channel = engine::ShortEnumName(s.channel);
      for (const v1::RuleHit& h : d.hits()) {
        absl::StrAppend(&a.rules, a.rules.empty() ? "" : " ", h.rule_id());
      }
      a.scenario = s.scenario.empty() ? "-" : s.scenario;
      alerts_.push_front(std::move(a));
      if (alerts_.size() > 6) alerts_.pop_back();
      ++intercepts_by_verdict_[verdict];
    }
    sent_info_.erase(it);
  }

  std::string Render(double seconds, const std::string& header) {
    absl::MutexLock lock(&mu_);
    const double rate = static_cast<double>(decided_ - decided_at_last_) /
                        std::max(1e-3, seconds - seconds_at_last_);
    decided_at_last_ = decided_;
    seconds_at_last_ = seconds;
    std::string out = header;
    absl::StrAppend(
        &out,
        absl::StrFormat("running %.0f s: sent %d, decided %d (%.1f/s now), "
                        "awaiting %d\n",
                        seconds, sent_, decided_, rate, sent_info_.size()));
    absl::StrAppend(&out, "verdicts:");
    for (const auto& [v, n] : verdicts_) absl::StrAppend(&out, " ", v, " ", n);
    auto ms = [](int64_t us) { return static_cast<double>(us) / 1000.0; };
    absl::StrAppend(
        &out, absl::StrFormat(
                  "\nlatency produce -> decision received (ms): p50 %.1f  p90 "
                  "%.1f  p99 %.1f  max %.1f;  last interval p99 %.1f\n",
                  ms(latency_.Percentile(0.5)), ms(latency_.Percentile(0.9)),
                  ms(latency_.Percentile(0.99)), ms(latency_.max()),
                  ms(recent_latency_.Percentile(0.99))));
    recent_latency_.Clear();
    absl::StrAppend(&out, "latest warnings, delays, intercepts and blocks:\n");
    if (alerts_.empty()) absl::StrAppend(&out, "  (none yet)\n");
    for (const Alert& a : alerts_) {
      absl::StrAppend(&out,
                      absl::StrFormat("  %s %-9s %-10s %18s %-8s %-24s (%s)\n",
                                      a.time, a.verdict, a.customer, a.amount,
                                      a.channel, a.rules, a.scenario));
    }
    return out;
  }

  // Transactions sent whose decision has not been read yet.
  size_t awaiting() {
    absl::MutexLock lock(&mu_);
    return sent_info_.size();
  }

 private:
  absl::Mutex mu_;
  int64_t sent_ = 0, decided_ = 0, decided_at_last_ = 0;
  double seconds_at_last_ = 0;
  absl::flat_hash_map<std::string, Sent> sent_info_;
  std::map<std::string, int64_t> verdicts_, intercepts_by_verdict_;
  bench::LatencyHistogram latency_, recent_latency_;
  std::deque<Alert> alerts_;
};

absl::Status WriteRoster(const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  out << "staff_id,name,branch_id,role,token_sha256\n";
  for (const DemoStaff& s : kStaff) {
    out << s.id << ",\"" << s.name << "\","
        << (std::strcmp(s.role, "compliance") == 0 ? "HQ" : kBranch) << ","
        << s.role << "," << engine::Sha256Hex(s.token) << "\n";
  }
  out.close();
  if (!out) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Reads the decisions topic from its start (the embedded cluster is new)
// until *stop.
void ReadDecisions(const std::string& bootstrap, const std::string& topic,
                   Summary* summary, std::atomic<bool>* stop) {
  auto conf = serve::MakeKafkaConf({{"bootstrap.servers", bootstrap},
                                    {"group.id", "txscreen-demo-summary"},
                                    {"enable.auto.commit", "false"},
                                    {"auto.offset.reset", "earliest"},
                                    {"isolation.level", "read_committed"},
                                    {"fetch.wait.max.ms", "20"},
                                    {"fetch.error.backoff.ms", "20"}});
  if (!conf.ok()) {
    serve::Log(serve::LogLevel::kError,
               absl::StrCat("demo summary: ", conf.status().message()));
    return;
  }
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), err));
  if (consumer == nullptr) {
    serve::Log(serve::LogLevel::kError, absl::StrCat("demo summary: ", err));
    return;
  }
  // Assigned, not subscribed: no group join to wait for.
  absl::StatusOr<int> partitions =
      serve::PartitionCount(consumer.get(), topic, 10000);
  if (!partitions.ok()) {
    serve::Log(serve::LogLevel::kError,
               absl::StrCat("demo summary: ", partitions.status().message()));
    return;
  }
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int p = 0; p < *partitions; ++p) {
    assignment.push_back(RdKafka::TopicPartition::create(
        topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  RdKafka::ErrorCode assigned = consumer->assign(assignment);
  for (auto* tp : assignment) delete tp;
  if (assigned != RdKafka::ERR_NO_ERROR) {
    serve::Log(
        serve::LogLevel::kError,
        absl::StrCat("demo summary: assign: ", RdKafka::err2str(assigned)));
    return;
  }
  v1::Decision decision;
  while (!stop->load()) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    if (!decision.ParseFromArray(m->payload(), static_cast<int>(m->len()))) {
      serve::Log(serve::LogLevel::kWarning,
                 absl::StrCat("demo summary: undecodable decision at offset ",
                              m->offset()));
      continue;
    }
    summary->Decided(decision, bench::WallMicros());
  }
  consumer->close();
}

}  // namespace

int DemoCommand(const std::vector<std::string>& args) {
  CommandLine cl({"rate", "customers", "scenario-share", "seed", "http",
                  "rules", "state-dir", "duration", "every"},
                 {"help"});
  absl::Status parsed = cl.Parse(args);
  if (cl.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  double rate = 20, share = 0.05, duration = 0, every = 2;
  int64_t customers = 2000;
  uint64_t seed = 20261203;
  auto number = [&](const char* flag, double* out, double lo, double hi) {
    if (!parsed.ok() || !cl.Has(flag)) return;
    // Written so that NaN fails too.
    if (!absl::SimpleAtod(cl.Get(flag), out) || !(*out >= lo && *out <= hi)) {
      parsed = absl::InvalidArgumentError(
          absl::StrCat("--", flag, " needs a number in [", lo, ", ", hi,
                       "], got '", cl.Get(flag), "'"));
    }
  };
  number("rate", &rate, 0.1, 5000);
  number("scenario-share", &share, 0, 0.5);
  number("duration", &duration, 0, 1e7);
  number("every", &every, 0.2, 3600);
  if (parsed.ok() && cl.Has("customers") &&
      (!absl::SimpleAtoi(cl.Get("customers"), &customers) || customers < 1)) {
    parsed = absl::InvalidArgumentError(absl::StrCat(
        "--customers needs a count from 1, got '", cl.Get("customers"), "'"));
  }
  if (parsed.ok() && cl.Has("seed") &&
      !absl::SimpleAtoi(cl.Get("seed"), &seed)) {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("--seed needs an integer, got '", cl.Get("seed"), "'"));
  }
  if (!parsed.ok() || !cl.positional().empty()) {
    if (!parsed.ok())
      std::cerr << "txscreen demo: " << parsed.message() << "\n";
    std::cerr << kUsage;
    return 2;
  }

  // State: a fresh directory, since the embedded cluster is new each run.
  std::string dir = cl.Get("state-dir");
  bool remove_dir = false;
  if (dir.empty()) {
    std::string templ =
        (std::filesystem::temp_directory_path() / "txscreen-demo-XXXXXX")
            .string();
    if (::mkdtemp(templ.data()) == nullptr) {
      std::cerr << "txscreen demo: cannot create a state directory: "
                << std::strerror(errno) << "\n";
      return 1;
    }
    dir = templ;
    remove_dir = true;
  }
  std::error_code ec;
  if (!remove_dir && std::filesystem::exists(dir, ec) &&
      !std::filesystem::is_empty(dir, ec)) {
    // Its offsets and changelog positions belong to an earlier embedded
    // cluster, which is gone.
    std::cerr << "txscreen demo: --state-dir " << dir
              << " is not empty; the demo's embedded Kafka is new each run, so "
                 "give a new directory\n";
    return 2;
  }
  std::filesystem::create_directories(dir, ec);
  const std::string log_path = dir + "/demo.log";
  std::FILE* log = std::fopen(log_path.c_str(), "a");
  if (log == nullptr) {
    std::cerr << "txscreen demo: cannot write " << log_path << ": "
              << std::strerror(errno) << "\n";
    return 1;
  }
  serve::SetLogFile(log);
  auto cleanup = [&]() {
    serve::SetLogFile(nullptr);
    std::fclose(log);
    if (remove_dir) std::filesystem::remove_all(dir, ec);
  };
  if (absl::Status s = WriteRoster(dir + "/staff.csv"); !s.ok()) {
    std::cerr << "txscreen demo: " << s.message() << "\n";
    cleanup();
    return 1;
  }

  std::vector<std::string> serve_args = {
      "--state-dir",  dir + "/state",
      "--roster",     dir + "/staff.csv",
      "--http",       cl.Has("http") ? cl.Get("http") : "127.0.0.1:8080",
      "--partitions", "3"};
  // The shipped pack: from the working directory (the repository), else
  // beside the binary's build directory (build/txscreen -> rules/packs/cn).
  std::string rules = cl.Get("rules");
  if (rules.empty() && !std::filesystem::exists("rules/packs/cn", ec)) {
    std::filesystem::path beside =
        std::filesystem::read_symlink("/proc/self/exe", ec)
            .parent_path()
            .parent_path() /
        "rules/packs/cn";
    if (!ec && std::filesystem::exists(beside, ec)) rules = beside.string();
  }
  if (!rules.empty()) {
    serve_args.push_back("--rules");
    serve_args.push_back(rules);
  }
  absl::StatusOr<serve::ServeCommandOptions> config =
      serve::ParseServeConfig(serve_args, "");
  if (!config.ok()) {
    std::cerr << "txscreen demo: " << config.status().message() << "\n";
    cleanup();
    return 2;
  }
  config->serve.output_format = serve::WireFormat::kProto;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::cout << "txscreen demo: starting (log: " << log_path << ")" << std::endl;
  absl::StatusOr<std::unique_ptr<Serving>> serving = Serving::Start(*config);
  if (!serving.ok()) {
    std::cerr << "txscreen demo: " << serving.status().message() << "\n";
    // The log goes with the temporary directory: its end, first.
    std::fflush(log);
    std::ifstream in(log_path);
    std::deque<std::string> tail;
    for (std::string line; std::getline(in, line);) {
      tail.push_back(std::move(line));
      if (tail.size() > 20) tail.pop_front();
    }
    if (!tail.empty()) std::cerr << "txscreen demo: the log ended with:\n";
    for (const std::string& line : tail) std::cerr << "  " << line << "\n";
    cleanup();
    return 1;
  }
  serve::Service* service = (*serving)->service();
  const std::string bootstrap = service->bootstrap();
  const std::string console_url =
      (*serving)->http_port() == 0
          ? std::string("off (--http off)")
          : absl::StrCat("http://", config->http_host, ":",
                         (*serving)->http_port(), "/console");
  std::string header = absl::StrCat(
      "txscreen demo - rules ", service->rules()->version(),
      ", embedded Kafka at ", bootstrap, " (e.g. kcat -b ", bootstrap, " -t ",
      config->serve.topics.alerts, ")\nteller console: ", console_url,
      "  branch ", kBranch,
      ": teller token demo-teller, supervisor token demo-supervisor\n",
      absl::StrFormat("traffic: %g tx/s over %d customers, %.0f%% in injected "
                      "scenarios; Ctrl-C stops\n\n",
                      rate, customers, share * 100));
  std::cout << header << std::flush;

  std::atomic<bool> stop{false};
  Summary summary;
  std::thread reader(ReadDecisions, bootstrap, config->serve.topics.decisions,
                     &summary, &stop);

  // The generator: open loop until stop_traffic.
  bench::DeliveryCounter deliveries;
  auto producer = bench::MakeOpenLoopProducer(
      {{"bootstrap.servers", bootstrap}}, &deliveries);
  if (!producer.ok()) {
    std::cerr << "txscreen demo: producer: " << producer.status().message()
              << "\n";
    stop = true;
    reader.join();
    serving->reset();
    cleanup();
    return 1;
  }
  std::atomic<bool> stop_traffic{false}, traffic_done{false};
  std::thread generator([&] {
    // Traffic starts once the engine has its partitions.
    std::string why;
    while (!stop_traffic.load() && !service->Ready(&why)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    bench::GeneratorOptions g;
    g.seed = seed;
    g.customers = customers;
    g.skew = 0.3;
    g.scenario_share = share;
    // The generator's own clock runs faster than the wall clock (4
    // transactions per customer and day), so that scenarios that span
    // hours of event time play out in a minute; RunOpenLoop moves each
    // transaction to its send time.
    g.start_us = bench::WallMicros();
    bench::TransactionGenerator gen(g);
    bench::OpenLoopOptions o;
    o.rate = rate;
    o.poisson = true;
    o.seed = seed;
    o.topic = config->serve.topics.transactions;
    o.start_us = bench::WallMicros();
    o.end_us = INT64_MAX;
    o.stop = &stop_traffic;
    auto r = bench::RunOpenLoop(
        o, &gen, producer->get(),
        [&](const v1::Transaction& tx, int64_t intended_us, bool resent) {
          summary.Sending(tx, intended_us, gen.label().scenario, resent);
        });
    if (!r.ok()) {
      serve::Log(serve::LogLevel::kError,
                 absl::StrCat("demo generator: ", r.status().message()));
    }
    (*producer)->flush(5000);
    traffic_done = true;
  });

  const int64_t demo_started = bench::WallMicros();
  // Stopping: traffic first, then up to 5 s for the decisions in flight,
  // then the engine. A second Ctrl-C skips the wait.
  std::atomic<bool> finishing{false};
  auto finish = [&] {
    stop_traffic = true;
    const int64_t give_up = bench::WallMicros() + 5000000;
    while ((!traffic_done.load() || summary.awaiting() > 0) && !stop.load() &&
           bench::WallMicros() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop = true;
    service->Stop();
  };
  std::thread signal_thread([&] {
    while (!stop.load()) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0 || stop.load()) continue;
      if (finishing.exchange(true)) {
        std::cerr << "txscreen demo: stopping now\n";
        stop_traffic = true;
        stop = true;
        service->Stop();
      }
    }
  });
  std::thread printer([&] {
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    const int64_t started = bench::WallMicros();
    int64_t next = started + static_cast<int64_t>(every * 1e6);
    while (!stop.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const int64_t now = bench::WallMicros();
      if (finishing.load() ||
          (duration > 0 &&
           now - started >= static_cast<int64_t>(duration * 1e6))) {
        finishing = true;
        finish();
        break;
      }
      if (now < next) continue;
      next += static_cast<int64_t>(every * 1e6);
      std::string text = summary.Render(
          static_cast<double>(now - started) / 1e6, tty ? header : "");
      std::cout << (tty ? "\033[H\033[2J" : "") << text << (tty ? "" : "\n")
                << std::flush;
    }
  });

  absl::Status run = (*serving)->Run();
  stop_traffic = true;
  stop = true;
  generator.join();
  producer->reset();
  printer.join();
  reader.join();
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  std::cout << "\n"
            << summary.Render(
                   static_cast<double>(bench::WallMicros() - demo_started) /
                       1e6,
                   "txscreen demo: stopped.\n")
            << std::flush;
  serving->reset();
  cleanup();
  if (!run.ok()) {
    std::cerr << "txscreen demo: " << run.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace txscreen::tools
