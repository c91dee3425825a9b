// The operators of the expression compiler: comparisons, arithmetic, `in`.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rules/expr_compiler_internal.h"

namespace txscreen::rules::internal {

ExprPtr Compiler::Comparison(const AstNode& n, CmpOp op) {
  const AstNode& an = *n.children[0];
  const AstNode& bn = *n.children[1];
  // An enum value written without quotes (tx.channel == COUNTER) would be
  // an unknown name: the side beside it is compiled first, and when it is
  // of an enum with that value, the error says to quote it.
  auto bare = [this](const AstNode& x) {
    return x.kind == AstNode::Kind::kPath &&
           x.text.find('.') == std::string::npos &&
           !scope_.lists.contains(x.text);
  };
  auto unquoted = [this](const AstNode& name, const Expr& beside) {
    const Type t = beside.type();
    if (t.base != BaseType::kEnum ||
        FindEnumValue(t.enum_type, name.text, nullptr) == nullptr) {
      return false;
    }
    Fail(name.offset, absl::StrCat("write the ", t.enum_type->name(),
                                   " value quoted: '", name.text, "'"));
    return true;
  };
  ExprPtr a, b;
  if (bare(an) && !bare(bn)) {
    b = Compile(bn);
    if (b == nullptr || unquoted(an, *b)) return nullptr;
    a = Compile(an);
    if (a == nullptr) return nullptr;
  } else {
    a = Compile(an);
    if (a == nullptr) return nullptr;
    if (bare(bn) && unquoted(bn, *a)) return nullptr;
    b = Compile(bn);
    if (b == nullptr) return nullptr;
  }
  const Type ta = a->type(), tb = b->type();
  bool ordering = op != CmpOp::kEq && op != CmpOp::kNe;
  // enum == "NAME": resolve the name now.
  if (ta.base == BaseType::kEnum || tb.base == BaseType::kEnum) {
    bool enum_left = ta.base == BaseType::kEnum;
    const Type& te = enum_left ? ta : tb;
    const AstNode& other = enum_left ? bn : an;
    ExprPtr& enum_expr = enum_left ? a : b;
    if (ordering) {
      return Fail(n.offset, absl::StrCat("cannot order ", TypeName(te),
                                         " values; use == or !="));
    }
    if (ta == tb) {
      return MakeCompareScalar(op, std::move(a), 1, std::move(b), 1);
    }
    std::vector<std::string> names;
    if (other.kind != AstNode::Kind::kString) {
      FindEnumValue(te.enum_type, "", &names);
      return Fail(other.start(),
                  absl::StrCat("compare ", TypeName(te),
                               " with a quoted value name, e.g. '",
                               names.empty() ? "" : names[0], "'"));
    }
    const auto* v = FindEnumValue(te.enum_type, other.text, &names);
    if (v == nullptr) {
      std::string message =
          absl::StrCat("unknown ", te.enum_type->name(), " '", other.text, "'");
      std::string guess = ClosestName(other.text, names);
      if (!guess.empty())
        absl::StrAppend(&message, " (did you mean '", guess, "'?)");
      absl::StrAppend(&message, "; one of ", absl::StrJoin(names, ", "));
      return Fail(other.offset, std::move(message));
    }
    return MakeCompareScalar(op, std::move(enum_expr), 1,
                             MakeConstInt(te, v->number()), 1);
  }
  if (ta.is_string() && tb.is_string()) {
    return MakeCompareString(op, std::move(a), std::move(b));
  }
  if (ta.base == BaseType::kList || tb.base == BaseType::kList) {
    return Fail(n.offset, "lists can only be used with 'in' or contains_any");
  }
  bool constant = a->IsConstant() && b->IsConstant();
  if (ta == tb) {
    if (ordering && ta.base == BaseType::kBool) {
      return Fail(n.offset, "cannot order true/false; use == or !=");
    }
    return Fold(MakeCompareScalar(op, std::move(a), 1, std::move(b), 1),
                constant);
  }
  // int and decimal compare as decimals.
  if ((ta.base == BaseType::kInt && tb.base == BaseType::kDecimal) ||
      (ta.base == BaseType::kDecimal && tb.base == BaseType::kInt)) {
    int64_t sa = ta.base == BaseType::kInt ? kDecimalScale : 1;
    int64_t sb = tb.base == BaseType::kInt ? kDecimalScale : 1;
    return Fold(MakeCompareScalar(op, std::move(a), sa, std::move(b), sb),
                constant);
  }
  // A literal 0 compares with any number: window.cash_day > 0.
  if ((IsNumeric(ta) && IsIntLiteralZero(bn)) ||
      (IsNumeric(tb) && IsIntLiteralZero(an))) {
    return MakeCompareScalar(op, std::move(a), 1, std::move(b), 1);
  }
  std::string message =
      absl::StrCat("cannot compare ", TypeName(ta), " with ", TypeName(tb));
  if (ta.base == BaseType::kMoney || tb.base == BaseType::kMoney) {
    absl::StrAppend(&message,
                    ": write the amount with a currency, e.g. 50000 CNY");
  } else if (ta.base == BaseType::kDuration || tb.base == BaseType::kDuration) {
    absl::StrAppend(&message, ": write a duration with a unit, e.g. 30d");
  }
  return Fail(n.offset, std::move(message));
}

ExprPtr Compiler::Arithmetic(const AstNode& n) {
  const std::string& op = n.text;
  ExprPtr a = Compile(*n.children[0]);
  if (a == nullptr) return nullptr;
  ExprPtr b = Compile(*n.children[1]);
  if (b == nullptr) return nullptr;
  const BaseType ta = a->type().base, tb = b->type().base;
  bool constant = a->IsConstant() && b->IsConstant();
  auto make = [&](ArithOp aop, Type result, int64_t sa, int64_t sb,
                  int64_t factor) {
    return Fold(
        MakeArith(aop, result, std::move(a), std::move(b), sa, sb, factor),
        constant);
  };
  auto bad = [&]() {
    return Fail(n.offset,
                absl::StrCat("cannot apply '", op, "' to ", TypeName(a->type()),
                             " and ", TypeName(b->type())));
  };
  using B = BaseType;
  const int64_t D = kDecimalScale;
  if (op == "+" || op == "-") {
    ArithOp aop = op == "+" ? ArithOp::kAdd : ArithOp::kSub;
    if (ta == tb && (ta == B::kInt || ta == B::kMoney || ta == B::kDecimal ||
                     ta == B::kDuration)) {
      return make(aop, a->type(), 1, 1, 1);
    }
    if (ta == B::kTime && tb == B::kDuration) {
      return make(aop, TimeType(), 1, 1, 1);
    }
    if (ta == B::kDuration && tb == B::kTime && aop == ArithOp::kAdd) {
      return make(aop, TimeType(), 1, 1, 1);
    }
    if (ta == B::kTime && tb == B::kTime && aop == ArithOp::kSub) {
      return make(aop, DurationType(), 1, 1, 1);
    }
    if ((ta == B::kInt && tb == B::kDecimal) ||
        (ta == B::kDecimal && tb == B::kInt)) {
      return make(aop, DecimalType(), ta == B::kInt ? D : 1,
                  tb == B::kInt ? D : 1, 1);
    }
    return bad();
  }
  if (op == "*") {
    // One side may be a quantity (money, duration); the other a plain number.
    auto quantity = [](B t) { return t == B::kMoney || t == B::kDuration; };
    if (ta == B::kInt && tb == B::kInt)
      return make(ArithOp::kMul, IntType(), 1, 1, 1);
    if (ta == B::kDecimal && tb == B::kDecimal) {
      return make(ArithOp::kMul, DecimalType(), 1, 1, D);
    }
    if ((ta == B::kInt && tb == B::kDecimal) ||
        (ta == B::kDecimal && tb == B::kInt)) {
      return make(ArithOp::kMul, DecimalType(), 1, 1, 1);
    }
    if (quantity(ta) && tb == B::kInt)
      return make(ArithOp::kMul, a->type(), 1, 1, 1);
    if (quantity(tb) && ta == B::kInt)
      return make(ArithOp::kMul, b->type(), 1, 1, 1);
    if (quantity(ta) && tb == B::kDecimal) {
      return make(ArithOp::kMul, a->type(), 1, 1, D);
    }
    if (quantity(tb) && ta == B::kDecimal) {
      return make(ArithOp::kMul, b->type(), 1, 1, D);
    }
    return bad();
  }
  // Division.
  if (b->IsConstant()) {
    EvalContext ctx;
    if (b->EvalInt(ctx) == 0) return Fail(n.offset, "division by zero");
  }
  if (ta == B::kInt && tb == B::kInt)
    return make(ArithOp::kDiv, IntType(), 1, 1, 1);
  if ((ta == B::kMoney || ta == B::kDuration) && tb == B::kInt) {
    return make(ArithOp::kDiv, a->type(), 1, 1, 1);
  }
  if ((ta == B::kMoney || ta == B::kDuration) && tb == B::kDecimal) {
    return make(ArithOp::kDiv, a->type(), 1, 1, D);
  }
  if (ta == tb &&
      (ta == B::kMoney || ta == B::kDuration || ta == B::kDecimal)) {
    return make(ArithOp::kDiv, DecimalType(), 1, 1, D);  // a ratio
  }
  if (ta == B::kDecimal && tb == B::kInt) {
    return make(ArithOp::kDiv, DecimalType(), 1, 1, 1);
  }
  if (ta == B::kInt && tb == B::kDecimal) {
    return make(ArithOp::kDiv, DecimalType(), 1, 1, D * D);
  }
  return bad();
}

ExprPtr Compiler::In(const AstNode& n) {
  const AstNode& vn = *n.children[0];
  const AstNode& set = *n.children[1];
  if (set.kind == AstNode::Kind::kPath) {
    int slot;
    ExprPtr v = TextArg(vn, "in", &slot);
    if (v == nullptr) return nullptr;
    const NamedList* list = ListArg(set, txscreen::v1::LIST_MATCH_EXACT,
                                    "as in 'tx.counterparty.account_id in "
                                    "police_fraud_accounts'");
    if (list == nullptr) return nullptr;
    return MakeInList(std::move(v), slot, list, n.negated);
  }
  ExprPtr v = Compile(vn);
  if (v == nullptr) return nullptr;
  const Type tv = v->type();
  if (tv.is_string()) {
    std::vector<std::string> values;
    for (const auto& e : set.children) {
      if (e->kind != AstNode::Kind::kString) {
        return Fail(e->offset, "the values after 'in' must be quoted text");
      }
      values.push_back(e->text);
    }
    return MakeInStringSet(std::move(v), std::move(values), n.negated);
  }
  std::vector<int64_t> values;
  for (const auto& e : set.children) {
    if (tv.base == BaseType::kEnum) {
      if (e->kind != AstNode::Kind::kString) {
        return Fail(e->offset, absl::StrCat("the values after 'in' must be "
                                            "quoted ",
                                            tv.enum_type->name(), " names"));
      }
      std::vector<std::string> names;
      const auto* ev = FindEnumValue(tv.enum_type, e->text, &names);
      if (ev == nullptr) {
        std::string message =
            absl::StrCat("unknown ", tv.enum_type->name(), " '", e->text, "'");
        std::string guess = ClosestName(e->text, names);
        if (!guess.empty())
          absl::StrAppend(&message, " (did you mean '", guess, "'?)");
        absl::StrAppend(&message, "; one of ", absl::StrJoin(names, ", "));
        return Fail(e->offset, std::move(message));
      }
      values.push_back(ev->number());
      continue;
    }
    ExprPtr c = Compile(*e);
    if (c == nullptr) return nullptr;
    if (!c->IsConstant() || !(c->type() == tv)) {
      return Fail(e->offset, absl::StrCat("the values after 'in' must be ",
                                          TypeName(tv), " constants"));
    }
    EvalContext ctx;
    values.push_back(c->EvalInt(ctx));
  }
  return MakeInScalarSet(std::move(v), std::move(values), n.negated);
}

}  // namespace txscreen::rules::internal
