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

// Subexpressions that occur more than once in a pack (`tx.type !=
// 'REVERSAL'` in most rules, the cash test of a dozen window filters),
// evaluated once per transaction: the compiler wraps each in a node that
// keeps its value in EvalContext::memo until EvalContext::ResetCaches. Count
// every condition first, then compile with the table in ExprScope::shared.
// Only scalar subexpressions that read no score are shared (scores change
// while rules are evaluated); at most kMemoSlots of them, the first met.
class SharedSubexpressions {
 public:
  // Counts the compound subexpressions of `ast` (not literals or names),
  // and those of each definition it uses (`defines`, optional), as often as
  // it uses it.
  void Count(const AstNode& ast,
             const absl::flat_hash_map<std::string, const AstNode*>* defines =
                 nullptr);
  // The memo slot of the subexpression with key `key` (AstKey) when it
  // occurs more than once, assigning one on first use; -1 when it occurs
  // once or the slots are used up.
  int SlotFor(const std::string& key);
  int slots_used() const { return next_slot_; }

 private:
  void CountIn(const AstNode& ast,
               const absl::flat_hash_map<std::string, const AstNode*>* defines,
               int depth, int* expansions);

  absl::flat_hash_map<std::string, int> count_;
  absl::flat_hash_map<std::string, int> slot_;
  int next_slot_ = 0;
};

// A canonical text of the syntax tree: equal for equal expressions however
// they were spaced or parenthesised.
std::string AstKey(const AstNode& ast);

// How deep definitions may use definitions (define.a uses define.b ...),
// and how many uses one expression may expand to (each use compiles the
// definition in place: a definition using another four times, nested,
// would otherwise grow without bound).
inline constexpr int kMaxDefineDepth = 16;
inline constexpr int kMaxDefineExpansions = 1000;

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
  // Definitions (define.NAME): their parsed expressions, compiled in place
  // where used. Not owned.
  absl::flat_hash_map<std::string, const AstNode*> defines;
  // Shared subexpressions to evaluate once per transaction, or null. Not
  // owned; must outlive compilation only.
  SharedSubexpressions* shared = nullptr;
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
