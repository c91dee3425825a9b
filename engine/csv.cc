#include "engine/csv.h"

#include "absl/strings/str_cat.h"

namespace txscreen::engine {

CsvReader::CsvReader(absl::string_view text, char separator)
    : text_(text), separator_(separator) {
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") {
    pos_ = 3;
    line_start_ = 3;
  }
}

bool CsvReader::Next(CsvRow* row) {
  row->fields.clear();
  row->line = line_;
  row->error.clear();
  row->error_column = 0;
  if (!error_.empty() || pos_ >= text_.size()) return false;
  auto column = [&] { return static_cast<int>(pos_ - line_start_) + 1; };
  auto fail = [&](int line, int col, std::string why) {
    error_ = std::move(why);
    error_line_ = line;
    error_column_ = col;
    return false;
  };
  while (true) {
    CsvField field;
    field.line = line_;
    field.column = column();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const int open_line = line_;
      const int open_col = column();
      ++pos_;
      while (true) {
        if (pos_ >= text_.size()) {
          return fail(open_line, open_col,
                      "quoted field is not closed before the end of the file");
        }
        const char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            field.value.push_back('"');
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\n') {
          ++line_;
          line_start_ = pos_ + 1;
        }
        field.value.push_back(c);
        ++pos_;
      }
      if (pos_ < text_.size() && text_[pos_] != separator_ &&
          text_[pos_] != '\n' &&
          !(text_[pos_] == '\r' && pos_ + 1 < text_.size() &&
            text_[pos_ + 1] == '\n') &&
          !(text_[pos_] == '\r' && pos_ + 1 == text_.size())) {
        return fail(line_, column(),
                    absl::StrCat("unexpected character after a closing quote "
                                 "(a quote inside a quoted field is written "
                                 "\"\")"));
      }
    } else {
      while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (c == separator_ || c == '\n') break;
        if (c == '\r' &&
            (pos_ + 1 == text_.size() || text_[pos_ + 1] == '\n')) {
          break;
        }
        if (c == '"') {
          static constexpr char kWhy[] =
              "quote inside an unquoted field (quote the whole field and "
              "write the quote as \"\")";
          if (!skip_bad_rows_) return fail(line_, column(), kWhy);
          row->error = kWhy;
          row->error_column = column();
          while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
          if (pos_ < text_.size()) ++pos_;
          ++line_;
          line_start_ = pos_;
          return true;
        }
        field.value.push_back(c);
        ++pos_;
      }
    }
    row->fields.push_back(std::move(field));
    if (pos_ >= text_.size()) return true;
    if (text_[pos_] == separator_) {
      ++pos_;
      continue;
    }
    if (text_[pos_] == '\r') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
    ++line_;
    line_start_ = pos_;
    return true;
  }
}

}  // namespace txscreen::engine
