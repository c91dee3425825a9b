// txscreen: one binary, one subcommand per job. See README.md.
#include <iostream>
#include <string>
#include <vector>

#include "tools/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: txscreen COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  demo [--rate R] [--http HOST:PORT] [--duration S]\n"
    "                             the whole system on this machine: embedded\n"
    "                             Kafka, engine, generator, teller console\n"
    "  rules check PATH...        validate rule files or pack directories\n"
    "  rules test PACK_DIR        run the pack's rule tests (PACK_DIR/tests)\n"
    "  rules diff --old A --new B --input FILE [--mapping M]\n"
    "                             what a rule change would change\n"
    "  screen --rules R --input FILE|- --output FILE|- [--state-dir DIR]\n"
    "                             screen JSONL transactions, write decisions\n"
    "  backtest --rules R --input FILE [--mapping M] [--label COLUMN]\n"
    "           [--group-by COLUMN] [--output DIR]\n"
    "                             rules over history: hits, precision, recall\n"
    "  report large-value --date D --institution CODE (--input F | --brokers "
    "B)\n"
    "                             the day's large-value transaction report\n"
    "  state inspect --customer ID [--state-dir DIR] [--json]\n"
    "                             what the engine knows about a customer\n"
    "  state stats [--state-dir DIR]\n"
    "                             keys and bytes per state family, bytes per\n"
    "                             customer\n"
    "  serve [--brokers B] [--rules R] [--state-dir DIR] [--config FILE] ...\n"
    "                             the streaming service on Kafka (embedded\n"
    "                             Kafka without --brokers); serve --help\n"
    "  gen [--customers N] [--count N] [--output FILE] [--labels FILE]\n"
    "      [--brokers B --rate R --duration S]\n"
    "                             synthetic traffic with labelled scenarios,\n"
    "                             to JSONL or open-loop to Kafka; gen --help\n"
    "  replay --brokers B --input FILE [--mapping M] [--speed X | --rate R]\n"
    "         [--retime]\n"
    "                             a file of transactions into Kafka at the\n"
    "                             recorded pace, faster, or at a rate\n"
    "  audit verify --state-dir DIR\n"
    "                             check the tamper-evident audit log\n"
    "  audit export --state-dir DIR [--from T] [--to T] [--output FILE]\n"
    "                             audit records as JSONL for compliance\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return 0;
  }
  const std::string command = args[0];
  if (command == "rules") {
    if (args.size() >= 2) {
      std::vector<std::string> rest(args.begin() + 2, args.end());
      if (args[1] == "check") return txscreen::tools::RulesCheckCommand(rest);
      if (args[1] == "test") return txscreen::tools::RulesTestCommand(rest);
      if (args[1] == "diff") return txscreen::tools::RulesDiffCommand(rest);
    }
    std::cerr << "txscreen rules: "
              << (args.size() >= 2 ? "unknown subcommand '" + args[1] + "'"
                                   : std::string("a subcommand is needed"))
              << "; use 'rules check', 'rules test' or 'rules diff'\n"
              << kUsage;
    return 2;
  }
  if (command == "serve") {
    return txscreen::tools::ServeCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "audit") {
    return txscreen::tools::AuditCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "gen") {
    return txscreen::tools::GenCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "replay") {
    return txscreen::tools::ReplayCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "demo") {
    return txscreen::tools::DemoCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "state") {
    return txscreen::tools::StateCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "report") {
    return txscreen::tools::ReportCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "backtest") {
    return txscreen::tools::BacktestCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (command == "screen") {
    return txscreen::tools::ScreenCommand(
        std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::cerr << "txscreen: unknown command '" << command << "'\n" << kUsage;
  return 2;
}
