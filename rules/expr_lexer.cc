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

// The code point of the UTF-8 sequence at the start of `text` (0 when it
// is not well formed).
uint32_t CodePoint(absl::string_view text) {
  const auto byte = [&](size_t i) -> uint32_t {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u;
  };
  auto cont = [&](size_t i) { return (byte(i) & 0xC0) == 0x80; };
  const uint32_t b0 = byte(0);
  if (b0 >= 0xC2 && b0 < 0xE0 && cont(1)) {
    return (b0 & 0x1F) << 6 | (byte(1) & 0x3F);
  }
  if (b0 >= 0xE0 && b0 < 0xF0 && cont(1) && cont(2)) {
    return (b0 & 0x0F) << 12 | (byte(1) & 0x3F) << 6 | (byte(2) & 0x3F);
  }
  if (b0 >= 0xF0 && b0 < 0xF5 && cont(1) && cont(2) && cont(3)) {
    return (b0 & 0x07) << 18 | (byte(1) & 0x3F) << 12 | (byte(2) & 0x3F) << 6 |
           (byte(3) & 0x3F);
  }
  return 0;
}

// The error for a non-ASCII character outside quotes. A Chinese input
// method types full-width punctuation (（ ＝ ， and the ideographic
// space): that is named, with the half-width character meant.
std::string NonAscii(absl::string_view at) {
  const uint32_t cp = CodePoint(at);
  char ascii = 0;
  if (cp >= 0xFF01 && cp <= 0xFF5E) {
    ascii = static_cast<char>(cp - 0xFEE0);
  } else if (cp == 0x3000) {
    ascii = ' ';
  } else if (cp == 0x2018 || cp == 0x2019) {
    ascii = '\'';
  } else if (cp == 0x201C || cp == 0x201D) {
    ascii = '"';
  }
  if (ascii == 0) return "unexpected non-ASCII character; text must be quoted";
  size_t length = 1;
  while (length < at.size() &&
         (static_cast<unsigned char>(at[length]) & 0xC0) == 0x80) {
    ++length;
  }
  return absl::StrCat(
      "unexpected full-width ", at.substr(0, length), " (U+",
      absl::AsciiStrToUpper(absl::StrCat(absl::Hex(cp, absl::kZeroPad4))),
      "): use ",
      ascii == ' ' ? std::string("a half-width space")
                   : absl::StrCat("the half-width ", std::string(1, ascii)),
      " instead");
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
            error->message = NonAscii(text_.substr(pos_));
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
