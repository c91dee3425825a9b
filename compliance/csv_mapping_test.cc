#include "compliance/csv_mapping.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/csv.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace txscreen::compliance {
namespace {

namespace v1 = ::txscreen::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The fields every transaction needs, from columns id,time,customer,amount.
constexpr char kBase[] = R"pb(
  field { path: "transaction_id" column: "id" }
  field { path: "occurred_at" column: "time" }
  field { path: "customer_id" column: "customer" }
  field { path: "account_id" template: "A-{customer}" }
  field { path: "amount_minor" column: "amount" }
  field { path: "currency" constant: "CNY" }
  field { path: "type" constant: "TRANSFER_OUT" }
  field { path: "channel" constant: "COUNTER" }
  field { path: "direction" constant: "OUT" }
)pb";

std::vector<std::string> Errors(const std::string& text) {
  std::vector<std::string> errors;
  std::unique_ptr<CsvMapping> m =
      CsvMapping::Parse("m.textproto", text, &errors);
  EXPECT_EQ(m == nullptr, !errors.empty());
  return errors;
}

// Parses `mapping`, binds the first row of `csv`, maps the rest.
struct Mapped {
  std::vector<v1::Transaction> txs;
  std::vector<std::string> problems;  // "LINE: skipped|bad: why"
};

Mapped MapAll(const std::string& mapping, const std::string& csv) {
  Mapped out;
  std::vector<std::string> errors;
  std::unique_ptr<CsvMapping> m =
      CsvMapping::Parse("m.textproto", mapping, &errors);
  EXPECT_TRUE(errors.empty()) << absl::StrJoin(errors, "\n");
  if (m == nullptr) return out;
  engine::CsvReader reader(csv, m->separator());
  engine::CsvRow row;
  engine::CsvRow header;
  if (m->has_header()) {
    EXPECT_TRUE(reader.Next(&header));
  }
  EXPECT_TRUE(m->BindHeader(header, &errors)) << absl::StrJoin(errors, "\n");
  while (reader.Next(&row)) {
    v1::Transaction tx;
    std::string why;
    switch (m->Map(row, &tx, &why)) {
      case CsvMapping::RowResult::kTransaction:
        out.txs.push_back(tx);
        break;
      case CsvMapping::RowResult::kSkipped:
        out.problems.push_back(absl::StrCat(row.line, ": skipped: ", why));
        break;
      case CsvMapping::RowResult::kBad:
        out.problems.push_back(absl::StrCat(row.line, ": bad: ", why));
        break;
    }
  }
  EXPECT_EQ(reader.error(), "");
  return out;
}

TEST(CsvMappingTest, MapsColumnsTemplatesAndConstants) {
  Mapped r = MapAll(kBase,
                    "id,time,customer,amount\n"
                    "T1,2026-11-20T09:30:00+08:00,C1,49999.99\n");
  ASSERT_EQ(r.txs.size(), 1u) << absl::StrJoin(r.problems, "\n");
  const v1::Transaction& tx = r.txs[0];
  EXPECT_EQ(tx.transaction_id(), "T1");
  EXPECT_EQ(tx.customer_id(), "C1");
  EXPECT_EQ(tx.account_id(), "A-C1");
  EXPECT_EQ(tx.amount_minor(), 4999999);
  EXPECT_EQ(tx.currency(), "CNY");
  EXPECT_EQ(tx.type(), v1::TRANSACTION_TYPE_TRANSFER_OUT);
  EXPECT_EQ(tx.channel(), v1::CHANNEL_COUNTER);
  EXPECT_EQ(tx.direction(), v1::DIRECTION_OUT);
  EXPECT_EQ(tx.occurred_at().seconds(), 1795138200);  // 01:30 UTC
}

