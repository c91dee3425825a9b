// The window part of RulePackBuilder: checks and compiles `window { ... }`.
#include <algorithm>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rules/rule_pack_builder.h"

namespace txscreen::rules {
namespace {

// The expression without whitespace outside quoted text, so reformatting a
// window does not reset its state but changing a quoted value does.
std::string WithoutSpace(absl::string_view s) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote != 0) {
      out.push_back(c);
      if (c == '\\' && i + 1 < s.size()) {
        out.push_back(s[++i]);
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') quote = c;
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out;
}

}  // namespace

void RulePackBuilder::Windows() {
  ExprScope filter_scope = scope_;
  filter_scope.allow_history = false;
  filter_scope.allow_windows = false;
  filter_scope.allow_scores = false;
  const pb::FieldDescriptor* window_field =
      v1::RuleFile::descriptor()->FindFieldByName("window");
  absl::flat_hash_map<uint64_t, std::string> fingerprints;
  for (const auto& f : files_) {
    for (int i = 0; i < f->proto.window_size(); ++i) {
      const v1::WindowFeature& w = f->proto.window(i);
      const Tree* tree = f->tree.GetTreeForNested(window_field, i);
      SourcePosition pos = FieldPos(*f, &f->tree, f->proto, "window", i);
      std::string subject = absl::StrCat("window ", w.name());
      size_t errors_before = result_.errors.size();
      if (!IsIdentifier(w.name())) {
        Error(*f, pos, subject,
              "name must be an identifier (letters, digits, _)");
        continue;
      }
      if (scope_.windows.contains(w.name())) {
        Error(*f, pos, subject, "defined twice");
        continue;
      }
      WindowDef def;
      def.name = w.name();
      def.description = w.description();
      def.index = static_cast<int>(set_->windows_.size());
      def.aggregate = w.aggregate();
      def.group_by = w.group_by();
      if (w.aggregate() == v1::AGGREGATE_UNSPECIFIED) {
        Error(*f, pos, subject,
              "aggregate is required: AGGREGATE_SUM, AGGREGATE_COUNT, "
              "AGGREGATE_DISTINCT or AGGREGATE_MAX");
      }
      if (w.group_by() == v1::ENTITY_UNSPECIFIED) {
        Error(*f, pos, subject,
              "group_by is required: ENTITY_CUSTOMER, ENTITY_ACCOUNT, "
              "ENTITY_COUNTERPARTY_ACCOUNT or ENTITY_DEVICE");
      }
      switch (w.span_case()) {
        case v1::WindowFeature::kCalendar:
          if (w.calendar() == v1::CALENDAR_UNIT_DAY) {
            def.span = WindowDef::Span::kDay;
          } else if (w.calendar() == v1::CALENDAR_UNIT_MONTH) {
            def.span = WindowDef::Span::kMonth;
          } else {
            Error(*f, pos, subject,
                  "calendar must be CALENDAR_UNIT_DAY or CALENDAR_UNIT_MONTH");
          }
          if (!w.resolution().empty()) {
            Error(*f, ValuePos(*f, tree, w, "resolution", 0), subject,
                  "resolution applies to sliding windows only");
          }
          break;
        case v1::WindowFeature::kSliding: {
          def.span = WindowDef::Span::kSliding;
          if (!ParseDurationLiteral(w.sliding(), &def.span_us) ||
              def.span_us <= 0) {
            Error(*f, ValuePos(*f, tree, w, "sliding", 0), subject,
                  absl::StrCat("sliding: invalid duration '", w.sliding(),
                               "' (write e.g. 5m, 1h, 24h, 30d)"));
            break;
          }
          def.width_us = std::max<int64_t>(kMicrosPerSecond, def.span_us / 60);
          if (!w.resolution().empty() &&
              (!ParseDurationLiteral(w.resolution(), &def.width_us) ||
               def.width_us <= 0 || def.width_us > def.span_us)) {
            Error(*f, ValuePos(*f, tree, w, "resolution", 0), subject,
                  absl::StrCat("resolution: invalid duration '", w.resolution(),
                               "' (a positive duration no longer than the "
                               "span)"));
            break;
          }
          if (def.span_us / def.width_us > 10000) {
            Error(*f, ValuePos(*f, tree, w, "resolution", 0), subject,
                  "resolution too fine: at most 10000 buckets per window");
            break;
          }
          def.lookback_buckets =
              (def.span_us + def.width_us - 1) / def.width_us;
          break;
        }
        case v1::WindowFeature::SPAN_NOT_SET:
          Error(*f, pos, subject,
                "a span is required: calendar: CALENDAR_UNIT_DAY or sliding: "
                "\"24h\"");
          break;
      }
      if (!w.filter().empty()) {
        def.filter = Expression(*f, tree, w, "filter", w.filter(), filter_scope,
                                subject, nullptr);
        if (def.filter != nullptr &&
            def.filter->type().base != BaseType::kBool) {
          Error(*f, ValuePos(*f, tree, w, "filter", 0), subject,
                absl::StrCat("filter must be true/false, got ",
                             TypeName(def.filter->type())));
        }
      }
      def.type = IntType();
      if (w.aggregate() == v1::AGGREGATE_COUNT) {
        if (!w.of().empty()) {
          Error(*f, ValuePos(*f, tree, w, "of", 0), subject,
                "COUNT counts transactions; leave 'of' empty");
        }
      } else if (w.aggregate() != v1::AGGREGATE_UNSPECIFIED) {
        if (w.of().empty()) {
          Error(*f, pos, subject,
                w.aggregate() == v1::AGGREGATE_DISTINCT
                    ? "of is required: the text whose distinct values are "
                      "counted, e.g. tx.counterparty.account_id"
                    : "of is required: the amount aggregated, e.g. tx.amount");
        } else {
          def.of = Expression(*f, tree, w, "of", w.of(), filter_scope, subject,
                              nullptr);
          if (def.of != nullptr) {
            BaseType t = def.of->type().base;
            if (w.aggregate() == v1::AGGREGATE_DISTINCT) {
              if (t != BaseType::kString) {
                Error(*f, ValuePos(*f, tree, w, "of", 0), subject,
                      absl::StrCat("DISTINCT needs text, got ",
                                   TypeName(def.of->type())));
              }
            } else if (t != BaseType::kMoney && t != BaseType::kInt &&
                       t != BaseType::kDuration) {
              Error(
                  *f, ValuePos(*f, tree, w, "of", 0), subject,
                  absl::StrCat("SUM and MAX need money, int or duration, got ",
                               TypeName(def.of->type())));
            } else {
              def.type = def.of->type();
            }
          }
        }
      }
      if (result_.errors.size() != errors_before) continue;
      uint64_t h = StableHash(absl::StrCat(
          w.aggregate(), "|", w.group_by(), "|", static_cast<int>(def.span),
          "|", def.span_us, "|", def.width_us, "|", WithoutSpace(w.of()), "|",
          WithoutSpace(w.filter())));
      def.fingerprint = h;
      // Windows with the same definition would share state and count each
      // transaction twice.
      auto [same, inserted] = fingerprints.emplace(h, def.name);
      if (!inserted) {
        Error(*f, pos, subject,
              absl::StrCat("has the same definition as window ", same->second,
                           "; use window.", same->second));
        continue;
      }
      scope_.windows[def.name] = WindowRef{def.index, def.type};
      set_->windows_.push_back(std::move(def));
    }
  }
}

}  // namespace txscreen::rules
