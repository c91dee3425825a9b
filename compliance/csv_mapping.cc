#include "compliance/csv_mapping.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/masking.h"
#include "google/protobuf/descriptor.h"
#include "rules/currency.h"
#include "rules/expr_compiler.h"
#include "rules/money.h"
#include "rules/text_normalizer.h"

namespace txscreen::compliance {

namespace v1 = ::txscreen::v1;
namespace pb = ::google::protobuf;
using Tree = pb::TextFormat::ParseInfoTree;

namespace {

// Required Transaction fields (SPEC §2): a mapping must give each a source.
constexpr const char* kRequired[] = {
    "transaction_id", "occurred_at",  "type",     "channel",  "customer_id",
    "account_id",     "amount_minor", "currency", "direction"};

rules::SourcePosition Position(const rules::SourceFile& file, const Tree* tree,
                               const pb::Descriptor* d, const char* name,
                               int index = -1) {
  if (tree == nullptr) return {};
  const pb::FieldDescriptor* f = d->FindFieldByName(name);
  if (f == nullptr) return {};
  pb::TextFormat::ParseLocation loc = tree->GetLocation(f, index);
  if (loc.line < 0) return {};
  return file.FieldPosition(loc.line, loc.column);
}

const Tree* Nested(const Tree* tree, const pb::Descriptor* d, const char* name,
                   int index) {
  if (tree == nullptr) return nullptr;
  return tree->GetTreeForNested(d->FindFieldByName(name), index);
}

std::vector<std::string> FieldNames(const pb::Descriptor* d) {
  std::vector<std::string> names;
  for (int i = 0; i < d->field_count(); ++i)
    names.push_back(d->field(i)->name());
  return names;
}

// "counterparty.account_id" -> its field descriptors and kind.
absl::StatusOr<CsvMapping::Target> ResolvePath(absl::string_view path) {
  CsvMapping::Target t;
  t.path = std::string(path);
  const pb::Descriptor* d = v1::Transaction::descriptor();
  std::string so_far;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (d == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", so_far, "' is not a message; '", path, "' goes too deep"));
    }
    const pb::FieldDescriptor* f = d->FindFieldByName(std::string(part));
    if (f == nullptr) {
      std::string message = absl::StrCat("unknown field '", part, "' in ",
                                         d->name(), " (path '", path, "')");
      std::string guess = rules::ClosestName(part, FieldNames(d));
      if (!guess.empty())
        absl::StrAppend(&message, " (did you mean '", guess, "'?)");
      return absl::InvalidArgumentError(message);
    }
    if (f->is_repeated()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "field '", path, "' is a list; mappings set single fields"));
    }
    absl::StrAppend(&so_far, so_far.empty() ? "" : ".", part);
    t.fields.push_back(f);
    d = f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE
            ? f->message_type()
            : nullptr;
  }
  const pb::FieldDescriptor* last = t.fields.back();
  using K = CsvMapping::Kind;
  switch (last->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      t.kind = K::kString;
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      t.kind = path == "amount_minor" ? K::kAmount : K::kInt64;
      break;
    case pb::FieldDescriptor::CPPTYPE_INT32:
      t.kind = K::kInt32;
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      t.kind = K::kBool;
      break;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      t.kind = K::kDouble;
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      t.kind = K::kEnum;
      break;
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      if (last->message_type()->full_name() == "google.protobuf.Timestamp") {
        t.kind = K::kTimestamp;
        break;
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "'", path, "' is a message; name one of its fields (",
          absl::StrJoin(FieldNames(last->message_type()), ", "), ")"));
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("field '", path, "' has a type mappings do not set"));
  }
  return t;
}

bool HasOffset(absl::string_view s) {
  if (s.empty()) return false;
  if (s.back() == 'Z' || s.back() == 'z') return true;
  if (s.size() >= 6) {
    absl::string_view tail = s.substr(s.size() - 6);
    if ((tail[0] == '+' || tail[0] == '-') && tail[3] == ':') return true;
  }
  return false;
}

absl::StatusOr<absl::Time> ParseTimeCell(const CsvMapping::TimeSpec& spec,
                                         absl::string_view text);