TEST(CsvMappingTest, TimeFormats) {
  auto seconds = [](const std::string& time_field, const std::string& cell) {
    std::string mapping = kBase;
    mapping.replace(
        mapping.find("field { path: \"occurred_at\" column: \"time\" }"),
        std::string("field { path: \"occurred_at\" column: \"time\" }").size(),
        time_field);
    Mapped r =
        MapAll(mapping, "id,time,customer,amount\nT1,\"" + cell + "\",C1,1\n");
    EXPECT_EQ(r.txs.size(), 1u) << absl::StrJoin(r.problems, "\n");
    return r.txs.empty() ? int64_t{-1} : r.txs[0].occurred_at().seconds();
  };
  const std::string iso = "field { path: \"occurred_at\" column: \"time\" }";
  // Without an offset: the mapping's zone, Asia/Shanghai by default.
  EXPECT_EQ(seconds(iso, "2026-11-20 09:30:00"), 1795138200);
  EXPECT_EQ(seconds(iso, "2026-11-20T01:30:00Z"), 1795138200);
  EXPECT_EQ(seconds("field { path: \"occurred_at\" column: \"time\" "
                    "time { format: \"%Y/%m/%d %H:%M\" zone: \"UTC\" } }",
                    "2026/11/20 01:30"),
            1795138200);
  EXPECT_EQ(seconds("field { path: \"occurred_at\" column: \"time\" "
                    "time { format: \"epoch_seconds\" } }",
                    "1795138200"),
            1795138200);
  EXPECT_EQ(seconds("field { path: \"occurred_at\" column: \"time\" "
                    "time { format: \"epoch_millis\" } }",
                    "1795138200123"),
            1795138200);
  // PaySim-style steps: hour 3 after the start.
  EXPECT_EQ(
      seconds("field { path: \"occurred_at\" column: \"time\" time { format: "
              "\"step\" start: \"2026-11-20T00:00:00+08:00\" unit: \"1h\" } }",
              "3"),
      1795104000 + 3 * 3600);
}

TEST(CsvMappingTest, AmountScaleRoundingAndMinorUnits) {
  std::string mapping = kBase;
  Mapped r = MapAll(mapping,
                    "id,time,customer,amount\n"
                    "T1,2026-11-20T09:30:00+08:00,C1,\"1,234.5\"\n"
                    "T2,2026-11-20T09:30:00+08:00,C1,1.234\n"
                    "T3,2026-11-20T09:30:00+08:00,C1,12a\n");
  ASSERT_EQ(r.txs.size(), 1u);
  EXPECT_EQ(r.txs[0].amount_minor(), 123450);
  EXPECT_THAT(
      r.problems,
      ElementsAre(HasSubstr("3: bad: column 'amount' -> amount_minor: amount "
                            "'1.234' has more decimals than CNY allows (2) "
                            "(amount { round: true } rounds)"),
                  HasSubstr("4: bad: column 'amount' -> amount_minor: amount "
                            "'12a' is not a decimal number")));
  std::string rounding = kBase;
  rounding.replace(rounding.find("column: \"amount\" }"), 18,
                   "column: \"amount\" amount { round: true } }");
  r = MapAll(rounding,
             "id,time,customer,amount\n"
             "T1,2026-11-20T09:30:00+08:00,C1,1.235\n"
             "T2,2026-11-20T09:30:00+08:00,C1,1.2349\n");
  ASSERT_EQ(r.txs.size(), 2u) << absl::StrJoin(r.problems, "\n");
  EXPECT_EQ(r.txs[0].amount_minor(), 124);
  EXPECT_EQ(r.txs[1].amount_minor(), 123);
  std::string minor = kBase;
  minor.replace(minor.find("column: \"amount\" }"), 18,
                "column: \"amount\" amount { minor_units: true } }");
  r = MapAll(minor,
             "id,time,customer,amount\nT1,2026-11-20T09:30:00+08:00,C1,500\n");
  ASSERT_EQ(r.txs.size(), 1u);
  EXPECT_EQ(r.txs[0].amount_minor(), 500);
}

TEST(CsvMappingTest, ValueMapsSetFieldsAndRejectUnmapped) {
  std::string mapping = absl::StrCat(kBase, R"pb(
    field {
      column: "format"
      value {
        from: "Cash"
        set { path: "cash" value: "true" }
        set { path: "type" value: "cash deposit" }
      }
      value {
        from: "Wire"
        set { path: "channel" value: "CHANNEL_ONLINE" }
      }
    }
    field {
      path: "counterparty.region_code"
      column: "region"
      default: "310000"
      value { from: "SH" to: "310000" }
      unmapped: UNMAPPED_KEEP
    }
  )pb");
  Mapped r = MapAll(mapping,
                    "id,time,customer,amount,format,region\n"
                    "T1,2026-11-20T09:30:00+08:00,C1,1,Cash,SH\n"
                    "T2,2026-11-20T09:30:00+08:00,C1,1,Wire,110000\n"
                    "T3,2026-11-20T09:30:00+08:00,C1,1,Wire,\n"
                    "T4,2026-11-20T09:30:00+08:00,C1,1,Cheque,SH\n");
  ASSERT_EQ(r.txs.size(), 3u);
  EXPECT_TRUE(r.txs[0].cash());
  EXPECT_EQ(r.txs[0].type(), v1::TRANSACTION_TYPE_CASH_DEPOSIT);
  EXPECT_EQ(r.txs[0].counterparty().region_code(), "310000");
  EXPECT_EQ(r.txs[1].channel(), v1::CHANNEL_ONLINE);
  EXPECT_EQ(r.txs[1].counterparty().region_code(), "110000");
  EXPECT_EQ(r.txs[2].counterparty().region_code(), "310000");  // default
  EXPECT_THAT(r.problems,
              ElementsAre("5: bad: column 'format': value 'Cheque' is "
                          "not mapped (mapped: Cash, Wire)"));
}

