#include "rules/source_map.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/tokenizer.h"
#include "rules/expr_compiler.h"

namespace txscreen::rules {
namespace {

namespace pb = ::google::protobuf;

// The value names of every enum field called `field` in `root` and the
// messages it holds, for suggestions.
std::vector<std::string> EnumValueNames(const pb::Descriptor* root,
                                        absl::string_view field) {
  std::vector<std::string> names;
  std::vector<const pb::Descriptor*> todo = {root}, seen;
  while (!todo.empty()) {
    const pb::Descriptor* d = todo.back();
    todo.pop_back();
    if (d == nullptr || std::find(seen.begin(), seen.end(), d) != seen.end()) {
      continue;
    }
    seen.push_back(d);
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->message_type() != nullptr) todo.push_back(f->message_type());
      if (f->enum_type() != nullptr && f->name() == field) {
        for (int v = 0; v < f->enum_type()->value_count(); ++v) {
          names.push_back(f->enum_type()->value(v)->name());
        }
      }
    }
  }
  return names;
}

class CollectErrors : public pb::io::ErrorCollector {
 public:
  CollectErrors(const SourceFile& file, const pb::Descriptor* root,
                std::vector<std::string>* errors)
      : file_(file), root_(root), errors_(errors) {}
  void AddError(int line, pb::io::ColumnNumber column,
                const std::string& message) override {
    std::string name;
    std::string text = ExplainEnum(message, &name);
    if (name.empty()) text = Explain(message, &name);
    // Protobuf reports an unknown field or enum value at the token after
    // it (for a value at the end of its line, the next line's): point at
    // the name.
    SourcePosition pos = name.empty() ? file_.FieldPosition(line, column)
                                      : file_.NameBefore(line, column, name);
    errors_->push_back(absl::StrCat(file_.Describe(pos), ": ", text));
  }

 private:
  // Protobuf says 'Unknown enumeration value of "ACTION_REVEIW" for field
  // "action".'; we say which value was meant.
  std::string ExplainEnum(const std::string& message,
                          std::string* unknown_value) const {
    static const std::string kValue = "Unknown enumeration value of \"";
    static const std::string kField = "\" for field \"";
    if (message.rfind(kValue, 0) != 0) return message;
    const size_t v_end = message.find(kField, kValue.size());
    if (v_end == std::string::npos) return message;
    const size_t f_end = message.find('"', v_end + kField.size());
    if (f_end == std::string::npos) return message;
    std::string value = message.substr(kValue.size(), v_end - kValue.size());
    std::string field =
        message.substr(v_end + kField.size(), f_end - v_end - kField.size());
    *unknown_value = value;
    std::string text =
        absl::StrCat("unknown value '", value, "' for field '", field, "'");
    std::string guess = ClosestName(value, EnumValueNames(root_, field));
    if (!guess.empty())
      absl::StrAppend(&text, " (did you mean '", guess, "'?)");
    return text;
  }

  // Protobuf says 'Message type "txscreen.v1.Rule" has no field named "whn".';
  // we say which fields there are.
  static std::string Explain(const std::string& message,
                             std::string* unknown_field) {
    static const std::string kType = "Message type \"";
    static const std::string kField = "has no field named \"";
    size_t t = message.find(kType), f = message.find(kField);
    if (t == std::string::npos || f == std::string::npos) return message;
    size_t t_end = message.find('"', t + kType.size());
    size_t f_end = message.find('"', f + kField.size());
    std::string type =
        message.substr(t + kType.size(), t_end - t - kType.size());
    std::string name =
        message.substr(f + kField.size(), f_end - f - kField.size());
    *unknown_field = name;
    const google::protobuf::Descriptor* d =
        google::protobuf::DescriptorPool::generated_pool()
            ->FindMessageTypeByName(type);
    if (d == nullptr) return message;
    std::vector<std::string> names;
    for (int i = 0; i < d->field_count(); ++i) {
      names.push_back(d->field(i)->name());
    }
    std::string text =
        absl::StrCat("unknown field '", name, "' in ", d->name());
    std::string guess = ClosestName(name, names);
    if (!guess.empty())
      absl::StrAppend(&text, " (did you mean '", guess, "'?)");
    return text;
  }

  const SourceFile& file_;
  const pb::Descriptor* root_;
  std::vector<std::string>* errors_;
};

}  // namespace

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

size_t SourceFile::ByteIndex(int line0, int column0) const {
  if (line0 < 0 || static_cast<size_t>(line0) >= line_starts_.size()) {
    return text_.size();
  }
  size_t i = line_starts_[line0];
  int column = 0;
  // protobuf's tokenizer counts bytes and expands tabs to multiples of 8.
  while (i < text_.size() && text_[i] != '\n' && column < column0) {
    column = text_[i] == '\t' ? (column / 8 + 1) * 8 : column + 1;
    ++i;
  }
  return i;
}

SourcePosition SourceFile::PositionOfByte(size_t index) const {
  index = std::min(index, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), index);
  size_t line = static_cast<size_t>(it - line_starts_.begin()) - 1;
  int column = 1;
  for (size_t i = line_starts_[line]; i < index; ++i) {
    // Count characters, not UTF-8 continuation bytes.
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  }
  return {static_cast<int>(line) + 1, column};
}

SourcePosition SourceFile::FieldPosition(int line0, int column0) const {
  if (line0 < 0) return {};
  return PositionOfByte(ByteIndex(line0, column0));
}

size_t SourceFile::SkipSpace(size_t i) const {
  while (i < text_.size()) {
    const char c = text_[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
    } else if (c == '#') {  // a comment, to the end of its line
      while (i < text_.size() && text_[i] != '\n') ++i;
    } else {
      break;
    }
  }
  return i;
}

