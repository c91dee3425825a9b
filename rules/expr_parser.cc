#include "rules/expr_parser.h"

#include <cctype>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rules/expr_lexer.h"

namespace txscreen::rules {
namespace {

using internal::Tok;
using internal::Token;

class Parser {
 public:
  Parser(std::vector<Token> tokens, ExprError* error)
      : tokens_(std::move(tokens)), error_(error) {}

  std::unique_ptr<AstNode> Run() {
    auto node = Or();
    if (node == nullptr) return nullptr;
    if (Peek().kind != Tok::kEnd) {
      return Fail(Peek().offset, absl::StrCat("unexpected '", Describe(Peek()),
                                              "' after a complete expression"));
    }
    return node;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() {
    return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_];
  }
  bool IsOp(absl::string_view op) const {
    return Peek().kind == Tok::kOp && Peek().text == op;
  }
  bool IsWord(absl::string_view word) const {
    return Peek().kind == Tok::kIdent && Peek().text == word;
  }
  static std::string Describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd:
        return "end of expression";
      case Tok::kString:
        return t.text;
      default:
        return t.text;
    }
  }

  std::unique_ptr<AstNode> Fail(int offset, std::string message) {
    if (error_->message.empty()) {
      error_->offset = offset;
      error_->message = std::move(message);
    }
    return nullptr;
  }

  static std::unique_ptr<AstNode> Make(AstNode::Kind kind, int offset,
                                       std::string text) {
    auto n = std::make_unique<AstNode>();
    n->kind = kind;
    n->offset = offset;
    n->text = std::move(text);
    return n;
  }

  std::unique_ptr<AstNode> Binary(std::string op, int offset,
                                  std::unique_ptr<AstNode> left,
                                  std::unique_ptr<AstNode> right) {
    auto n = Make(AstNode::Kind::kBinary, offset, std::move(op));
    n->children.push_back(std::move(left));
    n->children.push_back(std::move(right));
    return n;
  }

