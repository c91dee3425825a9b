#include "rules/expr_compiler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rules/builtin_fields.h"
#include "rules/currency.h"
#include "rules/expr_nodes.h"
#include "rules/fx_table.h"
#include "rules/money.h"
#include "rules/named_list.h"
#include "rules/text_normalizer.h"
#include "txscreen/v1/rules.pb.h"

namespace txscreen::rules {
namespace {

bool IsNumeric(const Type& t) {
  return t.base == BaseType::kInt || t.base == BaseType::kMoney ||
         t.base == BaseType::kDecimal || t.base == BaseType::kDuration;
}

bool IsIntLiteralZero(const AstNode& n) {
  return n.kind == AstNode::Kind::kInt && n.int_value == 0;
}

// Enum value by short ("COUNTER") or full ("CHANNEL_COUNTER") name.
const google::protobuf::EnumValueDescriptor* FindEnumValue(
    const google::protobuf::EnumDescriptor* e, absl::string_view name,
    std::vector<std::string>* short_names) {
  std::string prefix;
  for (char c : e->name()) {
    if (isupper(static_cast<unsigned char>(c)) && !prefix.empty()) {
      prefix.push_back('_');
    }
    prefix.push_back(static_cast<char>(toupper(static_cast<unsigned char>(c))));
  }
  absl::StrAppend(&prefix, "_");
  for (int i = 0; i < e->value_count(); ++i) {
    const auto* v = e->value(i);
    absl::string_view full = v->name();
    absl::string_view short_name = full;
    if (absl::StartsWith(full, prefix)) short_name.remove_prefix(prefix.size());
    if (v->number() == 0) continue;  // *_UNSPECIFIED is never a real value
    if (short_names != nullptr) short_names->emplace_back(short_name);
    if (name == full || name == short_name) return v;
  }
  return nullptr;
}

class Compiler {
 public:
  Compiler(const ExprScope& scope, ExprError* error, ExprUses* uses)
      : scope_(scope), error_(error), uses_(uses != nullptr ? uses : &local_) {}

  ExprPtr Compile(const AstNode& n) {
    switch (n.kind) {
      case AstNode::Kind::kInt:
        return MakeConstInt(IntType(), n.int_value);
      case AstNode::Kind::kDecimal:
        return MakeConstInt(DecimalType(), n.int_value);
      case AstNode::Kind::kDuration:
        return MakeConstInt(DurationType(), n.int_value);
      case AstNode::Kind::kBool:
        return MakeConstInt(BoolType(), n.int_value);
      case AstNode::Kind::kString:
        return MakeConstString(n.text);
      case AstNode::Kind::kMoney:
        return Money(n);
      case AstNode::Kind::kPath:
        return Path(n);
      case AstNode::Kind::kCall:
        return Call(n);
      case AstNode::Kind::kUnary:
        return Unary(n);
      case AstNode::Kind::kBinary:
        return Binary(n);
      case AstNode::Kind::kIn:
        return In(n);
      case AstNode::Kind::kTuple:
        return Fail(n.offset, "a value list ( ... ) can only follow 'in'");
    }
    return Fail(n.offset, "unsupported expression");
  }

 private:
  ExprPtr Fail(int offset, std::string message) {
    if (error_->message.empty()) {
      error_->offset = offset;
      error_->message = std::move(message);
    }
    return nullptr;
  }

  ExprPtr Money(const AstNode& n) {
    absl::StatusOr<int> digits = CurrencyMinorDigits(n.currency);
    if (!digits.ok()) return Fail(n.offset, std::string(digits.status().message()));
    absl::StatusOr<int64_t> minor =
        ParseDecimalToMinor(n.text, *digits, n.currency);
    if (!minor.ok()) return Fail(n.offset, std::string(minor.status().message()));
    if (scope_.fx == nullptr) {
      return Fail(n.offset, "money needs the pack's FX table");
    }
    absl::StatusOr<int64_t> base = scope_.fx->ToBase(*minor, n.currency);
    if (!base.ok()) return Fail(n.offset, std::string(base.status().message()));
    return MakeConstInt(MoneyType(), *base);
  }

  std::vector<std::string> AllNames() const {
    std::vector<std::string> names;
    for (const FieldDef& f : BuiltinFields()) names.emplace_back(f.path);
    for (const auto& [name, w] : scope_.windows) {
      names.push_back(absl::StrCat("window.", name));
    }
    for (const auto& [name, p] : scope_.params) {
      names.push_back(absl::StrCat("param.", name));
    }
    for (const auto& [name, s] : scope_.scores) {
      names.push_back(absl::StrCat("score.", name));
    }
    for (const auto& [name, l] : scope_.lists) names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
  }

