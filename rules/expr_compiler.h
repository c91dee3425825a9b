// File: expr_compiler.h
//
// Type-checks a parsed expression against the names a rule pack defines and
// builds its evaluable form (expr.h). Errors carry the byte offset inside the
// expression and a message such as
//   unknown field 'tx.amonut' (did you mean 'tx.amount'?)
//   cannot compare money with int: write the amount with a currency, e.g. 50000
//   CNY
#ifndef TXSCREEN_RULES_EXPR_COMPILER_H_
#define TXSCREEN_RULES_EXPR_COMPILER_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "rules/expr.h"
#include "rules/expr_parser.h"

namespace txscreen::rules {

class FxTable;
class NamedList;

// A parameter's value (param.NAME), fixed at load time.
struct ParamValue {
  Type type;
  int64_t int_value = 0;
  std::string string_value;
};

struct WindowRef {
  int index = 0;
  Type type;
};

// The names visible to an expression. Not owned: lists and fx must outlive
// compiled expressions (the rule set owns both).
struct ExprScope {
  const FxTable* fx = nullptr;
  absl::flat_hash_map<std::string, ParamValue> params;
  absl::flat_hash_map<std::string, WindowRef> windows;
  absl::flat_hash_map<std::string, int> scores;
  absl::flat_hash_map<std::string, const NamedList*> lists;
  // Window filters see only the transaction and customer.
  bool allow_history = true;
  bool allow_windows = true;
  bool allow_scores = true;
};

// What an expression reads, for ordering and dependency checks.
struct ExprUses {
  bool scores = false;
  bool history = false;
  bool windows = false;
};

// Parses and compiles `text`. On error returns nullptr and fills *error.
// `uses` (optional) accumulates what the expression reads.
ExprPtr CompileExpression(absl::string_view text, const ExprScope& scope,
                          ExprError* error, ExprUses* uses = nullptr);

// Compiles an already parsed tree (used for template holes and literals).
ExprPtr CompileAst(const AstNode& ast, const ExprScope& scope, ExprError* error,
                   ExprUses* uses = nullptr);

// The closest of `candidates` to `name` by edit distance, or "" when none is
// close enough to suggest.
std::string ClosestName(absl::string_view name,
                        const std::vector<std::string>& candidates);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_EXPR_COMPILER_H_
