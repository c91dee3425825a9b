// File: rule_pack_builder.h
//
// Internal to rule_pack_loader: the builder that turns parsed rule files
// into a RuleSet, collecting every error with its position. One builder per
// load; not thread-safe.
#ifndef TXSCREEN_RULES_RULE_PACK_BUILDER_H_
#define TXSCREEN_RULES_RULE_PACK_BUILDER_H_

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "rules/expr_compiler.h"
#include "rules/rule_pack_loader.h"
#include "rules/source_map.h"
#include "rules/stable_hash.h"

namespace txscreen::rules {

namespace v1 = ::txscreen::v1;
namespace pb = ::google::protobuf;
using Tree = pb::TextFormat::ParseInfoTree;

struct ParsedFile {
  std::unique_ptr<SourceFile> source;
  v1::RuleFile proto;
  Tree tree;
  std::string dir;
};

bool IsIdentifier(absl::string_view s);

// Builds a RuleSet; friend of RuleSet. One instance per load.
class RulePackBuilder {
 public:
  explicit RulePackBuilder(const LoadOptions& options) : options_(options) {}
  LoadResult Build(const std::vector<std::string>& paths);

 private:
  // Where value `index` of a field is: the position protobuf recorded for
  // its occurrence (one per "field: value", and one per "field: [a, b]"
  // list), and within a list, the byte where the element starts.
  struct Located {
    pb::TextFormat::ParseLocation field;
    std::optional<size_t> element;
  };
  Located Locate(const ParsedFile& f, const Tree* tree,
                 const pb::FieldDescriptor* fd, int index) const {
    if (index < 0) return {tree->GetLocation(fd, index), std::nullopt};
    size_t remaining = static_cast<size_t>(index);
    for (int o = 0;; ++o) {
      pb::TextFormat::ParseLocation loc = tree->GetLocation(fd, o);
      if (loc.line < 0) break;
      std::optional<std::vector<size_t>> elements =
          f.source->ListElements(loc.line, loc.column);
      if (!elements.has_value()) {
        if (remaining == 0) return {loc, std::nullopt};
        --remaining;
      } else if (remaining < elements->size()) {
        return {loc, (*elements)[remaining]};
      } else {
        remaining -= elements->size();
      }
    }
    return {tree->GetLocation(fd, 0), std::nullopt};  // the field, at least
  }
  // Where a field of the message described by `tree` is.
  SourcePosition FieldPos(const ParsedFile& f, const Tree* tree,
                          const pb::Message& m, absl::string_view field,
                          int index = -1) const {
    const pb::FieldDescriptor* fd =
        m.GetDescriptor()->FindFieldByName(std::string(field));
    if (tree == nullptr || fd == nullptr) return {};
    Located at = Locate(f, tree, fd, index);
    if (at.element.has_value()) {
      return f.source->ElementPosition(*at.element, 0);
    }
    return f.source->FieldPosition(at.field.line, at.field.column);
  }
  SourcePosition ValuePos(const ParsedFile& f, const Tree* tree,
                          const pb::Message& m, absl::string_view field,
                          int offset, int index = -1) const {
    const pb::FieldDescriptor* fd =
        m.GetDescriptor()->FindFieldByName(std::string(field));
    if (tree == nullptr || fd == nullptr) return {};
    Located at = Locate(f, tree, fd, index);
    if (at.element.has_value()) {
      return f.source->ElementPosition(*at.element, offset);
    }
    return f.source->ValuePosition(at.field.line, at.field.column, offset);
  }
  void Error(const ParsedFile& f, SourcePosition pos, absl::string_view subject,
             absl::string_view problem) {
    result_.errors.push_back(absl::StrCat(f.source->Describe(pos), ": ",
                                          subject, subject.empty() ? "" : ": ",
                                          problem));
  }

  // Compiles the expression in string field `field` of `m`.
  ExprPtr Expression(const ParsedFile& f, const Tree* tree,
                     const pb::Message& m, absl::string_view field,
                     absl::string_view text, const ExprScope& scope,
                     absl::string_view subject, ExprUses* uses, int index = -1);
  bool Template(const ParsedFile& f, const Tree* tree, const pb::Message& m,
                absl::string_view field, absl::string_view text,
                absl::string_view subject, TextTemplate* out,
                ExprUses* uses = nullptr, int index = -1);

  // Whether `name`, of the `index`th `field` entry of `f` (a param, a
  // define), is an identifier not `taken` yet; else the error, at the entry.
  bool NewName(const ParsedFile& f, absl::string_view field, int index,
               absl::string_view subject, absl::string_view name, bool taken);
  bool ReadFiles(const std::vector<std::string>& paths);
  void Settings();
  void Fx();
  void Params();
  void Lists();
  // Parses the definitions (define.NAME) into scope_.defines.
  void Defines();
  // Compiles each definition where it is written, with every name of the
  // pack in scope, so that its errors point into it.
  void CheckDefines();
  // Counts the subexpressions of every condition (scope_.shared).
  void CountSharedSubexpressions();
  void Windows();
  // The score names the rules add to (scope_.scores).
  void Scores();
  void Rules();
  // `block` is where the rule { ... } starts, for errors about the rule as
  // a whole.
  void Rule(const ParsedFile& f, const Tree* tree, const v1::Rule& r,
            SourcePosition block);
  bool Actions(const ParsedFile& f, const Tree* tree, const pb::Message& m,
               v1::Action base,
               const pb::RepeatedPtrField<v1::ChannelAction>& channel_actions,
               absl::string_view subject,
               std::array<v1::Action, kChannelCount>* out);
  // What the prompt's templates read goes into *uses.
  void Prompt(const ParsedFile& f, const Tree* tree, const v1::Rule& r,
              CompiledPrompt* out, ExprUses* uses);
  int64_t DateMicros(const ParsedFile& f, const Tree* tree, const v1::Rule& r,
                     absl::string_view field, absl::string_view text);

  const LoadOptions& options_;
  LoadResult result_;
  std::vector<std::unique_ptr<ParsedFile>> files_;
  std::unique_ptr<RuleSet> set_ = std::make_unique<RuleSet>();
  ExprScope scope_;
  SharedSubexpressions shared_;
  // The parsed definitions, and where each is written (file, index).
  std::vector<std::unique_ptr<AstNode>> define_asts_;
  struct DefineAt {
    const ParsedFile* file;
    int index;
  };
  std::vector<std::pair<std::string, DefineAt>> define_at_;
};

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_RULE_PACK_BUILDER_H_
