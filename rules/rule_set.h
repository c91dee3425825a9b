// File: rule_set.h
//
// A compiled rule pack: the immutable snapshot the engine decides with.
// Built by LoadRulePack (rule_pack_loader.h); shared as
// std::shared_ptr<const RuleSet> and swapped atomically on reload.
//
// Deciding one transaction:
//   1. PrepareTransactionFacts(tx, &ctx)  amounts in base currency, age, ...
//   2. the engine fills ctx.history and, for each windows()[i], ctx.windows[i]
//   3. Evaluate(ctx, &decision)           hits, verdict, reports, prompt
//
// Thread safety: immutable; use from any number of threads, each with its
// own EvalContext.
#ifndef TXSCREEN_RULES_RULE_SET_H_
#define TXSCREEN_RULES_RULE_SET_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "rules/eval_context.h"
#include "rules/expr.h"
#include "rules/fx_table.h"
#include "rules/named_list.h"
#include "rules/text_template.h"
#include "txscreen/v1/decision.pb.h"
#include "txscreen/v1/rules.pb.h"
#include "txscreen/v1/transaction.pb.h"

namespace txscreen::rules {

inline constexpr int kChannelCount = 8;  // txscreen.v1.Channel values

// A window feature as the engine maintains it.
struct WindowDef {
  enum class Span { kDay, kMonth, kSliding };

  std::string name;
  std::string description;
  int index = 0;
  txscreen::v1::Aggregate aggregate = txscreen::v1::AGGREGATE_UNSPECIFIED;
  txscreen::v1::Entity group_by = txscreen::v1::ENTITY_UNSPECIFIED;
  Span span = Span::kDay;
  // Sliding windows: the span and the bucket width, in microseconds, and the
  // number of buckets before the current one that the window reads
  // (ceil(span / width)).
  int64_t span_us = 0;
  int64_t width_us = 0;
  int64_t lookback_buckets = 0;
  // Null: every transaction passes.
  ExprPtr filter;
  // Null for COUNT. Money or int for SUM/MAX, text for DISTINCT.
  ExprPtr of;
  // Type of the feature's value (money for SUM of money, int otherwise...).
  Type type;
  // Stable across reloads while the definition is unchanged; keys state.
  uint64_t fingerprint = 0;
};

struct CompiledEscalation {
  ExprPtr when;
  std::array<txscreen::v1::Action, kChannelCount> action{};
  TextTemplate reason;
};

struct CompiledPrompt {
  struct Line {
    TextTemplate zh, en;
  };
  std::vector<Line> why, ask, look_for, dissuade;
  bool empty() const {
    return why.empty() && ask.empty() && look_for.empty() && dissuade.empty();
  }
};

struct CompiledRule {
  std::string id;
  int32_t version = 0;
  std::string title;
  txscreen::v1::Severity severity = txscreen::v1::SEVERITY_UNSPECIFIED;
  ExprPtr when;
  // Action per channel number (channel maps applied).
  std::array<txscreen::v1::Action, kChannelCount> action{};
  std::vector<CompiledEscalation> escalations;
  std::vector<std::string> reports;
  TextTemplate reason;
  std::vector<std::pair<int, int64_t>> scores;  // (score index, weight)
  CompiledPrompt prompt;
  // Effective range in event time; 0 means unbounded.
  int64_t effective_from_us = 0;
  int64_t effective_until_us = 0;
  bool reads_scores = false;
};

// customer.age as the rules see it: whole years from `birth_date`
// ("YYYY-MM-DD") to the date of `at_us` in `zone` (the pack's time zone,
// RuleSet::time_zone()). nullopt when birth_date is not of that form or
// lies after that date. The console's hold shows the same figure.
std::optional<int64_t> CustomerAgeAt(absl::string_view birth_date,
                                     int64_t at_us, const absl::TimeZone& zone);

class RuleSet {
 public:
  RuleSet() = default;
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  const absl::TimeZone& time_zone() const { return render_.time_zone; }
  const FxTable& fx() const { return *fx_; }
  const RenderOptions& render_options() const { return render_; }
  const std::vector<WindowDef>& windows() const { return windows_; }
  const std::vector<CompiledRule>& rules() const { return rules_; }
  const std::vector<std::string>& score_names() const { return score_names_; }
  // The list named `name`, or nullptr.
  const NamedList* list(absl::string_view name) const;
  // Which entity kinds any window groups by, and whether rules read history.
  bool needs_history() const { return needs_history_; }

  // Fills the transaction part of ctx (and resets its caches). Fails only for
  // a currency the FX table cannot convert; validation (engine) has already
  // rejected malformed input.
  absl::Status PrepareTransactionFacts(const txscreen::v1::Transaction& tx,
                                       EvalContext* ctx) const;

  // Evaluates every rule (windows and history already in ctx) and writes
  // verdict, hits, reports, scores and prompt into *decision (which the
  // caller has cleared). Does not allocate beyond the decision's own fields.
  void Evaluate(EvalContext* ctx, txscreen::v1::Decision* decision) const;

 private:
  friend class RulePackBuilder;

  std::string name_;
  std::string version_;
  RenderOptions render_;
  RenderOptions render_zh_;  // render_ with chinese = true
  std::unique_ptr<FxTable> fx_;
  absl::flat_hash_map<std::string, std::unique_ptr<NamedList>> lists_;
  std::vector<WindowDef> windows_;
  std::vector<CompiledRule> rules_;
  std::vector<std::string> score_names_;
  bool needs_history_ = false;
};

// Action -> verdict strength order: ALLOW < REVIEW < WARN < DELAY <
// INTERCEPT < BLOCK. REPORT does not change the verdict.
txscreen::v1::Verdict VerdictForAction(txscreen::v1::Action action);

}  // namespace txscreen::rules

#endif  // TXSCREEN_RULES_RULE_SET_H_