// A time of years 1..9999, as Timestamp allows.
absl::StatusOr<absl::Time> ParseWithSpec(const CsvMapping::TimeSpec& spec,
                                         absl::string_view text) {
  absl::StatusOr<absl::Time> t = ParseTimeCell(spec, text);
  if (!t.ok()) return t;
  static const absl::Time kFirst =
      absl::FromCivil(absl::CivilSecond(1, 1, 1), absl::UTCTimeZone());
  static const absl::Time kLast = absl::FromCivil(
      absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone());
  if (*t < kFirst || *t > kLast) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is outside the years 1 to 9999"));
  }
  return t;
}

absl::StatusOr<absl::Time> ParseTimeCell(const CsvMapping::TimeSpec& spec,
                                         absl::string_view text) {
  using F = CsvMapping::TimeSpec::Format;
  absl::Time t;
  std::string err;
  switch (spec.format) {
    case F::kIso: {
      std::string s(text);
      if (s.size() > 10 && s[10] == ' ') s[10] = 'T';
      if (HasOffset(s)) {
        if (absl::ParseTime(absl::RFC3339_full, s, &t, &err)) return t;
      } else {
        for (const char* format :
             {"%Y-%m-%dT%H:%M:%E*S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"}) {
          if (absl::ParseTime(format, s, spec.zone, &t, &err)) return t;
        }
      }
      return absl::InvalidArgumentError(
          absl::StrCat("'", text,
                       "' is not an ISO 8601 time (2026-11-20T09:30:00+08:00, "
                       "or without the offset in the mapping's zone)"));
    }
    case F::kEpochSeconds:
    case F::kEpochMillis:
    case F::kStep: {
      int64_t n;
      if (!absl::SimpleAtoi(text, &n)) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", text, "' is not an integer"));
      }
      if (spec.format == F::kEpochSeconds) return absl::FromUnixSeconds(n);
      if (spec.format == F::kEpochMillis) return absl::FromUnixMillis(n);
      return spec.start + n * spec.unit;
    }
    case F::kPattern:
      if (absl::ParseTime(spec.pattern, text, spec.zone, &t, &err)) return t;
      return absl::InvalidArgumentError(absl::StrCat(
          "'", text, "' does not match time format '", spec.pattern, "'"));
  }
  return absl::InternalError("unknown time format");
}

absl::StatusOr<bool> ParseBool(absl::string_view text) {
  std::string s = absl::AsciiStrToLower(text);
  if (s == "true" || s == "1" || s == "yes" || s == "y" || s == "t")
    return true;
  if (s == "false" || s == "0" || s == "no" || s == "n" || s == "f")
    return false;
  return absl::InvalidArgumentError(absl::StrCat(
      "'", text, "' is not a yes/no value (true/false, 1/0, yes/no)"));
}

// Matches "CASH_DEPOSIT", "cash deposit" or "TRANSACTION_TYPE_CASH_DEPOSIT".
const pb::EnumValueDescriptor* FindEnumValue(const pb::EnumDescriptor* e,
                                             absl::string_view text) {
  std::string name = absl::AsciiStrToUpper(text);
  std::replace(name.begin(), name.end(), ' ', '_');
  std::replace(name.begin(), name.end(), '-', '_');
  if (const auto* v = e->FindValueByName(name)) return v;
  std::string prefix = e->value(0)->name();
  if (absl::EndsWith(prefix, "UNSPECIFIED")) {
    prefix.resize(prefix.size() - std::strlen("UNSPECIFIED"));
    return e->FindValueByName(prefix + name);
  }
  return nullptr;
}

std::string EnumChoices(const pb::EnumDescriptor* e) {
  std::string prefix = e->value(0)->name();
  if (absl::EndsWith(prefix, "UNSPECIFIED")) {
    prefix.resize(prefix.size() - std::strlen("UNSPECIFIED"));
  } else {
    prefix.clear();
  }
  std::vector<std::string> names;
  for (int i = 1; i < e->value_count(); ++i) {
    names.push_back(e->value(i)->name().substr(prefix.size()));
  }
  return absl::StrJoin(names, ", ");
}

CsvMapping::TemplatePart Literal(std::string text) {
  CsvMapping::TemplatePart part;
  part.literal = std::move(text);
  return part;
}

