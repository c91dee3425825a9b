// File: input.h
//
// The transactions of a backtest, read from a file: JSONL in txscreen's
// schema, or another system's CSV export through a CsvMapping. Each row
// comes with its line number and, when asked for, a label and a group
// value (from CSV columns, or from a separate labels CSV keyed by
// transaction_id, as `txscreen gen --labels` writes it).
//
// The file is memory-mapped, so a multi-gigabyte export costs page cache,
// not heap.
//
// Thread safety: an Input is used by one thread.
#ifndef TXSCREEN_COMPLIANCE_INPUT_H_
#define TXSCREEN_COMPLIANCE_INPUT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "compliance/csv_mapping.h"
#include "engine/csv.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::compliance {

// The exit status of a command that read every row it could and finished,
// but found rows it could not read (each named on stderr as FILE:LINE): 3,
// apart from a usage error (2) and a failure (1), so that a script can tell
// "the data has bad rows" from "called wrongly".
inline constexpr int kExitUnreadableRows = 3;

struct InputOptions {
  std::string path;          // "-" reads standard input
  std::string mapping_path;  // empty: JSONL input
  // Label and group columns: of the CSV input, or of `labels_path`.
  std::string label_column;
  std::string group_column;
  // CSV with a transaction_id column; joined to the input by id.
  std::string labels_path;
  // Replaces the truthy values of the mapping ("1", "true", "yes", ...).
  std::vector<std::string> truthy;
};

struct InputRow {
  int64_t line = 0;
  bool labelled = false;  // a label was found for this row
  bool positive = false;  // the label is truthy
  std::string group;
};

class Input {
 public:
  // Opens everything; problems (unreadable files, mapping errors, unknown
  // columns) go to *errors, nullptr then.
  static std::unique_ptr<Input> Open(const InputOptions& options,
                                     std::vector<std::string>* errors);
  ~Input();

  enum class Result { kTransaction, kSkipped, kBad, kEnd };
  // The next row. kSkipped and kBad come with *why; kBad rows are ones the
  // caller reports ("FILE:LINE: why").
  Result Next(txscreen::v1::Transaction* tx, InputRow* row, std::string* why);

  // Bytes consumed so far, of size().
  size_t position() const;
  size_t size() const { return text_.size(); }
  const std::string& name() const { return options_.path; }
  // The line of a malformed CSV row that ended the reading, or 0.
  int64_t truncated_at_line() const { return truncated_at_line_; }
  bool has_labels() const { return label_index_ >= 0 || labels_loaded_; }
  bool has_groups() const {
    return group_index_ >= 0 ||
           (labels_loaded_ && !options_.group_column.empty());
  }

 private:
  Input() = default;
  void Label(const txscreen::v1::Transaction& tx, const engine::CsvRow* row,
             InputRow* out) const;
  bool IsTruthy(absl::string_view value) const;

  InputOptions options_;
  absl::string_view text_;
  void* mapped_ = nullptr;
  std::string owned_;  // standard input
  std::unique_ptr<CsvMapping> mapping_;
  std::unique_ptr<engine::CsvReader> csv_;
  engine::CsvRow csv_row_;
  size_t csv_offset_ = 0;  // where the CsvReader's text starts
  int64_t truncated_at_line_ = 0;
  size_t jsonl_pos_ = 0;
  int64_t jsonl_line_ = 0;
  int label_index_ = -1, group_index_ = -1;
  // transaction_id -> (label cell, group cell), from labels_path.
  struct Label_ {
    bool positive;
    std::string group;
  };
  absl::flat_hash_map<std::string, Label_> labels_;
  bool labels_loaded_ = false;
  std::vector<std::string> truthy_;
};

}  // namespace txscreen::compliance

#endif  // TXSCREEN_COMPLIANCE_INPUT_H_
