#include "rules/rule_pack_loader.h"

#include "absl/strings/str_join.h"
#include "rules/rule_pack_builder.h"

namespace txscreen::rules {

LoadResult LoadRulePack(const std::vector<std::string>& paths,
                        const LoadOptions& options) {
  RulePackBuilder builder(options);
  return builder.Build(paths);
}

absl::StatusOr<std::shared_ptr<const RuleSet>> LoadRulePackOrError(
    const std::vector<std::string>& paths, const LoadOptions& options) {
  LoadResult result = LoadRulePack(paths, options);
  if (!result.errors.empty()) {
    return absl::InvalidArgumentError(absl::StrJoin(result.errors, "\n"));
  }
  return result.rule_set;
}

}  // namespace txscreen::rules