TEST(CsvMappingTest, SkipRowsAreCountedWithTheReason) {
  std::string mapping = absl::StrCat(kBase, R"pb(
    skip { column: "status" equals: "FAILED" equals: "CANCELLED" }
    skip { index: 1 empty: true }
  )pb");
  Mapped r = MapAll(mapping,
                    "id,time,customer,amount,status\n"
                    "T1,2026-11-20T09:30:00+08:00,C1,1,OK\n"
                    "T2,2026-11-20T09:30:00+08:00,C1,1,FAILED\n"
                    ",2026-11-20T09:30:00+08:00,C1,1,OK\n");
  EXPECT_EQ(r.txs.size(), 1u);
  EXPECT_THAT(r.problems, ElementsAre("3: skipped: column 'status' is 'FAILED'",
                                      "4: skipped: column 1 is empty"));
}

TEST(CsvMappingTest, CsvEdgeCasesQuotesBomCrlfMissingColumns) {
  std::string mapping = absl::StrCat(kBase, R"pb(
    field { path: "memo" column: "memo" }
  )pb");
  Mapped r =
      MapAll(mapping,
             "\xEF\xBB\xBFid,time,customer,amount,memo\r\n"
             "T1,2026-11-20T09:30:00+08:00,C1,1,\"rent, \"\"May\"\"\r\nsecond "
             "line\"\r\n"
             "T2,2026-11-20T09:30:00+08:00,C1\r\n"
             "T3,2026-11-20T09:30:00+08:00,C1,2,\xE5\xAE\x89\xE5\x85\xA8\r\n");
  ASSERT_EQ(r.txs.size(), 2u) << absl::StrJoin(r.problems, "\n");
  EXPECT_EQ(r.txs[0].transaction_id(), "T1");  // the BOM is not part of "id"
  EXPECT_EQ(r.txs[0].memo(), "rent, \"May\"\r\nsecond line");
  EXPECT_EQ(r.txs[1].memo(), "\xE5\xAE\x89\xE5\x85\xA8");
  EXPECT_THAT(
      r.problems,
      ElementsAre(
          "4: bad: the row has 3 columns, the header 5 (a comma or quote in a "
          "value that is not quoted?)"));
}

TEST(CsvMappingTest, SeparatorAndNoHeader) {
  Mapped r = MapAll(R"pb(
                      separator: ";"
                      no_header: true
                      field { path: "transaction_id" index: 1 }
                      field { path: "occurred_at" index: 2 }
                      field { path: "customer_id" template: "{#3}" }
                      field { path: "account_id" index: 3 }
                      field { path: "amount_minor" index: 4 }
                      field { path: "currency" constant: "USD" }
                      field { path: "type" constant: "PAYMENT" }
                      field { path: "channel" constant: "POS" }
                      field { path: "direction" constant: "OUT" }
                    )pb",
                    "T1;2026-11-20T09:30:00+08:00;C9;12,50\n");
  // "12,50" is not a decimal with ',' thousands separators.
  EXPECT_TRUE(r.txs.empty());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_THAT(r.problems[0], HasSubstr("column 4 -> amount_minor"));
}

TEST(CsvMappingTest, ColumnsByNumberForLabelsWithOrWithoutAHeader) {
  // --label and --group-by take #N (from 1), as templates do: the only
  // way to name a column of a file without a header.
  std::vector<std::string> errors;
  std::unique_ptr<CsvMapping> m = CsvMapping::Parse(
      "m.textproto", absl::StrCat("no_header: true\n", kBase), &errors);
  ASSERT_NE(m, nullptr) << absl::StrJoin(errors, "\n");
  EXPECT_EQ(m->ColumnIndex("#8").value_or(-1), 7);
  EXPECT_EQ(m->ColumnIndex("#0").status().message(),
            "column '#0': a column by number is #N, N from 1");
  EXPECT_EQ(m->ColumnIndex("fraud").status().message(),
            "column 'fraud' by name, but the mapping says no_header: use its "
            "number, #N (from 1)");
}