  ExprPtr Unknown(const AstNode& n, absl::string_view what) {
    std::string message = absl::StrCat("unknown ", what, " '", n.text, "'");
    std::string guess = ClosestName(n.text, AllNames());
    if (!guess.empty()) absl::StrAppend(&message, " (did you mean '", guess, "'?)");
    return Fail(n.offset, std::move(message));
  }

  ExprPtr Path(const AstNode& n) {
    absl::string_view path = n.text;
    if (absl::StartsWith(path, "window.")) {
      auto it = scope_.windows.find(path.substr(7));
      if (it == scope_.windows.end()) return Unknown(n, "window");
      if (!scope_.allow_windows) {
        return Fail(n.offset, "window filters cannot read window features");
      }
      uses_->windows = true;
      return MakeWindow(it->second.index, it->second.type);
    }
    if (absl::StartsWith(path, "param.")) {
      auto it = scope_.params.find(path.substr(6));
      if (it == scope_.params.end()) return Unknown(n, "parameter");
      if (it->second.type.is_string()) {
        return MakeConstString(it->second.string_value);
      }
      return MakeConstInt(it->second.type, it->second.int_value);
    }
    if (absl::StartsWith(path, "score.")) {
      auto it = scope_.scores.find(path.substr(6));
      if (it == scope_.scores.end()) return Unknown(n, "score");
      if (!scope_.allow_scores) {
        return Fail(n.offset, "scores can only be read by rule conditions");
      }
      uses_->scores = true;
      return MakeScore(it->second);
    }
    if (const FieldDef* f = FindBuiltinField(path)) {
      if (f->group == FieldGroup::kHistory) {
        if (!scope_.allow_history) {
          return Fail(n.offset,
                      "window filters cannot read history.* (only tx.*, "
                      "customer.* and param.*)");
        }
        uses_->history = true;
      }
      return MakeField(f);
    }
    if (scope_.lists.contains(path)) {
      return Fail(n.offset,
                  absl::StrCat("list '", path,
                               "' can only be used after 'in' or in "
                               "contains_any(text, ",
                               path, ")"));
    }
    if (path.find('.') == absl::string_view::npos) {
      return Unknown(n, "name");
    }
    return Unknown(n, "field");
  }

  ExprPtr ExpectType(const AstNode& n, ExprPtr e, BaseType want,
                     absl::string_view role) {
    if (e == nullptr) return nullptr;
    if (e->type().base != want) {
      Type t{want, nullptr};
      return Fail(n.offset, absl::StrCat(role, " must be ", TypeName(t),
                                         ", got ", TypeName(e->type())));
    }
    return e;
  }

  // The string argument of a text function and its normalisation slot.
  ExprPtr TextArg(const AstNode& n, absl::string_view fn, int* slot) {
    ExprPtr e = Compile(n);
    if (e == nullptr) return nullptr;
    if (!e->type().is_string()) {
      if (fn == "in") {
        return Fail(n.offset, absl::StrCat("'in LIST' needs text on the left, got ",
                                           TypeName(e->type())));
      }
      return Fail(n.offset, absl::StrCat(fn, "() needs text, got ",
                                         TypeName(e->type())));
    }
    *slot = -1;
    if (n.kind == AstNode::Kind::kPath) {
      if (const FieldDef* f = FindBuiltinField(n.text)) {
        *slot = f->normalized_slot;
      }
    }
    return e;
  }

  const NamedList* ListArg(const AstNode& n, txscreen::v1::ListMatch want,
                           absl::string_view usage) {
    if (n.kind != AstNode::Kind::kPath) {
      Fail(n.offset, absl::StrCat("expected a list name, ", usage));
      return nullptr;
    }
    auto it = scope_.lists.find(n.text);
    if (it == scope_.lists.end()) {
      std::vector<std::string> names;
      for (const auto& [name, l] : scope_.lists) names.push_back(name);
      std::string message = absl::StrCat("unknown list '", n.text, "'");
      std::string guess = ClosestName(n.text, names);
      if (!guess.empty()) absl::StrAppend(&message, " (did you mean '", guess, "'?)");
      Fail(n.offset, std::move(message));
      return nullptr;
    }
    if (it->second->match() != want) {
      Fail(n.offset,
           want == txscreen::v1::LIST_MATCH_EXACT
               ? absl::StrCat("list '", n.text,
                              "' is a phrase list; use contains_any(text, ",
                              n.text, ")")
               : absl::StrCat("list '", n.text,
                              "' is an exact list; use 'value in ", n.text,
                              "'"));
      return nullptr;
    }
    return it->second;
  }

