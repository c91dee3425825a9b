// The rule part of RulePackBuilder: checks and compiles `rule { ... }`.
#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "rules/rule_pack_builder.h"

namespace txscreen::rules {
namespace {

bool IsRuleId(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isupper(static_cast<unsigned char>(c)) ||
           absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-' ||
           c == '_';
  });
}

bool IsReportKind(absl::string_view s) {
  return !s.empty() && absl::ascii_isupper(static_cast<unsigned char>(s[0])) &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return absl::ascii_isupper(static_cast<unsigned char>(c)) ||
                  absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
                  c == '_';
         });
}

bool NeedsPrompt(v1::Action a) {
  return a == v1::ACTION_WARN || a == v1::ACTION_DELAY ||
         a == v1::ACTION_INTERCEPT;
}

}  // namespace

bool RulePackBuilder::Actions(
    const ParsedFile& f, const Tree* tree, const pb::Message& m,
    v1::Action base,
    const pb::RepeatedPtrField<v1::ChannelAction>& channel_actions,
    absl::string_view subject, std::array<v1::Action, kChannelCount>* out) {
  out->fill(base);
  bool ok = true;
  for (int i = 0; i < channel_actions.size(); ++i) {
    const v1::ChannelAction& ca = channel_actions.Get(i);
    SourcePosition pos = FieldPos(f, tree, m, "channel_action", i);
    if (ca.channel().empty()) {
      Error(f, pos, subject, "channel_action needs at least one channel");
      ok = false;
    }
    if (ca.action() == v1::ACTION_UNSPECIFIED) {
      Error(f, pos, subject, "channel_action needs an action");
      ok = false;
    }
    for (int c : ca.channel()) {
      if (c <= 0 || c >= kChannelCount) {
        Error(f, pos, subject,
              "channel_action: CHANNEL_UNSPECIFIED is not a channel");
        ok = false;
        continue;
      }
      (*out)[c] = ca.action();
    }
  }
  return ok;
}

void RulePackBuilder::Prompt(const ParsedFile& f, const Tree* tree,
                             const v1::Rule& r, CompiledPrompt* out,
                             ExprUses* uses) {
  const pb::Descriptor* d = v1::Prompt::descriptor();
  const Tree* prompt_tree =
      tree == nullptr
          ? nullptr
          : tree->GetTreeForNested(
                v1::Rule::descriptor()->FindFieldByName("prompt"), -1);
  std::string subject = absl::StrCat("rule ", r.id());
  struct Section {
    const char* name;
    const pb::RepeatedPtrField<v1::LocalizedText>* lines;
    std::vector<CompiledPrompt::Line>* out;
  };
  const Section sections[] = {
      {"why", &r.prompt().why(), &out->why},
      {"ask", &r.prompt().ask(), &out->ask},
      {"look_for", &r.prompt().look_for(), &out->look_for},
      {"dissuade", &r.prompt().dissuade(), &out->dissuade},
  };
  for (const Section& s : sections) {
    for (int i = 0; i < s.lines->size(); ++i) {
      const v1::LocalizedText& text = s.lines->Get(i);
      const Tree* line_tree =
          prompt_tree == nullptr
              ? nullptr
              : prompt_tree->GetTreeForNested(d->FindFieldByName(s.name), i);
      std::string where = absl::StrCat("prompt.", s.name);
      if (text.zh().empty() || text.en().empty()) {
        Error(f, FieldPos(f, prompt_tree, r.prompt(), s.name, i), subject,
              absl::StrCat(where, ": every line needs both zh and en text"));
        continue;
      }
      CompiledPrompt::Line line;
      if (Template(f, line_tree, text, "zh", text.zh(), subject, &line.zh,
                   uses) &&
          Template(f, line_tree, text, "en", text.en(), subject, &line.en,
                   uses)) {
        s.out->push_back(std::move(line));
      }
    }
  }
}

int64_t RulePackBuilder::DateMicros(const ParsedFile& f, const Tree* tree,
                                    const v1::Rule& r, absl::string_view field,
                                    absl::string_view text) {
  if (text.empty()) return 0;
  absl::CivilDay day;
  if (!absl::ParseCivilTime(text, &day)) {
    Error(f, ValuePos(f, tree, r, field, 0), absl::StrCat("rule ", r.id()),
          absl::StrCat(field, ": '", text, "' is not a date YYYY-MM-DD"));
    return 0;
  }
  return absl::ToUnixMicros(absl::FromCivil(day, set_->render_.time_zone));
}