  std::unique_ptr<AstNode> Or() {
    auto left = And();
    while (left != nullptr && (IsWord("or") || IsOp("||"))) {
      int offset = Next().offset;
      auto right = And();
      if (right == nullptr) return nullptr;
      left = Binary("or", offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<AstNode> And() {
    auto left = Not();
    while (left != nullptr && (IsWord("and") || IsOp("&&"))) {
      int offset = Next().offset;
      auto right = Not();
      if (right == nullptr) return nullptr;
      left = Binary("and", offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<AstNode> Not() {
    if (IsWord("not") || IsOp("!")) {
      int offset = Next().offset;
      auto operand = Not();
      if (operand == nullptr) return nullptr;
      auto n = Make(AstNode::Kind::kUnary, offset, "not");
      n->children.push_back(std::move(operand));
      return n;
    }
    return Compare();
  }

  std::unique_ptr<AstNode> Compare() {
    auto left = Sum();
    if (left == nullptr) return nullptr;
    static constexpr absl::string_view kOps[] = {
        "==", "!=", "<=", ">=", "<", ">"};
    for (absl::string_view op : kOps) {
      if (IsOp(op)) {
        int offset = Next().offset;
        auto right = Sum();
        if (right == nullptr) return nullptr;
        return Binary(std::string(op), offset, std::move(left),
                      std::move(right));
      }
    }
    bool negated = false;
    int offset = Peek().offset;
    if (IsWord("not") && pos_ + 1 < tokens_.size() &&
        tokens_[pos_ + 1].kind == Tok::kIdent &&
        tokens_[pos_ + 1].text == "in") {
      Next();
      negated = true;
    }
    if (IsWord("in")) {
      Next();
      auto n = Make(AstNode::Kind::kIn, offset, "in");
      n->negated = negated;
      n->children.push_back(std::move(left));
      if (IsOp("(")) {
        auto tuple = Make(AstNode::Kind::kTuple, Next().offset, "");
        while (true) {
          auto element = Or();
          if (element == nullptr) return nullptr;
          tuple->children.push_back(std::move(element));
          if (IsOp(",")) {
            Next();
            continue;
          }
          if (!IsOp(")")) {
            return Fail(Peek().offset,
                        absl::StrCat("expected ',' or ')' in the value list, "
                                     "got '",
                                     Describe(Peek()), "'"));
          }
          Next();
          break;
        }
        n->children.push_back(std::move(tuple));
      } else if (Peek().kind == Tok::kIdent) {
        const Token& t = Next();
        n->children.push_back(Make(AstNode::Kind::kPath, t.offset, t.text));
      } else {
        return Fail(Peek().offset,
                    absl::StrCat("expected a list name or ( values ) after "
                                 "'in', got '",
                                 Describe(Peek()), "'"));
      }
      return n;
    }
    return left;
  }

  std::unique_ptr<AstNode> Sum() {
    auto left = Product();
    while (left != nullptr && (IsOp("+") || IsOp("-"))) {
      const Token& op = Next();
      std::string text = op.text;
      int offset = op.offset;
      auto right = Product();
      if (right == nullptr) return nullptr;
      left = Binary(std::move(text), offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<AstNode> Product() {
    auto left = Unary();
    while (left != nullptr && (IsOp("*") || IsOp("/"))) {
      const Token& op = Next();
      std::string text = op.text;
      int offset = op.offset;
      auto right = Unary();
      if (right == nullptr) return nullptr;
      left = Binary(std::move(text), offset, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<AstNode> Unary() {
    if (IsOp("-")) {
      int offset = Next().offset;
      auto operand = Unary();
      if (operand == nullptr) return nullptr;
      auto n = Make(AstNode::Kind::kUnary, offset, "-");
      n->children.push_back(std::move(operand));
      return n;
    }
    return Primary();
  }

  std::unique_ptr<AstNode> NumberLiteral(const Token& t) {
    if (Peek().kind == Tok::kCurrency) {
      auto n = Make(AstNode::Kind::kMoney, t.offset, t.text);
      n->currency = Next().text;
      return n;
    }
    size_t dot = t.text.find('.');
    if (dot == std::string::npos) {
      int64_t v = 0;
      for (char c : t.text) {
        if (v > (std::numeric_limits<int64_t>::max() - (c - '0')) / 10) {
          return Fail(t.offset,
                      absl::StrCat("number '", t.text, "' is too large"));
        }
        v = v * 10 + (c - '0');
      }
      auto n = Make(AstNode::Kind::kInt, t.offset, t.text);
      n->int_value = v;
      return n;
    }
    absl::string_view whole = absl::string_view(t.text).substr(0, dot);
    absl::string_view frac = absl::string_view(t.text).substr(dot + 1);
    if (frac.size() > 6) {
      return Fail(t.offset, absl::StrCat("number '", t.text,
                                         "' has more than 6 decimals"));
    }
    int64_t v = 0;
    for (char c : whole) {
      if (v > (std::numeric_limits<int64_t>::max() / kScale - 10) / 10) {
        return Fail(t.offset,
                    absl::StrCat("number '", t.text, "' is too large"));
      }
      v = v * 10 + (c - '0');
    }
    int64_t f = 0;
    for (size_t i = 0; i < 6; ++i) {
      f = f * 10 + (i < frac.size() ? frac[i] - '0' : 0);
    }
    auto n = Make(AstNode::Kind::kDecimal, t.offset, t.text);
    n->int_value = v * kScale + f;
    return n;
  }

  std::unique_ptr<AstNode> Primary() {
    const Token& t = Next();
    switch (t.kind) {
      case Tok::kNumber:
        return NumberLiteral(t);
      case Tok::kDuration: {
        auto n = Make(AstNode::Kind::kDuration, t.offset, t.text);
        n->int_value = t.value;
        return n;
      }
      case Tok::kString:
        return Make(AstNode::Kind::kString, t.offset, t.text);
      case Tok::kIdent: {
        if (t.text == "true" || t.text == "false") {
          auto n = Make(AstNode::Kind::kBool, t.offset, t.text);
          n->int_value = t.text == "true";
          return n;
        }
        if (t.text == "and" || t.text == "or" || t.text == "in" ||
            t.text == "not") {
          return Fail(t.offset, absl::StrCat("unexpected '", t.text,
                                             "': a value is missing"));
        }
        if (!IsOp("(")) {
          return Make(AstNode::Kind::kPath, t.offset, t.text);
        }
        auto call = Make(AstNode::Kind::kCall, t.offset, t.text);
        Next();
        if (IsOp(")")) {
          Next();
          return call;
        }
        while (true) {
          auto arg = Or();
          if (arg == nullptr) return nullptr;
          call->children.push_back(std::move(arg));
          if (IsOp(",")) {
            Next();
            continue;
          }
          if (IsOp(")")) {
            Next();
            return call;
          }
          return Fail(Peek().offset,
                      absl::StrCat("expected ',' or ')' in the call of ",
                                   t.text, ", got '", Describe(Peek()), "'"));
        }
      }
      case Tok::kOp:
        if (t.text == "(") {
          auto inner = Or();
          if (inner == nullptr) return nullptr;
          if (!IsOp(")")) {
            return Fail(Peek().offset, absl::StrCat("expected ')', got '",
                                                    Describe(Peek()), "'"));
          }
          Next();
          return inner;
        }
        return Fail(t.offset, absl::StrCat("unexpected '", t.text,
                                           "': a value is missing"));
      case Tok::kCurrency:
        return Fail(t.offset, absl::StrCat("unexpected '", t.text, "'"));
      case Tok::kEnd:
        return Fail(t.offset,
                    "unexpected end of expression: a value is missing");
    }
    return Fail(t.offset, "unexpected token");
  }

  static constexpr int64_t kScale = 1000000;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  ExprError* error_;
};

}  // namespace

std::unique_ptr<AstNode> ParseExpression(absl::string_view text,
                                         ExprError* error) {
  *error = ExprError();
  std::vector<Token> tokens;
  if (!internal::Tokenize(text, &tokens, error)) return nullptr;
  if (tokens.size() == 1) {
    error->offset = 0;
    error->message = "empty expression";
    return nullptr;
  }
  Parser parser(std::move(tokens), error);
  return parser.Run();
}

}  // namespace txscreen::rules
