// txscreen report large-value: the day's large-value transaction report
// from report records, read from files (`screen --reports`, or a dump of
// the topic) or straight from the reports topic.
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "compliance/input.h"
#include "compliance/large_value_report.h"
#include "engine/transaction_codec.h"
#include "librdkafka/rdkafkacpp.h"
#include "serve/kafka_util.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

namespace v1 = ::txscreen::v1;

namespace {

constexpr char kUsage[] =
    "usage: txscreen report large-value --date YYYY-MM-DD --institution CODE\n"
    "           (--input FILE[,FILE...] | --brokers B [--topic "
    "txscreen.reports])\n"
    "           [--time-zone Asia/Shanghai] [--holidays FILE] [--format "
    "csv|jsonl]\n"
    "           [--output FILE|-]\n"
    "  One record per customer, direction and report kind with the day's\n"
    "  reported transactions (PBOC/CAMLMAC fields txscreen holds); the\n"
    "  deadline is the 5th working day after the date. Input: report records\n"
    "  as JSONL (txscreen screen --reports) or the engine's reports topic.\n"
    "  --holidays: one YYYY-MM-DD per line (a holiday), or 'YYYY-MM-DD\n"
    "  working' (a working weekend day); '#' starts a comment.\n"
    "  Exit 0; 1 on errors; 2 on a usage error; 3 when some input lines were\n"
    "  unreadable.\n";

absl::Status ReadHolidays(const std::string& path,
                          compliance::LargeValueOptions* options) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    absl::string_view text = line;
    if (size_t hash = text.find('#'); hash != absl::string_view::npos) {
      text = text.substr(0, hash);
    }
    text = absl::StripAsciiWhitespace(text);
    if (text.empty()) continue;
    std::vector<absl::string_view> parts =
        absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    absl::CivilDay day;
    if (!absl::ParseCivilTime(parts[0], &day) || parts.size() > 2 ||
        (parts.size() == 2 && parts[1] != "working")) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", n, ": expected YYYY-MM-DD or 'YYYY-MM-DD working', got '",
          text, "'"));
    }
    (parts.size() == 2 ? options->working_weekend_days : options->holidays)
        .insert(day);
  }
  return absl::OkStatus();
}

// Reads the topic from a day before the report date (records are produced
// around their event time; a backlog decided later is still after that) to
// its end, committed records only.
absl::Status ReadTopic(const std::string& brokers, const std::string& topic,
                       absl::Time from, compliance::LargeValueReport* report,
                       int64_t* unreadable) {
  auto conf = serve::MakeKafkaConf({{"bootstrap.servers", brokers},
                                    {"group.id", "txscreen-report"},
                                    {"enable.auto.commit", "false"},
                                    {"enable.partition.eof", "true"},
                                    {"isolation.level", "read_committed"}});
  if (!conf.ok()) return conf.status();
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(
      RdKafka::KafkaConsumer::create(conf->get(), err));
  if (consumer == nullptr) return absl::InternalError(err);
  absl::StatusOr<int> partitions =
      serve::PartitionCount(consumer.get(), topic, 10000);
  if (!partitions.ok()) return partitions.status();
  std::vector<RdKafka::TopicPartition*> parts;
  for (int p = 0; p < *partitions; ++p) {
    parts.push_back(
        RdKafka::TopicPartition::create(topic, p, absl::ToUnixMillis(from)));
  }
  RdKafka::ErrorCode e = consumer->offsetsForTimes(parts, 10000);
  for (RdKafka::TopicPartition* tp : parts) {
    // No message at or after the time: start at the end.
    if (tp->offset() < 0) tp->set_offset(RdKafka::Topic::OFFSET_END);
  }
  if (e == RdKafka::ERR_NO_ERROR) e = consumer->assign(parts);
  for (RdKafka::TopicPartition* tp : parts) delete tp;
  if (e != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("reading ", topic, ": ", RdKafka::err2str(e)));
  }
  std::set<int32_t> done;
  v1::ReportRecord record;
  while (static_cast<int>(done.size()) < *partitions) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(1000));
    if (m->err() == RdKafka::ERR__PARTITION_EOF) {
      done.insert(m->partition());
    } else if (m->err() == RdKafka::ERR__TIMED_OUT) {
      continue;
    } else if (m->err() != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(
          absl::StrCat("reading ", topic, ": ", m->errstr()));
    } else {
      const absl::string_view bytes(static_cast<const char*>(m->payload()),
                                    m->len());
      // Records are protobuf or JSON, as the engine's output format.
      if (record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
          engine::DecodeJson(bytes, "a report record", &record).ok()) {
        report->Add(record);
      } else {
        ++*unreadable;
        std::cerr << topic << "[" << m->partition() << "]@" << m->offset()
                  << ": not a report record\n";
      }
    }
  }
  consumer->close();
  return absl::OkStatus();
}