TEST(CsvMappingTest, ParseErrorsNameLineAndColumn) {
  EXPECT_THAT(Errors("field { pth: \"x\" }"),
              ElementsAre(HasSubstr("m.textproto:1:9: ")));
  std::vector<std::string> errors = Errors(absl::StrCat(kBase, R"pb(
    field { path: "amout_minor" column: "x" }
    field { path: "counterparty" column: "x" }
    field {
      path: "occurred_at"
      column: "time"
      time { format: "yyyy-mm-dd" }
    }
    field { path: "cash" constant: "maybe" }
    field {
      path: "type"
      column: "t"
      value { from: "X" to: "CHEQUE" }
    }
    field { path: "memo" template: "{open" }
    field { path: "memo" }
    separator: "ab"
    time_zone: "Mars/Olympus"
  )pb"));
  EXPECT_THAT(
      errors,
      ElementsAre(
          "m.textproto:27:5: separator must be one character, got 'ab'",
          "m.textproto:28:5: unknown time zone 'Mars/Olympus' (e.g. "
          "Asia/Shanghai, UTC)",
          "m.textproto:12:13: unknown field 'amout_minor' in Transaction "
          "(path 'amout_minor') (did you mean 'amount_minor'?)",
          HasSubstr("m.textproto:13:13: 'counterparty' is a message; name "
                    "one of its fields (account_id, name,"),
          HasSubstr("m.textproto:17:7: unknown time format 'yyyy-mm-dd'"),
          "m.textproto:19:26: constant for 'cash': 'maybe' is not a yes/no "
          "value (true/false, 1/0, yes/no)",
          HasSubstr("m.textproto:23:7: value 'X' for 'type': 'CHEQUE' is "
                    "not a TransactionType (CASH_DEPOSIT, CASH_WITHDRAWAL,"),
          "m.textproto:25:26: template: '{' at offset 0 is not closed "
          "(write '{{' for a brace)",
          "m.textproto:26:5: field 'memo' needs a source: column, index, "
          "template or constant"));
}

// Found by csv_mapping_fuzzer: a value with a line break made a two-line
// error. Errors and row reasons quote input with escapes, on one line.
TEST(CsvMappingTest, MessagesQuotingInputStayOnOneLine) {
  EXPECT_THAT(
      Errors(absl::StrCat(kBase, "field { path: \"me\\nmo\" column: \"x\" }")),
      ElementsAre(HasSubstr("unknown field 'me\\nmo' in Transaction")));
  Mapped r = MapAll(absl::StrCat(kBase, R"m(
    field { column: "kind" value { from: "A" set { path: "cash" value: "true" } } }
  )m"),
                    "id,time,customer,amount,kind\n"
                    "T1,2026-11-20T09:30:00+08:00,C1,1,\"B\r\nC\"\n");
  EXPECT_THAT(r.problems,
              ElementsAre("2: bad: column 'kind': value 'B\\r\\nC' is not "
                          "mapped (mapped: A)"));
}

TEST(CsvMappingTest, SetCannotGiveTimesOrAmountsAndIndexesStartAtOne) {
  std::vector<std::string> errors = Errors(absl::StrCat(kBase, R"m(
field { column: "k" value { from: "F" set { path: "amount_minor" value: "100" } } }
field { path: "memo" index: -2147483648 }
skip { index: -2147483648 empty: true }
)m"));
  EXPECT_THAT(errors,
              ElementsAre(HasSubstr("set cannot give 'amount_minor'; map its "
                                    "column instead"),
                          HasSubstr("field needs a path, or value entries "
                                    "that set fields"),
                          HasSubstr("index is a column number from 1, got "
                                    "-2147483648"),
                          HasSubstr("skip needs a column name or an index "
                                    "from 1")));
}

TEST(CsvMappingTest, RowsWithOtherCellCountsAndNonUtf8CellsAreBad) {
  // An unquoted comma in a memo shifts every later cell (a label column
  // would be read from the wrong place); a GBK cell would make a mangled
  // id. Both are bad rows, named; account numbers in messages masked.
  std::string mapping = kBase;
  Mapped r = MapAll(mapping,
                    "id,time,customer,amount\n"
                    "T1,2026-11-20T09:30:00+08:00,C1,1,extra\n"
                    "T\xD6\xD0,2026-11-20T09:30:00+08:00,C1,1\n"
                    "T3,2026-11-20T09:30:00+08:00,C1,6222021000001234x\n"
                    "T4,2026-11-20T09:30:00+08:00,C1,1\n");
  ASSERT_EQ(r.txs.size(), 1u) << absl::StrJoin(r.problems, "\n");
  EXPECT_EQ(r.txs[0].transaction_id(), "T4");
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.problems[0],
            "2: bad: the row has 5 columns, the header 4 (a comma or quote in "
            "a value that is not quoted?)");
  EXPECT_EQ(r.problems[1],
            "3: bad: column 'id' is not UTF-8 (a file in GBK? convert it: "
            "iconv -f GBK -t UTF-8)");
  EXPECT_THAT(r.problems[2], HasSubstr("6222****1234x"));
}

TEST(CsvMappingTest, AnEmptyCellTakesTheDefaultBeforeValueMaps) {
  std::string mapping = kBase;
  mapping.replace(mapping.find("field { path: \"channel\" constant: "
                               "\"COUNTER\" }"),
                  std::string("field { path: \"channel\" constant: "
                              "\"COUNTER\" }")
                      .size(),
                  "field { path: \"channel\" column: \"ch\" default: "
                  "\"COUNTER\" value { from: \"APP\" to: \"MOBILE\" } }");
  Mapped r = MapAll(mapping,
                    "id,time,customer,amount,ch\n"
                    "T1,2026-11-20T09:30:00+08:00,C1,1,APP\n"
                    "T2,2026-11-20T09:30:00+08:00,C1,1,\n");
  ASSERT_EQ(r.txs.size(), 2u) << absl::StrJoin(r.problems, "\n");
  EXPECT_EQ(r.txs[0].channel(), v1::CHANNEL_MOBILE);
  EXPECT_EQ(r.txs[1].channel(), v1::CHANNEL_COUNTER);
}

TEST(CsvMappingTest, TimesOutsideTheYearsOneTo9999AreBadRows) {
  std::string mapping = kBase;
  mapping.replace(mapping.find("column: \"time\" }"), 16,
                  "column: \"time\" time { format: \"epoch_seconds\" } }");
  Mapped r = MapAll(mapping,
                    "id,time,customer,amount\n"
                    "T1,99999999999999,C1,1\n"
                    "T2,1795138200,C1,1\n");
  ASSERT_EQ(r.txs.size(), 1u);
  EXPECT_THAT(
      r.problems,
      // Like any long run of digits in a message, masked (it could have
      // been an account number).
      ElementsAre("2: bad: column 'time' -> occurred_at: '9999****9999' "
                  "is outside the years 1 to 9999"));
}

TEST(CsvMappingTest, RequiredFieldsNeedASource) {
  EXPECT_THAT(
      Errors(R"pb(field { path: "transaction_id" column: "id" })pb"),
      ::testing::Contains(
          "m.textproto: no source for required field 'amount_minor': add "
          "field { path: \"amount_minor\" column: \"...\" } or a constant"));
}

TEST(CsvMappingTest, HeaderBindingNamesMissingAndDuplicatedColumns) {
  std::vector<std::string> errors;
  std::unique_ptr<CsvMapping> m = CsvMapping::Parse(
      "m.textproto",
      absl::StrCat(kBase, "field { path: \"memo\" column: \"Account\" }\n"),
      &errors);
  ASSERT_NE(m, nullptr) << absl::StrJoin(errors, "\n");
  engine::CsvReader reader("id,time,custmer,amount,Account,Account\n");
  engine::CsvRow header;
  ASSERT_TRUE(reader.Next(&header));
  EXPECT_FALSE(m->BindHeader(header, &errors));
  EXPECT_THAT(
      errors,
      ElementsAre("m.textproto:4:3: no column 'customer' in the header (did "
                  "you mean 'custmer'?)",
                  "m.textproto:5:3: no column 'customer' in the header (did "
                  "you mean 'custmer'?)",
                  "m.textproto:11:1: column 'Account' appears 2 times in the "
                  "header; refer to it by index (column 5 is the first)"));
}

TEST(CsvMappingTest, TruthyValues) {
  std::vector<std::string> errors;
  auto m =
      CsvMapping::Parse("m", absl::StrCat(kBase, "truthy: \"Fraud\""), &errors);
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(m->IsTruthy(" fraud "));
  EXPECT_FALSE(m->IsTruthy("1"));
  m = CsvMapping::Parse("m", kBase, &errors);
  EXPECT_TRUE(m->IsTruthy("Yes"));
  EXPECT_TRUE(m->IsTruthy("1"));
  EXPECT_FALSE(m->IsTruthy("0"));
  EXPECT_FALSE(m->IsTruthy(""));
}

}  // namespace
}  // namespace txscreen::compliance
