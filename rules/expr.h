// File: expr.h
//
// A compiled, type-checked rule expression: a tree of nodes evaluated against
// an EvalContext. Compiled once when a pack loads (expr_compiler.h), then
// evaluated for every transaction without allocation.
//
// Thread safety: immutable after compilation; evaluate from any number of
// threads, each with its own EvalContext.
#ifndef TXSCREEN_RULES_EXPR_H_
#define TXSCREEN_RULES_EXPR_H_

#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"
#include "rules/eval_context.h"
#include "rules/expr_type.h"

namespace txscreen::rules {

class Expr {
 public:
  explicit Expr(Type type) : type_(type) {}
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  const Type& type() const { return type_; }

  // For every type but kString and kList (bool is 0/1; see expr_type.h for
  // the units of each type).
  virtual int64_t EvalInt(const EvalContext& ctx) const = 0;
  // For kString. The view stays valid until the context changes.
  virtual absl::string_view EvalString(const EvalContext& ctx) const {
    return {};
  }
  bool EvalBool(const EvalContext& ctx) const { return EvalInt(ctx) != 0; }

  // True when the value is the same for every transaction.
  virtual bool IsConstant() const { return false; }

 private:
  Type type_;
};

using ExprPtr = std::unique_ptr<const Expr>;

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_EXPR_H_