int LargeValue(const std::vector<std::string>& args) {
  CommandLine cl({"date", "institution", "input", "brokers", "topic",
                  "time-zone", "holidays", "format", "output"},
                 {"help"});
  absl::Status parsed = cl.Parse(args);
  if (cl.Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  compliance::LargeValueOptions options;
  // A 4-digit year from 1990: "26-11-20" would be the year 26, an empty
  // report that looks like a real one.
  if (parsed.ok() && cl.Has("date") &&
      (cl.Get("date").size() != 10 ||
       !absl::ParseCivilTime(cl.Get("date"), &options.date) ||
       options.date.year() < 1990)) {
    parsed = absl::InvalidArgumentError(absl::StrCat(
        "--date needs YYYY-MM-DD from 1990 on, got '", cl.Get("date"), "'"));
  }
  const std::string zone = cl.Get("time-zone", "Asia/Shanghai");
  if (parsed.ok() && !absl::LoadTimeZone(zone, &options.zone)) {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("unknown time zone '", zone, "'"));
  }
  const std::string format = cl.Get("format", "csv");
  if (parsed.ok() && format != "csv" && format != "jsonl") {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("--format is csv or jsonl, got '", format, "'"));
  }
  if (parsed.ok() && cl.Has("input") == cl.Has("brokers")) {
    parsed = absl::InvalidArgumentError(
        "give --input FILE or --brokers B (one of them)");
  }
  if (!parsed.ok() || !cl.Has("date") || !cl.Has("institution") ||
      cl.Get("institution").empty() || !cl.positional().empty()) {
    if (!parsed.ok())
      std::cerr << "txscreen report large-value: " << parsed.message() << "\n";
    std::cerr << kUsage;
    return 2;
  }
  options.institution_code = cl.Get("institution");
  if (cl.Has("holidays")) {
    if (absl::Status s = ReadHolidays(cl.Get("holidays"), &options); !s.ok()) {
      std::cerr << "txscreen report large-value: " << s.message() << "\n";
      return 1;
    }
  }
  compliance::LargeValueReport report(options);
  int64_t unreadable = 0;
  if (cl.Has("input")) {
    v1::ReportRecord record;
    for (absl::string_view name :
         absl::StrSplit(cl.Get("input"), ',', absl::SkipEmpty())) {
      std::ifstream in{std::string(name), std::ios::binary};
      if (!in) {
        std::cerr << "txscreen report large-value: cannot read " << name << ": "
                  << std::strerror(errno) << "\n";
        return 1;
      }
      std::string line;
      for (int64_t n = 1; std::getline(in, line); ++n) {
        if (n == 1)
          line.erase(0, line.size() - engine::WithoutBom(line).size());
        if (absl::StripAsciiWhitespace(line).empty()) continue;
        if (absl::Status s =
                engine::DecodeJson(line, "a report record", &record);
            !s.ok()) {
          ++unreadable;
          std::cerr << name << ":" << n << ": " << s.message() << "\n";
          continue;
        }
        report.Add(record);
      }
    }
  } else {
    const absl::Time from =
        absl::FromCivil(options.date, options.zone) - absl::Hours(24);
    if (absl::Status s =
            ReadTopic(cl.Get("brokers"), cl.Get("topic", "txscreen.reports"),
                      from, &report, &unreadable);
        !s.ok()) {
      std::cerr << "txscreen report large-value: " << s.message() << "\n";
      return 1;
    }
  }
  std::ofstream file;
  std::string error;
  std::ostream* out = OpenOutput(cl.Get("output", "-"), &file, &error);
  if (out == nullptr) {
    std::cerr << "txscreen report large-value: " << error << "\n";
    return 1;
  }
  *out << (format == "csv" ? report.Csv() : report.Jsonl());
  out->flush();
  if (!*out) {
    std::cerr << "txscreen report large-value: writing the report failed\n";
    return 1;
  }
  std::cerr << "large-value report " << absl::FormatCivilTime(options.date)
            << ": " << report.report_count() << " records from "
            << report.records_of_day() << " report records of the day ("
            << report.records_read() << " read, " << report.duplicates()
            << " duplicates, " << report.withdrawn()
            << " withdrawn: reversed or not released, " << unreadable
            << " unreadable); deadline "
            << absl::FormatCivilTime(report.deadline())
            << " (5 working days)\n";
  return unreadable > 0 ? compliance::kExitUnreadableRows : 0;
}

}  // namespace

int ReportCommand(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "large-value") {
    return LargeValue(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::cerr << "txscreen report: "
            << (args.empty() ? std::string("a report kind is needed")
                             : "unknown report '" + args[0] + "'")
            << "; use 'report large-value'\n"
            << kUsage;
  return 2;
}

}  // namespace txscreen::tools