void RulePackBuilder::Rule(const ParsedFile& f, const Tree* tree,
                           const v1::Rule& r, SourcePosition block) {
  std::string subject = absl::StrCat("rule ", r.id());
  size_t errors_before = result_.errors.size();
  SourcePosition start = FieldPos(f, tree, r, "id");
  if (start.line == 0) start = block;
  auto required = [&](bool present, absl::string_view what) {
    if (!present) Error(f, start, subject, absl::StrCat(what, " is required"));
  };
  if (!IsRuleId(r.id())) {
    Error(f, start, r.id().empty() ? "rule" : subject,
          r.id().empty() ? "id is required"
                         : "id must be upper-case letters, digits, '-' or '_'");
  }
  if (r.version() < 1) {
    Error(f, start, subject,
          absl::StrCat("version must be >= 1, got ", r.version()));
  }
  required(!r.title().empty(), "title");
  required(!r.why().empty(), "why");
  required(!r.owner().empty(), "owner");
  required(r.severity() != v1::SEVERITY_UNSPECIFIED, "severity");
  required(!r.when().empty(), "when");
  required(!r.reason().empty(), "reason");

  CompiledRule rule;
  rule.id = r.id();
  rule.version = r.version();
  rule.title = r.title();
  rule.severity = r.severity();
  ExprUses uses;
  if (!r.when().empty()) {
    rule.when =
        Expression(f, tree, r, "when", r.when(), scope_, subject, &uses);
    if (rule.when != nullptr && rule.when->type().base != BaseType::kBool) {
      Error(f, ValuePos(f, tree, r, "when", 0), subject,
            absl::StrCat("when must be true/false, got ",
                         TypeName(rule.when->type())));
    }
  }
  if (r.action() == v1::ACTION_UNSPECIFIED && r.score().empty()) {
    Error(f, start, subject,
          "action is required (ACTION_REPORT, ACTION_REVIEW, ACTION_WARN, "
          "ACTION_DELAY, ACTION_INTERCEPT or ACTION_BLOCK) unless the rule "
          "only adds to a score");
  }
  Actions(f, tree, r, r.action(), r.channel_action(), subject, &rule.action);
  bool prompt_needed =
      std::any_of(rule.action.begin() + 1, rule.action.end(), NeedsPrompt);
  const pb::FieldDescriptor* esc_field =
      v1::Rule::descriptor()->FindFieldByName("escalate");
  for (int i = 0; i < r.escalate_size(); ++i) {
    const v1::Escalation& e = r.escalate(i);
    const Tree* esc_tree =
        tree == nullptr ? nullptr : tree->GetTreeForNested(esc_field, i);
    CompiledEscalation ce;
    if (e.when().empty()) {
      Error(f, FieldPos(f, tree, r, "escalate", i), subject,
            "escalate: when is required");
      continue;
    }
    ce.when =
        Expression(f, esc_tree, e, "when", e.when(), scope_, subject, &uses);
    if (ce.when != nullptr && ce.when->type().base != BaseType::kBool) {
      Error(f, ValuePos(f, esc_tree, e, "when", 0), subject,
            absl::StrCat("escalate: when must be true/false, got ",
                         TypeName(ce.when->type())));
    }
    if (e.action() == v1::ACTION_UNSPECIFIED && e.channel_action().empty()) {
      Error(f, FieldPos(f, tree, r, "escalate", i), subject,
            "escalate: action is required");
    }
    Actions(f, esc_tree, e, e.action(), e.channel_action(), subject,
            &ce.action);
    prompt_needed = prompt_needed || std::any_of(ce.action.begin() + 1,
                                                 ce.action.end(), NeedsPrompt);
    if (!e.reason().empty()) {
      Template(f, esc_tree, e, "reason", e.reason(), subject, &ce.reason,
               &uses);
    }
    rule.escalations.push_back(std::move(ce));
  }
  auto reports = [](v1::Action a) { return a == v1::ACTION_REPORT; };
  bool report_needed =
      std::any_of(rule.action.begin() + 1, rule.action.end(), reports);
  for (const CompiledEscalation& e : rule.escalations) {
    report_needed = report_needed ||
                    std::any_of(e.action.begin() + 1, e.action.end(), reports);
  }
  if (report_needed && r.report().empty()) {
    // Without a kind, the hit says REPORT and no report is ever filed.
    Error(f, start, subject,
          "an ACTION_REPORT rule needs the report kind it files, e.g. "
          "report: \"LARGE_VALUE_CASH\"");
  }
  for (int i = 0; i < r.report_size(); ++i) {
    if (!IsReportKind(r.report(i))) {
      Error(f, ValuePos(f, tree, r, "report", 0, i), subject,
            absl::StrCat("report kind '", r.report(i),
                         "' must be upper-case letters, digits and _ (e.g. "
                         "LARGE_VALUE_CASH)"));
    }
    rule.reports.push_back(r.report(i));
  }
  if (!r.reason().empty()) {
    Template(f, tree, r, "reason", r.reason(), subject, &rule.reason, &uses);
  }
  Prompt(f, tree, r, &rule.prompt, &uses);
  for (int i = 0; i < r.score_size(); ++i) {
    const v1::ScoreWeight& s = r.score(i);
    if (s.weight() == 0) {
      Error(f, FieldPos(f, tree, r, "score", i), subject,
            absl::StrCat("score ", s.name(), ": weight must not be 0"));
    }
    auto it = scope_.scores.find(s.name());
    if (it != scope_.scores.end())
      rule.scores.emplace_back(it->second, s.weight());
  }
  if (uses.scores && !r.score().empty()) {
    Error(f, start, subject,
          "a rule that reads a score cannot add to a score (rules that add "
          "run first)");
  }
  rule.reads_scores = uses.scores;
  if (uses.history) set_->needs_history_ = true;
  if (prompt_needed) {
    if (!r.has_prompt() || r.prompt().why().empty() ||
        r.prompt().ask().empty()) {
      Error(f, start, subject,
            "an INTERCEPT, WARN or DELAY rule needs a prompt with at least "
            "'why' and 'ask' lines");
    }
  }
  rule.effective_from_us =
      DateMicros(f, tree, r, "effective_from", r.effective_from());
  rule.effective_until_us =
      DateMicros(f, tree, r, "effective_until", r.effective_until());
  if (rule.effective_from_us != 0 && rule.effective_until_us != 0 &&
      rule.effective_until_us <= rule.effective_from_us) {
    Error(f, ValuePos(f, tree, r, "effective_until", 0), subject,
          "effective_until must be after effective_from");
  }
  if (result_.errors.size() != errors_before || r.disabled()) return;
  set_->rules_.push_back(std::move(rule));
}