// Parses "{From Bank}:{Account}" into parts.
absl::Status ParseTemplate(absl::string_view text,
                           std::vector<CsvMapping::TemplatePart>* parts) {
  std::string literal;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      ++i;
    } else if (c == '{') {
      size_t close = text.find('}', i);
      if (close == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("template: '{' at offset ", i,
                         " is not closed (write '{{' for a brace)"));
      }
      std::string name(
          absl::StripAsciiWhitespace(text.substr(i + 1, close - i - 1)));
      if (name.empty())
        return absl::InvalidArgumentError("template: empty '{}'");
      if (!literal.empty()) parts->push_back(Literal(std::move(literal)));
      literal.clear();
      CsvMapping::TemplatePart part;
      if (name[0] == '#') {
        int index;
        if (!absl::SimpleAtoi(name.substr(1), &index) || index < 1) {
          return absl::InvalidArgumentError(absl::StrCat(
              "template: '{", name, "}' needs a column number from 1"));
        }
        part.column = index - 1;
        part.column_name = absl::StrCat("#", index);
      } else {
        part.column_name = name;
        if (name[0] == '$' && name != "$row") {
          return absl::InvalidArgumentError(absl::StrCat(
              "template: unknown '{", name, "}' (only {$row} is built in)"));
        }
      }
      parts->push_back(std::move(part));
      i = close;
    } else if (c == '}') {
      return absl::InvalidArgumentError(
          absl::StrCat("template: '}' at offset ", i,
                       " without '{' (write '}}' for a brace)"));
    } else {
      literal.push_back(c);
    }
  }
  if (!literal.empty()) parts->push_back(Literal(std::move(literal)));
  return absl::OkStatus();
}

std::string ColumnLabel(absl::string_view name, int index) {
  if (!name.empty()) return absl::StrCat("column '", name, "'");
  return absl::StrCat("column ", index + 1);
}

}  // namespace

std::string OneLine(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::unique_ptr<CsvMapping> CsvMapping::Load(const std::string& path,
                                             std::vector<std::string>* errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors->push_back(
        absl::StrCat(path, ": cannot read mapping: ", std::strerror(errno)));
    return nullptr;
  }
  std::stringstream text;
  text << in.rdbuf();
  return Parse(path, text.str(), errors);
}

