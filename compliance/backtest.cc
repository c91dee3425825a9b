#include "compliance/backtest.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "compliance/engine_run.h"
#include "compliance/input.h"
#include "engine/enum_names.h"
#include "engine/transaction_codec.h"
#include "rules/currency.h"
#include "rules/money.h"
#include "serve/json_util.h"

namespace txscreen::compliance {

namespace v1 = ::txscreen::v1;

namespace {

constexpr size_t kMaxBadRowsKept = 1000;
constexpr size_t kBadRowsShown = 20;
constexpr int kFlushEvery = 10000;

double Ratio(int64_t a, int64_t b) {
  return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b);
}

std::string Amounts(const std::map<std::string, int64_t>& by_currency) {
  std::string out;
  for (const auto& [currency, minor] : by_currency) {
    auto digits = rules::CurrencyMinorDigits(currency);
    absl::StrAppend(
        &out, out.empty() ? "" : " + ",
        rules::FormatMoney(minor, currency, digits.ok() ? *digits : 0));
  }
  return out.empty() ? "-" : out;
}

std::string Fixed(double v) { return absl::StrFormat("%.4f", v); }

std::string ConfusionJson(const Confusion& c) {
  return absl::StrCat("{\"true_positives\":", c.true_positives,
                      ",\"false_positives\":", c.false_positives,
                      ",\"false_negatives\":", c.false_negatives,
                      ",\"true_negatives\":", c.true_negatives,
                      ",\"precision\":", Fixed(c.precision()),
                      ",\"recall\":", Fixed(c.recall()),
                      ",\"f1\":", Fixed(c.f1()), "}");
}

std::string CountsJson(const std::map<std::string, int64_t>& counts) {
  std::string out = "{";
  for (const auto& [k, v] : counts) {
    absl::StrAppend(&out, out.size() > 1 ? "," : "", "\"", serve::JsonEscape(k),
                    "\":", v);
  }
  return out + "}";
}

bool MakeDir(const std::string& dir, std::string* error) {
  std::string path;
  for (size_t i = 0; i <= dir.size(); ++i) {
    if (i == dir.size() || (dir[i] == '/' && i > 0)) {
      path = dir.substr(0, i);
      if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
        *error =
            absl::StrCat("cannot create ", path, ": ", std::strerror(errno));
        return false;
      }
    }
  }
  return true;
}

}  // namespace

double Confusion::precision() const {
  return Ratio(true_positives, true_positives + false_positives);
}
double Confusion::recall() const {
  return Ratio(true_positives, true_positives + false_negatives);
}
double Confusion::f1() const {
  const double p = precision(), r = recall();
  return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
}
double GroupTally::recall() const {
  return Ratio(flagged_positives, positives);
}

bool Tally::Flagged(v1::Verdict verdict) {
  switch (verdict) {
    case v1::VERDICT_REVIEW:
    case v1::VERDICT_WARN:
    case v1::VERDICT_DELAY:
    case v1::VERDICT_INTERCEPT:
    case v1::VERDICT_BLOCK:
      return true;
    default:
      return false;
  }
}

void Tally::Add(const v1::Transaction& tx, const v1::Decision& decision,
                const InputRow& row) {
  ++transactions;
  ++verdicts[engine::ShortEnumName(decision.verdict())];
  const bool flagged = Flagged(decision.verdict());
  if (row.labelled) {
    ++labelled;
    if (row.positive) ++positives;
    Confusion& c = overall;
    if (flagged) {
      ++(row.positive ? c.true_positives : c.false_positives);
    } else {
      ++(row.positive ? c.false_negatives : c.true_negatives);
    }
  }
  // A rule can appear once per decision; count it once.
  for (int i = 0; i < decision.hits_size(); ++i) {
    const std::string& id = decision.hits(i).rule_id();
    bool seen = false;
    for (int j = 0; j < i && !seen; ++j)
      seen = decision.hits(j).rule_id() == id;
    if (seen) continue;
    RuleTally& r = rules[id];
    ++r.hits;
    r.amount_minor_by_currency[tx.currency()] = rules::SaturatingAdd(
        r.amount_minor_by_currency[tx.currency()], tx.amount_minor());
    if (row.labelled)
      ++(row.positive ? r.confusion.true_positives
                      : r.confusion.false_positives);
    if (row.labelled && row.positive) {
      ++groups[row.group.empty() ? "(none)" : row.group].rules_on_positives[id];
    }
  }
  if (!row.group.empty() || row.labelled) {
    // Rows without a group value are the group "(none)".
    GroupTally& g = groups[row.group.empty() ? "(none)" : row.group];
    ++g.transactions;
    if (flagged) ++g.flagged;
    if (row.labelled && row.positive) {
      ++g.positives;
      if (flagged) ++g.flagged_positives;
    }
  }
}

