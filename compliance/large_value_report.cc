#include "compliance/large_value_report.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/clock.h"
#include "engine/enum_names.h"
#include "rules/currency.h"
#include "rules/money.h"
#include "serve/json_util.h"

namespace txscreen::compliance {

namespace v1 = ::txscreen::v1;

namespace {

// Minor units as a plain decimal: (-123456, 2) -> "-1234.56".
std::string Decimal(int64_t minor, int digits) {
  const bool negative = minor < 0;
  const uint64_t v = negative ? 0 - static_cast<uint64_t>(minor)
                              : static_cast<uint64_t>(minor);
  if (digits <= 0) return absl::StrCat(negative ? "-" : "", v);
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  const std::string fraction = absl::StrCat(v % scale);
  return absl::StrCat(negative ? "-" : "", v / scale, ".",
                      std::string(digits - fraction.size(), '0'), fraction);
}

int Digits(absl::string_view currency) {
  auto d = rules::CurrencyMinorDigits(currency);
  return d.ok() ? *d : 0;
}

std::string Day(absl::CivilDay d) { return absl::FormatCivilTime(d); }

std::string CsvField(absl::string_view v) {
  if (v.find_first_of(",\"\r\n") == absl::string_view::npos &&
      (v.empty() || (v.front() != ' ' && v.back() != ' '))) {
    return std::string(v);
  }
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

constexpr const char* kReportColumns[] = {
    "report_id",        "report_kind", "report_date",   "deadline",
    "institution_code", "customer_id", "customer_kind", "direction"};

// The fields of one reported transaction, in report order.
std::vector<std::pair<std::string, std::string>> TransactionFields(
    const v1::ReportRecord& r, const absl::TimeZone& zone,
    std::string retracted_same_day) {
  const v1::Transaction& tx = r.transaction();
  const int64_t us = engine::TimestampMicros(tx.occurred_at());
  std::vector<std::string> rule_ids, reasons;
  for (const v1::RuleHit& h : r.hits()) {
    rule_ids.push_back(h.rule_id());
    reasons.push_back(absl::StrCat(h.rule_id(), ": ", h.reason()));
  }
  const int base_digits = Digits(r.base_currency());
  return {
      {"account_id", tx.account_id()},
      {"account_region_code", tx.account_region_code()},
      {"transaction_id", tx.transaction_id()},
      {"occurred_at", absl::FormatTime("%Y-%m-%dT%H:%M:%S%Ez",
                                       absl::FromUnixMicros(us), zone)},
      {"region_code", tx.region_code()},
      {"branch_id", tx.branch_id()},
      {"transaction_type", engine::ShortEnumName(tx.type())},
      {"cash", tx.cash() ? "true" : "false"},
      {"cross_border", tx.cross_border() ? "true" : "false"},
      {"purpose_code", tx.purpose_code()},
      {"memo", tx.memo()},
      {"currency", tx.currency()},
      {"amount", Decimal(tx.amount_minor(), Digits(tx.currency()))},
      {"amount_cny", r.base_currency() == "CNY"
                         ? Decimal(r.amount_base_minor(), base_digits)
                         : ""},
      {"amount_usd", Decimal(r.amount_usd_minor(), 2)},
      {"counterparty_name", tx.counterparty().name()},
      {"counterparty_account_id", tx.counterparty().account_id()},
      {"counterparty_bank_code", tx.counterparty().bank_code()},
      {"counterparty_region_code", tx.counterparty().region_code()},
      {"counterparty_on_us", tx.counterparty().on_us() ? "true" : "false"},
      {"channel", engine::ShortEnumName(tx.channel())},
      {"terminal_id", tx.terminal_id()},
      {"device_id", tx.device_id()},
      {"teller_id", tx.teller_id()},
      {"rules", absl::StrJoin(rule_ids, " ")},
      // The same-day cumulative the rule saw, in words.
      {"reason", absl::StrJoin(reasons, "; ")},
      {"verdict", engine::ShortEnumName(r.verdict())},
      {"ruleset_version", r.ruleset_version()},
      // Transactions of the customer earlier that day that did not happen
      // after all: if the reason's cumulative counted them, check that
      // the threshold is still reached.
      {"retracted_same_day", std::move(retracted_same_day)},
  };
}

}  // namespace

absl::CivilDay AddWorkingDays(absl::CivilDay day, int n,
                              const LargeValueOptions& options) {
  while (n > 0) {
    day += 1;
    const absl::Weekday w = absl::GetWeekday(day);
    const bool weekend =
        w == absl::Weekday::saturday || w == absl::Weekday::sunday;
    const bool working = weekend ? options.working_weekend_days.count(day) != 0
                                 : options.holidays.count(day) == 0;
    if (working) --n;
  }
  return day;
}

LargeValueReport::LargeValueReport(LargeValueOptions options)
    : options_(std::move(options)),
      deadline_(AddWorkingDays(options_.date, 5, options_)) {}

void LargeValueReport::Add(const v1::ReportRecord& record) {
  ++read_;
  if (record.has_retraction()) {
    const v1::Retraction& r = record.retraction();
    const absl::CivilDay day = absl::ToCivilDay(
        absl::FromUnixMicros(engine::TimestampMicros(r.occurred_at())),
        options_.zone);
    if (day != options_.date) return;
    // Of two retractions of one id (a reversal of a released hold's
    // transaction cannot follow a cancel), keep the same one whatever the
    // order.
    auto [it, inserted] = retracted_.emplace(r.transaction_id(), r);
    if (!inserted && r.SerializeAsString() < it->second.SerializeAsString()) {
      retracted_of_customer_[it->second.customer_id()].erase(
          r.transaction_id());
      it->second = r;
    }
    retracted_of_customer_[r.customer_id()].insert(r.transaction_id());
    return;
  }
  const v1::Transaction& tx = record.transaction();
  const int64_t us = engine::TimestampMicros(tx.occurred_at());
  const absl::CivilDay day =
      absl::ToCivilDay(absl::FromUnixMicros(us), options_.zone);
  if (day != options_.date) return;
  bool large_value = false;
  for (const std::string& kind : record.reports()) {
    large_value |= absl::StartsWith(kind, "LARGE_VALUE");
  }
  if (!large_value) return;
  ++of_day_;
  auto [it, inserted] = records_.emplace(tx.transaction_id(), record);
  if (!inserted) {
    ++duplicates_;
    // Two different records of one transaction (decided again after a
    // rewind): keep the same one whatever the input order.
    if (record.SerializeAsString() >= it->second.SerializeAsString()) return;
    const v1::Transaction& old_tx = it->second.transaction();
    const std::string old_direction = engine::ShortEnumName(old_tx.direction());
    const int64_t old_us = engine::TimestampMicros(old_tx.occurred_at());
    for (const std::string& kind : it->second.reports()) {
      auto e = entries_.find({old_tx.customer_id(), old_direction, kind});
      if (e == entries_.end()) continue;
      e->second.erase({old_us, tx.transaction_id()});
      if (e->second.empty()) entries_.erase(e);
    }
    it->second = record;
  }
  const std::string direction = engine::ShortEnumName(tx.direction());
  for (const std::string& kind : record.reports()) {
    if (!absl::StartsWith(kind, "LARGE_VALUE")) continue;
    entries_[{tx.customer_id(), direction, kind}].emplace(us,
                                                          tx.transaction_id());
  }
}

LargeValueReport::Entries LargeValueReport::Kept() const {
  Entries kept;
  for (const auto& [key, txs] : entries_) {
    for (const auto& entry : txs) {
      if (retracted_.count(entry.second) == 0) kept[key].push_back(entry);
    }
  }
  return kept;
}

int64_t LargeValueReport::withdrawn() const {
  int64_t n = 0;
  for (const auto& [id, unused] : retracted_) n += records_.count(id);
  return n;
}

std::string LargeValueReport::RetractedBefore(
    const v1::ReportRecord& record) const {
  const v1::Transaction& tx = record.transaction();
  const int64_t us = engine::TimestampMicros(tx.occurred_at());
  std::vector<std::pair<int64_t, std::string>> found;
  auto ids = retracted_of_customer_.find(tx.customer_id());
  if (ids == retracted_of_customer_.end()) return "";
  for (const std::string& id : ids->second) {
    const v1::Retraction& r = retracted_.at(id);
    const int64_t at = engine::TimestampMicros(r.occurred_at());
    // One reversed before it arrived counted in no cumulative.
    if (id == tx.transaction_id() || at > us ||
        r.cause() == "REVERSED_BEFORE_ARRIVAL") {
      continue;
    }
    found.emplace_back(at,
                       absl::StrCat(id, " (", r.cause(),
                                    r.by_transaction_id().empty() ? "" : " by ",
                                    r.by_transaction_id(), ")"));
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> parts;
  for (auto& [at, text] : found) parts.push_back(std::move(text));
  return absl::StrJoin(parts, " ");
}

std::string LargeValueReport::ReportId(const Key& key) const {
  return absl::StrCat(absl::FormatCivilTime(options_.date), "-",
                      std::get<0>(key), "-", std::get<1>(key), "-",
                      std::get<2>(key));
}

std::string LargeValueReport::Csv() const {
  std::vector<std::string> header(std::begin(kReportColumns),
                                  std::end(kReportColumns));
  for (const auto& [name, unused] :
       TransactionFields(v1::ReportRecord(), options_.zone, "")) {
    header.push_back(name);
  }
  std::string out = absl::StrJoin(header, ",") + "\n";
  for (const auto& [key, txs] : Kept()) {
    for (const auto& [us, id] : txs) {
      const v1::ReportRecord& r = records_.at(id);
      std::vector<std::string> row = {
          ReportId(key),
          std::get<2>(key),
          Day(options_.date),
          Day(deadline_),
          options_.institution_code,
          std::get<0>(key),
          engine::ShortEnumName(r.transaction().customer().kind()),
          std::get<1>(key)};
      for (auto& [name, value] :
           TransactionFields(r, options_.zone, RetractedBefore(r))) {
        row.push_back(std::move(value));
      }
      for (size_t i = 0; i < row.size(); ++i) {
        absl::StrAppend(&out, i ? "," : "", CsvField(row[i]));
      }
      out += "\n";
    }
  }
  return out;
}

std::string LargeValueReport::Jsonl() const {
  std::string out;
  auto str = [](absl::string_view v) {
    return absl::StrCat("\"", serve::JsonEscape(v), "\"");
  };
  for (const auto& [key, txs] : Kept()) {
    int64_t total_base = 0, total_usd = 0;
    std::string base_currency, customer_kind, items;
    std::set<std::string> accounts;
    for (const auto& [us, id] : txs) {
      const v1::ReportRecord& r = records_.at(id);
      total_base = rules::SaturatingAdd(total_base, r.amount_base_minor());
      total_usd = rules::SaturatingAdd(total_usd, r.amount_usd_minor());
      base_currency = r.base_currency();
      customer_kind = engine::ShortEnumName(r.transaction().customer().kind());
      accounts.insert(r.transaction().account_id());
      std::string item = "{";
      bool first = true;
      for (const auto& [name, value] :
           TransactionFields(r, options_.zone, RetractedBefore(r))) {
        absl::StrAppend(&item, first ? "" : ",", str(name), ":", str(value));
        first = false;
      }
      absl::StrAppend(&items, items.empty() ? "" : ",", item, "}");
    }
    std::vector<std::string> account_list;
    for (const std::string& a : accounts) account_list.push_back(str(a));
    absl::StrAppend(
        &out, "{\"report_id\":", str(ReportId(key)),
        ",\"report_kind\":", str(std::get<2>(key)),
        ",\"report_date\":", str(Day(options_.date)),
        ",\"deadline\":", str(Day(deadline_)),
        ",\"institution_code\":", str(options_.institution_code),
        ",\"customer_id\":", str(std::get<0>(key)),
        ",\"customer_kind\":", str(customer_kind),
        ",\"direction\":", str(std::get<1>(key)), ",\"accounts\":[",
        absl::StrJoin(account_list, ","), "]",
        ",\"transaction_count\":", txs.size(), ",\"total_cny\":",
        str(base_currency == "CNY" ? Decimal(total_base, Digits("CNY")) : ""),
        ",\"total_usd\":", str(Decimal(total_usd, 2)), ",\"transactions\":[",
        items, "]}\n");
  }
  return out;
}

}  // namespace txscreen::compliance
