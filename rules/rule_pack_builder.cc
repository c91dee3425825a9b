#include "rules/rule_pack_builder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "rules/currency.h"

namespace txscreen::rules {

bool IsIdentifier(absl::string_view s) {
  if (s.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(s[0]))) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

ExprPtr RulePackBuilder::Expression(
    const ParsedFile& f, const Tree* tree, const pb::Message& m,
    absl::string_view field, absl::string_view text, const ExprScope& scope,
    absl::string_view subject, ExprUses* uses, int index) {
  ExprError error;
  ExprPtr e = CompileExpression(text, scope, &error, uses);
  if (e == nullptr) {
    Error(f, ValuePos(f, tree, m, field, error.offset, index), subject,
          absl::StrCat(field, ": ", error.message));
  }
  return e;
}

bool RulePackBuilder::Template(const ParsedFile& f, const Tree* tree,
                               const pb::Message& m, absl::string_view field,
                               absl::string_view text,
                               absl::string_view subject, TextTemplate* out,
                               ExprUses* uses, int index) {
  ExprError error;
  if (!out->Compile(text, scope_, &error, uses)) {
    Error(f, ValuePos(f, tree, m, field, error.offset, index), subject,
          absl::StrCat(field, ": ", error.message));
    return false;
  }
  return true;
}

bool RulePackBuilder::ReadFiles(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.is_regular_file() &&
            entry.path().extension() == ".textproto") {
          found.push_back(entry.path().string());
        }
      }
      std::sort(found.begin(), found.end());
      if (found.empty()) {
        result_.errors.push_back(absl::StrCat(
            path, ": no *.textproto rule files in this directory"));
      }
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(path, ec)) {
      files.push_back(path);
    } else {
      result_.errors.push_back(
          absl::StrCat(path, ": no such file or directory"));
    }
  }
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      result_.errors.push_back(absl::StrCat(path, ": cannot read the file"));
      continue;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto parsed = std::make_unique<ParsedFile>();
    parsed->source = std::make_unique<SourceFile>(path, buffer.str());
    parsed->dir = fs::path(path).parent_path().string();
    if (!ParseTextProto(*parsed->source, &parsed->proto, &parsed->tree,
                        &result_.errors)) {
      continue;
    }
    result_.files.push_back(path);
    files_.push_back(std::move(parsed));
  }
  return result_.errors.empty();
}

void RulePackBuilder::Settings() {
  const ParsedFile* owner = nullptr;
  for (const auto& f : files_) {
    if (!f->proto.has_pack()) continue;
    if (owner != nullptr) {
      Error(*f, FieldPos(*f, &f->tree, f->proto, "pack"), "pack",
            absl::StrCat("settings given twice (also in ",
                         owner->source->path(), ")"));
      continue;
    }
    owner = f.get();
  }
  if (owner == nullptr) {
    result_.errors.push_back(absl::StrCat(
        files_.empty() ? "rule pack" : files_.front()->source->path(),
        ": pack: no file of the pack has 'pack { name: ... version: ... }'"));
    return;
  }
  const ParsedFile& f = *owner;
  const v1::PackSettings& p = f.proto.pack();
  const Tree* tree = f.tree.GetTreeForNested(
      f.proto.GetDescriptor()->FindFieldByName("pack"), -1);
  set_->name_ = p.name();
  set_->version_ = p.version();
  if (p.version().empty()) {
    Error(f, FieldPos(f, &f.tree, f.proto, "pack"), "pack",
          "version is required (it becomes every decision's ruleset_version)");
  }
  std::string zone = p.time_zone().empty() ? "Asia/Shanghai" : p.time_zone();
  if (!absl::LoadTimeZone(zone, &set_->render_.time_zone)) {
    Error(f, ValuePos(f, tree, p, "time_zone", 0), "pack",
          absl::StrCat("unknown time zone '", zone,
                       "' (an IANA name such as Asia/Shanghai)"));
  }
  std::string base = p.base_currency().empty() ? "CNY" : p.base_currency();
  absl::StatusOr<int> digits = CurrencyMinorDigits(base);
  if (!digits.ok()) {
    Error(f, ValuePos(f, tree, p, "base_currency", 0), "pack",
          absl::StrCat("base_currency: ", digits.status().message()));
    return;
  }
  set_->render_.base_currency = base;
  set_->render_.base_minor_digits = *digits;
}

