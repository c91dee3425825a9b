#include "rules/expr_lexer.h"

#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace txscreen::rules {
namespace internal {
namespace {

bool IsIdentStart(char c) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool IsIdentChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
}

int64_t UnitMicros(char unit) {
  switch (unit) {
    case 's':
      return 1000000LL;
    case 'm':
      return 60LL * 1000000LL;
    case 'h':
      return 3600LL * 1000000LL;
    case 'd':
      return 86400LL * 1000000LL;
  }
  return 0;
}

// Splits the text into tokens; stops at the first error.

class Lexer {
 public:
  explicit Lexer(absl::string_view text) : text_(text) {}

  bool Run(std::vector<Token>* out, ExprError* error) {
    while (true) {
      SkipSpace();
      Token t;
      t.offset = static_cast<int>(pos_);
      if (pos_ >= text_.size()) {
        t.kind = Tok::kEnd;
        out->push_back(std::move(t));
        return true;
      }
      char c = text_[pos_];
      if (absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        if (!Number(out, error)) return false;
        continue;
      }
      if (IsIdentStart(c)) {
        size_t start = pos_;
        while (pos_ < text_.size() &&
               (IsIdentChar(text_[pos_]) ||
                (text_[pos_] == '.' && pos_ + 1 < text_.size() &&
                 IsIdentStart(text_[pos_ + 1])))) {
          ++pos_;
        }
        t.kind = Tok::kIdent;
        t.text = std::string(text_.substr(start, pos_ - start));
        out->push_back(std::move(t));
        continue;
      }
      if (c == '\'' || c == '"') {
        if (!String(&t, error)) return false;
        out->push_back(std::move(t));
        continue;
      }
      static constexpr absl::string_view kTwo[] = {
          "==", "!=", "<=", ">=", "&&", "||"};
      bool matched = false;
      for (absl::string_view op : kTwo) {
        if (text_.substr(pos_, 2) == op) {
          t.kind = Tok::kOp;
          t.text = std::string(op);
          pos_ += 2;
          matched = true;
          break;
        }
      }
      if (!matched) {
        if (absl::string_view("<>+-*/(),!").find(c) ==
            absl::string_view::npos) {
          error->offset = static_cast<int>(pos_);
          if (c == '=') {
            error->message = "unexpected '='; use '==' to compare";
          } else if (static_cast<unsigned char>(c) >= 0x80) {
            error->message =
                "unexpected non-ASCII character; text must be quoted";
          } else {
            error->message = absl::StrCat("unexpected character '",
                                          absl::string_view(&c, 1), "'");
          }
          return false;
        }
        t.kind = Tok::kOp;
        t.text = std::string(1, c);
        ++pos_;
      }
      out->push_back(std::move(t));
    }
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() &&
           absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
  }

  bool Number(std::vector<Token>* out, ExprError* error) {
    size_t start = pos_;
    while (pos_ < text_.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    // A duration: digits followed by a unit, possibly repeated (1h30m).
    if (pos_ < text_.size() && UnitMicros(text_[pos_]) != 0 &&
        (pos_ + 1 >= text_.size() || !IsIdentChar(text_[pos_ + 1]) ||
         absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
      while (pos_ < text_.size() && (IsIdentChar(text_[pos_]))) {
        ++pos_;
      }
      Token t;
      t.kind = Tok::kDuration;
      t.offset = static_cast<int>(start);
      t.text = std::string(text_.substr(start, pos_ - start));
      if (!ParseDurationLiteral(t.text, &t.value)) {
        error->offset = t.offset;
        error->message = absl::StrCat("invalid duration '", t.text,
                                      "' (write e.g. 90s, 5m, 24h, 30d)");
        return false;
      }
      out->push_back(std::move(t));
      return true;
    }
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' &&
        absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_ + 1]))) {
      ++pos_;
      while (pos_ < text_.size() &&
             absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_]))) {
        ++pos_;
      }
    }
    if (pos_ < text_.size() && IsIdentChar(text_[pos_])) {
      error->offset = static_cast<int>(start);
      size_t end = pos_;
      while (end < text_.size() && IsIdentChar(text_[end])) ++end;
      error->message =
          absl::StrCat("invalid number '", text_.substr(start, end - start),
                       "' (a currency needs a space: 50000 CNY; durations "
                       "use s, m, h, d)");
      return false;
    }
    Token t;
    t.kind = Tok::kNumber;
    t.offset = static_cast<int>(start);
    t.text = std::string(text_.substr(start, pos_ - start));
    out->push_back(std::move(t));
    // A currency code right after a number makes it money: "50000 CNY".
    size_t save = pos_;
    SkipSpace();
    size_t c0 = pos_;
    while (pos_ < text_.size() &&
           absl::ascii_isupper(static_cast<unsigned char>(text_[pos_]))) {
      ++pos_;
    }
    if (pos_ - c0 == 3 && (pos_ >= text_.size() || !IsIdentChar(text_[pos_]))) {
      Token cur;
      cur.kind = Tok::kCurrency;
      cur.offset = static_cast<int>(c0);
      cur.text = std::string(text_.substr(c0, 3));
      out->push_back(std::move(cur));
    } else {
      pos_ = save;
    }
    return true;
  }

  bool String(Token* t, ExprError* error) {
    char quote = text_[pos_];
    size_t start = pos_++;
    std::string value;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) {
        char e = text_[pos_ + 1];
        if (e == '\\' || e == '\'' || e == '"') {
          value.push_back(e);
          pos_ += 2;
          continue;
        }
        error->offset = static_cast<int>(pos_);
        error->message = absl::StrCat("unknown escape '\\",
                                      absl::string_view(&e, 1), "' in text");
        return false;
      }
      value.push_back(text_[pos_++]);
    }
    if (pos_ >= text_.size()) {
      error->offset = static_cast<int>(start);
      error->message = "unterminated text: missing closing quote";
      return false;
    }
    ++pos_;
    t->kind = Tok::kString;
    t->text = std::move(value);
    return true;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

int64_t DurationUnitMicros(char unit) { return UnitMicros(unit); }

bool Tokenize(absl::string_view text, std::vector<Token>* out,
              ExprError* error) {
  Lexer lexer(text);
  return lexer.Run(out, error);
}

}  // namespace internal

bool ParseDurationLiteral(absl::string_view text, int64_t* micros) {
  if (text.empty()) return false;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) return false;
    int64_t n = 0;
    while (i < text.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > 1000000000LL) return false;
      n = n * 10 + (text[i] - '0');
      ++i;
    }
    if (i >= text.size()) return false;
    int64_t unit = internal::DurationUnitMicros(text[i]);
    if (unit == 0) return false;
    ++i;
    if (n > (std::numeric_limits<int64_t>::max() - total) / unit) return false;
    total += n * unit;
  }
  *micros = total;
  return true;
}

}  // namespace txscreen::rules
