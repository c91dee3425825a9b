#include "rules/expr_compiler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "rules/expr_compiler_internal.h"

namespace txscreen::rules {
namespace internal {

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
    const FieldDef* f =
        a.kind == AstNode::Kind::kPath ? FindBuiltinField(a.text) : nullptr;
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
      return Fail(args[1]->start(),
                  absl::StrCat(n.text,
                               "() needs quoted text as its second "
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
      return Fail(n.offset, absl::StrCat(n.text,
                                         "() needs two numbers of the "
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
      "abs",     "contains",       "contains_any", "days", "hours",
      "if",      "matched_phrase", "max",          "min",  "minutes",
      "present", "province",       "starts_with"};
  std::string message = absl::StrCat("unknown function '", n.text, "'");
  std::string guess = ClosestName(n.text, kFunctions);
  if (!guess.empty())
    absl::StrAppend(&message, " (did you mean '", guess, "'?)");
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
    // `a and b and c` parses as ((a and b) and c): one node for the chain.
    // The operands in source order, each with what it is the side of.
    std::vector<const AstNode*> chain = {n.children[1].get()};
    const AstNode* left = n.children[0].get();
    while (left->kind == AstNode::Kind::kBinary && left->text == op) {
      chain.push_back(left->children[1].get());
      left = left->children[0].get();
    }
    chain.push_back(left);
    std::reverse(chain.begin(), chain.end());
    std::vector<ExprPtr> operands;
    bool constant = true;
    for (size_t i = 0; i < chain.size(); ++i) {
      ExprPtr e = ExpectType(
          *chain[i], Compile(*chain[i]), BaseType::kBool,
          absl::StrCat(i == 0 ? "the left side of '" : "the right side of '",
                       op, "'"));
      if (e == nullptr) return nullptr;
      constant = constant && e->IsConstant();
      operands.push_back(std::move(e));
    }
    return Fold(MakeLogical(op == "and", std::move(operands)), constant);
  }
  if (op == "==") return Comparison(n, CmpOp::kEq);
  if (op == "!=") return Comparison(n, CmpOp::kNe);
  if (op == "<") return Comparison(n, CmpOp::kLt);
  if (op == "<=") return Comparison(n, CmpOp::kLe);
  if (op == ">") return Comparison(n, CmpOp::kGt);
  if (op == ">=") return Comparison(n, CmpOp::kGe);
  return Arithmetic(n);
}

}  // namespace internal

namespace {

void AppendKey(const AstNode& n, std::string* out) {
  switch (n.kind) {
    case AstNode::Kind::kInt:
    case AstNode::Kind::kDuration:
    case AstNode::Kind::kBool:
      absl::StrAppend(out, "i", static_cast<int>(n.kind), ":", n.int_value);
      return;
    case AstNode::Kind::kDecimal:
      absl::StrAppend(out, "d", n.int_value);
      return;
    case AstNode::Kind::kMoney:
      absl::StrAppend(out, "m", n.text, n.currency);
      return;
    case AstNode::Kind::kString:
      // Length first: the text may hold any character.
      absl::StrAppend(out, "s", n.text.size(), ":", n.text);
      return;
    case AstNode::Kind::kPath:
      absl::StrAppend(out, "p", n.text);
      return;
    default:
      break;
  }
  absl::StrAppend(out, "(", static_cast<int>(n.kind), n.negated ? "!" : "",
                  n.text);
  for (const auto& child : n.children) {
    out->push_back(' ');
    AppendKey(*child, out);
  }
  out->push_back(')');
}

// The operands of an and/or chain, as the compiler flattens it.
void ChainOperands(const AstNode& n, std::vector<const AstNode*>* out) {
  for (const auto& child : n.children) {
    if (child->kind == AstNode::Kind::kBinary && child->text == n.text &&
        child.get() == n.children[0].get()) {
      ChainOperands(*child, out);
    } else {
      out->push_back(child.get());
    }
  }
}

}  // namespace

std::string AstKey(const AstNode& ast) {
  std::string key;
  AppendKey(ast, &key);
  return key;
}

void SharedSubexpressions::Count(
    const AstNode& ast,
    const absl::flat_hash_map<std::string, const AstNode*>* defines) {
  int expansions = 0;
  CountIn(ast, defines, 0, &expansions);
}

void SharedSubexpressions::CountIn(
    const AstNode& ast,
    const absl::flat_hash_map<std::string, const AstNode*>* defines, int depth,
    int* expansions) {
  if (ast.kind == AstNode::Kind::kPath && defines != nullptr &&
      absl::StartsWith(ast.text, "define.")) {
    // A definition counts where it is used. Beyond the compiler's bounds
    // (a definition that uses itself, too many uses) the compiler reports
    // an error; here counting only stops.
    auto it = defines->find(absl::string_view(ast.text).substr(7));
    if (it != defines->end() && depth < kMaxDefineDepth &&
        ++*expansions <= kMaxDefineExpansions) {
      CountIn(*it->second, defines, depth + 1, expansions);
    }
    return;
  }
  if (!internal::Compiler::IsCompound(ast)) return;
  ++count_[AstKey(ast)];
  if (ast.kind == AstNode::Kind::kBinary &&
      (ast.text == "and" || ast.text == "or")) {
    // `a and b and c` compiles to one node: its inner `a and b` is no
    // subexpression of its own.
    std::vector<const AstNode*> operands;
    ChainOperands(ast, &operands);
    for (const AstNode* operand : operands) {
      CountIn(*operand, defines, depth, expansions);
    }
    return;
  }
  for (const auto& child : ast.children) {
    CountIn(*child, defines, depth, expansions);
  }
}

int SharedSubexpressions::SlotFor(const std::string& key) {
  auto counted = count_.find(key);
  if (counted == count_.end() || counted->second < 2) return -1;
  if (auto it = slot_.find(key); it != slot_.end()) return it->second;
  if (next_slot_ == kMemoSlots) return -1;
  slot_.emplace(key, next_slot_);
  return next_slot_++;
}

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

ExprPtr CompileAst(const AstNode& ast, const ExprScope& scope, ExprError* error,
                   ExprUses* uses) {
  *error = ExprError();
  internal::Compiler compiler(scope, error, uses);
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