void RulePackBuilder::Fx() {
  std::vector<std::pair<std::string, std::string>> rates;
  for (const auto& f : files_) {
    for (const v1::FxRate& r : f->proto.fx_rate()) {
      rates.emplace_back(r.currency(), r.rate());
    }
  }
  absl::StatusOr<FxTable> table =
      FxTable::Create(set_->render_.base_currency, rates);
  if (!table.ok()) {
    // Place the error at the entry it is about: for a duplicate, the last
    // one with that currency; otherwise the first.
    const bool duplicate =
        absl::StartsWith(table.status().message(), "duplicate");
    const ParsedFile* where = nullptr;
    int where_index = -1;
    for (const auto& f : files_) {
      for (int i = 0; i < f->proto.fx_rate_size(); ++i) {
        const std::string& currency = f->proto.fx_rate(i).currency();
        if (!currency.empty() &&
            absl::StrContains(table.status().message(), currency) &&
            (where == nullptr || duplicate)) {
          where = f.get();
          where_index = i;
        }
      }
    }
    if (where != nullptr) {
      Error(
          *where,
          FieldPos(*where, &where->tree, where->proto, "fx_rate", where_index),
          "fx_rate", table.status().message());
    } else {
      result_.errors.push_back(
          absl::StrCat("fx_rate: ", table.status().message()));
    }
    // Go on with an empty table so that one bad rate is one error.
    set_->fx_ = std::make_unique<FxTable>(
        *FxTable::Create(set_->render_.base_currency, {}));
  } else {
    set_->fx_ = std::make_unique<FxTable>(std::move(*table));
  }
  scope_.fx = set_->fx_.get();
}

bool RulePackBuilder::NewName(const ParsedFile& f, absl::string_view field,
                              int index, absl::string_view subject,
                              absl::string_view name, bool taken) {
  absl::string_view problem;
  if (!IsIdentifier(name)) {
    problem = "name must be an identifier (letters, digits, _)";
  } else if (taken) {
    problem = "defined twice";
  } else {
    return true;
  }
  Error(f, FieldPos(f, &f.tree, f.proto, field, index), subject, problem);
  return false;
}

void RulePackBuilder::Params() {
  ExprScope literal_scope;
  literal_scope.fx = scope_.fx;
  for (const auto& f : files_) {
    for (int i = 0; i < f->proto.param_size(); ++i) {
      const v1::Parameter& p = f->proto.param(i);
      const Tree* tree = f->tree.GetTreeForNested(
          f->proto.GetDescriptor()->FindFieldByName("param"), i);
      std::string subject = absl::StrCat("param ", p.name());
      if (!NewName(*f, "param", i, subject, p.name(),
                   scope_.params.contains(p.name()))) {
        continue;
      }
      ExprPtr e = Expression(*f, tree, p, "value", p.value(), literal_scope,
                             subject, nullptr);
      if (e == nullptr) continue;
      if (!e->IsConstant()) {
        Error(*f, ValuePos(*f, tree, p, "value", 0), subject,
              "value must be a constant such as 50000 CNY, 3, 0.8 or 24h");
        continue;
      }
      ParamValue value;
      value.type = e->type();
      EvalContext ctx;
      if (e->type().is_string()) {
        value.string_value = std::string(e->EvalString(ctx));
      } else {
        value.int_value = e->EvalInt(ctx);
      }
      scope_.params.emplace(p.name(), std::move(value));
    }
  }
}

void RulePackBuilder::Lists() {
  std::set<std::string> declared;
  for (const auto& f : files_) {
    for (const v1::ListDecl& l : f->proto.list()) declared.insert(l.name());
  }
  for (const auto& f : files_) {
    for (int i = 0; i < f->proto.list_size(); ++i) {
      const v1::ListDecl& l = f->proto.list(i);
      SourcePosition pos = FieldPos(*f, &f->tree, f->proto, "list", i);
      std::string subject = absl::StrCat("list ", l.name());
      if (!IsIdentifier(l.name())) {
        Error(*f, pos, subject,
              "name must be an identifier (letters, digits, _)");
        continue;
      }
      if (set_->lists_.contains(l.name())) {
        Error(*f, pos, subject, "defined twice");
        continue;
      }
      if (l.match() == v1::LIST_MATCH_UNSPECIFIED) {
        Error(*f, pos, subject,
              "match is required: LIST_MATCH_EXACT (ids, accounts) or "
              "LIST_MATCH_PHRASE (text to find inside memos)");
        continue;
      }
      if (l.file().empty()) {
        Error(*f, pos, subject, "file is required");
        continue;
      }
      std::string path = (std::filesystem::path(f->dir) / l.file()).string();
      absl::StatusOr<std::unique_ptr<NamedList>> list =
          NamedList::LoadFile(l.name(), l.match(), path);
      if (list.ok()) {
        auto extra = options_.extra_list_entries.find(l.name());
        if (extra != options_.extra_list_entries.end()) {
          list = (*list)->WithExtraEntries(extra->second, "rule test");
        }
      }
      if (!list.ok()) {
        Error(*f, pos, subject, list.status().message());
        continue;
      }
      scope_.lists[l.name()] = list->get();
      set_->lists_[l.name()] = std::move(*list);
    }
  }
  for (const auto& [name, entries] : options_.extra_list_entries) {
    if (!declared.count(name)) {
      result_.errors.push_back(absl::StrCat(
          "rule test: list_entry names unknown list '", name, "'"));
    }
  }
}

