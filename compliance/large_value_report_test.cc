#include "compliance/large_value_report.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "engine/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::compliance {
namespace {

namespace v1 = ::txscreen::v1;
using ::testing::HasSubstr;

LargeValueOptions Options(absl::CivilDay day) {
  LargeValueOptions o;
  o.date = day;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &o.zone));
  o.institution_code = "C0001";
  return o;
}

// A reported cash transaction at Beijing time `local`.
v1::ReportRecord Record(const std::string& id, const std::string& customer,
                        absl::CivilSecond local, int64_t amount_minor,
                        v1::Direction direction = v1::DIRECTION_IN,
                        const std::string& kind = "LARGE_VALUE_CASH") {
  absl::TimeZone shanghai;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  v1::ReportRecord r;
  v1::Transaction* tx = r.mutable_transaction();
  tx->set_transaction_id(id);
  tx->set_customer_id(customer);
  tx->set_account_id("A-" + customer);
  tx->set_amount_minor(amount_minor);
  tx->set_currency("CNY");
  tx->set_cash(true);
  tx->set_direction(direction);
  tx->set_type(direction == v1::DIRECTION_IN
                   ? v1::TRANSACTION_TYPE_CASH_DEPOSIT
                   : v1::TRANSACTION_TYPE_CASH_WITHDRAWAL);
  tx->set_channel(v1::CHANNEL_COUNTER);
  tx->set_region_code("320102");
  tx->set_memo("货款, \"第二批\"");
  engine::SetTimestampMicros(
      absl::ToUnixMicros(absl::FromCivil(local, shanghai)),
      tx->mutable_occurred_at());
  r.add_reports(kind);
  v1::RuleHit* hit = r.add_hits();
  hit->set_rule_id("CN-AML-01");
  hit->set_reason("cash today 60,000.00 CNY");
  r.set_ruleset_version("cn-test");
  r.set_verdict(v1::VERDICT_ALLOW);
  r.set_base_currency("CNY");
  r.set_amount_base_minor(amount_minor);
  r.set_amount_usd_minor(amount_minor * 10 / 71);
  return r;
}

// A retraction of transaction `id` of `customer`, which occurred at Beijing
// time `local`.
v1::ReportRecord Retraction(const std::string& id, const std::string& customer,
                            absl::CivilSecond local, const std::string& cause,
                            const std::string& by = "") {
  absl::TimeZone shanghai;
  EXPECT_TRUE(absl::LoadTimeZone("Asia/Shanghai", &shanghai));
  v1::ReportRecord r;
  v1::Retraction* x = r.mutable_retraction();
  x->set_transaction_id(id);
  x->set_customer_id(customer);
  engine::SetTimestampMicros(
      absl::ToUnixMicros(absl::FromCivil(local, shanghai)),
      x->mutable_occurred_at());
  x->set_cause(cause);
  x->set_by_transaction_id(by);
  return r;
}

TEST(AddWorkingDaysTest, WeekendsHolidaysAndMakeUpDays) {
  LargeValueOptions o = Options(absl::CivilDay(2026, 11, 20));
  // Friday 20 Nov + 5 working days = Friday 27 Nov.
  EXPECT_EQ(AddWorkingDays(absl::CivilDay(2026, 11, 20), 5, o),
            absl::CivilDay(2026, 11, 27));
  // National Day week: 1-7 Oct off, Sunday 27 Sep and Saturday 10 Oct
  // worked (an example 调休 calendar).
  for (int d = 1; d <= 7; ++d) o.holidays.insert(absl::CivilDay(2026, 10, d));
  o.working_weekend_days = {absl::CivilDay(2026, 9, 27),
                            absl::CivilDay(2026, 10, 10)};
  // Fri 25 Sep: Sun 27, Mon 28, Tue 29, Wed 30, (1-7 off), Thu 8.
  EXPECT_EQ(AddWorkingDays(absl::CivilDay(2026, 9, 25), 5, o),
            absl::CivilDay(2026, 10, 8));
  // Wed 30 Sep: Thu 8, Fri 9, Sat 10, Mon 12, Tue 13.
  EXPECT_EQ(AddWorkingDays(absl::CivilDay(2026, 9, 30), 5, o),
            absl::CivilDay(2026, 10, 13));
}

