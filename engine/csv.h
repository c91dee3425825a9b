// File: csv.h
//
// A strict RFC 4180 reader for the CSV files people hand us (staff
// rosters, other banks' exports): quoted fields with "" escapes and line
// breaks inside quotes, CRLF or LF line ends, a UTF-8 byte-order mark at the
// start. Every row carries its 1-based line number and every field its
// 1-based column, so errors can name file:line:col.
//
// Thread safety: a CsvReader is used by one thread.
#ifndef TXSCREEN_ENGINE_CSV_H_
#define TXSCREEN_ENGINE_CSV_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace txscreen::engine {

struct CsvField {
  std::string value;
  int line = 0;    // 1-based line of the field's first character
  int column = 0;  // 1-based byte column of the field's first character
};

struct CsvRow {
  int line = 0;  // 1-based line where the row starts
  std::vector<CsvField> fields;
  // With skip_bad_rows: why this row is malformed, and the column, when
  // the reader could skip it ("" otherwise); its fields are then partial.
  std::string error;
  int error_column = 0;
};

class CsvReader {
 public:
  // `text` must outlive the reader.
  explicit CsvReader(absl::string_view text, char separator = ',');

  // Reads the next row into *row. Returns false at the end of the text or
  // on a malformed row; then error() says why ("" at the end). A blank line
  // is a row with one empty field.
  bool Next(CsvRow* row);
  const std::string& error() const { return error_; }
  // A quote inside an unquoted field is then an error of its row only
  // (CsvRow::error), and reading goes on at the next line: an unquoted
  // field cannot span lines, so the next row starts there. (An unclosed
  // quote still ends the text: where its row ends is unknown.)
  void set_skip_bad_rows(bool skip) { skip_bad_rows_ = skip; }
  // Where the error is.
  int error_line() const { return error_line_; }
  int error_column() const { return error_column_; }
  // Bytes of the text consumed so far.
  size_t position() const { return pos_; }

 private:
  absl::string_view text_;
  char separator_;
  bool skip_bad_rows_ = false;
  size_t pos_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
  std::string error_;
  int error_line_ = 0;
  int error_column_ = 0;
};

}  // namespace txscreen::engine

#endif  // TXSCREEN_ENGINE_CSV_H_
