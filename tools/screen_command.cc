#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "compliance/engine_run.h"
#include "compliance/input.h"
#include "engine/report_record.h"
#include "engine/transaction_codec.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

namespace v1 = ::txscreen::v1;

namespace {

constexpr size_t kMaxLineBytes = 1 << 20;
constexpr int kFlushEvery = 10000;

}  // namespace

int ScreenCommand(const std::vector<std::string>& args) {
  constexpr char kUsage[] =
      "usage: txscreen screen --rules PACK[,PACK...] --input FILE|- "
      "--output FILE|- [--state-dir DIR]\n"
      "           [--reports FILE]   report records (large-value) "
      "as JSONL, for txscreen report\n";
  if (WantsHelp(args)) {
    std::cout << kUsage;
    return 0;
  }
  CommandLine cl({"rules", "input", "output", "state-dir", "reports"}, {});
  absl::Status parsed = cl.Parse(args);
  if (!parsed.ok() || !cl.Has("rules") || !cl.Has("input") ||
      !cl.Has("output") || !cl.positional().empty()) {
    if (!parsed.ok())
      std::cerr << "txscreen screen: " << parsed.message() << "\n";
    std::cerr << kUsage;
    return 2;
  }
  std::vector<std::string> errors;
  std::unique_ptr<compliance::EngineRun> engine = compliance::EngineRun::Open(
      absl::StrSplit(cl.Get("rules"), ',', absl::SkipEmpty()),
      cl.Get("state-dir"), &errors);
  for (const std::string& e : errors) std::cerr << e << "\n";
  if (engine == nullptr) return 1;

  const std::string input_name = cl.Get("input");
  std::ifstream input_file;
  std::istream* input = &std::cin;
  if (input_name != "-") {
    input_file.open(input_name, std::ios::binary);
    if (!input_file) {
      std::cerr << "txscreen screen: cannot read " << input_name << ": "
                << std::strerror(errno) << "\n";
      return 1;
    }
    input = &input_file;
  }
  std::ofstream output_file;
  std::string error;
  std::ostream* output = OpenOutput(cl.Get("output"), &output_file, &error);
  if (output == nullptr) {
    std::cerr << "txscreen screen: " << error << "\n";
    return 1;
  }

  std::ofstream reports_file;
  std::ostream* reports = nullptr;
  if (cl.Has("reports")) {
    reports = OpenOutput(cl.Get("reports"), &reports_file, &error);
    if (reports == nullptr) {
      std::cerr << "txscreen screen: " << error << "\n";
      return 1;
    }
  }
  v1::Transaction tx;
  v1::Decision decision;
  v1::ReportRecord record;
  std::string line, json;
  int64_t line_number = 0, unreadable = 0, since_flush = 0;
  std::map<std::string, int64_t> verdicts;
  auto flush = [&]() -> bool {
    absl::Status s = engine->Flush(absl::StrCat(input_name, ":", line_number));
    if (!s.ok()) std::cerr << "txscreen screen: " << s.message() << "\n";
    since_flush = 0;
    return s.ok();
  };
  while (std::getline(*input, line)) {
    ++line_number;
    if (line_number == 1) {
      line.erase(0, line.size() - engine::WithoutBom(line).size());
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    absl::Status decoded =
        line.size() > kMaxLineBytes
            ? absl::InvalidArgumentError(
                  absl::StrCat("line is longer than ", kMaxLineBytes, " bytes"))
            : engine::DecodeTransactionJson(line, &tx);
    if (!decoded.ok()) {
      ++unreadable;
      std::cerr << input_name << ":" << line_number << ": " << decoded.message()
                << "\n";
      continue;
    }
    bool duplicate;
    if (absl::Status s = engine->Screen(tx, &decision, &duplicate); !s.ok()) {
      std::cerr << input_name << ":" << line_number << ": " << s.message()
                << "\n";
      return 1;
    }
    ++verdicts[v1::Verdict_Name(decision.verdict())];
    if (absl::Status s = engine::EncodeDecisionJson(decision, &json); !s.ok()) {
      std::cerr << "txscreen screen: " << s.message() << "\n";
      return 1;
    }
    *output << json << "\n";
    if (reports != nullptr &&
        engine::BuildReportRecord(tx, decision, engine->rules(), &record)) {
      if (absl::Status s = engine::EncodeJson(record, &json); !s.ok()) {
        std::cerr << "txscreen screen: " << s.message() << "\n";
        return 1;
      }
      *reports << json << "\n";
    }
    if (reports != nullptr && engine->retracted() != nullptr) {
      engine::BuildRetractionRecord(
          engine->retracted()->transaction_id, tx.customer_id(),
          engine->retracted()->occurred_at_us, engine->retracted()->cause,
          engine->retracted()->by_transaction_id,
          engine::TimestampMicros(decision.decided_at()), &record);
      if (absl::Status s = engine::EncodeJson(record, &json); !s.ok()) {
        std::cerr << "txscreen screen: " << s.message() << "\n";
        return 1;
      }
      *reports << json << "\n";
    }
    if (++since_flush >= kFlushEvery && !flush()) return 1;
  }
  if (!flush()) return 1;
  output->flush();
  if (reports != nullptr) reports->flush();
  if (!*output || (reports != nullptr && !*reports)) {
    std::cerr << "txscreen screen: writing decisions failed\n";
    return 1;
  }
  const engine::ScreenerCounters& c = engine->counters();
  std::cerr << "screened " << c.screened << ", rejected " << c.rejected
            << ", duplicates " << c.duplicates << ", unreadable " << unreadable
            << "; verdicts:";
  for (const auto& [name, n] : verdicts) std::cerr << " " << name << " " << n;
  std::cerr << "\n";
  if (c.too_old > 0) {
    std::cerr << "txscreen screen: " << c.too_old
              << " rejected as more than the dedupe retention older than a "
                 "later transaction of their customer: is the input in time "
                 "order per customer?\n";
  }
  return unreadable > 0 ? compliance::kExitUnreadableRows : 0;
}

}  // namespace txscreen::tools
