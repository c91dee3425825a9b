// File: rules_diff.h
//
// `txscreen rules diff`: what a rule change would change. The old and the
// new rule set each screen the same transactions in order, each on its own
// fresh in-memory state (nothing is written anywhere), and the decisions are
// compared per transaction: verdict changes (old -> new, with counts and
// examples) and, per rule, the transactions it hits only under the new set
// ("added") or only under the old one ("removed").
//
// Thread safety: none.
#ifndef TXSCREEN_COMPLIANCE_RULES_DIFF_H_
#define TXSCREEN_COMPLIANCE_RULES_DIFF_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "compliance/input.h"
#include "txscreen/v1/decision.pb.h"

namespace txscreen::compliance {

struct RulesDiffOptions {
  std::vector<std::string> old_rules;
  std::vector<std::string> new_rules;
  InputOptions input;
  int examples_per_change = 5;
};

struct RulesDiffResult {
  struct Example {
    int64_t line = 0;
    std::string transaction_id;
    std::string customer_id;
    std::string amount;  // "52,000.00 CNY"
    std::vector<std::string> old_hits, new_hits;
  };
  struct RuleChange {
    int64_t old_hits = 0;
    int64_t new_hits = 0;
    int64_t added = 0;    // hit under new only
    int64_t removed = 0;  // hit under old only
  };
  int64_t rows = 0;
  int64_t transactions = 0;
  int64_t skipped = 0;
  int64_t bad = 0;
  int64_t duplicates = 0;
  int64_t verdict_changed = 0;
  // (old verdict, new verdict) -> count, changed pairs only.
  std::map<std::pair<std::string, std::string>, int64_t> changes;
  std::map<std::pair<std::string, std::string>, std::vector<Example>> examples;
  std::map<std::string, RuleChange> rules;
  std::string old_version, new_version;
};

// Returns 0 (whether or not anything changed), 1 on errors (rules, files),
// 2 when some rows were bad.
int RunRulesDiff(const RulesDiffOptions& options, std::ostream* out,
                 std::ostream* err, RulesDiffResult* result = nullptr);

// Compares one transaction's two decisions into *result.
void CompareDecisions(const txscreen::v1::Transaction& tx, int64_t line,
                      const txscreen::v1::Decision& old_decision,
                      const txscreen::v1::Decision& new_decision,
                      int examples_per_change, RulesDiffResult* result);

std::string RulesDiffJson(const RulesDiffResult& result);
void PrintRulesDiff(const RulesDiffResult& result, std::ostream* out);

}  // namespace txscreen::compliance

#endif  // TXSCREEN_COMPLIANCE_RULES_DIFF_H_
