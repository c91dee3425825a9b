#include "engine/rule_test_runner.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/clock.h"
#include "engine/partition_state.h"
#include "engine/screener.h"
#include "google/protobuf/text_format.h"
#include "rules/currency.h"
#include "rules/money.h"
#include "rules/rule_pack_loader.h"
#include "rules/source_map.h"
#include "txscreen/v1/rule_test.pb.h"

namespace txscreen::engine {

namespace v1 = ::txscreen::v1;
namespace pb = ::google::protobuf;

namespace {

// RFC 3339, or a date taken as midnight in the pack's time zone.
bool ParseTime(const std::string& text, const absl::TimeZone& zone,
               int64_t* us) {
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    *us = absl::ToUnixMicros(t);
    return true;
  }
  absl::CivilDay day;
  if (absl::ParseCivilTime(text, &day)) {
    *us = absl::ToUnixMicros(absl::FromCivil(day, zone));
    return true;
  }
  return false;
}

void SetTimestamp(int64_t us, pb::Timestamp* t) {
  t->set_seconds(us / 1000000);
  t->set_nanos(static_cast<int32_t>(us % 1000000 * 1000));
}

std::string DescribeDecision(const v1::Decision& d) {
  std::vector<std::string> hits;
  for (const v1::RuleHit& h : d.hits()) {
    hits.push_back(absl::StrCat(h.rule_id(), " [",
                                v1::Action_Name(h.action()).substr(7), "] '",
                                h.reason(), "'"));
  }
  std::string out = absl::StrCat(
      v1::Verdict_Name(d.verdict()),
      " (hits: ", hits.empty() ? "none" : absl::StrJoin(hits, "; "), ")");
  if (!d.input_errors().empty()) {
    absl::StrAppend(&out,
                    " input errors: ", absl::StrJoin(d.input_errors(), "; "));
  }
  return out;
}

// Problems with one step's decision against its expectation.
std::vector<std::string> Check(const v1::RuleTestExpectation& e,
                               const v1::Decision& d) {
  std::vector<std::string> problems;
  std::set<std::string> hit_ids;
  for (const v1::RuleHit& h : d.hits()) hit_ids.insert(h.rule_id());
  if (e.verdict() != v1::VERDICT_UNSPECIFIED && e.verdict() != d.verdict()) {
    problems.push_back(
        absl::StrCat("expected verdict ", v1::Verdict_Name(e.verdict())));
  }
  for (const std::string& id : e.hit()) {
    if (!hit_ids.count(id))
      problems.push_back(absl::StrCat("expected hit ", id));
  }
  for (const std::string& id : e.no_hit()) {
    if (hit_ids.count(id))
      problems.push_back(absl::StrCat("expected no hit of ", id));
  }
  for (const std::string& r : e.report()) {
    if (std::find(d.reports().begin(), d.reports().end(), r) ==
        d.reports().end()) {
      problems.push_back(absl::StrCat("expected report ", r));
    }
  }
  if (e.only() && hit_ids.size() != static_cast<size_t>(e.hit_size())) {
    problems.push_back(
        absl::StrCat("expected only hits ", absl::StrJoin(e.hit(), ", ")));
  }
  for (const std::string& s : e.reason_contains()) {
    bool found = std::any_of(
        d.hits().begin(), d.hits().end(),
        [&](const auto& h) { return h.reason().find(s) != std::string::npos; });
    if (!found)
      problems.push_back(
          absl::StrCat("expected a reason containing '", s, "'"));
  }
  return problems;
}

class FileRunner {
 public:
  FileRunner(const std::string& pack_dir, const std::string& path,
             RuleTestReport* report)
      : pack_dir_(pack_dir), path_(path), report_(report) {}

  void Run() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      Fail(absl::StrCat(path_,
                        ": cannot read the file: ", std::strerror(errno)));
      return;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    source_ = std::make_unique<rules::SourceFile>(path_, buffer.str());
    std::vector<std::string> errors;
    if (!rules::ParseTextProto(*source_, &file_, &tree_, &errors)) {
      Fail(absl::StrJoin(errors, "\n"));
      return;
    }
    rules::LoadOptions options;
    for (const v1::ListEntry& e : file_.list_entry()) {
      options.extra_list_entries[e.list()].push_back(e.value());
    }
    rules::LoadResult pack = rules::LoadRulePack({pack_dir_}, options);
    if (!pack.errors.empty()) {
      Fail(absl::StrCat(path_, ": the rule pack does not load:\n",
                        absl::StrJoin(pack.errors, "\n")));
      return;
    }
    const pb::FieldDescriptor* case_field =
        v1::RuleTestFile::descriptor()->FindFieldByName("case");
    for (int i = 0; i < file_.case__size(); ++i) {
      RunCase(pack.rule_set, file_.case_(i),
              tree_.GetTreeForNested(case_field, i),
              source_->Describe(source_->FieldPosition(
                  tree_.GetLocation(case_field, i).line,
                  tree_.GetLocation(case_field, i).column)));
    }
  }

