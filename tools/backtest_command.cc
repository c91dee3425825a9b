#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "compliance/backtest.h"
#include "compliance/rules_diff.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

namespace {

std::vector<std::string> List(const std::string& text) {
  return absl::StrSplit(text, ',', absl::SkipEmpty());
}

compliance::InputOptions InputFrom(const CommandLine& cl) {
  compliance::InputOptions in;
  in.path = cl.Get("input");
  in.mapping_path = cl.Get("mapping");
  in.label_column = cl.Get("label");
  in.group_column = cl.Get("group-by");
  in.labels_path = cl.Get("labels");
  if (cl.Has("truthy")) in.truthy = List(cl.Get("truthy"));
  return in;
}

constexpr char kBacktestUsage[] =
    "usage: txscreen backtest --rules PACK[,PACK...] --input FILE|-\n"
    "           [--mapping MAPPING] [--label COLUMN] [--group-by COLUMN]\n"
    "           [--labels LABELS.csv] [--truthy V,V...] [--state-dir DIR]\n"
    "           [--output DIR] [--quiet]\n"
    "  JSONL in txscreen's schema, or CSV through a mapping file\n"
    "  (compliance/README.md). --label/--group-by name columns of the CSV, or\n"
    "  of --labels (a CSV keyed by transaction_id, e.g. gen --labels).\n"
    "  --output DIR writes decisions.jsonl, report.json, summary.txt and\n"
    "  bad_rows.txt. Exit 0; 1 on errors; 2 on a usage error; 3 when some\n"
    "  rows were bad.\n";

constexpr char kDiffUsage[] =
    "usage: txscreen rules diff --old PACK[,PACK...] --new PACK[,PACK...]\n"
    "           --input FILE|- [--mapping MAPPING] [--examples N] [--json "
    "FILE]\n"
    "  Both rule sets screen the same transactions on fresh state each;\n"
    "  prints verdict changes (old -> new, with examples) and per rule the\n"
    "  transactions hit only by the new set (added) or the old (removed).\n";

}  // namespace

int BacktestCommand(const std::vector<std::string>& args) {
  CommandLine cl({"rules", "input", "mapping", "label", "group-by", "labels",
                  "truthy", "state-dir", "output"},
                 {"quiet", "help"});
  absl::Status parsed = cl.Parse(args);
  if (cl.Has("help")) {
    std::cout << kBacktestUsage;
    return 0;
  }
  if (!parsed.ok() || !cl.Has("rules") || !cl.Has("input") ||
      !cl.positional().empty()) {
    if (!parsed.ok())
      std::cerr << "txscreen backtest: " << parsed.message() << "\n";
    std::cerr << kBacktestUsage;
    return 2;
  }
  compliance::BacktestOptions options;
  options.rules = List(cl.Get("rules"));
  options.input = InputFrom(cl);
  options.state_dir = cl.Get("state-dir");
  options.output_dir = cl.Get("output");
  if (!cl.Has("quiet")) options.progress = &std::cerr;
  return compliance::RunBacktest(options, &std::cout, &std::cerr);
}

int RulesDiffCommand(const std::vector<std::string>& args) {
  CommandLine cl({"old", "new", "input", "mapping", "examples", "json"},
                 {"help"});
  absl::Status parsed = cl.Parse(args);
  if (cl.Has("help")) {
    std::cout << kDiffUsage;
    return 0;
  }
  int examples = 5;
  if (parsed.ok() && cl.Has("examples") &&
      (!absl::SimpleAtoi(cl.Get("examples"), &examples) || examples < 0)) {
    parsed = absl::InvalidArgumentError(
        "--examples needs a count of 0 or more, got '" + cl.Get("examples") +
        "'");
  }
  if (!parsed.ok() || !cl.Has("old") || !cl.Has("new") || !cl.Has("input") ||
      !cl.positional().empty()) {
    if (!parsed.ok())
      std::cerr << "txscreen rules diff: " << parsed.message() << "\n";
    std::cerr << kDiffUsage;
    return 2;
  }
  compliance::RulesDiffOptions options;
  options.old_rules = List(cl.Get("old"));
  options.new_rules = List(cl.Get("new"));
  options.input = InputFrom(cl);
  options.examples_per_change = examples;
  std::ofstream json_file;
  std::ostream* json = nullptr;
  if (cl.Has("json")) {
    std::string error;
    json = OpenOutput(cl.Get("json"), &json_file, &error);
    if (json == nullptr) {
      std::cerr << "txscreen rules diff: " << error << "\n";
      return 1;
    }
  }
  compliance::RulesDiffResult result;
  int code = compliance::RunRulesDiff(
      options, json == &std::cout ? &std::cerr : &std::cout, &std::cerr,
      &result);
  if (code != 1 && json != nullptr) {
    *json << compliance::RulesDiffJson(result) << "\n";
    json->flush();
    if (!*json) {
      std::cerr << "txscreen rules diff: writing " << cl.Get("json")
                << " failed\n";
      return 1;
    }
  }
  return code;
}

}  // namespace txscreen::tools