std::unique_ptr<CsvMapping> CsvMapping::Parse(
    const std::string& path, std::string text,
    std::vector<std::string>* errors) {
  rules::SourceFile file(path, std::move(text));
  v1::CsvMapping m;
  Tree tree;
  const size_t errors_before = errors->size();
  if (!rules::ParseTextProto(file, &m, &tree, errors)) {
    for (size_t i = errors_before; i < errors->size(); ++i) {
      (*errors)[i] = OneLine((*errors)[i]);
    }
    return nullptr;
  }
  auto error = [&](rules::SourcePosition pos, absl::string_view problem) {
    errors->push_back(absl::StrCat(file.Describe(pos), ": ", OneLine(problem)));
  };
  const pb::Descriptor* md = v1::CsvMapping::descriptor();
  const pb::Descriptor* fd = v1::FieldMapping::descriptor();
  std::unique_ptr<CsvMapping> out(new CsvMapping());
  out->path_ = path;

  if (m.separator().size() == 1) {
    out->separator_ = m.separator()[0];
  } else if (!m.separator().empty()) {
    error(Position(file, &tree, md, "separator"),
          absl::StrCat("separator must be one character, got '", m.separator(),
                       "'"));
  }
  if (out->separator_ == '"' || out->separator_ == '\n' ||
      out->separator_ == '\r') {
    error(Position(file, &tree, md, "separator"),
          "separator cannot be a quote or a line break");
  }
  if (m.skip_lines() < 0) {
    error(Position(file, &tree, md, "skip_lines"),
          absl::StrCat("skip_lines must be 0 or more, got ", m.skip_lines()));
  }
  out->skip_lines_ = std::max(0, m.skip_lines());
  out->has_header_ = !m.no_header();
  const std::string zone_name =
      m.time_zone().empty() ? "Asia/Shanghai" : m.time_zone();
  if (!absl::LoadTimeZone(zone_name, &out->default_time_.zone)) {
    error(Position(file, &tree, md, "time_zone"),
          absl::StrCat("unknown time zone '", zone_name,
                       "' (e.g. Asia/Shanghai, UTC)"));
  }
  if (m.truthy().empty()) {
    out->truthy_ = {"1", "true", "yes", "y", "t"};
  } else {
    for (const std::string& t : m.truthy()) {
      out->truthy_.push_back(
          absl::AsciiStrToLower(absl::StripAsciiWhitespace(t)));
    }
  }

  std::set<std::string> provided;
  v1::Transaction scratch;
  std::string scratch_amount;
  for (int i = 0; i < m.field_size(); ++i) {
    const v1::FieldMapping& fm = m.field(i);
    const Tree* ft = Nested(&tree, md, "field", i);
    Field f;
    f.pos = Position(file, &tree, md, "field", i);
    auto at = [&](const char* name) {
      rules::SourcePosition p = Position(file, ft, fd, name);
      return p.line == 0 ? f.pos : p;
    };
    const size_t field_errors = errors->size();
    if (!fm.path().empty()) {
      auto target = ResolvePath(fm.path());
      if (!target.ok()) {
        error(at("path"), target.status().message());
        continue;
      }
      f.has_target = true;
      f.target = std::move(*target);
      provided.insert(fm.path());
    }
    switch (fm.source_case()) {
      case v1::FieldMapping::kColumn:
        f.source = Field::Source::kColumn;
        f.column_name = std::string(absl::StripAsciiWhitespace(fm.column()));
        if (f.column_name.empty()) error(at("column"), "column name is empty");
        f.label = ColumnLabel(f.column_name, 0);
        break;
      case v1::FieldMapping::kIndex:
        f.source = Field::Source::kColumn;
        if (fm.index() < 1) {
          error(at("index"),
                absl::StrCat("index is a column number from 1, got ",
                             fm.index()));
        }
        f.column = fm.index() >= 1 ? fm.index() - 1 : -1;
        f.label = ColumnLabel("", std::max(f.column, 0));
        break;
      case v1::FieldMapping::kTemplate:
        f.source = Field::Source::kTemplate;
        if (absl::Status s = ParseTemplate(fm.template_(), &f.parts); !s.ok()) {
          error(at("template"), s.message());
        }
        f.label = absl::StrCat("template '", fm.template_(), "'");
        break;
      case v1::FieldMapping::kConstant:
        f.source = Field::Source::kConstant;
        f.constant = fm.constant();
        f.label = absl::StrCat("constant '", fm.constant(), "'");
        break;
      default:
        error(f.pos,
              absl::StrCat("field '", fm.path(),
                           "' needs a source: column, index, template or "
                           "constant"));
        continue;
    }
    // Time.
    if (fm.has_time() && (!f.has_target || f.target.kind != Kind::kTimestamp)) {
      error(at("time"), absl::StrCat("time applies to time fields "
                                     "(occurred_at, account_opened_at), not '",
                                     fm.path(), "'"));
    }
    f.time = out->default_time_;
    if (!fm.time().zone().empty() &&
        !absl::LoadTimeZone(fm.time().zone(), &f.time.zone)) {
      error(at("time"),
            absl::StrCat("unknown time zone '", fm.time().zone(), "'"));
    }
    const std::string& format = fm.time().format();
    if (format.empty() || format == "iso8601") {
      f.time.format = TimeSpec::Format::kIso;
    } else if (format == "epoch_seconds") {
      f.time.format = TimeSpec::Format::kEpochSeconds;
    } else if (format == "epoch_millis") {
      f.time.format = TimeSpec::Format::kEpochMillis;
    } else if (format == "step") {
      f.time.format = TimeSpec::Format::kStep;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, fm.time().start(), &f.time.start,
                           &err)) {
        error(at("time"),
              absl::StrCat("step needs start as an RFC 3339 time with offset "
                           "(2026-11-01T00:00:00+08:00), got '",
                           fm.time().start(), "'"));
      }
      if (!absl::ParseDuration(fm.time().unit(), &f.time.unit) ||
          f.time.unit <= absl::ZeroDuration()) {
        error(at("time"), absl::StrCat("step needs unit as a positive duration "
                                       "(1h, 30m, 1s), got '",
                                       fm.time().unit(), "'"));
      }
    } else if (absl::StrContains(format, '%')) {
      f.time.format = TimeSpec::Format::kPattern;
      f.time.pattern = format;
    } else {
      error(at("time"),
            absl::StrCat("unknown time format '", format,
                         "' (iso8601, epoch_seconds, epoch_millis, step, or a "
                         "pattern like '%Y/%m/%d %H:%M')"));
    }
    if (fm.has_amount() && (!f.has_target || f.target.kind != Kind::kAmount)) {
      error(at("amount"), "amount applies to amount_minor only");
    }
    f.amount = fm.amount();
    f.unmapped = fm.unmapped();
    f.default_value = fm.default_();
    auto trial = [&](const Target& t, const std::string& value,
                     rules::SourcePosition pos, absl::string_view what) {
      if (value.empty() || t.kind == Kind::kAmount) return;
      scratch.Clear();
      if (absl::Status s =
              out->Assign(t, value, f.time, &scratch, &scratch_amount);
          !s.ok()) {
        error(pos, absl::StrCat(what, " for '", t.path, "': ", s.message()));
      }
    };
    if (f.has_target && errors->size() == field_errors) {
      if (f.source == Field::Source::kConstant) {
        trial(f.target, f.constant, at("constant"), "constant");
      }
      trial(f.target, f.default_value, at("default"), "default");
    }
    bool sets_something = false;
    for (int v = 0; v < fm.value_size(); ++v) {
      const v1::ValueMap& vm = fm.value(v);
      const Tree* vt = Nested(ft, fd, "value", v);
      rules::SourcePosition vpos = Position(file, ft, fd, "value", v);
      if (vpos.line == 0) vpos = f.pos;
      Field::Value value;
      value.to = vm.to();
      if (!vm.to().empty()) {
        if (!f.has_target) {
          error(vpos, absl::StrCat("value '", vm.from(),
                                   "': 'to' needs the field's path"));
        } else {
          trial(f.target, vm.to(), vpos,
                absl::StrCat("value '", vm.from(), "'"));
        }
      }
      for (int s = 0; s < vm.set_size(); ++s) {
        rules::SourcePosition spos =
            Position(file, vt, v1::ValueMap::descriptor(), "set", s);
        if (spos.line == 0) spos = vpos;
        auto target = ResolvePath(vm.set(s).path());
        if (!target.ok()) {
          error(spos, target.status().message());
          continue;
        }
        if (target->kind == Kind::kTimestamp || target->kind == Kind::kAmount) {
          error(spos, absl::StrCat("set cannot give '", target->path,
                                   "'; map its column instead"));
          continue;
        }
        trial(*target, vm.set(s).value(), spos,
              absl::StrCat("value '", vm.from(), "'"));
        provided.insert(target->path);
        value.sets.push_back({std::move(*target), vm.set(s).value()});
        sets_something = true;
      }
      if (!f.values.emplace(vm.from(), std::move(value)).second) {
        error(vpos, absl::StrCat("value '", vm.from(), "' is mapped twice"));
      }
    }
    if (!f.has_target && !sets_something) {
      error(f.pos, "field needs a path, or value entries that set fields");
    }
    out->fields_.push_back(std::move(f));
  }
  for (const char* required : kRequired) {
    if (provided.count(required) == 0) {
      error({}, absl::StrCat("no source for required field '", required,
                             "': add field { path: \"", required,
                             "\" column: \"...\" } or a constant"));
    }
  }
  for (int i = 0; i < m.skip_size(); ++i) {
    const v1::SkipRows& sr = m.skip(i);
    Skip s;
    s.pos = Position(file, &tree, md, "skip", i);
    s.column_name = std::string(absl::StripAsciiWhitespace(sr.column()));
    if (s.column_name.empty() && sr.index() < 1) {
      error(s.pos, "skip needs a column name or an index from 1");
    } else if (!s.column_name.empty() && sr.index() != 0) {
      error(s.pos, "skip takes a column name or an index, not both");
    }
    s.column = s.column_name.empty() && sr.index() >= 1 ? sr.index() - 1 : -1;
    s.label = ColumnLabel(s.column_name, std::max(s.column, 0));
    s.equals.assign(sr.equals().begin(), sr.equals().end());
    s.empty = sr.empty();
    if (s.equals.empty() && !s.empty) {
      error(s.pos, "skip needs 'equals' values or 'empty: true'");
    }
    out->skips_.push_back(std::move(s));
  }
  if (errors->size() != errors_before) return nullptr;
  return out;
}

