#include "compliance/input.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/transaction_codec.h"
#include "rules/expr_compiler.h"

namespace txscreen::compliance {

namespace v1 = ::txscreen::v1;

namespace {

constexpr size_t kMaxLineBytes = 1 << 20;

// Maps `path` read-only; the whole file as *text.
bool MapFile(const std::string& path, void** mapped, absl::string_view* text,
             std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = absl::StrCat(path, ": cannot read: ", std::strerror(errno));
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *error = absl::StrCat(path, ": not a regular file");
    ::close(fd);
    return false;
  }
  if (st.st_size == 0) {
    ::close(fd);
    *text = absl::string_view();
    return true;
  }
  void* p = ::mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    *error = absl::StrCat(path, ": cannot map: ", std::strerror(errno));
    return false;
  }
  ::madvise(p, st.st_size, MADV_SEQUENTIAL);
  *mapped = p;
  *text = absl::string_view(static_cast<const char*>(p), st.st_size);
  return true;
}

std::vector<std::string> HeaderNames(const engine::CsvRow& header) {
  std::vector<std::string> names;
  for (const engine::CsvField& f : header.fields) {
    names.emplace_back(absl::StripAsciiWhitespace(f.value));
  }
  return names;
}

int FindColumn(const std::vector<std::string>& names, absl::string_view name) {
  auto it = std::find(names.begin(), names.end(), name);
  return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

std::string NoColumn(absl::string_view file, absl::string_view what,
                     absl::string_view name,
                     const std::vector<std::string>& names) {
  std::string message = absl::StrCat(file, ": ", what, " column '", name,
                                     "' is not in the header");
  std::string guess = rules::ClosestName(name, names);
  if (!guess.empty())
    absl::StrAppend(&message, " (did you mean '", guess, "'?)");
  return message;
}

}  // namespace

Input::~Input() {
  if (mapped_ != nullptr) ::munmap(mapped_, text_.size());
}

std::unique_ptr<Input> Input::Open(const InputOptions& options,
                                   std::vector<std::string>* errors) {
  std::unique_ptr<Input> in(new Input());
  in->options_ = options;
  if (!options.mapping_path.empty()) {
    in->mapping_ = CsvMapping::Load(options.mapping_path, errors);
    if (in->mapping_ == nullptr) return nullptr;
  }
  if (options.path == "-") {
    std::stringstream all;
    all << std::cin.rdbuf();
    in->owned_ = all.str();
    in->text_ = in->owned_;
  } else {
    std::string error;
    if (!MapFile(options.path, &in->mapped_, &in->text_, &error)) {
      errors->push_back(error);
      return nullptr;
    }
  }
  for (const std::string& t : options.truthy) {
    in->truthy_.push_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(t)));
  }
  const bool want_labels =
      !options.label_column.empty() || !options.group_column.empty();
  if (!options.labels_path.empty()) {
    // A labels CSV keyed by transaction_id (txscreen gen --labels).
    std::ifstream f(options.labels_path, std::ios::binary);
    if (!f) {
      errors->push_back(absl::StrCat(options.labels_path,
                                     ": cannot read: ", std::strerror(errno)));
      return nullptr;
    }
    std::stringstream text;
    text << f.rdbuf();
    const std::string labels_text = text.str();
    engine::CsvReader reader(labels_text);
    engine::CsvRow row;
    if (!reader.Next(&row)) {
      errors->push_back(absl::StrCat(options.labels_path, ": no header row"));
      return nullptr;
    }
    std::vector<std::string> names = HeaderNames(row);
    const int id = FindColumn(names, "transaction_id");
    const std::string label =
        options.label_column.empty() ? "suspicious" : options.label_column;
    const int label_at = FindColumn(names, label);
    const int group_at = options.group_column.empty()
                             ? -1
                             : FindColumn(names, options.group_column);
    if (id < 0) {
      errors->push_back(
          NoColumn(options.labels_path, "the", "transaction_id", names));
    }
    if (label_at < 0) {
      errors->push_back(NoColumn(options.labels_path, "label", label, names));
    }
    if (!options.group_column.empty() && group_at < 0) {
      errors->push_back(
          NoColumn(options.labels_path, "group", options.group_column, names));
    }
    if (id < 0 || label_at < 0 ||
        (!options.group_column.empty() && group_at < 0)) {
      return nullptr;
    }
    const size_t needed = std::max({id, label_at, group_at}) + 1;
    while (reader.Next(&row)) {
      if (row.fields.size() == 1 && row.fields[0].value.empty()) continue;
      if (row.fields.size() < needed) {
        errors->push_back(absl::StrCat(options.labels_path, ":", row.line,
                                       ": row has ", row.fields.size(),
                                       " columns, the header ", names.size()));
        return nullptr;
      }
      Label_ l;
      l.positive = in->IsTruthy(row.fields[label_at].value);
      if (group_at >= 0) l.group = row.fields[group_at].value;
      in->labels_[row.fields[id].value] = std::move(l);
    }
    in->labels_loaded_ = true;
    if (!reader.error().empty()) {
      errors->push_back(
          absl::StrCat(options.labels_path, ":", reader.error_line(), ":",
                       reader.error_column(), ": ", reader.error()));
      return nullptr;
    }
  }
  if (in->mapping_ == nullptr) {
    if (want_labels && options.labels_path.empty()) {
      errors->push_back(
          "--label and --group-by with JSONL input need --labels FILE (a CSV "
          "with transaction_id and those columns, as txscreen gen --labels "
          "writes it)");
      return nullptr;
    }
    return in;
  }
  // CSV: skip the leading lines, read and bind the header.
  absl::string_view rest = in->text_;
  int64_t skipped_lines = 0;
  for (int i = 0; i < in->mapping_->skip_lines(); ++i) {
    size_t nl = rest.find('\n');
    rest = nl == absl::string_view::npos ? absl::string_view()
                                         : rest.substr(nl + 1);
    ++skipped_lines;
  }
  in->csv_offset_ = in->text_.size() - rest.size();
  in->csv_ =
      std::make_unique<engine::CsvReader>(rest, in->mapping_->separator());
  engine::CsvRow header;
  if (in->mapping_->has_header()) {
    if (!in->csv_->Next(&header)) {
      errors->push_back(
          in->csv_->error().empty()
              ? absl::StrCat(options.path, ": no header row")
              : absl::StrCat(
                    options.path, ":", in->csv_->error_line() + skipped_lines,
                    ":", in->csv_->error_column(), ": ", in->csv_->error()));
      return nullptr;
    }
  }
  if (!in->mapping_->BindHeader(header, errors)) return nullptr;
  // The header is read strictly; a row with a stray quote is one bad row.
  in->csv_->set_skip_bad_rows(true);
  if (options.labels_path.empty()) {
    if (!options.label_column.empty()) {
      auto at = in->mapping_->ColumnIndex(options.label_column);
      if (!at.ok()) {
        errors->push_back(
            absl::StrCat(options.path, ": --label: ", at.status().message()));
        return nullptr;
      }
      in->label_index_ = *at;
    }
    if (!options.group_column.empty()) {
      auto at = in->mapping_->ColumnIndex(options.group_column);
      if (!at.ok()) {
        errors->push_back(absl::StrCat(
            options.path, ": --group-by: ", at.status().message()));
        return nullptr;
      }
      in->group_index_ = *at;
    }
  }
  in->jsonl_line_ = skipped_lines;  // line offset of the CSV text
  return in;
}

