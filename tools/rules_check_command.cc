#include <iostream>

#include "rules/rule_pack_loader.h"
#include "tools/command_line.h"
#include "tools/commands.h"

namespace txscreen::tools {

int RulesCheckCommand(const std::vector<std::string>& args) {
  if (WantsHelp(args)) {
    std::cout << "usage: txscreen rules check PATH...\n"
                 "  Checks rule files or pack directories: exit 0 when valid, "
                 "1 with every\n  error (FILE:LINE:COL) on stderr.\n";
    return 0;
  }
  CommandLine cl({}, {});
  if (absl::Status s = cl.Parse(args); !s.ok()) {
    std::cerr << "txscreen rules check: " << s.message() << "\n";
    return 2;
  }
  if (cl.positional().empty()) {
    std::cerr << "usage: txscreen rules check PATH...\n";
    return 2;
  }
  rules::LoadResult result = rules::LoadRulePack(cl.positional());
  for (const std::string& e : result.errors) std::cerr << e << "\n";
  if (!result.errors.empty()) {
    std::cerr << result.errors.size() << " error"
              << (result.errors.size() == 1 ? "" : "s") << "\n";
    return 1;
  }
  const rules::RuleSet& set = *result.rule_set;
  std::cout << "ok: pack " << set.name() << " version " << set.version() << ": "
            << set.rules().size() << " rules, " << set.windows().size()
            << " windows, " << result.files.size() << " files\n";
  return 0;
}

}  // namespace txscreen::tools
