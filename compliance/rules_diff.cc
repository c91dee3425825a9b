#include "compliance/rules_diff.h"

#include <algorithm>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "compliance/engine_run.h"
#include "compliance/input.h"
#include "engine/enum_names.h"
#include "rules/currency.h"
#include "rules/money.h"
#include "serve/json_util.h"

namespace txscreen::compliance {

namespace v1 = ::txscreen::v1;

namespace {

constexpr size_t kBadRowsShown = 20;
constexpr int kFlushEvery = 10000;

std::set<std::string> HitIds(const v1::Decision& d) {
  std::set<std::string> ids;
  for (const v1::RuleHit& h : d.hits()) ids.insert(h.rule_id());
  return ids;
}

std::string JsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", "\"", serve::JsonEscape(items[i]),
                    "\"");
  }
  return out + "]";
}

}  // namespace

void CompareDecisions(const v1::Transaction& tx, int64_t line,
                      const v1::Decision& old_decision,
                      const v1::Decision& new_decision, int examples_per_change,
                      RulesDiffResult* result) {
  ++result->transactions;
  const std::set<std::string> old_ids = HitIds(old_decision);
  const std::set<std::string> new_ids = HitIds(new_decision);
  for (const std::string& id : old_ids) {
    RulesDiffResult::RuleChange& c = result->rules[id];
    ++c.old_hits;
    if (new_ids.count(id) == 0) ++c.removed;
  }
  for (const std::string& id : new_ids) {
    RulesDiffResult::RuleChange& c = result->rules[id];
    ++c.new_hits;
    if (old_ids.count(id) == 0) ++c.added;
  }
  if (old_decision.verdict() == new_decision.verdict()) return;
  ++result->verdict_changed;
  auto key = std::make_pair(engine::ShortEnumName(old_decision.verdict()),
                            engine::ShortEnumName(new_decision.verdict()));
  ++result->changes[key];
  std::vector<RulesDiffResult::Example>& examples = result->examples[key];
  if (static_cast<int>(examples.size()) >= examples_per_change) return;
  RulesDiffResult::Example e;
  e.line = line;
  e.transaction_id = tx.transaction_id();
  e.customer_id = tx.customer_id();
  auto digits = rules::CurrencyMinorDigits(tx.currency());
  e.amount = rules::FormatMoney(tx.amount_minor(), tx.currency(),
                                digits.ok() ? *digits : 0);
  e.old_hits.assign(old_ids.begin(), old_ids.end());
  e.new_hits.assign(new_ids.begin(), new_ids.end());
  examples.push_back(std::move(e));
}

int RunRulesDiff(const RulesDiffOptions& options, std::ostream* out,
                 std::ostream* err, RulesDiffResult* result_out) {
  RulesDiffResult local;
  RulesDiffResult& result = result_out != nullptr ? *result_out : local;
  result = RulesDiffResult();
  std::vector<std::string> errors;
  std::unique_ptr<EngineRun> old_engine =
      EngineRun::Open(options.old_rules, "", &errors);
  std::unique_ptr<EngineRun> new_engine =
      EngineRun::Open(options.new_rules, "", &errors);
  std::unique_ptr<Input> input;
  if (old_engine != nullptr && new_engine != nullptr) {
    input = Input::Open(options.input, &errors);
  }
  if (input == nullptr) {
    for (const std::string& e : errors) *err << e << "\n";
    return 1;
  }
  result.old_version = old_engine->rules().version();
  result.new_version = new_engine->rules().version();
  v1::Transaction tx;
  v1::Decision old_decision, new_decision;
  InputRow row;
  std::string why;
  int since_flush = 0;
  while (true) {
    Input::Result r = input->Next(&tx, &row, &why);
    if (r == Input::Result::kEnd) break;
    ++result.rows;
    if (r == Input::Result::kSkipped) {
      ++result.skipped;
      continue;
    }
    if (r == Input::Result::kBad) {
      if (++result.bad <= static_cast<int64_t>(kBadRowsShown)) {
        *err << input->name() << ":" << row.line << ": " << why << "\n";
      }
      continue;
    }
    bool old_duplicate = false, new_duplicate = false;
    for (auto [engine, decision, duplicate] :
         {std::tuple{old_engine.get(), &old_decision, &old_duplicate},
          std::tuple{new_engine.get(), &new_decision, &new_duplicate}}) {
      if (absl::Status s = engine->Screen(tx, decision, duplicate); !s.ok()) {
        *err << input->name() << ":" << row.line << ": " << s.message() << "\n";
        return 1;
      }
    }
    if (old_duplicate) {
      ++result.duplicates;
      continue;
    }
    CompareDecisions(tx, row.line, old_decision, new_decision,
                     options.examples_per_change, &result);
    // Written behind into the engines' own in-memory stores, so that the
    // hot state stays bounded on long inputs.
    if (++since_flush >= kFlushEvery) {
      since_flush = 0;
      for (EngineRun* engine : {old_engine.get(), new_engine.get()}) {
        if (absl::Status s =
                engine->Flush(absl::StrCat(input->name(), ":", row.line));
            !s.ok()) {
          *err << "txscreen rules diff: " << s.message() << "\n";
          return 1;
        }
      }
    }
  }
  if (result.bad > static_cast<int64_t>(kBadRowsShown)) {
    *err << "... " << result.bad - kBadRowsShown << " more bad rows\n";
  }
  if (input->truncated_at_line() > 0) {
    *err << "txscreen rules diff: a malformed row at line "
         << input->truncated_at_line()
         << " ended the reading; the comparison covers the rows before it\n";
  }
  PrintRulesDiff(result, out);
  return result.bad > 0 ? kExitUnreadableRows : 0;
}