void RulePackBuilder::Defines() {
  for (const auto& f : files_) {
    for (int i = 0; i < f->proto.define_size(); ++i) {
      const v1::Definition& d = f->proto.define(i);
      const Tree* tree = f->tree.GetTreeForNested(
          f->proto.GetDescriptor()->FindFieldByName("define"), i);
      const std::string subject = absl::StrCat("define ", d.name());
      if (!NewName(*f, "define", i, subject, d.name(),
                   scope_.defines.contains(d.name()))) {
        continue;
      }
      if (d.expr().empty()) {
        Error(*f, FieldPos(*f, &f->tree, f->proto, "define", i), subject,
              "expr is required");
        continue;
      }
      ExprError error;
      std::unique_ptr<AstNode> ast = ParseExpression(d.expr(), &error);
      if (ast == nullptr) {
        Error(*f, ValuePos(*f, tree, d, "expr", error.offset), subject,
              absl::StrCat("expr: ", error.message));
        continue;
      }
      scope_.defines.emplace(d.name(), ast.get());
      define_asts_.push_back(std::move(ast));
      define_at_.emplace_back(d.name(), DefineAt{f.get(), i});
    }
  }
}

void RulePackBuilder::CheckDefines() {
  for (const auto& [name, at] : define_at_) {
    const ParsedFile& f = *at.file;
    const v1::Definition& d = f.proto.define(at.index);
    const Tree* tree = f.tree.GetTreeForNested(
        f.proto.GetDescriptor()->FindFieldByName("define"), at.index);
    // Alone: no sharing (the counts are those of the places it is used).
    ExprScope alone = scope_;
    alone.shared = nullptr;
    Expression(f, tree, d, "expr", d.expr(), alone,
               absl::StrCat("define ", name), nullptr);
  }
}

void RulePackBuilder::CountSharedSubexpressions() {
  // Conditions are evaluated for every transaction; reasons and prompts
  // only for hits, so they are not counted (a hole equal to a shared
  // condition still shares its value).
  auto count = [this](absl::string_view text) {
    ExprError error;
    std::unique_ptr<AstNode> ast = ParseExpression(text, &error);
    // errors come when compiled
    if (ast != nullptr) shared_.Count(*ast, &scope_.defines);
  };
  for (const auto& f : files_) {
    for (const v1::WindowFeature& w : f->proto.window()) {
      if (!w.filter().empty()) count(w.filter());
      if (!w.of().empty()) count(w.of());
    }
    for (const v1::Rule& r : f->proto.rule()) {
      if (!r.when().empty()) count(r.when());
      for (const v1::Escalation& e : r.escalate()) {
        if (!e.when().empty()) count(e.when());
      }
    }
  }
  scope_.shared = &shared_;
}

LoadResult RulePackBuilder::Build(const std::vector<std::string>& paths) {
  if (paths.empty()) {
    result_.errors.push_back("no rule files given");
    return std::move(result_);
  }
  if (!ReadFiles(paths)) return std::move(result_);
  Settings();
  if (!result_.errors.empty()) return std::move(result_);
  Fx();
  Params();
  Lists();
  Defines();
  CountSharedSubexpressions();
  Windows();
  Scores();
  CheckDefines();
  Rules();
  if (result_.errors.empty()) {
    set_->render_zh_ = set_->render_;
    set_->render_zh_.chinese = true;
    result_.rule_set = std::shared_ptr<const RuleSet>(set_.release());
  }
  return std::move(result_);
}

}  // namespace txscreen::rules
