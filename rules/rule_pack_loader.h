// File: rule_pack_loader.h
//
// Loads a rule pack from text files into a compiled RuleSet. A pack is one
// or more paths: a directory contributes every `*.textproto` directly inside
// it (sorted by name); a file contributes itself. Lists are read relative to
// the directory of the file that declares them.
//
// Loading is all or nothing: any problem makes the whole pack fail, and the
// errors list every problem found, each as
//   FILE:LINE:COL: rule ID: problem
// so an invalid pack is never half-applied.
#ifndef TXSCREEN_RULES_RULE_PACK_LOADER_H_
#define TXSCREEN_RULES_RULE_PACK_LOADER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rules/rule_set.h"

namespace txscreen::rules {

struct LoadOptions {
  // Extra entries per list name (rule tests add test accounts this way).
  std::map<std::string, std::vector<std::string>> extra_list_entries;
};

struct LoadResult {
  // Null when errors is not empty.
  std::shared_ptr<const RuleSet> rule_set;
  std::vector<std::string> errors;
  // The files read, in order.
  std::vector<std::string> files;
};

LoadResult LoadRulePack(const std::vector<std::string>& paths,
                        const LoadOptions& options = {});

// The same, as a status whose message has one error per line.
absl::StatusOr<std::shared_ptr<const RuleSet>> LoadRulePackOrError(
    const std::vector<std::string>& paths, const LoadOptions& options = {});

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_RULE_PACK_LOADER_H_