size_t SourceFile::AfterFieldName(int line0, int column0) const {
  size_t i = ByteIndex(line0, column0);
  while (i < text_.size() &&
         (isalnum(static_cast<unsigned char>(text_[i])) || text_[i] == '_')) {
    ++i;
  }
  i = SkipSpace(i);
  if (i < text_.size() && text_[i] == ':') i = SkipSpace(i + 1);
  return i;
}

SourcePosition SourceFile::ValuePosition(int line0, int column0,
                                         int offset) const {
  if (line0 < 0) return {};
  return LiteralPosition(AfterFieldName(line0, column0), offset,
                         ByteIndex(line0, column0));
}

std::optional<std::vector<size_t>> SourceFile::ListElements(int line0,
                                                            int column0) const {
  if (line0 < 0) return std::nullopt;
  size_t i = AfterFieldName(line0, column0);
  if (i >= text_.size() || text_[i] != '[') return std::nullopt;
  std::vector<size_t> starts;
  i = SkipSpace(i + 1);
  while (i < text_.size() && text_[i] != ']') {
    starts.push_back(i);
    // One element: quoted pieces ("a" "b"), or a bare word or number.
    while (i < text_.size() && (text_[i] == '"' || text_[i] == '\'')) {
      const char quote = text_[i++];
      while (i < text_.size() && text_[i] != quote && text_[i] != '\n') {
        i += text_[i] == '\\' ? 2 : 1;
      }
      i = SkipSpace(i + 1);
    }
    while (i < text_.size() && text_[i] != ',' && text_[i] != ']' &&
           text_[i] != ' ' && text_[i] != '\t' && text_[i] != '\n' &&
           text_[i] != '\r' && text_[i] != '#') {
      ++i;
    }
    i = SkipSpace(i);
    if (i >= text_.size() || text_[i] != ',') break;
    i = SkipSpace(i + 1);
  }
  return starts;
}

SourcePosition SourceFile::ElementPosition(size_t element_start,
                                           int offset) const {
  return LiteralPosition(element_start, offset, element_start);
}

SourcePosition SourceFile::LiteralPosition(size_t i, int offset,
                                           size_t fallback) const {
  int remaining = offset;
  while (i < text_.size()) {
    i = SkipSpace(i);
    if (i >= text_.size() || (text_[i] != '"' && text_[i] != '\'')) break;
    char quote = text_[i++];
    while (i < text_.size() && text_[i] != quote && text_[i] != '\n') {
      if (remaining == 0) return PositionOfByte(i);
      const size_t token = i;
      int bytes = 1;  // decoded bytes of this source token
      if (text_[i] == '\\' && i + 1 < text_.size()) {
        ++i;
        auto hex_digits = [&](int max) {
          uint32_t value = 0;
          int n = 0;
          while (n < max && i < text_.size() &&
                 isxdigit(static_cast<unsigned char>(text_[i]))) {
            char h = text_[i];
            value = value * 16 + (isdigit(static_cast<unsigned char>(h))
                                      ? h - '0'
                                      : (tolower(h) - 'a' + 10));
            ++i;
            ++n;
          }
          return value;
        };
        auto utf8_length = [](uint32_t cp) {
          return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        };
        // Decoded as protobuf's text format does: \xHH and octal are one
        // byte, \uXXXX and \UXXXXXXXX their UTF-8 bytes.
        if (text_[i] == 'x') {
          ++i;
          hex_digits(2);
        } else if (text_[i] == 'u') {
          ++i;
          bytes = utf8_length(hex_digits(4));
        } else if (text_[i] == 'U') {
          ++i;
          bytes = utf8_length(hex_digits(8));
        } else if (text_[i] >= '0' && text_[i] <= '7') {
          int n = 0;
          while (n < 3 && i < text_.size() && text_[i] >= '0' &&
                 text_[i] <= '7') {
            ++i;
            ++n;
          }
        } else {
          ++i;
        }
      } else {
        ++i;
      }
      if (remaining < bytes) return PositionOfByte(token);
      remaining -= bytes;
    }
    if (i < text_.size() && text_[i] == quote) {
      if (remaining == 0) {
        // The offset points just past this literal; a following literal may
        // continue the value.
        const size_t j = SkipSpace(i + 1);
        if (j >= text_.size() || (text_[j] != '"' && text_[j] != '\'')) {
          return PositionOfByte(i);
        }
      }
      ++i;
    }
  }
  return PositionOfByte(fallback);
}

SourcePosition SourceFile::NameBefore(int line0, int column0,
                                      absl::string_view name) const {
  if (line0 < 0 || static_cast<size_t>(line0) >= line_starts_.size() ||
      name.empty()) {
    return FieldPosition(line0, column0);
  }
  // On this line, or an earlier one (a value at the end of its line is
  // reported at the next token).
  size_t end = ByteIndex(line0, column0);
  size_t at = absl::string_view(text_.data(), end).rfind(name);
  if (at == absl::string_view::npos) return FieldPosition(line0, column0);
  return PositionOfByte(at);
}

std::string SourceFile::Describe(SourcePosition pos) const {
  if (pos.line == 0) return path_;
  return absl::StrCat(path_, ":", pos.line, ":", pos.column);
}

bool ParseTextProto(const SourceFile& file, google::protobuf::Message* message,
                    google::protobuf::TextFormat::ParseInfoTree* tree,
                    std::vector<std::string>* errors) {
  google::protobuf::TextFormat::Parser parser;
  CollectErrors collector(file, message->GetDescriptor(), errors);
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(tree);
  return parser.ParseFromString(file.text(), message);
}

}  // namespace txscreen::rules
