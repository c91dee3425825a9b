#include <iostream>

#include "engine/rule_test_runner.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

int RulesTestCommand(const std::vector<std::string>& args) {
  if (WantsHelp(args)) {
    std::cout << "usage: txscreen rules test [--verbose] PACK_DIR\n"
                 "  Runs the pack's test cases (PACK_DIR/tests): 'N passed, N "
                 "failed', exit 1\n  on a failure.\n";
    return 0;
  }
  CommandLine cl({}, {"verbose"});
  if (absl::Status s = cl.Parse(args); !s.ok() || cl.positional().size() != 1) {
    if (!s.ok()) std::cerr << "txscreen rules test: " << s.message() << "\n";
    std::cerr << "usage: txscreen rules test [--verbose] PACK_DIR\n";
    return 2;
  }
  absl::StatusOr<engine::RuleTestReport> report =
      engine::RunRuleTests(cl.positional()[0]);
  if (!report.ok()) {
    std::cerr << "txscreen rules test: " << report.status().message() << "\n";
    return 1;
  }
  if (cl.Has("verbose")) {
    for (const std::string& name : report->passed_cases) {
      std::cout << "PASS " << name << "\n";
    }
  }
  for (const std::string& f : report->failures)
    std::cerr << "FAIL " << f << "\n";
  std::cout << report->passed << " passed, " << report->failed << " failed\n";
  return report->failed == 0 ? 0 : 1;
}

}  // namespace txscreen::tools
