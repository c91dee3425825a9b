// File: expr_nodes.h
//
// Factories for the node kinds of compiled expressions. Only the compiler
// (expr_compiler.cc) calls them, after checking types; nodes trust their
// operands' types.
#ifndef TXSCREEN_RULES_EXPR_NODES_H_
#define TXSCREEN_RULES_EXPR_NODES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "rules/builtin_fields.h"
#include "rules/expr.h"

namespace txscreen::rules {

class NamedList;

enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe };
enum class ArithOp { kAdd, kSub, kMul, kDiv };

ExprPtr MakeConstInt(Type type, int64_t value);
ExprPtr MakeConstString(std::string value);
ExprPtr MakeField(const FieldDef* field);
ExprPtr MakePresent(const FieldDef* field);
// window value `index` of EvalContext::windows.
ExprPtr MakeWindow(int index, Type type);
ExprPtr MakeScore(int index);

ExprPtr MakeNot(ExprPtr operand);
// `operands[0] and operands[1] and ...` (or `or`), evaluated left to right
// until one decides.
ExprPtr MakeLogical(bool is_and, std::vector<ExprPtr> operands);
ExprPtr MakeNegate(ExprPtr operand);

// Compares a * scale_a with b * scale_b (scales promote int to decimal).
ExprPtr MakeCompareScalar(CmpOp op, ExprPtr a, int64_t scale_a, ExprPtr b,
                          int64_t scale_b);
ExprPtr MakeCompareString(CmpOp op, ExprPtr a, ExprPtr b);

// Integer arithmetic in 128 bits, saturated to int64:
//   add/sub: a * scale_a +/- b * scale_b
//   mul:     a * b / factor
//   div:     a * factor / b (0 when b == 0, counted in the context)
ExprPtr MakeArith(ArithOp op, Type result, ExprPtr a, ExprPtr b,
                  int64_t scale_a, int64_t scale_b, int64_t factor);

// min/max of two values of the same scalar type; abs of one.
ExprPtr MakeMinMax(bool is_max, ExprPtr a, ExprPtr b);
ExprPtr MakeAbs(ExprPtr a);

// `value in (v1, v2, ...)` for scalar and string values.
ExprPtr MakeInScalarSet(ExprPtr value, std::vector<int64_t> set, bool negated);
ExprPtr MakeInStringSet(ExprPtr value, std::vector<std::string> set,
                        bool negated);
// `value in LIST` (exact, normalised). `slot` is the value's cache slot in
// EvalContext::normalized, or -1.
ExprPtr MakeInList(ExprPtr value, int slot, const NamedList* list,
                   bool negated);
// contains_any(text, LIST): a phrase of LIST occurs in the normalised text.
ExprPtr MakeContainsAny(ExprPtr text, int slot, const NamedList* list);
// contains(text, 'lit'): `normalized_literal` occurs in the normalised text.
ExprPtr MakeContains(ExprPtr text, int slot, std::string normalized_literal);
ExprPtr MakeStartsWith(ExprPtr text, std::string prefix);
// The first `n` bytes of a string (province(code) is the first 2 digits).
ExprPtr MakePrefix(ExprPtr text, int n);
// matched_phrase(text, LIST): the phrase of LIST found in the normalised
// text, or "" (for evidence in reasons).
ExprPtr MakeMatchedPhrase(ExprPtr text, int slot, const NamedList* list);
// if(condition, a, b): a when the condition holds, else b (same type).
ExprPtr MakeIf(ExprPtr condition, ExprPtr a, ExprPtr b);
// `e` with its value kept in EvalContext::memo[slot] for the rest of the
// transaction (a shared subexpression; 0 <= slot < kMemoSlots).
ExprPtr MakeMemo(int slot, ExprPtr e);
// Whole units of a duration: days(d), hours(d), minutes(d).
ExprPtr MakeDurationUnits(ExprPtr duration, int64_t unit_micros);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_EXPR_NODES_H_
