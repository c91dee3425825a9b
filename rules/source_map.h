// File: source_map.h
//
// Maps positions inside a rule file's string values back to FILE:LINE:COL, so
// that an error in the middle of an expression points at the character in
// the file. Lines and columns are 1-based; columns count Unicode characters.
#ifndef TXSCREEN_RULES_SOURCE_MAP_H_
#define TXSCREEN_RULES_SOURCE_MAP_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"

namespace txscreen::rules {

struct SourcePosition {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
};

// The text of one rule file.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);

  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }

  // Position of a field as protobuf's parser reports it (0-based line, column
  // with tabs expanded to 8), converted to our 1-based character columns.
  SourcePosition FieldPosition(int line0, int column0) const;

  // Position of byte `offset` of the decoded string value of the field whose
  // name starts at (line0, column0). Follows adjacent string literals ("a"
  // "b") and escapes. Falls back to the field's position.
  SourcePosition ValuePosition(int line0, int column0, int offset) const;

  // The byte index where each element of the field's value starts, when
  // the value is a list ([a, "b", ...]; possibly empty); nullopt when it is
  // not one. Protobuf records one position for the whole list.
  std::optional<std::vector<size_t>> ListElements(int line0, int column0) const;
  // ValuePosition for a list element starting at `element_start`.
  SourcePosition ElementPosition(size_t element_start, int offset) const;

  // Position of the last `name` at or before (line0, column0), or of
  // (line0, column0) itself when the name is not there.
  SourcePosition NameBefore(int line0, int column0,
                            absl::string_view name) const;

  // "FILE:LINE:COL"
  std::string Describe(SourcePosition pos) const;

 private:
  // The index of the first byte at or after `i` that is neither white space
  // nor in a # comment.
  size_t SkipSpace(size_t i) const;
  // Where the value of the field named at (line0, column0) starts.
  size_t AfterFieldName(int line0, int column0) const;
  // Position of byte `offset` of the decoded string whose literal(s) start
  // at byte `i`; `fallback` when there is no such byte.
  SourcePosition LiteralPosition(size_t i, int offset, size_t fallback) const;
  // Byte index in text_ of (line0, column0).
  size_t ByteIndex(int line0, int column0) const;
  SourcePosition PositionOfByte(size_t index) const;

  std::string path_;
  std::string text_;
  std::vector<size_t> line_starts_;
};

// Parses `file` as protobuf text format into *message, recording field
// positions in *tree. Parse errors are appended to *errors as
// "FILE:LINE:COL: problem", an unknown field with the closest known name:
//   unknown field 'whn' in Rule (did you mean 'when'?)
bool ParseTextProto(const SourceFile& file, google::protobuf::Message* message,
                    google::protobuf::TextFormat::ParseInfoTree* tree,
                    std::vector<std::string>* errors);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_SOURCE_MAP_H_