 private:
  void Fail(std::string message) {
    ++report_->failed;
    report_->failures.push_back(std::move(message));
  }

  void RunCase(std::shared_ptr<const rules::RuleSet> rules,
               const v1::RuleTestCase& c,
               const pb::TextFormat::ParseInfoTree* tree,
               const std::string& where) {
    std::unique_ptr<StateStore> store = NewMemoryStateStore();
    PartitionState state(store.get(), 0);
    ManualClock clock;
    ScreenerOptions options;
    options.mark_late = false;
    Screener screener(rules, &state, &clock, options);
    const pb::FieldDescriptor* step_field =
        v1::RuleTestCase::descriptor()->FindFieldByName("step");
    std::vector<std::string> problems;
    for (int j = 0; j < c.step_size(); ++j) {
      const v1::RuleTestStep& step = c.step(j);
      auto loc = tree != nullptr ? tree->GetLocation(step_field, j)
                                 : pb::TextFormat::ParseLocation();
      std::string step_where = absl::StrCat(
          source_->Describe(source_->FieldPosition(loc.line, loc.column)),
          ": case '", c.name(), "' step ", j + 1);
      v1::Transaction tx = file_.defaults();
      tx.MergeFrom(step.tx());
      if (tx.transaction_id().empty()) {
        tx.set_transaction_id(absl::StrCat(c.name(), "#", j + 1));
      }
      int64_t at_us = 0;
      if (!step.at().empty()) {
        if (!ParseTime(step.at(), rules->time_zone(), &at_us)) {
          problems.push_back(absl::StrCat(step_where, ": at '", step.at(),
                                          "' is not an RFC 3339 time"));
          break;
        }
        SetTimestamp(at_us, tx.mutable_occurred_at());
      }
      if (!step.amount().empty()) {
        absl::StatusOr<int> digits = rules::CurrencyMinorDigits(tx.currency());
        absl::StatusOr<int64_t> minor =
            digits.ok() ? rules::ParseDecimalToMinor(step.amount(), *digits,
                                                     tx.currency())
                        : absl::StatusOr<int64_t>(digits.status());
        if (!minor.ok()) {
          problems.push_back(
              absl::StrCat(step_where, ": amount: ", minor.status().message()));
          break;
        }
        tx.set_amount_minor(*minor);
      }
      if (!step.account_opened().empty()) {
        int64_t opened = 0;
        if (!ParseTime(step.account_opened(), rules->time_zone(), &opened)) {
          problems.push_back(absl::StrCat(step_where, ": account_opened '",
                                          step.account_opened(),
                                          "' is not a time or date"));
          break;
        }
        SetTimestamp(opened, tx.mutable_account_opened_at());
      }
      clock.Set(tx.occurred_at().seconds() * 1000000);
      v1::Decision decision;
      if (absl::Status s = screener.Screen(tx, &decision); !s.ok()) {
        problems.push_back(
            absl::StrCat(step_where, ": engine error: ", s.message()));
        break;
      }
      if (!step.has_expect()) {
        // A step without an expectation is history for the steps after
        // it: one that counts nowhere would make them test something else
        // without a word.
        if (decision.verdict() == v1::VERDICT_REJECTED_INPUT) {
          problems.push_back(absl::StrCat(
              step_where,
              ": a step without expect was rejected, so it "
              "counts nowhere (",
              absl::StrJoin(decision.input_errors(), "; "),
              "); fix it, or expect { verdict: VERDICT_REJECTED_INPUT }"));
        } else if (decision.duplicate()) {
          problems.push_back(absl::StrCat(
              step_where,
              ": a step without expect repeats the transaction "
              "id '",
              tx.transaction_id(),
              "' of an earlier step, so it counts nowhere; give it an id "
              "of its own, or an expect"));
        }
        continue;
      }
      std::vector<std::string> p = Check(step.expect(), decision);
      if (!p.empty()) {
        problems.push_back(absl::StrCat(step_where, ": ",
                                        absl::StrJoin(p, ", "), "; got ",
                                        DescribeDecision(decision)));
      }
    }
    if (problems.empty()) {
      ++report_->passed;
      report_->passed_cases.push_back(absl::StrCat(where, ": ", c.name()));
    } else {
      Fail(absl::StrJoin(problems, "\n"));
    }
  }

  std::string pack_dir_;
  std::string path_;
  RuleTestReport* report_;
  std::unique_ptr<rules::SourceFile> source_;
  v1::RuleTestFile file_;
  pb::TextFormat::ParseInfoTree tree_;
};

}  // namespace

absl::StatusOr<RuleTestReport> RunRuleTests(const std::string& pack_dir) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(pack_dir) / "tests";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), ": no tests directory"));
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".textproto") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), ": no *.textproto test files"));
  }
  RuleTestReport report;
  for (const std::string& f : files) FileRunner(pack_dir, f, &report).Run();
  return report;
}

}  // namespace txscreen::engine