bool Input::IsTruthy(absl::string_view value) const {
  if (truthy_.empty() && mapping_ != nullptr) return mapping_->IsTruthy(value);
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  if (truthy_.empty())
    return v == "1" || v == "true" || v == "yes" || v == "y" || v == "t";
  return std::find(truthy_.begin(), truthy_.end(), v) != truthy_.end();
}

void Input::Label(const v1::Transaction& tx, const engine::CsvRow* row,
                  InputRow* out) const {
  out->labelled = false;
  out->positive = false;
  out->group.clear();
  if (labels_loaded_) {
    auto it = labels_.find(tx.transaction_id());
    // Not in the labels file: a transaction no scenario touched.
    out->labelled = true;
    if (it != labels_.end()) {
      out->positive = it->second.positive;
      out->group = it->second.group;
    }
    return;
  }
  if (row == nullptr) return;
  if (label_index_ >= 0 &&
      static_cast<size_t>(label_index_) < row->fields.size()) {
    out->labelled = true;
    out->positive = IsTruthy(row->fields[label_index_].value);
  }
  if (group_index_ >= 0 &&
      static_cast<size_t>(group_index_) < row->fields.size()) {
    out->group = std::string(
        absl::StripAsciiWhitespace(row->fields[group_index_].value));
  }
}

size_t Input::position() const {
  if (mapping_ != nullptr) {
    return csv_ == nullptr ? text_.size() : csv_offset_ + csv_->position();
  }
  return std::min(jsonl_pos_, text_.size());
}

Input::Result Input::Next(v1::Transaction* tx, InputRow* row,
                          std::string* why) {
  if (csv_ != nullptr) {
    while (true) {
      if (!csv_->Next(&csv_row_)) {
        if (csv_->error().empty()) return Result::kEnd;
        row->line = csv_->error_line() + jsonl_line_;
        *why =
            absl::StrCat("column ", csv_->error_column(), ": ", csv_->error(),
                         "; the rest of the file is not read");
        // A malformed row ends the readable part of the file: the reader
        // cannot know where the next row starts.
        truncated_at_line_ = row->line;
        csv_.reset();
        return Result::kBad;
      }
      if (csv_row_.fields.size() == 1 &&
          absl::StripAsciiWhitespace(csv_row_.fields[0].value).empty()) {
        continue;  // blank line
      }
      row->line = csv_row_.line + jsonl_line_;
      csv_row_.line = static_cast<int>(row->line);
      if (!csv_row_.error.empty()) {
        *why = absl::StrCat("column ", csv_row_.error_column, ": ",
                            csv_row_.error);
        return Result::kBad;
      }
      switch (mapping_->Map(csv_row_, tx, why)) {
        case CsvMapping::RowResult::kTransaction:
          Label(*tx, &csv_row_, row);
          return Result::kTransaction;
        case CsvMapping::RowResult::kSkipped:
          return Result::kSkipped;
        case CsvMapping::RowResult::kBad:
          return Result::kBad;
      }
    }
  }
  if (mapping_ != nullptr) return Result::kEnd;  // CSV ended on a bad row
  while (jsonl_pos_ < text_.size()) {
    size_t nl = text_.find('\n', jsonl_pos_);
    if (nl == absl::string_view::npos) nl = text_.size();
    absl::string_view line = text_.substr(jsonl_pos_, nl - jsonl_pos_);
    if (jsonl_pos_ == 0) line = engine::WithoutBom(line);
    jsonl_pos_ = nl + 1;
    ++jsonl_line_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    row->line = jsonl_line_;
    if (line.size() > kMaxLineBytes) {
      *why = absl::StrCat("line is longer than ", kMaxLineBytes, " bytes");
      return Result::kBad;
    }
    absl::Status s = engine::DecodeTransactionJson(line, tx);
    if (!s.ok()) {
      *why = OneLine(s.message());
      return Result::kBad;
    }
    Label(*tx, nullptr, row);
    return Result::kTransaction;
  }
  jsonl_pos_ = text_.size();
  return Result::kEnd;
}

}  // namespace txscreen::compliance
