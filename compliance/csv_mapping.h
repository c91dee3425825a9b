// File: csv_mapping.h
//
// A compiled CSV mapping file (proto/txscreen/v1/mapping.proto): turns the
// rows of another system's CSV export into Transactions. Loading checks
// everything that can be checked without data -- field paths against the
// Transaction schema (with a suggestion for a misspelt one), time formats
// and zones, constants and `set` values, that every required field has a
// source -- and names FILE:LINE:COL for each problem. BindHeader() then
// resolves column names against the file's header row.
//
// Thread safety: Map() is const and may run on several threads once the
// header is bound.
#ifndef TXSCREEN_COMPLIANCE_CSV_MAPPING_H_
#define TXSCREEN_COMPLIANCE_CSV_MAPPING_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/csv.h"
#include "rules/source_map.h"
#include "txscreen/v1/mapping.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::compliance {

// `text` with line breaks, tabs and other control characters written as
// escapes ("\\n", "\\x01"), so that a message quoting input stays one line.
std::string OneLine(absl::string_view text);

class CsvMapping {
 public:
  // Parses and checks the mapping in `text` (read from `path`). Every
  // problem goes to *errors as "PATH:LINE:COL: problem"; nullptr then.
  static std::unique_ptr<CsvMapping> Parse(const std::string& path,
                                           std::string text,
                                           std::vector<std::string>* errors);
  // Reads `path` and parses it.
  static std::unique_ptr<CsvMapping> Load(const std::string& path,
                                          std::vector<std::string>* errors);

  char separator() const { return separator_; }
  int skip_lines() const { return skip_lines_; }
  bool has_header() const { return has_header_; }
  // Whether `value` is true in a label column (case-insensitive).
  bool IsTruthy(absl::string_view value) const;

  // Resolves the mapping's column names against the header row. Problems
  // (a name not in the header, one that appears twice) go to *errors with
  // the mapping file's position. Without a header (no_header) call it with
  // an empty row: names are then errors.
  bool BindHeader(const engine::CsvRow& header,
                  std::vector<std::string>* errors);
  // 0-based index of header column `name`, for label and group columns.
  // Errors name the closest header column.
  absl::StatusOr<int> ColumnIndex(absl::string_view name) const;

  enum class RowResult { kTransaction, kSkipped, kBad };
  // Maps one data row into *tx (cleared first). kSkipped: *why names the
  // skip rule; kBad: *why says what is wrong, naming the column.
  // *why is one line (OneLine).
  RowResult Map(const engine::CsvRow& row, txscreen::v1::Transaction* tx,
                std::string* why) const;

  // Internal; public for the .cc's helpers.
  enum class Kind {
    kString,
    kInt64,
    kInt32,
    kBool,
    kDouble,
    kEnum,
    kTimestamp,
    kAmount
  };
  struct Target {
    std::string path;
    std::vector<const google::protobuf::FieldDescriptor*> fields;
    Kind kind = Kind::kString;
  };
  struct TimeSpec {
    enum class Format { kIso, kEpochSeconds, kEpochMillis, kStep, kPattern };
    Format format = Format::kIso;
    std::string pattern;
    absl::TimeZone zone;
    absl::Time start;
    absl::Duration unit;
  };
  struct TemplatePart {
    std::string literal;
    std::string column_name;  // "" for a literal, "$row" for the row number
    int column = -1;          // 0-based once bound
  };
  struct Assignment {
    Target target;
    std::string value;
  };
  struct Field {
    bool has_target = false;
    Target target;
    enum class Source { kColumn, kTemplate, kConstant } source;
    std::string column_name;
    int column = -1;  // 0-based once bound
    std::vector<TemplatePart> parts;
    std::string constant;
    std::string default_value;
    TimeSpec time;
    txscreen::v1::AmountFormat amount;
    struct Value {
      std::string to;
      std::vector<Assignment> sets;
    };
    absl::flat_hash_map<std::string, Value> values;
    txscreen::v1::Unmapped unmapped = txscreen::v1::UNMAPPED_REJECT;
    rules::SourcePosition pos;
    std::string label;  // "column 'Amount'" for messages
  };
  struct Skip {
    std::string column_name;
    int column = -1;
    std::vector<std::string> equals;
    bool empty = false;
    rules::SourcePosition pos;
    std::string label;
  };

 private:
  CsvMapping() = default;
  // What makes a row bad before any field is read: a cell count other
  // than the header's, a cell that is not UTF-8. kTransaction when fine.
  RowResult CheckRow(const engine::CsvRow& row, std::string* why) const;
  RowResult MapRow(const engine::CsvRow& row, txscreen::v1::Transaction* tx,
                   std::string* why) const;
  // Converts `text` into `t` of *tx. Amounts are kept for later.
  absl::Status Assign(const Target& t, absl::string_view text,
                      const TimeSpec& time, txscreen::v1::Transaction* tx,
                      std::string* amount_text) const;

  std::string path_;
  char separator_ = ',';
  int skip_lines_ = 0;
  bool has_header_ = true;
  TimeSpec default_time_;
  std::vector<Field> fields_;
  std::vector<Skip> skips_;
  std::vector<std::string> truthy_;
  std::vector<std::string> header_;
  absl::flat_hash_map<std::string, int> header_index_;
};

}  // namespace txscreen::compliance

#endif  // TXSCREEN_COMPLIANCE_CSV_MAPPING_H_