bool CsvMapping::IsTruthy(absl::string_view value) const {
  std::string v = absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
  return std::find(truthy_.begin(), truthy_.end(), v) != truthy_.end();
}

bool CsvMapping::BindHeader(const engine::CsvRow& header,
                            std::vector<std::string>* errors) {
  header_.clear();
  header_index_.clear();
  std::set<std::string> duplicated;
  for (size_t i = 0; i < header.fields.size(); ++i) {
    std::string name(absl::StripAsciiWhitespace(header.fields[i].value));
    header_.push_back(name);
    if (!header_index_.emplace(name, static_cast<int>(i)).second) {
      duplicated.insert(name);
    }
  }
  const size_t before = errors->size();
  auto bind = [&](const std::string& name, rules::SourcePosition pos,
                  int* column) {
    if (name.empty() || name[0] == '#' || name == "$row") return;
    auto found = ColumnIndex(name);
    if (!found.ok()) {
      errors->push_back(absl::StrCat(rules::SourceFile(path_, "").Describe(pos),
                                     ": ", OneLine(found.status().message())));
      return;
    }
    *column = *found;
  };
  for (Field& f : fields_) {
    if (f.source == Field::Source::kColumn)
      bind(f.column_name, f.pos, &f.column);
    for (TemplatePart& p : f.parts) bind(p.column_name, f.pos, &p.column);
  }
  for (Skip& s : skips_) bind(s.column_name, s.pos, &s.column);
  return errors->size() == before;
}

