#include "rules/rule_set.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "rules/iso_date.h"
#include "rules/money.h"

namespace txscreen::rules {
namespace {

// Whole years from `birth` (YYYY-MM-DD) to the date year-month-day.
std::optional<int64_t> AgeOn(absl::string_view birth, int64_t year, int month,
                             int day) {
  int born_year = 0, born_month = 0, born_day = 0;
  if (!ParseIsoDateDigits(birth, &born_year, &born_month, &born_day)) {
    return std::nullopt;
  }
  int64_t age = year - born_year;
  if (month < born_month || (month == born_month && day < born_day)) --age;
  if (age < 0) return std::nullopt;
  return age;
}

}  // namespace

std::optional<int64_t> CustomerAgeAt(absl::string_view birth_date,
                                     int64_t at_us,
                                     const absl::TimeZone& zone) {
  const absl::CivilDay on = absl::ToCivilDay(absl::FromUnixMicros(at_us), zone);
  return AgeOn(birth_date, on.year(), on.month(), on.day());
}

namespace v1 = ::txscreen::v1;

v1::Verdict VerdictForAction(v1::Action action) {
  switch (action) {
    case v1::ACTION_REVIEW:
      return v1::VERDICT_REVIEW;
    case v1::ACTION_WARN:
      return v1::VERDICT_WARN;
    case v1::ACTION_DELAY:
      return v1::VERDICT_DELAY;
    case v1::ACTION_INTERCEPT:
      return v1::VERDICT_INTERCEPT;
    case v1::ACTION_BLOCK:
      return v1::VERDICT_BLOCK;
    default:
      return v1::VERDICT_ALLOW;
  }
}

const NamedList* RuleSet::list(absl::string_view name) const {
  auto it = lists_.find(name);
  return it == lists_.end() ? nullptr : it->second.get();
}

absl::Status RuleSet::PrepareTransactionFacts(const v1::Transaction& tx,
                                              EvalContext* ctx) const {
  ctx->ResetCaches();
  ctx->tx = &tx;
  ctx->occurred_at_us = tx.occurred_at().seconds() * kMicrosPerSecond +
                        tx.occurred_at().nanos() / 1000;
  absl::StatusOr<int64_t> base = fx_->ToBase(tx.amount_minor(), tx.currency());
  if (!base.ok()) return base.status();
  ctx->amount_base = *base;
  // Local time: time zones change offset only on minute boundaries, so the
  // local minute of the previous transaction usually answers this one.
  LocalMinute& lm = ctx->local_minute;
  if (ctx->occurred_at_us < lm.from_us || ctx->occurred_at_us >= lm.until_us ||
      lm.zone != &render_.time_zone) {
    absl::TimeZone::CivilInfo local =
        render_.time_zone.At(absl::FromUnixMicros(ctx->occurred_at_us));
    absl::CivilMinute minute(local.cs);
    lm.zone = &render_.time_zone;
    lm.from_us = absl::ToUnixMicros(absl::FromCivil(minute, render_.time_zone));
    lm.until_us = lm.from_us + 60 * kMicrosPerSecond;
    if (ctx->occurred_at_us < lm.from_us) lm.until_us = lm.from_us;  // a gap
    lm.year = minute.year();
    lm.month = minute.month();
    lm.day = minute.day();
    lm.hour = minute.hour();
  }
  ctx->local_hour = lm.hour;
  const std::optional<int64_t> age =
      AgeOn(tx.customer().birth_date(), lm.year, lm.month, lm.day);
  ctx->customer_age_known = age.has_value();
  ctx->customer_age = age.value_or(0);
  ctx->account_age_known = tx.has_account_opened_at();
  // Validated: both times are in years 1970-9999, the opening not in a
  // later second; within the same second the age is 0, not negative.
  ctx->account_age_us =
      ctx->account_age_known
          ? std::max<int64_t>(
                0, ctx->occurred_at_us -
                       (tx.account_opened_at().seconds() * kMicrosPerSecond +
                        tx.account_opened_at().nanos() / 1000))
          : 0;
  ctx->history = HistoryFacts();
  ctx->scores.assign(score_names_.size(), 0);
  return absl::OkStatus();
}

namespace {

bool IsPromptAction(v1::Action a) {
  return a == v1::ACTION_WARN || a == v1::ACTION_DELAY ||
         a == v1::ACTION_INTERCEPT || a == v1::ACTION_BLOCK;
}

void RenderLines(const std::vector<CompiledPrompt::Line>& lines,
                 const EvalContext& ctx, const RenderOptions& en,
                 const RenderOptions& zh,
                 google::protobuf::RepeatedPtrField<v1::LocalizedText>* out) {
  for (const CompiledPrompt::Line& line : lines) {
    v1::LocalizedText text;
    line.zh.Render(ctx, zh, text.mutable_zh());
    line.en.Render(ctx, en, text.mutable_en());
    // Two rules often ask the same question; ask it once.
    bool seen = std::any_of(out->begin(), out->end(), [&](const auto& t) {
      return t.zh() == text.zh() && t.en() == text.en();
    });
    if (!seen) *out->Add() = std::move(text);
  }
}

}  // namespace

void RuleSet::Evaluate(EvalContext* ctx, v1::Decision* decision) const {
  const int channel =
      ctx->tx->channel() >= 0 && ctx->tx->channel() < kChannelCount
          ? ctx->tx->channel()
          : 0;
  v1::Verdict verdict = v1::VERDICT_ALLOW;
  for (const CompiledRule& rule : rules_) {
    if (rule.effective_from_us != 0 &&
        ctx->occurred_at_us < rule.effective_from_us) {
      continue;
    }
    if (rule.effective_until_us != 0 &&
        ctx->occurred_at_us >= rule.effective_until_us) {
      continue;
    }
    if (!rule.when->EvalBool(*ctx)) continue;
    v1::Action action = rule.action[channel];
    v1::RuleHit* hit = decision->add_hits();
    rule.reason.Render(*ctx, render_, hit->mutable_reason());
    for (const CompiledEscalation& e : rule.escalations) {
      if (!e.when->EvalBool(*ctx)) continue;
      action = std::max(action, e.action[channel]);
      if (!e.reason.empty()) {
        hit->mutable_reason()->append("; ");
        e.reason.Render(*ctx, render_, hit->mutable_reason());
      }
    }
    hit->set_rule_id(rule.id);
    hit->set_rule_version(rule.version);
    hit->set_severity(rule.severity);
    hit->set_title(rule.title);
    hit->set_action(action);
    for (const std::string& report : rule.reports) {
      hit->add_reports(report);
      if (std::find(decision->reports().begin(), decision->reports().end(),
                    report) == decision->reports().end()) {
        decision->add_reports(report);
      }
    }
    for (const auto& [index, weight] : rule.scores) {
      ctx->scores[index] = SaturatingAdd(ctx->scores[index], weight);
    }
    verdict = std::max(verdict, VerdictForAction(action));
    if (IsPromptAction(action) && !rule.prompt.empty()) {
      v1::Prompt* prompt = decision->mutable_prompt();
      RenderLines(rule.prompt.why, *ctx, render_, render_zh_,
                  prompt->mutable_why());
      RenderLines(rule.prompt.ask, *ctx, render_, render_zh_,
                  prompt->mutable_ask());
      RenderLines(rule.prompt.look_for, *ctx, render_, render_zh_,
                  prompt->mutable_look_for());
      RenderLines(rule.prompt.dissuade, *ctx, render_, render_zh_,
                  prompt->mutable_dissuade());
    }
  }
  for (size_t i = 0; i < score_names_.size(); ++i) {
    if (ctx->scores[i] != 0) {
      (*decision->mutable_scores())[score_names_[i]] = ctx->scores[i];
    }
  }
  decision->set_verdict(verdict);
  decision->set_ruleset_version(version_);
}

}  // namespace txscreen::rules
