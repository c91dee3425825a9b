// File: expr_compiler_internal.h
//
// Internal to the expression compiler (expr_compiler.cc and
// expr_compiler_ops.cc): the type checker that turns a syntax tree into
// evaluable nodes. Use CompileExpression (expr_compiler.h) instead.
#ifndef TXSCREEN_RULES_EXPR_COMPILER_INTERNAL_H_
#define TXSCREEN_RULES_EXPR_COMPILER_INTERNAL_H_

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rules/builtin_fields.h"
#include "rules/currency.h"
#include "rules/expr_compiler.h"
#include "rules/expr_nodes.h"
#include "rules/fx_table.h"
#include "rules/money.h"
#include "rules/named_list.h"
#include "rules/text_normalizer.h"
#include "txscreen/v1/rules.pb.h"

namespace txscreen::rules::internal {

inline bool IsNumeric(const Type& t) {
  return t.base == BaseType::kInt || t.base == BaseType::kMoney ||
         t.base == BaseType::kDecimal || t.base == BaseType::kDuration;
}

inline bool IsIntLiteralZero(const AstNode& n) {
  return n.kind == AstNode::Kind::kInt && n.int_value == 0;
}

// Enum value by short ("COUNTER") or full ("CHANNEL_COUNTER") name.
inline const google::protobuf::EnumValueDescriptor* FindEnumValue(
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

  // Compiles `n`, sharing its value within a transaction when the pack has
  // it more than once (ExprScope::shared).
  ExprPtr Compile(const AstNode& n) {
    if (scope_.shared == nullptr || !IsCompound(n)) return CompileNode(n);
    const bool outer_reads_scores = uses_->scores;
    uses_->scores = false;
    ExprPtr e = CompileNode(n);
    const bool reads_scores = uses_->scores;
    uses_->scores = outer_reads_scores || reads_scores;
    if (e == nullptr || reads_scores || e->IsConstant() ||
        !e->type().is_scalar()) {
      return e;
    }
    const int slot = scope_.shared->SlotFor(AstKey(n));
    return slot < 0 ? std::move(e) : MakeMemo(slot, std::move(e));
  }

  // Nodes worth sharing: everything but literals and names.
  static bool IsCompound(const AstNode& n) {
    switch (n.kind) {
      case AstNode::Kind::kCall:
      case AstNode::Kind::kUnary:
      case AstNode::Kind::kBinary:
      case AstNode::Kind::kIn:
        return true;
      default:
        return false;
    }
  }

 private:
  ExprPtr CompileNode(const AstNode& n) {
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

  ExprPtr Fail(int offset, std::string message) {
    if (error_->message.empty()) {
      error_->offset = offset;
      error_->message = std::move(message);
    }
    return nullptr;
  }

  ExprPtr Money(const AstNode& n) {
    absl::StatusOr<int> digits = CurrencyMinorDigits(n.currency);
    if (!digits.ok())
      return Fail(n.offset, std::string(digits.status().message()));
    absl::StatusOr<int64_t> minor =
        ParseDecimalToMinor(n.text, *digits, n.currency);
    if (!minor.ok())
      return Fail(n.offset, std::string(minor.status().message()));
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
    for (const auto& [name, d] : scope_.defines) {
      names.push_back(absl::StrCat("define.", name));
    }
    for (const auto& [name, l] : scope_.lists) names.push_back(name);
    std::sort(names.begin(), names.end());
    return names;
  }

  ExprPtr Unknown(const AstNode& n, absl::string_view what) {
    std::string message = absl::StrCat("unknown ", what, " '", n.text, "'");
    std::string guess = ClosestName(n.text, AllNames());
    if (!guess.empty())
      absl::StrAppend(&message, " (did you mean '", guess, "'?)");
    return Fail(n.offset, std::move(message));
  }

  // define.NAME: the definition's expression compiled here, with what this
  // place may read. An error inside it points at `define.NAME` here (the
  // definition itself was checked where it is written).
  ExprPtr Define(const AstNode& n, absl::string_view name) {
    auto it = scope_.defines.find(name);
    if (it == scope_.defines.end()) return Unknown(n, "definition");
    for (const std::string& outer : expanding_) {
      if (outer == name) {
        return Fail(
            n.offset,
            absl::StrCat("definition '", name, "' uses itself (",
                         absl::StrJoin(expanding_, " -> "), " -> ", name, ")"));
      }
    }
    if (static_cast<int>(expanding_.size()) >= kMaxDefineDepth) {
      return Fail(n.offset, absl::StrCat("definitions nested deeper than ",
                                         kMaxDefineDepth));
    }
    if (++expansions_ > kMaxDefineExpansions) {
      return Fail(
          n.offset,
          absl::StrCat("definitions used more than ", kMaxDefineExpansions,
                       " times in one expression, counting the "
                       "uses inside definitions"));
    }
    const bool had_error = !error_->message.empty();
    expanding_.emplace_back(name);
    ExprPtr e = Compile(*it->second);
    expanding_.pop_back();
    if (e == nullptr && !had_error) {
      error_->offset = n.offset;
      error_->message = absl::StrCat("in define.", name, ": ", error_->message);
    }
    return e;
  }

  ExprPtr Path(const AstNode& n) {
    absl::string_view path = n.text;
    // Where a kind of name cannot be read, that is the error, whether or
    // not the name exists (a window's filter is compiled before the other
    // windows are known).
    if (absl::StartsWith(path, "window.")) {
      if (!scope_.allow_windows) {
        return Fail(n.offset, "window filters cannot read window features");
      }
      auto it = scope_.windows.find(path.substr(7));
      if (it == scope_.windows.end()) return Unknown(n, "window");
      uses_->windows = true;
      return MakeWindow(it->second.index, it->second.type);
    }
    if (absl::StartsWith(path, "define.")) return Define(n, path.substr(7));
    if (absl::StartsWith(path, "param.")) {
      auto it = scope_.params.find(path.substr(6));
      if (it == scope_.params.end()) return Unknown(n, "parameter");
      if (it->second.type.is_string()) {
        return MakeConstString(it->second.string_value);
      }
      return MakeConstInt(it->second.type, it->second.int_value);
    }
    if (absl::StartsWith(path, "score.")) {
      if (!scope_.allow_scores) {
        return Fail(n.offset, "scores can only be read by rule conditions");
      }
      auto it = scope_.scores.find(path.substr(6));
      if (it == scope_.scores.end()) return Unknown(n, "score");
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
      return Fail(n.offset, absl::StrCat("list '", path,
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
      return Fail(n.start(), absl::StrCat(role, " must be ", TypeName(t),
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
        return Fail(n.start(),
                    absl::StrCat("'in LIST' needs text on the left, got ",
                                 TypeName(e->type())));
      }
      return Fail(n.start(),
                  absl::StrCat(fn, "() needs text, got ", TypeName(e->type())));
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
      if (!guess.empty())
        absl::StrAppend(&message, " (did you mean '", guess, "'?)");
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
  // The definitions being compiled in place, outermost first, and how
  // many uses have been compiled.
  std::vector<std::string> expanding_;
  int expansions_ = 0;
};

}  // namespace txscreen::rules::internal

#endif  // TXSCREEN_RULES_EXPR_COMPILER_INTERNAL_H_