absl::StatusOr<int> CsvMapping::ColumnIndex(absl::string_view name) const {
  if (absl::StartsWith(name, "#")) {  // by number, as in templates: #3
    int index = 0;
    if (!absl::SimpleAtoi(name.substr(1), &index) || index < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "column '", name, "': a column by number is #N, N from 1"));
    }
    return index - 1;
  }
  if (!has_header_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "column '", name,
        "' by name, but the mapping says no_header: use its number, #N "
        "(from 1)"));
  }
  int first = -1, count = 0;
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) {
      if (first < 0) first = static_cast<int>(i);
      ++count;
    }
  }
  if (count > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("column '", name, "' appears ", count,
                     " times in the header; refer to it by index (column ",
                     first + 1, " is the first)"));
  }
  if (count == 0) {
    std::string message = absl::StrCat("no column '", name, "' in the header");
    std::string guess = rules::ClosestName(name, header_);
    if (!guess.empty())
      absl::StrAppend(&message, " (did you mean '", guess, "'?)");
    return absl::NotFoundError(message);
  }
  return first;
}

absl::Status CsvMapping::Assign(const Target& t, absl::string_view text,
                                const TimeSpec& time, v1::Transaction* tx,
                                std::string* amount_text) const {
  if (t.kind == Kind::kAmount) {
    amount_text->assign(text.data(), text.size());
    return absl::OkStatus();
  }
  pb::Message* msg = tx;
  for (size_t i = 0; i + 1 < t.fields.size(); ++i) {
    msg = msg->GetReflection()->MutableMessage(msg, t.fields[i]);
  }
  const pb::FieldDescriptor* f = t.fields.back();
  const pb::Reflection* r = msg->GetReflection();
  switch (t.kind) {
    case Kind::kString:
      r->SetString(msg, f, std::string(text));
      return absl::OkStatus();
    case Kind::kInt64:
    case Kind::kInt32: {
      int64_t n;
      if (!absl::SimpleAtoi(text, &n)) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", text, "' is not an integer"));
      }
      if (t.kind == Kind::kInt64) {
        r->SetInt64(msg, f, n);
      } else {
        if (n < INT32_MIN || n > INT32_MAX) {
          return absl::InvalidArgumentError(
              absl::StrCat("'", text, "' is out of range"));
        }
        r->SetInt32(msg, f, static_cast<int32_t>(n));
      }
      return absl::OkStatus();
    }
    case Kind::kBool: {
      auto b = ParseBool(text);
      if (!b.ok()) return b.status();
      r->SetBool(msg, f, *b);
      return absl::OkStatus();
    }
    case Kind::kDouble: {
      double d;
      if (!absl::SimpleAtod(text, &d)) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", text, "' is not a number"));
      }
      r->SetDouble(msg, f, d);
      return absl::OkStatus();
    }
    case Kind::kEnum: {
      const pb::EnumValueDescriptor* v = FindEnumValue(f->enum_type(), text);
      if (v == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", text, "' is not a ", f->enum_type()->name(), " (",
                         EnumChoices(f->enum_type()), ")"));
      }
      r->SetEnum(msg, f, v);
      return absl::OkStatus();
    }
    case Kind::kTimestamp: {
      auto when = ParseWithSpec(time, text);
      if (!when.ok()) return when.status();
      pb::Message* ts = r->MutableMessage(msg, f);
      const pb::Descriptor* td = ts->GetDescriptor();
      const int64_t seconds = absl::ToUnixSeconds(*when);
      const int32_t nanos = static_cast<int32_t>(
          (*when - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1));
      ts->GetReflection()->SetInt64(ts, td->FindFieldByName("seconds"),
                                    seconds);
      ts->GetReflection()->SetInt32(ts, td->FindFieldByName("nanos"), nanos);
      return absl::OkStatus();
    }
    case Kind::kAmount:
      break;
  }
  return absl::OkStatus();
}