TEST(LargeValueReportTest, OneRecordPerCustomerDirectionAndKind) {
  LargeValueReport report(Options(absl::CivilDay(2026, 11, 20)));
  report.Add(
      Record("T2", "C1", absl::CivilSecond(2026, 11, 20, 10, 0, 0), 3000000));
  report.Add(
      Record("T1", "C1", absl::CivilSecond(2026, 11, 20, 9, 0, 0), 6000000));
  report.Add(Record("T3", "C1", absl::CivilSecond(2026, 11, 20, 11, 0, 0),
                    7000000, v1::DIRECTION_OUT));
  report.Add(
      Record("T4", "C2", absl::CivilSecond(2026, 11, 20, 12, 0, 0), 5000000));
  EXPECT_EQ(report.report_count(), 3u);
  const std::string jsonl = report.Jsonl();
  std::vector<std::string> lines =
      absl::StrSplit(jsonl, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(
      lines[0],
      HasSubstr("{\"report_id\":\"2026-11-20-C1-IN-LARGE_VALUE_CASH\","
                "\"report_kind\":\"LARGE_VALUE_CASH\",\"report_date\":"
                "\"2026-11-20\",\"deadline\":\"2026-11-27\","
                "\"institution_code\":\"C0001\",\"customer_id\":\"C1\","
                "\"customer_kind\":\"UNSPECIFIED\",\"direction\":\"IN\","
                "\"accounts\":[\"A-C1\"],\"transaction_count\":2,"
                "\"total_cny\":\"90000.00\",\"total_usd\":\"12676.05\""));
  // Transactions in time order: T1 (09:00) before T2 (10:00).
  EXPECT_LT(lines[0].find("\"T1\""), lines[0].find("\"T2\""));
  EXPECT_THAT(lines[0],
              HasSubstr("\"occurred_at\":\"2026-11-20T09:00:00+08:00\""));
  EXPECT_THAT(
      lines[1],
      HasSubstr("\"report_id\":\"2026-11-20-C1-OUT-LARGE_VALUE_CASH\""));
  EXPECT_THAT(lines[2],
              HasSubstr("\"report_id\":\"2026-11-20-C2-IN-LARGE_VALUE_CASH\""));
}

TEST(LargeValueReportTest, TheDayIsTheNaturalDayInBeijing) {
  LargeValueReport report(Options(absl::CivilDay(2026, 11, 20)));
  report.Add(Record("before", "C1", absl::CivilSecond(2026, 11, 19, 23, 59, 0),
                    6000000));
  report.Add(
      Record("first", "C1", absl::CivilSecond(2026, 11, 20, 0, 1, 0), 6000000));
  report.Add(Record("last", "C1", absl::CivilSecond(2026, 11, 20, 23, 59, 0),
                    6000000));
  report.Add(
      Record("after", "C1", absl::CivilSecond(2026, 11, 21, 0, 1, 0), 6000000));
  EXPECT_EQ(report.records_read(), 4);
  EXPECT_EQ(report.records_of_day(), 2);
  const std::string csv = report.Csv();
  EXPECT_THAT(csv, HasSubstr(",first,"));
  EXPECT_THAT(csv, HasSubstr(",last,"));
  EXPECT_EQ(csv.find(",before,"), std::string::npos);
  EXPECT_EQ(csv.find(",after,"), std::string::npos);
}

TEST(LargeValueReportTest, SameBytesWhateverTheOrderAndRepeats) {
  std::vector<v1::ReportRecord> records;
  for (int i = 0; i < 20; ++i) {
    records.push_back(
        Record("T" + std::to_string(i), "C" + std::to_string(i % 4),
               absl::CivilSecond(2026, 11, 20, 8 + i % 10, i, 0), 5000000 + i,
               i % 3 ? v1::DIRECTION_IN : v1::DIRECTION_OUT,
               i % 5 ? "LARGE_VALUE_CASH" : "LARGE_VALUE_TRANSFER"));
  }
  LargeValueReport a(Options(absl::CivilDay(2026, 11, 20)));
  for (const auto& r : records) a.Add(r);
  std::reverse(records.begin(), records.end());
  LargeValueReport b(Options(absl::CivilDay(2026, 11, 20)));
  for (const auto& r : records) b.Add(r);
  for (const auto& r : records) b.Add(r);  // the topic read twice
  EXPECT_EQ(b.duplicates(), 20);
  // A second, different record of T3 (decided again after a rewind): the
  // same one is kept whichever comes first.
  v1::ReportRecord again = records[16];
  again.set_ruleset_version("cn-test-2");
  a.Add(again);
  LargeValueReport c(Options(absl::CivilDay(2026, 11, 20)));
  c.Add(again);
  for (const auto& r : records) c.Add(r);
  b.Add(again);
  EXPECT_EQ(a.Csv(), c.Csv());
  EXPECT_EQ(b.Jsonl(), c.Jsonl());
  EXPECT_EQ(a.Csv(), b.Csv());
  EXPECT_EQ(a.Jsonl(), b.Jsonl());
}

TEST(LargeValueReportTest, CsvQuotesAndOtherReportKindsAreLeftOut) {
  LargeValueReport report(Options(absl::CivilDay(2026, 11, 20)));
  report.Add(
      Record("T1", "C1", absl::CivilSecond(2026, 11, 20, 9, 0, 0), 6000000));
  report.Add(Record("T2", "C1", absl::CivilSecond(2026, 11, 20, 9, 0, 0),
                    6000000, v1::DIRECTION_IN, "SUSPICIOUS_STRUCTURING"));
  EXPECT_EQ(report.records_of_day(), 1);
  std::vector<std::string> lines =
      absl::StrSplit(report.Csv(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("report_id,report_kind,report_date,deadline,"
                                  "institution_code,customer_id"));
  EXPECT_THAT(lines[1],
              HasSubstr(",\"货款, \"\"第二批\"\"\",CNY,60000.00,60000.00,"
                        "8450.70,"));
  EXPECT_THAT(lines[1],
              HasSubstr(",CN-AML-01,\"CN-AML-01: cash today 60,000.00 "
                        "CNY\",ALLOW,cn-test"));
}

// A reversed transaction, or a held one that was cancelled, did not
// happen: it leaves the report, whether its retraction is read before or
// after its record, and the customer's later transactions of the day name
// it, since a same-day cumulative in their reasons may have counted it.
TEST(LargeValueReportTest, RetractedTransactionsLeaveTheReport) {
  const absl::CivilDay day(2026, 11, 20);
  std::vector<v1::ReportRecord> records = {
      // C1: one deposit of 60,000, reversed: no report at all.
      Record("T1", "C1", absl::CivilSecond(2026, 11, 20, 9, 0, 0), 6000000),
      Retraction("T1", "C1", absl::CivilSecond(2026, 11, 20, 9, 0, 0),
                 "REVERSAL", "T1-R"),
      // C2: 40,000 (no record of its own) then 20,000 reported on the
      // cumulative; the 40,000 is reversed. A later deposit of 70,000 is
      // named too; the 08:00 one before the reversed part is not.
      Record("T3", "C2", absl::CivilSecond(2026, 11, 20, 8, 0, 0), 7000000),
      Retraction("T2", "C2", absl::CivilSecond(2026, 11, 20, 10, 0, 0),
                 "REVERSAL", "T2-R"),
      Record("T4", "C2", absl::CivilSecond(2026, 11, 20, 11, 0, 0), 2000000),
      // C3: a held withdrawal the teller cancelled.
      Record("T5", "C3", absl::CivilSecond(2026, 11, 20, 12, 0, 0), 9000000,
             v1::DIRECTION_OUT),
      Retraction("T5", "C3", absl::CivilSecond(2026, 11, 20, 12, 0, 0),
                 "CANCEL"),
      // Another day's retraction of the same id as a record of this day
      // changes nothing (ids are unique; this is another day's report).
      Retraction("T3", "C2", absl::CivilSecond(2026, 11, 21, 8, 0, 0),
                 "CANCEL"),
  };
  LargeValueReport a(Options(day));
  for (const auto& r : records) a.Add(r);
  EXPECT_EQ(a.report_count(), 1u);
  EXPECT_EQ(a.withdrawn(), 2);
  std::vector<std::string> lines =
      absl::StrSplit(a.Csv(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr(",ruleset_version,retracted_same_day"));
  EXPECT_THAT(lines[1], HasSubstr(",T3,"));
  EXPECT_THAT(lines[1], ::testing::EndsWith(",cn-test,"));
  EXPECT_THAT(lines[2], HasSubstr(",T4,"));
  EXPECT_THAT(lines[2], ::testing::EndsWith(",cn-test,T2 (REVERSAL by T2-R)"));
  const std::string jsonl = a.Jsonl();
  EXPECT_THAT(jsonl, HasSubstr("\"transaction_count\":2"));
  EXPECT_EQ(jsonl.find("\"T1\""), std::string::npos);
  EXPECT_EQ(jsonl.find("\"T5\""), std::string::npos);

  std::reverse(records.begin(), records.end());
  LargeValueReport b(Options(day));
  for (const auto& r : records) b.Add(r);
  EXPECT_EQ(a.Csv(), b.Csv());
  EXPECT_EQ(a.Jsonl(), b.Jsonl());
}

}  // namespace
}  // namespace txscreen::compliance
