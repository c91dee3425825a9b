// File: commands.h
//
// The subcommands of the txscreen binary. Each takes the arguments after its
// name, writes to stdout/stderr and returns the process exit code.
#ifndef TXSCREEN_TOOLS_COMMANDS_H_
#define TXSCREEN_TOOLS_COMMANDS_H_

#include <string>
#include <vector>

namespace txscreen::tools {

// txscreen rules check PATH...   exit 0 when valid, 1 with every error.
int RulesCheckCommand(const std::vector<std::string>& args);
// txscreen rules test PACK_DIR   exit 0 when every case passes.
int RulesTestCommand(const std::vector<std::string>& args);
// txscreen screen --rules R --input FILE|- --output FILE|- [--state-dir D]
int ScreenCommand(const std::vector<std::string>& args);
// txscreen serve [--brokers B] [--config FILE] ...   runs until SIGTERM.
int ServeCommand(const std::vector<std::string>& args);
// txscreen gen [--customers N] ... [--output FILE | --brokers B --rate R]
int GenCommand(const std::vector<std::string>& args);
// txscreen replay --brokers B --input FILE [--mapping M] [--speed X | --rate
// R] [--retime]   exit 2 when rows could not be read.
int ReplayCommand(const std::vector<std::string>& args);
// txscreen backtest --rules R --input FILE [--mapping M] [--label COLUMN] ...
int BacktestCommand(const std::vector<std::string>& args);
// txscreen rules diff --old A --new B --input FILE [--mapping M]
int RulesDiffCommand(const std::vector<std::string>& args);
// txscreen demo [--rate R] [--http HOST:PORT] ...   runs until Ctrl-C.
int DemoCommand(const std::vector<std::string>& args);
// txscreen report large-value --date D --institution C (--input F | --brokers
// B)
int ReportCommand(const std::vector<std::string>& args);
// txscreen state inspect --customer C [--state-dir D] [--json]
int StateCommand(const std::vector<std::string>& args);
// txscreen audit verify|export --state-dir DIR ...   exit 1 on a broken chain.
int AuditCommand(const std::vector<std::string>& args);

}  // namespace txscreen::tools

#endif  // TXSCREEN_TOOLS_COMMANDS_H_