CsvMapping::RowResult CsvMapping::Map(const engine::CsvRow& row,
                                      v1::Transaction* tx,
                                      std::string* why) const {
  RowResult r = CheckRow(row, why);
  if (r == RowResult::kTransaction) r = MapRow(row, tx, why);
  // Messages go to stderr and bad_rows.txt: a cell they quote may hold an
  // account number.
  if (r != RowResult::kTransaction) *why = engine::MaskDigitRuns(OneLine(*why));
  return r;
}

CsvMapping::RowResult CsvMapping::CheckRow(const engine::CsvRow& row,
                                           std::string* why) const {
  // A row with more or fewer cells than the header (an unquoted comma in
  // a memo) would read every later cell from the wrong column: the label
  // too, which would skew precision and recall without a word.
  if (has_header_ && !header_.empty() && row.fields.size() != header_.size()) {
    *why = absl::StrCat("the row has ", row.fields.size(),
                        " columns, the "
                        "header ",
                        header_.size(),
                        " (a comma or quote in a value that is not quoted?)");
    return RowResult::kBad;
  }
  for (size_t i = 0; i < row.fields.size(); ++i) {
    if (!rules::IsValidUtf8(row.fields[i].value)) {
      *why = absl::StrCat(
          ColumnLabel(i < header_.size() ? header_[i] : "",
                      static_cast<int>(i)),
          " is not UTF-8 (a file in GBK? convert it: iconv -f GBK -t UTF-8)");
      return RowResult::kBad;
    }
  }
  return RowResult::kTransaction;
}