int RunBacktest(const BacktestOptions& options, std::ostream* out,
                std::ostream* err, BacktestResult* result_out) {
  BacktestResult local;
  BacktestResult& result = result_out != nullptr ? *result_out : local;
  result = BacktestResult();
  std::vector<std::string> errors;
  std::unique_ptr<EngineRun> engine =
      EngineRun::Open(options.rules, options.state_dir, &errors);
  std::unique_ptr<Input> input;
  if (engine != nullptr) input = Input::Open(options.input, &errors);
  if (engine == nullptr || input == nullptr) {
    for (const std::string& e : errors) *err << e << "\n";
    return 1;
  }
  result.ruleset_version = engine->rules().version();
  result.has_labels = input->has_labels();
  result.has_groups = input->has_groups();

  std::ofstream decisions, bad_rows;
  if (!options.output_dir.empty()) {
    std::string error;
    if (!MakeDir(options.output_dir, &error)) {
      *err << "txscreen backtest: " << error << "\n";
      return 1;
    }
    decisions.open(options.output_dir + "/decisions.jsonl", std::ios::trunc);
    bad_rows.open(options.output_dir + "/bad_rows.txt", std::ios::trunc);
    if (!decisions || !bad_rows) {
      *err << "txscreen backtest: cannot write into " << options.output_dir
           << ": " << std::strerror(errno) << "\n";
      return 1;
    }
  }

  const auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  v1::Transaction tx;
  v1::Decision decision;
  InputRow row;
  std::string why, json;
  int since_flush = 0;
  while (true) {
    Input::Result r = input->Next(&tx, &row, &why);
    if (r == Input::Result::kEnd) break;
    ++result.rows;
    if (r == Input::Result::kSkipped) {
      ++result.skipped;
      ++result.skip_reasons[why];
      continue;
    }
    if (r == Input::Result::kBad) {
      ++result.bad;
      std::string line = absl::StrCat(input->name(), ":", row.line, ": ", why);
      if (result.bad <= static_cast<int64_t>(kBadRowsShown))
        *err << line << "\n";
      if (result.bad_rows.size() < kMaxBadRowsKept)
        result.bad_rows.push_back(line);
      if (bad_rows.is_open()) bad_rows << line << "\n";
      continue;
    }
    bool duplicate = false;
    if (absl::Status s = engine->Screen(tx, &decision, &duplicate); !s.ok()) {
      *err << input->name() << ":" << row.line << ": " << s.message() << "\n";
      return 1;
    }
    if (duplicate) {
      ++result.duplicates;
    } else {
      result.tally.Add(tx, decision, row);
    }
    if (decisions.is_open()) {
      if (absl::Status s = engine::EncodeDecisionJson(decision, &json);
          !s.ok()) {
        *err << "txscreen backtest: " << s.message() << "\n";
        return 1;
      }
      decisions << json << "\n";
    }
    if (++since_flush >= kFlushEvery) {
      since_flush = 0;
      if (absl::Status s =
              engine->Flush(absl::StrCat(input->name(), ":", row.line));
          !s.ok()) {
        *err << "txscreen backtest: " << s.message() << "\n";
        return 1;
      }
      const auto now = std::chrono::steady_clock::now();
      if (options.progress != nullptr &&
          std::chrono::duration<double>(now - last_progress).count() >=
              options.progress_every_seconds) {
        last_progress = now;
        const double secs =
            std::chrono::duration<double>(now - started).count();
        *options.progress << absl::StrFormat(
            "backtest: %d rows, %.0f%% of the input, %.0f rows/s\n",
            result.rows,
            100.0 * static_cast<double>(input->position()) /
                static_cast<double>(std::max<size_t>(1, input->size())),
            static_cast<double>(result.rows) / secs);
      }
    }
  }
  if (absl::Status s = engine->Flush(absl::StrCat(input->name(), ":end"));
      !s.ok()) {
    *err << "txscreen backtest: " << s.message() << "\n";
    return 1;
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();
  result.truncated_at_line = input->truncated_at_line();
  if (result.bad > static_cast<int64_t>(kBadRowsShown)) {
    *err << "... " << result.bad - kBadRowsShown << " more bad rows"
         << (options.output_dir.empty()
                 ? " (--output DIR keeps them all in DIR/bad_rows.txt)"
                 : absl::StrCat(" in ", options.output_dir, "/bad_rows.txt"))
         << "\n";
  }
  PrintBacktestSummary(result, out);
  if (!options.output_dir.empty()) {
    std::ofstream report(options.output_dir + "/report.json", std::ios::trunc);
    report << BacktestReportJson(options, result) << "\n";
    std::ofstream summary(options.output_dir + "/summary.txt", std::ios::trunc);
    PrintBacktestSummary(result, &summary);
    decisions.flush();
    bad_rows.flush();
    if (!report || !summary || !decisions || !bad_rows) {
      *err << "txscreen backtest: writing into " << options.output_dir
           << " failed\n";
      return 1;
    }
  }
  return result.bad > 0 ? kExitUnreadableRows : 0;
}

std::string BacktestReportJson(const BacktestOptions& options,
                               const BacktestResult& result) {
  const Tally& t = result.tally;
  std::string rules_list;
  for (const std::string& r : options.rules) {
    absl::StrAppend(&rules_list, rules_list.empty() ? "" : ",", "\"",
                    serve::JsonEscape(r), "\"");
  }
  std::string json = absl::StrCat(
      "{\"rules\":[", rules_list, "],\"ruleset_version\":\"",
      serve::JsonEscape(result.ruleset_version), "\",\"input\":\"",
      serve::JsonEscape(options.input.path), "\",\"mapping\":\"",
      serve::JsonEscape(options.input.mapping_path),
      "\",\"rows\":", result.rows, ",\"transactions\":", t.transactions,
      ",\"skipped\":", result.skipped,
      ",\"skip_reasons\":", CountsJson(result.skip_reasons),
      ",\"bad_rows\":", result.bad,
      ",\"truncated_at_line\":", result.truncated_at_line,
      ",\"duplicates\":", result.duplicates,
      ",\"seconds\":", absl::StrFormat("%.3f", result.seconds),
      ",\"verdicts\":", CountsJson(t.verdicts), ",\"rule_hits\":[");
  bool first = true;
  for (const auto& [id, r] : t.rules) {
    absl::StrAppend(&json, first ? "" : ",", "{\"rule_id\":\"",
                    serve::JsonEscape(id), "\",\"hits\":", r.hits,
                    ",\"amount_minor_by_currency\":",
                    CountsJson(r.amount_minor_by_currency));
    if (result.has_labels) {
      Confusion c = r.confusion;
      c.false_negatives = t.positives - c.true_positives;
      c.true_negatives = t.labelled - t.positives - c.false_positives;
      absl::StrAppend(&json, ",\"metrics\":", ConfusionJson(c));
    }
    absl::StrAppend(&json, "}");
    first = false;
  }
  absl::StrAppend(&json, "]");
  if (result.has_labels) {
    absl::StrAppend(&json, ",\"labelled\":", t.labelled,
                    ",\"positives\":", t.positives,
                    ",\"overall\":", ConfusionJson(t.overall));
  }
  if (result.has_groups) {
    absl::StrAppend(&json, ",\"groups\":[");
    first = true;
    for (const auto& [name, g] : t.groups) {
      absl::StrAppend(
          &json, first ? "" : ",", "{\"group\":\"", serve::JsonEscape(name),
          "\",\"transactions\":", g.transactions,
          ",\"positives\":", g.positives, ",\"flagged\":", g.flagged,
          ",\"flagged_positives\":", g.flagged_positives,
          ",\"recall\":", Fixed(g.recall()),
          ",\"rules_on_positives\":", CountsJson(g.rules_on_positives), "}");
      first = false;
    }
    absl::StrAppend(&json, "]");
  }
  return json + "}";
}

void PrintBacktestSummary(const BacktestResult& result, std::ostream* out) {
  const Tally& t = result.tally;
  std::ostream& o = *out;
  o << absl::StrFormat(
      "%d rows: %d transactions screened, %d duplicates, %d skipped, %d bad "
      "(%.1f s, %.0f rows/s)\n",
      result.rows, t.transactions, result.duplicates, result.skipped,
      result.bad, result.seconds,
      Ratio(result.rows, 1) / std::max(result.seconds, 1e-9));
  for (const auto& [why, n] : result.skip_reasons) {
    o << "  skipped " << n << ": " << why << "\n";
  }
  if (result.truncated_at_line > 0) {
    o << "  INPUT NOT READ TO THE END: a malformed row at line "
      << result.truncated_at_line
      << " ended the reading; the figures cover the rows before it\n";
  }
  o << "verdicts:";
  for (const auto& [v, n] : t.verdicts) o << " " << v << " " << n;
  o << "\n\n";
  if (result.has_labels) {
    o << absl::StrFormat("%-14s %9s %6s %6s %9s %7s %6s  %s\n", "rule", "hits",
                         "TP", "FP", "precision", "recall", "F1", "amount");
  } else {
    o << absl::StrFormat("%-14s %9s  %s\n", "rule", "hits", "amount");
  }
  for (const auto& [id, r] : t.rules) {
    if (result.has_labels) {
      Confusion c = r.confusion;
      c.false_negatives = t.positives - c.true_positives;
      o << absl::StrFormat("%-14s %9d %6d %6d %9.3f %7.3f %6.3f  %s\n", id,
                           r.hits, c.true_positives, c.false_positives,
                           c.precision(), c.recall(), c.f1(),
                           Amounts(r.amount_minor_by_currency));
    } else {
      o << absl::StrFormat("%-14s %9d  %s\n", id, r.hits,
                           Amounts(r.amount_minor_by_currency));
    }
  }
  if (t.rules.empty()) o << "(no rule hit)\n";
  if (result.has_labels) {
    const Confusion& c = t.overall;
    o << absl::StrFormat(
        "\noverall (flagged = REVIEW or stronger): %d labelled, %d positive; "
        "TP "
        "%d, FP %d, FN %d, TN %d; precision %.3f, recall %.3f, F1 %.3f\n",
        t.labelled, t.positives, c.true_positives, c.false_positives,
        c.false_negatives, c.true_negatives, c.precision(), c.recall(), c.f1());
  }
  if (result.has_groups && !t.groups.empty()) {
    o << absl::StrFormat("\n%-22s %9s %9s %9s %7s  %s\n", "group", "txs",
                         "positive", "caught", "recall", "rules on positives");
    for (const auto& [name, g] : t.groups) {
      std::string top;
      for (const auto& [id, n] : g.rules_on_positives) {
        absl::StrAppend(&top, top.empty() ? "" : ", ", id, " ", n);
      }
      o << absl::StrFormat("%-22s %9d %9d %9d %7.3f  %s\n", name,
                           g.transactions, g.positives, g.flagged_positives,
                           g.recall(), top);
    }
  }
}

}  // namespace txscreen::compliance