  ExprPtr Call(const AstNode& n);
  ExprPtr Unary(const AstNode& n);
  ExprPtr Binary(const AstNode& n);
  ExprPtr Comparison(const AstNode& n, CmpOp op);
  ExprPtr Arithmetic(const AstNode& n);
  ExprPtr In(const AstNode& n);

  // Replaces a constant-only scalar node by its value.
  ExprPtr Fold(ExprPtr e, bool operands_constant) {
    if (e == nullptr || !operands_constant || !e->type().is_scalar()) return e;
    EvalContext ctx;
    return MakeConstInt(e->type(), e->EvalInt(ctx));
  }

  const ExprScope& scope_;
  ExprError* error_;
  ExprUses local_;
  ExprUses* uses_;
};

ExprPtr Compiler::Call(const AstNode& n) {
  const auto& args = n.children;
  auto arity = [&](size_t want) {
    if (args.size() != want) {
      Fail(n.offset, absl::StrCat(n.text, "() takes ", want, " argument",
                                  want == 1 ? "" : "s", ", got ", args.size()));
      return false;
    }
    return true;
  };
  if (n.text == "present") {
    if (!arity(1)) return nullptr;
    const AstNode& a = *args[0];
    const FieldDef* f = a.kind == AstNode::Kind::kPath
                            ? FindBuiltinField(a.text)
                            : nullptr;
    if (f == nullptr) {
      std::string message =
          "present() takes a field of tx.*, customer.* or history.*";
      if (a.kind == AstNode::Kind::kPath) {
        if (absl::StartsWith(a.text, "tx.") ||
            absl::StartsWith(a.text, "customer.") ||
            absl::StartsWith(a.text, "history.")) {
          return Unknown(a, "field");
        }
        absl::StrAppend(&message, ", got '", a.text, "'");
      }
      return Fail(a.offset, std::move(message));
    }
    if (f->group == FieldGroup::kHistory) {
      if (!scope_.allow_history) {
        return Fail(a.offset, "window filters cannot read history.*");
      }
      uses_->history = true;
    }
    return MakePresent(f);
  }
  if (n.text == "province") {
    if (!arity(1)) return nullptr;
    int slot;
    ExprPtr e = TextArg(*args[0], "province", &slot);
    if (e == nullptr) return nullptr;
    return MakePrefix(std::move(e), 2);
  }
  if (n.text == "contains" || n.text == "starts_with") {
    if (!arity(2)) return nullptr;
    int slot;
    ExprPtr text = TextArg(*args[0], n.text, &slot);
    if (text == nullptr) return nullptr;
    if (args[1]->kind != AstNode::Kind::kString) {
      return Fail(args[1]->offset,
                  absl::StrCat(n.text, "() needs quoted text as its second "
                                       "argument"));
    }
    if (n.text == "starts_with") {
      return MakeStartsWith(std::move(text), args[1]->text);
    }
    std::string lit = TextNormalizer::Get().Normalize(args[1]->text);
    if (lit.empty()) {
      return Fail(args[1]->offset, "contains() needs non-empty text");
    }
    return MakeContains(std::move(text), slot, std::move(lit));
  }
  if (n.text == "contains_any") {
    if (!arity(2)) return nullptr;
    int slot;
    ExprPtr text = TextArg(*args[0], "contains_any", &slot);
    if (text == nullptr) return nullptr;
    const NamedList* list =
        ListArg(*args[1], txscreen::v1::LIST_MATCH_PHRASE,
                "as in contains_any(tx.memo, scam_phrases)");
    if (list == nullptr) return nullptr;
    return MakeContainsAny(std::move(text), slot, list);
  }
  if (n.text == "matched_phrase") {
    if (!arity(2)) return nullptr;
    int slot;
    ExprPtr text = TextArg(*args[0], "matched_phrase", &slot);
    if (text == nullptr) return nullptr;
    const NamedList* list =
        ListArg(*args[1], txscreen::v1::LIST_MATCH_PHRASE,
                "as in matched_phrase(tx.memo, scam_phrases)");
    if (list == nullptr) return nullptr;
    return MakeMatchedPhrase(std::move(text), slot, list);
  }
  if (n.text == "if") {
    if (!arity(3)) return nullptr;
    ExprPtr c = ExpectType(*args[0], Compile(*args[0]), BaseType::kBool,
                           "the condition of if()");
    if (c == nullptr) return nullptr;
    ExprPtr a = Compile(*args[1]);
    if (a == nullptr) return nullptr;
    ExprPtr b = Compile(*args[2]);
    if (b == nullptr) return nullptr;
    if (!(a->type() == b->type()) || a->type().base == BaseType::kList) {
      return Fail(n.offset, absl::StrCat("if() needs both values of the same "
                                         "type, got ",
                                         TypeName(a->type()), " and ",
                                         TypeName(b->type())));
    }
    return MakeIf(std::move(c), std::move(a), std::move(b));
  }
  if (n.text == "min" || n.text == "max") {
    if (!arity(2)) return nullptr;
    ExprPtr a = Compile(*args[0]);
    ExprPtr b = Compile(*args[1]);
    if (a == nullptr || b == nullptr) return nullptr;
    if (!a->type().is_scalar() || !(a->type() == b->type()) ||
        a->type().base == BaseType::kBool) {
      return Fail(n.offset, absl::StrCat(n.text, "() needs two numbers of the "
                                                 "same type, got ",
                                         TypeName(a->type()), " and ",
                                         TypeName(b->type())));
    }
    bool constant = a->IsConstant() && b->IsConstant();
    return Fold(MakeMinMax(n.text == "max", std::move(a), std::move(b)),
                constant);
  }
  if (n.text == "abs") {
    if (!arity(1)) return nullptr;
    ExprPtr a = Compile(*args[0]);
    if (a == nullptr) return nullptr;
    if (!IsNumeric(a->type())) {
      return Fail(n.offset, absl::StrCat("abs() needs a number, got ",
                                         TypeName(a->type())));
    }
    bool constant = a->IsConstant();
    return Fold(MakeAbs(std::move(a)), constant);
  }
  if (n.text == "days" || n.text == "hours" || n.text == "minutes") {
    if (!arity(1)) return nullptr;
    ExprPtr a = ExpectType(*args[0], Compile(*args[0]), BaseType::kDuration,
                           absl::StrCat("the argument of ", n.text, "()"));
    if (a == nullptr) return nullptr;
    int64_t unit = n.text == "days"    ? 86400LL * kMicrosPerSecond
                   : n.text == "hours" ? 3600LL * kMicrosPerSecond
                                       : 60LL * kMicrosPerSecond;
    bool constant = a->IsConstant();
    return Fold(MakeDurationUnits(std::move(a), unit), constant);
  }
  static const std::vector<std::string> kFunctions = {
      "abs",     "contains", "contains_any",   "days",     "hours",
      "if",      "matched_phrase", "max",      "min",      "minutes",
      "present", "province", "starts_with"};
  std::string message = absl::StrCat("unknown function '", n.text, "'");
  std::string guess = ClosestName(n.text, kFunctions);
  if (!guess.empty()) absl::StrAppend(&message, " (did you mean '", guess, "'?)");
  absl::StrAppend(&message, "; functions: ", absl::StrJoin(kFunctions, ", "));
  return Fail(n.offset, std::move(message));
}

ExprPtr Compiler::Unary(const AstNode& n) {
  ExprPtr a = Compile(*n.children[0]);
  if (a == nullptr) return nullptr;
  bool constant = a->IsConstant();
  if (n.text == "not") {
    a = ExpectType(*n.children[0], std::move(a), BaseType::kBool,
                   "the operand of 'not'");
    if (a == nullptr) return nullptr;
    return Fold(MakeNot(std::move(a)), constant);
  }
  if (!IsNumeric(a->type())) {
    return Fail(n.offset, absl::StrCat("cannot negate ", TypeName(a->type())));
  }
  return Fold(MakeNegate(std::move(a)), constant);
}

ExprPtr Compiler::Binary(const AstNode& n) {
  const std::string& op = n.text;
  if (op == "and" || op == "or") {
    ExprPtr a = ExpectType(*n.children[0], Compile(*n.children[0]),
                           BaseType::kBool,
                           absl::StrCat("the left side of '", op, "'"));
    if (a == nullptr) return nullptr;
    ExprPtr b = ExpectType(*n.children[1], Compile(*n.children[1]),
                           BaseType::kBool,
                           absl::StrCat("the right side of '", op, "'"));
    if (b == nullptr) return nullptr;
    bool constant = a->IsConstant() && b->IsConstant();
    return Fold(MakeLogical(op == "and", std::move(a), std::move(b)), constant);
  }
  if (op == "==") return Comparison(n, CmpOp::kEq);
  if (op == "!=") return Comparison(n, CmpOp::kNe);
  if (op == "<") return Comparison(n, CmpOp::kLt);
  if (op == "<=") return Comparison(n, CmpOp::kLe);
  if (op == ">") return Comparison(n, CmpOp::kGt);
  if (op == ">=") return Comparison(n, CmpOp::kGe);
  return Arithmetic(n);
}

ExprPtr Compiler::Comparison(const AstNode& n, CmpOp op) {
  const AstNode& an = *n.children[0];
  const AstNode& bn = *n.children[1];
  ExprPtr a = Compile(an);
  if (a == nullptr) return nullptr;
  ExprPtr b = Compile(bn);
  if (b == nullptr) return nullptr;
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
      return Fail(other.offset,
                  absl::StrCat("compare ", TypeName(te),
                               " with a quoted value name, e.g. '",
                               names.empty() ? "" : names[0], "'"));
    }
    const auto* v = FindEnumValue(te.enum_type, other.text, &names);
    if (v == nullptr) {
      std::string message = absl::StrCat("unknown ", te.enum_type->name(),
                                         " '", other.text, "'");
      std::string guess = ClosestName(other.text, names);
      if (!guess.empty()) absl::StrAppend(&message, " (did you mean '", guess, "'?)");
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
  std::string message = absl::StrCat("cannot compare ", TypeName(ta), " with ",
                                     TypeName(tb));
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
    return Fold(MakeArith(aop, result, std::move(a), std::move(b), sa, sb,
                          factor),
                constant);
  };
  auto bad = [&]() {
    return Fail(n.offset, absl::StrCat("cannot apply '", op, "' to ",
                                       TypeName(a->type()), " and ",
                                       TypeName(b->type())));
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
    if (ta == B::kInt && tb == B::kInt) return make(ArithOp::kMul, IntType(), 1, 1, 1);
    if (ta == B::kDecimal && tb == B::kDecimal) {
      return make(ArithOp::kMul, DecimalType(), 1, 1, D);
    }
    if ((ta == B::kInt && tb == B::kDecimal) ||
        (ta == B::kDecimal && tb == B::kInt)) {
      return make(ArithOp::kMul, DecimalType(), 1, 1, 1);
    }
    if (quantity(ta) && tb == B::kInt) return make(ArithOp::kMul, a->type(), 1, 1, 1);
    if (quantity(tb) && ta == B::kInt) return make(ArithOp::kMul, b->type(), 1, 1, 1);
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
  if (ta == B::kInt && tb == B::kInt) return make(ArithOp::kDiv, IntType(), 1, 1, 1);
  if ((ta == B::kMoney || ta == B::kDuration) && tb == B::kInt) {
    return make(ArithOp::kDiv, a->type(), 1, 1, 1);
  }
  if ((ta == B::kMoney || ta == B::kDuration) && tb == B::kDecimal) {
    return make(ArithOp::kDiv, a->type(), 1, 1, D);
  }
  if (ta == tb && (ta == B::kMoney || ta == B::kDuration || ta == B::kDecimal)) {
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
        std::string message = absl::StrCat(
            "unknown ", tv.enum_type->name(), " '", e->text, "'");
        std::string guess = ClosestName(e->text, names);
        if (!guess.empty()) absl::StrAppend(&message, " (did you mean '", guess, "'?)");
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

}  // namespace

std::string ClosestName(absl::string_view name,
                        const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, name.size() / 3) + 1;
  for (const std::string& c : candidates) {
    // Levenshtein distance with one row.
    std::vector<size_t> row(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= name.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        size_t up = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                           diagonal + (name[i - 1] == c[j - 1] ? 0 : 1)});
        diagonal = up;
      }
    }
    if (row[c.size()] < best_distance) {
      best_distance = row[c.size()];
      best = c;
    }
  }
  return best;
}

ExprPtr CompileAst(const AstNode& ast, const ExprScope& scope,
                   ExprError* error, ExprUses* uses) {
  *error = ExprError();
  Compiler compiler(scope, error, uses);
  ExprPtr e = compiler.Compile(ast);
  if (e == nullptr && error->message.empty()) {
    error->message = "invalid expression";
  }
  return e;
}

ExprPtr CompileExpression(absl::string_view text, const ExprScope& scope,
                          ExprError* error, ExprUses* uses) {
  std::unique_ptr<AstNode> ast = ParseExpression(text, error);
  if (ast == nullptr) return nullptr;
  return CompileAst(*ast, scope, error, uses);
}

}  // namespace txscreen::rules