CsvMapping::RowResult CsvMapping::MapRow(const engine::CsvRow& row,
                                         v1::Transaction* tx,
                                         std::string* why) const {
  tx->Clear();
  auto cell = [&](int column, absl::string_view label,
                  absl::string_view* out) -> bool {
    if (column < 0 || static_cast<size_t>(column) >= row.fields.size()) {
      *why = absl::StrCat(label, " is column ", column + 1, " but the row has ",
                          row.fields.size(),
                          row.fields.size() == 1 ? " column" : " columns");
      return false;
    }
    *out = absl::StripAsciiWhitespace(row.fields[column].value);
    return true;
  };
  for (const Skip& s : skips_) {
    absl::string_view value;
    if (!cell(s.column, s.label, &value)) return RowResult::kBad;
    if (value.empty() && s.empty) {
      *why = absl::StrCat(s.label, " is empty");
      return RowResult::kSkipped;
    }
    if (std::find(s.equals.begin(), s.equals.end(), value) != s.equals.end()) {
      *why = absl::StrCat(s.label, " is '", value, "'");
      return RowResult::kSkipped;
    }
  }
  std::string amount_text, built, scratch_amount;
  const Field* amount_field = nullptr;
  for (const Field& f : fields_) {
    absl::string_view text;
    switch (f.source) {
      case Field::Source::kColumn:
        if (!cell(f.column, f.label, &text)) return RowResult::kBad;
        break;
      case Field::Source::kTemplate:
        built.clear();
        for (const TemplatePart& p : f.parts) {
          if (p.column_name.empty()) {
            built.append(p.literal);
          } else if (p.column_name == "$row") {
            absl::StrAppend(&built, row.line);
          } else {
            absl::string_view part;
            if (!cell(p.column, ColumnLabel(p.column_name, p.column), &part)) {
              return RowResult::kBad;
            }
            built.append(part.data(), part.size());
          }
        }
        text = built;
        break;
      case Field::Source::kConstant:
        text = f.constant;
        break;
    }
    // An empty cell takes the default (mapping.proto) as it is: the value
    // maps are for what the file says.
    const bool defaulted = text.empty() && !f.default_value.empty();
    if (defaulted) text = f.default_value;
    if (!defaulted && !f.values.empty() &&
        f.source != Field::Source::kConstant) {
      auto it = f.values.find(text);
      if (it != f.values.end()) {
        for (const Assignment& a : it->second.sets) {
          if (absl::Status s =
                  Assign(a.target, a.value, f.time, tx, &scratch_amount);
              !s.ok()) {
            *why =
                absl::StrCat(f.label, ": ", a.target.path, ": ", s.message());
            return RowResult::kBad;
          }
        }
        if (!it->second.to.empty()) text = it->second.to;
      } else if (f.unmapped == v1::UNMAPPED_REJECT) {
        std::vector<std::string> known;
        for (const auto& [from, unused] : f.values) known.push_back(from);
        std::sort(known.begin(), known.end());
        if (known.size() > 8) {
          known.resize(8);
          known.push_back("...");
        }
        *why = absl::StrCat(
            f.label, ": value '", text,
            "' is not mapped (mapped: ", absl::StrJoin(known, ", "), ")");
        return RowResult::kBad;
      } else if (f.unmapped == v1::UNMAPPED_IGNORE) {
        text = "";
      }
    }
    if (text.empty()) text = f.default_value;
    if (!f.has_target || text.empty()) continue;
    if (f.target.kind == Kind::kAmount) amount_field = &f;
    if (absl::Status s = Assign(f.target, text, f.time, tx, &amount_text);
        !s.ok()) {
      *why = absl::StrCat(f.label, " -> ", f.target.path, ": ", s.message());
      return RowResult::kBad;
    }
  }
  if (amount_field != nullptr) {
    const v1::AmountFormat& format = amount_field->amount;
    int64_t minor = 0;
    if (format.minor_units()) {
      if (!absl::SimpleAtoi(amount_text, &minor)) {
        *why = absl::StrCat(amount_field->label, " -> amount_minor: '",
                            amount_text,
                            "' is not an integer count of minor units");
        return RowResult::kBad;
      }
    } else {
      auto digits = rules::CurrencyMinorDigits(tx->currency());
      if (!digits.ok()) {
        *why = absl::StrCat(amount_field->label,
                            " -> amount_minor: cannot scale '", amount_text,
                            "' to minor units: ", digits.status().message());
        return RowResult::kBad;
      }
      auto parsed =
          rules::ParseDecimalToMinor(amount_text, *digits, tx->currency());
      if (!parsed.ok() && format.round()) {
        size_t dot = amount_text.find('.');
        int fraction = dot == std::string::npos
                           ? 0
                           : static_cast<int>(amount_text.size() - dot - 1);
        if (fraction > *digits && fraction <= rules::kMaxMinorDigits) {
          auto exact = rules::ParseDecimalToMinor(amount_text, fraction);
          if (exact.ok()) {
            int64_t scale = 1;
            for (int i = *digits; i < fraction; ++i) scale *= 10;
            int64_t q = *exact / scale, r = *exact % scale;
            if (2 * (r < 0 ? -r : r) >= scale) q += *exact < 0 ? -1 : 1;
            parsed = q;
          }
        }
      }
      if (!parsed.ok()) {
        *why = absl::StrCat(
            amount_field->label,
            " -> amount_minor: ", parsed.status().message(),
            !format.round() && absl::StrContains(parsed.status().message(),
                                                 "more decimals")
                ? " (amount { round: true } rounds)"
                : "");
        return RowResult::kBad;
      }
      minor = *parsed;
    }
    tx->set_amount_minor(minor);
  }
  return RowResult::kTransaction;
}

}  // namespace txscreen::compliance
