// File: expr_lexer.h
//
// Internal to the expression parser: splits expression text into tokens.
#ifndef TXSCREEN_RULES_EXPR_LEXER_H_
#define TXSCREEN_RULES_EXPR_LEXER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "rules/expr_parser.h"

namespace txscreen::rules::internal {

enum class Tok {
  kEnd,
  kNumber,    // text: digits with optional fraction
  kDuration,  // text: e.g. "5m"; value: micros
  kString,    // text: decoded
  kIdent,     // text: dotted path or a single identifier
  kCurrency,  // text: three upper-case letters directly after a number
  kOp,        // text: operator or punctuation
};

struct Token {
  Tok kind = Tok::kEnd;
  int offset = 0;
  std::string text;
  int64_t value = 0;
};

// Microseconds in one duration unit ('s', 'm', 'h', 'd'), or 0.
int64_t DurationUnitMicros(char unit);

// Appends the tokens of `text` to *out, ending with a Tok::kEnd token. On
// error returns false and fills *error.
bool Tokenize(absl::string_view text, std::vector<Token>* out,
              ExprError* error);

}  // namespace txscreen::rules::internal

#endif  // TXSCREEN_RULES_EXPR_LEXER_H_
