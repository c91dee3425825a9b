// File: large_value_report.h
//
// The large-value transaction report of one day (大额交易报告; PBOC Order
// 2016 No. 3, Art. 5), built from report records (report.proto) -- what the
// engine publishes on `txscreen.reports` and `txscreen screen --reports`
// writes.
//
// One record per customer, direction and report kind, holding that day's
// reported transactions with the fields of the PBOC/CAMLMAC layout that
// txscreen holds: institution, customer and account, transaction time and
// place, direction, purpose, currency and amount with CNY and USD
// equivalents (as converted at decision time), counterparty institution,
// account and region, channel, terminal and device codes. The day is the
// natural day in the configured zone (default Asia/Shanghai), like the
// rules' same-day cumulative. The deadline is the 5th working day after it
// (Monday to Friday, minus configured holidays, plus configured working
// weekend days).
//
// Deterministic: records are deduplicated by transaction id and everything
// is sorted, so the same input gives the same bytes, whatever its order.
//
// Thread safety: none.
#ifndef TXSCREEN_COMPLIANCE_LARGE_VALUE_REPORT_H_
#define TXSCREEN_COMPLIANCE_LARGE_VALUE_REPORT_H_

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "txscreen/v1/report.pb.h"

namespace txscreen::compliance {

struct LargeValueOptions {
  absl::CivilDay date;
  absl::TimeZone zone;
  // The reporting institution's code (金融机构代码); required.
  std::string institution_code;
  // Days that are not working days although Monday-Friday (public
  // holidays), and weekend days that are (调休 make-up days).
  std::set<absl::CivilDay> holidays;
  std::set<absl::CivilDay> working_weekend_days;
};

// The `n`th working day after `day`.
absl::CivilDay AddWorkingDays(absl::CivilDay day, int n,
                              const LargeValueOptions& options);

class LargeValueReport {
 public:
  explicit LargeValueReport(LargeValueOptions options);

  // Takes one record; ignores those of other days and without a
  // LARGE_VALUE_* kind. A second record of a transaction id is counted as
  // a duplicate and ignored. A retraction (the transaction was reversed,
  // or held and not released) takes its transaction out of the report,
  // whichever comes first, and is named beside the customer's other
  // transactions of the day from then on (`retracted_same_day`): a
  // same-day cumulative in their reasons may have counted it.
  void Add(const txscreen::v1::ReportRecord& record);

  int64_t records_read() const { return read_; }
  int64_t records_of_day() const { return of_day_; }
  int64_t duplicates() const { return duplicates_; }
  // Transactions of the day with a record that a retraction took out.
  int64_t withdrawn() const;
  size_t report_count() const { return Kept().size(); }
  absl::CivilDay deadline() const { return deadline_; }

  // One line per transaction, with its report's id, after a header.
  std::string Csv() const;
  // One JSON object per report (customer, direction, kind) with its
  // transactions.
  std::string Jsonl() const;

 private:
  // (customer, direction, kind) -> transaction ids sorted by time, id.
  using Key = std::tuple<std::string, std::string, std::string>;
  using Entries = std::map<Key, std::vector<std::pair<int64_t, std::string>>>;
  std::string ReportId(const Key& key) const;
  // entries_ without retracted transactions, and without reports left
  // with none.
  Entries Kept() const;
  // The retractions of `record`'s customer's other transactions of the
  // day up to its time, as "ID (CAUSE[ by ID])", space-separated.
  std::string RetractedBefore(const txscreen::v1::ReportRecord& record) const;

  LargeValueOptions options_;
  absl::CivilDay deadline_;
  std::map<std::string, txscreen::v1::ReportRecord> records_;  // by id
  std::map<Key, std::set<std::pair<int64_t, std::string>>> entries_;
  // Retractions of transactions of the day, by transaction id.
  std::map<std::string, txscreen::v1::Retraction> retracted_;
  // Customer id -> the ids of retracted_ of that customer.
  std::map<std::string, std::set<std::string>> retracted_of_customer_;
  int64_t read_ = 0, of_day_ = 0, duplicates_ = 0;
};

}  // namespace txscreen::compliance

#endif  // TXSCREEN_COMPLIANCE_LARGE_VALUE_REPORT_H_
