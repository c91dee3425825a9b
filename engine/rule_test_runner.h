// File: rule_test_runner.h
//
// Runs a rule pack's test files (PACK/tests/*.textproto, see
// rule_test.proto) through the real engine core: each case gets fresh
// in-memory state and a clock at the step's event time, and its steps are
// screened in order; steps with `expect` are checked.
#ifndef TXSCREEN_ENGINE_RULE_TEST_RUNNER_H_
#define TXSCREEN_ENGINE_RULE_TEST_RUNNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace txscreen::engine {

struct RuleTestReport {
  int passed = 0;
  int failed = 0;
  // One entry per failed case or unreadable file:
  //   FILE:LINE:COL: case 'NAME' step N: expected ..., got ...
  std::vector<std::string> failures;
  // Case names that passed, for verbose output.
  std::vector<std::string> passed_cases;
};

// Errors only when `pack_dir` has no tests directory or no test files.
absl::StatusOr<RuleTestReport> RunRuleTests(const std::string& pack_dir);

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_RULE_TEST_RUNNER_H_