void RulePackBuilder::Scores() {
  // Before any condition: every rule (and definition) may name a score
  // that a rule adds to.
  for (const auto& f : files_) {
    for (const v1::Rule& r : f->proto.rule()) {
      for (const v1::ScoreWeight& s : r.score()) {
        if (IsIdentifier(s.name()) && !scope_.scores.contains(s.name())) {
          scope_.scores[s.name()] = static_cast<int>(set_->score_names_.size());
          set_->score_names_.push_back(s.name());
        }
      }
    }
  }
}

void RulePackBuilder::Rules() {
  absl::flat_hash_map<std::string, std::string> seen;
  const pb::FieldDescriptor* rule_field =
      v1::RuleFile::descriptor()->FindFieldByName("rule");
  for (const auto& f : files_) {
    for (int i = 0; i < f->proto.rule_size(); ++i) {
      const v1::Rule& r = f->proto.rule(i);
      const Tree* tree = f->tree.GetTreeForNested(rule_field, i);
      for (int k = 0; k < r.score_size(); ++k) {
        if (!IsIdentifier(r.score(k).name())) {
          Error(*f, FieldPos(*f, tree, r, "score", k),
                absl::StrCat("rule ", r.id()),
                absl::StrCat("score name '", r.score(k).name(),
                             "' must be an identifier"));
        }
      }
      SourcePosition pos = FieldPos(*f, &f->tree, f->proto, "rule", i);
      if (!r.id().empty()) {
        auto [it, inserted] = seen.emplace(r.id(), f->source->Describe(pos));
        if (!inserted) {
          Error(*f, pos, absl::StrCat("rule ", r.id()),
                absl::StrCat("id used twice (first at ", it->second, ")"));
          continue;
        }
      }
      Rule(*f, tree, r, pos);
    }
  }
  // Rules that read scores run after every rule that adds to them.
  std::stable_partition(set_->rules_.begin(), set_->rules_.end(),
                        [](const CompiledRule& r) { return !r.reads_scores; });
}

}  // namespace txscreen::rules
