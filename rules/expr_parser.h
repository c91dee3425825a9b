// File: expr_parser.h
//
// Parses the rule expression language into a syntax tree. The grammar, from
// loosest to tightest binding:
//
//   expr     := or
//   or       := and ( ("or" | "||") and )*
//   and      := not ( ("and" | "&&") not )*
//   not      := ("not" | "!") not | compare
//   compare  := sum ( ("=="|"!="|"<"|"<="|">"|">=") sum
//                   | ["not"] "in" ( IDENT | "(" expr ("," expr)* ")" ) )?
//   sum      := product ( ("+"|"-") product )*
//   product  := unary ( ("*"|"/") unary )*
//   unary    := "-" unary | primary
//   primary  := NUMBER [CURRENCY]        50000, 0.8, 50000 CNY, 49999.99 CNY
//             | DURATION                 90s, 5m, 24h, 30d, 1h30m
//             | STRING                   'text' or "text" (\\ and \' escapes)
//             | "true" | "false"
//             | PATH                     tx.amount, window.cash_day, police
//             | IDENT "(" [expr ("," expr)*] ")"
//             | "(" expr ")"
//
// Parsing knows nothing of types or names; expr_compiler.h checks them.
#ifndef TXSCREEN_RULES_EXPR_PARSER_H_
#define TXSCREEN_RULES_EXPR_PARSER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace txscreen::rules {

// A problem at a byte offset of the expression text.
struct ExprError {
  int offset = 0;
  std::string message;
};

struct AstNode {
  enum class Kind {
    kInt,       // int_value
    kDecimal,   // int_value = value * 10^6; text = the literal
    kMoney,     // text = the number as written, currency = code
    kDuration,  // int_value = microseconds
    kString,    // text = the decoded string
    kBool,      // int_value = 0 or 1
    kPath,      // text = "tx.amount"
    kCall,      // text = function name; children = arguments
    kUnary,     // text = "-" or "not"; children[0]
    kBinary,    // text = operator ("and", "or", "==", "+", ...); 2 children
    kIn,        // children[0] in children[1]; negated for "not in"
    kTuple,     // ("A", "B"): children = elements
  };
  Kind kind = Kind::kInt;
  // Byte offset of the node in the expression text: of its first character,
  // or, for an operator between two operands (kBinary, kIn), of the
  // operator.
  int offset = 0;
  std::string text;
  std::string currency;
  int64_t int_value = 0;
  bool negated = false;
  std::vector<std::unique_ptr<AstNode>> children;

  // Byte offset of the node's first character: where an error about the
  // node as an operand points ("tx.amount + 5 CNY" starts at "tx").
  int start() const {
    return (kind == Kind::kBinary || kind == Kind::kIn) && !children.empty()
               ? children[0]->start()
               : offset;
  }
};

// Parses `text`. On error returns nullptr and fills *error.
std::unique_ptr<AstNode> ParseExpression(absl::string_view text,
                                         ExprError* error);

// Parses a duration literal such as "5m", "24h" or "1h30m" into
// microseconds. Returns false when `text` is not one.
bool ParseDurationLiteral(absl::string_view text, int64_t* micros);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_EXPR_PARSER_H_