std::string RulesDiffJson(const RulesDiffResult& result) {
  std::string json = absl::StrCat(
      "{\"old_ruleset_version\":\"", serve::JsonEscape(result.old_version),
      "\",\"new_ruleset_version\":\"", serve::JsonEscape(result.new_version),
      "\",\"rows\":", result.rows, ",\"transactions\":", result.transactions,
      ",\"skipped\":", result.skipped, ",\"bad_rows\":", result.bad,
      ",\"duplicates\":", result.duplicates,
      ",\"verdict_changed\":", result.verdict_changed, ",\"changes\":[");
  bool first = true;
  for (const auto& [key, n] : result.changes) {
    absl::StrAppend(&json, first ? "" : ",", "{\"old\":\"", key.first,
                    "\",\"new\":\"", key.second, "\",\"count\":", n,
                    ",\"examples\":[");
    first = false;
    bool first_example = true;
    auto it = result.examples.find(key);
    if (it != result.examples.end()) {
      for (const RulesDiffResult::Example& e : it->second) {
        absl::StrAppend(
            &json, first_example ? "" : ",", "{\"line\":", e.line,
            ",\"transaction_id\":\"", serve::JsonEscape(e.transaction_id),
            "\",\"customer_id\":\"", serve::JsonEscape(e.customer_id),
            "\",\"amount\":\"", serve::JsonEscape(e.amount),
            "\",\"old_hits\":", JsonList(e.old_hits),
            ",\"new_hits\":", JsonList(e.new_hits), "}");
        first_example = false;
      }
    }
    absl::StrAppend(&json, "]}");
  }
  absl::StrAppend(&json, "],\"rules\":[");
  first = true;
  for (const auto& [id, c] : result.rules) {
    absl::StrAppend(&json, first ? "" : ",", "{\"rule_id\":\"",
                    serve::JsonEscape(id), "\",\"old_hits\":", c.old_hits,
                    ",\"new_hits\":", c.new_hits, ",\"added\":", c.added,
                    ",\"removed\":", c.removed, "}");
    first = false;
  }
  return json + "]}";
}

void PrintRulesDiff(const RulesDiffResult& result, std::ostream* out) {
  std::ostream& o = *out;
  o << absl::StrFormat(
      "%d rows: %d transactions compared, %d duplicates, %d skipped, %d bad\n"
      "old rules %s, new rules %s\n",
      result.rows, result.transactions, result.duplicates, result.skipped,
      result.bad, result.old_version, result.new_version);
  o << absl::StrFormat("verdict changed on %d transactions\n",
                       result.verdict_changed);
  for (const auto& [key, n] : result.changes) {
    o << absl::StrFormat("  %-10s -> %-10s %9d\n", key.first, key.second, n);
    auto it = result.examples.find(key);
    if (it == result.examples.end()) continue;
    for (const RulesDiffResult::Example& e : it->second) {
      o << absl::StrFormat("      line %d %s customer %s %s: [%s] -> [%s]\n",
                           e.line, e.transaction_id, e.customer_id, e.amount,
                           absl::StrJoin(e.old_hits, " "),
                           absl::StrJoin(e.new_hits, " "));
    }
  }
  o << absl::StrFormat("\n%-14s %9s %9s %9s %9s\n", "rule", "old hits",
                       "new hits", "added", "removed");
  bool any = false;
  for (const auto& [id, c] : result.rules) {
    o << absl::StrFormat("%-14s %9d %9d %9d %9d%s\n", id, c.old_hits,
                         c.new_hits, c.added, c.removed,
                         c.added == 0 && c.removed == 0 ? "" : "  *");
    any = true;
  }
  if (!any) o << "(no rule hit under either set)\n";
}

}  // namespace txscreen::compliance
